// SPDX-License-Identifier: Apache-2.0
// epoll readiness of ring buffer fds for supervised processes
// (ring_poll.h): kernel/bpf/ringbuf.c ringbuf_map_poll_kern and
// fs/eventpoll.c do_epoll_ctl, served with a pipe per registration.
#include "exec/ring_poll.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace bpfemu::exec {
namespace {

// kcmp(KCMP_FILE): whether two fds (of `a` and of this process) are one
// open file. Every epoll file has the same anonymous inode, so only the
// file itself names an epoll instance.
bool SameFile(pid_t a, int fd_a, int fd_b) {
  return syscall(SYS_kcmp, a, getpid(), 0 /* KCMP_FILE */, fd_a, fd_b) == 0;
}

bool IsEpoll(int fd) {
  char link[64] = {};
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
  return n > 0 && std::strcmp(link, "anon_inode:[eventpoll]") == 0;
}

// One byte in the pipe: a RINGBUF's item is ready. More change nothing.
void PutByte(int wr) {
  const char b = 1;
  ssize_t ignored = write(wr, &b, 1);
  (void)ignored;
}

void Empty(int rd) {
  char buf[4096];
  while (read(rd, buf, sizeof(buf)) > 0) {
  }
}

// A full pipe: a USER_RINGBUF's item (the write end) is not ready.
void Fill(int wr) {
  static const char buf[4096] = {};
  while (write(wr, buf, sizeof(buf)) > 0) {
  }
}

}  // namespace

RingPolls::~RingPolls() {
  for (Reg& r : regs_) {
    close(r.epoll);
    close(r.rd);
    close(r.wr);
  }
}

void RingPolls::Raise(Reg& r) {
  if (r.user) {
    Empty(r.rd);
  } else {
    PutByte(r.wr);
  }
  r.up = true;
  r.reported = false;
}

void RingPolls::Lower(Reg& r) {
  if (r.user) {
    Fill(r.wr);
  } else {
    Empty(r.rd);
  }
  r.up = false;
}

uint64_t RingPolls::WakeupCount(const Reg& r) {
  return r.perf != nullptr ? r.perf->Wakeups()
                           : r.ring->wakeups().load(std::memory_order_acquire);
}

bool RingPolls::Ready(const Reg& r) {
  // perf_poll: the wake-up not yet taken, not the data.
  if (r.perf != nullptr) return r.up;
  // ringbuf_avail_data_sz(): producer - consumer; a user ring is ready
  // below ringbuf_total_data_sz().
  const uint64_t avail = r.ring->Query(BPF_RB_AVAIL_DATA);
  return r.user ? avail < r.ring->Query(BPF_RB_RING_SIZE) : avail != 0;
}

int64_t RingPolls::Ctl(Call& c, int epfd, int op, int child_fd, uint64_t event,
                       std::shared_ptr<RingbufMap> ring, int local) {
  return CtlAny(c, epfd, op, child_fd, event, std::move(ring), nullptr, local);
}

int64_t RingPolls::CtlPerf(Call& c, int epfd, int op, int child_fd,
                           uint64_t event, std::shared_ptr<PerfEvent> perf,
                           int local) {
  return CtlAny(c, epfd, op, child_fd, event, nullptr, std::move(perf), local);
}

int64_t RingPolls::CtlAny(Call& c, int epfd, int op, int child_fd,
                          uint64_t event, std::shared_ptr<RingbufMap> ring,
                          std::shared_ptr<PerfEvent> perf, int local) {
  // do_epoll_ctl(): the event is copied first (ADD and MOD), then the
  // epoll fd is looked up.
  epoll_event ev{};
  const bool has_event = op != EPOLL_CTL_DEL;
  if (has_event && c.Read(event, &ev, sizeof(ev)) != 0) return -EFAULT;
  const int ep = c.GetFd(epfd);
  if (ep < 0) return -EBADF;
  // The item, keyed as the kernel keys it: the epoll instance, the ring's
  // file (its emulator fd) and the fd number it was added under.
  size_t found = regs_.size();
  for (size_t i = 0; i < regs_.size(); ++i) {
    const Reg& r = regs_[i];
    if (r.local == local && r.child_fd == child_fd &&
        SameFile(getpid(), ep, r.epoll)) {
      found = i;
      break;
    }
  }
  if (op == EPOLL_CTL_ADD) {
    if (found != regs_.size()) {
      close(ep);
      return -EEXIST;
    }
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
      const int err = errno;
      close(ep);
      return err == EMFILE || err == ENFILE ? -ENOMEM : -err;
    }
    const bool user =
        ring != nullptr && ring->type() == BPF_MAP_TYPE_USER_RINGBUF;
    if (user) {
      // One page (the least a pipe holds), filled: not ready until Raise.
      (void)fcntl(p[1], F_SETPIPE_SZ, 4096);
      Fill(p[1]);
    }
    if (epoll_ctl(ep, EPOLL_CTL_ADD, user ? p[1] : p[0], &ev) != 0) {
      const int err = errno;
      close(ep);
      close(p[0]);
      close(p[1]);
      return -err;
    }
    Reg r{ep,
          p[0],
          p[1],
          user,
          child_fd,
          local,
          std::move(ring),
          std::move(perf),
          /*seen=*/0};
    r.seen = WakeupCount(r);
    if (r.perf != nullptr) {
      // ep_insert's poll takes a pending wake-up: the item is queued, and
      // the next wait's poll finds nothing.
      auto [it, fresh] = perf_.try_emplace(local);
      if (fresh) it->second.seen = r.seen;
      it->second.pending = false;
    } else if (Ready(r)) {
      // ep_insert polls the new item: ready at once if the ring is.
      Raise(r);
    }
    regs_.push_back(std::move(r));
    added_by_call_ = true;
    return 0;
  }
  if (found == regs_.size()) {
    // Not an epoll file: EINVAL before the item look-up (ENOENT).
    const bool is_epoll = IsEpoll(ep);
    close(ep);
    if (op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) return -EINVAL;
    return is_epoll ? -ENOENT : -EINVAL;
  }
  close(ep);
  Reg& r = regs_[found];
  const int item = r.user ? r.wr : r.rd;
  if (op == EPOLL_CTL_DEL) {
    (void)epoll_ctl(r.epoll, EPOLL_CTL_DEL, item, nullptr);
    close(r.epoll);
    close(r.rd);
    close(r.wr);
    const bool perf = r.perf != nullptr;
    regs_.erase(regs_.begin() + static_cast<std::ptrdiff_t>(found));
    if (perf) DropPerfState(local);
    return 0;
  }
  if (op != EPOLL_CTL_MOD) return -EINVAL;
  if (epoll_ctl(r.epoll, EPOLL_CTL_MOD, item, &ev) != 0) return -errno;
  // ep_modify polls the item again. A perf event's poll takes a pending
  // wake-up (reported by the next wait, then gone); one a wait reported
  // is gone already.
  if (r.perf != nullptr) {
    // Taken by ep_modify's poll; the next wait's poll finds nothing.
    perf_[local].pending = false;
    if (r.up) Lower(r);
  } else if (Ready(r)) {
    Raise(r);
  }
  return 0;
}

void RingPolls::BeforeWait(Call& c, int epfd) {
  Signal();
  bool perf_here = false;
  for (Reg& r : regs_) {
    if (!SameFile(c.pid(), epfd, r.epoll)) continue;
    if (r.perf == nullptr) {
      if (!Ready(r)) Lower(r);
      continue;
    }
    perf_here = true;
    if (!r.up) continue;
    // This wait polls the queued item: it reports the pending wake-up and
    // takes it; a wake-up taken already (by an earlier wait, which left a
    // level-triggered item queued, or by another poll) is nothing.
    PerfState& st = perf_[r.local];
    if (!r.reported && st.pending) {
      st.pending = false;
      r.reported = true;
    } else {
      Lower(r);
    }
  }
  if (!perf_here) return;
  const std::pair<pid_t, int> w{c.pid(), epfd};
  for (const auto& x : waiters_) {
    if (x == w) return;
  }
  if (waiters_.size() >= 64) waiters_.erase(waiters_.begin());
  waiters_.push_back(w);
}

bool RingPolls::TakenByBlockedWaiter(const Reg& r) {
  bool taken = false;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    const auto [tid, epfd] = *it;
    // /proc/TID/syscall: the number first while the thread is blocked in
    // a system call, "running" otherwise; gone with the thread (dropped).
    char buf[32] = {};
    const std::string path = "/proc/" + std::to_string(tid) + "/syscall";
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      it = waiters_.erase(it);
      continue;
    }
    ++it;
    const ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0 || taken) continue;
    const long nr = std::strtol(buf, nullptr, 10);
    taken =
        (nr == 232 || nr == 281 || nr == 441) && SameFile(tid, epfd, r.epoll);
  }
  return taken;
}

void RingPolls::Forget(int local) {
  for (auto it = regs_.begin(); it != regs_.end();) {
    if (it->local != local) {
      ++it;
      continue;
    }
    (void)epoll_ctl(it->epoll, EPOLL_CTL_DEL, it->user ? it->wr : it->rd,
                    nullptr);
    close(it->epoll);
    close(it->rd);
    close(it->wr);
    it = regs_.erase(it);
  }
  perf_.erase(local);
}

void RingPolls::Signal() {
  for (Reg& r : regs_) {
    if (r.perf != nullptr) continue;
    const uint64_t w = WakeupCount(r);
    if (w == r.seen) continue;
    r.seen = w;
    Raise(r);
  }
  for (auto& [local, st] : perf_) {
    std::shared_ptr<PerfEvent> ev;
    for (const Reg& r : regs_) {
      if (r.local == local && r.perf != nullptr) ev = r.perf;
    }
    if (ev == nullptr) continue;
    const uint64_t w = ev->Wakeups();
    if (w == st.seen) continue;
    st.seen = w;
    st.pending = true;
    // Every item of the event is queued; a wait blocked in one of their
    // instances polls it at once and takes the wake-up (looked at before
    // the byte wakes the waiter).
    for (Reg& r : regs_) {
      if (r.local != local || r.perf == nullptr) continue;
      const bool taken = st.pending && TakenByBlockedWaiter(r);
      Raise(r);
      if (taken) {
        st.pending = false;
        r.reported = true;
      }
    }
  }
}

void RingPolls::Unanswered() {
  if (!added_by_call_ || regs_.empty()) return;
  added_by_call_ = false;
  Reg& r = regs_.back();
  (void)epoll_ctl(r.epoll, EPOLL_CTL_DEL, r.user ? r.wr : r.rd, nullptr);
  close(r.epoll);
  close(r.rd);
  close(r.wr);
  const bool perf = r.perf != nullptr;
  const int local = r.local;
  regs_.pop_back();
  if (perf) DropPerfState(local);
}

void RingPolls::DropPerfState(int local) {
  for (const Reg& r : regs_) {
    if (r.local == local && r.perf != nullptr) return;
  }
  perf_.erase(local);
}

}  // namespace bpfemu::exec
