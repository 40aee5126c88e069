// SPDX-License-Identifier: Apache-2.0
// tests/examples/iter_bits.bpf.c on the kernel (real libbpf resolves its
// `__ksym` kfuncs, BPF_PROG_TEST_RUN of the tc program) and on bpfemu,
// natively and as bytecode: for every case of iter_bits_cases.h the same
// bpf_iter_bits_new() result, bit count, sum, first 16 bits, last bit and
// NULL after the end, all also equal to what the bitmap says
// (iter_bits_cases.h Expected). Natively a user-half address is the
// program's own memory, so those cases are the interpreter's only.

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
#include "tests/examples/iter_bits_cases.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

using namespace iter_bits;  // NOLINT

class IterBitsCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(IterBitsCompareTest, SameWalksAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/iter_bits.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("iter_bits");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("walk_bits");
  ASSERT_NE(prog, nullptr);
  KernelBackend& k = KernelBackend::Get();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const uint32_t zero = 0;
  int compared = 0, interpreter_only = 0;
  const std::vector<Case> cases = AllCases();
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE("case " + std::to_string(i));
    if (!bytecode && UserHalf(c.value)) {
      ++interpreter_only;
      continue;
    }
    const std::vector<uint64_t> words = Words(c);
    ASSERT_EQ(k.Update(kernel->MapFd("bcase"), &zero, &c.value, BPF_ANY), 0);
    ASSERT_EQ(k.Update(kernel->MapFd("bwords"), &zero, words.data(), BPF_ANY),
              0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("bcase"), &zero, &c.value, BPF_ANY),
              0);
    ASSERT_EQ(
        MapUpdateElem((*obj)->MapFd("bwords"), &zero, words.data(), BPF_ANY),
        0);
    const KernelObject::Result kr =
        KernelObject::RunPacket(kernel->ProgFd("walk_bits"), packet);
    ASSERT_EQ(kr.err, 0);
    const native::PacketResult er = prog->RunSkb(packet);
    ASSERT_EQ(er.err, 0);
    EXPECT_EQ(er.retval, kr.retval);
    BitsOut kv{}, ev{};
    ASSERT_EQ(k.Lookup(kernel->MapFd("bout"), &zero, &kv, 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("bout"), &zero, &ev), 0);
    EXPECT_EQ(ev.new_ret, kv.new_ret);
    EXPECT_EQ(ev.count, kv.count);
    EXPECT_EQ(ev.sum, kv.sum);
    EXPECT_EQ(ev.last, kv.last);
    EXPECT_EQ(ev.after, kv.after);
    EXPECT_EQ(ev, kv);
    // The kernel's walk is what the bitmap says (first[] past `count` keeps
    // what an earlier case wrote, on both sides alike).
    const BitsOut want = Expected(c);
    EXPECT_EQ(kv.new_ret, want.new_ret);
    EXPECT_EQ(kv.count, want.count);
    EXPECT_EQ(kv.sum, want.sum);
    EXPECT_EQ(kv.last, want.last);
    EXPECT_EQ(kv.after, 0);
    for (uint32_t j = 0; j < want.count && j < 16; ++j) {
      EXPECT_EQ(kv.first[j], want.first[j]) << j;
    }
    ++compared;
  }
  std::printf("bit iterator (%s): %d cases compared, %d interpreter-only\n",
              bytecode ? "bytecode" : "native", compared, interpreter_only);
  EXPECT_EQ(compared + interpreter_only, static_cast<int>(cases.size()));
}

INSTANTIATE_TEST_SUITE_P(Faces, IterBitsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
