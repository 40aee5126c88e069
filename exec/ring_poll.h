// SPDX-License-Identifier: Apache-2.0
// File: ring_poll.h
//
// epoll readiness of a BPF_MAP_TYPE_RINGBUF (or USER_RINGBUF) fd for a
// supervised process (docs/exec.md, "Ring buffer readers"), after
// kernel/bpf/ringbuf.c ringbuf_map_poll_kern and bpf_ringbuf_commit's
// wake-up, and fs/eventpoll.c (do_epoll_ctl, ep_item_poll). A map fd of the
// child is a regular file, which epoll_ctl refuses (EPERM). The supervisor
// takes the call instead: it fetches the child's epoll file (pidfd_getfd) and
// registers in it, with the child's events and epoll_data, the read end of a
// pipe of its own. The pipe holds a byte while the kernel's epoll item would be
// on the ready list:
//
//   * a wake-up (the ring's wake-up count moved: a commit at the consumer's
//     position, BPF_RB_FORCE_WAKEUP, never BPF_RB_NO_WAKEUP) puts one there,
//     as rb->waitq's wake-up queues the item;
//   * EPOLL_CTL_ADD / MOD put one there when data is available, as
//     ep_insert / ep_modify poll the item;
//   * before each epoll_wait / epoll_pwait / epoll_pwait2 on that epoll
//     file, the byte is taken away when no data is available, as
//     ep_send_events polls a level-triggered item again and drops it when
//     ringbuf_map_poll_kern answers 0. A level-triggered item stays
//     ready while data remains, and data committed with NO_WAKEUP after the
//     reader caught up is not reported until a later wake-up, as in the
//     kernel.
//
// A pipe's read end polls EPOLLIN | EPOLLRDNORM, the ring's events.
//
// A BPF_MAP_TYPE_USER_RINGBUF (ringbuf_map_poll_user) is ready for writing
// (EPOLLOUT | EPOLLWRNORM) while it has room, and a drain that consumed a
// sample (or any with BPF_RB_FORCE_WAKEUP) wakes it. Its item is the
// pipe's write end, the pipe one page long: ready while the pipe has room,
// not ready when the supervisor has filled it; the same rules move it.
//
// An emulated perf event (emu/perf_event.h, served to the child by
// bpfemu exec) polls as kernel/events/core.c perf_poll: a wake-up
// (perf_output_wakeup) sets the event's rb->poll and queues every item of
// the event, and any poll of an item takes rb->poll (atomic_xchg): the
// wait that reports it, a level-triggered item's re-poll by the next wait
// (nothing), ep_insert's and ep_modify's polls (the waits that follow
// report nothing). So one wake-up is reported once, by one wait, whatever
// data remains. The event's pending flag is kept here; each item's pipe
// gets a byte at a wake-up, and before a wait on its epoll instance the
// byte stays when the wait will take the pending wake-up and goes when the
// wake-up was taken already (by an earlier wait, another instance, an
// EPOLL_CTL_ADD or _MOD). A wait blocked in that instance when the wake-up
// comes takes it (the supervisor reads /proc/TID/syscall of the threads it
// saw enter a wait there, before it writes the byte). An item of an event
// that has not been mapped yet is not EPOLLHUP (perf_poll without a ring).

#ifndef BPFEMU_EXEC_RING_POLL_H_
#define BPFEMU_EXEC_RING_POLL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "emu/perf_event.h"
#include "emu/ringbuf.h"
#include "exec/call.h"

namespace bpfemu::exec {

class RingPolls {
 public:
  RingPolls() = default;
  ~RingPolls();
  RingPolls(const RingPolls&) = delete;
  RingPolls& operator=(const RingPolls&) = delete;

  // epoll_ctl(epfd, op, child_fd, event) of the caller, whose child_fd is
  // the ring `ring` (the emulator's fd `local`): 0 or -errno as
  // do_epoll_ctl answers.
  int64_t Ctl(Call& c, int epfd, int op, int child_fd, uint64_t event,
              std::shared_ptr<RingbufMap> ring, int local);
  // The same for an emulated perf event (`local`: the emulator's fd).
  int64_t CtlPerf(Call& c, int epfd, int op, int child_fd, uint64_t event,
                  std::shared_ptr<PerfEvent> perf, int local);
  // An epoll_wait family call on the caller's `epfd` is about to run:
  // level-triggered readiness is re-evaluated.
  void BeforeWait(Call& c, int epfd);
  // Wake-ups since the last call become readiness.
  void Signal();
  // The emulator's fd `local` is being closed (the ring's file is held by
  // no process any more): its items leave every epoll instance, as
  // eventpoll_release removes them at the file's last close.
  void Forget(int local);
  // A call's answer could not be delivered (SECCOMP_IOCTL_NOTIF_SEND:
  // ENOENT): a signal interrupted the caller's epoll_ctl, which the kernel
  // restarts as a new call, or the caller is gone. An item that call added
  // is taken out again, so the restarted ADD does not find it (EEXIST).
  // NewCall() starts each call.
  void NewCall() { added_by_call_ = false; }
  void Unanswered();
  bool empty() const { return regs_.empty(); }
  // Descriptors held (three per registration).
  size_t OpenFds() const { return 3 * regs_.size(); }

 private:
  bool added_by_call_ = false;  // regs_.back() is the current call's ADD
  struct Reg {
    int epoll;     // the child's epoll file, fetched
    int rd, wr;    // the pipe: rd (a RINGBUF) or wr (a USER_RINGBUF) is in it
    bool user;     // a BPF_MAP_TYPE_USER_RINGBUF
    int child_fd;  // the ring's fd number in the caller (the kernel's item key)
    int local;     // the emulator's fd of the ring
    std::shared_ptr<RingbufMap> ring;
    std::shared_ptr<PerfEvent> perf;  // instead of `ring`
    uint64_t seen;                    // the wake-up count last looked at
    bool up = false;                  // a perf item's byte is in the pipe
    bool reported = false;            // ... and a wait has reported it
  };
  // A perf event's rb->poll: a wake-up no poll has taken yet; and the
  // wake-up count last looked at. By the emulator's fd of the event.
  struct PerfState {
    uint64_t seen = 0;
    bool pending = false;
  };
  std::map<int, PerfState> perf_;
  int64_t CtlAny(Call& c, int epfd, int op, int child_fd, uint64_t event,
                 std::shared_ptr<RingbufMap> ring,
                 std::shared_ptr<PerfEvent> perf, int local);
  // The item becomes ready / not ready.
  static void Raise(Reg& r);
  static void Lower(Reg& r);
  // ringbuf_map_poll_kern / _user would answer events now.
  static bool Ready(const Reg& r);
  static uint64_t WakeupCount(const Reg& r);
  // Whether a thread blocked in an epoll wait on r's epoll instance will
  // take the item just raised (perf events).
  // Forgets a perf event's state once no item of it is left.
  void DropPerfState(int local);
  // Threads gone are dropped from waiters_.
  bool TakenByBlockedWaiter(const Reg& r);
  std::vector<Reg> regs_;
  // Threads seen entering an epoll wait on an instance with a perf item:
  // (tid, epoll fd number).
  std::vector<std::pair<pid_t, int>> waiters_;
};

}  // namespace bpfemu::exec

#endif  // BPFEMU_EXEC_RING_POLL_H_
