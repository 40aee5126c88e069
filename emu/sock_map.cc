// SPDX-License-Identifier: Apache-2.0
#include "emu/sock_map.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "emu/array_map.h"
#include "emu/local_mutex.h"
#include "emu/socket_probe.h"

namespace bpfemu {
namespace {

// SOCK_CREATE_FLAG_MASK.
constexpr uint32_t kSockCreateFlagMask =
    BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;

class SocketTable {
 public:
  static SocketTable& Get() {
    static auto* t = new SocketTable;
    return *t;
  }
  uint32_t Add(SocketRef ref) {
    LocalMutexLock l(&mu_);
    const uint32_t h = ++last_;
    refs_[h] = ref;
    return h;
  }
  void Remove(uint32_t h) {
    LocalMutexLock l(&mu_);
    auto it = refs_.find(h);
    if (it == refs_.end()) return;
    close(it->second.fd);
    refs_.erase(it);
  }
  // Whether a socket map slot holds the socket with `cookie` (it has a
  // psock).
  bool HoldsCookie(uint64_t cookie) {
    LocalMutexLock l(&mu_);
    for (const auto& [h, ref] : refs_) {
      if (ref.cookie == cookie) return true;
    }
    return false;
  }
  bool Find(uint32_t h, SocketRef* out) {
    LocalMutexLock l(&mu_);
    auto it = refs_.find(h);
    if (it == refs_.end()) return false;
    *out = it->second;
    return true;
  }

 private:
  LocalMutex mu_;
  uint32_t last_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint32_t, SocketRef> refs_ ABSL_GUARDED_BY(mu_);
};

bool HeldBySockMap(const SocketInfo& info) {
  return info.cookie != 0 && SocketTable::Get().HoldsCookie(info.cookie);
}

[[maybe_unused]] const bool kRegistered =
    RegisterSkUserData(SkUserData::kPsock, &HeldBySockMap);

bool IsTcp(const SocketRef& s) {
  return IsTcpSocket(s.family, s.type, s.protocol);
}

bool IsUdp(const SocketRef& s) {
  return IsUdpSocket(s.family, s.type, s.protocol);
}

}  // namespace

int64_t AcquireSocket(uint64_t ufd) {
  if (ufd > INT32_MAX) return -EINVAL;
  const int fd = static_cast<int>(ufd);
  SocketInfo info;
  if (int err = ProbeSocket(fd, &info); err != 0) return err;  // sockfd_lookup
  SocketRef s;
  s.family = info.family;
  s.type = info.type;
  s.protocol = info.protocol;
  // sock_map_sk_is_suitable(): protocols with psock_update_sk_prot.
  const bool unix_sock =
      s.family == AF_UNIX && (s.type == SOCK_STREAM || s.type == SOCK_DGRAM);
  const bool vsock = s.family == AF_VSOCK;
  if (!IsTcp(s) && !IsUdp(s) && !unix_sock && !vsock) return -EOPNOTSUPP;
  // sock_map_sk_state_allowed().
  if (IsTcp(s)) {
    const int st = TcpState(fd);
    if (st != kTcpEstablished && st != kTcpListen) return -EOPNOTSUPP;
  } else if (IsUdp(s)) {
    if (!SocketHasLocalPort(fd)) return -EOPNOTSUPP;
  } else if ((unix_sock && s.type == SOCK_STREAM) || vsock) {
    if (!SocketConnected(fd)) return -EOPNOTSUPP;
  }
  s.cookie = info.cookie;
  s.ino = info.ino;
  s.fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (s.fd < 0) return -ENOMEM;
  return SocketTable::Get().Add(s);
}

void ReleaseSocket(uint32_t handle) {
  if (handle != 0) SocketTable::Get().Remove(handle);
}

bool FindSocket(uint32_t handle, SocketRef* out) {
  return handle != 0 && SocketTable::Get().Find(handle, out);
}

long RedirectVerdict(uint32_t handle, uint64_t flags, bool msg) {
  if (flags & ~uint64_t{BPF_F_INGRESS}) return kSkDrop;
  SocketRef s;
  if (!FindSocket(handle, &s)) return kSkDrop;
  // sock_map_redirect_allowed().
  // TCP: anything but a listener; others: TCP_ESTABLISHED, i.e. connected.
  const bool allowed =
      IsTcp(s) ? TcpState(s.fd) != kTcpListen : SocketConnected(s.fd);
  if (!allowed) return kSkDrop;
  if (s.family == AF_VSOCK && (msg || (flags & BPF_F_INGRESS))) {
    return kSkDrop;
  }
  if (msg && !(flags & BPF_F_INGRESS) && !IsTcp(s)) return kSkDrop;
  return kSkPass;
}

int SockMapAllocCheck(const MapAttr& attr) {
  const bool hash = attr.map_type == BPF_MAP_TYPE_SOCKHASH;
  if (attr.max_entries == 0 || (!hash && attr.max_entries > INT_MAX) ||
      (hash ? attr.key_size == 0 : attr.key_size != 4) ||
      (attr.value_size != 4 && attr.value_size != 8) ||
      (attr.map_flags & ~kSockCreateFlagMask)) {
    return -EINVAL;
  }
  if (hash && attr.key_size > 512) return -E2BIG;  // MAX_BPF_STACK
  return 0;
}

int SockLookupSys(Map& map, const void* key, void* value) {
  if (map.value_size() != sizeof(uint64_t)) return -ENOSPC;
  uint8_t stored[8] = {};
  if (int err = map.LookupElem(key, stored, 0); err != 0) return err;
  uint32_t handle;
  std::memcpy(&handle, stored, sizeof(handle));
  SocketRef s;
  if (!FindSocket(handle, &s)) return -ENOENT;
  std::memcpy(value, &s.cookie, sizeof(s.cookie));
  return 0;
}

int SockUpdateSys(Map& map, const void* key, const void* value,
                  uint64_t flags) {
  uint64_t ufd = 0;
  std::memcpy(&ufd, value, map.value_size() == 8 ? 8 : 4);
  const int64_t handle = AcquireSocket(ufd);
  if (handle < 0) return static_cast<int>(handle);
  // sock_map_update_common / sock_hash_update_common: the flags, the index,
  // then sock_map_link's sk_psock_init, which finds sk_user_data set when a
  // reuseport array holds the socket.
  SocketRef ref;
  if (FindSocket(static_cast<uint32_t>(handle), &ref)) {
    SocketInfo info;
    info.cookie = ref.cookie;
    info.ino = ref.ino;
    if (SkUserDataHeldByOther(info, SkUserData::kPsock)) {
      ReleaseSocket(static_cast<uint32_t>(handle));
      if (flags > BPF_EXIST) return -EINVAL;
      uint32_t index;
      std::memcpy(&index, key, sizeof(index));
      if (map.type() == BPF_MAP_TYPE_SOCKMAP && index >= map.max_entries()) {
        return -E2BIG;
      }
      return -EBUSY;
    }
  }
  uint8_t old[8] = {};
  (void)map.LookupElem(key, old, 0);
  uint8_t stored[8] = {};
  const uint32_t h = static_cast<uint32_t>(handle);
  std::memcpy(stored, &h, sizeof(h));
  const int err = map.UpdateElem(key, stored, flags);
  uint32_t previous;
  std::memcpy(&previous, old, sizeof(previous));
  ReleaseSocket(err == 0 ? previous : h);
  return err;
}

const MapOps SockMap::kOps = {&SockMapAllocCheck, &SockMap::Alloc,
                              &SockMap::Attach};

SockMap::SockMap(ShmRegion region) : Map(std::move(region)) {
  slots_ = this->region().At<std::atomic<uint32_t>>(RoundUp(kBodyOffset, 64));
}

int SockMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out) {
  const uint64_t region_size =
      RoundUp(kBodyOffset, 64) + uint64_t{attr.max_entries} * 4;
  ShmRegion region;
  int map_fd;
  if (int err =
          ShmRegion::Create("bpfemu-sockmap", region_size, &map_fd, &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, region_size,
             region.At<MapHeader>(0));
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new SockMap(std::move(region)));
  return 0;
}

// Validated before use: generic header checks, sock_map_alloc's checks on
// the header's attributes, and the region size recomputed as Alloc does.
// Slot values are socket handles, looked up, never followed.
int SockMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  auto map = std::unique_ptr<SockMap>(new SockMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  if (SockMapAllocCheck(AttrFromHeader(h)) != 0 ||
      h.region_size != RoundUp(kBodyOffset, 64) + uint64_t{h.max_entries} * 4) {
    return -EINVAL;
  }
  *out = std::move(map);
  return 0;
}

void* SockMap::LookupElemProg(const void*) { return nullptr; }

int SockMap::UpdateElem(const void* key, const void* value, uint64_t flags) {
  uint32_t index, handle;
  std::memcpy(&index, key, 4);
  std::memcpy(&handle, value, 4);
  if (flags > BPF_EXIST) return -EINVAL;
  if (index >= max_entries()) return -E2BIG;
  uint32_t old = slots_[index].load(std::memory_order_acquire);
  if (old != 0 && flags == BPF_NOEXIST) return -EEXIST;
  if (old == 0 && flags == BPF_EXIST) return -ENOENT;
  // The replaced socket is released by the caller (SockUpdateSys).
  slots_[index].store(handle, std::memory_order_release);
  return 0;
}

int SockMap::LookupElem(const void* key, void* value, uint64_t) {
  uint32_t index;
  std::memcpy(&index, key, 4);
  const uint32_t h = HandleAt(index);
  if (h == 0) return -ENOENT;
  std::memcpy(value, &h, 4);
  return 0;
}

int SockMap::DeleteElem(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, 4);
  if (index >= max_entries()) return -EINVAL;
  // sock_map_delete_elem -> sock_map_unref: the slot's socket goes with it.
  const uint32_t old = slots_[index].exchange(0, std::memory_order_acq_rel);
  if (old == 0) return -EINVAL;
  ReleaseSocket(old);
  return 0;
}

int SockMap::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);
}

uint64_t SockMap::MemUsage(const BuildProfile& build) const {
  return build.stab + uint64_t{max_entries()} * sizeof(void*);
}

const MapOps SockHash::kOps = {&SockMapAllocCheck, &SockHash::Alloc,
                               &SockHash::Attach};

int SockHash::DeleteElem(const void* key) {
  // sock_hash_delete_elem: the element and its socket reference go.
  uint8_t stored[8] = {};
  const int err = Remove(key, stored, 0);
  if (err != 0) return err;
  uint32_t handle;
  std::memcpy(&handle, stored, sizeof(handle));
  ReleaseSocket(handle);
  return 0;
}

uint64_t SockHash::MemUsage(const BuildProfile& build) const {
  // sock_hash_mem_usage(): the table, 16-byte buckets, and an element
  // (header and key) per socket.
  return build.shtab + 16 * uint64_t{n_buckets()} +
         uint64_t{count()} * (build.shtab_elem + RoundUp(key_size(), 8));
}

}  // namespace bpfemu
