// SPDX-License-Identifier: Apache-2.0
// kfuncB47's example programs on bpfemu alone (no kernel, no root; both
// faces; bytecode needs the running kernel's BTF): tests/examples/wq.bpf.c
// runs its callback when the test drains the work, once per start, with the
// element's key; iter_task.bpf.c walks this process's threads (as many as
// /proc/self/task lists) and finds this thread among all tasks;
// task_cgroup_kfuncs.bpf.c finds this thread by vpid and signals it with
// the kernel's siginfo. The same objects compared with the kernel:
// {wq,iter_task,task_cgroup_kfuncs}_compare_test.cc.

#include <dirent.h>
#include <linux/bpf.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "emu/timer.h"
#include "gtest/gtest.h"
#include "loader/object.h"

namespace bpfemu::examples {
namespace {

class Kfuncs47Test : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux): no task views";
    }
  }
  absl::StatusOr<std::unique_ptr<native::Object>> Open(const char* name) {
    const std::string path = std::string("tests/examples/") + name + ".bpf.o";
    return GetParam() ? native::Object::OpenBytecode(path)
                      : native::Object::Open(name);
  }
};

struct WqArgs {
  uint32_t which, key;
  uint32_t op[8];
  uint32_t flags[8];
};
struct WqElem {
  uint64_t runs;
  int64_t key_seen;
  uint64_t wq[2];
};

TEST_P(Kfuncs47Test, WorkRunsWhenDrained) {
  auto obj = Open("wq");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("steps");
  ASSERT_NE(prog, nullptr);
  // h 5: insert, init, callback, start twice.
  WqArgs a{1, 5, {4, 1, 2, 3, 3}, {}};
  ASSERT_EQ(prog->Run(&a), 0u);
  const uint32_t zero = 0, key = 5;
  int64_t ret[8];
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, ret), 0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ret[i], 0) << i;
  WqElem e{};
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("h"), &key, &e), 0);
  EXPECT_EQ(e.runs, 0u);  // not before the work is drained
  EXPECT_GE(AdvanceTimers(0), 1u);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("h"), &key, &e), 0);
  EXPECT_EQ(e.runs, 1u);  // queued once
  EXPECT_EQ(e.key_seen, 5);
  EXPECT_EQ(AdvanceTimers(0), 0u);
  // Deleting the element frees its work: a new one starts uninitialized.
  ASSERT_EQ(MapDeleteElem((*obj)->MapFd("h"), &key), 0);
  WqArgs b{1, 5, {4, 3, 1, 1}, {}};
  ASSERT_EQ(prog->Run(&b), 0u);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, ret), 0);
  EXPECT_EQ(ret[0], 0);
  EXPECT_EQ(ret[1], -EINVAL);
  EXPECT_EQ(ret[2], 0);
  EXPECT_EQ(ret[3], -EBUSY);
}

struct IterArgs {
  int32_t pid;
  uint32_t flags;
  int32_t self, leader, parent;
  uint32_t max;
};
struct IterOut {
  int64_t new_ret;
  uint64_t count, self, leader, parent, first_is_self;
  int64_t nested_ret;
  uint64_t nested_count, nested_first_is_second, after_end_null;
};

uint64_t ProcSelfTasks() {
  uint64_t n = 0;
  DIR* d = opendir("/proc/self/task");
  while (dirent* de = d != nullptr ? readdir(d) : nullptr) {
    n += de->d_name[0] != '.';
  }
  if (d != nullptr) closedir(d);
  return n;
}

TEST_P(Kfuncs47Test, TaskWalksFindThisProcess) {
  auto obj = Open("iter_task");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("walk");
  ASSERT_NE(prog, nullptr);
  const int32_t tid = gettid(), pid = getpid(), ppid = getppid();
  const uint32_t zero = 0;
  IterOut o{};
  IterArgs own{pid, 2, tid, pid, ppid, 1u << 20};
  ASSERT_EQ(prog->Run(&own), 0u);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &o), 0);
  EXPECT_EQ(o.new_ret, 0);
  EXPECT_EQ(o.count, ProcSelfTasks());
  EXPECT_EQ(o.leader, 1u);
  EXPECT_EQ(o.after_end_null, 1u);
  IterArgs all{0, 1, tid, pid, ppid, 1u << 20};
  ASSERT_EQ(prog->Run(&all), 0u);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &o), 0);
  EXPECT_EQ(o.self, 1u);
  EXPECT_EQ(o.parent, 1u);
  EXPECT_GT(o.count, ProcSelfTasks());
  IterArgs bad{pid, 7, tid, pid, ppid, 1u << 20};
  ASSERT_EQ(prog->Run(&bad), 0u);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &o), 0);
  EXPECT_EQ(o.new_ret, -EINVAL);
  EXPECT_EQ(o.count, 0u);
}

struct TcArgs {
  int32_t pid, sig, type, level, hid, pad;
  uint64_t cgid, anc_id, value;
};

TEST_P(Kfuncs47Test, SignalsThisThreadAsTheKernel) {
  auto obj = Open("task_cgroup_kfuncs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("probe");
  ASSERT_NE(prog, nullptr);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  TcArgs a{static_cast<int32_t>(gettid()), SIGWINCH, 0, 0, 0, 0, 1, 1, 0x77};
  ASSERT_EQ(prog->Run(&a), 0u);
  const uint32_t zero = 0;
  int64_t out[12];
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, out), 0);
  EXPECT_EQ(out[0], 1);   // found by vpid
  EXPECT_EQ(out[1], 1);   // the bpf_task_from_pid task
  EXPECT_EQ(out[11], 0);  // bpf_send_signal_task
  siginfo_t info;
  const struct timespec none = {0, 0};
  ASSERT_EQ(sigtimedwait(&set, &info, &none), SIGWINCH);
  EXPECT_EQ(info.si_code, SI_KERNEL);
  EXPECT_EQ(info.si_pid, 0);
  EXPECT_EQ(reinterpret_cast<uint64_t>(info.si_value.sival_ptr), 0x77u);
  a.sig = 65;
  ASSERT_EQ(prog->Run(&a), 0u);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, out), 0);
  EXPECT_EQ(out[11], -EINVAL);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
}

INSTANTIATE_TEST_SUITE_P(Faces, Kfuncs47Test, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
