// SPDX-License-Identifier: Apache-2.0
// File: array_map.h
//
// ArrayMap mirrors kernel/bpf/arraymap.c (Linux 6.18) for BPF_MAP_TYPE_ARRAY
// and BPF_MAP_TYPE_PERCPU_ARRAY: array_map_alloc_check, array_map_alloc,
// array_map_lookup_elem / percpu_array_map_lookup_elem,
// array_map_update_elem / bpf_percpu_array_update, array_map_delete_elem,
// array_map_get_next_key.
//
// Layout (after MapHeader): ArrayBody, then max_entries value areas starting
// on a page boundary (as a BPF_F_MMAPABLE kernel array does), so the memfd
// can be mapped from there for mmap(); a BPF_F_MMAPABLE array's region is
// page-rounded so that the whole last page of values can be mapped. An ARRAY
// area is elem_size = round_up(value_size, 8) bytes; a PERCPU_ARRAY area holds
// one elem_size slot per possible CPU, the syscall buffer layout. The region is
// zero-filled, so every element exists from creation and reads as zeros.
//
// Semantics: u32 index keys; lookup of index >= max_entries -> ENOENT; update
// flags above BPF_EXIST -> EINVAL, then index >= max_entries -> E2BIG, then
// BPF_NOEXIST -> EEXIST (every in-range element exists); delete -> EINVAL;
// get_next_key(NULL or out of range) -> 0, (max_entries - 1) -> ENOENT. A
// syscall update copies value_size bytes; the padding up to elem_size keeps
// what it had. PERCPU_ARRAY syscall updates copy every CPU's whole slot,
// padding included (copy_map_value_long), and accept only flags <= BPF_EXIST.
//
// Differences from the kernel: values are written with relaxed atomic words
// rather than memcpy (same tearing rules, see shm.h).

#ifndef BPFEMU_EMU_ARRAY_MAP_H_
#define BPFEMU_EMU_ARRAY_MAP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "emu/map.h"

namespace bpfemu {

// array_map_get_next_key() for any array of `max_entries` u32-indexed slots:
// a NULL or out-of-range key restarts at 0, the last index ends (ENOENT).
int ArrayGetNextKey(const void* key, uint32_t max_entries, void* next_key);
// array_map_mem_usage() for `entries` elements of `elem_size` bytes (per CPU
// for per-CPU arrays; mmapable arrays count whole pages).
uint64_t ArrayMemUsage(const BuildProfile& build, uint64_t entries,
                       uint64_t elem_size, bool percpu, bool mmapable,
                       uint64_t ncpus);

class ArrayMap : public Map {
 public:
  // array_map_ops, percpu_array_map_ops.
  static const MapOps kArrayOps;
  static const MapOps kPercpuArrayOps;

  // array_map_alloc_check(), in the kernel's order.
  static int AllocCheck(const MapAttr& attr);

  uint32_t SyscallValueSize() const override;
  uint64_t MemUsage(const BuildProfile& build) const override {
    return ArrayMemUsage(build, max_entries(), geo_.elem_size, geo_.percpu,
                         map_flags() & BPF_F_MMAPABLE, nr_cpus());
  }
  // Bytes from one CPU's copy of a PERCPU_ARRAY value to the next.
  uint32_t PercpuUnit() const { return geo_.elem_size; }
  // The program face: the element's value (PERCPU_ARRAY: the current CPU's
  // slot), or nullptr out of range.
  void* LookupElemProg(const void* key) override;
  // bpf_for_each_array_elem (kernel/bpf/arraymap.c), the ops tables'
  // for_each_callback: indexes 0..max_entries-1, each key a u32 copy the
  // callback may not change the walk through, each value the element
  // (PERCPU_ARRAY: the slot of the CPU the walk started on, as the kernel
  // walks with migration disabled).
  static long ForEach(Map& map, ForEachCallback fn, void* arg, uint64_t flags);
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  // array_map_update_elem(): PERCPU_ARRAY writes the current CPU's slot.
  [[nodiscard]] int UpdateElemProg(const void* key, const void* value,
                                   uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  bool ValueKey(const uint8_t* value, uint32_t* index,
                const uint8_t** key) const override;
  // array_map_ops: generic lookup and update batches; no delete or
  // lookup_and_delete batch (ENOTSUPP).
  [[nodiscard]] int LookupBatch(BatchArgs& args) override {
    return GenericLookupBatch(args);
  }
  [[nodiscard]] int UpdateBatch(BatchArgs& args) override {
    return GenericUpdateBatch(args);
  }

  // array_map_mmap() behind bpf_map_mmap (syscall.cc MapMmap, which has
  // made the generic checks): not BPF_F_MMAPABLE -> EINVAL; offset +
  // round_up(length, 4096) beyond the page-rounded value area -> EINVAL;
  // otherwise maps the value area from user offset `offset` with `prot`
  // (MAP_SHARED). A mapping without PROT_WRITE comes from a read-only
  // descriptor, so mprotect() cannot make it writable (EACCES). Returns the
  // address, or nullptr with *err = -errno.
  void* Mmap(int fd, size_t length, int prot, int flags, uint64_t offset,
             int* err) override;
  // array_map_ops has map_mmap, percpu_array_map_ops has not.
  bool HasMmap() const override { return type() == BPF_MAP_TYPE_ARRAY; }
  // The value area (from file offset 0: a head-at-end region).
  void WritableFileRange(uint64_t* lo, uint64_t* hi) const override {
    *lo = region().FileOffset(values_offset());
    *hi = *lo + header().region_size - values_offset();
  }
  // File offset of element 0's value in the region (page-aligned).
  uint64_t values_offset() const { return geo_.values_off; }

  // Address of element `index` (< max_entries) in this process: its value,
  // or for PERCPU_ARRAY CPU 0's slot (CPU c's is c * elem_size further).
  uint8_t* ValueAt(uint32_t index) const {
    return values_ + uint64_t{index} * geo_.value_slot;
  }

 private:
  struct ArrayBody {
    uint32_t elem_size;   // round_up(value_size, 8)
    uint32_t value_slot;  // bytes per index: elem_size [* nr_cpus]
    uint32_t percpu;      // 1 for PERCPU_ARRAY
    uint32_t reserved;
    uint64_t values_off;
  };

  // Process-local copy of the body, computed from the header as Alloc
  // computes it and, at attach, required to equal the stored one.
  struct Geometry {
    uint32_t elem_size = 0, value_slot = 0;
    bool percpu = false;
    uint64_t values_off = 0, region_size = 0;
  };
  static int ComputeGeometry(const MapHeader& h, Geometry* g);

  explicit ArrayMap(ShmRegion region) : Map(std::move(region)) {}
  void Bind(const Geometry& g) {
    geo_ = g;
    values_ = region().At<uint8_t>(g.values_off);
  }
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  Geometry geo_;
  uint8_t* values_ = nullptr;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_ARRAY_MAP_H_
