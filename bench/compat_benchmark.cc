// SPDX-License-Identifier: Apache-2.0
// The libbpf-compatible face: the same <bpf/bpf.h> calls a user program
// makes (bpf_map_create, bpf_map_update_elem, bpf_map_lookup_elem,
// bpf_map_get_next_key), answered by libbpfemu, against the kernel through
// the raw bpf() syscall. This binary links libbpfemu instead of libbpf, so
// the kernel side issues syscall(__NR_bpf) itself rather than calling
// libbpf (libbpf adds nothing but the call: see bench/hash_benchmark for
// libbpf's own numbers).
//
// BM_<op><CompatSide|RawSyscallSide>/<entries>; bench/ratios.py prints
// kernel / emu.
//
//   bazel run -c opt //bench:compat_benchmark -- --benchmark_format=json

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"

namespace {

std::vector<uint32_t> Keys(size_t n) {
  std::vector<uint32_t> keys(n);
  for (size_t i = 0; i < n; ++i)
    keys[i] = static_cast<uint32_t>(i) * 2654435761u;
  return keys;
}

long RawBpf(int cmd, bpf_attr* attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

// libbpfemu through <bpf/bpf.h>.
struct CompatSide {
  static int Create(uint32_t n) {
    return bpf_map_create(BPF_MAP_TYPE_HASH, "bench", 4, 8, n, nullptr);
  }
  static int Update(int fd, const void* k, const void* v) {
    return bpf_map_update_elem(fd, k, v, BPF_ANY);
  }
  static int Lookup(int fd, const void* k, void* v) {
    return bpf_map_lookup_elem(fd, k, v);
  }
  static int NextKey(int fd, const void* k, void* next) {
    return bpf_map_get_next_key(fd, k, next);
  }
  static void Close(int fd) { close(fd); }
};

// The kernel, one bpf() per operation.
struct RawSyscallSide {
  static int Create(uint32_t n) {
    bpf_attr a = {};
    a.map_type = BPF_MAP_TYPE_HASH;
    a.key_size = 4;
    a.value_size = 8;
    a.max_entries = n;
    const long fd = RawBpf(BPF_MAP_CREATE, &a);
    return fd < 0 ? -errno : static_cast<int>(fd);
  }
  static int Elem(int cmd, int fd, const void* k, const void* v, void* out,
                  uint64_t flags) {
    bpf_attr a = {};
    a.map_fd = static_cast<uint32_t>(fd);
    a.key = reinterpret_cast<uint64_t>(k);
    a.value = reinterpret_cast<uint64_t>(out != nullptr ? out : v);
    a.flags = flags;
    return RawBpf(cmd, &a) == 0 ? 0 : -errno;
  }
  static int Update(int fd, const void* k, const void* v) {
    return Elem(BPF_MAP_UPDATE_ELEM, fd, k, v, nullptr, BPF_ANY);
  }
  static int Lookup(int fd, const void* k, void* v) {
    return Elem(BPF_MAP_LOOKUP_ELEM, fd, k, nullptr, v, 0);
  }
  static int NextKey(int fd, const void* k, void* next) {
    bpf_attr a = {};
    a.map_fd = static_cast<uint32_t>(fd);
    a.key = reinterpret_cast<uint64_t>(k);
    a.next_key = reinterpret_cast<uint64_t>(next);
    return RawBpf(BPF_MAP_GET_NEXT_KEY, &a) == 0 ? 0 : -errno;
  }
  static void Close(int fd) { close(fd); }
};

enum Op { kLookupHit, kUpdateExisting, kGetNextKey };

template <class Side, Op kOp>
void Run(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  const int fd = Side::Create(n);
  if (fd < 0) {
    state.SkipWithError(
        absl::StrFormat("bpf() unavailable: %s", std::strerror(-fd)).c_str());
    return;
  }
  const std::vector<uint32_t> keys = Keys(n);
  for (uint32_t k : keys) {
    const uint64_t v = k;
    if (Side::Update(fd, &k, &v) != 0) {
      state.SkipWithError("filling the map failed");
      Side::Close(fd);
      return;
    }
  }
  size_t i = 0;
  uint64_t v = 0;
  uint32_t next = 0;
  for (auto _ : state) {
    int rc;
    if constexpr (kOp == kLookupHit) {
      rc = Side::Lookup(fd, &keys[i], &v);
    } else if constexpr (kOp == kUpdateExisting) {
      ++v;
      rc = Side::Update(fd, &keys[i], &v);
    } else {
      rc = Side::NextKey(fd, &keys[i], &next);
    }
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(v);
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  Side::Close(fd);
}

template <class Side>
void BM_LookupHit(benchmark::State& s) {
  Run<Side, kLookupHit>(s);
}
template <class Side>
void BM_UpdateExisting(benchmark::State& s) {
  Run<Side, kUpdateExisting>(s);
}
template <class Side>
void BM_GetNextKey(benchmark::State& s) {
  Run<Side, kGetNextKey>(s);
}

#define SIZES Arg(1024)->Arg(65536)
BENCHMARK_TEMPLATE(BM_LookupHit, CompatSide)->SIZES;
BENCHMARK_TEMPLATE(BM_LookupHit, RawSyscallSide)->SIZES;
BENCHMARK_TEMPLATE(BM_UpdateExisting, CompatSide)->SIZES;
BENCHMARK_TEMPLATE(BM_UpdateExisting, RawSyscallSide)->SIZES;
BENCHMARK_TEMPLATE(BM_GetNextKey, CompatSide)->SIZES;
BENCHMARK_TEMPLATE(BM_GetNextKey, RawSyscallSide)->SIZES;

}  // namespace

BENCHMARK_MAIN();
