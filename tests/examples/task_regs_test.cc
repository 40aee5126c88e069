// SPDX-License-Identifier: Apache-2.0
// tests/examples/task_regs.bpf.c on bpfemu, natively and as bytecode,
// without root: task_regs_scenario.h's lines against the kernel's recorded
// on 6.18 (tests/examples/testdata/task_regs.expected, written by
// task_regs_compare_test as root; the command is there), all but the
// values of the parent's system call and stack, which are this run's
// parent's own.

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/recorded.h"
#include "tests/examples/task_regs_scenario.h"

namespace bpfemu::examples::task_regs {
namespace {

class TaskRegsTest : public ::testing::TestWithParam<bool> {};

TEST_P(TaskRegsTest, SameAsTheRecordedKernel) {
  const Recorded rec =
      ReadRecorded("tests/examples/testdata/task_regs.expected");
  ASSERT_FALSE(rec.lines.empty()) << "no testdata/task_regs.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded on " << rec.kernel;
  const std::string path = "tests/examples/task_regs.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("task_regs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("regs");
  ASSERT_NE(prog, nullptr);
  const std::vector<std::string> emu = RunScenario([prog](tr_ctx* c) {
    prog->Run(c);
    return 0;
  });
  ExpectSameAsRecorded(rec, emu, "task_regs", {"other.syscall", "other.sp_ip"});
}

INSTANTIATE_TEST_SUITE_P(Faces, TaskRegsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::task_regs
