// SPDX-License-Identifier: Apache-2.0
// File: local_storage.h
//
// LocalStorageMap mirrors the local storage maps of Linux 6.12 / 6.18:
// kernel/bpf/bpf_local_storage.c (the shared core: create checks, update
// flags, the per-owner element), with one MapOps table per owner kind:
//
//   BPF_MAP_TYPE_SK_STORAGE     net/core/bpf_sk_storage.c    owner: a socket
//   BPF_MAP_TYPE_TASK_STORAGE   kernel/bpf/bpf_task_storage.c  owner: a task
//   BPF_MAP_TYPE_INODE_STORAGE  kernel/bpf/bpf_inode_storage.c owner: an inode
//   BPF_MAP_TYPE_CGRP_STORAGE   kernel/bpf/bpf_cgrp_storage.c  owner: a cgroup
//                               (6.2 on: a 6.1 target refuses the type)
//
// The key userspace passes is a 4-byte fd of the calling process, which
// names the owner object, as the kernel's syscall ops resolve it:
//   * SK_STORAGE: sockfd_lookup(): a socket, identified by its SO_COOKIE
//     (unique for the socket's life, never reused). A closed fd is EBADF, a
//     descriptor that is not a socket ENOTSOCK.
//   * TASK_STORAGE: pidfd_get_pid() + pid_task(): a pidfd, identified by the
//     pid and the task's start time (/proc/<pid>/stat), so a recycled pid is
//     another owner. A closed fd or a non-pidfd is EBADF; a reaped task
//     ("Pid: -1" in the pidfd's fdinfo) ENOENT.
//   * INODE_STORAGE: fdget_raw() + file_inode(): any open fd (O_PATH too),
//     identified by st_dev and st_ino. A closed fd is EBADF.
//   * CGRP_STORAGE: cgroup_v1v2_get_from_fd(): a cgroup2 directory
//     (emu/cgroup.h), identified by its cgroup id; any other fd is EBADF
//     (the kernel also takes a cgroup v1 directory, which bpfemu refuses).
//
// The storage of an object the caller can no longer name (a closed socket,
// a reaped task, an evicted inode) can never be reached again, from
// userspace or from the emulated programs: exactly what the kernel's freeing
// of it shows. Its slot is kept until the map is freed, except that a full
// map first drops the slots of tasks that no longer exist (the only owner
// kind whose death userspace can test); a map that is still full answers
// ENOMEM, the kernel's answer when an element cannot be allocated. The
// capacity is bounded by the region (kRegionBudget): at least 1024 owners,
// at most 65536 (docs/semantics.md, "Local storage").
//
// Programs reach the storage by owner identity (GetByOwner, DeleteByOwner:
// native/helpers.cc bpf_task_storage_get / delete, with the calling thread
// as bpf_get_current_task_btf's task; bpf_sk_storage_get / delete on a
// packet test run's own socket).
//
// Commands: lookup (BPF_F_LOCK), update (BPF_ANY / BPF_NOEXIST / BPF_EXIST,
// with BPF_F_LOCK), delete; get_next_key is ENOTSUPP (notsupp_get_next_key),
// as are lookup_and_delete and the batch commands (no ops). SK_STORAGE
// charges its elements to the socket's option memory
// (bpf_sk_storage_charge): an element that would reach
// net.core.optmem_max is ENOMEM, including the transient second element an
// update without BPF_F_LOCK allocates before freeing the old one.
//
// Creation (bpf_local_storage_map_alloc_check): flags other than
// BPF_F_NO_PREALLOC and BPF_F_CLONE, no BPF_F_NO_PREALLOC, max_entries not
// 0, key_size not 4, value_size 0, or no btf_key_type_id /
// btf_value_type_id are EINVAL; value_size above
// BPF_LOCAL_STORAGE_MAX_VALUE_SIZE (65407 on x86-64) E2BIG. map_check_btf
// wants a 32-bit int key (emu/btf.cc); the value may hold a bpf_spin_lock.
//
// Layout (after MapHeader): a Body (the map's mutex, a sequence count,
// counters), then `capacity` slots of an open-addressing table keyed by the
// owner's identity: {state, charge, id[2]} and the value, 8-aligned. Only
// the header is backed at create; each slot's pages are backed at its first
// use (ENOMEM when they cannot be). Geometry is recomputed from the header
// copy at attach.

#ifndef BPFEMU_EMU_LOCAL_STORAGE_H_
#define BPFEMU_EMU_LOCAL_STORAGE_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

// BPF_LOCAL_STORAGE_MAX_VALUE_SIZE (include/linux/bpf_local_storage.h):
// U16_MAX - sizeof(struct bpf_local_storage_elem) (128 on x86-64), below the
// KMALLOC_MAX_SIZE bound.
inline constexpr uint32_t kLocalStorageMaxValueSize = 65535 - 128;

class LocalStorageMap final : public Map {
 public:
  enum class OwnerKind : uint8_t { kSocket, kTask, kInode, kCgroup };

  static const MapOps kSkStorageOps;
  static const MapOps kTaskStorageOps;
  static const MapOps kInodeStorageOps;
  static const MapOps kCgrpStorageOps;

  // bpf_local_storage_map_alloc_check().
  static int AllocCheck(const MapAttr& attr);

  // The identity of an owner object (a socket cookie; a pid and its start
  // time; a device and inode number; a cgroup id).
  struct Owner {
    uint64_t a = 0;
    uint64_t b = 0;
    bool operator==(const Owner&) const = default;
  };
  // Resolves the caller's fd `fd` to the owner of `kind`, with the errno
  // the kernel's fd lookup answers.
  static int OwnerFromFd(OwnerKind kind, int fd, Owner* out);
  // The owner identity of the task (thread) `tid` of this pid namespace:
  // 0, or -ENOENT when it does not exist.
  static int TaskOwner(long tid, Owner* out);

  // bpf_local_storage_map_mem_usage(): the struct and its buckets (the
  // elements are not counted).
  uint64_t MemUsage(const BuildProfile& build) const override;

  // The syscall face: `key` is the caller's fd.
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  void* LookupElemProg(const void* key) override;

  // The program face (bpf_sk_storage_get, bpf_task_storage_get, ...): by
  // owner identity rather than fd. Get returns the value in the map, or
  // nullptr; with `create` a missing element is made from `init` (zeroes
  // when null) as BPF_LOCAL_STORAGE_GET_F_CREATE does.
  void* GetByOwner(const Owner& owner, const void* init, bool create);
  // bpf_*_storage_delete: 0 or -ENOENT.
  int DeleteByOwner(const Owner& owner);
  OwnerKind kind() const { return kind_; }

 private:
  struct Body;
  struct Geometry {
    uint32_t capacity;   // slots, a power of two
    uint32_t slot_size;  // bytes per slot, 8-aligned
    uint64_t slots_off;  // region offset of slot 0
    uint64_t region_size;
  };
  static Geometry GeometryFor(const MapAttr& attr);
  static OwnerKind KindFor(uint32_t map_type);

  LocalStorageMap(ShmRegion region, const Geometry& g, OwnerKind kind);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  uint8_t* SlotAt(uint32_t index) const;
  // The live slot of `owner`, or -1. Caller holds the mutex (or reads
  // under the sequence count).
  int64_t Find(const Owner& owner) const;
  // A free slot for `owner` (backed), or a negative errno. Caller holds
  // the mutex.
  int64_t Claim(const Owner& owner);
  void Release(uint32_t index);
  // Drops the slots of tasks that no longer exist; the number dropped.
  uint32_t SweepDeadTasks();
  int Update(const Owner& owner, const void* value, uint64_t flags);
  int Delete(const Owner& owner);
  int LookupReadOnly(const Owner& owner, void* value, uint64_t flags) const;

  Body* body_;
  Geometry geometry_;
  OwnerKind kind_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_LOCAL_STORAGE_H_
