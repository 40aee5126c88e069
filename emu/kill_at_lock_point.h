// SPDX-License-Identifier: Apache-2.0
// File: kill_at_lock_point.h
//
// Test-only: kills a forked victim at a chosen lock point (shm.h LockPoint,
// reported through g_lock_point_hook), for the owner-death and map-in-map
// tests that check what a death at that point leaves behind.

#ifndef BPFEMU_EMU_KILL_AT_LOCK_POINT_H_
#define BPFEMU_EMU_KILL_AT_LOCK_POINT_H_

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "emu/shm.h"

namespace bpfemu {

// The point the victim stops at, and the pipe it reports reaching it on
// (a test's own hook may report on g_signal_fd too).
inline LockPoint g_target;
inline int g_signal_fd = -1;

// The victim's hook: at g_target, reports and waits to be killed.
inline void StopHere(LockPoint p) {
  if (p != g_target) return;
  const char c = 1;
  (void)!write(g_signal_fd, &c, 1);
  for (;;) pause();  // killed here
}

// Forks a victim that runs `op`, waits (bounded) until it reaches `point`,
// and SIGKILLs it there. True when the victim died at the point.
inline bool KillAtLockPoint(LockPoint point, const std::function<void()>& op) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(30);
    close(fds[0]);
    g_target = point;
    g_signal_fd = fds[1];
    g_lock_point_hook = StopHere;
    op();
    _exit(3);  // never reached the point
  }
  close(fds[1]);
  pollfd p = {fds[0], POLLIN, 0};
  const bool reached = poll(&p, 1, 20000) == 1 && (p.revents & POLLIN);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  return reached && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

}  // namespace bpfemu

#endif  // BPFEMU_EMU_KILL_AT_LOCK_POINT_H_
