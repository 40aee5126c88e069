// SPDX-License-Identifier: Apache-2.0
// Hash map lookup and update, measured side by side in one run:
//
//   Emu         bpfemu through the emulated bpf() (emu/syscall.h, fd-based)
//   EmuMap      bpfemu's Map object directly (no fd resolution)
//   Kernel      the kernel through the bpf() syscall (libbpf)
//   Absl        absl::flat_hash_map<uint32_t, uint64_t>, the plain baseline
//
// BM_LookupHit: lookups of keys that exist, in a scrambled order.
// BM_UpdateExisting: BPF_ANY updates of keys that exist (the replace path:
//   a new element at the bucket head, the old one becomes the spare).
// BM_LpmLookup: LPM trie lookups (the Emu, EmuMap and Kernel sides).
// Map sizes 1K and 64K entries, u32 keys, u64 values; the maps are filled
// before timing. Kernel cases are skipped with a reason without bpf().
// docs/performance.md turns one run's JSON into ratios (bench/ratios.py).

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "benchmark/benchmark.h"
#include "emu/jhash.h"
#include "emu/syscall.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"

namespace bpfemu {
namespace {

// Keys: a scrambled sequence so consecutive lookups hit different buckets.
std::vector<uint32_t> Keys(size_t n) {
  std::vector<uint32_t> keys(n);
  for (size_t i = 0; i < n; ++i)
    keys[i] = static_cast<uint32_t>(i * 2654435761u);
  return keys;
}

MapAttr HashAttr(uint32_t max_entries) {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = max_entries;
  return a;
}

struct EmuSide {
  static Backend& Get() { return EmuBackend::Get(); }
};
struct KernelSide {
  static Backend& Get() { return KernelBackend::Get(); }
};

// A map fd on backend B (-1 once creating or filling it failed), closed
// when done, with the keys the benchmarks look up.
template <class B, class Key>
class MapWithKeys {
 public:
  MapWithKeys() = default;
  MapWithKeys(const MapWithKeys&) = delete;
  MapWithKeys& operator=(const MapWithKeys&) = delete;
  ~MapWithKeys() {
    if (fd_ >= 0) B::Get().Close(fd_);
  }
  int fd() const { return fd_; }
  const std::vector<Key>& keys() const { return keys_; }

 protected:
  std::vector<Key> keys_;
  int fd_ = -1;
};

// A filled hash map on backend B.
template <class B>
class FilledMap : public MapWithKeys<B, uint32_t> {
 public:
  explicit FilledMap(size_t n) {
    this->keys_ = Keys(n);
    this->fd_ = B::Get().CreateMap(HashAttr(static_cast<uint32_t>(n)));
    for (uint32_t k : this->keys_) {
      uint64_t v = k;
      if (this->fd_ >= 0 && B::Get().Update(this->fd_, &k, &v, BPF_ANY) != 0) {
        this->fd_ = -1;
      }
    }
  }
};

template <class B>
bool Skip(benchmark::State& state) {
  std::string why = B::Get().Unavailable();
  if (why.empty()) return false;
  state.SkipWithError(why.c_str());
  return true;
}

template <class B>
void BM_LookupHit(benchmark::State& state) {
  if (Skip<B>(state)) return;
  FilledMap<B> map(static_cast<size_t>(state.range(0)));
  const auto& keys = map.keys();
  size_t i = 0;
  uint64_t v;
  for (auto _ : state) {
    int rc = B::Get().Lookup(map.fd(), &keys[i], &v, 0);
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(v);
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

template <class B>
void BM_UpdateExisting(benchmark::State& state) {
  if (Skip<B>(state)) return;
  FilledMap<B> map(static_cast<size_t>(state.range(0)));
  const auto& keys = map.keys();
  size_t i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    ++v;
    int rc = B::Get().Update(map.fd(), &keys[i], &v, BPF_ANY);
    benchmark::DoNotOptimize(rc);
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// The Map object without the fd table: what a C++ test holding the map pays.
void BM_LookupHitEmuMap(benchmark::State& state) {
  FilledMap<EmuSide> map(static_cast<size_t>(state.range(0)));
  std::shared_ptr<Map> m = MapFromFd(map.fd());
  const auto& keys = map.keys();
  size_t i = 0;
  uint64_t v;
  for (auto _ : state) {
    int rc = m->LookupElem(&keys[i], &v, 0);
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(v);
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_UpdateExistingEmuMap(benchmark::State& state) {
  FilledMap<EmuSide> map(static_cast<size_t>(state.range(0)));
  std::shared_ptr<Map> m = MapFromFd(map.fd());
  const auto& keys = map.keys();
  size_t i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    ++v;
    int rc = m->UpdateElem(&keys[i], &v, BPF_ANY);
    benchmark::DoNotOptimize(rc);
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// Baselines: absl's flat (open addressing) and node (one allocation per
// element, like the kernel's htab elements) maps.
template <class M>
void BM_LookupHitAbslMap(benchmark::State& state) {
  const std::vector<uint32_t> keys = Keys(static_cast<size_t>(state.range(0)));
  M map;
  for (uint32_t k : keys) map[k] = k;
  size_t i = 0;
  for (auto _ : state) {
    auto it = map.find(keys[i]);
    benchmark::DoNotOptimize(it->second);
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

template <class M>
void BM_UpdateExistingAbslMap(benchmark::State& state) {
  const std::vector<uint32_t> keys = Keys(static_cast<size_t>(state.range(0)));
  M map;
  for (uint32_t k : keys) map[k] = k;
  size_t i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    map.insert_or_assign(keys[i], ++v);
    if (++i == keys.size()) i = 0;
  }
  benchmark::DoNotOptimize(map);
  state.SetItemsProcessed(state.iterations());
}

// 1K entries fit in L1/L2; 64K (~4 MiB of elements) spill to L3, where
// bucket walks start to cost cache misses on every backend.
#define SIZES Arg(1 << 10)->Arg(1 << 16)

// LPM trie lookups (BM_LpmLookup): the IPv4 trie of bench:prog_benchmark's
// lpm_lookup - 10.0.0.0/8, every 10.x.0.0/16 and 767 10.x.y.0/24 - and
// longest-prefix matches of /32 addresses in 10.0.0.0/8, each ending on a
// /24 or its /16. The trie is that program's, so its size (1024 prefixes,
// max_entries 1024) is fixed and the benchmarks take no argument.
struct LpmKey {
  uint32_t prefixlen;
  uint8_t addr[4];
};

template <class B>
class FilledLpm : public MapWithKeys<B, LpmKey> {
 public:
  FilledLpm() {
    int& fd = this->fd_;
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_LPM_TRIE;
    a.key_size = sizeof(LpmKey);
    a.value_size = 8;
    a.max_entries = 1024;
    a.map_flags = BPF_F_NO_PREALLOC;
    fd = B::Get().CreateMap(a);
    for (uint32_t n = 0; n < 1024 && fd >= 0; ++n) {
      // LpmPrefix() of bench/prog_benchmark.cc.
      LpmKey k{
          24,
          {10, static_cast<uint8_t>(n * 37), static_cast<uint8_t>(n * 101), 0}};
      if (n == 0) {
        k = {8, {10, 0, 0, 0}};
      } else if (n <= 256) {
        k = {16, {10, static_cast<uint8_t>(n - 1), 0, 0}};
      }
      const uint64_t v = n;
      if (B::Get().Update(fd, &k, &v, BPF_ANY) != 0) fd = -1;
    }
    for (uint32_t i = 0; i < 64; ++i) {  // the program's 64 addresses
      this->keys_.push_back(
          {32,
           {10, static_cast<uint8_t>(i * 37), static_cast<uint8_t>(i * 101),
            static_cast<uint8_t>(i)}});
    }
  }
};

template <class B>
void BM_LpmLookup(benchmark::State& state) {
  if (Skip<B>(state)) return;
  FilledLpm<B> map;
  if (map.fd() < 0) {
    state.SkipWithError("LPM trie creation or fill failed");
    return;
  }
  const auto& keys = map.keys();
  size_t i = 0;
  uint64_t v;
  for (auto _ : state) {
    int rc = B::Get().Lookup(map.fd(), &keys[i], &v, 0);
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(v);
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LpmLookupEmuMap(benchmark::State& state) {
  FilledLpm<EmuSide> map;
  if (map.fd() < 0) {
    state.SkipWithError("LPM trie creation or fill failed");
    return;
  }
  std::shared_ptr<Map> m = MapFromFd(map.fd());
  const auto& keys = map.keys();
  size_t i = 0;
  uint64_t v;
  for (auto _ : state) {
    int rc = m->LookupElem(&keys[i], &v, 0);
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(v);
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// The hash function alone, over the same keys: the kernel's jhash (which
// bpfemu must use: it decides buckets and so iteration order) against the
// hash absl::flat_hash_map uses. A floor under the Map / absl lookup ratio.
void BM_HashOnlyEmuMap(benchmark::State& state) {
  const std::vector<uint32_t> keys = Keys(static_cast<size_t>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(HtabMapHash(&keys[i], sizeof(uint32_t), 0x1234));
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_HashOnlyAbsl(benchmark::State& state) {
  const std::vector<uint32_t> keys = Keys(static_cast<size_t>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(absl::Hash<uint32_t>{}(keys[i]));
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

using Flat = absl::flat_hash_map<uint32_t, uint64_t>;
using Node = absl::node_hash_map<uint32_t, uint64_t>;

BENCHMARK(BM_HashOnlyEmuMap)->SIZES;
BENCHMARK(BM_HashOnlyAbsl)->SIZES;
BENCHMARK_TEMPLATE(BM_LookupHit, EmuSide)->SIZES;
BENCHMARK(BM_LookupHitEmuMap)->SIZES;
BENCHMARK_TEMPLATE(BM_LookupHit, KernelSide)->SIZES;
BENCHMARK_TEMPLATE(BM_LookupHitAbslMap, Flat)->SIZES;
BENCHMARK_TEMPLATE(BM_LookupHitAbslMap, Node)->SIZES;
BENCHMARK_TEMPLATE(BM_UpdateExisting, EmuSide)->SIZES;
BENCHMARK(BM_UpdateExistingEmuMap)->SIZES;
BENCHMARK_TEMPLATE(BM_UpdateExisting, KernelSide)->SIZES;
BENCHMARK_TEMPLATE(BM_UpdateExistingAbslMap, Flat)->SIZES;
BENCHMARK_TEMPLATE(BM_UpdateExistingAbslMap, Node)->SIZES;
BENCHMARK_TEMPLATE(BM_LpmLookup, EmuSide);
BENCHMARK(BM_LpmLookupEmuMap);
BENCHMARK_TEMPLATE(BM_LpmLookup, KernelSide);

}  // namespace
}  // namespace bpfemu

BENCHMARK_MAIN();
