// SPDX-License-Identifier: Apache-2.0
// File: syscall_internal.h
//
// What the files of the syscall layer share (syscall.cc: element, batch and
// id commands; map_create.cc: BPF_MAP_CREATE; map_mmap.cc: freeze and
// mmap; pin.cc: BPF_OBJ_PIN / BPF_OBJ_GET; fault_injection.cc). Not part of
// the public API (syscall.h).

#ifndef BPFEMU_EMU_SYSCALL_INTERNAL_H_
#define BPFEMU_EMU_SYSCALL_INTERNAL_H_

#include <linux/bpf.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>

#include "emu/fd_table.h"
#include "emu/map.h"

namespace bpfemu::internal {

// map_get_sys_perms(): the fd's access mode, without write access once the
// map is frozen (map->frozen overrides every fd's FMODE_CAN_WRITE). A map
// this process mapped read-only (Map::read_only) is never writable here.
inline bool SysWritable(const FdEntry& e) {
  return e.writable && !e.map->frozen() && !e.map->read_only();
}

// bpf_get_file_flag(): the access mode of a new fd.
inline int FileFlags(uint32_t flags, bool* readable, bool* writable) {
  if (flags & ~uint32_t{BPF_F_RDONLY | BPF_F_WRONLY}) return -EINVAL;
  if ((flags & BPF_F_RDONLY) && (flags & BPF_F_WRONLY)) return -EINVAL;
  *readable = !(flags & BPF_F_WRONLY);
  *writable = !(flags & BPF_F_RDONLY);
  return 0;
}

// Fault injection (syscall.h InjectFaults), process-local per map object:
// the injected error for a command of kind `op` (kFault*) on `map`, or 0.
// The check costs one relaxed load while no fault is pending.
extern std::atomic<bool> g_faults_pending;
int TakeInjectedFaultSlow(const Map* map, uint32_t op);
inline int TakeInjectedFault(const Map* map, uint32_t op) {
  if (!g_faults_pending.load(std::memory_order_relaxed)) return 0;
  return TakeInjectedFaultSlow(map, op);
}
// Drops `map`'s pending faults (its fd is being closed).
void ClearInjectedFaults(const Map* map);

// AttachMapFd without the fd table: validates the region open as `fd` and
// builds its Map object (the fd stays the caller's; the mapping does not
// need it). 0, or -EINVAL for a region that fails validation.
[[nodiscard]] int AttachMapObject(int fd, std::unique_ptr<Map>* out);

}  // namespace bpfemu::internal

#endif  // BPFEMU_EMU_SYSCALL_INTERNAL_H_
