// SPDX-License-Identifier: Apache-2.0
// tests/examples/str_kfuncs.bpf.c on the kernel (real libbpf resolves its
// `__ksym` kfuncs, BPF_PROG_TEST_RUN of the tc program) and on bpfemu,
// natively and as bytecode: for every case of str_kfuncs_cases.h the same
// return value, which is also the one pinned there (the 6.18 kernel's).
// Natively a user-half address is the program's own memory, so the cases
// that pass one are the interpreter's only (counted, not compared).

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"
#include "tests/examples/str_kfuncs_cases.h"

namespace bpfemu::examples {
namespace {

using namespace str_kfuncs;  // NOLINT

class StrKfuncsCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(StrKfuncsCompareTest, SameReturnsAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/str_kfuncs.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("str_kfuncs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("str_call");
  ASSERT_NE(prog, nullptr);
  KernelBackend& k = KernelBackend::Get();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const uint32_t zero = 0;
  std::vector<char> big;
  int compared = 0, interpreter_only = 0;
  const std::vector<Case> cases = AllCases();
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE("case " + std::to_string(i) + " op " +
                 std::to_string(c.value.op) + " \"" + c.value.s1 + "\" \"" +
                 c.value.s2 + "\"");
    const bool user1 = c.value.kind1 == kAddr && UserHalf(c.value.addr1);
    const bool user2 = c.value.kind2 == kAddr && UserHalf(c.value.addr2);
    if (!bytecode && (user1 || user2)) {
      ++interpreter_only;
      continue;
    }
    FillBig(c, &big);
    const int32_t none = -1000;
    ASSERT_EQ(k.Update(kernel->MapFd("cases"), &zero, &c.value, BPF_ANY), 0);
    ASSERT_EQ(k.Update(kernel->MapFd("bigs"), &zero, big.data(), BPF_ANY), 0);
    ASSERT_EQ(k.Update(kernel->MapFd("out"), &zero, &none, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cases"), &zero, &c.value, BPF_ANY),
              0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("bigs"), &zero, big.data(), BPF_ANY),
              0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, BPF_ANY), 0);
    const KernelObject::Result kr =
        KernelObject::RunPacket(kernel->ProgFd("str_call"), packet);
    ASSERT_EQ(kr.err, 0);
    const native::PacketResult er = prog->RunSkb(packet);
    ASSERT_EQ(er.err, 0);
    EXPECT_EQ(er.retval, kr.retval);
    int32_t kv = none, ev = none;
    ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &kv, 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &ev), 0);
    EXPECT_EQ(ev, kv);
    EXPECT_EQ(kv, c.want);
    ++compared;
  }
  std::printf("string kfuncs (%s): %d cases compared, %d interpreter-only\n",
              bytecode ? "bytecode" : "native", compared, interpreter_only);
  EXPECT_EQ(compared + interpreter_only, static_cast<int>(cases.size()));
}

INSTANTIATE_TEST_SUITE_P(Faces, StrKfuncsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
