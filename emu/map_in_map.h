// SPDX-License-Identifier: Apache-2.0
// File: map_in_map.h
//
// The inner-map side of BPF_MAP_TYPE_HASH_OF_MAPS and ARRAY_OF_MAPS,
// mirroring kernel/bpf/map_in_map.c (Linux 6.18): the inner template taken
// at creation (bpf_map_meta_alloc), the check of an inner map against it
// (bpf_map_meta_equal, array_map_meta_equal), and the slot references
// (bpf_map_fd_get_ptr / bpf_map_fd_put_ptr). A slot stores the inner map's
// id, which is also what a syscall lookup returns (bpf_map_fd_sys_lookup_elem).
//
// These are the map-ops hooks of the two outer types: HashOfMaps
// (hash_of_maps.h) and FdArrayMap (ARRAY_OF_MAPS) call MapFdGetPtr when they
// store a caller's fd, and MapFdPutPtr whenever a slot lets go of an inner map
// (replaced, deleted one by one or by a batch), as the kernel's map_fd_get_ptr
// and map_fd_put_ptr are called from inside the outer map's ops.
//
// Slot references are shared by every process (issue 20: a pinned
// map-in-map keeps its inner maps after their creator exits). A map stored in
// a slot gets a hard link named by its id in the per-user by-id directory
// `<storage>/.byid-<euid>`, and its header counts the slots holding it
// (MapHeader::InnerMeta::slot_refs). The link keeps the map's file alive
// while any slot in any process holds it, as the kernel's bpf_map_inc in
// bpf_map_fd_get_ptr keeps the map; the last slot that lets go removes the
// link, and the file goes when no fd, pin or mapping holds it either. Every
// change of a count and its link happens under an flock() of the by-id
// directory, which the kernel drops when its holder dies. A map whose region
// cannot be linked (a memfd: no usable storage directory) is held by a
// process-local reference instead, as before.

#ifndef BPFEMU_EMU_MAP_IN_MAP_H_
#define BPFEMU_EMU_MAP_IN_MAP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "emu/map.h"

namespace bpfemu {

// bpf_map_meta_alloc(): the inner template from `inner_map_fd`. EBADF / EINVAL
// for an fd that is not a map, EINVAL for a map-in-map (one level only),
// ENOTSUPP for types without map_meta_equal (PROG_ARRAY).
[[nodiscard]] int MapMetaFromFd(int inner_map_fd, MapHeader::InnerMeta* meta);
// The same for a creation's attr.inner_map_fd: the map-in-map types'
// MapOps::meta_alloc.
[[nodiscard]] inline int MapMetaFromAttr(const MapAttr& attr,
                                         MapHeader::InnerMeta* meta) {
  return MapMetaFromFd(static_cast<int>(attr.inner_map_fd), meta);
}

// bpf_map_fd_get_ptr(): the u32 fd in `value` must be a map matching
// `outer`'s template (EBADF: not open; EINVAL: not a map, or a mismatch).
// On success *id is the inner map's id and the slot's reference is taken.
[[nodiscard]] int MapFdGetPtr(const Map& outer, const void* value,
                              uint32_t* id);

// bpf_map_fd_put_ptr(): drops one slot reference to the map with `id` (0:
// nothing). The last one releases the map unless an fd still holds it.
void MapFdPutPtr(uint32_t id);

// The inner map with `id` if a process-local slot reference (a memfd region)
// holds it, and a private fd of it (owned by the reference table: do not
// close) in *fd.
std::shared_ptr<Map> InnerMapFromId(uint32_t id, int* fd = nullptr);

// bpf_map_get_fd_by_id() for a map some slot holds through the by-id
// directory: a new read-write fd of its file (the caller attaches it), or
// -ENOENT (no slot holds it, or no usable storage directory).
[[nodiscard]] int OpenInnerById(uint32_t id);

// A map attached through OpenInnerById for the program face (MapFromId),
// kept until this process drops a slot reference to it; null if none.
std::shared_ptr<Map> CachedInnerMap(uint32_t id);
void CacheInnerMap(uint32_t id, std::shared_ptr<Map> map);

// Lifetimes. Every open file description of a map holds a shared flock()
// of its file (HoldMap, at creation and attach), which the kernel keeps
// while any process has the description open and drops when the last one
// closes or dies; an exclusive flock() taken without waiting on a new
// description therefore proves that no process holds the map open.
//   * An outer map whose slots hold shared references is linked into the
//     by-id directory too. When no pin names it and no description holds
//     it, it is dead: its slots are released (the kernel's map free puts
//     every inner map) and its link removed.
//   * An inner map whose count drops to 0 loses its link unless something
//     still holds it (Linux cannot link a file again once its last name is
//     gone, and the map may be stored in a slot again): then the holder's
//     close, or a sweep, removes the link. Meanwhile BPF_MAP_GET_FD_BY_ID
//     finds it, as the kernel finds any live map.
// This is checked after a process closes the fd of a linked map
// (ReleaseIfUnheld), after an unlink on the emulated bpffs, and at a
// process's first outer-map command (a sweep of the whole directory, which
// also recounts every inner map's references from the live outer maps'
// slots when no slot change is in flight, repairing what a process killed
// inside an update left).

// Reads the inner map ids in the slots of the outer map open as `fd`
// (syscall.cc attaches it); false if it is not a valid outer map.
using OuterSlotsReader = bool (*)(int fd, std::vector<uint32_t>* ids);
void SetOuterSlotsReader(OuterSlotsReader read);
// Takes the shared flock() that marks `fd`'s open file description of a map
// as a holder.
void HoldMap(int fd);
// After an fd of the linked map `id` was closed: releases it (an outer
// map's slots, an inner map's link) if nothing holds it any more.
void ReleaseIfUnheld(uint32_t id);
// Checks every outer map and link of the by-id directory.
void SweepByIdDirectory();

// Held by every command that may change an outer map's slots (update,
// delete, batches), from before its new reference to after the put of the
// replaced one: a shared flock() of <by-id>/.inflight, so that a sweep knows
// when it may recount the references. It also tells MapFdGetPtr the outer
// map's fd (`outer_fd`, the command's). Does nothing for other maps.
class OuterOpGuard {
 public:
  OuterOpGuard(const Map& map, int outer_fd);
  ~OuterOpGuard();
  OuterOpGuard(const OuterOpGuard&) = delete;
  OuterOpGuard& operator=(const OuterOpGuard&) = delete;

 private:
  int fd_ = -1;   // <by-id>/.inflight
  int dir_ = -1;  // the by-id directory, for the command's ByIdLocks
  int saved_outer_fd_ = -1;
  int saved_dir_ = -1;
  bool active_ = false;
};

// The number of slot references on map `id`: the shared count of a linked
// map (any process's slots), else this process's (tests: the references
// stay balanced).
int InnerMapRefCount(uint32_t id);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_MAP_IN_MAP_H_
