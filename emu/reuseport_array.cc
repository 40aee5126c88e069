// SPDX-License-Identifier: Apache-2.0
#include "emu/reuseport_array.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "emu/array_map.h"
#include "emu/errno.h"
#include "emu/local_mutex.h"
#include "emu/socket_probe.h"

namespace bpfemu {
namespace {

// sk->sk_user_data of this process's sockets that a reuseport array holds:
// socket inode -> the array (a Map of this process) and the slot.
class Membership {
 public:
  static Membership& Get() {
    static auto* m = new Membership;
    return *m;
  }
  LocalMutex& mu() { return mu_; }
  absl::flat_hash_map<uint64_t, std::pair<const ReuseportArray*, uint32_t>>&
  entries() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return entries_;
  }

 private:
  LocalMutex mu_;
  absl::flat_hash_map<uint64_t, std::pair<const ReuseportArray*, uint32_t>>
      entries_ ABSL_GUARDED_BY(mu_);
};

// Forgets that `map` holds socket `ino` in slot `index`.
void Forget(const ReuseportArray* map, uint64_t ino, uint32_t index) {
  Membership& m = Membership::Get();
  LocalMutexLock l(&m.mu());
  auto it = m.entries().find(ino);
  if (it != m.entries().end() && it->second.first == map &&
      it->second.second == index) {
    m.entries().erase(it);
  }
}

// Whether a reuseport array of this process holds socket `info`.
bool HeldByReuseportArray(const SocketInfo& info);

[[maybe_unused]] const bool kRegistered =
    RegisterSkUserData(SkUserData::kReuseport, &HeldByReuseportArray);

}  // namespace

bool ReuseportArray::Holds(uint32_t index, uint64_t ino) const {
  return slots_[index].ino == ino;
}

namespace {

bool HeldByReuseportArray(const SocketInfo& info) {
  Membership& m = Membership::Get();
  LocalMutexLock l(&m.mu());
  auto it = m.entries().find(info.ino);
  return it != m.entries().end() &&
         it->second.first->Holds(it->second.second, info.ino);
}

}  // namespace

const MapOps ReuseportArray::kOps = {&ReuseportArray::AllocCheck,
                                     &ReuseportArray::Alloc,
                                     &ReuseportArray::Attach};

ReuseportArray::ReuseportArray(ShmRegion region)
    : SocketSlotArray(std::move(region)) {}

ReuseportArray::~ReuseportArray() {
  Membership& m = Membership::Get();
  LocalMutexLock l(&m.mu());
  absl::erase_if(m.entries(),
                 [this](const auto& e) { return e.second.first == this; });
}

// reuseport_array_alloc_check(): the value is a u32 or u64 fd, then the
// array's checks.
int ReuseportArray::AllocCheck(const MapAttr& attr) {
  if (attr.value_size != sizeof(uint32_t) &&
      attr.value_size != sizeof(uint64_t)) {
    return -EINVAL;
  }
  return ArrayMap::AllocCheck(attr);
}

int ReuseportArray::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                          std::unique_ptr<Map>* out) {
  ShmRegion region;
  if (int err = CreateRegion("bpfemu-reuseport", attr, nr_cpus, fd, &region);
      err != 0) {
    return err;
  }
  *out = std::unique_ptr<Map>(new ReuseportArray(std::move(region)));
  return 0;
}

int ReuseportArray::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  auto map =
      std::unique_ptr<ReuseportArray>(new ReuseportArray(std::move(region)));
  if (int err = map->CheckAttached(&AllocCheck); err != 0) return err;
  *out = std::move(map);
  return 0;
}

bool ReuseportArray::SlotLive(uint32_t index, SocketSlot* copy) {
  std::memcpy(copy, &slots_[index], sizeof(SocketSlot));
  if (copy->ino == 0) return false;
  bool self;
  const int fd = HeldSocketFd(*copy, &self);
  bool live = fd >= 0;
  if (live && self) {
    // Still hashed: a listener (TCP), or bound (UDP).
    const int protocol = SocketIntOpt(fd, SOL_SOCKET, SO_PROTOCOL);
    live = protocol == IPPROTO_TCP ? TcpState(fd) == kTcpListen
                                   : SocketHasLocalPort(fd);
    if (live && fd != copy->fd && !read_only()) slots_[index].fd = fd;
  }
  if (!live && !read_only()) {
    // bpf_sk_reuseport_detach(): the unhashed socket leaves its slot.
    ClearSlot(index);
    Forget(this, copy->ino, index);
  }
  return live;
}

void ReuseportArray::ClearSlot(uint32_t index) {
  std::memset(&slots_[index], 0, sizeof(SocketSlot));
}

int ReuseportArray::LookupElem(const void* key, void* value, uint64_t) {
  if (value_size() != sizeof(uint64_t)) return -ENOSPC;
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  const uint64_t cookie = CookieAt(index);
  if (cookie == 0) return -ENOENT;
  std::memcpy(value, &cookie, sizeof(cookie));
  return 0;
}

uint64_t ReuseportArray::CookieAt(uint32_t index) {
  if (index >= max_entries()) return 0;
  SocketSlot s;
  if (read_only()) return SlotLive(index, &s) ? s.cookie : 0;
  ShmMutexLock l(lock_);
  return SlotLive(index, &s) ? s.cookie : 0;
}

int ReuseportArray::SocketFdAt(uint32_t index) {
  if (index >= max_entries()) return -1;
  SocketSlot s;
  bool live;
  if (read_only()) {
    live = SlotLive(index, &s);
  } else {
    ShmMutexLock l(lock_);
    live = SlotLive(index, &s);
  }
  if (!live) return -1;
  bool self = false;
  const int fd = HeldSocketFd(s, &self);
  return self ? fd : -1;
}

int ReuseportArray::UpdateElem(const void* key, const void* value,
                               uint64_t flags) {
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  if (flags > BPF_EXIST) return -EINVAL;
  if (index >= max_entries()) return -E2BIG;
  int fd;
  if (value_size() == sizeof(uint64_t)) {
    uint64_t fd64;
    std::memcpy(&fd64, value, sizeof(fd64));
    if (fd64 > INT32_MAX) return -EINVAL;
    fd = static_cast<int>(fd64);
  } else {
    std::memcpy(&fd, value, sizeof(fd));
  }
  SocketInfo nsk;
  if (int err = ProbeSocket(fd, &nsk); err != 0) return err;  // sockfd_lookup

  ShmMutexLock l(lock_);  // reuseport_lock
  // reuseport_array_update_check(), in its order.
  SocketSlot osk;
  const bool occupied = SlotLive(index, &osk);
  if (occupied && flags == BPF_NOEXIST) return -EEXIST;
  if (!occupied && flags == BPF_EXIST) return -ENOENT;
  if (nsk.protocol != IPPROTO_UDP && nsk.protocol != IPPROTO_TCP) {
    return -kENOTSUPP;
  }
  if (nsk.family != AF_INET && nsk.family != AF_INET6) return -kENOTSUPP;
  if (nsk.type != SOCK_STREAM && nsk.type != SOCK_DGRAM) return -kENOTSUPP;
  // SOCK_RCU_FREE, sk_hashed() and a reuseport group: set when a listener
  // (TCP) or a bound socket (UDP) is hashed with SO_REUSEPORT on.
  const bool hashed = nsk.protocol == IPPROTO_TCP ? TcpState(fd) == kTcpListen
                                                  : SocketHasLocalPort(fd);
  if (!hashed || SocketIntOpt(fd, SOL_SOCKET, SO_REUSEPORT) <= 0) {
    return -EINVAL;
  }
  Membership& m = Membership::Get();
  {
    LocalMutexLock ml(&m.mu());
    // sk_user_data already set: the socket is in a reuseport array (this
    // one included).
    auto it = m.entries().find(nsk.ino);
    if (it != m.entries().end()) {
      const auto& [holder, at] = it->second;
      if (holder->Holds(at, nsk.ino)) return -EBUSY;
      m.entries().erase(it);
    }
    // Or a socket map's psock.
    if (SkUserDataHeldByOther(nsk, SkUserData::kReuseport)) return -EBUSY;
    m.entries()[nsk.ino] = {this, index};
  }
  if (occupied) Forget(this, osk.ino, index);
  // The process whose descriptor holds the socket: this one, or the caller
  // `bpfemu exec` serves.
  RecordSocket(nsk, fd, &slots_[index]);
  return 0;
}

int ReuseportArray::DeleteElem(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  if (index >= max_entries()) return -E2BIG;
  ShmMutexLock l(lock_);
  SocketSlot s;
  if (!SlotLive(index, &s)) return -ENOENT;
  ClearSlot(index);
  Forget(this, s.ino, index);
  return 0;
}

int ReuseportArray::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);
}

uint64_t ReuseportArray::MemUsage(const BuildProfile& build) const {
  return build.reuseport_array + uint64_t{max_entries()} * sizeof(void*);
}

}  // namespace bpfemu
