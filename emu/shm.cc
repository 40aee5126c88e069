// SPDX-License-Identifier: Apache-2.0
#include "emu/shm.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
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

}  // namespace

ShmRegion::~ShmRegion() {
  if (base_ != nullptr) munmap(base_, size_);
}

ShmRegion::ShmRegion(ShmRegion&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      file_size_(std::exchange(other.file_size_, 0)),
      read_only_(std::exchange(other.read_only_, false)),
      head_at_end_(std::exchange(other.head_at_end_, false)) {}

ShmRegion& ShmRegion::operator=(ShmRegion&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, size_);
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

// A word naming no thread that can hold it, known without a system call:
// an impossible tid, or the calling thread itself. No path of bpfemu waits
// for a lock its own thread holds (each lock's nesting is fixed, lru_list.h
// and hash_map.h), so a word naming the waiter is a stale one: planted in
// the region, or left by a dead thread whose tid this thread now has.
bool NamesNoHolderCheap(uint32_t tid) {
  return ImpossibleTid(tid) || tid == CurrentTid();
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

// The full check a waiter makes after waiting a while: true when the tid
// the lock word at `word` names cannot be holding it - no thread can have
// it, it is the waiter, it does not exist (or is a zombie: OwnerAlive),
// or its process does not map the region. A live thread that maps the
// region is never robbed, however long it holds the lock.
bool HolderGone(const void* word, uint32_t tid) {
  return NamesNoHolderCheap(tid) || !OwnerAlive(tid) ||
         NotMappedByHolder(word, tid);
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
    t_tid = static_cast<uint32_t>(syscall(SYS_gettid));
    // A value's bpf_spin_lock word keeps the tid in its low 22 bits; Linux
    // never hands out a tid >= PID_MAX_LIMIT (2^22 on 64-bit).
    if (t_tid == 0 || (t_tid & ~kValueLockTidMask) != 0) {
      std::fprintf(stderr, "bpfemu: tid %u does not fit in 22 bits\n", t_tid);
      std::abort();
    }
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
    if (NamesNoHolderCheap(c & ~kWaiters)) {
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
      if (n == 0 && NamesNoHolderCheap(seen)) {
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
    // refuses a second bpf_spin_lock, and no helper runs under one).
    const bool stale = holder == mine;
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
