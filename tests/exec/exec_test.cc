// SPDX-License-Identifier: Apache-2.0
// bpfemu exec's library entry point (exec/supervisor.h): a child run under
// supervision from the test, its maps inspected afterwards, and the
// faults a supervised process can cause (bad pointers, bad fds, a caller
// killed while the supervisor holds its call, concurrent close, threads
// and forks), with no descriptor left behind in the supervisor.
#include "exec/supervisor.h"

#include <dirent.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "emu/bpffs.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

std::string Child() {
  char buf[PATH_MAX];
  if (realpath("tests/exec/exec_child", buf) == nullptr) return "";
  return buf;
}

int CountFds() {
  DIR* d = opendir("/proc/self/fd");
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory's own fd
}

class ExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!exec::Available(&why)) GTEST_SKIP() << why;
    char tmpl[] = "/dev/shm/bpfemu-exec-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    SetBpffsForTesting("/sys/fs/bpf", dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) {
      ASSERT_EQ(system(("rm -rf " + dir_).c_str()), 0);
    }
  }

  // Runs the child in `mode` under `s`; its exit code, or -signal.
  static int Run(exec::Supervisor& s, const char* mode) {
    if (s.Start({Child(), mode}) != 0) return -1000;
    const int st = s.Serve();
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? -WTERMSIG(st) : -1001;
  }

  std::string dir_;
};

TEST_F(ExecTest, ChildMapsAreInspectableAfterItExits) {
  exec::Supervisor s;
  ASSERT_EQ(Run(s, "maps"), 0);
  const std::vector<uint32_t> ids = s.MapIds();
  ASSERT_EQ(ids.size(), 1u);
  const int fd = s.MapFdForId(ids[0]);
  ASSERT_GE(fd, 0);
  BpfMapInfo info = {};
  uint32_t len = sizeof(info);
  ASSERT_EQ(MapGetInfoByFd(fd, &info, &len), 0);
  EXPECT_STREQ(info.name, "inspect");
  EXPECT_EQ(info.type, uint32_t{BPF_MAP_TYPE_HASH});
  uint32_t k = 1;
  uint64_t v = 0;
  ASSERT_EQ(MapLookupElem(fd, &k, &v), 0);
  EXPECT_EQ(v, 42u);
  EXPECT_EQ(s.stats().served, 2u);  // create, update
}

TEST_F(ExecTest, BadPointersAndFdsAnswerAsTheKernelDoes) {
  exec::Supervisor s;
  EXPECT_EQ(Run(s, "faults"), 0);
}

TEST_F(ExecTest, ProgramsLoadRunAndReachTheirMaps) {
  exec::Supervisor s;
  EXPECT_EQ(Run(s, "prog"), 0);
}

// bpf(2) runs on the caller's CPU: per-CPU slots, LRU lists and
// bpf_get_smp_processor_id() must see the child's CPU, not the one the
// supervisor happens to run on. The supervisor (this process) stays on
// CPU 0 while the child moves across all CPUs.
TEST_F(ExecTest, CallsRunOnTheCallersCpu) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "one CPU online";
  cpu_set_t saved, zero;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  CPU_ZERO(&zero);
  CPU_SET(0, &zero);
  if (sched_setaffinity(0, sizeof(zero), &zero) != 0) {
    GTEST_SKIP() << "cannot pin to CPU 0: " << strerror(errno);
  }
  exec::Supervisor s;
  EXPECT_EQ(Run(s, "cpu"), 0);
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
}

TEST_F(ExecTest, ThreadsAndForkedChildrenAreServed) {
  exec::Supervisor s;
  EXPECT_EQ(Run(s, "threads"), 0);
  // 6 writers x 200 updates, a create and the walk of 1200 keys + 1.
  EXPECT_GE(s.stats().served, 1200u + 1201u + 1u);
}

TEST_F(ExecTest, ACallerKilledMidCommandLeavesTheOthersServed) {
  exec::Supervisor s;
  std::atomic<int> worker_calls{0};
  std::atomic<pid_t> killed{0};
  // The worker (any caller other than the child itself) is killed while
  // the supervisor holds its 50th call, before the answer.
  s.SetAnswerHookForTesting([&](pid_t caller, int) {
    if (caller != s.child() && ++worker_calls == 50) {
      kill(caller, SIGKILL);
      killed = caller;
    }
  });
  EXPECT_EQ(Run(s, "killme"), 0);
  EXPECT_NE(killed.load(), 0);
  printf("served %llu, answers that found the caller gone %llu\n",
         static_cast<unsigned long long>(s.stats().served),
         static_cast<unsigned long long>(s.stats().vanished));
}

TEST_F(ExecTest, ConcurrentCloseAnswersEbadf) {
  exec::Supervisor s;
  EXPECT_EQ(Run(s, "closerace"), 0);
}

TEST_F(ExecTest, NoDescriptorLeaksInTheSupervisor) {
  const int before = CountFds();
  for (const char* mode : {"maps", "faults", "prog", "closerace", "killme"}) {
    exec::Supervisor s;
    int calls = 0;
    s.SetAnswerHookForTesting([&](pid_t caller, int) {
      if (caller != s.child() && ++calls == 10) kill(caller, SIGKILL);
    });
    EXPECT_EQ(Run(s, mode), 0) << mode;
    EXPECT_GT(s.OpenFds(), 0u) << mode;
  }
  EXPECT_EQ(CountFds(), before);
}

// A ring buffer in an epoll instance holds a pipe and the epoll file in
// the supervisor (exec/ring_poll.h); once no process holds the ring, the
// supervisor's release of it removes the item and closes them, as the
// kernel removes an epoll item at its file's last close.
TEST_F(ExecTest, AReleasedRingLeavesItsEpollItem) {
  exec::Supervisor s;
  ASSERT_EQ(Run(s, "ringpoll"), 0);
  EXPECT_TRUE(s.MapIds().empty());
  EXPECT_EQ(s.OpenFds(), 0u);
}

// A perf event served to the child (exec/perf_open.cc) holds a memfd, its
// mapping and an eventfd in the supervisor, and its epoll item a pipe and
// the epoll file; a reader SIGKILLed in epoll_wait leaves the supervisor
// serving, and once no process and no array entry holds the event, the
// release at the id walk closes all of them.
TEST_F(ExecTest, AReleasedPerfEventLeavesNothingBehind) {
  const int before = CountFds();
  {
    exec::Supervisor s;
    ASSERT_EQ(Run(s, "perfpoll"), 0);
    EXPECT_TRUE(s.MapIds().empty());
    EXPECT_EQ(s.OpenFds(), 0u);
    // The memfd, the eventfd, the pipe and the epoll copy are closed
    // already (Serve closed the listener), not only when the supervisor
    // goes.
    EXPECT_EQ(CountFds(), before);
  }
  EXPECT_EQ(CountFds(), before);
}

// The entries of a directory, sorted ("." and ".." left out).
std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// A signal that interrupts a caller waiting for its answer makes the
// kernel withdraw the notification and restart the system call as a new
// one (SA_RESTART); the answer the supervisor holds is lost
// (SECCOMP_IOCTL_NOTIF_SEND, or ADDFD with SECCOMP_ADDFD_FLAG_SEND:
// ENOENT). Whatever the call made must be undone: the restarted call
// makes it once. The hook interrupts the first call of every kind the
// child makes (each bpf command, and perf_event_open, open of fdinfo,
// mkdir, epoll_ctl) and waits until the restarted call is queued, so the
// loss is certain; the child checks its own fds, pins and id walks, and
// the supervisor ends holding what an uninterrupted run holds.
TEST_F(ExecTest, AnAnswerLostToASignalIsUndone) {
  const int before = CountFds();
  size_t fds_plain = 0, maps_plain = 0;
  std::vector<std::string> pins_plain;
  {
    exec::Supervisor s;
    ASSERT_EQ(Run(s, "restart"), 0);
    EXPECT_EQ(s.stats().vanished, 0u);
    fds_plain = s.OpenFds();
    maps_plain = s.MapIds().size();
    pins_plain = List(dir_);
  }
  ASSERT_EQ(system(("rm -rf " + dir_ + "/*").c_str()), 0);
  {
    exec::Supervisor s;
    std::set<int> seen;
    int interrupted = 0, epoll_ctls = 0;
    s.SetAnswerHookForTesting([&](pid_t caller, int cmd) {
      if (caller != s.child()) return;
      // epoll_ctl (233): the first ADD and the DEL after it.
      const bool again = cmd == -233 && ++epoll_ctls == 2;
      if (!seen.insert(cmd).second && !again) return;
      ASSERT_EQ(kill(caller, SIGUSR1), 0);
      ASSERT_TRUE(s.CallWaitingForTesting(10000)) << "no restarted call";
      ++interrupted;
    });
    ASSERT_EQ(Run(s, "restart"), 0);
    // 15 bpf commands (create, update, delete, BTF load, load, pin, get,
    // info, by id x3, enable stats, next id x3) and perf_event_open, open,
    // mkdir, epoll_ctl ADD and DEL.
    EXPECT_GE(interrupted, 20);
    EXPECT_EQ(s.stats().vanished, static_cast<uint64_t>(interrupted));
    EXPECT_EQ(s.OpenFds(), fds_plain);
    EXPECT_EQ(s.MapIds().size(), maps_plain);
    EXPECT_EQ(List(dir_), pins_plain);
  }
  EXPECT_EQ(CountFds(), before);
}

// Without SA_RESTART the interrupted call answers EINTR and the caller
// moves on: at its next (different) call the kept answer is dropped and
// what the lost call made is undone - no map, program or BTF object, no
// fd - but a pin stays, as the kernel's finished call left it.
TEST_F(ExecTest, AnAnswerLostToEintrIsUndoneAtTheNextCall) {
  const int before = CountFds();
  {
    exec::Supervisor s;
    std::set<int> seen;
    s.SetAnswerHookForTesting([&](pid_t caller, int cmd) {
      if (cmd != BPF_MAP_CREATE && cmd != BPF_BTF_LOAD &&
          cmd != BPF_PROG_LOAD && cmd != BPF_OBJ_PIN &&
          cmd != BPF_MAP_UPDATE_ELEM) {
        return;
      }
      if (caller != s.child() || !seen.insert(cmd).second) return;
      ASSERT_EQ(kill(caller, SIGUSR1), 0);
      // The signal ends the wait (EINTR); the child's next call comes.
      ASSERT_TRUE(s.CallWaitingForTesting(10000)) << "no next call";
    });
    ASSERT_EQ(Run(s, "eintr"), 0);
    EXPECT_EQ(s.stats().vanished, 5u);
    EXPECT_EQ(s.MapIds().size(), 1u);
    EXPECT_EQ(List(dir_), std::vector<std::string>{"eintr_map"});
  }
  EXPECT_EQ(CountFds(), before);
}

// Loses the answer to the child's first `command` call: SIGUSR1 before the
// answer reaches it, then waits for the child's next call.
void LoseFirstAnswer(exec::Supervisor& s, int command, bool& done) {
  s.SetAnswerHookForTesting([&s, command, &done](pid_t caller, int cmd) {
    if (cmd != command || caller != s.child() || done) return;
    done = true;
    ASSERT_EQ(kill(caller, SIGUSR1), 0);
    ASSERT_TRUE(s.CallWaitingForTesting(10000)) << "no next call";
  });
}

// A lost answer's object that another thread opened by id before the
// caller's next call stays when that call gives the lost one up.
TEST_F(ExecTest, AnObjectOpenedByIdOutlivesItsLostAnswer) {
  exec::Supervisor s;
  bool done = false;
  LoseFirstAnswer(s, BPF_MAP_CREATE, done);
  ASSERT_EQ(Run(s, "lostbyid"), 0);
  EXPECT_EQ(s.stats().vanished, 1u);
}

// The same when the other thread holds the map only through a mapping
// (opened by id, mmapped, its fd closed: /proc/PID/map_files).
TEST_F(ExecTest, AMappingOpenedByIdOutlivesItsLostAnswer) {
  exec::Supervisor s;
  bool done = false;
  LoseFirstAnswer(s, BPF_MAP_CREATE, done);
  ASSERT_EQ(Run(s, "lostbyidmmap"), 0);
  EXPECT_EQ(s.stats().vanished, 1u);
}

// A lost answer is not replayed to a call whose fd number names another
// object now (closed and dup2()ed over between the two calls): the same
// attr and memory, but another map, answer as that map does.
TEST_F(ExecTest, ALostAnswerIsNotReplayedToAnotherObject) {
  exec::Supervisor s;
  bool done = false;
  LoseFirstAnswer(s, BPF_MAP_DELETE_ELEM, done);
  EXPECT_EQ(Run(s, "lostdup"), 0);
  EXPECT_EQ(s.stats().vanished, 1u);
}

// perf_event_open of a BPF output event by an unprivileged caller is
// answered as perf_event_paranoid makes the kernel answer it (the child
// checks; raw_kernel_test runs it natively).
TEST_F(ExecTest, PerfEventOpenAnswersAnUnprivilegedCallerAsTheKernel) {
  // As bpfemu answers an unprivileged caller (BPFEMU_UNPRIVILEGED=1); by
  // default its callers are privileged and every BPF output event opens.
  SetCallerPrivileged(false);
  exec::Supervisor s;
  const int r = Run(s, "perfparanoid");
  SetCallerPrivileged(true);
  if (r == 77) GTEST_SKIP() << "root, and cannot become nobody here";
  EXPECT_EQ(r, 0);
}

TEST_F(ExecTest, ExitStatusIsTheChilds) {
  EXPECT_EQ(exec::RunSupervised({"/bin/sh", "-c", "exit 3"}), 3);
  EXPECT_EQ(exec::RunSupervised({"/bin/sh", "-c", "kill -KILL $$"}), 128 + 9);
  EXPECT_EQ(exec::RunSupervised({"/nonexistent/command"}), 127);
}

}  // namespace
}  // namespace bpfemu
