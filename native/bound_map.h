// SPDX-License-Identifier: Apache-2.0
// File: bound_map.h
//
// Internal to the native runtime: the handle a loaded Object stores in the
// first pointer of each native map definition, so a helper called with
// `&map_def` reaches the emulated map without a lookup.

#ifndef BPFEMU_NATIVE_BOUND_MAP_H_
#define BPFEMU_NATIVE_BOUND_MAP_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bpfemu/native_abi.h"
#include "emu/array_map.h"
#include "emu/fd_array.h"
#include "emu/map.h"
#include "emu/perf_event_array.h"
#include "emu/ringbuf.h"
#include "emu/sock_map.h"
#include "emu/user_ringbuf.h"

namespace bpfemu::native::internal {

struct BoundMap {
  bpfemu_map_fast fast = {};  // what the map definition points to
  // For inner maps, which have no definition: a cell holding &fast, whose
  // address a map-in-map lookup returns to the program.
  bpfemu_map_fast* cell = nullptr;
  std::string name;
  int fd = -1;  // -1 for inner maps reached by id
  std::shared_ptr<Map> map;
  RingbufMap* ring = nullptr;           // RINGBUF only
  UserRingbufMap* user_ring = nullptr;  // USER_RINGBUF only
  FdArrayMap* fd_array = nullptr;       // PROG_ARRAY, ARRAY_OF_MAPS
  SockMap* sock_map = nullptr;          // SOCKMAP only
  PerfEventArrayMap* perf = nullptr;    // PERF_EVENT_ARRAY only
  // HASH_OF_MAPS / ARRAY_OF_MAPS: lookups give an inner map, not a value.
  bool holds_maps = false;
};

// A handle for `map`, with the inline fast path filled in for arrays.
inline std::unique_ptr<BoundMap> MakeBound(std::string name, int fd,
                                           std::shared_ptr<Map> map) {
  auto b = std::make_unique<BoundMap>();
  b->name = std::move(name);
  b->fd = fd;
  b->map = std::move(map);
  b->user_ring = dynamic_cast<UserRingbufMap*>(b->map.get());
  // The verifier keeps the RINGBUF producer helpers off a user ring.
  b->ring = b->user_ring == nullptr ? dynamic_cast<RingbufMap*>(b->map.get())
                                    : nullptr;
  b->fd_array = dynamic_cast<FdArrayMap*>(b->map.get());
  b->sock_map = dynamic_cast<SockMap*>(b->map.get());
  b->perf = dynamic_cast<PerfEventArrayMap*>(b->map.get());
  b->holds_maps = b->map->header().inner.present != 0;
  b->fast.impl = b.get();
  b->cell = &b->fast;
  if (auto* array = dynamic_cast<ArrayMap*>(b->map.get());
      array != nullptr && b->map->type() == BPF_MAP_TYPE_ARRAY) {
    b->fast.array_values = array->ValueAt(0);
    b->fast.array_slot =
        static_cast<uint32_t>(array->ValueAt(1) - array->ValueAt(0));
    b->fast.max_entries = array->max_entries();
  } else if (array != nullptr && b->map->type() == BPF_MAP_TYPE_PERCPU_ARRAY) {
    b->fast.percpu_values = array->ValueAt(0);
    b->fast.array_slot =
        static_cast<uint32_t>(array->ValueAt(1) - array->ValueAt(0));
    b->fast.percpu_unit = array->PercpuUnit();
    b->fast.nr_cpus = array->nr_cpus();
    b->fast.max_entries = array->max_entries();
  } else if (b->fd_array != nullptr &&
             b->map->type() == BPF_MAP_TYPE_PROG_ARRAY) {
    // The inline tail call's view (bpf_helper_defs.h bpf_tail_call): the
    // ids as u32 and the cache as program heads, the layouts they share
    // (helpers.cc checks them).
    b->fast.prog_ids = reinterpret_cast<const __u32*>(b->fd_array->prog_ids());
    b->fast.prog_cache = reinterpret_cast<const bpfemu_prog_head* const*>(
        b->fd_array->cached_progs());
    b->fast.max_entries = b->fd_array->max_entries();
  }
  return b;
}

inline BoundMap* BoundOf(void* def) {
  bpfemu_map_fast* f;
  std::memcpy(&f, def, sizeof(f));
  return f != nullptr ? static_cast<BoundMap*>(f->impl) : nullptr;
}

// Points map definition `def` at `b` (or at nothing).
inline void Bind(void* def, BoundMap* b) {
  bpfemu_map_fast* f = b != nullptr ? &b->fast : nullptr;
  std::memcpy(def, &f, sizeof(f));
}

// The native struct bpf_dynptr (bpfemu_dynptr) as the kernel's
// bpf_dynptr_kern: size in bits 0-23, type in bits 28-30, read-only bit 31.
inline constexpr __u32 kDynptrSizeMask = (1u << 24) - 1;
inline constexpr __u32 kDynptrRdonly = 1u << 31;
inline constexpr __u32 kDynptrTypeLocal = 1u << 28;  // BPF_DYNPTR_TYPE_LOCAL

inline bpfemu_dynptr LocalDynptr(void* data, __u32 size) {
  return bpfemu_dynptr{data, (size & kDynptrSizeMask) | kDynptrTypeLocal, 0};
}
inline bool DynptrRdonly(const bpfemu_dynptr& d) {
  return (d.size & kDynptrRdonly) != 0;
}
// bpf_dynptr_check_off_len(): E2BIG unless [offset, offset + len) fits.
inline bool DynptrRangeOk(const bpfemu_dynptr& d, __u32 offset, __u32 len) {
  const __u32 size = d.size & kDynptrSizeMask;
  return len <= size && offset <= size - len;
}
// bpf_dynptr_get_type(): enum bpf_dynptr_type, from bits 28-30; the
// packet types' data is the context (emu/kfunc.h DynptrFromSkb).
inline constexpr __u32 kDynptrRingbuf = 2;  // BPF_DYNPTR_TYPE_RINGBUF
inline constexpr __u32 kDynptrSkb = 3;      // BPF_DYNPTR_TYPE_SKB
inline constexpr __u32 kDynptrXdp = 4;      // BPF_DYNPTR_TYPE_XDP
inline __u32 DynptrType(const bpfemu_dynptr& d) {
  return (d.size & ~kDynptrRdonly) >> 28;
}
// bpf_dynptr_slice's XDP case at packet offset `offset` (helpers.cc).
void* XdpSlice(void* ctx, __u32 offset, void* buffer, __u32 len);
// The XDP run's frame on this thread (helpers.h SetXdpFrame):
// data_hard_start, xdp_data_hard_end() and the fragments (nullptr: none).
struct XdpFrameRef {
  uint64_t hard_start = 0;
  uint64_t hard_end = 0;
  std::vector<std::vector<uint8_t>>* frags = nullptr;
};
XdpFrameRef CurrentXdpFrame();

}  // namespace bpfemu::native::internal

#endif  // BPFEMU_NATIVE_BOUND_MAP_H_
