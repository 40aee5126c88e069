// SPDX-License-Identifier: Apache-2.0
// File: syscall.h
//
// The emulated bpf(2) syscall for maps, mirroring kernel/bpf/syscall.c
// (Linux 6.18): BPF_MAP_CREATE and the element commands, addressed by file
// descriptor. Every function returns what sys_bpf() returns, as a value: a new
// fd or 0 on success, a negative errno on failure (errno is never touched).
//
// Map fds are real descriptors of the process (each map's memfd, see shm.h),
// so they never collide with other files, survive fork(), and are passed to
// other processes like any fd. A process-local table maps each fd to its Map
// and the fd's access mode (BPF_F_RDONLY / BPF_F_WRONLY at creation).
// Close map fds with CloseFd(): a raw close() leaves a stale table entry.
//
// Example:
//
//   bpfemu::MapAttr attr{.map_type = BPF_MAP_TYPE_HASH, .key_size = 4,
//                        .value_size = 8, .max_entries = 16};
//   int fd = bpfemu::MapCreate(attr);               // >= 0, or -errno
//   uint32_t k = 1; uint64_t v = 42;
//   int err = bpfemu::MapUpdateElem(fd, &k, &v, BPF_NOEXIST);   // 0
//   err = bpfemu::MapUpdateElem(fd, &k, &v, BPF_NOEXIST);       // -EEXIST
//   bpfemu::CloseFd(fd);
//
// Privileges: bpfemu answers as the kernel answers root (CAP_SYS_ADMIN,
// CAP_BPF), whoever runs it.

#ifndef BPFEMU_EMU_SYSCALL_H_
#define BPFEMU_EMU_SYSCALL_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "emu/map.h"

namespace bpfemu {

// BPF_MAP_CREATE (map_create): validates in the kernel's order and returns a
// new O_CLOEXEC fd, or -errno.
[[nodiscard]] int MapCreate(const MapAttr& attr);

// BPF_MAP_LOOKUP_ELEM (map_lookup_elem); flags: 0 or BPF_F_LOCK.
[[nodiscard]] int MapLookupElem(int fd, const void* key, void* value,
                                uint64_t flags = 0);
// BPF_MAP_UPDATE_ELEM (map_update_elem); flags: BPF_ANY, BPF_NOEXIST,
// BPF_EXIST, optionally | BPF_F_LOCK.
[[nodiscard]] int MapUpdateElem(int fd, const void* key, const void* value,
                                uint64_t flags);
// BPF_MAP_DELETE_ELEM (map_delete_elem).
[[nodiscard]] int MapDeleteElem(int fd, const void* key);
// BPF_MAP_GET_NEXT_KEY (map_get_next_key); key NULL: the first key.
[[nodiscard]] int MapGetNextKey(int fd, const void* key, void* next_key);
// BPF_MAP_LOOKUP_AND_DELETE_ELEM (map_lookup_and_delete_elem).
[[nodiscard]] int MapLookupAndDeleteElem(int fd, const void* key, void* value,
                                         uint64_t flags = 0);

// The batch commands (bpf_map_do_batch), shaped like libbpf's wrappers.
// *count is the capacity on entry and, on return, what the kernel leaves in
// attr.batch.count: the number processed, or the input unchanged where the
// kernel does not write it (EINVAL flags, ENOTSUPP, count 0). Hash maps use a
// u32 bucket cursor in in_batch / out_batch, arrays a key. A NULL count is
// EFAULT.
[[nodiscard]] int MapLookupBatch(int fd, const void* in_batch, void* out_batch,
                                 void* keys, void* values, uint32_t* count,
                                 uint64_t elem_flags = 0, uint64_t flags = 0);
[[nodiscard]] int MapLookupAndDeleteBatch(int fd, const void* in_batch,
                                          void* out_batch, void* keys,
                                          void* values, uint32_t* count,
                                          uint64_t elem_flags = 0,
                                          uint64_t flags = 0);
[[nodiscard]] int MapUpdateBatch(int fd, const void* keys, const void* values,
                                 uint32_t* count, uint64_t elem_flags = 0,
                                 uint64_t flags = 0);
[[nodiscard]] int MapDeleteBatch(int fd, const void* keys, uint32_t* count,
                                 uint64_t elem_flags = 0, uint64_t flags = 0);

// BPF_MAP_FREEZE (map_freeze): makes the map read-only for the syscall
// side, for every fd of it in every process (the state lives in the
// region's MapHeader). Afterwards update, delete, lookup_and_delete and the
// update / delete / lookup_and_delete batches answer EPERM (before any other
// check that follows the fd); lookups, get_next_key and lookup batches work;
// programs still write (unless the map is BPF_F_RDONLY_PROG, which the
// kernel's verifier enforces at load). Returns 0 or -errno: EBADF (not
// open), EINVAL (not a map), ENOTSUPP (a value with a spin lock), EPERM (an
// fd without write access, or already frozen: the frozen map gives no fd
// write access), EBUSY (a writable user mmap of the map exists in some
// process, see MapMmap). Measured on 6.18.
[[nodiscard]] int MapFreeze(int fd);
// fdinfo's "frozen:" field: 1 or 0, or -EBADF / -EINVAL.
[[nodiscard]] int MapFrozen(int fd);

// mmap() of a map fd (bpf_map_mmap behind do_mmap), for
// BPF_MAP_TYPE_RINGBUF and BPF_F_MMAPABLE arrays. Checks in the kernel's
// order: offset not page-aligned or length 0 -> EINVAL; MAP_SHARED with
// PROT_WRITE on a fd without write access -> EACCES; a fd without read
// access -> EACCES; PROT_EXEC -> EPERM; a type without mmap (hash, per-CPU
// array, ...) or a value with a spin lock -> ENOTSUPP; MAP_PRIVATE, or any
// mapping through a read-only fd -> EINVAL; PROT_WRITE on a frozen map ->
// EPERM, on a BPF_F_RDONLY_PROG map -> EACCES; then the type's rules.
// Arrays: not BPF_F_MMAPABLE -> EINVAL; user offset 0 is element 0, each
// element round_up(value_size, 8) bytes; offset + length (page-rounded)
// beyond the page-rounded value area -> EINVAL. Rings: user offset 0 is the
// consumer page (writable only as exactly that one page, else EPERM),
// offset 4096 the producer page, then the data area twice; beyond -> EINVAL.
// Writes through the mapping are the map's memory (visible to lookups, and
// updates are visible through it). Read-only mappings cannot be made
// writable later (mprotect: EACCES). A writable mapping, until munmap(),
// makes MapFreeze answer EBUSY. Only the mapping type of `flags` is used
// (the address is chosen by the kernel). Returns the address, or nullptr
// with *err = -errno. Unmap with munmap().
void* MapMmap(int fd, size_t length, int prot, int flags, uint64_t offset,
              int* err);
// MapMmap with the caller's address `addr` (a hint, or with MAP_FIXED the
// address), which an ARENA map's user range depends on (emu/arena.h).
void* MapMmapAt(int fd, void* addr, size_t length, int prot, int flags,
                uint64_t offset, int* err);

// Fault injection, for testing error branches: the next `count` operations
// of the kinds in `ops` on the map behind `fd` (in this process, through
// this API) fail with `err` (a negative errno such as -ENOMEM, -E2BIG,
// -EBUSY) instead of running. A fault takes the place of the map type's
// operation: the syscall layer's checks (lookup flags, fd, permissions,
// NULL pointers) still run first and answer as the kernel does, while the
// type's own checks (e.g. update flags) are replaced. A new call replaces
// the pending faults; count 0 clears them; closing the fd drops them.
// Returns 0, or -EBADF / -EINVAL for a bad fd.
enum FaultOps : uint32_t {
  kFaultLookup = 1 << 0,
  kFaultUpdate = 1 << 1,
  kFaultDelete = 1 << 2,
  kFaultGetNextKey = 1 << 3,
  kFaultLookupAndDelete = 1 << 4,
  kFaultBatch = 1 << 5,
  kFaultAll = 0x3f,
};
int InjectFaults(int fd, uint32_t ops, int count, int err);

// BPF_OBJ_PIN (bpf_obj_pin, kernel/bpf/inode.c) on the emulated bpffs
// (bpffs.h): 0 or -errno. Measured on 6.18: a path that exists -> EEXIST
// (also the mount point itself), a missing parent -> ENOENT, a parent that is
// a file -> ENOTDIR, outside the bpffs -> EPERM, empty -> ENOENT, an fd that
// is not a map (or not open) -> EINVAL. Program fds cannot be pinned
// (EOPNOTSUPP: their code lives in this process).
[[nodiscard]] int ObjPin(int fd, const char* path);
// BPF_OBJ_GET: a new fd for the pinned map at `path`, or -errno: missing ->
// ENOENT, a directory or any file that is not a pinned map -> EACCES;
// file_flags 0, BPF_F_RDONLY or BPF_F_WRONLY (else EINVAL).
[[nodiscard]] int ObjGet(const char* path, uint32_t file_flags = 0);

// struct bpf_map_info as Linux 6.18 lays it out (104 bytes; Debian's 6.1
// UAPI header stops at map_extra, 88 bytes).
struct BpfMapInfo {
  uint32_t type, id, key_size, value_size, max_entries, map_flags;
  char name[BPF_OBJ_NAME_LEN];
  uint32_t ifindex, btf_vmlinux_value_type_id;
  uint64_t netns_dev, netns_ino;
  uint32_t btf_id, btf_key_type_id, btf_value_type_id, btf_vmlinux_id;
  uint64_t map_extra;
  uint64_t hash;
  uint32_t hash_size, pad;
};
static_assert(sizeof(BpfMapInfo) == 104);
// BPF_OBJ_GET_INFO_BY_FD for a map (bpf_map_get_info_by_fd): copies
// min(*info_len, 104) bytes and stores that length back; a longer buffer
// must be zero beyond 104 bytes (E2BIG).
[[nodiscard]] int MapGetInfoByFd(int fd, void* info, uint32_t* info_len);
// BPF_MAP_GET_FD_BY_ID: a new fd for a map this process holds open, or
// -ENOENT; open_flags as ObjGet's file_flags.
[[nodiscard]] int MapGetFdById(uint32_t id, uint32_t open_flags = 0);
// BPF_MAP_GET_NEXT_ID over the maps this process holds open: the smallest
// id above `start_id`, -ENOENT if none, -EINVAL for start_id >= INT_MAX.
[[nodiscard]] int MapGetNextId(uint32_t start_id, uint32_t* next_id);

// The map's memlock charge (fdinfo "memlock:", Map::Memlock), or -errno.
[[nodiscard]] int64_t MapMemlock(int fd);

// What is left to do once a forgotten descriptor is closed.
struct ClosingFd {
  // The map's id if its file has a name (a pin, a by-id link; else 0), for
  // ReleaseIfUnheld (map_in_map.h).
  uint32_t linked = 0;
  // The map's map_release work (Map::ReleaseFile), or empty.
  std::function<void()> release;
  // Runs both; call it after close(2).
  void Finish();
};

// Drops `fd` from the map and program tables without closing it: what a
// close() of the descriptor must do (the libbpf-compatible layer's close()
// calls it). Close the descriptor, then call Finish() on the result.
[[nodiscard]] ClosingFd ForgetFd(int fd);

// Another table of objects that fds hold, kept by a library above this one
// (emu/cgroup_attach.h's cgroup links): ForgetFd() passes every fd to
// `forget` too. At most four are registered.
void AddFdForgetter(bool (*forget)(int fd));

// Closes a map or program fd; a map is released once no fd (in any process) and
// no Map reference remain. Returns 0 or -errno from close(2).
int CloseFd(int fd);

// The Map behind an fd of this process, or nullptr if `fd` is not a map fd.
// The reference keeps the map's memory mapped even after CloseFd.
std::shared_ptr<Map> MapFromFd(int fd);

// The map with `id` among those this process holds (by fd, or through a
// map-in-map slot), or nullptr.
std::shared_ptr<Map> MapFromId(uint32_t id);

// Adopts a map fd that did not come from MapCreate in this process (received
// over a socket, or opened through /proc/PID/fd): maps the region, checks its
// header and registers the fd. Returns 0 or -errno (-EINVAL: not a map).
[[nodiscard]] int AttachMapFd(int fd, bool readable = true,
                              bool writable = true);

// fcntl(F_DUPFD_CLOEXEC, min_fd) of a map fd: the copy refers to the same
// map with the same access (BPF_F_RDONLY / WRONLY), as a dup of a kernel
// map fd shares its struct file. The new fd, or -errno.
[[nodiscard]] int DupMapFd(int fd, int min_fd);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_SYSCALL_H_
