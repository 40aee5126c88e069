// SPDX-License-Identifier: Apache-2.0
// tests/examples/obj_list.bpf.c on bpfemu without root, natively and as
// bytecode, against the kernel's answers recorded by obj_list_compare_test
// (testdata/obj_list.expected): the same lines for every case, and no
// object left allocated afterwards.

#include <cstdint>
#include <string>

#include "emu/graph_obj.h"
#include "emu/kernel_btf.h"
#include "gtest/gtest.h"
#include "tests/examples/obj_list_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

class ObjListTest : public ::testing::TestWithParam<bool> {};

TEST_P(ObjListTest, SameAnswersAsRecorded) {
  if (GetParam() && KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  const Recorded rec =
      ReadRecorded("tests/examples/testdata/obj_list.expected");
  ASSERT_EQ(rec.lines.size(), ObjListCases().size());
  const uint64_t live_before = graph::LiveObjects();
  {
    const std::string path = "tests/examples/obj_list.bpf.o";
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("obj_list");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
    ObjListSide side = EmuObjListSide(**obj);
    for (const ObjListCase& c : ObjListCases()) {
      SCOPED_TRACE(c.name);
      std::string why;
      const std::string line = RunObjListCase(c, side, &why);
      ASSERT_FALSE(line.empty()) << why << " " << interp::LastFault();
      EXPECT_EQ(line, rec.lines.at(c.name)) << "recorded on " << rec.kernel;
    }
    EXPECT_EQ(graph::LiveObjects(), live_before);
    // Filled and not drained: the objects stay in the global list and tree
    // until the object's maps go.
    int32_t ret = 0;
    ASSERT_TRUE(side.run("list_fill", &ret));
    ASSERT_TRUE(side.run("tree_fill", &ret));
    EXPECT_EQ(graph::LiveObjects(), live_before + 2 * ret);
  }
  // Closing the object freed the `.data.A` / `.data.B` maps, whose list
  // head and rb root gave their objects back (bpf_obj_free_fields).
  if (GetParam()) {
    EXPECT_EQ(graph::LiveObjects(), live_before);
  }
  EXPECT_EQ(graph::LeakedObjects(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Faces, ObjListTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
