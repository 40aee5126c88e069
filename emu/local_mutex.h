// SPDX-License-Identifier: Apache-2.0
// File: local_mutex.h
//
// LocalMutex: absl::Mutex for process-local state (fd tables, settings), made
// visible to ThreadSanitizer.
//
// Debian's Abseil is a prebuilt shared library without TSan instrumentation,
// so TSan cannot see absl::Mutex's acquire/release and reports races on data
// the mutex protects. LocalMutex forwards to absl::Mutex and, in TSan builds,
// tells TSan about the happens-before edge itself. State that lives in a map's
// shared-memory region uses ShmMutex (shm.h) instead: absl::Mutex is not
// process-shared.

#ifndef BPFEMU_EMU_LOCAL_MUTEX_H_
#define BPFEMU_EMU_LOCAL_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define BPFEMU_TSAN_ACQUIRE(p) __tsan_acquire(p)
#define BPFEMU_TSAN_RELEASE(p) __tsan_release(p)
#else
#define BPFEMU_TSAN_ACQUIRE(p) ((void)(p))
#define BPFEMU_TSAN_RELEASE(p) ((void)(p))
#endif

namespace bpfemu {

class ABSL_LOCKABLE LocalMutex {
 public:
  LocalMutex() = default;
  LocalMutex(const LocalMutex&) = delete;
  LocalMutex& operator=(const LocalMutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.Lock();
    BPFEMU_TSAN_ACQUIRE(this);
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    BPFEMU_TSAN_RELEASE(this);
    mu_.Unlock();
  }

 private:
  absl::Mutex mu_;
};

class ABSL_SCOPED_LOCKABLE LocalMutexLock {
 public:
  explicit LocalMutexLock(LocalMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
  }
  ~LocalMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  LocalMutexLock(const LocalMutexLock&) = delete;
  LocalMutexLock& operator=(const LocalMutexLock&) = delete;

 private:
  LocalMutex* const mu_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_LOCAL_MUTEX_H_
