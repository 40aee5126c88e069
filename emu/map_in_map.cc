// SPDX-License-Identifier: Apache-2.0
#include "emu/map_in_map.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
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
int ByIdDir(bool create) {
  const int storage = BpffsStorageFd();
  if (storage < 0) return storage;
  const std::string name = ".byid-" + std::to_string(geteuid());
  int fd = -1;
  if (!create || mkdirat(storage, name.c_str(), 0700) == 0 || errno == EEXIST) {
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

// Moves a descriptor the module keeps open across a command (OuterOpGuard)
// away from the lowest free numbers, where open() puts it: a caller's fd
// closed just before (and then resolved by a batch, EBADF) must not turn
// into one of these. The same description, so its flock() is unchanged.
int MoveHigh(int fd) {
  static const int floor = [] {
    rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 3;
    const uint64_t lim = r.rlim_cur == RLIM_INFINITY ? 1 << 20 : r.rlim_cur;
    return lim > 512 ? static_cast<int>(std::min<uint64_t>(lim - 256, 4096))
                     : 3;
  }();
  const int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
  if (high < 0) return fd;
  CloseOwn(fd);
  return high;
}

// The by-id directory opened by the OuterOpGuard of the command this thread
// runs, or -1.
thread_local int t_byid_dir = -1;

// Holds the by-id directory open and flock()ed: the lock every change of a
// slot_refs count and its link takes. A holder that dies loses it with its
// descriptors, so a crash cannot strand it.
class ByIdLock {
 public:
  // Within an outer map's command the directory its OuterOpGuard opened is
  // used (one thread's, one command at a time), else it is opened here.
  // `create`: make the directory if it is missing (only where a reference
  // is taken; the other users have nothing to do without it).
  explicit ByIdLock(bool create = false)
      : fd_(t_byid_dir), borrowed_(t_byid_dir >= 0) {
    if (!borrowed_) fd_ = ByIdDir(create);
    if (fd_ < 0) return;
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int err = errno;
        if (!borrowed_) CloseOwn(fd_);
        fd_ = -err;
        return;
      }
    }
  }
  ~ByIdLock() {
    if (fd_ < 0) return;
    if (borrowed_) {
      flock(fd_, LOCK_UN);
    } else {
      CloseOwn(fd_);  // drops the lock
    }
  }
  ByIdLock(const ByIdLock&) = delete;
  ByIdLock& operator=(const ByIdLock&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
  bool borrowed_;
};

// The header of the region open as `fd`, read with pread (no mapping to
// set up and tear down), and its slot_refs written with pwrite: every
// change of a count happens under the by-id lock, so no atomic
// read-modify-write is needed, and reads and writes of the file are
// coherent with the other processes' shared mappings.
class HeaderCopy {
 public:
  explicit HeaderCopy(int fd) : fd_(fd) {
    struct stat st;
    // A head-at-end file (an mmapable array, shm.h) has it on its last page.
    uint64_t file_size;
    if (ShmRegion::HeadAtEnd(fd, &file_size) && file_size > kHeadAtEndBytes) {
      at_ = file_size - kHeadAtEndBytes;
    }
    ok_ = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
          static_cast<uint64_t>(st.st_size) >= kBodyOffset &&
          pread(fd, &h_, sizeof(h_), static_cast<off_t>(at_)) ==
              static_cast<ssize_t>(sizeof(h_)) &&
          h_.magic == MapHeader::kMagic;
  }
  // An outer map's (a map-in-map) with `id`.
  bool Outer(uint32_t id) const {
    return ok_ && h_.id == id && h_.inner.present == 1;
  }
  // A map's with `id` that is no map-in-map (only those are stored in
  // slots).
  bool Inner(uint32_t id) const {
    return ok_ && h_.id == id && h_.inner.present == 0;
  }
  uint32_t slot_refs() const { return h_.inner.slot_refs; }
  void set_slot_refs(uint32_t n) {
    h_.inner.slot_refs = n;
    (void)!pwrite(
        fd_, &n, sizeof(n),
        static_cast<off_t>(at_ + offsetof(MapHeader, inner.slot_refs)));
  }

 private:
  int fd_;
  uint64_t at_ = 0;  // the header's file offset
  bool ok_ = false;
  MapHeader h_;
};

// Whether a map's file, open as `fd` on a description of the caller's own
// (opened for this check), is still held by anything other than its by-id
// link: another name (a pin), or an open description - every description of
// a map holds a shared flock() (HoldMap), which the kernel keeps while any
// process has it open and drops when the last one closes or dies. When not,
// `fd` keeps an exclusive flock() until it is closed.
bool Held(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_nlink != 1) return true;
  return flock(fd, LOCK_EX | LOCK_NB) != 0;
}

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
// id already naming another file, a file whose last name was removed,
// which Linux does not let be linked again): the caller holds it
// process-locally.
bool SharedAcquire(int outer_fd, uint32_t outer_id, int fd, uint32_t id) {
  ByIdLock lock(/*create=*/true);
  if (lock.fd() < 0) return false;
  HeaderCopy h(fd);
  if (!h.Inner(id) ||
      !EnsureLinked(lock.fd(), outer_fd, std::to_string(outer_id)) ||
      !EnsureLinked(lock.fd(), fd, std::to_string(id))) {
    return false;
  }
  // Linked first, counted second: a holder killed between the two leaves a
  // link with a count of 0, which the next sweep removes.
  h.set_slot_refs(h.slot_refs() + 1);
  LockPointReached(LockPoint::kSlotRefsLocked);
  return true;
}

// Removes the by-id link `name` of an inner map open as `fd` (a description
// of the caller's) whose count is 0, unless something still holds the map:
// then the link stays, so that the map can be stored in a slot again (its
// file could not be linked once more), and the holder's close or a sweep
// removes it.
void UnlinkUnheldLocked(int dir, const std::string& name, int fd) {
  if (!Held(fd)) unlinkat(dir, name.c_str(), 0);
}

// Drops one shared slot reference on map `id` with the by-id directory `dir`
// locked; the last one removes its link (UnlinkUnheldLocked).
void SharedReleaseLocked(int dir, uint32_t id) {
  InnerRefs::Get().Evict(id);
  const std::string name = std::to_string(id);
  const int fd = OpenLinkAt(dir, name);
  if (fd < 0) return;
  HeaderCopy h(fd);
  if (h.Inner(id)) {
    if (h.slot_refs() > 0) h.set_slot_refs(h.slot_refs() - 1);
    LockPointReached(LockPoint::kSlotRefsLocked);
    if (h.slot_refs() == 0) UnlinkUnheldLocked(dir, name, fd);
  }
  CloseOwn(fd);
}

std::atomic<OuterSlotsReader> g_outer_slots{nullptr};

// The fd of the outer map whose command this thread runs (OuterOpGuard), or
// -1: the descriptor SharedAcquire links.
thread_local int t_outer_fd = -1;

// Releases the dead outer map (!Held) open as `fd` and linked as `name`: its
// slots
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
    HeaderCopy h(fd);
    if (h.Inner(id)) inners.push_back(name);
    if (h.Outer(id)) {
      if (!Held(fd)) {
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
    HeaderCopy h(fd);
    if (h.Inner(id)) {
      if (quiet) {
        auto it = counts.find(id);
        const uint32_t n = it == counts.end() ? 0 : it->second;
        if (n != h.slot_refs()) h.set_slot_refs(n);
      }
      if (h.slot_refs() == 0) {
        InnerRefs::Get().Evict(id);
        UnlinkUnheldLocked(dir, name, fd);
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
  // A map this process mapped read-only (Map::read_only) cannot be written
  // by programs through the outer map (docs/reliability.md).
  if (e.map->read_only()) return -EACCES;
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
  int outer_fd = t_outer_fd;
  FdEntry oe;
  if ((outer_fd < 0 && !FdTable::Get().FindById(outer.id(), &outer_fd, &oe)) ||
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
  const int dir = ByIdDir(/*create=*/false);
  if (dir < 0) return -ENOENT;
  int fd = OpenLinkAt(dir, std::to_string(id));
  CloseOwn(dir);
  if (fd < 0) return -ENOENT;
  HeaderCopy h(fd);
  // A link with a count of 0 names a map that something still holds (an
  // fd, a pin: the kernel's get_fd_by_id finds any live map), or one left
  // behind by a holder killed between link and count: not a live map.
  if (!h.Inner(id) || (h.slot_refs() == 0 && !Held(fd))) {
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

void HoldMap(int fd) {
  // Shared: any number of holders; an exclusive try (Held) fails while one
  // is left. Kept until the open file description closes (every fd of it,
  // in every process that inherited or received it).
  while (flock(fd, LOCK_SH) != 0 && errno == EINTR) {
  }
}

void ReleaseIfUnheld(uint32_t id) {
  ByIdLock lock;
  if (lock.fd() < 0) return;
  const std::string name = std::to_string(id);
  const int fd = OpenLinkAt(lock.fd(), name);
  if (fd < 0) return;
  HeaderCopy h(fd);
  if (h.Outer(id)) {
    if (!Held(fd)) ReleaseOuterLocked(lock.fd(), name, fd);
  } else if (h.Inner(id) && h.slot_refs() == 0) {
    UnlinkUnheldLocked(lock.fd(), name, fd);
  }
  CloseOwn(fd);
}

OuterOpGuard::OuterOpGuard(const Map& map, int outer_fd) {
  if (!map.header().inner.present) return;
  saved_outer_fd_ = t_outer_fd;
  t_outer_fd = outer_fd;
  active_ = true;
  saved_dir_ = t_byid_dir;
  dir_ = ByIdDir(/*create=*/true);
  if (dir_ < 0) return;
  dir_ = MoveHigh(dir_);
  // The first outer-map command in this process clears what dead processes
  // left behind, before it holds .inflight itself (so that the sweep may
  // recount).
  static std::atomic<bool> swept{false};
  if (!swept.exchange(true) && flock(dir_, LOCK_EX) == 0) {
    SweepLocked(dir_);
    flock(dir_, LOCK_UN);
  }
  t_byid_dir = dir_;
  fd_ = OpenInflight(dir_);
  if (fd_ < 0) return;
  fd_ = MoveHigh(fd_);
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
  if (!active_) return;
  t_outer_fd = saved_outer_fd_;
  t_byid_dir = saved_dir_;
  if (dir_ >= 0) CloseOwn(dir_);
}

void SweepByIdDirectory() {
  ByIdLock lock;
  if (lock.fd() >= 0) SweepLocked(lock.fd());
}

int InnerMapRefCount(uint32_t id) {
  if (int n = InnerRefs::Get().Count(id); n >= 0) return n;
  const int fd = OpenInnerById(id);
  if (fd < 0) return 0;
  HeaderCopy h(fd);
  const int n = h.Inner(id) ? static_cast<int>(h.slot_refs()) : 0;
  CloseOwn(fd);
  return n;
}

}  // namespace bpfemu
