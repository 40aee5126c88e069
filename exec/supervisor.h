// SPDX-License-Identifier: Apache-2.0
// File: supervisor.h
//
// `bpfemu exec`: runs a command with its bpf(2) system calls served by the
// emulator, whatever issues them (libc's syscall(), a static binary, the Go
// runtime, Python's ctypes). The child runs under a seccomp filter
// (kernel/seccomp.c) whose only non-ALLOW answer is SECCOMP_RET_USER_NOTIF
// for bpf; the supervisor receives each such call on the listener fd
// (SECCOMP_IOCTL_NOTIF_RECV), reads the call's union bpf_attr and every
// buffer it points to from the caller's memory (process_vm_readv), runs the
// command on the emulator in this process (emu/syscall.h, emu/prog.h,
// loader/bytecode.h) and answers with the kernel's return value or errno
// (SECCOMP_IOCTL_NOTIF_SEND), after writing the results back
// (process_vm_writev). It mirrors __sys_bpf() in kernel/bpf/syscall.c: the
// attr size rules (bpf_check_uarg_tail_zero: E2BIG, EFAULT), the per-command
// CHECK_ATTR (EINVAL), and the commands' own checks, which are the
// emulator's.
//
// File descriptors: every map or program the child gets is a file of this
// process (the map's region, the program's memfd) installed into the child
// with SECCOMP_IOCTL_NOTIF_ADDFD (O_CLOEXEC, as bpf fds are). An fd the
// child passes back is fetched (pidfd_getfd) and identified by the file it
// is (st_dev, st_ino, and its access mode, which stands for the kernel's
// f_mode of a BPF_F_RDONLY / BPF_F_WRONLY fd), so dup, fork, SCM_RIGHTS and
// close in the child behave as with kernel fds. docs/exec.md lists every
// command and its answer.
//
// The filter is inherited across fork, clone and execve, by every thread
// and process the child starts; the supervisor serves them all, one call at
// a time. Everything but bpf runs natively.

#ifndef BPFEMU_EXEC_SUPERVISOR_H_
#define BPFEMU_EXEC_SUPERVISOR_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bpfemu::exec {

class Dispatcher;

// Whether this kernel offers what the supervisor needs (seccomp user
// notification, pidfd_getfd, process_vm_readv): true, or false with the
// reason in *why.
bool Available(std::string* why);

// What the supervisor has done, for tests and the benchmark.
struct Stats {
  uint64_t served = 0;     // bpf() calls answered
  uint64_t vanished = 0;   // answers lost: the caller died or was
                           // interrupted (its call then undone)
  uint64_t continued = 0;  // other system calls let through
};

class Supervisor {
 public:
  Supervisor();
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts argv (argv[0] searched in PATH) under the filter, with this
  // process's environment and stdio. 0, or -errno (the child could not be
  // started; a command that is not found exits 127 in the child instead).
  [[nodiscard]] int Start(const std::vector<std::string>& argv);

  // Serves bpf() calls until no supervised task is left, then reaps the
  // child. Returns its wait status (as waitpid's).
  int Serve();

  // Serves at most one call, waiting up to timeout_ms (-1: forever).
  // Returns 1 if a call was handled, 0 on timeout, -1 once no supervised
  // task is left.
  int ServeOne(int timeout_ms);

  pid_t child() const { return child_; }
  const Stats& stats() const { return stats_; }

  // The emulator's fd, in this process, of the map with `id` that the
  // children created or opened (for inspecting it with emu/syscall.h), or
  // -1.
  int MapFdForId(uint32_t id) const;
  // The ids of every map the supervisor holds, ascending.
  std::vector<uint32_t> MapIds() const;

  // The descriptors this object holds open (listener, maps, programs).
  size_t OpenFds() const;

  // Tests: runs after a call was served and before it is answered (the
  // caller still waits), with the caller's tid and the bpf command, or
  // -nr for another system call the supervisor answered itself (not for
  // calls it let continue).
  void SetAnswerHookForTesting(std::function<void(pid_t, int)> hook) {
    hook_ = std::move(hook);
  }
  // Tests: whether a call is waiting to be received within timeout_ms (a
  // hook that interrupted its caller with a signal waits here for the
  // restarted call, so that the answer it holds is certainly lost).
  bool CallWaitingForTesting(int timeout_ms) const;

 private:
  int listener_ = -1;
  pid_t child_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  Stats stats_;
  std::function<void(pid_t, int)> hook_;
  // The objects the children hold and the calls on them (dispatch.h).
  std::unique_ptr<Dispatcher> d_;
};

// Runs argv under a Supervisor until it and everything it started exits.
// Returns the exit status as a shell reports it: the exit code, or 128 +
// the signal that ended the child; 127 if it could not be started.
int RunSupervised(const std::vector<std::string>& argv);

}  // namespace bpfemu::exec

#endif  // BPFEMU_EXEC_SUPERVISOR_H_
