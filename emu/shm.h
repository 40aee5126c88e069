// SPDX-License-Identifier: Apache-2.0
// File: shm.h
//
// Shared memory for emulated maps. A kernel map is kernel memory reached
// through a file descriptor: it survives fork(), every process holding the fd
// sees the same bytes, and it lives until the last reference goes. bpfemu
// gives each map the same shape:
//
//   * ShmRegion: one memfd per map, mapped MAP_SHARED. The memfd's descriptor
//     is the map's fd, so map fds are real, unique descriptors of the process.
//     Creation backs every page of the file (fallocate), as the kernel
//     allocates a preallocated map at create: a map the storage cannot hold
//     (a small tmpfs, a memory cgroup limit) fails with ENOMEM at create
//     instead of raising SIGBUS when it is filled.
//   * ShmMutex: a futex-based lock that lives inside a region (four bytes, no
//     pointers), usable from every process that maps it.
//   * CopyToMap / CopyFromMap: value copies made of relaxed atomic accesses.
//     The kernel copies map values with plain memcpy while programs may write
//     them through pointers; relaxed atomics keep those same semantics (a value
//     can be torn, never a single word) without being undefined behaviour, and
//     ThreadSanitizer accepts them.
//
// Everything stored in a region is addressed by offsets from its base, never
// by pointers, because each process maps the region at its own address.
//
// Head-at-end regions. A region's first bytes (the map header) are normally
// at file offset 0. A BPF_F_MMAPABLE array must instead show its values at
// file offset 0, as the kernel's map file does (array_map_mmap), and a ring
// buffer its consumer page (ringbuf_map_mmap_kern, ringbuf.h), so that a
// process that mmap()s the fd itself - a child under `bpfemu exec`, whose
// mmap the supervisor lets proceed - sees the kernel's layout. Such a file
// holds region bytes [kHeadAtEndBytes, size) at file offsets [0, size -
// kHeadAtEndBytes) and the region's first kHeadAtEndBytes (header and body)
// on its last page; ShmRegion maps the two parts in region order, so
// region offsets, and everything built on them, are the same in both
// layouts. The file says which layout it has in its size: a head-at-end
// file has one byte past its last page, a size no region of the other
// layout has (Create refuses one) - not a byte a map value, a program or a
// user mapping can write, so values that happen to look like a header are
// never taken for one, and not the mode, which chmod of a pin rewrites
// (docs/exec.md). (The inode number's parity was the mark before: ext4
// hands out the lowest free inode, and the files of the wrong parity
// Create had freed left only wrong-parity holes after 64 maps: ENOMEM.)

#ifndef BPFEMU_EMU_SHM_H_
#define BPFEMU_EMU_SHM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bpfemu {

// The region bytes a head-at-end file keeps on its last page.
inline constexpr uint64_t kHeadAtEndBytes = 4096;

class ShmRegion {
 public:
  ShmRegion() = default;
  ~ShmRegion();
  ShmRegion(ShmRegion&& other) noexcept;
  ShmRegion& operator=(ShmRegion&& other) noexcept;
  ShmRegion(const ShmRegion&) = delete;
  ShmRegion& operator=(const ShmRegion&) = delete;

  // Creates a zero-filled memfd of `size` bytes named `name`, backs all of
  // it (-ENOMEM when the file system or memory cgroup cannot), and maps it.
  // On success *fd is the new descriptor (O_CLOEXEC), owned by the caller.
  // With `mirror_tail` > 0 the last `mirror_tail` bytes of the file are
  // mapped a second time right after the file (the ring buffer's doubled
  // data area, so wrapping records stay contiguous). Returns 0 or -errno
  // (-ENOMEM when the size cannot be mapped).
  // `reserve` bytes from the start are backed (all of it by default); a
  // BPF_F_NO_PREALLOC hash, which the kernel does not allocate up front,
  // backs only its header.
  // With `head_at_end` the file has the head-at-end layout (above; `size`
  // a multiple of kHeadAtEndBytes above it, no mirror_tail).
  [[nodiscard]] static int Create(const char* name, uint64_t size, int* fd,
                                  ShmRegion* out, uint64_t mirror_tail = 0,
                                  uint64_t reserve = UINT64_MAX,
                                  bool head_at_end = false);
  // Maps the whole of an existing memfd (plus a mirrored tail, as above).
  // The fd stays owned by the caller. With `read_only` the pages are mapped
  // PROT_READ (a region the caller may read but not write: a BPF_F_RDONLY
  // get of a pin whose mode gives it no write permission); every store to
  // such a region faults, so the maps over it take their no-write paths
  // (Map::read_only()). The pages are mapped through a description of the
  // file of their own (reopened through /proc), never the caller's, so the
  // caller's file is released when its fds are closed, as a kernel map's is.
  // A head-at-end file (odd inode number) is mapped in region order (-EINVAL
  // with a mirror_tail, or when its size is not a page multiple above one
  // page).
  [[nodiscard]] static int Attach(int fd, ShmRegion* out,
                                  uint64_t mirror_tail = 0,
                                  bool read_only = false);

  // Backs the pages under [offset, offset + len) now (MADV_POPULATE_WRITE),
  // so that no later store there raises SIGBUS on a full storage: 0, or
  // -ENOMEM when the file system or the memory cgroup cannot back them (the
  // kernel's failed allocation). A kernel without MADV_POPULATE_WRITE
  // (before 5.14) leaves them to the first store, as before.
  [[nodiscard]] int Populate(uint64_t offset, uint64_t len) const;
  // Populate for a pool of `slot_size`-byte slots at `pool_offset` whose
  // slots are handed out in index order, each backed before its first use:
  // the pages of slot `index` that slot index - 1 did not already reach.
  [[nodiscard]] int PopulateSlot(uint64_t pool_offset, uint64_t slot_size,
                                 uint64_t index) const;

  uint8_t* base() const { return base_; }
  // The file's size; the mapping is file_size() + the mirrored tail.
  uint64_t size() const { return file_size_; }
  // Bytes mapped: size() plus the mirrored tail.
  uint64_t mapped_size() const { return size_; }
  // Mapped PROT_READ (Attach with read_only).
  bool read_only() const { return read_only_; }
  // The file has the head-at-end layout.
  bool head_at_end() const { return head_at_end_; }
  // The file offset of region offset `offset` (< size()).
  uint64_t FileOffset(uint64_t offset) const {
    if (!head_at_end_) return offset;
    return offset < kHeadAtEndBytes ? file_size_ - kHeadAtEndBytes + offset
                                    : offset - kHeadAtEndBytes;
  }
  // Whether the file open as `fd` has the head-at-end layout, and if so its
  // size in *file_size: the file offset of region offset 0 is then
  // *file_size - kHeadAtEndBytes. For readers that pread() the header.
  static bool HeadAtEnd(int fd, uint64_t* file_size);

  template <typename T>
  T* At(uint64_t offset) const {
    return reinterpret_cast<T*>(base_ + offset);
  }

 private:
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;       // mapped bytes
  uint64_t file_size_ = 0;  // bytes of the memfd
  bool read_only_ = false;
  bool head_at_end_ = false;
};

// Locks that survive their owner's death. Every lock word in a region holds
// the holder's thread id (0 when free), so a process killed while holding
// one (SIGKILL, a crash) cannot wedge the map for the others: a waiter that
// has waited a while checks whether the holder still exists (OwnerAlive:
// only kill(tid, 0)'s ESRCH says gone, a zombie counts as dead, and a /proc
// entry it cannot read - hidepid - is alive) and, if not, takes the lock
// over. A word naming a thread that cannot hold it is taken over the same
// way (a crafted region, a reused tid): at once when no thread can have
// its tid (0, >= 2^22) or it names the waiter itself, and at a liveness
// check when the named thread's process maps no page of the region's file
// (/proc/TID/maps; unreadable maps: waited for). A live thread that maps
// the region is never robbed (docs/reliability.md, "Locks and owner
// death"). The kernel's
// robust futexes (set_robust_list, FUTEX_OWNER_DIED) would do the same on exit,
// but the robust list belongs to glibc and its robust pthread mutexes are 40
// bytes; the regions keep 4-byte words.
// Lock() reports a take-over, so the caller can repair what the dead
// holder left half done (emu/hash_map.cc repairs a bucket's sequence
// count); docs/reliability.md lists what each lock's section leaves behind.
// Thread ids are those of the caller's pid namespace: processes sharing a
// map must share one (as they share the storage directory).

// The calling thread's id, cached (and renewed in a fork()ed child).
// Inline: every lock and intent record stores it.
namespace shm_internal {
extern thread_local constinit uint32_t t_tid;
uint32_t CurrentTidSlow();
}  // namespace shm_internal
inline uint32_t CurrentTid() {
  const uint32_t tid = shm_internal::t_tid;
  return __builtin_expect(tid != 0, 1) ? tid : shm_internal::CurrentTidSlow();
}
// One step of a spin wait: the CPU's pause hint (x86 `pause`, arm64
// `yield`), nothing on other architectures. The locks below spin with it.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}
// False when no thread `tid` exists (kill: ESRCH) or it is a zombie
// (killed, unreaped); true when its /proc entry cannot be read.
bool OwnerAlive(uint32_t tid);

// Test points (compiled in, a null pointer unless a test sets it): a
// multi-process test stops a child at one of them and kills it there.
enum class LockPoint {
  kBucketLocked,    // hash bucket spin lock held, nothing changed yet
  kChainWrite,      // inside a bucket chain change: sequence count odd
  kFreeListLocked,  // a hash free list's mutex held
  kLruListLocked,   // an LRU list's mutex held
  kRingbufLocked,   // the ring buffer's producer mutex held
  kFreezeLocked,    // the map header's freeze mutex held
  kValueLocked,     // a value's bpf_spin_lock held (BPF_F_LOCK copy)
  kSlotRefsLocked,  // the by-id directory's lock held, a slot_refs changed
  kSlotRefTaken,    // an inner map's slot reference taken, slot not written
  kBetweenSteps,    // between two steps of a hash map change (element taken
                    // but not linked, linked but the old one not unlinked,
                    // unlinked but not freed, ...), mostly under the
                    // bucket lock
  kTrieChange,      // an LPM trie change half done (lpm_trie.cc): a node
                    // taken and counted but not linked, or an entry
                    // uncounted but still linked
  kLruListStore,    // inside an LRU list move (lru_list.cc), its intent
                    // recorded: g_lock_point_site says which move and store
};
extern void (*g_lock_point_hook)(LockPoint);
// Set before the hook is called at a point reached with a site number
// (LockPointReachedAt): which step of the section the point is.
extern int g_lock_point_site;
inline void LockPointReached(LockPoint p) {
  if (__builtin_expect(g_lock_point_hook != nullptr, 0)) g_lock_point_hook(p);
}
inline void LockPointReachedAt(LockPoint p, int site) {
  if (__builtin_expect(g_lock_point_hook != nullptr, 0)) {
    g_lock_point_site = site;
    g_lock_point_hook(p);
  }
}

// A mutex in shared memory: the owner's tid, plus kWaiters when a thread
// sleeps on the futex (after Drepper, "Futexes Are Tricky", mutex #2, with
// the tid kept as robust futexes keep it). Zero-initialised memory is an
// unlocked mutex, so a fresh region needs no constructor calls.
// The descriptor a map's file is mmap()ed from for a user mapping with
// `prot` (bpf_map_mmap): the map fd itself, or for a mapping without
// PROT_WRITE a read-only descriptor of the same file, which it owns. The
// kernel clears VM_MAYWRITE on a read-only map mapping, and mmap() of an
// O_RDONLY file does the same, so a later mprotect(PROT_WRITE) fails with
// EACCES in both.
class MappingFd {
 public:
  MappingFd(int map_fd, int prot);
  ~MappingFd();
  MappingFd(const MappingFd&) = delete;
  MappingFd& operator=(const MappingFd&) = delete;
  // The fd to map, or -errno if the read-only descriptor could not be had.
  int fd() const { return fd_; }

 private:
  int fd_;
  int owned_ = -1;
};

class ShmMutex {
 public:
  static constexpr uint32_t kWaiters = 0x80000000u;
  // True when the previous holder died holding the lock.
  bool Lock();
  void Unlock();
  // The lock word as it is now (0: free, else the holder's tid, maybe with
  // kWaiters), for readers that may not take the lock (ReadOnlyWait).
  uint32_t holder() const { return state_.load(std::memory_order_relaxed); }

 private:
  bool LockSlow();
  std::atomic<uint32_t> state_;
};
static_assert(sizeof(ShmMutex) == 4);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

class ShmMutexLock {
 public:
  explicit ShmMutexLock(ShmMutex* mu) : mu_(mu), recovered_(mu_->Lock()) {}
  ~ShmMutexLock() { mu_->Unlock(); }
  ShmMutexLock(const ShmMutexLock&) = delete;
  ShmMutexLock& operator=(const ShmMutexLock&) = delete;
  bool recovered() const { return recovered_; }

 private:
  ShmMutex* const mu_;
  const bool recovered_;
};

// A spin lock in shared memory, like the kernel's raw spinlocks (hash bucket
// locks): waiters spin, yielding the CPU after a while in case the holder
// was preempted, and unlocking is a plain release store - one atomic
// read-modify-write per lock/unlock pair instead of a mutex's two. For
// critical sections of a few hundred instructions. 0 is unlocked, else the
// holder's tid; a waiter that yielded for a while takes the lock over from
// a dead holder.
class ShmSpinLock {
 public:
  // True when the previous holder died holding the lock.
  bool Lock() {
    uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, CurrentTid(),
                                       std::memory_order_acquire)) {
      return false;
    }
    return LockSlow();
  }
  void Unlock() { state_.store(0, std::memory_order_release); }
  // The lock word as it is now (0: free, else the holder's tid).
  uint32_t holder() const { return state_.load(std::memory_order_relaxed); }

 private:
  bool LockSlow();
  std::atomic<uint32_t> state_;
};
static_assert(sizeof(ShmSpinLock) == 4);

// How a reader of a read-only region (ShmRegion::read_only) waits for a
// writer it cannot lock out: it re-reads what it wants (a sequence count, a
// lock word) and calls Next() between tries. Next() pauses, then yields the
// CPU, and returns false - the reader gives up with EBUSY - when the lock
// word it names belongs to a thread that no longer exists (a writer died
// mid-change and no writer has repaired it yet: only a writer may), or once
// it has waited kMaxWaitNs (a writer that never finishes, or a crafted
// region). Never sleeps, never writes.
class ReadOnlyWait {
 public:
  static constexpr int64_t kMaxWaitNs = 1000 * 1000 * 1000;  // 1 s
  // `lock_word`: the holder of the lock guarding what was read, or 0.
  [[nodiscard]] bool Next(uint32_t lock_word);

 private:
  int n_ = 0;
  int64_t start_ns_ = 0;
};

// struct bpf_spin_lock inside a map value (include/uapi/linux/bpf.h; the
// kernel's is an arch spinlock, kernel/bpf/helpers.c __bpf_spin_lock): a
// 4-byte word whose low kValueLockTidBits bits hold the holder's tid (0:
// unlocked) and whose high bits a generation, bumped by every unlock. Never
// visible: syscall copies zero it and the verifier keeps programs off it.
// Shared by syscall BPF_F_LOCK copies, the native bpf_spin_lock() and the
// interpreter's. The generation lets a reader that cannot take the lock (a
// read-only mapping) see that a whole locked section ran between two reads
// of the word (Map::CopyLockedValueOut). Tids fit: Linux's pid_max is at
// most 2^22 (PID_MAX_LIMIT), checked in CurrentTidSlow().
inline constexpr uint32_t kSpinLockSize = 4;
inline constexpr uint32_t kValueLockTidBits = 22;
inline constexpr uint32_t kValueLockTidMask = (1u << kValueLockTidBits) - 1;
// Waits for the lock for ever, taking it over from a dead holder.
void SpinLockAcquire(void* word);
// The same, giving up (false) after about max_wait_ns of waiting.
[[nodiscard]] bool SpinLockAcquireFor(void* word, int64_t max_wait_ns);
// Unlocks, bumping the generation; only its holder calls it.
void SpinLockRelease(void* word);

// Copies n bytes between a caller's buffer and map memory. `map` must be
// 8-byte aligned (every key and value slot in a region is).
// Inline: a lookup's value copy is usually one or two words.
inline void CopyFromMap(void* dst, const void* map, size_t n) {
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(map);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = __atomic_load_n(reinterpret_cast<const uint64_t*>(s + i),
                                 __ATOMIC_RELAXED);
    std::memcpy(d + i, &w, 8);
  }
  for (; i < n; ++i) d[i] = __atomic_load_n(s + i, __ATOMIC_RELAXED);
}
inline void CopyToMap(void* map, const void* src, size_t n) {
  auto* d = static_cast<uint8_t*>(map);
  const auto* s = static_cast<const uint8_t*>(src);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, s + i, 8);
    __atomic_store_n(reinterpret_cast<uint64_t*>(d + i), w, __ATOMIC_RELAXED);
  }
  for (; i < n; ++i) __atomic_store_n(d + i, s[i], __ATOMIC_RELAXED);
}
void ZeroMap(void* map, size_t n);
// Byte-wise equality of a caller's key with a key in map memory (8-byte
// aligned), read with relaxed atomic loads. Inline: it is on every hash
// lookup's path.
inline bool EqualsMap(const void* map, const void* key, size_t n) {
  const auto* m = static_cast<const uint8_t*>(map);
  const auto* k = static_cast<const uint8_t*>(key);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = __atomic_load_n(reinterpret_cast<const uint64_t*>(m + i),
                                 __ATOMIC_RELAXED);
    if (std::memcmp(&w, k + i, 8) != 0) return false;
  }
  if (i + 4 <= n) {
    uint32_t w = __atomic_load_n(reinterpret_cast<const uint32_t*>(m + i),
                                 __ATOMIC_RELAXED);
    if (std::memcmp(&w, k + i, 4) != 0) return false;
    i += 4;
  }
  for (; i < n; ++i) {
    if (__atomic_load_n(m + i, __ATOMIC_RELAXED) != k[i]) return false;
  }
  return true;
}

constexpr uint64_t RoundUp(uint64_t x, uint64_t align) {
  return (x + align - 1) / align * align;
}

}  // namespace bpfemu

#endif  // BPFEMU_EMU_SHM_H_
