// SPDX-License-Identifier: Apache-2.0
// tests/examples/task_state.bpf.c on the kernel (BPF_PROG_TEST_RUN of the
// raw tracepoint program runs as the calling task) and on bpfemu, natively
// and as bytecode: the same return values, and the same TASK_STORAGE
// element read through a pidfd of this process after each run.

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

struct TaskState {
  uint32_t state;
  uint32_t transitions;
  uint64_t last_arg;
  bool operator==(const TaskState&) const = default;
};

class TaskStateCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(TaskStateCompareTest, SameStatesAsTheKernel) {
  const std::string path = "tests/examples/task_state.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("task_state");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("step");
  ASSERT_NE(prog, nullptr);
  const int kmap = kernel->MapFd("task_states");
  const int emap = (*obj)->MapFd("task_states");
  ASSERT_GE(kmap, 0);
  ASSERT_GE(emap, 0);
  const int self = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  ASSERT_GE(self, 0);
  KernelBackend& k = KernelBackend::Get();
  for (uint64_t i = 0; i < 7; ++i) {
    SCOPED_TRACE(i);
    const std::vector<uint64_t> args = {0, 100 + i};
    const KernelObject::Result r =
        KernelObject::RunRawTp(kernel->ProgFd("step"), args);
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.retval, prog->RunRawTp(args));
    TaskState ks{}, es{};
    const int kerr = k.Lookup(kmap, &self, &ks, 0);
    const int eerr = MapLookupElem(emap, &self, &es);
    EXPECT_EQ(kerr, eerr);
    if (kerr == 0 && eerr == 0) {
      EXPECT_EQ(ks, es);
    }
    if (i == 2) {
      // Userspace rewrites the element on both sides.
      const TaskState set{1, 3, 0};
      EXPECT_EQ(k.Update(kmap, &self, &set, BPF_EXIST), 0);
      EXPECT_EQ(MapUpdateElem(emap, &self, &set, BPF_EXIST), 0);
    }
  }
  close(self);
}

INSTANTIATE_TEST_SUITE_P(Faces, TaskStateCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
