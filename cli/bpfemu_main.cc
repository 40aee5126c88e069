// SPDX-License-Identifier: Apache-2.0
// The `bpfemu` binary: bpfemu::cli::Run (cli/cli.h) on the command line.
#include <string>
#include <vector>

#include "cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return bpfemu::cli::Run(args, stdout, stderr);
}
