// SPDX-License-Identifier: Apache-2.0
#include "emu/map_in_map.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

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

// Takes a shared slot reference on the map `fd` (with `id`): links it into
// the by-id directory (if it is not there yet), then counts the slot. False
// when the region cannot be linked (a memfd, no usable storage directory, an
// id already naming another file): the caller holds it process-locally.
bool SharedAcquire(int fd, uint32_t id) {
  ByIdLock lock;
  if (lock.fd() < 0) return false;
  HeaderPage page(fd);
  MapHeader* h = page.Checked(id);
  if (h == nullptr) return false;
  const std::string name = std::to_string(id);
  struct stat mine, linked;
  if (fstat(fd, &mine) != 0) return false;
  if (fstatat(lock.fd(), name.c_str(), &linked, AT_SYMLINK_NOFOLLOW) == 0) {
    if (linked.st_dev != mine.st_dev || linked.st_ino != mine.st_ino) {
      return false;
    }
  } else {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    if (linkat(AT_FDCWD, self.c_str(), lock.fd(), name.c_str(),
               AT_SYMLINK_FOLLOW) != 0) {
      return false;  // EXDEV: a memfd
    }
  }
  // Linked first, counted second: a holder killed between the two leaves a
  // link with a count of 0, which the next change of this map repairs.
  __atomic_fetch_add(&h->inner.slot_refs, 1, __ATOMIC_ACQ_REL);
  LockPointReached(LockPoint::kSlotRefsLocked);
  return true;
}

// Drops one shared slot reference on map `id`; the last one removes its
// by-id link.
void SharedRelease(uint32_t id) {
  InnerRefs::Get().Evict(id);
  ByIdLock lock;
  if (lock.fd() < 0) return;
  const std::string name = std::to_string(id);
  const int fd = OpenLinkAt(lock.fd(), name);
  if (fd < 0) return;
  {
    HeaderPage page(fd);
    if (MapHeader* h = page.Checked(id)) {
      uint32_t n = __atomic_load_n(&h->inner.slot_refs, __ATOMIC_ACQUIRE);
      if (n > 0) {
        n = __atomic_sub_fetch(&h->inner.slot_refs, 1, __ATOMIC_ACQ_REL);
      }
      LockPointReached(LockPoint::kSlotRefsLocked);
      if (n == 0) unlinkat(lock.fd(), name.c_str(), 0);
    }
  }
  CloseOwn(fd);
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
  if (!SharedAcquire(ufd, *id)) InnerRefs::Get().Acquire(e.map, ufd);
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
