// SPDX-License-Identifier: Apache-2.0
#include "emu/map_in_map.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "emu/bpffs.h"
#include "emu/errno.h"
#include "emu/fd_table.h"
#include "emu/local_mutex.h"

namespace bpfemu {
namespace {

// Closes a descriptor of this module's own with the system call itself
// (libbpfemu's close() hook takes the fd table's locks; see bpffs.cc).
void CloseOwn(int fd) { syscall(SYS_close, fd); }

// The inner maps held by process-local slot references (regions that cannot
// be linked into the by-id directory: memfds), as the kernel's bpf_map_inc in
// bpf_map_fd_get_ptr holds them: map id -> the map and its number of slots.
// Also a cache of the maps this process attached by id (OpenInnerById) for
// the program face.
class InnerRefs {
 public:
  static InnerRefs& Get() {
    static auto* refs = new InnerRefs;
    return *refs;
  }
  // `fd` is one of the map's fds: a private duplicate keeps the region
  // reachable by id after the caller closes its fds.
  void Acquire(std::shared_ptr<Map> map, int fd) {
    LocalMutexLock l(&mu_);
    Ref& r = refs_[map->id()];
    if (r.fd < 0) r.fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    r.map = std::move(map);
    ++r.count;
  }
  // False when this process holds no local reference on `id`.
  bool Release(uint32_t id) {
    LocalMutexLock l(&mu_);
    auto it = refs_.find(id);
    if (it == refs_.end()) return false;
    if (--it->second.count <= 0) {
      if (it->second.fd >= 0) CloseOwn(it->second.fd);
      refs_.erase(it);
    }
    return true;
  }
  std::shared_ptr<Map> Find(uint32_t id, int* fd) {
    LocalMutexLock l(&mu_);
    auto it = refs_.find(id);
    if (it == refs_.end()) return nullptr;
    if (fd != nullptr) *fd = it->second.fd;
    return it->second.map;
  }
  int Count(uint32_t id) {
    LocalMutexLock l(&mu_);
    auto it = refs_.find(id);
    return it == refs_.end() ? -1 : it->second.count;
  }
  std::shared_ptr<Map> Cached(uint32_t id) {
    LocalMutexLock l(&mu_);
    auto it = cache_.find(id);
    return it == cache_.end() ? nullptr : it->second;
  }
  void Cache(uint32_t id, std::shared_ptr<Map> map) {
    LocalMutexLock l(&mu_);
    cache_[id] = std::move(map);
  }
  void Evict(uint32_t id) {
    std::shared_ptr<Map> gone;  // unmapped after the lock is dropped
    LocalMutexLock l(&mu_);
    auto it = cache_.find(id);
    if (it == cache_.end()) return;
    gone = std::move(it->second);
    cache_.erase(it);
  }

 private:
  struct Ref {
    std::shared_ptr<Map> map;
    int count = 0;
    int fd = -1;
  };
  LocalMutex mu_;
  absl::flat_hash_map<uint32_t, Ref> refs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, std::shared_ptr<Map>> cache_
      ABSL_GUARDED_BY(mu_);
};

// The per-user by-id directory, <storage>/.byid-<euid>, created mode 0700 on
// first use: a read-only directory fd (flock()-able), or -errno. Opened
// relative to the checked storage directory without following a link, and
// used only if it is a directory of the caller's that nobody else may write
// (docs/reliability.md, threat model): nothing is created in one that is not.
int ByIdDir() {
  const int storage = BpffsStorageFd();
  if (storage < 0) return storage;
  const std::string name = ".byid-" + std::to_string(geteuid());
  int fd = -1;
  if (mkdirat(storage, name.c_str(), 0700) == 0 || errno == EEXIST) {
    fd = openat(storage, name.c_str(),
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  const int err = errno;
  CloseOwn(storage);
  if (fd < 0) return err == ELOOP || err == ENOTDIR ? -EACCES : -err;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & 077) != 0) {
    CloseOwn(fd);
    return -EACCES;
  }
  return fd;
}

// Holds the by-id directory open and flock()ed: the lock every change of a
// slot_refs count and its link takes. A holder that dies loses it with its
// descriptors, so a crash cannot strand it.
class ByIdLock {
 public:
  ByIdLock() : fd_(ByIdDir()) {
    if (fd_ < 0) return;
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        CloseOwn(fd_);
        fd_ = -errno;
        return;
      }
    }
  }
  ~ByIdLock() {
    if (fd_ >= 0) CloseOwn(fd_);  // drops the lock
  }
  ByIdLock(const ByIdLock&) = delete;
  ByIdLock& operator=(const ByIdLock&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// The header page of the region open as `fd`, mapped shared (to change
// slot_refs), or null. The file must hold at least a header.
class HeaderPage {
 public:
  explicit HeaderPage(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) < kBodyOffset) {
      return;
    }
    void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) h_ = static_cast<MapHeader*>(p);
  }
  ~HeaderPage() {
    if (h_ != nullptr) munmap(h_, kPage);
  }
  HeaderPage(const HeaderPage&) = delete;
  HeaderPage& operator=(const HeaderPage&) = delete;
  // Whether the header is an outer map's (a map-in-map) with `id`.
  bool CheckedOuter(uint32_t id) const {
    return h_ != nullptr &&
           __atomic_load_n(&h_->magic, __ATOMIC_RELAXED) == MapHeader::kMagic &&
           __atomic_load_n(&h_->id, __ATOMIC_RELAXED) == id &&
           __atomic_load_n(&h_->inner.present, __ATOMIC_RELAXED) == 1;
  }
  // The header if it is a map's with `id` that is no map-in-map (only those
  // are stored in slots).
  MapHeader* Checked(uint32_t id) const {
    if (h_ == nullptr ||
        __atomic_load_n(&h_->magic, __ATOMIC_RELAXED) != MapHeader::kMagic ||
        __atomic_load_n(&h_->id, __ATOMIC_RELAXED) != id ||
        __atomic_load_n(&h_->inner.present, __ATOMIC_RELAXED) != 0) {
      return nullptr;
    }
    return h_;
  }

 private:
  static constexpr size_t kPage = 4096;
  MapHeader* h_ = nullptr;
};

// Opens the by-id link `name` in `dir` read-write if it is a regular file
// (never a link, FIFO or device): O_PATH without following, fstat, then a
// reopen through /proc/self/fd. -errno otherwise.
int OpenLinkAt(int dir, const std::string& name) {
  const int path_fd =
      openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (path_fd < 0) return -errno;
  struct stat st;
  int fd = -ENOENT;
  if (fstat(path_fd, &st) == 0 && S_ISREG(st.st_mode)) {
    const std::string self = "/proc/self/fd/" + std::to_string(path_fd);
    fd = open(self.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) fd = -errno;
  }
  CloseOwn(path_fd);
  return fd;
}

// Makes sure the by-id link `name` in `dir` is the file open as `fd`:
// links it if absent. False when it cannot (a memfd: EXDEV) or the name
// already belongs to another file.
bool EnsureLinked(int dir, int fd, const std::string& name) {
  struct stat mine, linked;
  if (fstat(fd, &mine) != 0) return false;
  if (fstatat(dir, name.c_str(), &linked, AT_SYMLINK_NOFOLLOW) == 0) {
    return linked.st_dev == mine.st_dev && linked.st_ino == mine.st_ino;
  }
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  return linkat(AT_FDCWD, self.c_str(), dir, name.c_str(), AT_SYMLINK_FOLLOW) ==
         0;
}

void SweepLocked(int dir);

// Takes a shared slot reference on the map `fd` (with `id`) for the outer
// map `outer_fd` (with `outer_id`): links the outer into the by-id
// directory (its slots are released from there if it dies with them full,
// ReleaseOuterLocked), then the inner map, then counts the slot. False when
// either region cannot be linked (a memfd, no usable storage directory, an
// id already naming another file): the caller holds it process-locally.
bool SharedAcquire(int outer_fd, uint32_t outer_id, int fd, uint32_t id) {
  static std::atomic<bool> swept{false};
  ByIdLock lock;
  if (lock.fd() < 0) return false;
  // The first use in this process clears what dead processes left behind.
  if (!swept.exchange(true)) SweepLocked(lock.fd());
  HeaderPage page(fd);
  MapHeader* h = page.Checked(id);
  if (h == nullptr ||
      !EnsureLinked(lock.fd(), outer_fd, std::to_string(outer_id)) ||
      !EnsureLinked(lock.fd(), fd, std::to_string(id))) {
    return false;
  }
  // Linked first, counted second: a holder killed between the two leaves a
  // link with a count of 0, which the next sweep removes.
  __atomic_fetch_add(&h->inner.slot_refs, 1, __ATOMIC_ACQ_REL);
  LockPointReached(LockPoint::kSlotRefsLocked);
  return true;
}

// Drops one shared slot reference on map `id` with the by-id directory `dir`
// locked; the last one removes its link.
void SharedReleaseLocked(int dir, uint32_t id) {
  InnerRefs::Get().Evict(id);
  const std::string name = std::to_string(id);
  const int fd = OpenLinkAt(dir, name);
  if (fd < 0) return;
  {
    HeaderPage page(fd);
    if (MapHeader* h = page.Checked(id)) {
      uint32_t n = __atomic_load_n(&h->inner.slot_refs, __ATOMIC_ACQUIRE);
      if (n > 0) {
        n = __atomic_sub_fetch(&h->inner.slot_refs, 1, __ATOMIC_ACQ_REL);
      }
      LockPointReached(LockPoint::kSlotRefsLocked);
      if (n == 0) unlinkat(dir, name.c_str(), 0);
    }
  }
  CloseOwn(fd);
}

std::atomic<OuterSlotsReader> g_outer_slots{nullptr};

// The outer map open as `fd` (linked in the by-id directory) is dead when
// nothing but that link names it (st_nlink 1: no pin) and no process has it
// open: every open description of an outer map holds a shared flock()
// (HoldOuter), so an exclusive one taken without waiting on this new
// description proves that none is left. It then stays locked until `fd` is
// closed.
bool OuterDead(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_nlink == 1 &&
         flock(fd, LOCK_EX | LOCK_NB) == 0;
}

// Releases the dead outer map open as `fd` and linked as `name`: its slots
// are put, as the kernel's map free puts every inner map
// (bpf_fd_array_map_clear, fd_htab_map_free), and its link removed.
void ReleaseOuterLocked(int dir, const std::string& name, int fd) {
  std::vector<uint32_t> ids;
  const OuterSlotsReader read = g_outer_slots.load();
  if (read == nullptr || !read(fd, &ids)) return;
  for (uint32_t id : ids) SharedReleaseLocked(dir, id);
  unlinkat(dir, name.c_str(), 0);
}

// <by-id>/.inflight, which every command that changes an outer map's slots
// holds with a shared flock() from before it takes a reference until after
// it dropped the replaced one (OuterOpGuard): a sweep that gets it
// exclusively, without waiting, knows that no slot is half changed
// anywhere. Created here (mode 0600) if missing; used only if it is a
// regular file of the caller's.
int OpenInflight(int dir) {
  const int fd = openat(dir, ".inflight",
                        O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    CloseOwn(fd);
    return -EACCES;
  }
  return fd;
}

// Visits every link of the by-id directory `dir` (locked). Dead outer maps
// are released. When no slot change is in flight anywhere (.inflight taken
// exclusively), every inner map's slot_refs is recounted from the slots of
// the live outer maps, which also repairs the count of a reference taken by
// a process killed before it wrote the slot, and inner maps no slot holds
// lose their links. Otherwise only links left with a count of 0 (a holder
// killed between link and count) are removed.
void SweepLocked(int dir) {
  const int list = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (list < 0) return;
  DIR* d = fdopendir(list);
  if (d == nullptr) {
    CloseOwn(list);
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] >= '1' && e->d_name[0] <= '9') names.push_back(e->d_name);
  }
  closedir(d);
  const int inflight = OpenInflight(dir);
  const bool quiet = inflight >= 0 && flock(inflight, LOCK_EX | LOCK_NB) == 0;
  absl::flat_hash_map<uint32_t, uint32_t> counts;
  std::vector<std::string> inners;
  const OuterSlotsReader read = g_outer_slots.load();
  for (const std::string& name : names) {
    const auto id =
        static_cast<uint32_t>(std::strtoul(name.c_str(), nullptr, 10));
    const int fd = OpenLinkAt(dir, name);
    if (fd < 0) continue;
    bool outer;
    {
      HeaderPage page(fd);
      outer = page.CheckedOuter(id);
      if (!outer && page.Checked(id) != nullptr) inners.push_back(name);
    }
    if (outer) {
      if (OuterDead(fd)) {
        // Quiet: its slots are simply not counted.
        if (quiet) {
          unlinkat(dir, name.c_str(), 0);
        } else {
          ReleaseOuterLocked(dir, name, fd);
        }
      } else if (quiet) {
        std::vector<uint32_t> ids;
        if (read != nullptr && read(fd, &ids)) {
          for (uint32_t inner : ids) ++counts[inner];
        }
      }
    }
    CloseOwn(fd);
  }
  for (const std::string& name : inners) {
    const auto id =
        static_cast<uint32_t>(std::strtoul(name.c_str(), nullptr, 10));
    const int fd = OpenLinkAt(dir, name);
    if (fd < 0) continue;
    {
      HeaderPage page(fd);
      if (MapHeader* h = page.Checked(id)) {
        uint32_t n = __atomic_load_n(&h->inner.slot_refs, __ATOMIC_ACQUIRE);
        if (quiet) {
          auto it = counts.find(id);
          n = it == counts.end() ? 0 : it->second;
          __atomic_store_n(&h->inner.slot_refs, n, __ATOMIC_RELEASE);
        }
        if (n == 0) {
          InnerRefs::Get().Evict(id);
          unlinkat(dir, name.c_str(), 0);
        }
      }
    }
    CloseOwn(fd);
  }
  if (inflight >= 0) CloseOwn(inflight);
}

// Drops one shared slot reference on map `id`.
void SharedRelease(uint32_t id) {
  ByIdLock lock;
  if (lock.fd() >= 0) SharedReleaseLocked(lock.fd(), id);
}

}  // namespace

int MapMetaFromFd(int fd, MapHeader::InnerMeta* meta) {
  FdEntry e;
  if (int err = FdTable::Get().Find(fd, &e); err != 0) return err;
  const MapHeader& h = e.map->header();
  // No more than one level of map-in-map.
  if (h.inner.present) return -EINVAL;
  // Types without map_meta_equal.
  if (h.map_type == BPF_MAP_TYPE_PROG_ARRAY) return -kENOTSUPP;
  *meta = MapHeader::InnerMeta{
      1,           h.map_type,      h.key_size, h.value_size, h.max_entries,
      h.map_flags, h.spin_lock_off, 0};
  return 0;
}

int MapFdGetPtr(const Map& outer, const void* value, uint32_t* id) {
  int32_t ufd;
  std::memcpy(&ufd, value, sizeof(ufd));
  FdEntry e;
  if (int err = FdTable::Get().Find(ufd, &e); err != 0) return err;
  const MapHeader::InnerMeta& m = outer.header().inner;
  const MapHeader& h = e.map->header();
  // bpf_map_meta_equal(), and array_map_meta_equal()'s max_entries unless
  // the template was created with BPF_F_INNER_MAP.
  bool equal = m.map_type == h.map_type && m.key_size == h.key_size &&
               m.value_size == h.value_size && m.map_flags == h.map_flags &&
               m.spin_lock_off == h.spin_lock_off;
  if (equal && m.map_type == BPF_MAP_TYPE_ARRAY &&
      !(m.map_flags & BPF_F_INNER_MAP)) {
    equal = m.max_entries == h.max_entries;
  }
  if (!equal) return -EINVAL;
  *id = e.map->id();
  // The outer map's own fd in this process (the caller's: updates come
  // through the syscall face).
  int outer_fd = -1;
  FdEntry oe;
  if (!FdTable::Get().FindById(outer.id(), &outer_fd, &oe) ||
      !SharedAcquire(outer_fd, outer.id(), ufd, *id)) {
    InnerRefs::Get().Acquire(e.map, ufd);
  }
  LockPointReached(LockPoint::kSlotRefTaken);
  return 0;
}

void MapFdPutPtr(uint32_t id) {
  if (id == 0 || InnerRefs::Get().Release(id)) return;
  SharedRelease(id);
}

std::shared_ptr<Map> InnerMapFromId(uint32_t id, int* fd) {
  return InnerRefs::Get().Find(id, fd);
}

int OpenInnerById(uint32_t id) {
  if (id == 0) return -ENOENT;
  const int dir = ByIdDir();
  if (dir < 0) return -ENOENT;
  int fd = OpenLinkAt(dir, std::to_string(id));
  CloseOwn(dir);
  if (fd < 0) return -ENOENT;
  HeaderPage page(fd);
  // A link left with a count of 0 (its holder died between link and count)
  // names no slot's map.
  MapHeader* h = page.Checked(id);
  if (h == nullptr ||
      __atomic_load_n(&h->inner.slot_refs, __ATOMIC_ACQUIRE) == 0) {
    CloseOwn(fd);
    return -ENOENT;
  }
  return fd;
}

std::shared_ptr<Map> CachedInnerMap(uint32_t id) {
  return InnerRefs::Get().Cached(id);
}

void CacheInnerMap(uint32_t id, std::shared_ptr<Map> map) {
  InnerRefs::Get().Cache(id, std::move(map));
}

void SetOuterSlotsReader(OuterSlotsReader read) { g_outer_slots.store(read); }

void HoldOuter(int fd) {
  // Shared: any number of holders; a sweep's exclusive try fails while one
  // is left. Kept until the open file description closes (every fd of it,
  // in every process that inherited or received it).
  while (flock(fd, LOCK_SH) != 0 && errno == EINTR) {
  }
}

void ReleaseDeadOuter(uint32_t id) {
  ByIdLock lock;
  if (lock.fd() < 0) return;
  const std::string name = std::to_string(id);
  const int fd = OpenLinkAt(lock.fd(), name);
  if (fd < 0) return;
  {
    HeaderPage page(fd);
    if (!page.CheckedOuter(id)) {
      CloseOwn(fd);
      return;
    }
  }
  if (OuterDead(fd)) ReleaseOuterLocked(lock.fd(), name, fd);
  CloseOwn(fd);
}

OuterOpGuard::OuterOpGuard(const Map& map) {
  if (!map.header().inner.present) return;
  const int dir = ByIdDir();
  if (dir < 0) return;
  fd_ = OpenInflight(dir);
  CloseOwn(dir);
  if (fd_ < 0) return;
  while (flock(fd_, LOCK_SH) != 0) {
    if (errno != EINTR) {
      CloseOwn(fd_);
      fd_ = -1;
      return;
    }
  }
}

OuterOpGuard::~OuterOpGuard() {
  if (fd_ >= 0) CloseOwn(fd_);
}

void SweepByIdDirectory() {
  ByIdLock lock;
  if (lock.fd() >= 0) SweepLocked(lock.fd());
}

int InnerMapRefCount(uint32_t id) {
  if (int n = InnerRefs::Get().Count(id); n >= 0) return n;
  const int fd = OpenInnerById(id);
  if (fd < 0) return 0;
  int n = 0;
  {
    HeaderPage page(fd);
    if (MapHeader* h = page.Checked(id)) {
      n = static_cast<int>(
          __atomic_load_n(&h->inner.slot_refs, __ATOMIC_ACQUIRE));
    }
  }
  CloseOwn(fd);
  return n;
}

}  // namespace bpfemu
