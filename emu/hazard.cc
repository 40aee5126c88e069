// SPDX-License-Identifier: Apache-2.0
// File: hazard.cc

#include "emu/hazard.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace bpfemu::hazard {
namespace internal {
std::atomic<bool> asymmetric{false};
}  // namespace internal

namespace {

using internal::Record;
using internal::this_thread;

std::atomic<Record*> records{nullptr};

int Membarrier(int cmd) {
  return static_cast<int>(syscall(SYS_membarrier, cmd, 0, 0));
}

bool RegisterMembarrier() {
#if defined(__SANITIZE_THREAD__)
  return false;  // ThreadSanitizer does not model membarrier
#else
  const int cmds = Membarrier(MEMBARRIER_CMD_QUERY);
  return cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
         Membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
#endif
}

// A fork()ed child has one thread and a new mm: the other threads' records
// are free again, and membarrier must be registered anew.
void AfterForkInChild() {
  for (Record* r = records.load(std::memory_order_acquire); r != nullptr;
       r = r->next) {
    if (r == this_thread) continue;
    for (auto& s : r->slots) s.store(nullptr, std::memory_order_relaxed);
    r->taken = 0;
    r->active.store(false, std::memory_order_release);
  }
  internal::asymmetric.store(RegisterMembarrier(), std::memory_order_relaxed);
}

void Init() {
  static const bool once = [] {
    internal::asymmetric.store(RegisterMembarrier(), std::memory_order_relaxed);
    pthread_atfork(nullptr, nullptr, AfterForkInChild);
    return true;
  }();
  (void)once;
}

Record* Adopt() {
  for (Record* r = records.load(std::memory_order_acquire); r != nullptr;
       r = r->next) {
    bool idle = false;
    if (!r->active.load(std::memory_order_relaxed) &&
        r->active.compare_exchange_strong(idle, true,
                                          std::memory_order_acquire)) {
      return r;
    }
  }
  auto* r = new Record;
  r->next = records.load(std::memory_order_relaxed);
  while (!records.compare_exchange_weak(r->next, r, std::memory_order_release,
                                        std::memory_order_relaxed)) {
  }
  return r;
}

// Gives the record back when its thread exits.
struct Releaser {
  ~Releaser() {
    if (this_thread != nullptr) {
      this_thread->taken = 0;
      this_thread->active.store(false, std::memory_order_release);
      this_thread = nullptr;
    }
  }
};

}  // namespace

Record* internal::AdoptForThisThread() {
  Init();
  thread_local Releaser releaser;
  (void)releaser;
  this_thread = Adopt();
  return this_thread;
}

void Synchronize() {
  Init();
  if (AsymmetricFences() && Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
    return;
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

absl::flat_hash_set<const void*> Protected() {
  absl::flat_hash_set<const void*> out;
  for (Record* r = records.load(std::memory_order_acquire); r != nullptr;
       r = r->next) {
    for (const auto& s : r->slots) {
      if (const void* p = s.load(std::memory_order_acquire)) out.insert(p);
    }
  }
  return out;
}

}  // namespace bpfemu::hazard
