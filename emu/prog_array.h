// SPDX-License-Identifier: Apache-2.0
// File: prog_array.h
//
// ProgArrayMap mirrors BPF_MAP_TYPE_PROG_ARRAY in kernel/bpf/arraymap.c
// (Linux 6.18, prog_array_map_ops): fd_array_map_alloc_check,
// bpf_fd_array_map_update_elem with prog_fd_array_get_ptr,
// __fd_array_map_delete_elem, bpf_fd_array_map_lookup_elem with
// prog_fd_array_sys_lookup_elem, array_map_get_next_key; the owner rules of
// kernel/bpf/core.c __bpf_prog_map_compatible; and the tail call of the
// interpreter (___bpf_prog_run, JMP_TAIL_CALL).
//
// Layout (after MapHeader): ProgArrayBody (owner program type and attach
// type, under a process-shared lock), then one u32 program id per slot
// (0: empty). Ids resolve through the process's program table (prog.h).
//
// Semantics:
//   * create: value_size must be 4, BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG
//     are refused (EINVAL), then the array checks (key_size 4, ...).
//   * syscall update: flags other than BPF_ANY -> EINVAL, index >=
//     max_entries -> E2BIG, then the value is a program fd: not open ->
//     EBADF, not a program -> EINVAL, a program whose type or expected attach
//     type differs from the map's owner -> EINVAL. The first program stored
//     (or run through the map) becomes the owner.
//   * syscall lookup: the stored program's id; empty or out of range ->
//     ENOENT. delete: out of range -> E2BIG, empty -> ENOENT.
//   * lookup/update/delete from a program: refused (the verifier rejects
//     them; here lookup gives NULL and the others -EINVAL).
//   * tail call: index >= max_entries falls through; otherwise one unit of
//     the invocation's budget is spent (even if the slot then turns out to
//     be empty); an empty slot falls through; else the target runs in place
//     of the caller. A program that tail-calls itself runs 1 + 33 times.
//
// Differences from the kernel: a loaded program that merely references the
// map does not claim ownership (native code has no relocation list), so the
// owner is the first program stored or tail-called into.

#ifndef BPFEMU_EMU_PROG_ARRAY_H_
#define BPFEMU_EMU_PROG_ARRAY_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "emu/array_map.h"
#include "emu/map.h"
#include "emu/prog.h"
#include "emu/shm.h"

namespace bpfemu {

class ProgArrayMap : public Map {
 public:
  static const MapOps kOps;

  // fd_array_map_alloc_check().
  static int AllocCheck(const MapAttr& attr);

  void* LookupElemProg(const void*) override { return nullptr; }
  [[nodiscard]] int UpdateElemProg(const void*, const void*,
                                   uint64_t) override {
    return -EINVAL;
  }
  [[nodiscard]] int DeleteElemProg(const void*) override { return -EINVAL; }
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;

  // array_map_mem_usage(): one pointer-sized slot per entry.
  uint64_t MemUsage() const override {
    return ArrayMemUsage(max_entries(), sizeof(void*), false, false, nr_cpus());
  }

  // bpf_tail_call(ctx, this, index): does not return when the call is
  // taken; otherwise returns a negative errno and the caller goes on.
  long TailCall(uint32_t index);

 private:
  struct ProgArrayBody {
    ShmMutex owner_lock;
    uint32_t has_owner;
    uint32_t owner_type;
    uint32_t owner_attach_type;
    uint64_t slots_off;
  };

  explicit ProgArrayMap(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
  // bpf_prog_map_compatible(): claims the map for `prog` if unowned.
  bool Compatible(const Prog& prog);

  ProgArrayBody* body_;
  std::atomic<uint32_t>* slots_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_PROG_ARRAY_H_
