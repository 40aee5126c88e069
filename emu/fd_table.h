// SPDX-License-Identifier: Apache-2.0
// File: fd_table.h
//
// The process's map descriptors: fd -> (map, access mode). Mirrors the part
// of fs/file.c and kernel/bpf/syscall.c that a map command goes through:
// fdget() borrows the file without a reference count when it can, and
// __bpf_map_get() answers EBADF or EINVAL for a descriptor that is not a
// map. Here a command borrows its entry under a hazard pointer (hazard.h):
// no lock, no reference count, nothing written to memory other threads
// read, so two threads working on one map do not slow each other down in
// the table. Writers (create, close, dup) serialize on a mutex and free an
// entry once no borrower announces it.
//
// Each thread keeps the entries it borrowed last in a small direct-mapped
// cache (fd -> entry), valid while the table's generation is unchanged:
// every Insert and Erase bumps it after changing a slot and before it looks
// for announcements. A hit announces the cached entry and then re-reads the
// generation, the confirmation Protect() makes with a re-read of the slot:
// an unchanged generation means the entry was still the fd's when it was
// announced, so no writer frees it while the FdRef lives. The hit skips the
// walk from the table to the chunk to the slot.

#ifndef BPFEMU_EMU_FD_TABLE_H_
#define BPFEMU_EMU_FD_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "emu/hazard.h"
#include "emu/local_mutex.h"
#include "emu/map.h"

namespace bpfemu {

struct FdEntry {
  std::shared_ptr<Map> map;
  bool readable = false;  // FMODE_CAN_READ
  bool writable = false;  // FMODE_CAN_WRITE
};

// The per-thread borrow cache's lines (FdTable::Borrow).
namespace fd_cache {
inline constexpr unsigned kLines = 8;
struct Line {
  int fd = -1;
  uint64_t generation = 0;
  const FdEntry* entry = nullptr;
};
inline thread_local Line t_lines[kLines];
}  // namespace fd_cache

// A borrowed entry (the kernel's struct fd): valid while the FdRef lives.
// Declare it before the call that fills it and keep it in scope.
class FdRef {
 public:
  FdRef() = default;
  [[gnu::always_inline]] inline ~FdRef();
  FdRef(const FdRef&) = delete;
  FdRef& operator=(const FdRef&) = delete;

  const FdEntry* operator->() const { return entry_; }
  const FdEntry& operator*() const { return *entry_; }

 private:
  friend class FdTable;
  hazard::Guard guard_;
  const FdEntry* entry_ = nullptr;
  FdEntry owned_;  // a counted copy, when no hazard slot was free
};

class FdTable {
 public:
  // Descriptors at or above this are refused with EMFILE (Linux's default
  // nr_open is 1 << 20).
  static constexpr int kMaxFd = 1 << 22;

  static FdTable& Get() {
    static FdTable* const table = new FdTable;
    return *table;
  }

  // Binds fd (a real descriptor the caller owns) to entry, replacing a stale
  // binding. 0 or -EMFILE.
  [[nodiscard]] int Insert(int fd, FdEntry entry);
  // Borrows fd's entry: 0, or EBADF when fd is not open and EINVAL when it
  // is not a map (__bpf_map_get).
  [[gnu::always_inline]] int Borrow(int fd, FdRef* ref) {
    if (ref->guard_.ok()) [[likely]] {
      CacheLine& line =
          fd_cache::t_lines[static_cast<unsigned>(fd) % kCacheLines];
      if (line.fd == fd) {
        ref->guard_.Announce(line.entry);
        if (generation_.load(std::memory_order_acquire) == line.generation)
            [[likely]] {
          ref->entry_ = line.entry;
          return 0;
        }
      }
      if (std::atomic<FdEntry*>* slot = Slot(fd); slot != nullptr) {
        // The generation first: if it is still this one later, the entry
        // loaded after it is still the fd's.
        const uint64_t generation = generation_.load(std::memory_order_acquire);
        ref->entry_ = ref->guard_.Protect(*slot);
        if (ref->entry_ != nullptr) {
          line = CacheLine{fd, generation, ref->entry_};
          return 0;
        }
      }
    }
    return BorrowSlow(fd, ref);
  }
  // A counted copy of fd's entry, for callers that keep the map.
  int Find(int fd, FdEntry* out);
  bool Erase(int fd);
  // An entry whose map has `id`, and one of its fds.
  bool FindById(uint32_t id, int* fd, FdEntry* out);
  // The smallest map id above `start`, or 0.
  uint32_t NextId(uint32_t start);

  // Frees retired entries no borrower holds; FdRef calls it when some wait.
  void Reclaim();
  static bool reclaim_pending() {
    return pending_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr int kChunkBits = 10;
  static constexpr int kChunkSize = 1 << kChunkBits;
  static constexpr int kChunks = kMaxFd / kChunkSize;
  struct Chunk {
    std::atomic<FdEntry*> slots[kChunkSize] = {};
  };

  // The per-thread borrow cache (see the top of this file). A line is
  // used only while generation_ equals its generation.
  static constexpr unsigned kCacheLines = fd_cache::kLines;
  using CacheLine = fd_cache::Line;
  // Bumped by every change of a slot, after the change and before the
  // changed-out entry is checked against the announcements.
  static inline std::atomic<uint64_t> generation_{1};
  static void SlotChanged() {
    generation_.fetch_add(1, std::memory_order_release);
  }

  FdTable() = default;
  std::atomic<FdEntry*>* Slot(int fd) const {
    if (fd < 0 || fd >= kMaxFd) return nullptr;
    Chunk* c = chunks_[fd >> kChunkBits].load(std::memory_order_acquire);
    return c == nullptr ? nullptr : &c->slots[fd & (kChunkSize - 1)];
  }
  int BorrowSlow(int fd, FdRef* ref);
  // Entries that may be freed now; the caller deletes them unlocked, since a
  // map's destructor may come back to this table.
  std::vector<FdEntry*> CollectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Delete(std::vector<FdEntry*> entries);

  std::atomic<Chunk*> chunks_[kChunks] = {};
  static inline std::atomic<bool> pending_{false};
  LocalMutex mu_;
  absl::flat_hash_map<int, FdEntry*> live_ ABSL_GUARDED_BY(mu_);
  std::vector<FdEntry*> retired_ ABSL_GUARDED_BY(mu_);
};

FdRef::~FdRef() {
  guard_.Release();
  if (FdTable::reclaim_pending()) [[unlikely]]
    FdTable::Get().Reclaim();
}

}  // namespace bpfemu

#endif  // BPFEMU_EMU_FD_TABLE_H_
