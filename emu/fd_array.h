// SPDX-License-Identifier: Apache-2.0
// File: fd_array.h
//
// FdArrayMap mirrors the fd arrays of kernel/bpf/arraymap.c (Linux 6.18):
// BPF_MAP_TYPE_PROG_ARRAY (prog_array_map_ops), BPF_MAP_TYPE_ARRAY_OF_MAPS
// (array_of_maps_map_ops) and BPF_MAP_TYPE_CGROUP_ARRAY
// (cgroup_array_map_ops, cgroup_fd_array_get_ptr): fd_array_map_alloc_check,
// bpf_fd_array_map_update_elem with prog_fd_array_get_ptr /
// bpf_map_fd_get_ptr, __fd_array_map_delete_elem, bpf_fd_array_map_lookup_elem
// (the stored object's id), array_map_get_next_key; the owner rules of
// kernel/bpf/core.c __bpf_prog_map_compatible; the inner-map rules of
// kernel/bpf/map_in_map.c; and the interpreter's tail call (___bpf_prog_run,
// JMP_TAIL_CALL); for CGROUP_ARRAY, bpf_current_task_under_cgroup
// (kernel/bpf/helpers.c).
//
// Layout (after MapHeader): FdArrayBody (a PROG_ARRAY's owner program type
// and attach type, under a process-shared lock), then one u32 object id per
// slot (0: empty), or for CGROUP_ARRAY one u64 cgroup id per slot
// (emu/cgroup.h: cgroup ids are 64-bit). Program ids resolve through the
// process's program table (prog.h), map ids through syscall.h's MapFromId.
//
// Semantics (measured against 6.18, docs/semantics.md and docs/native.md):
//   * create: value_size must be 4, BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG
//     are refused (EINVAL), then the array checks (key_size 4, ...).
//   * syscall update: flags other than BPF_ANY -> EINVAL, index >=
//     max_entries -> E2BIG, then the value is an fd, resolved by the caller
//     (syscall.cc) into an object id: UpdateElem receives that id.
//   * syscall lookup: the stored object's id; empty or out of range ->
//     ENOENT. delete: out of range -> E2BIG, empty -> ENOENT.
//   * CGROUP_ARRAY: the value is a cgroup2 directory fd (any other fd ->
//     EBADF, cgroup_get_from_fd); syscall lookup is ENOTSUPP (no
//     map_fd_sys_lookup_elem), as are all batch ops; programs reach it
//     only through bpf_current_task_under_cgroup: index >= max_entries ->
//     -E2BIG, empty slot -> -EAGAIN, else 1 if the current cgroup is the
//     slot's or below it, 0 if not.
//   * batch ops: ARRAY_OF_MAPS has generic lookup (ids out, empty slots
//     skipped) and update (fds in, each checked like a single update)
//     batches; delete and lookup_and_delete batches are ENOTSUPP, as is
//     every batch op on a PROG_ARRAY.
//   * from a program: lookup of a PROG_ARRAY is refused (NULL), of an
//     ARRAY_OF_MAPS gives the slot (holding the inner map's id, which the
//     helper layer turns into the map); update and delete -> EINVAL.
//   * tail call: index >= max_entries falls through; otherwise one unit of
//     the invocation's budget is spent (even if the slot then turns out to
//     be empty); an empty slot falls through; else the target runs in place
//     of the caller. A program that tail-calls itself runs 1 + 33 times.
//
// Tail calls take no lock and no reference count: the slot's id is checked
// against a process-local cache of program pointers (prog.h TailCallCache),
// as the kernel's prog_array holds the program pointer under RCU.
//
// Differences from the kernel: a loaded program that merely references a
// PROG_ARRAY does not claim ownership (native code has no relocation list),
// so the owner is the first program stored or tail-called into.

#ifndef BPFEMU_EMU_FD_ARRAY_H_
#define BPFEMU_EMU_FD_ARRAY_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "emu/array_map.h"
#include "emu/map.h"
#include "emu/prog.h"
#include "emu/shm.h"

namespace bpfemu {

class FdArrayMap : public Map {
 public:
  // prog_array_map_ops, array_of_maps_map_ops.
  static const MapOps kProgArrayOps;
  static const MapOps kArrayOfMapsOps;
  // cgroup_array_map_ops.
  static const MapOps kCgroupArrayOps;

  // fd_array_map_alloc_check().
  static int AllocCheck(const MapAttr& attr);

  bool holds_maps() const { return type() == BPF_MAP_TYPE_ARRAY_OF_MAPS; }
  bool holds_cgroups() const { return type() == BPF_MAP_TYPE_CGROUP_ARRAY; }

  void* LookupElemProg(const void* key) override;
  [[nodiscard]] int UpdateElemProg(const void*, const void*,
                                   uint64_t) override {
    return -EINVAL;
  }
  [[nodiscard]] int DeleteElemProg(const void*) override { return -EINVAL; }
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  // `value` is the id of the object already resolved from the caller's fd
  // (and checked against the map's rules by syscall.cc); *old_id receives
  // the id it replaced (0 if none) unless NULL.
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  // The slot's inner map or program is put (fd_array_map_delete_elem ->
  // map_fd_put_ptr).
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  // bpf_fd_array_map_update_elem: flags, index, then the fd, resolved by
  // map_fd_get_ptr: an inner map for ARRAY_OF_MAPS (bpf_map_fd_get_ptr,
  // map_in_map.h), a program for PROG_ARRAY (prog_fd_array_get_ptr); the
  // replaced object is put.
  [[nodiscard]] int UpdateElemSys(const void* key, const void* value,
                                  uint64_t flags, int map_fd) override;
  // array_of_maps_map_ops: generic lookup and update batches (values are
  // inner map ids out, fds in); no lookup_and_delete or delete batch.
  // prog_array_map_ops has no batch ops. Both answer ENOTSUPP otherwise.
  [[nodiscard]] int LookupBatch(BatchArgs& args) override {
    return holds_maps() ? GenericLookupBatch(args) : Map::LookupBatch(args);
  }
  [[nodiscard]] int UpdateBatch(BatchArgs& args) override {
    return holds_maps() ? GenericUpdateBatch(args) : Map::UpdateBatch(args);
  }

  // The checks bpf_fd_array_map_update_elem runs before resolving the fd.
  int CheckUpdate(const void* key, uint64_t flags) const;
  // The id in slot `index`, or 0.
  uint64_t IdAt(uint32_t index) const {
    if (index >= max_entries()) return 0;
    return holds_cgroups()
               ? cgroup_slots_[index].load(std::memory_order_acquire)
               : slots_[index].load(std::memory_order_acquire);
  }
  // bpf_current_task_under_cgroup(this, index) (CGROUP_ARRAY only).
  long CurrentTaskUnderCgroup(uint32_t index) const;
  // bpf_prog_map_compatible(): claims a PROG_ARRAY for `prog` if unowned.
  bool Compatible(const Prog& prog);

  // array_map_mem_usage(): one pointer-sized slot per entry.
  uint64_t MemUsage(const BuildProfile& build) const override {
    return ArrayMemUsage(build, max_entries(), sizeof(void*), false, false,
                         nr_cpus());
  }

  // bpf_tail_call(ctx, this, index): does not return when the call is
  // taken; otherwise returns a negative errno and the caller goes on.
  long TailCall(uint32_t index);
  // The checks and budget of a tail call, without the jump: 0 and the
  // target in *next (kept alive by the run, TailCallCache::Enter), or the
  // negative errno the helper returns. The interpreter enters *next in its
  // loop (loader/bytecode.cc); TailCall() jumps.
  long TailCallTarget(uint32_t index, const Prog** next);
  // PROG_ARRAY only (else NULL): the slots' program ids and the cache of
  // the programs they resolved to, which natively built programs read to
  // take a tail call inline (native_abi.h bpf_tail_call).
  const std::atomic<uint32_t>* prog_ids() const {
    return cache_ != nullptr ? slots_ : nullptr;
  }
  const std::atomic<const Prog*>* cached_progs() const {
    return cache_ != nullptr ? cache_->slots() : nullptr;
  }

 private:
  struct FdArrayBody {
    ShmMutex owner_lock;
    uint32_t has_owner;
    uint32_t owner_type;
    uint32_t owner_attach_type;
    uint64_t slots_off;
  };

  explicit FdArrayMap(ShmRegion region);
  void MakeCache();
  int UpdateProgSlot(const void* key, const void* value, uint64_t flags);
  int UpdateCgroupSlot(const void* key, const void* value, uint64_t flags);
  // Bytes per slot: a u32 object id, or a u64 cgroup id.
  static uint64_t SlotBytes(uint32_t map_type) {
    return map_type == BPF_MAP_TYPE_CGROUP_ARRAY ? sizeof(uint64_t)
                                                 : sizeof(uint32_t);
  }
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  static const uint64_t kSlotsOff;
  FdArrayBody* body_;
  std::atomic<uint32_t>* slots_;
  // The same slots, CGROUP_ARRAY's view.
  std::atomic<uint64_t>* cgroup_slots_;
  // PROG_ARRAY only: the programs the slots' ids resolved to.
  std::unique_ptr<TailCallCache> cache_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_FD_ARRAY_H_
