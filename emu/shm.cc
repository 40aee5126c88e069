// SPDX-License-Identifier: Apache-2.0
#include "emu/shm.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "emu/bpffs.h"

namespace bpfemu {

ShmRegion::~ShmRegion() {
  if (base_ != nullptr) munmap(base_, size_);
}

ShmRegion::ShmRegion(ShmRegion&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      file_size_(std::exchange(other.file_size_, 0)) {}

ShmRegion& ShmRegion::operator=(ShmRegion&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    file_size_ = std::exchange(other.file_size_, 0);
  }
  return *this;
}

int ShmRegion::Create(const char* name, uint64_t size, int* fd, ShmRegion* out,
                      uint64_t mirror_tail, uint64_t reserve) {
  // An unnamed file on the emulated bpffs, so the map can be pinned; a
  // memfd if that is impossible.
  int mfd = BpffsCreateAnonymous();
  if (mfd < 0) mfd = memfd_create(name, MFD_CLOEXEC);
  if (mfd < 0) return -errno;
  if (ftruncate(mfd, static_cast<off_t>(size)) != 0) {
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
  if (fallocate(mfd, 0, 0, static_cast<off_t>(std::min(size, reserve))) != 0 &&
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

int ShmRegion::Attach(int fd, ShmRegion* out, uint64_t mirror_tail) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  if (st.st_size <= 0) return -EINVAL;
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (mirror_tail > file_size) return -EINVAL;
  const uint64_t total = file_size + mirror_tail;
  void* p = mmap(nullptr, static_cast<size_t>(total), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) return -ENOMEM;
  auto* base = static_cast<uint8_t*>(p);
  if (mirror_tail > 0) {
    // Replace the part past the end of the file with the file's tail.
    void* m = mmap(base + file_size, static_cast<size_t>(mirror_tail),
                   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
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
  return 0;
}

namespace {

long Futex(std::atomic<uint32_t>* addr, int op, uint32_t val) {
  // Not FUTEX_PRIVATE_FLAG: waiters may be in other processes.
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), op, val, nullptr,
                 nullptr, 0);
}

}  // namespace

void ShmMutex::Lock() {
  uint32_t c = 0;
  if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
  if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    Futex(&state_, FUTEX_WAIT, 2);
    c = state_.exchange(2, std::memory_order_acquire);
  }
}

void ShmMutex::Unlock() {
  if (state_.fetch_sub(1, std::memory_order_release) != 1) {
    state_.store(0, std::memory_order_release);
    Futex(&state_, FUTEX_WAKE, 1);
  }
}

namespace {

// Test-and-test-and-set on a lock word; after kSpins pauses each wait yields
// the CPU, so a preempted holder gets to run.
void SpinUntilAcquired(uint32_t* w) {
  constexpr int kSpins = 256;
  do {
    for (int n = 0; __atomic_load_n(w, __ATOMIC_RELAXED) != 0; ++n) {
      if (n < kSpins) {
        __builtin_ia32_pause();
      } else {
        sched_yield();
      }
    }
  } while (__atomic_exchange_n(w, 1u, __ATOMIC_ACQUIRE) != 0);
}

}  // namespace

void ShmSpinLock::LockSlow() {
  SpinUntilAcquired(reinterpret_cast<uint32_t*>(&state_));
}

void SpinLockAcquire(void* word) {
  auto* w = static_cast<uint32_t*>(word);
  if (__atomic_exchange_n(w, 1u, __ATOMIC_ACQUIRE) != 0) SpinUntilAcquired(w);
}

void SpinLockRelease(void* word) {
  __atomic_store_n(static_cast<uint32_t*>(word), 0u, __ATOMIC_RELEASE);
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
