// SPDX-License-Identifier: Apache-2.0
// File: hazard.h
//
// Hazard pointers for the process-local tables that every map operation
// reads (the fd table). They play the part of the kernel's fdget(): a reader
// borrows an entry without a lock and without touching a reference count, so
// concurrent lookups on one map share no written cache line. The scheme is
// Michael's hazard pointers (IEEE TPDS 2004) with an asymmetric fence, as
// liburcu's "memb" flavour and folly's hazptr use it: readers order their
// announcement with a compiler barrier, and the rare writer that retires an
// entry pays for both sides with membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED).
// Where membarrier is unavailable (old kernels, seccomp, ThreadSanitizer
// builds) readers use a full fence instead.
//
// Writers serialize among themselves (the table's mutex), unpublish an
// object, call Synchronize(), and free it only if Protected() no longer
// reports it. Abseil has no equivalent, hence this file.

#ifndef BPFEMU_EMU_HAZARD_H_
#define BPFEMU_EMU_HAZARD_H_

#include <atomic>

#include "absl/container/flat_hash_set.h"

namespace bpfemu::hazard {

namespace internal {

inline constexpr int kSlotsPerThread = 4;

// One per thread that ever held a guard. Records are never freed: a thread
// that exits returns its record for another thread to adopt.
struct alignas(64) Record {
  std::atomic<const void*> slots[kSlotsPerThread] = {};
  std::atomic<bool> active{true};
  unsigned taken = 0;  // bit i: slots[i] belongs to a guard (owner only)
  Record* next = nullptr;
};

extern std::atomic<bool> asymmetric;
inline thread_local Record* this_thread = nullptr;
Record* AdoptForThisThread();

}  // namespace internal

// True when readers need only a compiler barrier (membarrier is in use).
inline bool AsymmetricFences() {
  return internal::asymmetric.load(std::memory_order_relaxed);
}

// A hazard slot of the calling thread, held for the guard's lifetime. Guards
// nest: each thread has a few slots.
class Guard {
 public:
  Guard() {
    internal::Record* r = internal::this_thread;
    if (r == nullptr) r = internal::AdoptForThisThread();
    const unsigned free = ~r->taken & ((1u << internal::kSlotsPerThread) - 1);
    if (free == 0) return;
    const int i = __builtin_ctz(free);
    r->taken |= 1u << i;
    slot_ = &r->slots[i];
  }
  ~Guard() { Release(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

  // False when the thread's slots are all taken; the caller then falls back
  // to its lock.
  bool ok() const { return slot_ != nullptr; }
  // The announcement slot itself (NULL when !ok()), for readers that
  // announce inline as Protect() does (prog.h TailRunHead).
  std::atomic<const void*>* slot() const { return slot_; }

  // Withdraws the announcement and returns the slot early (idempotent).
  void Release() {
    if (slot_ == nullptr) return;
    slot_->store(nullptr, std::memory_order_release);
    internal::Record* r = internal::this_thread;
    r->taken &= ~(1u << (slot_ - r->slots));
    slot_ = nullptr;
  }

  // Announces `p` without confirming it: the caller confirms by a re-read
  // of its own (FdTable::Borrow's generation), as Protect() re-reads.
  void Announce(const void* p) {
    slot_->store(p, std::memory_order_release);
    ReaderFence();
  }

  // Loads `src` and announces the value until a re-load confirms it: the
  // object it points to cannot be freed while the guard lives.
  template <typename T>
  T* Protect(const std::atomic<T*>& src) {
    T* p = src.load(std::memory_order_acquire);
    for (;;) {
      // Release (a plain store on x86): the reads of the object announced
      // before come before its announcement is withdrawn, so a writer that
      // sees the new value may free that object.
      slot_->store(p, std::memory_order_release);
      ReaderFence();
      T* again = src.load(std::memory_order_acquire);
      if (again == p) return p;
      p = again;
    }
  }

 private:
  static void ReaderFence() {
    if (AsymmetricFences()) {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
  }

  std::atomic<const void*>* slot_ = nullptr;
};

// Writer side, after unpublishing: makes every reader's announcement
// visible (membarrier, or a full fence).
void Synchronize();

// The pointers all threads' guards announce right now (call after
// Synchronize()).
absl::flat_hash_set<const void*> Protected();

}  // namespace bpfemu::hazard

#endif  // BPFEMU_EMU_HAZARD_H_
