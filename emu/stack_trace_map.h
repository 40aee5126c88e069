// SPDX-License-Identifier: Apache-2.0
// File: stack_trace_map.h
//
// StackTraceMap mirrors kernel/bpf/stackmap.c (Linux 6.1, 6.12, 6.18) for
// BPF_MAP_TYPE_STACK_TRACE: n_buckets = roundup_pow_of_two(max_entries)
// bucket slots, each empty or holding one of max_entries preallocated
// elements (the kernel's stack_map_bucket: hash, nr and the trace).
//
// Programs fill it with bpf_get_stackid(ctx, map, flags): the trace (the
// kernel stack, or the user stack with BPF_F_USER_STACK) minus the
// BPF_F_SKIP_FIELD_MASK frames skipped, at most value_size / 8 frames, is
// hashed with jhash2 (seed 0); the bucket is hash & (n_buckets - 1). Same
// trace: that id; BPF_F_FAST_STACK_CMP: the id on a hash match alone; a
// different trace in the bucket: EEXIST, or replaced with
// BPF_F_REUSE_STACKID; no free element: ENOMEM; fewer frames than skipped:
// EFAULT; another flag: EINVAL. The trace is the helper input a test sets
// (native/helpers.h SetStacks); programs have no other access to the map
// (the verifier allows only bpf_get_stackid on it).
//
// Userspace: lookup copies the trace and zeroes the rest of the value
// (ENOENT for an empty or out-of-range id); delete frees a bucket (ENOENT
// when empty, E2BIG past n_buckets); update is EINVAL; get_next_key walks
// the non-empty ids upwards, restarting from 0 for a missing key;
// lookup_and_delete (6.18; ENOTSUPP before) copies the trace out and frees
// the bucket; there are no batch ops (ENOTSUPP).
//
// Create: key_size 4, value_size a non-zero multiple of 8 (of 32, struct
// bpf_stack_build_id, with BPF_F_STACK_BUILD_ID) of at most
// kernel.perf_event_max_stack frames, max_entries in [1, 2^31] (E2BIG
// above), flags only BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_WRONLY and
// BPF_F_STACK_BUILD_ID; all else EINVAL. 6.1 asks for CAP_BPF in the map's
// own alloc (EPERM), later versions in map_create.
//
// Build-id maps store every frame as BPF_STACK_BUILD_ID_IP (the ip, no
// build id): the kernel's fallback when it cannot read the frame's file,
// and what it stores for kernel frames (docs/semantics.md).
//
// Layout (after MapHeader): StackBody, n_buckets u32 element ids (0 =
// empty), then max_entries elements of 16 + value_size bytes. Every id and
// count read from the region is checked before it is followed.

#ifndef BPFEMU_EMU_STACK_TRACE_MAP_H_
#define BPFEMU_EMU_STACK_TRACE_MAP_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

class StackTraceMap : public Map {
 public:
  static const MapOps kOps;

  // stack_map_alloc()'s attribute checks, for the target kernel version.
  static int AllocCheck(const MapAttr& attr);

  // kernel.perf_event_max_stack (sysctl_perf_event_max_stack), read from
  // this machine once; 127, the kernel's default, when unreadable.
  static uint32_t MaxStack();

  // struct bpf_stack_build_id entries (32 bytes) for `n` frames in the ip
  // form (status BPF_STACK_BUILD_ID_IP, the address at offset 24): how
  // bpfemu stores and copies build-id traces, having no build ids
  // (stack_map_get_build_id_offset's fallback). `out` holds n entries.
  static constexpr uint32_t kBuildIdEntrySize = 32;
  static void BuildIdIpForm(const uint64_t* ips, uint32_t n, uint8_t* out);

  // stack_map_mem_usage(): the struct, a pointer per bucket and the
  // preallocated elements.
  uint64_t MemUsage(const BuildProfile& build) const override;

  uint32_t n_buckets() const { return n_buckets_; }

  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;  // bpf_stackmap_copy
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;  // EINVAL
  [[nodiscard]] int DeleteElem(const void* key) override;
  // stack_map_lookup_and_delete_elem (6.17 on): the lookup, then the
  // bucket freed; ENOTSUPP on 6.1 and 6.12, which have no such op.
  [[nodiscard]] int LookupAndDeleteElem(const void* key, void* value,
                                        uint64_t flags) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  void* LookupElemProg(const void* key) override;  // the verifier refuses it

  // bpf_get_stackid() on a trace of `nr` frames, innermost first (what
  // get_perf_callchain() returns, before max_depth is applied).
  [[nodiscard]] long GetStackId(const uint64_t* ips, uint32_t nr,
                                uint64_t flags);

 private:
  struct StackBody {
    ShmMutex lock;
    uint32_t n_buckets;
    uint32_t free_head;    // freed elements, linked through `next`; 0 = none
    uint32_t next_unused;  // elements 1..next_unused have been handed out
  };
  struct ElemHeader {
    uint32_t next;  // free-list link
    uint32_t hash;
    uint32_t nr;
    uint32_t reserved;
  };

  explicit StackTraceMap(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  bool build_id() const;
  uint32_t data_size() const { return build_id() ? 32 : 8; }
  bool ValidId(uint32_t id) const { return id - 1 < max_entries(); }
  ElemHeader* Elem(uint32_t id) const {
    return reinterpret_cast<ElemHeader*>(elems_ +
                                         uint64_t{id - 1} * elem_size_);
  }
  uint8_t* ElemData(uint32_t id) const {
    return reinterpret_cast<uint8_t*>(Elem(id)) + sizeof(ElemHeader);
  }
  // The element id in bucket `b` (< n_buckets_), kNone if empty or invalid.
  uint32_t BucketElem(uint32_t b) const;
  // Copies element `id`'s trace into `value` (value_size bytes): the frames,
  // then zeroes.
  void CopyTrace(uint32_t id, void* value) const;
  // Lookup without the lock, for a read-only region (Map::read_only).
  int LookupNoWrite(uint32_t bucket, void* value);
  // REQUIRES: body_->lock held. A free element (pcpu_freelist_pop), or 0.
  uint32_t PopFreeLocked();
  void PushFreeLocked(uint32_t id);

  StackBody* body_;
  uint32_t* buckets_;
  uint8_t* elems_;
  uint32_t n_buckets_;  // fixed at attach
  uint64_t elem_size_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_STACK_TRACE_MAP_H_
