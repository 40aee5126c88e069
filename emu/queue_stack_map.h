// SPDX-License-Identifier: Apache-2.0
// File: queue_stack_map.h
//
// QueueStackMap mirrors kernel/bpf/queue_stack_maps.c (Linux 6.12, 6.18) for
// BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO): a ring of
// max_entries + 1 value slots with head and tail indices under one lock.
//
// Userspace reaches it through the ordinary commands, which the syscall
// layer routes as kernel/bpf/syscall.c does: update (key NULL) pushes,
// lookup (key NULL) peeks, lookup_and_delete pops; delete and get_next_key
// are EINVAL; there are no batch operations (ENOTSUPP). Programs call
// bpf_map_push_elem / bpf_map_pop_elem / bpf_map_peek_elem.
//
// Semantics: key_size must be 0, value_size non-zero, max_entries non-zero,
// flags only BPF_F_NUMA_NODE and the access flags (EINVAL); value_size above
// KMALLOC_MAX_SIZE is E2BIG; 6.12 (only) also refuses max_entries >=
// U32_MAX / value_size with E2BIG, where 6.1 and 6.18 attempt the
// allocation (the kernel then fails with ENOMEM past what vmalloc can
// give; bpfemu fails where its backing store cannot hold the region). A push
// with BPF_NOEXIST or a flag above BPF_EXIST is EINVAL; into a full map it is
// E2BIG, unless BPF_EXIST, which drops the oldest element (the tail) to make
// room. A pop or peek of an empty map is ENOENT; a program's value buffer
// is zeroed, a syscall caller's is left as it was.
// A queue pops at the tail, a stack at the head.
//
// Layout (after MapHeader): QueueStackBody, then `size` value slots of
// value_size bytes. head, tail and size are shared and re-checked on every
// use, so a corrupted region gives EINVAL, never an access outside it.

#ifndef BPFEMU_EMU_QUEUE_STACK_MAP_H_
#define BPFEMU_EMU_QUEUE_STACK_MAP_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

class QueueStackMap : public Map {
 public:
  static const MapOps kOps;

  // queue_stack_map_alloc_check(), for the target kernel version.
  static int AllocCheck(const MapAttr& attr);

  // queue_stack_map_mem_usage(): the struct and max_entries + 1 slots.
  uint64_t MemUsage(const BuildProfile& build) const override {
    return build.queue_stack +
           (uint64_t{max_entries()} + 1) * uint64_t{value_size()};
  }

  // The syscall face (key is NULL: key_size 0).
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;  // peek
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;  // push
  [[nodiscard]] int LookupAndDeleteElem(const void* key, void* value,
                                        uint64_t flags) override;  // pop
  [[nodiscard]] int DeleteElem(const void* key) override;          // EINVAL
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;

  // The ops a program's lookup and update reach: NULL and EINVAL (the
  // verifier refuses those helpers on these types).
  void* LookupElemProg(const void* key) override;
  [[nodiscard]] int UpdateElemProg(const void* key, const void* value,
                                   uint64_t flags) override;

  // map_push_elem / map_pop_elem / map_peek_elem.
  [[nodiscard]] int PushElem(const void* value, uint64_t flags) override;
  [[nodiscard]] int PopElem(void* value) override;
  [[nodiscard]] int PeekElem(void* value) override;

 private:
  struct QueueStackBody {
    ShmMutex lock;
    uint32_t head;  // next slot to push into
    uint32_t tail;  // oldest element
    uint32_t size;  // max_entries + 1
  };

  explicit QueueStackMap(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
  // Copies out the element a pop would take, and takes it if `remove`;
  // an empty map is ENOENT, with `value` zeroed if `zero_if_empty`.
  int Get(void* value, bool remove, bool zero_if_empty);
  // Get without the lock, for a read-only region (Map::read_only).
  int PeekNoWrite(void* value, bool zero_if_empty);
  uint8_t* Slot(uint32_t index) const {
    return values_ + uint64_t{index} * value_size();
  }

  QueueStackBody* body_;
  uint8_t* values_;
  uint32_t size_;  // the slot count, fixed at attach time
  bool stack_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_QUEUE_STACK_MAP_H_
