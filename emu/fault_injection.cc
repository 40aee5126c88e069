// SPDX-License-Identifier: Apache-2.0
// Fault injection for tests of callers (syscall.h InjectFaults): the next
// `count` commands of the chosen kinds on a map fail with a chosen errno
// before the map is touched. Process-local, keyed by the map object.

#include <atomic>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "emu/local_mutex.h"
#include "emu/syscall.h"
#include "emu/syscall_internal.h"

namespace bpfemu {
namespace internal {

std::atomic<bool> g_faults_pending{false};

namespace {

struct Faults {
  uint32_t ops = 0;
  int remaining = 0;
  int err = 0;
};

class FaultTable {
 public:
  static FaultTable& Get() {
    static auto* table = new FaultTable;
    return *table;
  }
  void Set(const Map* map, Faults f) {
    LocalMutexLock l(&mu_);
    if (f.remaining <= 0) {
      faults_.erase(map);
    } else {
      faults_[map] = f;
      g_faults_pending.store(true, std::memory_order_relaxed);
    }
  }
  int Take(const Map* map, uint32_t op) {
    LocalMutexLock l(&mu_);
    auto it = faults_.find(map);
    if (it == faults_.end() || !(it->second.ops & op)) return 0;
    const int err = it->second.err;
    if (--it->second.remaining == 0) faults_.erase(it);
    g_faults_pending.store(!faults_.empty(), std::memory_order_relaxed);
    return err;
  }

 private:
  LocalMutex mu_;
  absl::flat_hash_map<const Map*, Faults> faults_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

int TakeInjectedFaultSlow(const Map* map, uint32_t op) {
  return FaultTable::Get().Take(map, op);
}

void ClearInjectedFaults(const Map* map) {
  FaultTable::Get().Set(map, Faults{});
}

}  // namespace internal

int InjectFaults(int fd, uint32_t ops, int count, int err) {
  FdEntry e;
  if (int r = FdTable::Get().Find(fd, &e); r != 0) return r;
  internal::FaultTable::Get().Set(e.map.get(),
                                  internal::Faults{ops, count, err});
  return 0;
}

}  // namespace bpfemu
