// SPDX-License-Identifier: Apache-2.0
#include "emu/shm.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "emu/bpffs.h"

namespace bpfemu {
namespace {

// The layout mark of a region file (shm.h, head-at-end regions): one byte
// past a whole number of pages. No other region has such a size (Create
// refuses one), and no map value, program store or user mapping can change
// a file's size.
constexpr uint64_t kHeadAtEndMarkBytes = 1;
bool HeadAtEndSize(uint64_t file_size) {
  return file_size > kHeadAtEndBytes + kHeadAtEndMarkBytes &&
         file_size % kHeadAtEndBytes == kHeadAtEndMarkBytes;
}

// A file's identity as /proc/PID/maps shows it: device and inode.
struct MappedFile {
  unsigned major = 0, minor = 0;
  unsigned long long ino = 0;
};

// Calls f(start, end, file) for each mapping listed in `path` (a
// /proc/PID/maps) until it returns true. 1 if it did, 0 if not, -errno if
// the file cannot be read (-EACCES: the process may not be inspected).
template <typename F>
int ScanMaps(const char* path, F f) {
  FILE* in = std::fopen(path, "re");
  if (in == nullptr) return -errno;
  char* line = nullptr;
  size_t cap = 0;
  int found = 0;
  while (found == 0 && getline(&line, &cap, in) > 0) {
    unsigned long long start, end;
    MappedFile m;
    if (std::sscanf(line, "%llx-%llx %*s %*s %x:%x %llu", &start, &end,
                    &m.major, &m.minor, &m.ino) == 5 &&
        f(start, end, m)) {
      found = 1;
    }
  }
  std::free(line);
  std::fclose(in);
  return found;
}

// The file mapped at `addr` in this process: false for anonymous memory
// (a program's stack or context) or when the maps cannot be read.
bool FileMappedAt(const void* addr, MappedFile* file) {
  const auto a = reinterpret_cast<uintptr_t>(addr);
  return ScanMaps("/proc/self/maps",
                  [&](unsigned long long start, unsigned long long end,
                      const MappedFile& m) {
                    if (a < start || a >= end) return false;
                    *file = m;
                    return true;
                  }) == 1 &&
         file->ino != 0;
}

// PID namespace marks (shm.h, "Lock words and PID namespaces"). A lock
// word holds its holder's tid as the holder's own PID namespace numbers
// it, so a waiter may read it as a tid of its own namespace only when no
// process of another namespace can have written it. Every description a
// writable region is mapped through holds an open-file-description read
// lock on byte kPidNsMarkBase + N of the region's file, N the inode number
// of the mapping process's PID namespace (/proc/self/ns/pid; nsfs numbers
// are below 2^32, fs/proc/generic.c proc_alloc_inum). The kernel drops
// such a lock only when the description is released (fs/locks.c
// locks_remove_file from __fput), which a mapping delays until it is
// unmapped, so a namespace's mark stays while one of its processes maps
// the region through it and goes when the last one exits, however it
// dies. A waiter reads the marks through a description of its own
// (F_OFD_GETLK), which no process can take from another; a planted lock
// only adds a namespace, which makes waiters wait.
constexpr off_t kPidNsMarkBase = off_t{1} << 41;
constexpr uint64_t kPidNsMarkSpan = uint64_t{1} << 32;
// More marks than this (or a lock spanning more bytes) is not a set of
// namespaces bpfemu wrote: the marks are then unreadable.
constexpr size_t kMaxPidNamespaces = 64;

// The inode number of the PID namespace link at `path`, 0 if unreadable.
uint64_t PidNsAt(const char* path) {
  struct stat st;
  if (stat(path, &st) != 0 || st.st_ino == 0 || st.st_ino >= kPidNsMarkSpan) {
    return 0;
  }
  return static_cast<uint64_t>(st.st_ino);
}

// This process's PID namespace (0: unknown), read once per process: a
// process never changes PID namespace (unshare and setns move only its
// later children), but a fork()ed child may be in another one.
std::atomic<pid_t> g_pid_ns_of{0};
std::atomic<uint64_t> g_pid_ns{0};
uint64_t OwnPidNs() {
  const pid_t pid = getpid();
  if (g_pid_ns_of.load(std::memory_order_acquire) == pid) {
    return g_pid_ns.load(std::memory_order_relaxed);
  }
  const uint64_t ns = PidNsAt("/proc/self/ns/pid");
  g_pid_ns.store(ns, std::memory_order_relaxed);
  g_pid_ns_of.store(pid, std::memory_order_release);
  return ns;
}

// Marks namespace `ns` on the description open as `fd` (a shared lock:
// any number of descriptions hold each mark).
void MarkPidNs(int fd, uint64_t ns) {
  if (ns == 0) return;
  struct flock fl = {};
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kPidNsMarkBase + static_cast<off_t>(ns);
  fl.l_len = 1;
  (void)fcntl(fd, F_OFD_SETLK, &fl);
}

// Adds the namespaces marked on [lo, hi) of the file open as `probe` (a
// description holding no mark: a description never sees its own locks) to
// *out. False when they cannot be read.
bool ReadPidNsMarks(int probe, off_t lo, off_t hi, std::vector<uint64_t>* out) {
  if (lo >= hi) return true;
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = lo;
  fl.l_len = hi - lo;
  if (fcntl(probe, F_OFD_GETLK, &fl) != 0) return false;
  if (fl.l_type == F_UNLCK) return true;
  // fs/locks.c posix_test_lock answers one conflicting lock, not the
  // lowest: the rest of the range is asked on both sides of it.
  const off_t s = std::max<off_t>(fl.l_start, lo);
  const off_t e =
      fl.l_len == 0 ? hi : std::min<off_t>(fl.l_start + fl.l_len, hi);
  if (e <= s || e - s > static_cast<off_t>(kMaxPidNamespaces)) return false;
  for (off_t b = s; b < e; ++b) {
    if (out->size() >= kMaxPidNamespaces) return false;
    out->push_back(static_cast<uint64_t>(b - kPidNsMarkBase));
  }
  return ReadPidNsMarks(probe, lo, s, out) && ReadPidNsMarks(probe, e, hi, out);
}

// The writable regions this process has attached (ShmRegion::Attach), so
// that a fork()ed child in another PID namespace can mark its own
// namespace on them, and a waiter find a descriptor of a word's file.
struct AttachedRegion {
  uint8_t* base;
  uint64_t file_size, mirror_tail;
  bool head_at_end;
  dev_t dev;
  ino_t ino;
  int fd_hint;  // the caller's fd at attach (may be closed or reused since)
  uint64_t ns;  // the namespace the mapping's description marks
};
struct AttachedRegions {
  std::mutex mu;
  std::vector<AttachedRegion> list;
};
AttachedRegions* g_attached = nullptr;
AttachedRegions& Attached() {
  static AttachedRegions* const r = [] {
    auto* regions =
        new AttachedRegions;  // never freed: regions outlive statics
    g_attached = regions;
    // A fork() while another thread holds the list's mutex must not leave
    // the child's copy locked.
    pthread_atfork([] { g_attached->mu.lock(); },
                   [] { g_attached->mu.unlock(); },
                   [] { g_attached->mu.unlock(); });
    return regions;
  }();
  return *r;
}

bool SameFile(int fd, dev_t dev, ino_t ino) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

// A descriptor of the file (dev, ino), mapped at [start, end): the fd it
// was attached through if that still names it, else any fd of the process
// that does, else one opened through /proc/self/map_files (which needs
// CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE: fs/proc/base.c
// proc_map_files_get_link). *owned is set when the caller must close it.
// -1 when none can be had.
int DescriptorOf(dev_t dev, ino_t ino, int hint, uint64_t start, uint64_t end,
                 bool* owned) {
  *owned = false;
  if (hint >= 0 && SameFile(hint, dev, ino)) return hint;
  if (DIR* d = opendir("/proc/self/fd")) {
    int found = -1;
    while (dirent* e = readdir(d)) {
      char* stop;
      const long n = std::strtol(e->d_name, &stop, 10);
      if (*stop != '\0' || stop == e->d_name || n == dirfd(d)) continue;
      if (SameFile(static_cast<int>(n), dev, ino)) {
        found = static_cast<int>(n);
        break;
      }
    }
    closedir(d);
    if (found >= 0) return found;
  }
  char path[96];
  std::snprintf(path, sizeof(path), "/proc/self/map_files/%llx-%llx",
                static_cast<unsigned long long>(start),
                static_cast<unsigned long long>(end));
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || !SameFile(fd, dev, ino)) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *owned = true;
  return fd;
}

int OwnDescription(int fd, bool read_only);  // below

// Maps a's parts again, in place, through `fd`: the same pages of the same
// file, through another description (MAP_FIXED replaces each part at once).
bool RemapInPlace(int fd, const AttachedRegion& a) {
  struct Part {
    uint64_t at, len, offset;
  } parts[2];
  int n = 0;
  if (a.head_at_end) {
    parts[n++] = {kHeadAtEndBytes, a.file_size - kHeadAtEndBytes, 0};
    parts[n++] = {0, kHeadAtEndBytes, a.file_size - kHeadAtEndBytes};
  } else {
    parts[n++] = {0, a.file_size, 0};
    if (a.mirror_tail > 0) {
      parts[n++] = {a.file_size, a.mirror_tail, a.file_size - a.mirror_tail};
    }
  }
  for (int i = 0; i < n; ++i) {
    if (mmap(a.base + parts[i].at, static_cast<size_t>(parts[i].len),
             PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED, fd,
             static_cast<off_t>(parts[i].offset)) == MAP_FAILED) {
      return false;
    }
  }
  return true;
}

// Called by each thread's first CurrentTid(): in a fork()ed child whose PID
// namespace differs from the one its inherited regions' descriptions
// mark (a parent that called unshare(CLONE_NEWPID) or setns first), each
// region still mapped here is mapped again through a description of the
// child's own that marks the child's namespace. The child then no longer
// shares its parent's description, so neither keeps the other's mark
// alive. A region the child has no descriptor of (and may not reopen
// through map_files) keeps the shared description, marked for the child's
// namespace too: its mark then lasts as long as the parent's.
void MarkOwnPidNsOnInherited() {
  if (g_attached == nullptr) return;
  const uint64_t ns = OwnPidNs();
  if (ns == 0) return;
  AttachedRegions& r = *g_attached;
  std::lock_guard<std::mutex> lock(r.mu);
  for (AttachedRegion& a : r.list) {
    if (a.ns == ns) continue;
    a.ns = ns;
    uint64_t vma_end = 0;
    MappedFile m;
    const auto at = reinterpret_cast<unsigned long long>(a.base);
    if (ScanMaps("/proc/self/maps",
                 [&](unsigned long long start, unsigned long long end,
                     const MappedFile& f) {
                   if (start != at) return false;
                   m = f;
                   vma_end = end;
                   return true;
                 }) != 1 ||
        makedev(m.major, m.minor) != a.dev || m.ino != a.ino) {
      continue;  // not mapped here (unmapped since, or never inherited)
    }
    bool owned;
    const int fd = DescriptorOf(a.dev, a.ino, a.fd_hint, at, vma_end, &owned);
    if (fd < 0) continue;
    const int own = OwnDescription(fd, false);
    if (own >= 0) {
      MarkPidNs(own, ns);
      if (!RemapInPlace(own, a)) MarkPidNs(fd, ns);
      close(own);
    } else {
      MarkPidNs(fd, ns);
    }
    if (owned) close(fd);
  }
}

// The PID namespaces other than the caller's that mark the file the word
// at `word` is in (*file: the file). False when that cannot be known: the
// maps unreadable, no descriptor of the file, the marks unreadable. A word
// in anonymous memory is in no region: no marks.
bool ForeignPidNamespaces(const void* word, MappedFile* file,
                          std::vector<uint64_t>* out) {
  const auto a = reinterpret_cast<uintptr_t>(word);
  uint64_t vma_start = 0, vma_end = 0;
  const int found = ScanMaps(
      "/proc/self/maps", [&](unsigned long long start, unsigned long long end,
                             const MappedFile& m) {
        if (a < start || a >= end) return false;
        *file = m;
        vma_start = start;
        vma_end = end;
        return true;
      });
  if (found < 0) return false;
  if (found == 0 || file->ino == 0) return true;
  const dev_t dev = makedev(file->major, file->minor);
  const ino_t ino = static_cast<ino_t>(file->ino);
  int hint = -1;
  {
    AttachedRegions& r = Attached();
    std::lock_guard<std::mutex> lock(r.mu);
    for (const AttachedRegion& ar : r.list) {
      if (ar.dev == dev && ar.ino == ino) {
        hint = ar.fd_hint;
        break;
      }
    }
  }
  bool owned;
  const int fd = DescriptorOf(dev, ino, hint, vma_start, vma_end, &owned);
  if (fd < 0) return false;
  // A fresh description, which holds no mark (a borrowed fd's description
  // might, and would not see its own).
  int probe = fd;
  if (!owned) {
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    const int fresh = open(path, O_RDONLY | O_CLOEXEC);
    if (fresh >= 0) probe = fresh;
  }
  std::vector<uint64_t> marks;
  const bool ok = ReadPidNsMarks(
      probe, kPidNsMarkBase,
      kPidNsMarkBase + static_cast<off_t>(kPidNsMarkSpan), &marks);
  if (probe != fd) close(probe);
  if (owned) close(fd);
  if (!ok) return false;
  const uint64_t own = OwnPidNs();
  for (uint64_t ns : marks) {
    if (ns != own) out->push_back(ns);
  }
  return own != 0 || marks.empty();
}

}  // namespace

namespace {

// Drops the record of the region mapped at `base` (being unmapped).
void ForgetAttached(const uint8_t* base) {
  if (base == nullptr || g_attached == nullptr) return;
  std::lock_guard<std::mutex> lock(g_attached->mu);
  auto& list = g_attached->list;
  list.erase(
      std::remove_if(list.begin(), list.end(),
                     [&](const AttachedRegion& a) { return a.base == base; }),
      list.end());
}

}  // namespace

ShmRegion::~ShmRegion() {
  if (base_ != nullptr) {
    ForgetAttached(base_);
    munmap(base_, size_);
  }
}

ShmRegion::ShmRegion(ShmRegion&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      file_size_(std::exchange(other.file_size_, 0)),
      read_only_(std::exchange(other.read_only_, false)),
      head_at_end_(std::exchange(other.head_at_end_, false)) {}

ShmRegion& ShmRegion::operator=(ShmRegion&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) {
      ForgetAttached(base_);
      munmap(base_, size_);
    }
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    file_size_ = std::exchange(other.file_size_, 0);
    read_only_ = std::exchange(other.read_only_, false);
    head_at_end_ = std::exchange(other.head_at_end_, false);
  }
  return *this;
}

namespace {

// Regions above this size check the memory available first.
constexpr uint64_t kLargeRegion = uint64_t{4} << 20;

// The first number in `path` (UINT64_MAX if unreadable or "max").
uint64_t ReadNumber(const std::string& path, const char* format) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return UINT64_MAX;
  char line[128];
  unsigned long long v = 0;
  bool found = false;
  while (!found && std::fgets(line, sizeof(line), f) != nullptr) {
    found = std::sscanf(line, format, &v) == 1;
  }
  std::fclose(f);
  return found ? uint64_t{v} : UINT64_MAX;
}

// What the process's memory cgroup and each of its ancestors still allow
// (limit minus usage; the smallest), UINT64_MAX without a limit. Since 5.11
// the kernel charges map memory to the creator's memory cgroup
// (bpf_map_area_alloc with __GFP_ACCOUNT, kernel/bpf/syscall.c) and fails a
// create the cgroup cannot hold with ENOMEM. The region's tmpfs pages are
// charged to the same cgroup, but backing them past the limit wakes the
// cgroup's OOM killer instead of failing, so the limit is checked first.
uint64_t CgroupHeadroom() {
  FILE* f = std::fopen("/proc/self/cgroup", "re");
  if (f == nullptr) return UINT64_MAX;
  // cgroup v1's memory hierarchy if mounted, else the v2 one.
  std::string v1, v2;
  char line[512];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    std::string l(line);
    if (!l.empty() && l.back() == '\n') l.pop_back();
    const size_t a = l.find(':'), b = l.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = l.substr(a + 1, b - a - 1);
    const std::string path = l.substr(b + 1);
    if (l.compare(0, a, "0") == 0 && controllers.empty()) v2 = path;
    for (size_t p = 0; p <= controllers.size();) {
      size_t comma = controllers.find(',', p);
      if (comma == std::string::npos) comma = controllers.size();
      if (controllers.compare(p, comma - p, "memory") == 0) v1 = path;
      p = comma + 1;
    }
  }
  std::fclose(f);
  struct Hierarchy {
    const char* root;
    const char* limit;
    const char* usage;
    const std::string* path;
  };
  const Hierarchy kHierarchies[] = {
      {"/sys/fs/cgroup/memory", "/memory.limit_in_bytes",
       "/memory.usage_in_bytes", &v1},
      {"/sys/fs/cgroup", "/memory.max", "/memory.current", &v2},
      {"/sys/fs/cgroup/unified", "/memory.max", "/memory.current", &v2},
  };
  for (const Hierarchy& h : kHierarchies) {
    std::string cg = *h.path;
    if (cg.empty() || cg[0] != '/') continue;
    uint64_t headroom = UINT64_MAX;
    bool any = false;
    for (;;) {
      const std::string dir = h.root + (cg == "/" ? std::string() : cg);
      const uint64_t limit = ReadNumber(dir + h.limit, "%llu");
      const uint64_t usage = ReadNumber(dir + h.usage, "%llu");
      if (usage != UINT64_MAX) any = true;
      if (limit != UINT64_MAX && usage != UINT64_MAX) {
        headroom = std::min(headroom, limit > usage ? limit - usage : 0);
      }
      if (cg == "/") break;
      const size_t slash = cg.rfind('/');
      cg = slash == 0 ? "/" : cg.substr(0, slash);
    }
    if (any) return headroom;
  }
  return UINT64_MAX;
}

// The memory a new region may take: /proc/meminfo's MemAvailable, bounded
// by the memory cgroup's headroom.
uint64_t AvailableMemory() {
  const uint64_t kib = ReadNumber("/proc/meminfo", "MemAvailable: %llu kB");
  const uint64_t system = kib == UINT64_MAX ? UINT64_MAX : kib * 1024;
  return std::min(system, CgroupHeadroom());
}

}  // namespace

int ShmRegion::Create(const char* name, uint64_t size, int* fd, ShmRegion* out,
                      uint64_t mirror_tail, uint64_t reserve,
                      bool head_at_end) {
  // A region larger than the memory the system or the memory cgroup could
  // still give is refused up front, as the kernel's vmalloc or memcg charge
  // fails: backing it (below) would first drive the machine, or the cgroup,
  // into the OOM killer where the file system does not bound it (a memfd,
  // or a large tmpfs).
  const uint64_t backed = std::min(size, reserve);
  if (backed > kLargeRegion && backed > AvailableMemory()) return -ENOMEM;
  // The layout is in the file's size (HeadAtEndSize): a head-at-end file
  // has one byte past its last page; no region of the other layout may
  // have a size of that form (region geometries are multiples of 8).
  if (!head_at_end && HeadAtEndSize(size)) return -EINVAL;
  const uint64_t file_size = head_at_end ? size + kHeadAtEndMarkBytes : size;
  // An unnamed file on the emulated bpffs, so the map can be pinned; a
  // memfd if that is impossible.
  int mfd = BpffsCreateAnonymous();
  if (mfd < 0) mfd = memfd_create(name, MFD_CLOEXEC);
  if (mfd < 0) return -errno;
  if (ftruncate(mfd, static_cast<off_t>(file_size)) != 0) {
    int err = errno;
    close(mfd);
    return err == EFBIG || err == EINVAL ? -ENOMEM : -err;
  }
  // Creation reserves what it promises: the whole file is backed now, as
  // the kernel allocates (and charges) a preallocated map at create, so a
  // map the storage (tmpfs size, memory cgroup) cannot hold fails here with
  // the kernel's ENOMEM instead of raising SIGBUS when it is filled later.
  // ENOSPC / EFBIG (the file system is full or too small) and ENOMEM all
  // become the kernel's ENOMEM. A file system without fallocate
  // (EOPNOTSUPP) keeps the sparse file, as before.
  if (fallocate(mfd, 0, 0, static_cast<off_t>(backed)) != 0 &&
      errno != EOPNOTSUPP) {
    close(mfd);
    return -ENOMEM;
  }
  ShmRegion region;
  if (int err = Attach(mfd, &region, mirror_tail); err != 0) {
    close(mfd);
    return err;
  }
  *fd = mfd;
  *out = std::move(region);
  return 0;
}

MappingFd::MappingFd(int map_fd, int prot) : fd_(map_fd) {
  if (prot & PROT_WRITE) return;
  const std::string path = "/proc/self/fd/" + std::to_string(map_fd);
  owned_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  fd_ = owned_ >= 0 ? owned_ : -errno;
}

MappingFd::~MappingFd() {
  if (owned_ >= 0) close(owned_);
}

namespace {

// A description of fd's file of its own, for the mapping to keep: a
// mapping holds the open file description it was made through, and a
// kernel map's file is released when its last fd closes, whatever the
// process still maps (a perf event array then clears what that file
// stored, emu/perf_event_array.h). The own description holds a shared
// flock() as every description of a map does (map_in_map.h HoldMap), so a
// map this process still maps stays held when the caller's fds are gone
// (unless it is being released, below).
// -1 when it cannot be opened: the caller's description is mapped.
int OwnDescription(int fd, bool read_only) {
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  const int own =
      open(self.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (own < 0) return -1;
  // Not waiting: a description holding it exclusively is a release in
  // progress (map_in_map.cc Held), which may be what maps it now.
  flock(own, LOCK_SH | LOCK_NB);
  return own;
}

}  // namespace

int ShmRegion::Attach(int caller_fd, ShmRegion* out, uint64_t mirror_tail,
                      bool read_only) {
  const int own = OwnDescription(caller_fd, read_only);
  const int fd = own >= 0 ? own : caller_fd;
  struct CloseOwn {
    int fd;
    ~CloseOwn() {
      if (fd >= 0) close(fd);
    }
  } close_own{own};
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  if (st.st_size <= 0) return -EINVAL;
  const bool head_at_end = HeadAtEndSize(static_cast<uint64_t>(st.st_size));
  // The region's bytes: a head-at-end file's mark byte is not one of them.
  const uint64_t file_size = static_cast<uint64_t>(st.st_size) -
                             (head_at_end ? kHeadAtEndMarkBytes : 0);
  if (mirror_tail > file_size) return -EINVAL;
  if (head_at_end && (mirror_tail != 0 || file_size <= kHeadAtEndBytes ||
                      file_size % kHeadAtEndBytes != 0)) {
    return -EINVAL;
  }
  const uint64_t total = file_size + mirror_tail;
  const int prot = read_only ? PROT_READ : PROT_READ | PROT_WRITE;
  // A head-at-end file: its last page first, then the rest from offset 0.
  void* p = mmap(
      nullptr, static_cast<size_t>(total), prot, MAP_SHARED | MAP_NORESERVE, fd,
      head_at_end ? static_cast<off_t>(file_size - kHeadAtEndBytes) : 0);
  if (p == MAP_FAILED) return -ENOMEM;
  auto* base = static_cast<uint8_t*>(p);
  if (head_at_end &&
      mmap(base + kHeadAtEndBytes,
           static_cast<size_t>(file_size - kHeadAtEndBytes), prot,
           MAP_SHARED | MAP_NORESERVE | MAP_FIXED, fd, 0) == MAP_FAILED) {
    munmap(base, static_cast<size_t>(total));
    return -ENOMEM;
  }
  if (mirror_tail > 0) {
    // Replace the part past the end of the file with the file's tail.
    void* m = mmap(base + file_size, static_cast<size_t>(mirror_tail), prot,
                   MAP_SHARED | MAP_FIXED, fd,
                   static_cast<off_t>(file_size - mirror_tail));
    if (m == MAP_FAILED) {
      munmap(base, static_cast<size_t>(total));
      return -ENOMEM;
    }
  }
  if (!read_only) {
    // A read-only mapping never writes a lock word: no mark, no record.
    const uint64_t ns = OwnPidNs();
    MarkPidNs(fd, ns);
    AttachedRegions& r = Attached();
    std::lock_guard<std::mutex> lock(r.mu);
    auto& list = r.list;
    // A record left at this address by a mapping removed without its
    // ShmRegion (a test's munmap) is stale.
    list.erase(
        std::remove_if(list.begin(), list.end(),
                       [&](const AttachedRegion& a) { return a.base == base; }),
        list.end());
    list.push_back({base, file_size, mirror_tail, head_at_end, st.st_dev,
                    st.st_ino, caller_fd, ns});
  }
  out->~ShmRegion();
  out->base_ = base;
  out->size_ = total;
  out->file_size_ = file_size;
  out->read_only_ = read_only;
  out->head_at_end_ = head_at_end;
  return 0;
}

bool ShmRegion::HeadAtEnd(int fd, uint64_t* file_size) {
  struct stat st;
  if (fstat(fd, &st) != 0 ||
      !HeadAtEndSize(static_cast<uint64_t>(st.st_size))) {
    return false;
  }
  *file_size = static_cast<uint64_t>(st.st_size) - kHeadAtEndMarkBytes;
  return true;
}

int ShmRegion::Populate(uint64_t offset, uint64_t len) const {
  if (len == 0) return 0;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t begin = offset / page * page;
  const uint64_t end = std::min(RoundUp(offset + len, page), file_size_);
  if (offset >= file_size_ || begin >= end) return -EINVAL;
  if (madvise(base_ + begin, static_cast<size_t>(end - begin),
              MADV_POPULATE_WRITE) == 0) {
    return 0;
  }
  // EINVAL: no MADV_POPULATE_WRITE here (or a read-only mapping, which
  // stores nothing); EFAULT: the store would have raised SIGBUS.
  return errno == EINVAL ? 0 : -ENOMEM;
}

int ShmRegion::PopulateSlot(uint64_t pool_offset, uint64_t slot_size,
                            uint64_t index) const {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t start = pool_offset + index * slot_size;
  // [.., from) is backed already: by the slot before, or (slot 0) by
  // nothing the pool can count on.
  const uint64_t from = index == 0 ? start : RoundUp(start, page);
  const uint64_t to = start + slot_size;
  return to > from ? Populate(from, to - from) : 0;
}

void (*g_lock_point_hook)(LockPoint) = nullptr;
int g_lock_point_site = 0;

namespace {

// How long a waiter waits before it checks whether the holder still lives:
// a live holder is never robbed, so this only bounds the recovery delay.
constexpr timespec kOwnerCheckInterval = {0, 20 * 1000 * 1000};  // 20 ms
constexpr int kSpins = 256;            // pauses before a spin waiter yields
constexpr int kYieldsPerCheck = 4096;  // yields between liveness checks

long Futex(std::atomic<uint32_t>* addr, int op, uint32_t val,
           const timespec* timeout = nullptr) {
  // Not FUTEX_PRIVATE_FLAG: waiters may be in other processes.
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), op, val, timeout,
                 nullptr, 0);
}

// A dead holder's word `seen` replaced by ours: true if this thread won.
bool TakeOver(std::atomic<uint32_t>* w, uint32_t seen, uint32_t mine) {
  return w->compare_exchange_strong(seen, mine, std::memory_order_acquire);
}

// A holder tid no thread can have: 0 (a word of only ShmMutex::kWaiters)
// or one at or above PID_MAX_LIMIT (include/linux/threads.h: 2^22 on
// 64-bit; alloc_pid() in kernel/pid.c never hands out more, and
// CurrentTidSlow() checks it).
bool ImpossibleTid(uint32_t tid) { return tid == 0 || tid > kValueLockTidMask; }

// A word naming no thread that can hold it, known before any wait: an
// impossible tid, or the calling thread itself when every process that
// maps the word's region is of the caller's PID namespace (else the tid
// may be another namespace's thread: HolderGone decides). No path of
// bpfemu waits for a lock its own thread holds (each lock's nesting is
// fixed, lru_list.h and hash_map.h), so a word naming the waiter is a
// stale one: planted in the region, or left by a dead thread whose tid
// this thread now has.
bool NamesNoHolderNow(const void* word, uint32_t tid) {
  if (ImpossibleTid(tid)) return true;
  if (tid != CurrentTid()) return false;
  MappedFile file;
  std::vector<uint64_t> foreign;
  return ForeignPidNamespaces(word, &file, &foreign) && foreign.empty();
}

// Whether thread `tid` (alive) cannot be holding the lock word at `word`:
// its process maps no part of the file the word is in. Every holder of a
// region lock has the region mapped (it stored its tid there and may
// sleep on it), so a thread whose process maps no page of the file - a
// kernel thread, an unrelated program, a bpfemu process that never
// attached this map - holds none of its locks. False (it may hold it)
// when the word is in no file, or when the maps of tid's process cannot
// be read (another user's or a non-dumpable process: ptrace read access,
// fs/proc/task_mmu.c proc_maps_open through fs/proc/base.c proc_mem_open;
// with /proc mounted hidepid=invisible, fs/proc/base.c proc_pid_lookup and
// proc_pid_permission answer ENOENT for such a process, so ENOENT says
// nothing about whether it exists): a lock of a map shared with such a
// process is then waited for. Whether the thread exists is OwnerAlive's
// question (kill), asked first by HolderGone.
bool NotMappedByHolder(const void* word, uint32_t tid) {
  MappedFile file;
  if (!FileMappedAt(word, &file)) return false;
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%u/maps", tid);
  const int found = ScanMaps(path, [&](unsigned long long, unsigned long long,
                                       const MappedFile& m) {
    return m.major == file.major && m.minor == file.minor && m.ino == file.ino;
  });
  return found == 0;
}

// The NSpid line of a /proc status file: the thread's number in each PID
// namespace from /proc's down to its own; the last is its own namespace's
// (fs/proc/array.c proc_pid_status). *zombie: state Z or X. False if the
// file cannot be read.
bool ReadStatus(const char* path, uint32_t* own_tid, bool* zombie) {
  FILE* in = std::fopen(path, "re");
  if (in == nullptr) return false;
  char line[512];
  bool have_tid = false;
  *zombie = false;
  while (std::fgets(line, sizeof(line), in) != nullptr) {
    if (std::strncmp(line, "State:", 6) == 0) {
      const char* p = line + 6;
      while (*p == ' ' || *p == '\t') ++p;
      *zombie = *p == 'Z' || *p == 'X';
    } else if (std::strncmp(line, "NSpid:", 6) == 0) {
      char* p = line + 6;
      for (;;) {
        char* stop;
        const unsigned long v = std::strtoul(p, &stop, 10);
        if (stop == p) break;
        *own_tid = static_cast<uint32_t>(v);
        have_tid = true;
        p = stop;
      }
    }
  }
  std::fclose(in);
  return have_tid;
}

// Whether thread `tid` of PID namespace `ns` (another than the caller's)
// cannot be holding a lock word in `file`. /proc lists the processes of
// the caller's namespace and of those below it, each thread with its
// numbers down to its own namespace (NSpid, world-readable), never those
// of namespaces above or beside the caller's. So: true when some process
// of `ns` shows here (its /proc/PID/ns/pid, which needs ptrace access,
// names `ns`) and no thread whose own number is `tid` can be the holder -
// none is of `ns`, or the one that is is a zombie or its process maps no
// page of the file. A thread numbered `tid` whose process's namespace
// cannot be read may be the holder: false, as when no process of `ns`
// shows (a namespace above or beside the caller's: its holders are waited
// for until the namespace's mark goes).
bool GoneInPidNs(const MappedFile& file, uint64_t ns, uint32_t tid) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return false;
  bool seen = false;
  int verdict = -1;  // -1: no such thread; 0: a possible holder; 1: gone
  while (verdict != 0) {
    const dirent* e = readdir(proc);
    if (e == nullptr) break;
    char* stop;
    const long pid = std::strtol(e->d_name, &stop, 10);
    if (*stop != '\0' || stop == e->d_name || pid <= 0) continue;
    char path[96];
    std::snprintf(path, sizeof(path), "/proc/%ld/ns/pid", pid);
    const uint64_t pns = PidNsAt(path);  // 0: cannot be read
    if (pns == ns) seen = true;
    if (pns != ns && pns != 0) continue;
    std::snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    DIR* tasks = opendir(path);
    if (tasks == nullptr) continue;  // exited meanwhile
    while (const dirent* t = readdir(tasks)) {
      if (t->d_name[0] < '0' || t->d_name[0] > '9') continue;
      std::snprintf(path, sizeof(path), "/proc/%ld/task/%.16s/status", pid,
                    t->d_name);
      uint32_t own_tid = 0;
      bool zombie = false;
      if (!ReadStatus(path, &own_tid, &zombie) || own_tid != tid) continue;
      if (pns == 0) {
        verdict = 0;
      } else if (zombie) {
        verdict = 1;
      } else {
        std::snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
        verdict = ScanMaps(path,
                           [&](unsigned long long, unsigned long long,
                               const MappedFile& m) {
                             return m.major == file.major &&
                                    m.minor == file.minor && m.ino == file.ino;
                           }) == 0
                      ? 1
                      : 0;
      }
      break;
    }
    closedir(tasks);
  }
  closedir(proc);
  if (verdict >= 0) return verdict == 1;
  return seen;
}

// The full check a waiter makes after waiting a while: true when the tid
// the lock word at `word` names cannot be holding it. Read as a thread of
// the caller's PID namespace, it must be impossible, the waiter, gone (or a
// zombie: OwnerAlive), or of a process that does not map the region. When
// processes of other namespaces map the region too (their marks,
// ForeignPidNamespaces), it must also be gone read as a thread of each of
// them (GoneInPidNs); when the marks cannot be read, it is waited for. A
// live thread that maps the region is never robbed, however long it holds
// the lock, whatever its namespace.
bool HolderGone(const void* word, uint32_t tid) {
  if (ImpossibleTid(tid)) return true;
  if (tid != CurrentTid() && OwnerAlive(tid) && !NotMappedByHolder(word, tid)) {
    return false;
  }
  MappedFile file;
  std::vector<uint64_t> foreign;
  if (!ForeignPidNamespaces(word, &file, &foreign)) return false;
  for (uint64_t ns : foreign) {
    if (!GoneInPidNs(file, ns, tid)) return false;
  }
  return true;
}

}  // namespace

namespace shm_internal {

thread_local constinit uint32_t t_tid = 0;

uint32_t CurrentTidSlow() {
  if (t_tid == 0) {
    static const bool registered = [] {
      // The child's only thread gets a new tid.
      pthread_atfork(nullptr, nullptr, [] { t_tid = 0; });
      return true;
    }();
    (void)registered;
    const auto tid = static_cast<uint32_t>(syscall(SYS_gettid));
    // A value's bpf_spin_lock word keeps the tid in its low 22 bits; Linux
    // never hands out a tid >= PID_MAX_LIMIT (2^22 on 64-bit).
    if (tid == 0 || (tid & ~kValueLockTidMask) != 0) {
      std::fprintf(stderr, "bpfemu: tid %u does not fit in 22 bits\n", tid);
      std::abort();
    }
    // Before this thread stores its tid anywhere: a fork()ed child in
    // another PID namespace marks its own on the regions it inherited.
    MarkOwnPidNsOnInherited();
    t_tid = tid;
  }
  return t_tid;
}

}  // namespace shm_internal

bool OwnerAlive(uint32_t tid) {
  tid &= ~ShmMutex::kWaiters;
  if (tid == 0) return true;
  // Only kill's ESRCH says the thread is gone (kernel/signal.c
  // kill_proc_info: no task with that id); EPERM means it exists.
  if (kill(static_cast<pid_t>(tid), 0) != 0 && errno == ESRCH) return false;
  // A killed process stays a zombie until reaped; it holds nothing. Its
  // /proc entry may be hidden (hidepid=invisible: fs/proc/base.c
  // proc_pid_lookup answers ENOENT for a process the caller may not
  // ptrace), so an unreadable entry of a thread kill found is alive.
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%u/stat", tid);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  char buf[512];
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return true;
  buf[n] = '\0';
  const char* paren = std::strrchr(buf, ')');
  if (paren == nullptr || paren[1] != ' ') return true;
  return paren[2] != 'Z' && paren[2] != 'X';
}

bool OwnerAliveAt(const void* word, uint32_t tid) {
  if (OwnerAlive(tid)) return true;
  tid &= ~ShmMutex::kWaiters;
  MappedFile file;
  std::vector<uint64_t> foreign;
  if (!ForeignPidNamespaces(word, &file, &foreign)) return true;
  for (uint64_t ns : foreign) {
    if (!GoneInPidNs(file, ns, tid)) return true;
  }
  return false;
}

bool ShmMutex::Lock() {
  uint32_t c = 0;
  if (state_.compare_exchange_strong(c, CurrentTid(),
                                     std::memory_order_acquire)) {
    return false;
  }
  return LockSlow();
}

bool ShmMutex::LockSlow() {
  const uint32_t mine = CurrentTid() | kWaiters;  // others may sleep too
  for (;;) {
    uint32_t c = state_.load(std::memory_order_relaxed);
    if (c == 0) {
      if (state_.compare_exchange_weak(c, mine, std::memory_order_acquire)) {
        return false;
      }
      continue;
    }
    // A word naming no possible holder, or this thread: taken over at once,
    // as a dead holder's (the caller repairs what the section left).
    if (NamesNoHolderNow(&state_, c & ~kWaiters)) {
      if (TakeOver(&state_, c, mine)) return true;
      continue;
    }
    if (!(c & kWaiters) && !state_.compare_exchange_weak(
                               c, c | kWaiters, std::memory_order_relaxed)) {
      continue;
    }
    c |= kWaiters;
    if (Futex(&state_, FUTEX_WAIT, c, &kOwnerCheckInterval) == -1 &&
        errno == ETIMEDOUT && state_.load(std::memory_order_relaxed) == c &&
        HolderGone(&state_, c & ~kWaiters) && TakeOver(&state_, c, mine)) {
      return true;
    }
  }
}

void ShmMutex::Unlock() {
  if (state_.exchange(0, std::memory_order_release) & kWaiters) {
    Futex(&state_, FUTEX_WAKE, 1);
  }
}

namespace {

// Test-and-test-and-set on a lock word holding the owner's tid; after
// kSpins pauses each wait yields the CPU, so a preempted holder gets to
// run, and every kYieldsPerCheck yields the holder's liveness is checked.
// True when the lock was taken over from a dead holder.
bool SpinUntilAcquired(uint32_t* w) {
  const uint32_t mine = CurrentTid();
  auto* a = reinterpret_cast<std::atomic<uint32_t>*>(w);
  for (;;) {
    uint32_t seen;
    for (int n = 0; (seen = __atomic_load_n(w, __ATOMIC_RELAXED)) != 0; ++n) {
      if (n == 0 && NamesNoHolderNow(w, seen)) {
        if (TakeOver(a, seen, mine)) return true;
        continue;
      }
      if (n < kSpins) {
        CpuRelax();
      } else {
        sched_yield();
        if ((n - kSpins) % kYieldsPerCheck == kYieldsPerCheck - 1 &&
            __atomic_load_n(w, __ATOMIC_RELAXED) == seen &&
            HolderGone(w, seen) && TakeOver(a, seen, mine)) {
          return true;
        }
      }
    }
    uint32_t expected = 0;
    if (a->compare_exchange_strong(expected, mine, std::memory_order_acquire)) {
      return false;
    }
  }
}

}  // namespace

bool ReadOnlyWait::Next(uint32_t lock_word) {
  ++n_;
  if (n_ <= kSpins) {
    CpuRelax();
    return true;
  }
  const int yields = n_ - kSpins;
  // The first check comes early: a dead writer is the common reason to wait
  // this long, and its lock word stays until a writer takes it over.
  if (yields % 1024 == 1 && lock_word != 0 && !OwnerAlive(lock_word)) {
    return false;
  }
  if (yields % 64 == 1) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const int64_t now = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
    if (start_ns_ == 0) start_ns_ = now;
    if (now - start_ns_ > kMaxWaitNs) return false;
  }
  sched_yield();
  return true;
}

bool ShmSpinLock::LockSlow() {
  return SpinUntilAcquired(reinterpret_cast<uint32_t*>(&state_));
}

namespace {

// The value lock's wait: a test-and-test-and-set of the tid bits that keeps
// the generation, yielding after kSpins pauses, checking the holder's
// liveness every kYieldsPerCheck yields (a dead holder's word is taken over
// with its generation), and, with max_wait_ns >= 0, giving up after that
// long. The release fence after a take orders the holder's value stores
// after the locked word for a reader that copies between two reads of it.
bool ValueLockWait(uint32_t* w, int64_t max_wait_ns) {
  const uint32_t mine = CurrentTid();
  auto* a = reinterpret_cast<std::atomic<uint32_t>*>(w);
  int64_t start_ns = 0;
  for (uint64_t n = 0;; ++n) {
    uint32_t seen = a->load(std::memory_order_relaxed);
    const uint32_t holder = seen & kValueLockTidMask;
    if (holder == 0) {
      if (a->compare_exchange_weak(seen, seen | mine, std::memory_order_acquire,
                                   std::memory_order_relaxed)) {
        std::atomic_thread_fence(std::memory_order_release);
        return true;
      }
      continue;
    }
    // The tid bits cannot be impossible; a word naming this thread is
    // stale (no caller waits for a value lock it holds: the interpreter
    // refuses a second bpf_spin_lock, and no helper runs under one), and
    // checked at once - once: when another PID namespace marks the region
    // the same number may be its live holder's (HolderGone), waited for
    // with the usual spins and yields.
    const bool stale = holder == mine && n == 0;
    if (n < kSpins && !stale) {
      CpuRelax();
      continue;
    }
    if (!stale) sched_yield();
    const uint64_t yields = stale ? kYieldsPerCheck - 1 : n - kSpins;
    if (yields % kYieldsPerCheck == kYieldsPerCheck - 1 &&
        a->load(std::memory_order_relaxed) == seen && HolderGone(w, holder) &&
        a->compare_exchange_strong(seen, (seen & ~kValueLockTidMask) | mine,
                                   std::memory_order_acquire,
                                   std::memory_order_relaxed)) {
      std::atomic_thread_fence(std::memory_order_release);
      return true;
    }
    if (max_wait_ns >= 0 && yields % 64 == 0) {
      timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      const int64_t now = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
      if (start_ns == 0) start_ns = now;
      if (now - start_ns > max_wait_ns) return false;
    }
  }
}

}  // namespace

void SpinLockAcquire(void* word) {
  auto* w = static_cast<uint32_t*>(word);
  uint32_t seen = __atomic_load_n(w, __ATOMIC_RELAXED);
  if ((seen & kValueLockTidMask) == 0 &&
      __atomic_compare_exchange_n(w, &seen, seen | CurrentTid(), false,
                                  __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    std::atomic_thread_fence(std::memory_order_release);
    return;
  }
  (void)ValueLockWait(w, -1);
}

bool SpinLockAcquireFor(void* word, int64_t max_wait_ns) {
  return ValueLockWait(static_cast<uint32_t*>(word), max_wait_ns);
}

void SpinLockRelease(void* word) {
  auto* w = static_cast<uint32_t*>(word);
  const uint32_t held = __atomic_load_n(w, __ATOMIC_RELAXED);
  const uint32_t next = ((held >> kValueLockTidBits) + 1) << kValueLockTidBits;
  __atomic_store_n(w, next, __ATOMIC_RELEASE);
}

void ZeroMap(void* map, size_t n) {
  auto* d = static_cast<uint8_t*>(map);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __atomic_store_n(reinterpret_cast<uint64_t*>(d + i), uint64_t{0},
                     __ATOMIC_RELAXED);
  }
  for (; i < n; ++i) __atomic_store_n(d + i, uint8_t{0}, __ATOMIC_RELAXED);
}

}  // namespace bpfemu
