// SPDX-License-Identifier: Apache-2.0
// tests/examples/lock_kfuncs.bpf.c on the kernel (BPF_PROG_TEST_RUN of its
// tc programs) and on bpfemu, natively and as bytecode: the same return
// values, answers and element counts, which are also the ones pinned in
// lock_kfuncs_cases.h. Then lock_bad.bpf.c: each program alone is refused
// by the kernel with the pinned errno, and stops a bytecode run with the
// verifier's reason.

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/bad_programs.h"
#include "tests/examples/lock_kfuncs_cases.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

using namespace lock_kfuncs;  // NOLINT

class LockKfuncsCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(LockKfuncsCompareTest, SameAnswersAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/lock_kfuncs.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("lock_kfuncs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  KernelBackend& k = KernelBackend::Get();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const uint32_t zero = 0, one = 1;
  int compared = 0;
  for (const Good& g : GoodCases()) {
    SCOPED_TRACE(g.prog);
    Answers none;
    for (int64_t& v : none.r) v = kUnset;
    const Elem e0{};
    for (uint32_t key : {zero, one}) {
      ASSERT_EQ(k.Update(kernel->MapFd("elems"), &key, &e0, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("elems"), &key, &e0, BPF_ANY), 0);
    }
    ASSERT_EQ(k.Update(kernel->MapFd("out"), &zero, &none, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, BPF_ANY), 0);
    const KernelObject::Result kr =
        KernelObject::RunPacket(kernel->ProgFd(g.prog), packet);
    ASSERT_EQ(kr.err, 0);
    const native::Program* prog = (*obj)->FindProgram(g.prog);
    ASSERT_NE(prog, nullptr);
    const native::PacketResult er = prog->RunSkb(packet);
    ASSERT_EQ(er.err, 0);
    EXPECT_EQ(interp::LastFault(), "");
    EXPECT_EQ(er.retval, kr.retval);
    EXPECT_EQ(kr.retval, g.retval);
    Answers ka{}, ea{};
    ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &ka, 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &ea), 0);
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(ea.r[i], ka.r[i]) << "answer " << i;
      const int64_t want = i < static_cast<int>(g.r.size()) ? g.r[i] : kUnset;
      EXPECT_EQ(ka.r[i], want) << "answer " << i;
    }
    for (uint32_t key : {zero, one}) {
      Elem ke{}, ee{};
      ASSERT_EQ(k.Lookup(kernel->MapFd("elems"), &key, &ke, 0), 0);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("elems"), &key, &ee), 0);
      EXPECT_EQ(ee.lock, ke.lock) << "elem " << key;
      EXPECT_EQ(ee.count, ke.count) << "elem " << key;
      EXPECT_EQ(ke.count, key == 0 ? g.count0 : g.count1) << "elem " << key;
    }
    ++compared;
  }
  std::printf("lock kfuncs (%s): %d programs compared\n",
              bytecode ? "bytecode" : "native", compared);
}

INSTANTIATE_TEST_SUITE_P(Faces, LockKfuncsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

// Bytecode only: natively nothing is refused (the compiler takes them).
class LockKfuncsRefusedTest : public KernelTest<> {};

TEST_F(LockKfuncsRefusedTest, RefusedAsTheKernelRefuses) {
  ExpectRefusedAsTheKernelRefuses("tests/examples/lock_bad.bpf.o", BadCases(),
                                  WhyIs::kPrefix);
}

}  // namespace
}  // namespace bpfemu::examples
