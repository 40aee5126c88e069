// SPDX-License-Identifier: Apache-2.0
#include "emu/socket_probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

namespace bpfemu {
namespace {

// Whether `path` (a /proc fd link or a descriptor) names socket `ino`.
bool PathIsSocket(const char* path, uint64_t ino) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
         static_cast<uint64_t>(st.st_ino) == ino;
}

bool FdIsSocket(int fd, uint64_t ino) {
  struct stat st;
  return fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
         static_cast<uint64_t>(st.st_ino) == ino;
}

thread_local SocketOwner tls_owner;

std::atomic<SkUserDataQuery> sk_user_data_queries[2];

}  // namespace

bool RegisterSkUserData(SkUserData kind, SkUserDataQuery query) {
  sk_user_data_queries[static_cast<int>(kind)].store(query,
                                                     std::memory_order_release);
  return true;
}

bool SkUserDataHeldByOther(const SocketInfo& info, SkUserData self) {
  for (int k = 0; k < 2; ++k) {
    if (k == static_cast<int>(self)) continue;
    const SkUserDataQuery q =
        sk_user_data_queries[k].load(std::memory_order_acquire);
    if (q != nullptr && q(info)) return true;
  }
  return false;
}

SocketOwner CurrentSocketOwner() { return tls_owner; }

ScopedSocketOwner::ScopedSocketOwner(pid_t pid, int fd) : saved_(tls_owner) {
  tls_owner = SocketOwner{pid, fd};
}

ScopedSocketOwner::~ScopedSocketOwner() { tls_owner = saved_; }

int SocketIntOpt(int fd, int level, int name) {
  int v = 0;
  socklen_t len = sizeof(v);
  return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

int ProbeSocket(int fd, SocketInfo* out) {
  if (fd < 0 || fcntl(fd, F_GETFD) == -1) return -EBADF;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return -ENOTSOCK;
  out->type = SocketIntOpt(fd, SOL_SOCKET, SO_TYPE);
  if (out->type < 0) return -ENOTSOCK;
  out->family = SocketIntOpt(fd, SOL_SOCKET, SO_DOMAIN);
  out->protocol = SocketIntOpt(fd, SOL_SOCKET, SO_PROTOCOL);
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) cookie = 0;
  out->cookie = cookie;
  out->ino = static_cast<uint64_t>(st.st_ino);
  return 0;
}

bool IsTcpSocket(int family, int type, int protocol) {
  return (family == AF_INET || family == AF_INET6) && type == SOCK_STREAM &&
         protocol == IPPROTO_TCP;
}

bool IsUdpSocket(int family, int type, int protocol) {
  return (family == AF_INET || family == AF_INET6) && type == SOCK_DGRAM &&
         protocol == IPPROTO_UDP;
}

int TcpState(int fd) {
  tcp_info info = {};
  socklen_t len = sizeof(info);
  return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0
             ? info.tcpi_state
             : -1;
}

bool SocketConnected(int fd) {
  sockaddr_storage peer;
  socklen_t len = sizeof(peer);
  return getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0;
}

bool SocketHasLocalPort(int fd) {
  sockaddr_storage self = {};
  socklen_t len = sizeof(self);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) != 0) {
    return false;
  }
  // sin_port and sin6_port sit at the same offset.
  return reinterpret_cast<const sockaddr_in*>(&self)->sin_port != 0;
}

int SocketFdOf(pid_t pid, uint64_t ino, int hint) {
  const bool self = pid == 0 || pid == getpid();
  char path[64];
  if (hint >= 0) {
    if (self) {
      if (FdIsSocket(hint, ino)) return hint;
    } else {
      std::snprintf(path, sizeof(path), "/proc/%d/fd/%d", static_cast<int>(pid),
                    hint);
      if (PathIsSocket(path, ino)) return hint;
    }
  }
  char dir_path[32];
  if (self) {
    std::snprintf(dir_path, sizeof(dir_path), "/proc/self/fd");
  } else {
    std::snprintf(dir_path, sizeof(dir_path), "/proc/%d/fd",
                  static_cast<int>(pid));
  }
  DIR* dir = opendir(dir_path);
  if (dir == nullptr) return -1;
  const int dir_fd = dirfd(dir);
  int found = -1;
  while (const dirent* d = readdir(dir)) {
    char* end = nullptr;
    const long n = std::strtol(d->d_name, &end, 10);
    if (end == d->d_name || *end != '\0' || n == dir_fd) continue;
    const int fd = static_cast<int>(n);
    bool match;
    if (self) {
      match = FdIsSocket(fd, ino);
    } else {
      std::snprintf(path, sizeof(path), "%s/%d", dir_path, fd);
      match = PathIsSocket(path, ino);
    }
    if (match) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

void RecordSocket(const SocketInfo& info, int fd, SocketSlot* slot) {
  const SocketOwner owner = CurrentSocketOwner();
  const bool for_self = owner.pid == 0 || owner.pid == getpid();
  slot->ino = info.ino;
  slot->cookie = info.cookie;
  slot->pid = for_self ? getpid() : owner.pid;
  slot->fd = for_self ? fd : owner.fd;
}

int HeldSocketFd(const SocketSlot& slot, bool* self) {
  *self = slot.pid == getpid();
  return SocketFdOf(slot.pid, slot.ino, slot.fd);
}

namespace {
constexpr uint64_t kSlotArrayLockOffset = RoundUp(kBodyOffset, 64);
constexpr uint64_t kSlotArraySlotsOffset = kSlotArrayLockOffset + 64;
}  // namespace

SocketSlotArray::SocketSlotArray(ShmRegion region) : Map(std::move(region)) {
  lock_ = this->region().At<ShmMutex>(kSlotArrayLockOffset);
  slots_ = this->region().At<SocketSlot>(kSlotArraySlotsOffset);
}

uint64_t SocketSlotArray::RegionSize(uint32_t max_entries) {
  return kSlotArraySlotsOffset + uint64_t{max_entries} * sizeof(SocketSlot);
}

int SocketSlotArray::CreateRegion(const char* name, const MapAttr& attr,
                                  uint32_t nr_cpus, int* fd,
                                  ShmRegion* region) {
  const uint64_t region_size = RegionSize(attr.max_entries);
  if (int err = ShmRegion::Create(name, region_size, fd, region); err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, region_size,
             region->At<MapHeader>(0));
  return 0;
}

int SocketSlotArray::CheckAttached(int (*alloc_check)(const MapAttr&)) const {
  if (int err = CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = header();
  if (alloc_check(AttrFromHeader(h)) != 0 ||
      h.region_size != RegionSize(h.max_entries)) {
    return -EINVAL;
  }
  return 0;
}

}  // namespace bpfemu
