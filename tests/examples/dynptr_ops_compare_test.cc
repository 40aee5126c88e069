// SPDX-License-Identifier: Apache-2.0
// tests/examples/dynptr_ops.bpf.c on the kernel (real libbpf resolves its
// `__ksym` kfuncs, BPF_PROG_TEST_RUN of the tc and socket filter programs)
// and on bpfemu, natively and as bytecode: for every case of
// dynptr_ops_cases.h the same test-run error and return value, the same
// kfunc return value, the same buffers and the same packet out.
// DYNPTR_OPS_RECORD=<path> writes the kernel's lines there (as
// tests/examples/testdata/dynptr_ops.expected, which dynptr_ops_test
// checks bpfemu against without root).

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
#include "tests/examples/dynptr_ops_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace dynptr_ops;  // NOLINT

class DynptrOpsCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(DynptrOpsCompareTest, SameAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/dynptr_ops.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("dynptr_ops");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  KernelBackend& k = KernelBackend::Get();
  const std::vector<uint8_t> packet = Packet();
  const uint32_t zero = 0, one = 1;
  std::string record;
  int compared = 0;
  for (const char* pname : {"ops_tc", "ops_socket"}) {
    const native::Program* prog = (*obj)->FindProgram(pname);
    ASSERT_NE(prog, nullptr);
    for (const Case& c : Cases()) {
      const std::string name = std::string(pname) + " " + c.name;
      SCOPED_TRACE(name);
      uint8_t b0[kBufLen], b1[kBufLen];
      InitialBufs(b0, b1);
      const int64_t none = -1000;
      ASSERT_EQ(k.Update(kernel->MapFd("cases"), &zero, &c.v, BPF_ANY), 0);
      ASSERT_EQ(k.Update(kernel->MapFd("bufs"), &zero, b0, BPF_ANY), 0);
      ASSERT_EQ(k.Update(kernel->MapFd("bufs"), &one, b1, BPF_ANY), 0);
      ASSERT_EQ(k.Update(kernel->MapFd("out"), &zero, &none, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cases"), &zero, &c.v, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("bufs"), &zero, b0, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("bufs"), &one, b1, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, BPF_ANY), 0);
      const KernelObject::Result kr =
          KernelObject::RunPacket(kernel->ProgFd(pname), packet);
      const native::PacketResult er = prog->RunSkb(packet);
      int64_t kret = none, eret = none;
      uint8_t kb0[kBufLen], kb1[kBufLen], eb0[kBufLen], eb1[kBufLen];
      ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &kret, 0), 0);
      ASSERT_EQ(k.Lookup(kernel->MapFd("bufs"), &zero, kb0, 0), 0);
      ASSERT_EQ(k.Lookup(kernel->MapFd("bufs"), &one, kb1, 0), 0);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &eret), 0);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("bufs"), &zero, eb0), 0);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("bufs"), &one, eb1), 0);
      const std::string kline =
          Line(name, kr.err, kr.retval, kret, kb0, kb1, kr.data_out);
      EXPECT_EQ(Line(name, er.err, er.retval, eret, eb0, eb1, er.data_out),
                kline);
      record += kline;
      ++compared;
    }
  }
  std::printf("dynptr_ops (%s): %d cases compared\n",
              bytecode ? "bytecode" : "native", compared);
  if (const char* out = std::getenv("DYNPTR_OPS_RECORD");
      out != nullptr && bytecode) {
    EXPECT_TRUE(WriteRecorded(out, "dynptr_ops", record));
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, DynptrOpsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
