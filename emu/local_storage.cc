// SPDX-License-Identifier: Apache-2.0
#include "emu/local_storage.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "emu/build_profile.h"
#include "emu/cgroup.h"
#include "emu/errno.h"
#include "emu/version.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

namespace bpfemu {
namespace {

// BPF_LOCAL_STORAGE_CREATE_FLAG_MASK.
constexpr uint32_t kCreateFlagMask = BPF_F_NO_PREALLOC | BPF_F_CLONE;
// The region bounds the owners a map can hold (local_storage.h).
constexpr uint64_t kRegionBudget = uint64_t{64} << 20;
constexpr uint32_t kMinCapacity = 1024;
constexpr uint32_t kMaxCapacity = 65536;

// Slot states (the low byte of SlotHead::state); kPopulated marks a slot
// whose pages were backed once.
constexpr uint32_t kEmpty = 0;
constexpr uint32_t kLive = 1;
constexpr uint32_t kDead = 2;  // deleted: probing continues past it
constexpr uint32_t kStateMask = 0xff;
constexpr uint32_t kPopulated = 0x100;

struct SlotHead {
  uint32_t state;
  uint32_t unused;
  uint64_t id[2];
};
static_assert(sizeof(SlotHead) == 24);

// The sizes behind bpf_sk_storage_charge's figures on x86-64 (6.12,
// 6.18): offsetof(struct bpf_local_storage_elem, sdata.data) starts an
// element's charge (smap->elem_size is it plus value_size), and the first
// element of a socket also charges its struct bpf_local_storage. A probe
// of this machine's 6.18 shows both (an update replacing a 65376-byte
// value is ENOMEM under optmem_max 131072, one of 65375 bytes is not).
constexpr uint64_t kElemDataOffset = 72;
constexpr uint64_t kLocalStorageStruct = 176;

uint64_t OptmemMax() {
  // The caller's network namespace's net.core.optmem_max, read at each
  // charge as the kernel reads it; 20480 (the old default) if unreadable.
  int fd = open("/proc/sys/net/core/optmem_max", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 20480;
  char buf[32] = {};
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 20480;
  return std::strtoull(buf, nullptr, 10);
}

uint64_t Mix(const LocalStorageMap::Owner& o) {
  uint64_t h = o.a * 0x9E3779B97F4A7C15ULL ^
               (o.b + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  return h;
}

// Reads the whole of a small /proc file into `out`; false if it cannot be
// opened.
bool ReadProcFile(const char* path, std::string* out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  out->clear();
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

// The start time (field 22 of /proc/<pid>/stat, clock ticks since boot),
// or false when no such task exists.
bool TaskStartTime(long pid, uint64_t* start) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  std::string stat;
  if (!ReadProcFile(path, &stat)) return false;
  // The command name may hold spaces and parentheses: fields resume after
  // the last ')', with field 3 (state) first.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return false;
  const char* p = stat.c_str() + paren + 1;
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p + 1, ' ');
    if (p == nullptr) return false;
  }
  *start = std::strtoull(p + 1, nullptr, 10);
  return true;
}

}  // namespace

struct LocalStorageMap::Body {
  ShmMutex mu;
  // Odd while a writer changes the table (read-only readers retry).
  std::atomic<uint32_t> seq;
  uint32_t live;  // slots in kLive
  uint32_t dead;  // slots in kDead
};

const MapOps LocalStorageMap::kSkStorageOps = {
    &LocalStorageMap::AllocCheck, &LocalStorageMap::Alloc,
    &LocalStorageMap::Attach, nullptr,
    /*value_spin_lock=*/true};
const MapOps LocalStorageMap::kTaskStorageOps = kSkStorageOps;
const MapOps LocalStorageMap::kInodeStorageOps = kSkStorageOps;
const MapOps LocalStorageMap::kCgrpStorageOps = kSkStorageOps;

int LocalStorageMap::AllocCheck(const MapAttr& attr) {
  // BPF_MAP_TYPE_CGRP_STORAGE came with 6.2: 6.1 has no such type.
  if (attr.map_type == kBpfMapTypeCgrpStorage &&
      TargetKernel() == KernelVersion::k6_1) {
    return -EINVAL;
  }
  if ((attr.map_flags & ~kCreateFlagMask) != 0 ||
      !(attr.map_flags & BPF_F_NO_PREALLOC) || attr.max_entries != 0 ||
      attr.key_size != sizeof(int) || attr.value_size == 0 ||
      attr.btf_key_type_id == 0 || attr.btf_value_type_id == 0) {
    return -EINVAL;
  }
  if (attr.value_size > kLocalStorageMaxValueSize) return -E2BIG;
  return 0;
}

LocalStorageMap::OwnerKind LocalStorageMap::KindFor(uint32_t map_type) {
  switch (map_type) {
    case BPF_MAP_TYPE_TASK_STORAGE:
      return OwnerKind::kTask;
    case BPF_MAP_TYPE_INODE_STORAGE:
      return OwnerKind::kInode;
    case kBpfMapTypeCgrpStorage:
      return OwnerKind::kCgroup;
    default:
      return OwnerKind::kSocket;
  }
}

LocalStorageMap::Geometry LocalStorageMap::GeometryFor(const MapAttr& attr) {
  Geometry g;
  g.slot_size = static_cast<uint32_t>(
      RoundUp(uint64_t{sizeof(SlotHead)} + attr.value_size, 8));
  const uint64_t fit = kRegionBudget / g.slot_size;
  g.capacity = std::bit_floor(static_cast<uint32_t>(
      std::clamp<uint64_t>(fit, kMinCapacity, kMaxCapacity)));
  g.slots_off = kBodyOffset + RoundUp(sizeof(Body), 64);
  g.region_size = g.slots_off + uint64_t{g.capacity} * g.slot_size;
  return g;
}

LocalStorageMap::LocalStorageMap(ShmRegion region, const Geometry& g,
                                 OwnerKind kind)
    : Map(std::move(region)), geometry_(g), kind_(kind) {
  body_ = this->region().At<Body>(kBodyOffset);
}

int LocalStorageMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                           std::unique_ptr<Map>* out) {
  const Geometry g = GeometryFor(attr);
  ShmRegion region;
  int map_fd;
  // Only the header and the body are backed now: the kernel allocates
  // elements as owners get them.
  if (int err = ShmRegion::Create("bpfemu-local-storage", g.region_size,
                                  &map_fd, &region, 0, g.slots_off);
      err != 0) {
    return err;
  }
  InitHeader(attr, 0, nr_cpus, 0, g.region_size, region.At<MapHeader>(0));
  *fd = map_fd;
  *out = std::unique_ptr<Map>(
      new LocalStorageMap(std::move(region), g, KindFor(attr.map_type)));
  return 0;
}

int LocalStorageMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  const Geometry placeholder{};
  auto map = std::unique_ptr<LocalStorageMap>(
      new LocalStorageMap(std::move(region), placeholder, OwnerKind::kSocket));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  MapAttr attr = AttrFromHeader(map->header());
  // The header records no BTF ids: check the rest of the shape.
  attr.btf_key_type_id = attr.btf_value_type_id = 1;
  if (AllocCheck(attr) != 0) return -EINVAL;
  map->geometry_ = GeometryFor(attr);
  map->kind_ = KindFor(attr.map_type);
  if (map->header().region_size != map->geometry_.region_size) return -EINVAL;
  *out = std::move(map);
  return 0;
}

uint64_t LocalStorageMap::MemUsage(const BuildProfile& build) const {
  // nbuckets: the possible CPUs rounded up to a power of two, at least 2;
  // each bucket an hlist_head and a raw spinlock (16 bytes).
  const uint64_t nbuckets = std::max<uint64_t>(2, std::bit_ceil(nr_cpus()));
  return build.local_storage_map + 16 * nbuckets;
}

int LocalStorageMap::OwnerFromFd(OwnerKind kind, int fd, Owner* out) {
  switch (kind) {
    case OwnerKind::kSocket: {
      // sockfd_lookup(): EBADF for no file, ENOTSOCK for another file.
      uint64_t cookie = 0;
      socklen_t len = sizeof(cookie);
      if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) {
        return errno == ENOTSOCK ? -ENOTSOCK : -EBADF;
      }
      *out = Owner{cookie, 0};
      return 0;
    }
    case OwnerKind::kTask: {
      // pidfd_get_pid(): EBADF unless fd is a pidfd; pid_task(): ENOENT
      // once the task is reaped.
      if (fd < 0) return -EBADF;
      char path[64];
      std::snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
      std::string info;
      if (!ReadProcFile(path, &info)) return -EBADF;
      const size_t at = info.find("\nPid:");
      if (at == std::string::npos) return -EBADF;
      const long pid = std::strtol(info.c_str() + at + 5, nullptr, 10);
      uint64_t start = 0;
      if (pid <= 0 || !TaskStartTime(pid, &start)) return -ENOENT;
      *out = Owner{static_cast<uint64_t>(pid), start};
      return 0;
    }
    case OwnerKind::kCgroup: {
      // cgroup_v1v2_get_from_fd(): EBADF for anything but a cgroup, of
      // cgroup2 ({id, 0}, as programs name their cgroups) or of a v1
      // hierarchy ({inode, device}).
      uint64_t id = 0, hierarchy = 0;
      if (int err = CgroupV1V2FromFd(fd, &id, &hierarchy); err != 0) {
        return err;
      }
      *out = Owner{id, hierarchy};
      return 0;
    }
    case OwnerKind::kInode: {
      // fdget_raw(): any open file, O_PATH included.
      struct stat st;
      if (fd < 0 || fstat(fd, &st) != 0) return -EBADF;
      *out = Owner{static_cast<uint64_t>(st.st_dev),
                   static_cast<uint64_t>(st.st_ino)};
      return 0;
    }
  }
  return -EBADF;
}

int LocalStorageMap::TaskOwner(long tid, Owner* out) {
  uint64_t start = 0;
  if (tid <= 0 || !TaskStartTime(tid, &start)) return -ENOENT;
  *out = Owner{static_cast<uint64_t>(tid), start};
  return 0;
}

uint8_t* LocalStorageMap::SlotAt(uint32_t index) const {
  return region().At<uint8_t>(geometry_.slots_off +
                              uint64_t{index} * geometry_.slot_size);
}

int64_t LocalStorageMap::Find(const Owner& owner) const {
  const uint32_t mask = geometry_.capacity - 1;
  uint32_t i = static_cast<uint32_t>(Mix(owner)) & mask;
  for (uint32_t n = 0; n < geometry_.capacity; ++n, i = (i + 1) & mask) {
    const auto* s = reinterpret_cast<const SlotHead*>(SlotAt(i));
    const uint32_t state =
        __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) & kStateMask;
    if (state == kEmpty) return -1;
    if (state == kLive &&
        __atomic_load_n(&s->id[0], __ATOMIC_RELAXED) == owner.a &&
        __atomic_load_n(&s->id[1], __ATOMIC_RELAXED) == owner.b) {
      return i;
    }
  }
  return -1;
}

int64_t LocalStorageMap::Claim(const Owner& owner) {
  // Keep an eighth of the table empty so that probes end.
  const uint32_t limit = geometry_.capacity - geometry_.capacity / 8;
  if (body_->live >= limit && (kind_ != OwnerKind::kTask ||
                               SweepDeadTasks() == 0 || body_->live >= limit)) {
    return -ENOMEM;
  }
  const uint32_t mask = geometry_.capacity - 1;
  uint32_t i = static_cast<uint32_t>(Mix(owner)) & mask;
  for (uint32_t n = 0; n < geometry_.capacity; ++n, i = (i + 1) & mask) {
    auto* s = reinterpret_cast<SlotHead*>(SlotAt(i));
    const uint32_t state = s->state & kStateMask;
    if (state == kLive) continue;
    if (!(s->state & kPopulated)) {
      if (region().Populate(
              geometry_.slots_off + uint64_t{i} * geometry_.slot_size,
              geometry_.slot_size) != 0) {
        return -ENOMEM;
      }
    }
    if (state == kDead) --body_->dead;
    return i;
  }
  return -ENOMEM;
}

void LocalStorageMap::Release(uint32_t index) {
  auto* s = reinterpret_cast<SlotHead*>(SlotAt(index));
  const uint32_t mask = geometry_.capacity - 1;
  const auto* next =
      reinterpret_cast<const SlotHead*>(SlotAt((index + 1) & mask));
  --body_->live;
  if ((next->state & kStateMask) != kEmpty) {
    ++body_->dead;
    __atomic_store_n(&s->state, kDead | kPopulated, __ATOMIC_RELEASE);
    return;
  }
  // The end of a probe chain: it and the deleted slots before it end the
  // chain instead.
  __atomic_store_n(&s->state, kEmpty | kPopulated, __ATOMIC_RELEASE);
  for (uint32_t i = (index - 1) & mask; i != index; i = (i - 1) & mask) {
    auto* p = reinterpret_cast<SlotHead*>(SlotAt(i));
    if ((p->state & kStateMask) != kDead) break;
    --body_->dead;
    __atomic_store_n(&p->state, kEmpty | kPopulated, __ATOMIC_RELEASE);
  }
}

uint32_t LocalStorageMap::SweepDeadTasks() {
  uint32_t dropped = 0;
  for (uint32_t i = 0; i < geometry_.capacity; ++i) {
    const auto* s = reinterpret_cast<const SlotHead*>(SlotAt(i));
    if ((s->state & kStateMask) != kLive) continue;
    uint64_t start = 0;
    if (TaskStartTime(static_cast<long>(s->id[0]), &start) &&
        start == s->id[1]) {
      continue;
    }
    Release(i);
    ++dropped;
  }
  return dropped;
}

namespace {

// The table's writer section: the mutex and an odd sequence count.
class WriteSection {
 public:
  WriteSection(ShmMutex* mu, std::atomic<uint32_t>* seq)
      : lock_(mu), seq_(seq) {
    // A writer that died mid-section left the count odd: make it even.
    uint32_t s = seq_->load(std::memory_order_relaxed);
    if (s & 1) ++s;
    seq_->store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  ~WriteSection() { seq_->fetch_add(1, std::memory_order_release); }
  WriteSection(const WriteSection&) = delete;
  WriteSection& operator=(const WriteSection&) = delete;

 private:
  ShmMutexLock lock_;
  std::atomic<uint32_t>* seq_;
};

}  // namespace

int LocalStorageMap::Update(const Owner& owner, const void* value,
                            uint64_t flags) {
  // bpf_local_storage_update(): BPF_NOEXIST and BPF_EXIST together, other
  // bits, or BPF_F_LOCK without a spin lock are EINVAL.
  if ((flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST ||
      ((flags & BPF_F_LOCK) && !HasSpinLock())) {
    return -EINVAL;
  }
  const uint64_t op = flags & ~uint64_t{BPF_F_LOCK};
  const uint64_t elem = kElemDataOffset + value_size();
  WriteSection section(&body_->mu, &body_->seq);
  const int64_t found = Find(owner);
  // check_flags().
  if (found >= 0 && op == BPF_NOEXIST) return -EEXIST;
  if (found < 0 && op == BPF_EXIST) return -ENOENT;
  if (found >= 0) {
    uint8_t* v = SlotAt(static_cast<uint32_t>(found)) + sizeof(SlotHead);
    if (flags & BPF_F_LOCK) {
      // Updated in place under the value's lock.
      CopyValueIn(v, value, /*locked=*/true);
      return 0;
    }
    // A new element is allocated (and charged) before the old is freed.
    if (kind_ == OwnerKind::kSocket &&
        !(kLocalStorageStruct + 2 * elem < OptmemMax())) {
      return -ENOMEM;
    }
    CopyValueIn(v, value, /*locked=*/false);
    return 0;
  }
  if (kind_ == OwnerKind::kSocket &&
      !(kLocalStorageStruct + elem < OptmemMax())) {
    return -ENOMEM;
  }
  const int64_t slot = Claim(owner);
  if (slot < 0) return static_cast<int>(slot);
  auto* s = reinterpret_cast<SlotHead*>(SlotAt(static_cast<uint32_t>(slot)));
  uint8_t* v = reinterpret_cast<uint8_t*>(s) + sizeof(SlotHead);
  // A new element's value starts zeroed (its spin lock unlocked).
  std::memset(v, 0, value_size());
  CopyValueIn(v, value, /*locked=*/false);
  s->id[0] = owner.a;
  s->id[1] = owner.b;
  ++body_->live;
  __atomic_store_n(&s->state, kLive | kPopulated, __ATOMIC_RELEASE);
  return 0;
}

int LocalStorageMap::Delete(const Owner& owner) {
  WriteSection section(&body_->mu, &body_->seq);
  const int64_t found = Find(owner);
  if (found < 0) return -ENOENT;
  Release(static_cast<uint32_t>(found));
  return 0;
}

int LocalStorageMap::LookupReadOnly(const Owner& owner, void* value,
                                    uint64_t flags) const {
  // No lock may be taken: copy between two equal even sequence counts.
  ReadOnlyWait wait;
  for (;;) {
    const uint32_t before = body_->seq.load(std::memory_order_acquire);
    if (!(before & 1)) {
      const int64_t found = Find(owner);
      if (found >= 0) {
        CopyValueOut(value,
                     SlotAt(static_cast<uint32_t>(found)) + sizeof(SlotHead),
                     (flags & BPF_F_LOCK) != 0);
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      if (body_->seq.load(std::memory_order_relaxed) == before) {
        return found >= 0 ? 0 : -ENOENT;
      }
    }
    if (!wait.Next(body_->mu.holder() & ~ShmMutex::kWaiters)) return -EBUSY;
  }
}

int LocalStorageMap::LookupElem(const void* key, void* value, uint64_t flags) {
  int fd;
  std::memcpy(&fd, key, sizeof(fd));
  Owner owner;
  if (int err = OwnerFromFd(kind_, fd, &owner); err != 0) return err;
  if (read_only()) return LookupReadOnly(owner, value, flags);
  ShmMutexLock lock(&body_->mu);
  const int64_t found = Find(owner);
  if (found < 0) return -ENOENT;
  CopyValueOut(value, SlotAt(static_cast<uint32_t>(found)) + sizeof(SlotHead),
               (flags & BPF_F_LOCK) != 0);
  return 0;
}

int LocalStorageMap::UpdateElem(const void* key, const void* value,
                                uint64_t flags) {
  int fd;
  std::memcpy(&fd, key, sizeof(fd));
  Owner owner;
  if (int err = OwnerFromFd(kind_, fd, &owner); err != 0) return err;
  return Update(owner, value, flags);
}

int LocalStorageMap::DeleteElem(const void* key) {
  int fd;
  std::memcpy(&fd, key, sizeof(fd));
  Owner owner;
  if (int err = OwnerFromFd(kind_, fd, &owner); err != 0) return err;
  return Delete(owner);
}

// notsupp_get_next_key().
int LocalStorageMap::GetNextKey(const void* /*key*/, void* /*next_key*/) {
  return -kENOTSUPP;
}

// The verifier refuses bpf_map_lookup_elem on local storage
// (check_map_func_compatibility): programs use GetByOwner.
void* LocalStorageMap::LookupElemProg(const void* /*key*/) { return nullptr; }

void* LocalStorageMap::GetByOwner(const Owner& owner, const void* init,
                                  bool create) {
  WriteSection section(&body_->mu, &body_->seq);
  const int64_t found = Find(owner);
  if (found >= 0) {
    return SlotAt(static_cast<uint32_t>(found)) + sizeof(SlotHead);
  }
  if (!create) return nullptr;
  if (kind_ == OwnerKind::kSocket &&
      !(kLocalStorageStruct + kElemDataOffset + value_size() < OptmemMax())) {
    return nullptr;
  }
  const int64_t slot = Claim(owner);
  if (slot < 0) return nullptr;
  auto* s = reinterpret_cast<SlotHead*>(SlotAt(static_cast<uint32_t>(slot)));
  uint8_t* v = reinterpret_cast<uint8_t*>(s) + sizeof(SlotHead);
  std::memset(v, 0, value_size());
  if (init != nullptr) CopyValueIn(v, init, /*locked=*/false);
  s->id[0] = owner.a;
  s->id[1] = owner.b;
  ++body_->live;
  __atomic_store_n(&s->state, kLive | kPopulated, __ATOMIC_RELEASE);
  return v;
}

int LocalStorageMap::DeleteByOwner(const Owner& owner) { return Delete(owner); }

}  // namespace bpfemu
