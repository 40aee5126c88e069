// SPDX-License-Identifier: Apache-2.0
// File: sock_map.h
//
// Socket maps, mirroring net/core/sock_map.c (Linux 6.18):
// BPF_MAP_TYPE_SOCKMAP (sock_map_alloc, sock_map_update_common,
// __sock_map_delete, sock_map_lookup_sys, sock_map_get_next_key,
// sock_map_mem_usage) here, and BPF_MAP_TYPE_SOCKHASH as a HashMap mode
// (sock_hash_alloc's checks, a zero-seeded jhash, sock_hash_mem_usage).
//
// A slot holds a handle into this process's socket table, which keeps a
// duplicate of the socket's fd (so the socket stays open while a map holds
// it) and its cookie (SO_COOKIE, the value sock_map_lookup_sys returns).
//
// Semantics (sock_map_update_elem_sys first, then the map's own checks; the
// drop-in transcript compares them with 6.18):
//   * create: max_entries 0 or above INT_MAX, key_size other than 4 (SOCKMAP)
//     or 0 (SOCKHASH), value_size other than 4 and 8, flags other than
//     NUMA_NODE / RDONLY / WRONLY -> EINVAL; a SOCKHASH key above 512 bytes
//     -> E2BIG.
//   * update: the value is an fd (u64 when value_size is 8): above INT_MAX
//     -> EINVAL, not open -> EBADF, not a socket -> ENOTSOCK, a socket type
//     without sockmap support -> EOPNOTSUPP, a TCP socket neither
//     established nor listening, an unbound UDP socket or an unconnected
//     stream unix socket -> EOPNOTSUPP; then flags above BPF_EXIST ->
//     EINVAL, index >= max_entries -> E2BIG, a socket a reuseport array
//     holds (sk_psock_init finds sk_user_data set) -> EBUSY, BPF_NOEXIST on
//     a used slot -> EEXIST, BPF_EXIST on an empty one -> ENOENT.
//   * lookup: value_size 4 -> ENOSPC; empty -> ENOENT; else the cookie.
//   * SOCKMAP delete: index out of range or empty slot -> EINVAL.
//   * lookup_and_delete and batch commands -> ENOTSUPP.
//
// Differences from the kernel: closing the socket's last user fd does not
// remove it from the map (the table's duplicate keeps it open); delete it.

#ifndef BPFEMU_EMU_SOCK_MAP_H_
#define BPFEMU_EMU_SOCK_MAP_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "emu/hash_map.h"
#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

// include/uapi/linux/bpf.h enum sk_action.
inline constexpr long kSkDrop = 0;
inline constexpr long kSkPass = 1;

// A socket held by a map slot.
struct SocketRef {
  int fd = -1;          // this process's duplicate
  uint64_t cookie = 0;  // SO_COOKIE
  int family = 0, type = 0, protocol = 0;
  uint64_t ino = 0;  // sockfs inode
};

// sock_map_update_elem_sys()'s socket checks for user fd `ufd`: on success
// a new handle (>= 1) in this process's socket table, else -errno.
int64_t AcquireSocket(uint64_t ufd);
void ReleaseSocket(uint32_t handle);
// The socket behind `handle`, or false.
bool FindSocket(uint32_t handle, SocketRef* out);

// bpf_sk_redirect_map / bpf_msg_redirect_map (and the _hash forms) for the
// socket behind `handle`: SK_PASS, or SK_DROP when the flags, the slot or
// the socket's state do not allow it (sock_map_redirect_allowed).
long RedirectVerdict(uint32_t handle, uint64_t flags, bool msg);

// sock_map_alloc()'s checks, for SOCKMAP and SOCKHASH.
int SockMapAllocCheck(const MapAttr& attr);

// The syscall face both types share: sock_map_lookup_sys /
// sock_hash_lookup_sys (the socket's cookie; ENOSPC unless value_size is 8)
// and sock_map_update_elem_sys (the value is a socket fd, checked and
// acquired, then stored as its handle; the replaced socket is released).
[[nodiscard]] int SockLookupSys(Map& map, const void* key, void* value);
[[nodiscard]] int SockUpdateSys(Map& map, const void* key, const void* value,
                                uint64_t flags);

class SockMap : public Map {
 public:
  static const MapOps kOps;

  [[nodiscard]] int LookupElemSys(const void* key, void* value,
                                  uint64_t) override {
    return SockLookupSys(*this, key, value);
  }
  [[nodiscard]] int UpdateElemSys(const void* key, const void* value,
                                  uint64_t flags, int /*map_fd*/) override {
    return SockUpdateSys(*this, key, value, flags);
  }

  void* LookupElemProg(const void* key) override;
  // The handle in slot `key` (0 if empty), for the helpers.
  uint32_t HandleAt(uint32_t index) const {
    return index < max_entries() ? slots_[index].load(std::memory_order_acquire)
                                 : 0;
  }
  // Stores handle `*value` (already acquired by the syscall layer).
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  // The stored handle (4 bytes), for the syscall layer to translate.
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  [[nodiscard]] int UpdateElemProg(const void*, const void*,
                                   uint64_t) override {
    return -EOPNOTSUPP;
  }
  uint64_t MemUsage(const BuildProfile& build) const override;

 private:
  explicit SockMap(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  std::atomic<uint32_t>* slots_;
};

// BPF_MAP_TYPE_SOCKHASH (sock_hash_ops): HashMap's table keyed by any key,
// hashed with seed 0 (sock_hash_bucket_hash), whose values are socket
// handles. No lookup_and_delete and no batch ops (ENOTSUPP, measured on
// 6.18).
class SockHash final : public HashMap {
 public:
  static const MapOps kOps;

  [[nodiscard]] int LookupElemSys(const void* key, void* value,
                                  uint64_t) override {
    return SockLookupSys(*this, key, value);
  }
  [[nodiscard]] int UpdateElemSys(const void* key, const void* value,
                                  uint64_t flags, int /*map_fd*/) override {
    return SockUpdateSys(*this, key, value, flags);
  }
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int LookupAndDeleteElem(const void*, void*, uint64_t) override {
    return -kENOTSUPP;
  }
  [[nodiscard]] int LookupBatch(BatchArgs&) override { return -kENOTSUPP; }
  [[nodiscard]] int LookupAndDeleteBatch(BatchArgs&) override {
    return -kENOTSUPP;
  }
  [[nodiscard]] int UpdateBatch(BatchArgs&) override { return -kENOTSUPP; }
  [[nodiscard]] int DeleteBatch(BatchArgs&) override { return -kENOTSUPP; }
  uint64_t MemUsage(const BuildProfile& build) const override;

 private:
  friend class HashMap;  // AllocAs / AttachAs construct it
  explicit SockHash(ShmRegion region) : HashMap(std::move(region)) {}
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out) {
    return AllocAs<SockHash>(attr, nr_cpus, /*zero_seed=*/true, fd, out);
  }
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out) {
    return AttachAs<SockHash>(&SockMapAllocCheck, std::move(region), out);
  }
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_SOCK_MAP_H_
