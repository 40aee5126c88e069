// SPDX-License-Identifier: Apache-2.0
// tests/examples/cpumask.bpf.c on bpfemu alone, with 2 emulated possible
// CPUs: every step of cpumask_cases.h answers as the 6.18 kernel did,
// natively and as bytecode (which needs the running kernel's BTF and skips
// without it), and no mask outlives the run. The load checks: the cpumask
// set is registered for TRACING, STRUCT_OPS and SYSCALL only (a tc or XDP
// call is refused, naming the kfunc), it is 6.3's (a 6.1 target refuses
// it) and bpf_cpumask_populate is 6.16's (a 6.12 target refuses it).
// The same object compared with the kernel: cpumask_compare_test.cc.

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "emu/cpu.h"
#include "emu/cpumask.h"
#include "emu/kernel_btf.h"
#include "emu/kfunc.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/cpumask_cases.h"

namespace bpfemu::examples {
namespace {

using namespace cpumask_script;  // NOLINT

constexpr char kPath[] = "tests/examples/cpumask.bpf.o";

class CpumaskTest : public ::testing::TestWithParam<bool> {};

TEST_P(CpumaskTest, AnswersAsThe618Kernel) {
  const bool bytecode = GetParam();
  if (bytecode && KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  SetNumPossibleCpus(2);
  auto obj = bytecode ? native::Object::OpenBytecode(kPath)
                      : native::Object::Open("cpumask");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("run_script");
  ASSERT_NE(prog, nullptr);
  const uint32_t zero = 0;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(c.name);
    const Script s = ToScript(c);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("script"), &zero, &s, BPF_ANY), 0);
    uint64_t ctx[2] = {};
    EXPECT_EQ(prog->Run(ctx), 0u);
    EXPECT_EQ(cpumask::LiveMasks(), 0u);
    Answers got{};
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("answers"), &zero, &got), 0);
    for (size_t i = 0; i < c.lines.size(); ++i) {
      EXPECT_EQ(got.r[i], c.lines[i].want) << "step " << i;
    }
  }
  SetNumPossibleCpus(0);
}

INSTANTIATE_TEST_SUITE_P(Faces, CpumaskTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

TEST(CpumaskLoadTest, RegisteredForTracingStructOpsAndSyscall) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  KfuncCall call;
  call.imm = btf->FindByNameKind("bpf_cpumask_create", BTF_KIND_FUNC);
  ASSERT_GT(call.imm, 0);
  call.gpl_compatible = true;
  for (uint32_t type : {BPF_PROG_TYPE_SYSCALL, BPF_PROG_TYPE_TRACING,
                        BPF_PROG_TYPE_STRUCT_OPS, BPF_PROG_TYPE_LSM}) {
    call.prog_type = type;
    const Kfunc* k = nullptr;
    EXPECT_EQ(ResolveKfuncCall(btf, call, &k, nullptr), 0) << type;
  }
  for (uint32_t type : {BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_XDP,
                        BPF_PROG_TYPE_RAW_TRACEPOINT}) {
    call.prog_type = type;
    const Kfunc* k = nullptr;
    std::string log;
    EXPECT_EQ(ResolveKfuncCall(btf, call, &k, &log), -EACCES) << type;
    EXPECT_EQ(log,
              "calling kernel function bpf_cpumask_create is not allowed\n");
  }
  SetTargetKernel(KernelVersion::k6_1);
  auto obj61 = native::Object::OpenBytecode(kPath);
  ASSERT_TRUE(obj61.ok());
  const int err61 = (*obj61)->Load();
  SetTargetKernel(KernelVersion::k6_12);
  auto obj612 = native::Object::OpenBytecode(kPath);
  ASSERT_TRUE(obj612.ok());
  const int err612 = (*obj612)->Load();
  call.imm = btf->FindByNameKind("bpf_cpumask_populate", BTF_KIND_FUNC);
  call.prog_type = BPF_PROG_TYPE_SYSCALL;
  const Kfunc* k = nullptr;
  std::string log;
  const int populate612 = ResolveKfuncCall(btf, call, &k, &log);
  SetTargetKernel(KernelVersion::k6_18);
  EXPECT_EQ(err61, -EACCES);
  EXPECT_EQ(err612, -EACCES);  // bpf_cpumask_populate
  EXPECT_EQ(populate612, -EACCES);
  EXPECT_EQ(log,
            "calling kernel function bpf_cpumask_populate is not allowed\n");
}

}  // namespace
}  // namespace bpfemu::examples
