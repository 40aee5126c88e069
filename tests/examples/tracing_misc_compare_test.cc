// SPDX-License-Identifier: Apache-2.0
// tests/examples/tracing_misc.bpf.c on the kernel (BPF_PROG_TEST_RUN of
// its SYSCALL and raw tracepoint programs runs in this thread) and on
// bpfemu, natively and as bytecode: the same scenario
// (tracing_misc_scenario.h) gives the same lines.

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/tracing_misc_scenario.h"

namespace bpfemu::examples::tracing_misc {
namespace {

using Scenario = std::vector<std::string> (*)(const SyscallRun&,
                                              const RawTpRun&);

// The scenario on the kernel's load of `path` and on bpfemu's (`bytecode`
// or the native build `name`), line by line.
void Compare(const char* path, const char* name, bool bytecode,
             Scenario scenario) {
  std::unique_ptr<KernelObject> k;
  ASSERT_EQ(KernelObject::Load(path, &k), 0);
  const std::vector<std::string> kernel = scenario(
      [&k](const char* prog, misc_ctx* c) {
        return KernelObject::RunSyscall(k->ProgFd(prog), c, sizeof(*c)).err;
      },
      [&k](const char* prog, const std::vector<uint64_t>& args) {
        return KernelObject::RunRawTp(k->ProgFd(prog), args).retval;
      });
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open(name);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Object& o = **obj;
  const std::vector<std::string> emu = scenario(
      [&o](const char* prog, misc_ctx* c) {
        const native::Program* p = o.FindProgram(prog);
        if (p == nullptr) return -1;
        p->Run(c);
        return 0;
      },
      [&o](const char* prog, const std::vector<uint64_t>& args) {
        const native::Program* p = o.FindProgram(prog);
        return p == nullptr ? 0xdeadu : p->RunRawTp(args);
      });
  ASSERT_EQ(emu.size(), kernel.size());
  for (size_t i = 0; i < kernel.size(); ++i) EXPECT_EQ(emu[i], kernel[i]);
  for (const std::string& line : kernel) std::printf("%s\n", line.c_str());
}

class TracingMiscCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(TracingMiscCompareTest, SameAnswersAsTheKernel) {
  Compare("tests/examples/tracing_misc.bpf.o", "tracing_misc", GetParam(),
          RunScenario);
}

// A kernel in lockdown (integrity and up) offers bpf_probe_write_user to no
// program type: it refuses the object (EINVAL, "program of this type
// cannot use helper bpf_probe_write_user#36"), as this host does; bpfemu
// models a kernel without lockdown (tracing_misc_test checks its answers).
TEST_P(TracingMiscCompareTest, ProbeWriteUserSameAnswersAsTheKernel) {
  std::unique_ptr<KernelObject> k;
  const int err = KernelObject::Load("tests/examples/tracing_write.bpf.o", &k);
  if (err != 0) {
    EXPECT_EQ(err, -EINVAL);
    GTEST_SKIP() << "the kernel refuses bpf_probe_write_user (lockdown)";
  }
  k.reset();
  Compare("tests/examples/tracing_write.bpf.o", "tracing_write", GetParam(),
          RunWriteScenario);
}

// bpf_find_vma's vma through CO-RE: the kernel and the bytecode face.
class FindVmaCompareTest : public KernelTest<::testing::Test> {};

TEST_F(FindVmaCompareTest, SameVmasAsTheKernel) {
  constexpr char kVma[] = "tests/examples/find_vma.bpf.o";
  std::unique_ptr<KernelObject> k;
  ASSERT_EQ(KernelObject::Load(kVma, &k), 0);
  const Memory m;  // the same mappings for both runs
  const std::vector<std::string> kernel = RunVmaScenario(m, [&k](vma_ctx* c) {
    return KernelObject::RunSyscall(k->ProgFd("read_vmas"), c, sizeof(*c)).err;
  });
  auto obj = native::Object::OpenBytecode(kVma);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* p = (*obj)->FindProgram("read_vmas");
  ASSERT_NE(p, nullptr);
  const std::vector<std::string> emu = RunVmaScenario(m, [p](vma_ctx* c) {
    p->Run(c);
    return 0;
  });
  EXPECT_EQ(emu, kernel);
  for (const std::string& line : kernel) std::printf("%s\n", line.c_str());
}

INSTANTIATE_TEST_SUITE_P(Faces, TracingMiscCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::tracing_misc
