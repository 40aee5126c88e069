// SPDX-License-Identifier: Apache-2.0
// tests/examples/task_state.bpf.c natively and as bytecode:
// bpf_task_storage_get with BPF_LOCAL_STORAGE_GET_F_CREATE and
// bpf_task_storage_delete on the calling task, whose element userspace
// reaches through a pidfd (TASK_STORAGE, emu/local_storage.h).
// task_state_compare_test runs the same steps on the kernel.

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <thread>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"

namespace bpfemu::examples {
namespace {

struct TaskState {
  uint32_t state;
  uint32_t transitions;
  uint64_t last_arg;
};

class TaskStateTest : public ::testing::TestWithParam<bool> {};

TEST_P(TaskStateTest, StateMachinePerTaskSeenThroughAPidfd) {
  auto obj =
      GetParam()
          ? native::Object::OpenBytecode("tests/examples/task_state.bpf.o")
          : native::Object::Open("task_state");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("step");
  ASSERT_NE(prog, nullptr);
  const int map = (*obj)->MapFd("task_states");
  ASSERT_GE(map, 0);
  const int self = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  ASSERT_GE(self, 0);
  TaskState s{};
  EXPECT_EQ(MapLookupElem(map, &self, &s), -ENOENT);
  const uint64_t args[2] = {0, 7};
  EXPECT_EQ(prog->RunRawTp(args), 0u);
  ASSERT_EQ(MapLookupElem(map, &self, &s), 0);
  EXPECT_EQ(s.state, 1u);
  EXPECT_EQ(s.transitions, 1u);
  EXPECT_EQ(s.last_arg, 7u);
  EXPECT_EQ(prog->RunRawTp(args), 0u);
  ASSERT_EQ(MapLookupElem(map, &self, &s), 0);
  EXPECT_EQ(s.state, 2u);
  // Userspace changes the state; the program continues from it.
  s = TaskState{1, 3, 0};
  ASSERT_EQ(MapUpdateElem(map, &self, &s, BPF_EXIST), 0);
  EXPECT_EQ(prog->RunRawTp(args), 0u);
  ASSERT_EQ(MapLookupElem(map, &self, &s), 0);
  EXPECT_EQ(s.state, 2u);
  EXPECT_EQ(s.transitions, 4u);
  // The fifth transition deletes the element.
  EXPECT_EQ(prog->RunRawTp(args), 2u);
  EXPECT_EQ(MapLookupElem(map, &self, &s), -ENOENT);
  // Another thread is another task: its element is not the process's.
  pid_t tid = 0;
  std::thread other([&] {
    tid = static_cast<pid_t>(gettid());
    EXPECT_EQ(prog->RunRawTp(args), 0u);
  });
  other.join();
  EXPECT_EQ(MapLookupElem(map, &self, &s), -ENOENT);
  // The thread has exited: its pidfd cannot be opened, and the storage of
  // the task it was is unreachable.
  EXPECT_LT(syscall(SYS_pidfd_open, tid, 0), 0);
  // A task userspace created storage for is the program's current task.
  s = TaskState{1, 0, 0};
  ASSERT_EQ(MapUpdateElem(map, &self, &s, BPF_NOEXIST), 0);
  EXPECT_EQ(prog->RunRawTp(args), 0u);
  ASSERT_EQ(MapLookupElem(map, &self, &s), 0);
  EXPECT_EQ(s.state, 2u);
  EXPECT_EQ(s.transitions, 1u);
  close(self);
}

INSTANTIATE_TEST_SUITE_P(Faces, TaskStateTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
