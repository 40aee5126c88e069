// SPDX-License-Identifier: Apache-2.0
// One thread vs two on one hash map: lookups and BPF_ANY updates of keys
// that are disjoint between the threads (each thread its own block) or
// shared (both threads walk the same keys, so updates contend for the same
// bucket locks). Measured for bpfemu's Map object and for the kernel
// through bpf() (syscalls from both threads), beside a pure ALU loop that
// shows how far the machine itself scales. Throughput is items/s of all
// threads against the wall clock; bench/ratios.py divides 2 threads by 1.
//
//   bazel run -c opt //bench:scaling_benchmark -- --benchmark_format=json

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "emu/map.h"
#include "emu/syscall.h"
#include "kernel_compare/kernel_backend.h"

namespace bpfemu {
namespace {

constexpr uint32_t kEntries = 1 << 16;

std::vector<uint32_t> Keys() {
  std::vector<uint32_t> keys(kEntries);
  for (uint32_t i = 0; i < kEntries; ++i) keys[i] = i * 2654435761u;
  return keys;
}

MapAttr Attr() {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = kEntries;
  return a;
}

// The maps, filled once and shared by all benchmark threads.
struct Maps {
  std::vector<uint32_t> keys = Keys();
  std::shared_ptr<Map> emu;
  int kernel_fd = -1;
  std::string kernel_why;

  static Maps& Get() {
    static auto* m = new Maps;
    return *m;
  }

 private:
  Maps() {
    const int fd = MapCreate(Attr());
    emu = MapFromFd(fd);
    kernel_why = KernelBackend::Get().Unavailable();
    if (kernel_why.empty()) kernel_fd = KernelBackend::Get().CreateMap(Attr());
    for (uint32_t k : keys) {
      const uint64_t v = k;
      (void)emu->UpdateElem(&k, &v, BPF_ANY);
      if (kernel_fd >= 0) bpf_map_update_elem(kernel_fd, &k, &v, BPF_ANY);
    }
  }
};

enum Op { kLookup, kUpdate, kCompute };

constexpr int kOpsPerThread = 200000;

// One thread's share: kOpsPerThread operations cycling over its own 1/n of
// the keys (disjoint: thread t takes the t-th contiguous block, whose
// elements were allocated together) or over all keys from 0 (shared).
// kCompute is the machine's own scaling: an ALU loop touching no memory.
template <bool kKernel, Op kOp, bool kDisjoint>
uint64_t Work(int t, int n) {
  Maps& m = Maps::Get();
  const size_t block = m.keys.size() / static_cast<size_t>(kDisjoint ? n : 1);
  const size_t first = kDisjoint ? block * static_cast<size_t>(t) : 0;
  size_t i = 0;
  uint64_t v = 0, sum = 0;
  for (int op = 0; op < kOpsPerThread; ++op) {
    const uint32_t* key = &m.keys[first + i];
    if constexpr (kOp == kCompute) {
      for (int r = 0; r < 20; ++r) v = v * 6364136223846793005ull + 1;
      sum += v;
    } else if constexpr (kOp == kLookup) {
      sum += kKernel ? bpf_map_lookup_elem(m.kernel_fd, key, &v)
                     : m.emu->LookupElem(key, &v, 0);
    } else {
      ++v;
      sum += kKernel ? bpf_map_update_elem(m.kernel_fd, key, &v, BPF_ANY)
                     : m.emu->UpdateElem(key, &v, BPF_ANY);
    }
    if (++i == block) i = 0;
  }
  return sum;
}

// Each iteration starts range(0) threads and waits for them: items/s is the
// throughput of all threads together, against the wall clock.
template <bool kKernel, Op kOp, bool kDisjoint>
void BM_Scale(benchmark::State& state) {
  Maps& m = Maps::Get();
  if (kKernel && m.kernel_fd < 0) {
    state.SkipWithError(m.kernel_why.c_str());
    return;
  }
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::vector<std::thread> threads;
    std::vector<uint64_t> sums(n);
    for (int t = 0; t < n; ++t) {
      threads.emplace_back([&sums, t, n] {
        sums[t] = Work<kKernel, kOp, kDisjoint>(t, n);
      });
    }
    for (auto& th : threads) th.join();
    benchmark::DoNotOptimize(sums);
  }
  state.SetItemsProcessed(state.iterations() * n * kOpsPerThread);
}

#define SCALE(kernel, op, disjoint)                   \
  BENCHMARK_TEMPLATE(BM_Scale, kernel, op, disjoint) \
      ->Arg(1)                                       \
      ->Arg(2)                                       \
      ->UseRealTime()                                \
      ->Unit(benchmark::kMillisecond)

SCALE(false, kCompute, true);
SCALE(false, kLookup, true);
SCALE(false, kLookup, false);
SCALE(false, kUpdate, true);
SCALE(false, kUpdate, false);
SCALE(true, kLookup, true);
SCALE(true, kLookup, false);
SCALE(true, kUpdate, true);
SCALE(true, kUpdate, false);

}  // namespace
}  // namespace bpfemu

BENCHMARK_MAIN();
