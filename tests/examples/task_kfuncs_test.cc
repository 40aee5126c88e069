// SPDX-License-Identifier: Apache-2.0
// tests/examples/task_kfuncs.bpf.c on bpfemu alone (both faces; bytecode
// needs the running kernel's BTF): this thread is a task, pid 0, -1 and an
// unused pid are not; and the task bpf_task_from_pid() gives for this
// thread is the one bpf_get_current_task_btf() gives. The same object
// compared with the kernel: task_kfuncs_compare_test.cc.

#include <linux/bpf.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <string>

#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"

extern "C" {
struct task_struct;
struct task_struct* bpf_task_from_pid(__s32 pid);
struct task_struct* bpf_task_acquire(struct task_struct* p);
void bpf_task_release(struct task_struct* p);
void* bpfemu_get_current_task_btf(void);
}

namespace bpfemu::examples {
namespace {

struct Found {
  uint32_t found[8];
  uint32_t acquired[8];
  uint32_t same[8];
};

class TaskKfuncsTest : public ::testing::TestWithParam<bool> {};

TEST_P(TaskKfuncsTest, ThisThreadIsATask) {
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux): no task views";
  }
  const std::string path = "tests/examples/task_kfuncs.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("task_kfuncs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("lookup");
  ASSERT_NE(prog, nullptr);
  int32_t pids[8] = {
      static_cast<int32_t>(gettid()), 0, -1, 0x3fffffff, INT_MIN, 0, 0, 0};
  EXPECT_EQ(prog->Run(pids), 0u);
  const uint32_t zero = 0;
  Found f{};
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("found"), &zero, &f), 0);
  EXPECT_EQ(f.found[0], 1u);
  EXPECT_EQ(f.acquired[0], 1u);
  EXPECT_EQ(f.same[0], 1u);
  for (int i = 1; i < 8; ++i) EXPECT_EQ(f.found[i], 0u) << pids[i];
}

TEST_P(TaskKfuncsTest, FromPidOfThisThreadIsTheCurrentTask) {
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux): no task views";
  }
  const std::string path = "tests/examples/task_kfuncs.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("task_kfuncs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("current_task");
  ASSERT_NE(prog, nullptr);
  int32_t pids[8] = {static_cast<int32_t>(gettid())};
  EXPECT_EQ(prog->Run(pids), 7u);
}

INSTANTIATE_TEST_SUITE_P(Faces, TaskKfuncsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

TEST(TaskKfuncsNativeTest, FromPidIsTheCurrentTaskBtf) {
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux): no task views";
  }
  void* current = bpfemu_get_current_task_btf();
  ASSERT_NE(current, nullptr);
  struct task_struct* t = bpf_task_from_pid(static_cast<__s32>(gettid()));
  EXPECT_EQ(static_cast<void*>(t), current);
  EXPECT_EQ(bpf_task_acquire(t), t);
  bpf_task_release(t);
  bpf_task_release(t);
  EXPECT_EQ(bpf_task_from_pid(0), nullptr);
  EXPECT_EQ(bpf_task_from_pid(-1), nullptr);
}

}  // namespace
}  // namespace bpfemu::examples
