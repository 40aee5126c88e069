// SPDX-License-Identifier: Apache-2.0
// tests/examples/iter_bits.bpf.c on bpfemu alone: every case of
// iter_bits_cases.h walks the bits its bitmap holds, with the
// bpf_iter_bits_new() answer measured on 6.18, natively and as bytecode
// (which needs the running kernel's BTF and skips without it); a 6.1
// target, which predates the iterator (6.11), refuses the load. The same
// object compared with the kernel: iter_bits_compare_test.cc.

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/iter_bits_cases.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

using namespace iter_bits;  // NOLINT

constexpr char kPath[] = "tests/examples/iter_bits.bpf.o";

class IterBitsTest : public ::testing::TestWithParam<bool> {};

TEST_P(IterBitsTest, WalksTheSetBits) {
  const bool bytecode = GetParam();
  if (bytecode && KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  auto obj = bytecode ? native::Object::OpenBytecode(kPath)
                      : native::Object::Open("iter_bits");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("walk_bits");
  ASSERT_NE(prog, nullptr);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const uint32_t zero = 0;
  int checked = 0;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(std::to_string(c.value.nr_words) + " words, kind " +
                 std::to_string(c.value.kind));
    if (!bytecode && UserHalf(c.value)) continue;
    const std::vector<uint64_t> words = Words(c);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("bcase"), &zero, &c.value, BPF_ANY),
              0);
    ASSERT_EQ(
        MapUpdateElem((*obj)->MapFd("bwords"), &zero, words.data(), BPF_ANY),
        0);
    ASSERT_EQ(prog->RunSkb(packet).err, 0);
    BitsOut got{};
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("bout"), &zero, &got), 0);
    const BitsOut want = Expected(c);
    EXPECT_EQ(got.new_ret, want.new_ret);
    EXPECT_EQ(got.count, want.count);
    EXPECT_EQ(got.sum, want.sum);
    EXPECT_EQ(got.last, want.last);
    EXPECT_EQ(got.after, 0);
    for (uint32_t j = 0; j < want.count && j < 16; ++j) {
      EXPECT_EQ(got.first[j], want.first[j]) << j;
    }
    ++checked;
  }
  EXPECT_GE(checked, 23);
}

INSTANTIATE_TEST_SUITE_P(Faces, IterBitsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

TEST(IterBitsVersionTest, SixOneRefusesTheLoad) {
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  SetTargetKernel(KernelVersion::k6_1);
  auto obj = native::Object::OpenBytecode(kPath);
  ASSERT_TRUE(obj.ok()) << obj.status();
  const int err = (*obj)->Load();
  SetTargetKernel(KernelVersion::k6_12);
  auto obj612 = native::Object::OpenBytecode(kPath);
  ASSERT_TRUE(obj612.ok()) << obj612.status();
  const int err612 = (*obj612)->Load();
  SetTargetKernel(KernelVersion::k6_18);
  EXPECT_EQ(err, -EACCES);
  EXPECT_EQ(err612, 0) << (*obj612)->load_error();
}

}  // namespace
}  // namespace bpfemu::examples
