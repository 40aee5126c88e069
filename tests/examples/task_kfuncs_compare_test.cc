// SPDX-License-Identifier: Apache-2.0
// tests/examples/task_kfuncs.bpf.c on the kernel (BPF_PROG_TEST_RUN of the
// syscall program, which runs in this process) and on bpfemu, natively and
// as bytecode: for this thread, this process, its parent, INT_MAX, pid 0,
// -1, an unused pid and INT_MIN, the same found / acquired / same-task
// answers, also pinned (the first three are tasks, the others are not).
// bpfemu's tasks are the thread and its ancestors (native/task_model.h), so
// a pid outside that chain (another process) is not compared; nor is pid 1,
// which the 6.18 host answers NULL for from this test's process (its /proc
// shows a pid 1, which the model holds as the top of the chain).

#include <linux/bpf.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <string>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

struct Found {
  uint32_t found[8];
  uint32_t acquired[8];
  uint32_t same[8];
};

class TaskKfuncsCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(TaskKfuncsCompareTest, SameTasksAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/task_kfuncs.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("task_kfuncs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("lookup");
  ASSERT_NE(prog, nullptr);
  int32_t pids[8] = {static_cast<int32_t>(gettid()),
                     static_cast<int32_t>(getpid()),
                     static_cast<int32_t>(getppid()),
                     INT_MAX,
                     0,
                     -1,
                     0x3fffffff,
                     INT_MIN};
  const KernelObject::Result kr =
      KernelObject::RunSyscall(kernel->ProgFd("lookup"), pids, sizeof(pids));
  ASSERT_EQ(kr.err, 0);
  EXPECT_EQ(kr.retval, 0u);
  EXPECT_EQ(prog->Run(pids), 0u);
  const uint32_t zero = 0;
  Found kf{}, ef{};
  ASSERT_EQ(KernelBackend::Get().Lookup(kernel->MapFd("found"), &zero, &kf, 0),
            0);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("found"), &zero, &ef), 0);
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE("pid " + std::to_string(pids[i]));
    EXPECT_EQ(ef.found[i], kf.found[i]);
    EXPECT_EQ(ef.acquired[i], kf.acquired[i]);
    EXPECT_EQ(ef.same[i], kf.same[i]);
    const uint32_t is_task = i < 3 ? 1 : 0;
    EXPECT_EQ(kf.found[i], is_task);
    EXPECT_EQ(kf.acquired[i], is_task);
    EXPECT_EQ(kf.same[i], is_task);
  }
}

// bpf_get_current_task_btf() in the same syscall program: the kernel and
// bpfemu find this thread as the current task (7: found, acquired, same).
TEST_P(TaskKfuncsCompareTest, FromPidOfThisThreadIsTheCurrentTask) {
  const std::string path = "tests/examples/task_kfuncs.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("task_kfuncs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("current_task");
  ASSERT_NE(prog, nullptr);
  int32_t pids[8] = {static_cast<int32_t>(gettid())};
  const KernelObject::Result kr = KernelObject::RunSyscall(
      kernel->ProgFd("current_task"), pids, sizeof(pids));
  ASSERT_EQ(kr.err, 0);
  EXPECT_EQ(kr.retval, 7u);
  EXPECT_EQ(prog->Run(pids), kr.retval);
}

INSTANTIATE_TEST_SUITE_P(Faces, TaskKfuncsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
