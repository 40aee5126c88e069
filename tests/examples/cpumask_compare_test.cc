// SPDX-License-Identifier: Apache-2.0
// tests/examples/cpumask.bpf.c on the kernel (real libbpf resolves its
// `__ksym` kfuncs, BPF_PROG_TEST_RUN of the syscall program) and on bpfemu,
// natively and as bytecode: for each script of cpumask_cases.h the same
// return value and the same answer at every step, which are also the ones
// pinned there (the 6.18 kernel's, with its nr_cpu_ids of 2: the test skips
// on a machine with another possible-CPU count). Every mask the run made
// is released (bpfemu's live count is back to where it was).

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "emu/cpu.h"
#include "emu/cpumask.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/cpumask_cases.h"

namespace bpfemu::examples {
namespace {

using namespace cpumask_script;  // NOLINT

class CpumaskCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(CpumaskCompareTest, SameAnswersAsTheKernel) {
  if (HostPossibleCpus() != 2) {
    GTEST_SKIP() << "the pinned answers are for 2 possible CPUs, this host has "
                 << HostPossibleCpus();
  }
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/cpumask.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("cpumask");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("run_script");
  ASSERT_NE(prog, nullptr);
  KernelBackend& k = KernelBackend::Get();
  const uint32_t zero = 0;
  int steps = 0;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(c.name);
    const Script s = ToScript(c);
    const Answers none{};
    ASSERT_EQ(k.Update(kernel->MapFd("script"), &zero, &s, BPF_ANY), 0);
    ASSERT_EQ(k.Update(kernel->MapFd("answers"), &zero, &none, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("script"), &zero, &s, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("answers"), &zero, &none, BPF_ANY),
              0);
    uint64_t ctx[2] = {};
    const KernelObject::Result kr = KernelObject::RunSyscall(
        kernel->ProgFd("run_script"), ctx, sizeof(ctx));
    ASSERT_EQ(kr.err, 0);
    const uint64_t live = cpumask::LiveMasks();
    const uint32_t eret = prog->Run(ctx);
    EXPECT_EQ(cpumask::LiveMasks(), live);
    EXPECT_EQ(eret, kr.retval);
    EXPECT_EQ(kr.retval, 0u);
    Answers ka{}, ea{};
    ASSERT_EQ(k.Lookup(kernel->MapFd("answers"), &zero, &ka, 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("answers"), &zero, &ea), 0);
    for (size_t i = 0; i < c.lines.size(); ++i) {
      SCOPED_TRACE("step " + std::to_string(i) + " op " +
                   std::to_string(c.lines[i].step.op));
      EXPECT_EQ(ea.r[i], ka.r[i]);
      EXPECT_EQ(ka.r[i], c.lines[i].want);
      ++steps;
    }
  }
  std::printf("cpumask (%s): %d steps compared\n",
              bytecode ? "bytecode" : "native", steps);
}

INSTANTIATE_TEST_SUITE_P(Faces, CpumaskCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
