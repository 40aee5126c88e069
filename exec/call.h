// SPDX-License-Identifier: Apache-2.0
// File: call.h
//
// One system call a supervised process is waiting in (seccomp user
// notification, kernel/seccomp.c), with access to the caller's memory and
// file descriptors the way kernel/bpf/syscall.c reaches them
// (copy_from_user / copy_to_user / strncpy_from_user -> EFAULT, fdget ->
// EBADF): process_vm_readv / process_vm_writev, pidfd_getfd, and
// SECCOMP_IOCTL_NOTIF_ADDFD to give it a file.

#ifndef BPFEMU_EXEC_CALL_H_
#define BPFEMU_EXEC_CALL_H_

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bpfemu::exec {

class Call {
 public:
  Call(int listener, const struct seccomp_notif& n)
      : listener_(listener), id_(n.id), pid_(static_cast<pid_t>(n.pid)) {}
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  pid_t pid() const { return pid_; }
  // The CPU the caller last ran on, the one it made the call from (field
  // 39 of /proc/TID/stat, fs/proc/array.c), or -1 if unreadable. Per-CPU
  // maps and LRU lists must see the caller's CPU, not the supervisor's.
  int Cpu() const;
  // copy_from_user: 0, or -EFAULT unless all n bytes were read.
  [[nodiscard]] int Read(uint64_t addr, void* buf, size_t n) const;
  // copy_to_user: 0, or -EFAULT unless all n bytes were written.
  [[nodiscard]] int Write(uint64_t addr, const void* buf, size_t n) const;

  // What the answer depends on in the caller's memory: every range this
  // call read (the attr, keys, values, instructions, paths, ...) with the
  // bytes it held - or that it could not be read - as the caller's memory
  // stands after the call (a later Write of an overlapping range is
  // applied to the recorded bytes). A lost answer is replayed only to a
  // call that finds the same (Dispatcher::Replay).
  struct Seen {
    uint64_t addr = 0;
    size_t len = 0;
    bool fault = false;
    std::string bytes;
    // Or an fd of the caller the call looked up (GetFd, NoteFd): fd >= 0,
    // the file (dev, inode) it named, or none (fault). One that names
    // another file now (closed, another object dup2()ed onto the number)
    // makes another call.
    int fd = -1;
    uint64_t dev = 0, ino = 0;
  };
  std::vector<Seen> TakeSeen() { return std::move(seen_); }
  void ForgetSeen() { seen_.clear(); }
  void SetSeen(std::vector<Seen> seen) { seen_ = std::move(seen); }
  // Whether the caller's memory still shows what `seen` recorded, and its
  // fds still name the files they named.
  bool StillSees(const std::vector<Seen>& seen) const;
  // strncpy_from_user up to `max` bytes with the NUL: 0, -EFAULT, or
  // -ENAMETOOLONG when no NUL came within `max` bytes.
  [[nodiscard]] int ReadString(uint64_t addr, size_t max,
                               std::string* out) const;
  // pidfd_getfd of the caller's fd: a new fd of this process (O_CLOEXEC),
  // or -EBADF.
  [[nodiscard]] int GetFd(int child_fd);
  // Records (Seen) that the caller's `child_fd` names the file of this
  // process's `local` (found without GetFd, as Dispatcher::Cached does).
  void NoteFd(int child_fd, int local);
  // The call's answer is a new fd of the caller for the file of
  // `local_fd` (which stays the caller's of this method to close). The
  // file is installed when the call is answered (Answer), together with
  // the reply: 0, or -errno.
  [[nodiscard]] int AnswerWithFd(int local_fd, bool cloexec = true);
  // Answers the call (SECCOMP_IOCTL_NOTIF_SEND): with `r` (a value, or
  // -errno when negative), with SECCOMP_USER_NOTIF_FLAG_CONTINUE when
  // `cont`, or, when AnswerWithFd named a file and r >= 0, with that file
  // installed in the caller (SECCOMP_IOCTL_NOTIF_ADDFD with
  // SECCOMP_ADDFD_FLAG_SEND: the fd and the reply reach the caller
  // together or not at all, seccomp_handle_addfd). Returns 0 when the
  // answer was delivered as asked; 1 when the caller got an error instead
  // of the fd (receive_fd failed there: EMFILE); -ENOENT when the caller no
  // longer waits for this call (it died, or a signal interrupted it and the
  // kernel restarts the system call as a new notification). On 1 and
  // -ENOENT the command's effects are to be undone.
  [[nodiscard]] int Answer(int64_t r, bool cont);
  // The file AnswerWithFd named (a descriptor of this process, now the
  // taker's to close), or -1; whether it was to be close-on-exec.
  int TakeAnswerFd(bool* cloexec) {
    const int fd = answer_fd_;
    answer_fd_ = -1;
    *cloexec = answer_cloexec_;
    return fd;
  }
  // Whether the caller still waits for this call (a pid that was reused
  // after it died would not).
  bool Valid() const;
  // A path as the caller sees it: relative ones below its working
  // directory (or below `dir_fd` of the caller, when not AT_FDCWD).
  std::string Absolute(const std::string& path, int dir_fd = -100) const;

 private:
  int listener_;
  uint64_t id_;
  pid_t pid_;
  int pidfd_ = -1;
  int answer_fd_ = -1;  // a dup of AnswerWithFd's file
  bool answer_cloexec_ = true;
  mutable std::vector<Seen> seen_;
};

}  // namespace bpfemu::exec

#endif  // BPFEMU_EXEC_CALL_H_
