// SPDX-License-Identifier: Apache-2.0
// tests/examples/iter_task.bpf.c (kfuncB47) on the kernel
// (BPF_PROG_TEST_RUN of the syscall program, which runs in the calling
// thread) and on bpfemu, natively and as bytecode: the open-coded task
// iterator. The task list is the machine's, which changes between the two
// runs, so walks over every task are compared by property (the same
// bpf_iter_task_new answer, this thread, its process and its parent each
// found once, init_task first, over 10 tasks, a walk from the second task
// finds some: this host's kernel walks 1 thread from it where /proc/1/task
// shows 41, see docs/helpers.md), and the walks over one
// process's threads exactly (this process with three more threads, its
// parent, a walk from the second thread on); the flag errors exactly. Also
// from a thread that does not lead its process.

#include <linux/bpf.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

struct Args {
  int32_t pid;
  uint32_t flags;
  int32_t self, leader, parent;
  uint32_t max;
};

struct Out {
  int64_t new_ret;
  uint64_t count, self, leader, parent, first_is_self;
  int64_t nested_ret;
  uint64_t nested_count, nested_first_is_second, after_end_null;
};

constexpr uint32_t kAllProcs = 0, kAllThreads = 1, kProcThreads = 2;

std::string Line(const Out& o, bool exact_count) {
  std::string count = std::to_string(o.count);
  if (!exact_count && o.count > 10) count = ">10";
  return absl::StrCat("new ", o.new_ret, " count ", count, " self ", o.self,
                      " leader ", o.leader, " parent ", o.parent, " first ",
                      o.first_is_self, " nested ", o.nested_ret, " ",
                      exact_count ? std::to_string(o.nested_count)
                                  : (o.nested_count > 0 ? ">0" : "0"),
                      " ", o.nested_first_is_second, " end ", o.after_end_null);
}

class IterTaskCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(IterTaskCompareTest, SameWalksAsTheKernel) {
  const std::string path = "tests/examples/iter_task.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("iter_task");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("walk");
  ASSERT_NE(prog, nullptr);

  // Three more threads of this process, alive through the walks.
  std::atomic<bool> stop{false};
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      started++;
      while (!stop) usleep(1000);
    });
  }
  while (started < 3) usleep(1000);

  const uint32_t zero = 0;
  std::string kl, el;
  // One case on both; the transcript lines.
  auto run = [&](const char* what, Args a, bool exact) {
    Args ka = a, ea = a;
    const KernelObject::Result kr =
        KernelObject::RunSyscall(kernel->ProgFd("walk"), &ka, sizeof(ka));
    Out ko{}, eo{};
    if (kr.err != 0 ||
        KernelBackend::Get().Lookup(kernel->MapFd("res"), &zero, &ko, 0) != 0) {
      kl += absl::StrCat(what, ": kernel run failed ", kr.err, "\n");
    } else {
      kl += absl::StrCat(what, ": ret ", kr.retval, " ", Line(ko, exact), "\n");
    }
    const uint32_t eret = prog->Run(&ea);
    if (MapLookupElem((*obj)->MapFd("res"), &zero, &eo) != 0) {
      el += absl::StrCat(what, ": lookup failed\n");
    } else {
      el += absl::StrCat(what, ": ret ", eret, " ", Line(eo, exact), "\n");
    }
    if (!exact) {
      std::printf(
          "%s: counts kernel %llu (nested %llu), bpfemu %llu (nested "
          "%llu)\n",
          what, static_cast<unsigned long long>(ko.count),
          static_cast<unsigned long long>(ko.nested_count),
          static_cast<unsigned long long>(eo.count),
          static_cast<unsigned long long>(eo.nested_count));
    }
    return std::make_pair(ko, eo);
  };
  const int32_t tid = gettid(), pid = getpid(), ppid = getppid();
  const uint32_t kAll = 1u << 20;
  const bool leads = tid == pid;
  auto procs = run("all procs", {0, kAllProcs, tid, pid, ppid, kAll}, false);
  EXPECT_EQ(procs.first.leader, 1u);
  EXPECT_EQ(procs.first.parent, 1u);
  EXPECT_EQ(procs.first.self, leads ? 1u : 0u);
  EXPECT_EQ(procs.first.first_is_self, 0u);  // init_task
  run("all threads", {0, kAllThreads, tid, pid, ppid, kAll}, false);
  auto own =
      run("own threads", {pid, kProcThreads, tid, pid, ppid, kAll}, true);
  EXPECT_GE(own.first.count, 4u);
  EXPECT_EQ(own.first.nested_count, own.first.count - 1);
  run("parent threads", {ppid, kProcThreads, tid, pid, ppid, kAll}, true);
  run("proc threads of NULL", {0, kProcThreads, tid, pid, ppid, kAll}, true);
  run("flags 3", {pid, 3, tid, pid, ppid, kAll}, true);
  run("flags ~0", {pid, ~0u, tid, pid, ppid, kAll}, true);
  run("all procs, first 1", {0, kAllProcs, tid, pid, ppid, 1}, true);
  run("all threads, first 2", {0, kAllThreads, tid, pid, ppid, 2}, false);
  // From a thread that does not lead: it, its process, its parent.
  std::thread other([&] {
    const int32_t me = gettid();
    run("other: all threads", {0, kAllThreads, me, pid, ppid, kAll}, false);
    run("other: own threads", {me, kProcThreads, me, pid, ppid, kAll}, true);
  });
  other.join();
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(el, kl);
  std::printf("iter_task (%s):\n%s", GetParam() ? "bytecode" : "native",
              kl.c_str());
}

INSTANTIATE_TEST_SUITE_P(Faces, IterTaskCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
