// SPDX-License-Identifier: Apache-2.0
// File: cli.h
//
// bpfemu's bpftool-shaped command (cli/cli.cc) as a library call, so the
// binary (cli/bpfemu_main.cc) is a thin main and the fuzzer
// (fuzz/cli_fuzzer.cc) can run the command in-process.

#ifndef BPFEMU_CLI_CLI_H_
#define BPFEMU_CLI_CLI_H_

#include <cstdio>
#include <string>
#include <vector>

namespace bpfemu::cli {

// Runs one command (`argv` without the program name), writing its output to
// `out` and its errors to `err` (in JSON mode errors go to `out`, as
// bpftool's do). Returns the exit code: 0, 254 for a lookup that found
// nothing, else a failure, which always printed why.
[[nodiscard]] int Run(const std::vector<std::string>& argv, FILE* out,
                      FILE* err);

}  // namespace bpfemu::cli

#endif  // BPFEMU_CLI_CLI_H_
