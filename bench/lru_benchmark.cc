// SPDX-License-Identifier: Apache-2.0
// LRU update-on-full, the eviction path, measured side by side in one run:
//
//   Emu     bpfemu through the emulated bpf() (emu/syscall.h)
//   Kernel  the kernel through the bpf() syscall (libbpf)
//
// BM_LruUpdateOnFull: a full LRU_HASH (common LRU) gets a new key on every
// iteration, so each insert takes a free node and, once per refill batch,
// evicts a batch of old keys. BM_LruPercpuListUpdateOnFull: the same with
// BPF_F_NO_COMMON_LRU (each CPU's own list; evictions in batches of 4).
// The thread is pinned to CPU 0 on both sides. Sizes 1K and 64K entries
// (the refill target is 128 for both on 2 CPUs, smaller for small maps).

#include <linux/bpf.h>

#include <cstdint>
#include <string>

#include "benchmark/benchmark.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"

namespace bpfemu {
namespace {

struct EmuSide {
  static Backend& Get() { return EmuBackend::Get(); }
};
struct KernelSide {
  static Backend& Get() { return KernelBackend::Get(); }
};

template <class B>
void UpdateOnFull(benchmark::State& state, uint32_t flags) {
  Backend& b = B::Get();
  if (std::string why = b.Unavailable(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  b.PinCpu(0);
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_LRU_HASH;
  a.key_size = 8;
  a.value_size = 8;
  a.max_entries = static_cast<uint32_t>(state.range(0));
  a.map_flags = flags;
  int fd = b.CreateMap(a);
  if (fd < 0) {
    state.SkipWithError("create failed");
    return;
  }
  uint64_t key = 0;
  for (; key < 2 * a.max_entries; ++key) b.Update(fd, &key, &key, BPF_ANY);
  for (auto _ : state) {
    int rc = b.Update(fd, &key, &key, BPF_NOEXIST);
    benchmark::DoNotOptimize(rc);
    ++key;
  }
  state.SetItemsProcessed(state.iterations());
  b.Close(fd);
  b.PinCpu(-1);
}

template <class B>
void BM_LruUpdateOnFull(benchmark::State& state) {
  UpdateOnFull<B>(state, 0);
}

template <class B>
void BM_LruPercpuListUpdateOnFull(benchmark::State& state) {
  UpdateOnFull<B>(state, BPF_F_NO_COMMON_LRU);
}

BENCHMARK_TEMPLATE(BM_LruUpdateOnFull, EmuSide)->Arg(1 << 10)->Arg(1 << 16);
BENCHMARK_TEMPLATE(BM_LruUpdateOnFull, KernelSide)->Arg(1 << 10)->Arg(1 << 16);
BENCHMARK_TEMPLATE(BM_LruPercpuListUpdateOnFull, EmuSide)
    ->Arg(1 << 10)
    ->Arg(1 << 16);
BENCHMARK_TEMPLATE(BM_LruPercpuListUpdateOnFull, KernelSide)
    ->Arg(1 << 10)
    ->Arg(1 << 16);

}  // namespace
}  // namespace bpfemu

BENCHMARK_MAIN();
