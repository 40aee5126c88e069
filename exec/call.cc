// SPDX-License-Identifier: Apache-2.0
// A notified call's view of its caller (call.h): memory through
// process_vm_readv / process_vm_writev (mm/process_vm_access.c), fds
// through pidfd_getfd (kernel/pid.c) and SECCOMP_IOCTL_NOTIF_ADDFD, the
// caller's still waiting through SECCOMP_IOCTL_NOTIF_ID_VALID
// (kernel/seccomp.c).
#include "exec/call.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace bpfemu::exec {

Call::~Call() {
  if (pidfd_ >= 0) close(pidfd_);
  if (answer_fd_ >= 0) close(answer_fd_);
}

int Call::Cpu() const {
  char path[32];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid_));
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[1024];
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  // The command name (field 2) may hold spaces and parentheses: count
  // fields from the last ')'. Field 3 follows it; "processor" is field 39.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return -1;
  for (int field = 3; field <= 39; ++field) {
    p = std::strchr(p + 1, ' ');
    if (p == nullptr) return -1;
  }
  char* end = nullptr;
  const long cpu = std::strtol(p + 1, &end, 10);
  if (end == p + 1 || cpu < 0 || cpu > 1 << 20) return -1;
  return static_cast<int>(cpu);
}

int Call::Read(uint64_t addr, void* buf, size_t n) const {
  if (n == 0) return 0;
  if (addr == 0) return -EFAULT;
  iovec local{buf, n};
  iovec remote{reinterpret_cast<void*>(addr), n};
  const ssize_t got = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  const bool ok = got == static_cast<ssize_t>(n);
  Seen s{addr, n, !ok, {}};
  if (ok) s.bytes.assign(static_cast<const char*>(buf), n);
  seen_.push_back(std::move(s));
  return ok ? 0 : -EFAULT;
}

int Call::Write(uint64_t addr, const void* buf, size_t n) const {
  if (n == 0) return 0;
  if (addr == 0) return -EFAULT;
  iovec local{const_cast<void*>(buf), n};
  iovec remote{reinterpret_cast<void*>(addr), n};
  const ssize_t got = process_vm_writev(pid_, &local, 1, &remote, 1, 0);
  // What was read of the written range now holds what was written.
  for (Seen& s : seen_) {
    if (s.fd >= 0 || s.fault || s.addr >= addr + n || addr >= s.addr + s.len)
      continue;
    const uint64_t from = std::max(s.addr, addr);
    const uint64_t to = std::min(s.addr + s.len, addr + n);
    std::memcpy(s.bytes.data() + (from - s.addr),
                static_cast<const char*>(buf) + (from - addr), to - from);
  }
  return got == static_cast<ssize_t>(n) ? 0 : -EFAULT;
}

bool Call::StillSees(const std::vector<Seen>& seen) const {
  std::string now;
  for (const Seen& s : seen) {
    if (s.fd >= 0) {
      // The file the number names now (fs/proc/fd.c follows the link).
      struct stat st;
      const std::string link =
          "/proc/" + std::to_string(pid_) + "/fd/" + std::to_string(s.fd);
      const bool ok = stat(link.c_str(), &st) == 0;
      if (ok == s.fault || (ok && (st.st_dev != s.dev || st.st_ino != s.ino)))
        return false;
      continue;
    }
    now.resize(s.len);
    iovec local{now.data(), s.len};
    iovec remote{reinterpret_cast<void*>(s.addr), s.len};
    const bool ok = process_vm_readv(pid_, &local, 1, &remote, 1, 0) ==
                    static_cast<ssize_t>(s.len);
    if (ok == s.fault || (ok && now != s.bytes)) return false;
  }
  return true;
}

int Call::ReadString(uint64_t addr, size_t max, std::string* out) const {
  out->clear();
  constexpr uint64_t kPage = 4096;
  while (out->size() < max) {
    // Never cross a page in one read: the string may end before an
    // unmapped page.
    const size_t chunk =
        std::min<uint64_t>(kPage - (addr % kPage), max - out->size());
    char buf[4096];
    if (Read(addr, buf, chunk) != 0) return -EFAULT;
    const void* nul = std::memchr(buf, 0, chunk);
    if (nul != nullptr) {
      out->append(buf, static_cast<const char*>(nul) - buf);
      return 0;
    }
    out->append(buf, chunk);
    addr += chunk;
  }
  return -ENAMETOOLONG;
}

int Call::GetFd(int child_fd) {
  if (child_fd < 0) return -EBADF;
  if (pidfd_ < 0) {
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, PIDFD_THREAD));
    if (pidfd_ < 0 && errno == EINVAL) {
      pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    }
    if (pidfd_ < 0) return -EBADF;
    // The pid may have been reused since the call: only trust the pidfd if
    // the call is still pending.
    if (!Valid()) return -EBADF;
  }
  const int fd =
      static_cast<int>(syscall(SYS_pidfd_getfd, pidfd_, child_fd, 0));
  if (fd < 0) {
    seen_.push_back(Seen{.fault = true, .fd = child_fd});
    return -EBADF;
  }
  NoteFd(child_fd, fd);
  return fd;
}

void Call::NoteFd(int child_fd, int local) {
  struct stat st;
  Seen s;
  s.fd = child_fd;
  if (fstat(local, &st) == 0) {
    s.dev = st.st_dev;
    s.ino = st.st_ino;
  } else {
    s.fault = true;
  }
  seen_.push_back(std::move(s));
}

int Call::AnswerWithFd(int local_fd, bool cloexec) {
  const int fd = fcntl(local_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (answer_fd_ >= 0) close(answer_fd_);
  answer_fd_ = fd;
  answer_cloexec_ = cloexec;
  return 0;
}

int Call::Answer(int64_t r, bool cont) {
  seccomp_notif_resp resp = {};
  resp.id = id_;
  int outcome = 0;
  if (answer_fd_ >= 0 && r >= 0 && !cont) {
    seccomp_notif_addfd add = {};
    add.id = id_;
    add.flags = SECCOMP_ADDFD_FLAG_SEND;
    add.srcfd = static_cast<uint32_t>(answer_fd_);
    add.newfd_flags = answer_cloexec_ ? O_CLOEXEC : 0;
    if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &add) >= 0) return 0;
    // ENOENT: no such notification any more; ESRCH: the caller was
    // interrupted before it took the file (seccomp_do_user_notification
    // fails pending additions so). Nothing was installed.
    if (errno == ENOENT || errno == ESRCH) return -ENOENT;
    if (errno == EINVAL) {
      // Before 5.14 (no SECCOMP_ADDFD_FLAG_SEND): the file first, then
      // the reply; a lost reply leaves the fd in the caller.
      add.flags = 0;
      const int fd = ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
      if (fd >= 0) {
        r = fd;
      } else {
        r = -errno;
        outcome = 1;
      }
    } else {
      // The caller could not take the file (receive_fd: EMFILE): that is
      // its answer, and the object is not its.
      r = -errno;
      outcome = 1;
    }
  }
  if (cont) {
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  } else if (r < 0) {
    resp.error = static_cast<int32_t>(r);
  } else {
    resp.val = r;
  }
  if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) return -ENOENT;
  return outcome;
}

bool Call::Valid() const {
  uint64_t id = id_;
  return ioctl(listener_, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

std::string Call::Absolute(const std::string& path, int dir_fd) const {
  if (!path.empty() && path[0] == '/') return path;
  const std::string link =
      dir_fd == AT_FDCWD
          ? "/proc/" + std::to_string(pid_) + "/cwd"
          : "/proc/" + std::to_string(pid_) + "/fd/" + std::to_string(dir_fd);
  char buf[4096];
  const ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return path;
  std::string base(buf, static_cast<size_t>(n));
  return path.empty() ? base : base + "/" + path;
}

}  // namespace bpfemu::exec
