// SPDX-License-Identifier: Apache-2.0
// File: reuseport_array.h
//
// BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, mirroring kernel/bpf/reuseport_array.c
// (reuseport_array_alloc_check, bpf_fd_reuseport_array_update_elem and its
// reuseport_array_update_check, bpf_fd_reuseport_array_lookup_elem,
// reuseport_array_delete_elem, reuseport_array_get_next_key,
// reuseport_array_mem_usage) and the socket side in
// net/core/sock_reuseport.c (bpf_sk_reuseport_detach, called when the
// socket is unhashed: closed, or a listener shut down).
//
// Region: the header, a cache line holding the slots' ShmMutex (the
// kernel's reuseport_lock), then max_entries 24-byte slots
// {u64 inode, u64 cookie, s32 pid, s32 fd}: the socket's sockfs inode (0:
// empty), its SO_COOKIE, the process that stored it and the descriptor it
// stored it through. The map keeps no reference on the socket, as the
// kernel's array keeps none: the socket leaves its slot when it is closed.
// bpfemu observes that when it next reads the slot (socket_probe.h,
// SocketFdOf): a socket no descriptor of its process refers to any more, a
// TCP socket no longer listening or a UDP socket no longer bound, has been
// unhashed, and its slot is emptied then.
//
// Semantics (6.18; the conformance suite compares them with the kernel):
//   * create: value_size other than 4 and 8, then array_map_alloc_check:
//     max_entries 0, key_size other than 4, flags other than NUMA_NODE /
//     RDONLY / WRONLY / RDONLY_PROG / WRONLY_PROG -> EINVAL.
//   * update: flags above BPF_EXIST -> EINVAL; index >= max_entries ->
//     E2BIG; a u64 fd above INT_MAX -> EINVAL; fd not open -> EBADF, not a
//     socket -> ENOTSOCK; BPF_NOEXIST on a used slot -> EEXIST, BPF_EXIST
//     on an empty one -> ENOENT; a socket other than TCP or UDP over IPv4
//     or IPv6 -> ENOTSUPP (524); not hashed in a reuseport group (TCP not
//     listening, UDP not bound, SO_REUSEPORT not set) -> EINVAL; a socket
//     already in a reuseport array or a socket map (sk_user_data set) ->
//     EBUSY, even in the slot being updated.
//   * lookup: value_size 4 -> ENOSPC; index out of range or empty slot ->
//     ENOENT; else the socket's cookie (u64).
//   * delete: index >= max_entries -> E2BIG; empty -> ENOENT.
//   * get_next_key: the array's order; lookup_and_delete and batch
//     commands -> ENOTSUPP (none in reuseport_array_ops).
//   * memlock: sizeof(struct reuseport_array) + 8 * max_entries (build
//     profile `reuseport_array`).
//
// Differences from the kernel: whether a socket joined a reuseport group is
// judged from SO_REUSEPORT as it is now (the kernel records it when the
// socket is hashed: a flag set after listen() or bind() leaves it out of
// any group). A socket's membership of an array (its sk_user_data) is
// known to the process that stored it, while that process has the map
// open; a socket stored by another process is live while that process has
// a descriptor on it (/proc/<pid>/fd, same user). A socket that a SOCKMAP
// or SOCKHASH holds (its psock is sk_user_data too) is EBUSY as well, as
// far as this process's socket maps hold it.

#ifndef BPFEMU_EMU_REUSEPORT_ARRAY_H_
#define BPFEMU_EMU_REUSEPORT_ARRAY_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"
#include "emu/socket_probe.h"

namespace bpfemu {

class ReuseportArray final : public SocketSlotArray {
 public:
  static const MapOps kOps;

  // reuseport_array_free(): this process forgets which of its sockets the
  // map holds (their sk_user_data is cleared).
  ~ReuseportArray() override;

  // bpf_fd_reuseport_array_lookup_elem: the socket's cookie.
  [[nodiscard]] int LookupElemSys(const void* key, void* value,
                                  uint64_t flags) override {
    return LookupElem(key, value, flags);
  }
  // bpf_fd_reuseport_array_update_elem: `value` is a socket fd.
  [[nodiscard]] int UpdateElemSys(const void* key, const void* value,
                                  uint64_t flags, int /*map_fd*/) override {
    return UpdateElem(key, value, flags);
  }
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  // Programs reach the array only through bpf_sk_select_reuseport.
  [[nodiscard]] int DeleteElemProg(const void*) override { return -EOPNOTSUPP; }
  uint64_t MemUsage(const BuildProfile& build) const override;

  // Whether slot `index` names socket `ino` (live or not).
  bool Holds(uint32_t index, uint64_t ino) const;

  // The cookie of the live socket in slot `index`, or 0 (for
  // bpf_sk_select_reuseport and tests).
  uint64_t CookieAt(uint32_t index);
  // A descriptor of this process on the live socket in slot `index`, or -1
  // (empty, closed, or held by another process) - for
  // bpf_sk_select_reuseport, which compares its group with the hook's.
  int SocketFdAt(uint32_t index);

 private:
  explicit ReuseportArray(ShmRegion region);
  static int AllocCheck(const MapAttr& attr);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  // Whether slot `index` holds a socket that is still hashed; a slot whose
  // socket is gone is emptied (bpf_sk_reuseport_detach) unless the region
  // is read-only. REQUIRES: the lock, unless read-only. *copy gets the slot.
  bool SlotLive(uint32_t index, SocketSlot* copy);
  void ClearSlot(uint32_t index);
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_REUSEPORT_ARRAY_H_
