// SPDX-License-Identifier: Apache-2.0
// The `bpfemu` binary: bpfemu::cli::Run (cli/cli.h) on the command line, and
// `bpfemu exec [--kernel=V] [--cpus=N] -- CMD ARGS...`, which runs CMD with
// its bpf(2) calls served by the emulator (exec/supervisor.h,
// docs/exec.md); its exit status is CMD's. `bpfemu compare ...` runs the
// compare tool (kernel_compare/program_compare_main.cc, a separate binary:
// it links real libbpf for the kernel side, which the CLI never does).
#include <limits.h>
#include <unistd.h>

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

// The compare tool: $BPFEMU_COMPARE, else bpfemu-compare next to this
// binary (an install) or in the kernel_compare directory beside its own
// (bazel-bin), else on PATH.
int Compare(char** argv) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("BPFEMU_COMPARE"); env && *env) {
    candidates.push_back(env);
  }
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/') + 1);
    candidates.push_back(dir + "bpfemu-compare");
    candidates.push_back(dir + "../kernel_compare/bpfemu-compare");
  }
  for (const std::string& c : candidates) {
    if (access(c.c_str(), X_OK) == 0) {
      argv[0] = const_cast<char*>(c.c_str());
      execv(c.c_str(), argv);
    }
  }
  argv[0] = const_cast<char*>("bpfemu-compare");
  execvp("bpfemu-compare", argv);
  std::fprintf(stderr,
               "bpfemu compare: the compare tool bpfemu-compare is not "
               "installed (build //kernel_compare:bpfemu-compare; put it next "
               "to bpfemu, on PATH, or in $BPFEMU_COMPARE)\n");
  return 127;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "compare") return Compare(argv);
  if (!args.empty() && args[0] == "exec") {
    return Exec(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  return bpfemu::cli::Run(args, stdout, stderr);
}
