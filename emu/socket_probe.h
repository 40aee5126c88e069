// SPDX-License-Identifier: Apache-2.0
// File: socket_probe.h
//
// What the socket-holding map families (sock_map.h, reuseport_array.h,
// xsk_map.h) learn about a real socket from userspace, in place of the
// `struct sock` fields the kernel reads: family, type and protocol
// (sk_family, sk_type, sk_protocol through SO_DOMAIN / SO_TYPE /
// SO_PROTOCOL), the cookie (__sock_gen_cookie through SO_COOKIE), the TCP
// state (sk_state through TCP_INFO), whether it is bound, connected, or
// marked SO_REUSEPORT, and its sockfs inode number, which names the socket
// for as long as it exists.
//
// A map that does not keep the socket open (the kernel's reuseport and XSK
// maps drop the socket when it is closed: bpf_sk_reuseport_detach from
// net/core/sock_reuseport.c, xsk_delete_from_maps from net/xdp/xsk.c) finds
// it again by inode among a process's open descriptors (SocketFdOf): a
// socket no descriptor of its process refers to any more has been closed.

#ifndef BPFEMU_EMU_SOCKET_PROBE_H_
#define BPFEMU_EMU_SOCKET_PROBE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

// A socket as sockfd_lookup() finds it behind a user fd.
struct SocketInfo {
  int family = 0, type = 0, protocol = 0;
  uint64_t cookie = 0;  // SO_COOKIE
  uint64_t ino = 0;     // the sockfs inode (fstat st_ino)
};

// sockfd_lookup(fd): 0 and *out filled, -EBADF for an fd that is not open
// (negative included), -ENOTSOCK for an open file that is not a socket.
int ProbeSocket(int fd, SocketInfo* out);

// getsockopt(fd, level, name) of an int option, or -1.
int SocketIntOpt(int fd, int level, int name);

bool IsTcpSocket(int family, int type, int protocol);
bool IsUdpSocket(int family, int type, int protocol);

// TCP state from TCP_INFO (include/net/tcp_states.h numbering), or -1.
int TcpState(int fd);
inline constexpr int kTcpEstablished = 1, kTcpListen = 10;

// Whether the socket has a peer (getpeername succeeds).
bool SocketConnected(int fd);
// Whether an inet socket has a local port (bound explicitly or by connect:
// inet_num != 0, what hashes a UDP socket).
bool SocketHasLocalPort(int fd);

// A descriptor of process `pid` (0: this one) open on the socket with inode
// `ino`, or -1 when it has none (the socket was closed, or the process is
// gone). `hint`, a descriptor it had before, is tried first. The number is
// only usable as a descriptor when pid is 0 or this process.
int SocketFdOf(pid_t pid, uint64_t ino, int hint);

// The process on whose behalf this thread stores sockets, and the
// descriptor number the socket has there: `bpfemu exec`'s dispatcher serves
// another process's bpf() calls with a duplicate of that process's fd
// (pidfd_getfd), which it closes afterwards, so a map that finds its
// sockets by descriptor (SocketFdOf) must look in the caller's table.
struct SocketOwner {
  pid_t pid = 0;  // 0: this process
  int fd = -1;
};
// The owner set on this thread, or {0, -1}.
SocketOwner CurrentSocketOwner();
class ScopedSocketOwner {
 public:
  ScopedSocketOwner(pid_t pid, int fd);
  ~ScopedSocketOwner();
  ScopedSocketOwner(const ScopedSocketOwner&) = delete;
  ScopedSocketOwner& operator=(const ScopedSocketOwner&) = delete;

 private:
  SocketOwner saved_;
};

// sk->sk_user_data, which one user at a time may set: a reuseport array
// holding the socket, or a socket map's psock (sk_psock_init). A second
// user is refused with EBUSY (reuseport_array_update_check, sk_psock_init).
// Each family registers a query answering whether it holds a socket.
enum class SkUserData { kReuseport = 0, kPsock = 1 };
using SkUserDataQuery = bool (*)(const SocketInfo& info);
// Returns true, for use in a namespace-scope initializer.
bool RegisterSkUserData(SkUserData kind, SkUserDataQuery query);
// Whether a user other than `self` has set the socket's sk_user_data.
bool SkUserDataHeldByOther(const SocketInfo& info, SkUserData self);

// A socket that a map slot names without keeping it open (shared memory):
// the sockfs inode (0: empty slot), its cookie, and the process and
// descriptor number that held it when it was stored.
struct SocketSlot {
  uint64_t ino;
  uint64_t cookie;
  int32_t pid;
  int32_t fd;
};
static_assert(sizeof(SocketSlot) == 24);

// Fills *slot for socket `info`, reached through `fd` of this process, on
// behalf of CurrentSocketOwner().
void RecordSocket(const SocketInfo& info, int fd, SocketSlot* slot);

// A descriptor on the slot's socket in the process that stored it, or -1
// when that process no longer has one (the socket was closed). *self tells
// whether the descriptor is this process's (usable) or the owner's.
int HeldSocketFd(const SocketSlot& slot, bool* self);

// The region shape REUSEPORT_SOCKARRAY and XSKMAP share: the map header, a
// process-shared lock on its own cache line, then max_entries SocketSlots.
// The kernel's maps are arrays of socket pointers
// (kernel/bpf/reuseport_array.c, net/xdp/xskmap.c); slots name sockets by
// inode and are looked up, never followed.
class SocketSlotArray : public Map {
 public:
  // Programs get no value from either array: the reuseport array has no
  // program lookup (programs use bpf_sk_select_reuseport), XSKMAP's gives a
  // struct bpf_xdp_sock, which is not modelled (programs use
  // bpf_redirect_map); the verifier refuses updates from programs.
  void* LookupElemProg(const void*) override { return nullptr; }
  [[nodiscard]] int UpdateElemProg(const void*, const void*,
                                   uint64_t) override {
    return -EOPNOTSUPP;
  }

 protected:
  explicit SocketSlotArray(ShmRegion region);
  // The map's region for `attr`, whose create checks passed: 0 or -errno.
  static int CreateRegion(const char* name, const MapAttr& attr,
                          uint32_t nr_cpus, int* fd, ShmRegion* region);
  // An attached region, validated before use: the generic header checks,
  // `alloc_check` on the header's attributes and the region size
  // recomputed from them. 0 or -EINVAL.
  int CheckAttached(int (*alloc_check)(const MapAttr&)) const;

  ShmMutex* lock_;
  SocketSlot* slots_;

 private:
  static uint64_t RegionSize(uint32_t max_entries);
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_SOCKET_PROBE_H_
