// SPDX-License-Identifier: Apache-2.0
// File: internal.h
//
// Between the supervisor's loop (supervisor.cc) and the bpf() dispatcher
// (serve.cc): one notified call, with access to the caller's memory and
// file descriptors, in the way kernel/bpf/syscall.c reaches them
// (copy_from_user / copy_to_user / strncpy_from_user -> EFAULT, fdget ->
// EBADF).

#ifndef BPFEMU_EXEC_INTERNAL_H_
#define BPFEMU_EXEC_INTERNAL_H_

#include <linux/seccomp.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "exec/supervisor.h"

namespace bpfemu::exec {

class Supervisor::Call {
 public:
  Call(int listener, const struct seccomp_notif& n)
      : listener_(listener), id_(n.id), pid_(static_cast<pid_t>(n.pid)) {}
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  pid_t pid() const { return pid_; }
  // copy_from_user: 0, or -EFAULT unless all n bytes were read.
  [[nodiscard]] int Read(uint64_t addr, void* buf, size_t n) const;
  // copy_to_user: 0, or -EFAULT unless all n bytes were written.
  [[nodiscard]] int Write(uint64_t addr, const void* buf, size_t n) const;
  // strncpy_from_user up to `max` bytes with the NUL: 0, -EFAULT, or
  // -ENAMETOOLONG when no NUL came within `max` bytes.
  [[nodiscard]] int ReadString(uint64_t addr, size_t max,
                               std::string* out) const;
  // pidfd_getfd of the caller's fd: a new fd of this process (O_CLOEXEC),
  // or -EBADF.
  [[nodiscard]] int GetFd(int child_fd);
  // SECCOMP_IOCTL_NOTIF_ADDFD: the caller's new fd number (O_CLOEXEC), or
  // -errno.
  [[nodiscard]] int InstallFd(int local_fd);
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
};

// Serves one bpf(cmd, uattr, size) of `call` on the emulator: the value
// the system call returns (>= 0) or -errno.
class Dispatcher {
 public:
  explicit Dispatcher(Supervisor* s) : s_(*s) {}
  int64_t Serve(Supervisor::Call& call, int cmd, uint64_t uattr,
                uint32_t size);

 private:
  // The emulator's fd for the caller's map fd: 0 with *local set, or
  // -EBADF / -EINVAL (not a map).
  int LocalMap(Supervisor::Call& c, int child_fd, int* local);
  // The same for a program fd.
  int LocalProg(Supervisor::Call& c, int child_fd, int* local);
  // Installs the map behind the emulator's fd `local` (just returned by
  // the emulator, with access readable / writable) into the caller. Takes
  // `local`. The caller's fd, or -errno.
  int GiveMap(Supervisor::Call& c, int local, bool readable, bool writable);
  int GiveProg(Supervisor::Call& c, int local);

  int64_t MapCreate(Supervisor::Call& c, const uint8_t* attr);
  int64_t Elem(Supervisor::Call& c, int cmd, const uint8_t* attr);
  int64_t Batch(Supervisor::Call& c, int cmd, uint64_t uattr,
                const uint8_t* attr);
  int64_t ObjPin(Supervisor::Call& c, const uint8_t* attr);
  int64_t ObjGet(Supervisor::Call& c, const uint8_t* attr);
  int64_t GetInfo(Supervisor::Call& c, uint64_t uattr, const uint8_t* attr);
  int64_t NextId(Supervisor::Call& c, int cmd, uint64_t uattr,
                 const uint8_t* attr);
  int64_t FdById(Supervisor::Call& c, int cmd, const uint8_t* attr);
  int64_t ProgLoad(Supervisor::Call& c, uint64_t uattr, const uint8_t* attr,
                   uint32_t size);
  int64_t TestRun(Supervisor::Call& c, uint64_t uattr, const uint8_t* attr);

  Supervisor& s_;
};

}  // namespace bpfemu::exec

#endif  // BPFEMU_EXEC_INTERNAL_H_
