// SPDX-License-Identifier: Apache-2.0
// tests/examples/rb_walk.bpf.c on the kernel (BPF_PROG_TEST_RUN of the tc
// program) and on bpfemu, natively and as bytecode: for every case of
// rb_walk_cases.h the same tree shapes before and after the removals (the
// red-black tree's, walked with bpf_rbtree_root / _left / _right), the
// same removals and the same drain order. RB_WALK_RECORD=<path> writes the
// kernel's lines there (as tests/examples/testdata/rb_walk.expected, which
// rb_walk_test checks bpfemu against without root).

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "emu/graph_obj.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"
#include "tests/examples/rb_walk_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace rb_walk;  // NOLINT

class RbWalkCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(RbWalkCompareTest, SameShapesAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/rb_walk.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("rb_walk");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("rb_walk");
  ASSERT_NE(prog, nullptr);
  KernelBackend& k = KernelBackend::Get();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const uint32_t zero = 0;
  std::string record;
  int compared = 0;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const Value v = c.ToValue();
    const Out unset = Unset();
    ASSERT_EQ(k.Update(kernel->MapFd("cases"), &zero, &v, BPF_ANY), 0);
    ASSERT_EQ(k.Update(kernel->MapFd("out"), &zero, &unset, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cases"), &zero, &v, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &unset, BPF_ANY), 0);
    const KernelObject::Result kr =
        KernelObject::RunPacket(kernel->ProgFd("rb_walk"), packet);
    const uint64_t live = graph::LiveObjects();
    const native::PacketResult er = prog->RunSkb(packet);
    EXPECT_EQ(graph::LiveObjects(), live);
    Out ko{}, eo{};
    ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &ko, 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &eo), 0);
    const std::string kline = Line(c.name, kr.err, kr.retval, ko);
    EXPECT_EQ(Line(c.name, er.err, er.retval, eo), kline);
    record += kline;
    ++compared;
  }
  std::printf("rbtree walk (%s): %d cases compared\n",
              bytecode ? "bytecode" : "native", compared);
  if (const char* out = std::getenv("RB_WALK_RECORD");
      out != nullptr && bytecode) {
    EXPECT_TRUE(WriteRecorded(out, "rb_walk", record));
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, RbWalkCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
