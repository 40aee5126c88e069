// SPDX-License-Identifier: Apache-2.0
// The supervisor's side of seccomp user notification (kernel/seccomp.c:
// seccomp_notify_recv, seccomp_notify_send, seccomp_notify_addfd,
// seccomp_notify_id_valid) and the child's start: no_new_privs, the filter
// with SECCOMP_FILTER_FLAG_NEW_LISTENER, the listener passed to the parent
// with SCM_RIGHTS before execve.
#include "exec/supervisor.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/syscall.h"
#include "exec/call.h"
#include "exec/dispatch.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace bpfemu::exec {
namespace {

// x86-64's bpf, also reached through the x32 ABI (the same number with
// __X32_SYSCALL_BIT); i386's bpf is 357.
constexpr uint32_t kNrBpf = 321;
constexpr uint32_t kNrBpfI386 = 357;
constexpr uint32_t kX32Bit = 0x40000000;

int Seccomp(unsigned op, unsigned flags, void* args) {
  return static_cast<int>(syscall(SYS_seccomp, op, flags, args));
}

// x86-64 system calls the supervisor may answer itself (dispatch.cc,
// docs/exec.md): the /proc look-ups that name a map or program fd (readlink
// of /proc/self/fd/N, open of /proc/self/fdinfo/N) and the file system
// calls on paths below the emulated bpffs mount (statfs, mkdir, rmdir,
// unlink). Anything else they name continues natively.
// Also epoll_ctl, epoll_wait, epoll_pwait and epoll_pwait2: a ring buffer
// fd's epoll readiness is served (ring_poll.h); other fds continue.
// And perf_event_open: a BPF output event is served (perf_open.cc).
constexpr uint32_t kServedFileCalls[] = {2,   89,  257, 267, 137, 83,  84, 87,
                                         258, 263, 233, 232, 281, 441, 298};
// ioctl: only PERF_EVENT_IOC_ENABLE and _DISABLE (an emulated perf event's).
constexpr uint32_t kNrIoctl = 16;
// mmap: only a file mapping (no MAP_ANONYMOUS) can name a map fd.
constexpr uint32_t kNrMmap = 9;

// A classic BPF program with forward jumps to named places.
class FilterBuilder {
 public:
  enum Label { kAllow, kNotif, kI386, kMmap, kIoctl, kLabels };
  void Stmt(uint16_t code, uint32_t k) { f_.push_back(BPF_STMT(code, k)); }
  // if (A == k) goto jt; else goto jf (-1: the next instruction).
  void Jeq(uint32_t k, int jt, int jf) { Jump(BPF_JEQ, k, jt, jf); }
  void Jset(uint32_t k, int jt, int jf) { Jump(BPF_JSET, k, jt, jf); }
  void Place(Label l) { at_[l] = f_.size(); }
  std::vector<sock_filter> Build() {
    for (const Fix& x : fixes_) {
      sock_filter& i = f_[x.index];
      if (x.jt >= 0) i.jt = static_cast<uint8_t>(at_[x.jt] - x.index - 1);
      if (x.jf >= 0) i.jf = static_cast<uint8_t>(at_[x.jf] - x.index - 1);
    }
    return f_;
  }

 private:
  struct Fix {
    size_t index;
    int jt, jf;
  };
  void Jump(uint16_t op, uint32_t k, int jt, int jf) {
    fixes_.push_back({f_.size(), jt, jf});
    f_.push_back(BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0));
  }
  std::vector<sock_filter> f_;
  std::vector<Fix> fixes_;
  size_t at_[kLabels] = {};
};

// The filter: bpf (any ABI), the calls above and file mmaps ->
// USER_NOTIF, everything else ALLOW.
std::vector<sock_filter> Filter() {
  using B = FilterBuilder;
  B b;
  b.Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  b.Jeq(AUDIT_ARCH_X86_64, -1, B::kI386);
  b.Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  b.Stmt(BPF_ALU | BPF_AND | BPF_K, ~kX32Bit);
  b.Jeq(kNrBpf, B::kNotif, -1);
  for (uint32_t nr : kServedFileCalls) b.Jeq(nr, B::kNotif, -1);
  b.Jeq(kNrMmap, B::kMmap, -1);
  b.Jeq(kNrIoctl, B::kIoctl, B::kAllow);
  b.Place(B::kMmap);
  b.Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[3]));
  b.Jset(MAP_ANONYMOUS, B::kAllow, B::kNotif);
  b.Place(B::kIoctl);
  // The request is an unsigned int: the low word of args[1].
  b.Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[1]));
  b.Jeq(PERF_EVENT_IOC_ENABLE, B::kNotif, -1);
  b.Jeq(PERF_EVENT_IOC_DISABLE, B::kNotif, B::kAllow);
  b.Place(B::kI386);
  b.Jeq(AUDIT_ARCH_I386, -1, B::kAllow);
  b.Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  b.Jeq(kNrBpfI386, B::kNotif, B::kAllow);
  b.Place(B::kAllow);
  b.Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  b.Place(B::kNotif);
  b.Stmt(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
  return b.Build();
}

bool IsBpf(const seccomp_data& d) {
  if (d.arch == AUDIT_ARCH_X86_64) {
    return (static_cast<uint32_t>(d.nr) & ~kX32Bit) == kNrBpf;
  }
  return d.arch == AUDIT_ARCH_I386 && static_cast<uint32_t>(d.nr) == kNrBpfI386;
}

int SendFd(int sock, int fd) {
  char data = 'L';
  iovec iov{&data, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof(buf);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int RecvFd(int sock) {
  char data;
  iovec iov{&data, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof(buf);
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int))) {
    return -1;
  }
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

// The child, between fork and execve: only async-signal-safe calls.
[[noreturn]] void ChildMain(int sock, char* const* argv, const sock_fprog* p) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(126);
  const int listener =
      Seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
              const_cast<sock_fprog*>(p));
  if (listener < 0) _exit(126);
  if (SendFd(sock, listener) != 0) _exit(126);
  close(listener);
  close(sock);
  execvp(argv[0], argv);
  const int err = errno;
  static const char kMsg[] = "bpfemu exec: cannot run the command\n";
  ssize_t ignored = write(2, kMsg, sizeof(kMsg) - 1);
  (void)ignored;
  _exit(err == ENOENT ? 127 : 126);
}

}  // namespace

bool Available(std::string* why) {
  std::FILE* f = std::fopen("/proc/sys/kernel/seccomp/actions_avail", "re");
  if (f == nullptr) {
    *why = "no /proc/sys/kernel/seccomp/actions_avail (seccomp off)";
    return false;
  }
  char line[256] = {};
  const bool got = std::fgets(line, sizeof(line), f) != nullptr;
  std::fclose(f);
  if (!got || std::strstr(line, "user_notif") == nullptr) {
    *why = "seccomp user_notif is not in actions_avail";
    return false;
  }
  // pidfd_getfd (5.6) and SECCOMP_IOCTL_NOTIF_ADDFD (5.9): probe the
  // system call; a kernel without it answers ENOSYS.
  if (syscall(SYS_pidfd_getfd, -1, 0, 0) == -1 && errno == ENOSYS) {
    *why = "no pidfd_getfd system call";
    return false;
  }
  return true;
}

Supervisor::Supervisor() : d_(std::make_unique<Dispatcher>()) {}

Supervisor::~Supervisor() {
  if (child_ > 0 && !reaped_) {
    kill(child_, SIGKILL);
    while (waitpid(child_, &status_, 0) < 0 && errno == EINTR) {
    }
  }
  if (listener_ >= 0) close(listener_);
}

int Supervisor::Start(const std::vector<std::string>& argv) {
  if (argv.empty() || child_ > 0) return -EINVAL;
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<sock_filter> filter = Filter();
  sock_fprog prog{static_cast<unsigned short>(filter.size()), filter.data()};
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return -errno;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(sv[0]);
    close(sv[1]);
    return -err;
  }
  if (pid == 0) {
    close(sv[0]);
    ChildMain(sv[1], args.data(), &prog);
  }
  close(sv[1]);
  child_ = pid;
  listener_ = RecvFd(sv[0]);
  close(sv[0]);
  if (listener_ >= 0) {
    // Switch to the woken caller on this CPU when answering (6.6; older
    // kernels refuse the flag, which only costs speed).
    const uint64_t kSyncWakeUp = 1;  // SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
    (void)ioctl(listener_, SECCOMP_IOW(4, uint64_t), kSyncWakeUp);
  }
  if (listener_ < 0) {
    // The child could not install the filter: it exits 126.
    while (waitpid(child_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return -EPERM;
  }
  return 0;
}

int Supervisor::ServeOne(int timeout_ms) {
  if (listener_ < 0) return -1;
  if (timeout_ms >= 0) {
    pollfd p{listener_, POLLIN, 0};
    const int n = poll(&p, 1, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -1;
    if (n == 0) return 0;
    if (!(p.revents & POLLIN)) {
      if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return -1;
      return 0;
    }
  }
  seccomp_notif notif;
  std::memset(&notif, 0, sizeof(notif));
  // RECV blocks until a call comes, or returns ENOENT once no task uses
  // the filter (or when the caller died before we took its call).
  if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_RECV, &notif) != 0) {
    if (errno == EINTR) return 1;
    if (errno != ENOENT) return -1;
    pollfd p{listener_, POLLIN, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN)) {
      return -1;
    }
    return 1;
  }
  d_->NewCall();
  Call call(listener_, notif);
  int64_t r = 0;
  bool cont = false;
  int cmd = 0;
  const bool bpf = IsBpf(notif.data);
  if (d_->Replay(call, notif, &r)) {
    // The restart of a call whose answer was lost: that answer.
    cmd = bpf ? static_cast<int>(notif.data.args[0]) : -notif.data.nr;
  } else if (!bpf) {
    if (notif.data.arch == AUDIT_ARCH_X86_64 &&
        d_->ServeProc(call, notif.data, &r)) {
      cmd = -notif.data.nr;
    } else {
      cont = true;
      ++stats_.continued;
    }
    if (hook_ && !cont) hook_(call.pid(), cmd);
  } else {
    {
      // The call runs on the caller's CPU, as bpf(2) runs on the CPU of
      // the task that made it.
      ScopedCpu on_callers_cpu(call.Cpu());
      cmd = static_cast<int>(notif.data.args[0]);
      r = d_->Serve(call, cmd, notif.data.args[1],
                    static_cast<uint32_t>(notif.data.args[2]));
      d_->WakeRingReaders();
    }
    ++stats_.served;
    if (hook_) hook_(call.pid(), cmd);
  }
  const int answered = call.Answer(r, cont);
  if (answered != 0) {
    // -ENOENT: the caller is gone, or a signal interrupted the call and
    // the kernel restarts it as a new one; 1: the caller could not take
    // the fd it was to get (undone at once). Dispatcher::Unanswered keeps
    // the answer for the restart.
    if (answered < 0) ++stats_.vanished;
    // Not kept: a test run (its restart answers EINTR) and an epoll_ctl
    // ADD (its item is taken out again at once, so the restart adds it).
    constexpr int kNrEpollCtl = 233, kEpollCtlAdd = 1;
    const bool keep = answered < 0 && !cont &&
                      !(bpf && cmd == BPF_PROG_TEST_RUN) &&
                      !(!bpf && notif.data.nr == kNrEpollCtl &&
                        static_cast<int>(notif.data.args[1]) == kEpollCtlAdd);
    d_->Unanswered(call, notif, r, keep);
  }
  d_->Answered();
  return 1;
}

int Supervisor::Serve() {
  while (ServeOne(-1) >= 0) {
  }
  d_->DropLost();
  if (listener_ >= 0) {
    close(listener_);
    listener_ = -1;
  }
  if (child_ > 0 && !reaped_) {
    while (waitpid(child_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  return status_;
}

bool Supervisor::CallWaitingForTesting(int timeout_ms) const {
  if (listener_ < 0) return false;
  pollfd p{listener_, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

int Supervisor::MapFdForId(uint32_t id) const { return d_->MapFdForId(id); }

std::vector<uint32_t> Supervisor::MapIds() const { return d_->MapIds(); }

size_t Supervisor::OpenFds() const {
  return (listener_ >= 0 ? 1 : 0) + d_->OpenFds();
}

int RunSupervised(const std::vector<std::string>& argv) {
  Supervisor s;
  if (int err = s.Start(argv); err != 0) {
    std::fprintf(stderr, "bpfemu exec: %s\n", std::strerror(-err));
    return 127;
  }
  const int status = s.Serve();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 127;
}

}  // namespace bpfemu::exec
