// SPDX-License-Identifier: Apache-2.0
#ifndef BPFEMU_EMU_LINK_FILES_H_
#define BPFEMU_EMU_LINK_FILES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace bpfemu {

// The file an fd refers to: its device and inode (fstat).
using FileKey = std::pair<uint64_t, uint64_t>;

// False if `fd` is not open.
bool FileKeyOf(int fd, FileKey* k);

// Whether an fd of this process other than `fd` refers to file `k`
// (/proc/self/fd read with raw syscalls: no close() of libbpfemu's runs).
bool OtherFdRefersToFile(int fd, const FileKey& k);

// Links of this process by the file their fds refer to (the backing
// memfd's device and inode), as the kernel's struct file holds a bpf_link:
// a dup(), F_DUPFD or bpf_obj_get copy of a link fd is the same link, and
// the link lives while any fd of the process refers to its file
// (kernel/bpf/syscall.c bpf_link_release on the file's last fput). T's
// destructor is the link's release.
template <typename T>
class LinkFiles {
 public:
  void Add(int fd, std::shared_ptr<T> link) {
    FileKey k;
    if (!FileKeyOf(fd, &k)) return;
    std::lock_guard<std::mutex> l(mu_);
    by_file_[k] = std::move(link);
    size_.store(by_file_.size());
  }
  std::shared_ptr<const T> ByFd(int fd) {
    FileKey k;
    if (size_.load() == 0 || !FileKeyOf(fd, &k)) return nullptr;
    std::lock_guard<std::mutex> l(mu_);
    auto it = by_file_.find(k);
    return it == by_file_.end() ? nullptr : it->second;
  }
  // `fd` is being closed: the link goes when no other fd of this process
  // refers to its file. False if `fd` is no link's.
  bool Forget(int fd) {
    FileKey k;
    if (size_.load() == 0 || !FileKeyOf(fd, &k)) return false;
    std::lock_guard<std::mutex> closing(close_mu_);
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!by_file_.contains(k)) return false;
    }
    if (OtherFdRefersToFile(fd, k)) return true;
    std::shared_ptr<T> last;  // released after the lock
    std::lock_guard<std::mutex> l(mu_);
    auto it = by_file_.find(k);
    if (it == by_file_.end()) return false;
    last = std::move(it->second);
    by_file_.erase(it);
    size_.store(by_file_.size());
    return true;
  }

 private:
  std::mutex close_mu_;  // one close's look at the fd table at a time
  std::mutex mu_;
  std::map<FileKey, std::shared_ptr<T>> by_file_;
  std::atomic<size_t> size_{0};
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_LINK_FILES_H_
