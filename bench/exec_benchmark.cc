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

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

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
