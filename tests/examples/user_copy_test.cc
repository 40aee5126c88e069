// SPDX-License-Identifier: Apache-2.0
// tests/examples/user_copy.bpf.c on bpfemu, natively and as bytecode,
// without root: every case of user_copy_cases.h against the kernel's
// answers recorded on 6.18 (tests/examples/testdata/user_copy.expected,
// written by user_copy_compare_test with USER_COPY_RECORD); natively the
// cases that cross memories are skipped (user_copy_cases.h). Also: the
// sleepable kfuncs are refused to a program that is not sleepable, and a
// 6.12 target has only bpf_copy_from_user_str.

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include "emu/kernel_btf.h"
#include "emu/kfunc.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/recorded.h"
#include "tests/examples/user_copy_cases.h"

namespace bpfemu::examples {
namespace {

using namespace user_copy;  // NOLINT

class UserCopyTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
    }
    SetTargetKernel(KernelVersion::k6_18);
  }
  void TearDown() override { SetTargetKernel(KernelVersion::k6_18); }
};

TEST_P(UserCopyTest, SameAsTheRecordedKernel) {
  const Recorded rec =
      ReadRecorded("tests/examples/testdata/user_copy.expected");
  ASSERT_FALSE(rec.lines.empty()) << "no testdata/user_copy.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded on " << rec.kernel;
  const std::string path = "tests/examples/user_copy.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("user_copy");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("user_copy");
  ASSERT_NE(prog, nullptr);
  const Sources sources;
  const uint32_t zero = 0;
  char map_src[kBufLen];
  MapSource(map_src);
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("srcs"), &zero, map_src, BPF_ANY), 0);
  int checked = 0, skipped = 0;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    auto it = rec.lines.find(c.name);
    ASSERT_NE(it, rec.lines.end()) << "not recorded";
    if (!GetParam() && InterpreterOnly(c)) {
      ++skipped;
      continue;
    }
    Result init;
    InitialResult(&init);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("res"), &zero, &init, BPF_ANY), 0);
    Args args = ToArgs(c, sources);
    const uint32_t ret = prog->Run(&args);
    Result res{};
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &res), 0);
    EXPECT_EQ(Line(c.name, 0, ret, res), it->second + "\n");
    ++checked;
  }
  EXPECT_EQ(checked + skipped, static_cast<int>(rec.lines.size()));
  std::printf("user copies: %d cases checked, %d skipped\n", checked, skipped);
}

// KF_SLEEPABLE: a program that is not sleepable is refused the copy_from_user
// kfuncs at load (the verifier's line); the probe reads are not.
TEST(UserCopyLoadTest, SleepableOnly) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF";
  SetTargetKernel(KernelVersion::k6_18);
  for (const char* name :
       {"bpf_copy_from_user_dynptr", "bpf_copy_from_user_str_dynptr",
        "bpf_copy_from_user_task_dynptr", "bpf_copy_from_user_task_str_dynptr",
        "bpf_copy_from_user_str", "bpf_copy_from_user_task_str",
        "bpf_probe_read_user_dynptr", "bpf_probe_read_kernel_str_dynptr"}) {
    SCOPED_TRACE(name);
    KfuncCall call;
    call.imm = btf->FindByNameKind(name, BTF_KIND_FUNC);
    ASSERT_GT(call.imm, 0);
    call.gpl_compatible = true;
    call.prog_type = BPF_PROG_TYPE_SYSCALL;
    const Kfunc* k = nullptr;
    std::string log;
    const bool sleepable_only =
        std::string(name).rfind("bpf_copy_from_user", 0) == 0;
    EXPECT_EQ(ResolveKfuncCall(btf, call, &k, &log),
              sleepable_only ? -EACCES : 0);
    if (sleepable_only) {
      EXPECT_EQ(log, std::string("program must be sleepable to call sleepable "
                                 "kfunc ") +
                         name + "\n");
    }
    call.sleepable = true;
    log.clear();
    EXPECT_EQ(ResolveKfuncCall(btf, call, &k, &log), 0) << log;
    SetTargetKernel(KernelVersion::k6_12);
    EXPECT_EQ(ResolveKfuncCall(btf, call, &k, &log),
              std::string(name) == "bpf_copy_from_user_str" ? 0 : -EACCES);
    SetTargetKernel(KernelVersion::k6_18);
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, UserCopyTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
