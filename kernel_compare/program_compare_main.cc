// SPDX-License-Identifier: Apache-2.0
// bpfemu-compare: `bpfemu compare` (cli/bpfemu_main.cc runs this binary),
// the command line of bpfemu::compare (program_compare.h).
//
//   bpfemu compare OBJECT.bpf.o [--program NAME]... --input FILE...
//                  [--repeat N] [--json] [--cpu N] [--no-shrink]
//                  [--replay-out FILE] [--kernel=V[,V...]] [--emulator-only]
//                  [--shrink-seconds S] [--cpus N] [--progress]
//                  [--check-every N] [--ignore-map NAME]...
//   bpfemu compare --replay FILE [--json]
//
// Without --emulator-only each version of --kernel (default: the running
// kernel's) is a column "kernel vs emulator at V": the running kernel
// in-process, any other version in a QEMU guest of the kernel-version
// matrix, through tools/kmatrix/program_compare.sh (found in
// $BPFEMU_SOURCE_DIR, else the current directory; it needs root and the
// fetched guest kernels). With --emulator-only the first version is
// compared with each other one on the emulator alone. Exit 0 when nothing
// differs, 1 on a difference, 2 on bad usage or a setup failure.

#include <fcntl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "emu/cpu.h"
#include "emu/version.h"
#include "kernel_compare/program_compare.h"

namespace bpfemu::compare {
namespace {

int Usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "bpfemu compare: %s\n", why);
  std::fprintf(
      stderr,
      "Usage: bpfemu compare OBJECT.bpf.o [--program NAME]... --input FILE...\n"
      "         [--repeat N] [--json] [--cpu N] [--no-shrink] "
      "[--replay-out FILE]\n"
      "         [--shrink-seconds S] [--cpus N (emulator only)]\n"
      "         [--check-every N] [--ignore-map NAME]...\n"
      "         [--kernel=6.1,6.12,6.18] [--emulator-only] [--progress]\n"
      "       bpfemu compare --replay FILE [--json]\n");
  return 2;
}

// The running kernel as an emulator setting ("6.18.44" -> 6.18), or nullopt.
std::optional<KernelVersion> HostVersion() {
  struct utsname u;
  if (uname(&u) != 0) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(u.release, '.');
  if (parts.size() < 2) return std::nullopt;
  std::string minor;
  for (char c : parts[1]) {
    if (c < '0' || c > '9') break;
    minor += c;
  }
  return ParseKernelVersion(parts[0] + "." + minor);
}

// The default replay file: in a test's outputs, in the directory of
// `bazel run`, else in the current directory (as kernel_compare's).
std::string DefaultReplayPath() {
  for (const char* var :
       {"TEST_UNDECLARED_OUTPUTS_DIR", "BUILD_WORKING_DIRECTORY"}) {
    if (const char* dir = std::getenv(var); dir != nullptr && *dir != '\0') {
      return std::string(dir) + "/bpfemu-compare.replay";
    }
  }
  return "bpfemu-compare.replay";
}

// Progress on stderr: inputs done, inputs/s, ETA; at most twice a second.
struct Progress {
  bool on = false;
  std::string label;
  std::chrono::steady_clock::time_point start, last;
  void operator()(size_t done, size_t total) {
    if (!on) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last < std::chrono::milliseconds(500)) return;
    last = now;
    const double s = std::chrono::duration<double>(now - start).count();
    const double rate = s > 0 ? done / s : 0;
    const double eta = rate > 0 ? (total - done) / rate : 0;
    std::fprintf(stderr, "\r%s: %zu/%zu inputs, %.0f inputs/s, ETA %.0f s   ",
                 label.c_str(), done, total, rate, eta);
    if (done == total) std::fprintf(stderr, "\n");
  }
};

// The guest column of version `v`: tools/kmatrix/program_compare.sh run
// with this command's words. Its standard output (the guest's report, or
// with --json its JSON line) goes to `out`; returns the guest's exit
// status (2 when the script cannot run).
int RunInGuest(KernelVersion v, const std::vector<std::string>& args,
               std::string* out) {
  const char* dir = std::getenv("BPFEMU_SOURCE_DIR");
  const std::string script = std::string(dir != nullptr ? dir : ".") +
                             "/tools/kmatrix/program_compare.sh";
  if (access(script.c_str(), R_OK) != 0) {
    std::fprintf(stderr,
                 "bpfemu compare: kernel %s: not the running kernel; a "
                 "guest column needs %s (set BPFEMU_SOURCE_DIR to a bpfemu "
                 "source tree)\n",
                 KernelVersionName(v), script.c_str());
    return 2;
  }
  std::vector<std::string> words = {
      "bash", script, absl::StrCat("--guest=", KernelVersionName(v))};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return 2;
  const pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    dup2(pipefd[1], STDOUT_FILENO);
    execvp("bash", argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out->append(buf, n);
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) <= 1 ? WEXITSTATUS(status)
                                                       : 2;
}

// The comparisons of one `{"comparisons":[...],"identical":B}` line.
std::string JsonComparisons(const std::string& report) {
  static constexpr char kHead[] = "{\"comparisons\":[";
  const size_t b = report.find(kHead);
  const size_t e = report.rfind("],\"identical\"");
  if (b == std::string::npos || e == std::string::npos || e < b) return "";
  return report.substr(b + sizeof(kHead) - 1, e - b - (sizeof(kHead) - 1));
}

int Main(const std::vector<std::string>& args) {
  Options base;
  std::vector<std::string> input_files;
  std::string replay, replay_out = DefaultReplayPath(), kernels;
  bool json = false, emulator_only = false, progress = isatty(STDERR_FILENO);
  std::optional<PlantedFault> plant;
  int cpus = 0;  // the emulator's possible CPUs (0: the machine's)
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag, std::string* out) {
      const std::string eq = std::string(flag) + "=";
      if (a.rfind(eq, 0) == 0) {
        *out = a.substr(eq.size());
        return true;
      }
      if (a == flag && i + 1 < args.size()) {
        *out = args[++i];
        return true;
      }
      return false;
    };
    std::string v;
    if (a == "--json") {
      json = true;
    } else if (a == "--emulator-only") {
      emulator_only = true;
    } else if (a == "--no-shrink") {
      base.shrink = false;
    } else if (a == "--progress") {
      progress = true;
    } else if (a == "--input") {
      // --input FILE... : every following word up to the next flag.
      while (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
        input_files.push_back(args[++i]);
      }
    } else if (a.rfind("--input=", 0) == 0) {
      input_files.push_back(a.substr(8));
    } else if (value("--program", &v)) {
      base.programs.push_back(v);
    } else if (value("--repeat", &v)) {
      if (!absl::SimpleAtoi(v, &base.repeat) || base.repeat < 1 ||
          base.repeat > 1000000) {
        return Usage("--repeat takes 1..1000000");
      }
    } else if (value("--check-every", &v)) {
      if (!absl::SimpleAtoi(v, &base.check_every) || base.check_every < 1) {
        return Usage("--check-every takes a positive count");
      }
    } else if (value("--ignore-map", &v)) {
      base.ignore_maps.push_back(v);
    } else if (value("--cpu", &v)) {
      if (!absl::SimpleAtoi(v, &base.cpu) || base.cpu < 0 ||
          base.cpu >= NumPossibleCpus()) {
        return Usage("--cpu takes a possible CPU");
      }
    } else if (value("--cpus", &v)) {
      if (!absl::SimpleAtoi(v, &cpus) || cpus < 1 || cpus > 4096) {
        return Usage("--cpus takes 1..4096");
      }
    } else if (value("--shrink-seconds", &v)) {
      if (!absl::SimpleAtod(v, &base.shrink_seconds) ||
          !(base.shrink_seconds >= 0 && base.shrink_seconds <= 86400)) {
        return Usage("--shrink-seconds takes 0..86400");
      }
    } else if (value("--kernel", &kernels)) {
    } else if (value("--replay", &replay)) {
    } else if (value("--replay-out", &replay_out)) {
    } else if (value("--plant-fault", &v)) {
      // Test-only: SIDE:MAP:MARKER (program_compare.h PlantedFault).
      std::vector<std::string> p = absl::StrSplit(v, ':');
      PlantedFault f;
      int marker = 0;
      if (p.size() != 3 || !absl::SimpleAtoi(p[0], &f.side_index) ||
          f.side_index < 0 || f.side_index > 1 ||
          !absl::SimpleAtoi(p[2], &marker) || marker < 0 || marker > 255) {
        return Usage("--plant-fault takes SIDE:MAP:MARKER");
      }
      f.map = p[1];
      f.marker = static_cast<uint8_t>(marker);
      plant = f;
    } else if (a.rfind("-", 0) == 0) {
      return Usage(("unknown flag " + a).c_str());
    } else if (base.object.empty()) {
      base.object = a;
    } else {
      return Usage(("unexpected argument " + a).c_str());
    }
  }

  struct Job {
    Options o;
    std::vector<Input> inputs;
    std::optional<KernelVersion> guest;  // run in a QEMU guest
  };
  std::vector<Job> jobs;
  if (!replay.empty()) {
    if (!base.object.empty() || !input_files.empty() || !kernels.empty()) {
      return Usage("--replay takes the object, inputs and sides from FILE");
    }
    Job j;
    std::string err;
    if (!ReadReplay(replay, &j.o, &j.inputs, &err)) {
      std::fprintf(stderr, "bpfemu compare: %s\n", err.c_str());
      return 2;
    }
    jobs.push_back(std::move(j));
  } else {
    if (base.object.empty()) return Usage("no object");
    if (input_files.empty()) return Usage("no --input");
    std::vector<Input> inputs;
    for (const std::string& f : input_files) {
      std::string err;
      if (!ReadInputFile(f, &inputs, &err)) {
        std::fprintf(stderr, "bpfemu compare: %s\n", err.c_str());
        return 2;
      }
    }
    std::vector<KernelVersion> versions;
    if (kernels.empty()) {
      if (emulator_only) return Usage("--emulator-only needs --kernel=A,B");
      std::optional<KernelVersion> h = HostVersion();
      versions.push_back(h.value_or(KernelVersion::k6_18));
    } else {
      for (const std::string& s :
           std::vector<std::string>(absl::StrSplit(kernels, ','))) {
        std::optional<KernelVersion> v = ParseKernelVersion(s);
        if (!v) return Usage(("unknown kernel version " + s).c_str());
        versions.push_back(*v);
      }
    }
    base.plant = plant;
    if (emulator_only) {
      if (versions.size() < 2) return Usage("--emulator-only needs 2 versions");
      for (size_t i = 1; i < versions.size(); ++i) {
        Job j{base, inputs};
        j.o.sides = {Side::Emulator(versions[0]), Side::Emulator(versions[i])};
        jobs.push_back(std::move(j));
      }
    } else {
      const std::optional<KernelVersion> host = HostVersion();
      for (KernelVersion v : versions) {
        Job j{base, inputs};
        j.o.sides = {Side::Kernel(), Side::Emulator(v)};
        if (!host || v != *host) j.guest = v;
        jobs.push_back(std::move(j));
      }
    }
    for (size_t i = 0; i < jobs.size(); ++i) {
      jobs[i].o.replay_path = jobs.size() == 1
                                  ? replay_out
                                  : absl::StrFormat("%s.%zu", replay_out, i);
    }
  }

  if (cpus != 0) {
    for (const Job& j : jobs) {
      if (j.o.sides[0].kernel || j.o.sides[1].kernel) {
        return Usage("--cpus is for runs without the kernel");
      }
    }
    SetNumPossibleCpus(cpus);
  }
  bool differs = false, failed = false;
  std::string json_out = "{\"comparisons\":[";
  for (size_t i = 0; i < jobs.size(); ++i) {
    Job& j = jobs[i];
    if (j.guest) {
      std::string report;
      const int rc = RunInGuest(*j.guest, args, &report);
      differs |= rc == 1;
      failed |= rc == 2;
      if (json) {
        const std::string c = JsonComparisons(report);
        if (!c.empty()) absl::StrAppend(&json_out, i == 0 ? "" : ",", c);
      } else {
        std::printf("%s", report.c_str());
      }
      std::fflush(stdout);
      continue;
    }
    Progress p;
    p.on = progress;
    p.label = j.o.sides[0].Name() + " vs " + j.o.sides[1].Name();
    p.start = p.last = std::chrono::steady_clock::now();
    j.o.progress = [&p](size_t done, size_t total) { p(done, total); };
    const Result r = Run(j.o, j.inputs);
    differs |= r.first.has_value();
    failed |= !r.error.empty();
    if (json) {
      absl::StrAppend(&json_out, i == 0 ? "" : ",", r.Json(j.o));
    } else {
      std::printf("%s", r.Report(j.o).c_str());
      if (!r.error.empty()) std::printf("\n");
    }
  }
  if (json) {
    std::printf("%s],\"identical\":%s}\n", json_out.c_str(),
                differs || failed ? "false" : "true");
  }
  return failed ? 2 : differs ? 1 : 0;
}

}  // namespace
}  // namespace bpfemu::compare

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // `bpfemu compare ...` passes its words on, "compare" included.
  if (!args.empty() && args[0] == "compare") args.erase(args.begin());
  return bpfemu::compare::Main(args);
}
