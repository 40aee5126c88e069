// SPDX-License-Identifier: Apache-2.0
// The fd and id table of the objects that live in one process only
// (programs, BTF objects): the kernel's id allocators (prog_idr and btf_idr
// in kernel/bpf/syscall.c and kernel/bpf/btf.c) together with the file table
// that holds an object per fd. An fd keeps its object alive; an id only
// names it while something else does (BPF_*_GET_FD_BY_ID of a freed object
// is ENOENT), so ids are weak.
#ifndef BPFEMU_EMU_OBJECT_TABLE_H_
#define BPFEMU_EMU_OBJECT_TABLE_H_

#include <fcntl.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "emu/local_mutex.h"

namespace bpfemu {

// T has a `uint32_t id`, set before Add().
template <typename T>
class ObjectTable {
 public:
  // Publishes a new object under its id and its first fd.
  void Add(int fd, std::shared_ptr<T> obj) {
    LocalMutexLock l(&mu_);
    by_id_[obj->id] = obj;
    by_fd_[fd] = std::move(obj);
  }
  // Another fd for an object already published.
  void Install(int fd, std::shared_ptr<const T> obj) {
    LocalMutexLock l(&mu_);
    by_fd_[fd] = std::move(obj);
  }
  // A copy of `fd` at or above `min_fd` (F_DUPFD_CLOEXEC: the same file)
  // holding `obj`, the object `fd` holds; or -errno.
  int Dup(int fd, int min_fd, std::shared_ptr<const T> obj) {
    const int copy = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
    if (copy < 0) return -errno;
    Install(copy, std::move(obj));
    return copy;
  }
  std::shared_ptr<const T> ByFd(int fd) {
    LocalMutexLock l(&mu_);
    auto it = by_fd_.find(fd);
    return it == by_fd_.end() ? nullptr : it->second;
  }
  // The live object `id`, or null.
  std::shared_ptr<const T> ById(uint32_t id) {
    LocalMutexLock l(&mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return nullptr;
    std::shared_ptr<const T> p = it->second.lock();
    if (p == nullptr) by_id_.erase(it);
    return p;
  }
  // Drops the fd's reference; false if the fd holds no object here. The
  // last reference goes after the lock: freeing an object may close fds.
  bool EraseFd(int fd) {
    std::shared_ptr<const T> last;
    LocalMutexLock l(&mu_);
    auto it = by_fd_.find(fd);
    if (it == by_fd_.end()) return false;
    last = std::move(it->second);
    by_fd_.erase(it);
    return true;
  }
  // The smallest id above `start` of an object still alive, or 0
  // (idr_get_next in the GET_NEXT_ID commands).
  uint32_t NextId(uint32_t start) {
    LocalMutexLock l(&mu_);
    uint32_t best = 0;
    for (const auto& [id, weak] : by_id_) {
      if (id > start && (best == 0 || id < best) && !weak.expired()) {
        best = id;
      }
    }
    return best;
  }

 private:
  LocalMutex mu_;
  absl::flat_hash_map<int, std::shared_ptr<const T>> by_fd_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, std::weak_ptr<const T>> by_id_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_OBJECT_TABLE_H_
