// SPDX-License-Identifier: Apache-2.0
// One map lookup three ways, in one run: bpf(BPF_MAP_LOOKUP_ELEM) on the
// kernel; the same system call made by a process under `bpfemu exec`
// (exec/supervisor.h: a seccomp user notification, the attr, key and value
// copied with process_vm_readv / writev, the answer sent back); and
// libbpfemu's bpf_map_lookup_elem (compat/), a function call into the
// emulator. A hash map of 1024 entries, key 4 bytes, value 8, one key
// looked up repeatedly.
//
//   bazel run -c opt //bench:exec_benchmark
//
// The served lookup runs in a child (this binary re-executed with
// --exec-child N FD) that times N lookups itself and writes the total
// nanoseconds to FD; the supervisor serves it from a thread of this
// process.
//
// Also in the same run, both through bench/exec_ring_reader.c (linked to
// the system's real libbpf), once natively and once under exec: the cost
// of an epoll_wait(.., 0) on an epoll instance holding nothing and one
// holding a ring buffer (every epoll_wait of a supervised process stops in
// the supervisor, which brings a registered ring's readiness up to date:
// docs/exec.md Limits), and the ring buffer records per second a libbpf
// ring_buffer reader gets from a program's bpf_ringbuf_output (under
// exec the emulated producer writes each record's data twice, the second
// copy being the file's image of the kernel's doubled mapping).

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "exec/supervisor.h"

namespace {

constexpr uint32_t kEntries = 1024;

long RawBpf(int cmd, bpf_attr* attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int RawCreate() {
  bpf_attr a = {};
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = kEntries;
  return static_cast<int>(RawBpf(BPF_MAP_CREATE, &a));
}

long RawElem(int cmd, int fd, const void* k, void* v) {
  bpf_attr a = {};
  a.map_fd = static_cast<uint32_t>(fd);
  a.key = reinterpret_cast<uint64_t>(k);
  a.value = reinterpret_cast<uint64_t>(v);
  return RawBpf(cmd, &a);
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

void BM_LookupKernelSyscall(benchmark::State& state) {
  const int fd = RawCreate();
  if (fd < 0) {
    state.SkipWithError("bpf() on the kernel is not permitted");
    return;
  }
  uint32_t k = 7;
  uint64_t v = 1;
  RawElem(BPF_MAP_UPDATE_ELEM, fd, &k, &v);
  for (auto _ : state) {
    benchmark::DoNotOptimize(RawElem(BPF_MAP_LOOKUP_ELEM, fd, &k, &v));
  }
  close(fd);
}
BENCHMARK(BM_LookupKernelSyscall);

void BM_LookupServedByExec(benchmark::State& state) {
  std::string why;
  if (!bpfemu::exec::Available(&why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  int p[2];
  if (pipe(p) != 0) {
    state.SkipWithError("pipe");
    return;
  }
  const uint64_t n = state.max_iterations;
  bpfemu::exec::Supervisor s;
  if (s.Start({"/proc/self/exe", "--exec-child", std::to_string(n),
               std::to_string(p[1])}) != 0) {
    state.SkipWithError("cannot start the child");
    return;
  }
  close(p[1]);
  std::thread server([&s] { s.Serve(); });
  uint64_t total_ns = 0;
  const bool got = read(p[0], &total_ns, sizeof(total_ns)) ==
                   static_cast<ssize_t>(sizeof(total_ns));
  server.join();
  close(p[0]);
  if (!got) {
    state.SkipWithError("the child failed");
    return;
  }
  const double per = static_cast<double>(total_ns) / 1e9 / n;
  for (auto _ : state) state.SetIterationTime(per);
}
BENCHMARK(BM_LookupServedByExec)->UseManualTime();

void BM_LookupLibbpfemu(benchmark::State& state) {
  const int fd =
      bpf_map_create(BPF_MAP_TYPE_HASH, "bench", 4, 8, kEntries, nullptr);
  if (fd < 0) {
    state.SkipWithError("bpf_map_create");
    return;
  }
  uint32_t k = 7;
  uint64_t v = 1;
  bpf_map_update_elem(fd, &k, &v, BPF_ANY);
  for (auto _ : state) {
    benchmark::DoNotOptimize(bpf_map_lookup_elem(fd, &k, &v));
  }
  close(fd);
}
BENCHMARK(BM_LookupLibbpfemu);

// bench/exec_ring_reader next to this binary.
std::string ReaderPath() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string self(buf, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "exec_ring_reader";
}

// Runs the reader with `args` and the write end of a pipe as its last
// argument, natively or under a Supervisor; reads `count` uint64_t
// values from the pipe. False when it failed.
bool RunReader(bool supervised, std::vector<std::string> args, size_t count,
               std::vector<uint64_t>* out) {
  int p[2];
  if (pipe(p) != 0) return false;
  args.insert(args.begin(), ReaderPath());
  args.push_back(std::to_string(p[1]));
  out->assign(count, 0);
  bool ok;
  if (supervised) {
    bpfemu::exec::Supervisor s;
    if (s.Start(args) != 0) {
      close(p[0]);
      close(p[1]);
      return false;
    }
    close(p[1]);
    std::thread server([&s] { s.Serve(); });
    ok = read(p[0], out->data(), count * 8) == static_cast<ssize_t>(count * 8);
    server.join();
  } else {
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(p[1]);
    ok = read(p[0], out->data(), count * 8) == static_cast<ssize_t>(count * 8);
    int st = 0;
    waitpid(pid, &st, 0);
    ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  close(p[0]);
  return ok;
}

// One epoll_wait(.., 0): range(0) 0 natively, 1 under exec; range(1) the
// rings in the instance (0 or 1).
void BM_EpollWait(benchmark::State& state) {
  const bool supervised = state.range(0) != 0;
  std::string why;
  if (supervised && !bpfemu::exec::Available(&why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  const uint64_t n = state.max_iterations;
  std::vector<uint64_t> v;
  if (!RunReader(supervised,
                 {"epoll", std::to_string(n), std::to_string(state.range(1))},
                 1, &v)) {
    state.SkipWithError(supervised ? "the supervised reader failed"
                                   : "the reader failed (bpf() permitted?)");
    return;
  }
  const double per = static_cast<double>(v[0]) / 1e9 / n;
  for (auto _ : state) state.SetIterationTime(per);
}
BENCHMARK(BM_EpollWait)
    ->ArgNames({"exec", "rings"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Iterations(20000)
    ->UseManualTime();

// One ring buffer record, produced by a test run (500 per run) and read
// by libbpf's ring_buffer__consume: range(0) 0 natively, 1 under exec.
// The time per iteration is per record; counters: records per second,
// and per second of ring_buffer__consume alone.
void BM_RingbufRecord(benchmark::State& state) {
  const bool supervised = state.range(0) != 0;
  std::string why;
  if (supervised && !bpfemu::exec::Available(&why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  constexpr uint64_t kPerRun = 500;
  const uint64_t rounds = std::max<uint64_t>(1, state.max_iterations / kPerRun);
  std::vector<uint64_t> v;
  if (!RunReader(supervised,
                 {"ringbuf", std::to_string(rounds), std::to_string(kPerRun)},
                 3, &v) ||
      v[2] == 0) {
    state.SkipWithError(supervised ? "the supervised reader failed"
                                   : "the reader failed (bpf() permitted?)");
    return;
  }
  const double per = static_cast<double>(v[0]) / 1e9 / v[2];
  for (auto _ : state) state.SetIterationTime(per);
  state.counters["records_per_s"] = static_cast<double>(v[2]) * 1e9 / v[0];
  state.counters["consume_records_per_s"] =
      static_cast<double>(v[2]) * 1e9 / std::max<uint64_t>(1, v[1]);
}
BENCHMARK(BM_RingbufRecord)
    ->ArgNames({"exec"})
    ->Arg(0)
    ->Arg(1)
    ->Iterations(100000)
    ->UseManualTime();

// The supervised child: N raw lookups, timed, the total written to fd.
int ExecChild(uint64_t n, int out) {
  const int fd = RawCreate();
  if (fd < 0) return 1;
  uint32_t k = 7;
  uint64_t v = 1;
  if (RawElem(BPF_MAP_UPDATE_ELEM, fd, &k, &v) != 0) return 1;
  const uint64_t start = NowNs();
  for (uint64_t i = 0; i < n; ++i) {
    if (RawElem(BPF_MAP_LOOKUP_ELEM, fd, &k, &v) != 0) return 1;
  }
  const uint64_t total = NowNs() - start;
  return write(out, &total, sizeof(total)) == sizeof(total) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--exec-child") == 0) {
    return ExecChild(std::strtoull(argv[2], nullptr, 10), std::atoi(argv[3]));
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
