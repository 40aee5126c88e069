// SPDX-License-Identifier: Apache-2.0
// tests/examples/user_copy.bpf.c on the kernel (BPF_PROG_TEST_RUN of the
// sleepable syscall program) and on bpfemu, natively and as bytecode: for
// every case of user_copy_cases.h the same test-run error and return
// value, the same kfunc return value and the same buffer afterwards
// (natively the cases that cross memories are the interpreter's only:
// counted, not compared). USER_COPY_RECORD=<path> writes the kernel's lines
// there (as tests/examples/testdata/user_copy.expected, which
// user_copy_test checks bpfemu against without root).

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/recorded.h"
#include "tests/examples/user_copy_cases.h"

namespace bpfemu::examples {
namespace {

using namespace user_copy;  // NOLINT

class UserCopyCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(UserCopyCompareTest, SameAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/user_copy.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("user_copy");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("user_copy");
  ASSERT_NE(prog, nullptr);
  KernelBackend& k = KernelBackend::Get();
  const Sources sources;
  const uint32_t zero = 0;
  char map_src[kBufLen];
  MapSource(map_src);
  ASSERT_EQ(k.Update(kernel->MapFd("srcs"), &zero, map_src, BPF_ANY), 0);
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("srcs"), &zero, map_src, BPF_ANY), 0);
  std::string record;
  int compared = 0, interpreter_only = 0;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    Result init;
    InitialResult(&init);
    ASSERT_EQ(k.Update(kernel->MapFd("res"), &zero, &init, BPF_ANY), 0);
    Args args = ToArgs(c, sources);
    const KernelObject::Result kr = KernelObject::RunSyscall(
        kernel->ProgFd("user_copy"), &args, sizeof(args));
    Result kres{};
    ASSERT_EQ(k.Lookup(kernel->MapFd("res"), &zero, &kres, 0), 0);
    const std::string kline = Line(c.name, kr.err, kr.retval, kres);
    record += kline;
    if (!bytecode && InterpreterOnly(c)) {
      ++interpreter_only;
      continue;
    }
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("res"), &zero, &init, BPF_ANY), 0);
    args = ToArgs(c, sources);
    const uint32_t eret = prog->Run(&args);
    Result eres{};
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &eres), 0);
    EXPECT_EQ(Line(c.name, 0, eret, eres), kline);
    ++compared;
  }
  std::printf("user copies (%s): %d cases compared, %d interpreter-only\n",
              bytecode ? "bytecode" : "native", compared, interpreter_only);
  if (const char* out = std::getenv("USER_COPY_RECORD");
      out != nullptr && bytecode) {
    EXPECT_TRUE(WriteRecorded(out, "user_copy", record));
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, UserCopyCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
