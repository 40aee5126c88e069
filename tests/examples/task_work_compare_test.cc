// SPDX-License-Identifier: Apache-2.0
// tests/examples/task_work.bpf.c (tw50) on the 6.18 kernel (BPF_PROG_TEST_RUN
// of the syscall program) and on bpfemu, natively and as bytecode: the
// task_work kfuncs on ARRAY and HASH values, for the current task. Each
// step gives the same returns (0 for a first schedule, -EBUSY for a second
// on the same field in the same run, 0 for another element's field) and,
// once the run has returned (the kernel: the task's return to user mode;
// bpfemu: the outermost ProgRun's end), the same callback counts and keys
// in the elements, also after userspace replaced the array value or
// deleted the hash element. Needs a kernel with the kfuncs (6.18).

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/task_work.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/elem_steps_side.h"

namespace bpfemu::examples {
namespace {

struct Args {
  uint32_t which;
  uint32_t op[8];
  uint32_t key[8];
};

struct Elem {
  uint64_t runs;
  int64_t key_seen;
  uint64_t tw;
};

constexpr uint32_t kSignal = 1, kResume = 2, kInsert = 3;

using Side = ElemStepsSide<Args, Elem>;

std::string Steps(Side& s) {
  std::string out;
  auto step = [&](const char* what, uint32_t which,
                  std::vector<std::pair<uint32_t, uint32_t>> ops) {
    Args a{};
    a.which = which;
    for (size_t i = 0; i < ops.size(); ++i) {
      a.op[i] = ops[i].first;
      a.key[i] = ops[i].second;
    }
    int64_t ret[8] = {};
    if (!s.run(&a, ret)) {
      absl::StrAppend(&out, what, ": run failed\n");
      return;
    }
    absl::StrAppend(&out, what, ":");
    for (size_t i = 0; i < ops.size(); ++i) absl::StrAppend(&out, " ", ret[i]);
    absl::StrAppend(&out, " |");
    // The elements the step touched, as the run left them.
    std::vector<uint32_t> seen;
    for (const auto& [op, key] : ops) {
      bool dup = false;
      for (uint32_t k : seen) dup |= k == key;
      if (dup) continue;
      seen.push_back(key);
      Elem e{};
      const int err = s.lookup(which, key, &e);
      absl::StrAppend(&out, " [", key, "] ", err, " runs ",
                      err == 0 ? e.runs : 0, " key ", err == 0 ? e.key_seen : 0,
                      " tw ", err == 0 ? e.tw : 0);
    }
    absl::StrAppend(&out, "\n");
  };
  step("arr 0 signal twice, arr 1 resume", 0,
       {{kSignal, 0}, {kSignal, 0}, {kResume, 1}, {kResume, 0}});
  step("arr 0 again", 0, {{kResume, 0}, {kSignal, 2}});
  const Elem zero{};
  absl::StrAppend(&out, "update arr 0 = ", s.update(0, 0, &zero), "\n");
  step("arr 0 after update", 0, {{kSignal, 0}});
  step("h 7", 1, {{kSignal, 7}, {kInsert, 7}, {kSignal, 7}, {kResume, 7}});
  absl::StrAppend(&out, "delete h 7 = ", s.del(1, 7), "\n");
  step("h 7 after delete", 1,
       {{kInsert, 7}, {kResume, 7}, {kInsert, 9}, {kSignal, 9}});
  return out;
}

class TaskWorkCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(TaskWorkCompareTest, SameWorkAsTheKernel) {
  const std::string path = "tests/examples/task_work.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  const int kerr = KernelObject::Load(path, &kernel);
  if (kerr != 0) {
    GTEST_SKIP() << "the kernel does not load task_work.bpf.o (" << kerr
                 << "): no task_work kfuncs (6.18)";
  }
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("task_work");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("steps");
  ASSERT_NE(prog, nullptr);
  Side ks;
  SetKernelSide(kernel.get(), &ks);
  Side es;
  SetEmuSide(obj->get(), prog, &es);

  const std::string kl = Steps(ks);
  const std::string el = Steps(es);
  EXPECT_EQ(el, kl) << interp::LastFault();
  std::printf("task_work (%s):\n%s", GetParam() ? "bytecode" : "native",
              kl.c_str());
  // Nothing is left pending once the runs returned.
  EXPECT_EQ(TaskWorkCount(), 0u);
  // The kernel's own answers, whatever bpfemu says (kfn49's measurement).
  EXPECT_NE(kl.find("arr 0 signal twice, arr 1 resume: 0 -16 0 -16 | [0] 0 "
                    "runs 1 key 0 tw 0 [1] 0 runs 1 key 1 tw 0"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Faces, TaskWorkCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
