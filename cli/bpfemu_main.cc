// SPDX-License-Identifier: Apache-2.0
// The `bpfemu` binary: bpfemu::cli::Run (cli/cli.h) on the command line, and
// `bpfemu exec [--kernel=V] [--cpus=N] -- CMD ARGS...`, which runs CMD with
// its bpf(2) calls served by the emulator (exec/supervisor.h,
// docs/exec.md); its exit status is CMD's.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "emu/cpu.h"
#include "emu/version.h"
#include "exec/supervisor.h"

namespace {

int ExecUsage() {
  std::fprintf(stderr,
               "Usage: bpfemu exec [--kernel=6.1|6.12|6.18] [--cpus=N] -- "
               "CMD [ARGS...]\n");
  return 2;
}

int Exec(const std::vector<std::string>& args) {
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.rfind("--kernel=", 0) == 0) {
      std::optional<bpfemu::KernelVersion> v =
          bpfemu::ParseKernelVersion(a.substr(9));
      if (!v) return ExecUsage();
      bpfemu::SetTargetKernel(*v);
    } else if (a.rfind("--cpus=", 0) == 0) {
      char* end = nullptr;
      const long n = std::strtol(a.c_str() + 7, &end, 10);
      if (*end != '\0' || n < 1 || n > 4096) return ExecUsage();
      bpfemu::SetNumPossibleCpus(static_cast<int>(n));
    } else if (a.rfind("-", 0) == 0) {
      return ExecUsage();
    } else {
      break;  // the command, without "--"
    }
  }
  if (i >= args.size()) return ExecUsage();
  std::string why;
  if (!bpfemu::exec::Available(&why)) {
    std::fprintf(stderr, "bpfemu exec: %s\n", why.c_str());
    return 127;
  }
  return bpfemu::exec::RunSupervised(
      std::vector<std::string>(args.begin() + i, args.end()));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "exec") {
    return Exec(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  return bpfemu::cli::Run(args, stdout, stderr);
}
