// SPDX-License-Identifier: Apache-2.0
// Hash map lookups and updates over the axes that change their cost, each
// axis varied alone from a base of 64K entries, 4-byte keys, 8-byte values
// and uniform keys:
//
//   key size    4 / 16 / 64 bytes
//   value size  8 / 64 / 256 bytes
//   map size    1K / 64K / 1M entries
//   key choice  uniform / Zipf (s = 1.1: a few hot keys)
//   values      shared / per-CPU (PERCPU_HASH: each syscall copies every
//               CPU's slot)
//
// Sides: bpfemu's Map object, the kernel through bpf(), and
// absl::flat_hash_map<std::string, std::string> with the same key and value
// bytes. Kernel maps stay under 64 MiB: the 1M-entry kernel case is skipped
// with that reason. bench/ratios.py prints the table.
//
//   bazel run -c opt //bench:grid_benchmark -- --benchmark_format=json

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/distributions.h"
#include "benchmark/benchmark.h"
#include "emu/map.h"
#include "emu/syscall.h"
#include "testing/kernel_backend.h"

namespace bpfemu {
namespace {

enum Side { kEmu, kKernel, kAbsl };
enum Op { kLookup, kUpdate };

struct Shape {
  uint32_t key_size, value_size, entries;
  bool zipf;
  uint32_t map_type = BPF_MAP_TYPE_HASH;  // or PERCPU_HASH
};

// Keys 0..entries-1 as key_size bytes (the number, then a pattern).
std::vector<uint8_t> KeyBytes(const Shape& s) {
  std::vector<uint8_t> keys(size_t{s.entries} * s.key_size);
  for (uint32_t i = 0; i < s.entries; ++i) {
    uint8_t* k = &keys[size_t{i} * s.key_size];
    for (uint32_t b = 0; b < s.key_size; ++b) {
      k[b] = b < 4 ? uint8_t(i >> (8 * b)) : uint8_t(i * 131 + b);
    }
  }
  return keys;
}

// The order keys are visited in: a scrambled uniform order, or Zipf draws.
std::vector<uint32_t> Visits(const Shape& s) {
  std::vector<uint32_t> order(1 << 16);
  std::mt19937_64 gen(42);
  for (auto& v : order) {
    v = s.zipf ? absl::Zipf<uint32_t>(gen, s.entries - 1, 1.1)
               : static_cast<uint32_t>(gen() % s.entries);
  }
  if (s.zipf) {
    // Spread the hot ranks over the key space.
    for (auto& v : order)
      v = static_cast<uint32_t>((v * 2654435761ull) % s.entries);
  }
  return order;
}

int NumCpus() {
  static const int n = [] {
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_PERCPU_ARRAY;
    a.key_size = 4;
    a.value_size = 8;
    a.max_entries = 1;
    const int fd = MapCreate(a);
    const int cpus = static_cast<int>(MapFromFd(fd)->nr_cpus());
    CloseFd(fd);
    return cpus;
  }();
  return n;
}

template <Side kSide, Op kOp>
void BM_Grid(benchmark::State& state, Shape s) {
  const std::vector<uint8_t> keys = KeyBytes(s);
  const std::vector<uint32_t> visits = Visits(s);
  std::vector<uint8_t> value(s.value_size, 7);
  auto key = [&](uint32_t i) { return &keys[size_t{i} * s.key_size]; };
  MapAttr attr;
  attr.map_type = s.map_type;
  if (s.map_type == BPF_MAP_TYPE_PERCPU_HASH) {
    // Syscall values are round_up(value_size, 8) per possible CPU.
    value.assign(size_t{(s.value_size + 7) / 8 * 8} * NumCpus(), 7);
  }
  attr.key_size = s.key_size;
  attr.value_size = s.value_size;
  attr.max_entries = s.entries;
  size_t n = 0;
  if constexpr (kSide == kAbsl) {
    if (s.map_type != BPF_MAP_TYPE_HASH) {
      state.SkipWithError("no per-CPU baseline in absl");
      return;
    }
    absl::flat_hash_map<std::string, std::string> map;
    const std::string v(value.begin(), value.end());
    for (uint32_t i = 0; i < s.entries; ++i) {
      map[std::string(reinterpret_cast<const char*>(key(i)), s.key_size)] = v;
    }
    std::string k(s.key_size, '\0');
    for (auto _ : state) {
      std::memcpy(k.data(), key(visits[n]), s.key_size);
      if constexpr (kOp == kLookup) {
        auto it = map.find(k);
        benchmark::DoNotOptimize(it->second.data());
      } else {
        map.insert_or_assign(k, v);
      }
      if (++n == visits.size()) n = 0;
    }
  } else if constexpr (kSide == kEmu) {
    const int fd = MapCreate(attr);
    std::shared_ptr<Map> map = MapFromFd(fd);
    for (uint32_t i = 0; i < s.entries; ++i) {
      (void)map->UpdateElem(key(i), value.data(), BPF_ANY);
    }
    for (auto _ : state) {
      int rc = kOp == kLookup
                   ? map->LookupElem(key(visits[n]), value.data(), 0)
                   : map->UpdateElem(key(visits[n]), value.data(), BPF_ANY);
      benchmark::DoNotOptimize(rc);
      if (++n == visits.size()) n = 0;
    }
    map.reset();
    CloseFd(fd);
  } else {
    if (std::string why = KernelBackend::Get().Unavailable(); !why.empty()) {
      state.SkipWithError(why.c_str());
      return;
    }
    // htab_elem (48 bytes) + rounded key and value, plus 16-byte buckets.
    const uint64_t bytes =
        uint64_t{s.entries} *
        (48 + (s.key_size + 7) / 8 * 8 + (s.value_size + 7) / 8 * 8 + 16);
    if (bytes > (uint64_t{64} << 20)) {
      state.SkipWithError("kernel map over the 64 MiB per-map test limit");
      return;
    }
    const int fd = KernelBackend::Get().CreateMap(attr);
    for (uint32_t i = 0; i < s.entries; ++i) {
      bpf_map_update_elem(fd, key(i), value.data(), BPF_ANY);
    }
    for (auto _ : state) {
      int rc =
          kOp == kLookup
              ? bpf_map_lookup_elem(fd, key(visits[n]), value.data())
              : bpf_map_update_elem(fd, key(visits[n]), value.data(), BPF_ANY);
      benchmark::DoNotOptimize(rc);
      if (++n == visits.size()) n = 0;
    }
    KernelBackend::Get().Close(fd);
  }
  state.SetItemsProcessed(state.iterations());
}

int Register() {
  const Shape base = {4, 8, 1 << 16, false};
  std::vector<std::pair<std::string, Shape>> shapes = {{"base", base}};
  for (uint32_t k : {16u, 64u}) {
    Shape s = base;
    s.key_size = k;
    shapes.push_back({"key" + std::to_string(k), s});
  }
  for (uint32_t v : {64u, 256u}) {
    Shape s = base;
    s.value_size = v;
    shapes.push_back({"value" + std::to_string(v), s});
  }
  for (uint32_t e : {1u << 10, 1u << 20}) {
    Shape s = base;
    s.entries = e;
    shapes.push_back({"entries" + std::to_string(e), s});
  }
  Shape z = base;
  z.zipf = true;
  shapes.push_back({"zipf", z});
  // Per-CPU values: every syscall copies all CPUs' slots.
  Shape p = base;
  p.map_type = BPF_MAP_TYPE_PERCPU_HASH;
  shapes.push_back({"percpu", p});
  for (const auto& [name, s] : shapes) {
    const std::string tag =
        "/" + name + "/k" + std::to_string(s.key_size) + "_v" +
        std::to_string(s.value_size) + "_n" + std::to_string(s.entries) +
        (s.zipf ? "_zipf" : "_uniform") +
        (s.map_type == BPF_MAP_TYPE_PERCPU_HASH ? "_percpu" : "");
    benchmark::RegisterBenchmark(("BM_GridLookup/emu" + tag).c_str(),
                                 BM_Grid<kEmu, kLookup>, s);
    benchmark::RegisterBenchmark(("BM_GridLookup/kernel" + tag).c_str(),
                                 BM_Grid<kKernel, kLookup>, s);
    benchmark::RegisterBenchmark(("BM_GridLookup/absl" + tag).c_str(),
                                 BM_Grid<kAbsl, kLookup>, s);
    benchmark::RegisterBenchmark(("BM_GridUpdate/emu" + tag).c_str(),
                                 BM_Grid<kEmu, kUpdate>, s);
    benchmark::RegisterBenchmark(("BM_GridUpdate/kernel" + tag).c_str(),
                                 BM_Grid<kKernel, kUpdate>, s);
    benchmark::RegisterBenchmark(("BM_GridUpdate/absl" + tag).c_str(),
                                 BM_Grid<kAbsl, kUpdate>, s);
  }
  return 0;
}
const int registered = Register();

}  // namespace
}  // namespace bpfemu

BENCHMARK_MAIN();
