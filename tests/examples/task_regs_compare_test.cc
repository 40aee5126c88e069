// SPDX-License-Identifier: Apache-2.0
// tests/examples/task_regs.bpf.c on the kernel (BPF_PROG_TEST_RUN of its
// SYSCALL program runs in this thread) and on bpfemu, natively and as
// bytecode: the same scenario (task_regs_scenario.h) gives the same lines.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/recorded.h"
#include "tests/examples/task_regs_scenario.h"

namespace bpfemu::examples::task_regs {
namespace {

class TaskRegsCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(TaskRegsCompareTest, SameAnswersAsTheKernel) {
  const std::string path = "tests/examples/task_regs.bpf.o";
  std::unique_ptr<KernelObject> k;
  ASSERT_EQ(KernelObject::Load(path, &k), 0);
  const int kprog = k->ProgFd("regs");
  const std::vector<std::string> kernel = RunScenario([kprog](tr_ctx* c) {
    return KernelObject::RunSyscall(kprog, c, sizeof(*c)).err;
  });
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
  ASSERT_EQ(emu.size(), kernel.size());
  for (size_t i = 0; i < kernel.size(); ++i) EXPECT_EQ(emu[i], kernel[i]);
  std::string record;
  for (const std::string& line : kernel) record += line + "\n";
  if (!GetParam()) std::printf("%s", record.c_str());
  // Re-recording the kernel's answers for task_regs_test (as root, on the
  // kernel they describe; one command line):
  //   bazel test //tests/examples:task_regs_compare_test
  //     --test_env=BPFEMU_RECORD_TASK_REGS=$PWD/tests/examples/testdata/task_regs.expected
  const char* record_path = std::getenv("BPFEMU_RECORD_TASK_REGS");
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "task_regs", record)) << record_path;
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, TaskRegsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::task_regs
