// SPDX-License-Identifier: Apache-2.0
// tests/examples/rb_walk.bpf.c on bpfemu, natively and as bytecode, without
// root: every case of rb_walk_cases.h against the kernel's answers
// recorded on 6.18 (tests/examples/testdata/rb_walk.expected, written by
// rb_walk_compare_test with RB_WALK_RECORD): the red-black tree's shapes,
// the removals, the drain order, and no object left behind.

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include "emu/graph_obj.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/packets.h"
#include "tests/examples/rb_walk_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace rb_walk;  // NOLINT

class RbWalkTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
    }
    SetTargetKernel(KernelVersion::k6_18);
  }
  void TearDown() override { SetTargetKernel(KernelVersion::k6_18); }
};

TEST_P(RbWalkTest, SameAsTheRecordedKernel) {
  const Recorded rec = ReadRecorded("tests/examples/testdata/rb_walk.expected");
  ASSERT_FALSE(rec.lines.empty()) << "no testdata/rb_walk.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded on " << rec.kernel;
  const std::string path = "tests/examples/rb_walk.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("rb_walk");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("rb_walk");
  ASSERT_NE(prog, nullptr);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const uint32_t zero = 0;
  int checked = 0;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    auto it = rec.lines.find(c.name);
    ASSERT_NE(it, rec.lines.end()) << "not recorded";
    const Value v = c.ToValue();
    const Out unset = Unset();
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cases"), &zero, &v, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &unset, BPF_ANY), 0);
    const uint64_t live = graph::LiveObjects();
    const native::PacketResult r = prog->RunSkb(packet);
    EXPECT_EQ(graph::LiveObjects(), live);
    Out o{};
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &o), 0);
    EXPECT_EQ(Line(c.name, r.err, r.retval, o), it->second + "\n");
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(rec.lines.size()));
  std::printf("rbtree walk: %d cases checked\n", checked);
}

// 6.12 has no rbtree walk: the bytecode load is refused.
TEST_P(RbWalkTest, RefusedOnA612Target) {
  if (!GetParam()) GTEST_SKIP() << "the native build links what it declares";
  SetTargetKernel(KernelVersion::k6_12);
  auto obj = native::Object::OpenBytecode("tests/examples/rb_walk.bpf.o");
  ASSERT_TRUE(obj.ok()) << obj.status();
  EXPECT_EQ((*obj)->Load(), -EACCES);
}

INSTANTIATE_TEST_SUITE_P(Faces, RbWalkTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
