// SPDX-License-Identifier: Apache-2.0
// File: bloom_filter.h
//
// BloomFilterMap mirrors kernel/bpf/bloom_filter.c (Linux 6.1, 6.12, 6.18)
// for BPF_MAP_TYPE_BLOOM_FILTER: a bit array probed by nr_hash_funcs
// seeded jhash2 / jhash values of the pushed value.
//
// Userspace reaches it through the ordinary commands, routed as
// kernel/bpf/syscall.c routes them: update (key NULL) pushes; lookup (key
// NULL) reads the caller's value buffer and answers 0 if every bit the value
// hashes to is set, ENOENT otherwise (the buffer is input, never written);
// delete, get_next_key and a program's pop are EOPNOTSUPP; a program's
// lookup and update are refused (NULL, EINVAL); lookup_and_delete and the
// batch commands are ENOTSUPP. Programs call bpf_map_push_elem and
// bpf_map_peek_elem.
//
// Creation: value_size above KMALLOC_MAX_SIZE is E2BIG (alloc_check);
// key_size != 0, value_size 0, max_entries 0, flags beyond BPF_F_NUMA_NODE,
// BPF_F_ZERO_SEED and the access flags, both program-access flags, or
// map_extra above 15 are EINVAL. map_extra's low four bits are the hash
// count (0 means 5). The bit count is max_entries * hashes * 7 / 5 rounded
// up to a power of two (at least 64), or 2^32 when that overflows or exceeds
// 2^31. The seed is random unless BPF_F_ZERO_SEED, in which case the
// emulator sets the same bits as the kernel for the same pushes, so false
// positives agree. A push with flags other than BPF_ANY is EINVAL.
//
// Layout (after MapHeader): the bit array, as 64-bit words set with atomic
// OR. Its size, the mask, the hash count and the seed are recomputed from
// the process-local header copy at attach; nothing else is shared, so a
// crafted region can only set or clear bits.

#ifndef BPFEMU_EMU_BLOOM_FILTER_H_
#define BPFEMU_EMU_BLOOM_FILTER_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

class BloomFilterMap final : public Map {
 public:
  static const MapOps kOps;

  // bloom_map_alloc_check() and bloom_map_alloc()'s attribute checks.
  static int AllocCheck(const MapAttr& attr);

  // bloom_map_mem_usage(): the struct and the bit array in whole words.
  uint64_t MemUsage(const BuildProfile& build) const override;

  // The syscall face. Lookup's `value` is the caller's value (input).
  bool LookupTakesValue() const override { return true; }
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;

  // bloom_map_lookup_elem / bloom_map_update_elem: what a program's lookup
  // and update would reach (the verifier refuses both).
  void* LookupElemProg(const void* key) override;
  [[nodiscard]] int UpdateElemProg(const void* key, const void* value,
                                   uint64_t flags) override;

  // map_push_elem / map_peek_elem / map_pop_elem.
  [[nodiscard]] int PushElem(const void* value, uint64_t flags) override;
  [[nodiscard]] int PeekElem(void* value) override;
  [[nodiscard]] int PopElem(void* value) override;

 private:
  struct Geometry {
    uint32_t bitset_mask;
    uint32_t nr_hash_funcs;
    uint64_t words;  // 64-bit words of the bit array
    uint64_t region_size;
  };
  static Geometry GeometryFor(const MapAttr& attr);

  BloomFilterMap(ShmRegion region, const Geometry& g);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
  // hash(): the bit hash function `index` gives `value`.
  uint32_t Bit(const void* value, uint32_t index) const;

  uint64_t* bits_;
  Geometry geometry_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_BLOOM_FILTER_H_
