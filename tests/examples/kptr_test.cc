// SPDX-License-Identifier: Apache-2.0
// tests/examples/kptr.bpf.c on bpfemu without root, natively and as
// bytecode, against the kernel's answers recorded by kptr_compare_test
// (testdata/kptr.expected), and what only bpfemu's allocator shows: how
// many objects are alive after each step that stashes, frees or takes one,
// and that the objects left in map values go with the maps.

#include <cstdint>
#include <map>
#include <string>

#include "emu/cpu.h"
#include "emu/graph_obj.h"
#include "emu/kernel_btf.h"
#include "gtest/gtest.h"
#include "tests/examples/kptr_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

class KptrTest : public ::testing::TestWithParam<bool> {};

TEST_P(KptrTest, SameAnswersAsRecorded) {
  if (GetParam() && KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  const Recorded rec = ReadRecorded("tests/examples/testdata/kptr.expected");
  ASSERT_EQ(rec.lines.size(), KptrSteps().size());
  const uint64_t live_before = graph::LiveObjects();
  const uint64_t leaked_before = graph::LeakedObjects();
  // Objects alive after some steps (others: unchanged or not checked).
  const std::map<size_t, uint64_t> live_after = {
      {0, 1},   // stashed in astash[0]
      {1, 1},   // replaced: the old one dropped by the program
      {4, 0},   // taken and dropped
      {5, 1},   // astash[1]
      {6, 0},   // the update freed it
      {10, 1},  // astash[2]
      {14, 2},  // hstash[3]
      {16, 1},  // the delete freed it
      {19, 2},  // hstash[3] again
      {20, 1},  // the update freed it
      {25, 3},  // hstash[3] and [1], astash[2]
      {29, 6},  // three in the tree and the list
      {31, 6},  // popped from one, still in the other
      {32, 7},  // 40 in the list: the second push dropped a reference only
      {33, 6},  // 10: out of the tree before, out of the list now
      {35, 5},  // the list is empty; 20 and 30 are still in the tree
      {39, 3},  // the tree too
      {41, 5},  // 50 in the tree, 60 in the tree and rstash[0]
      {45, 6},  // 70 in the tree: the update dropped rstash[1]'s reference
      {51, 3}, {53, 4},  // the per-CPU object in pstash[0]
      {57, 4},           // replaced: the old one dropped by the program
      {60, 3},           // the update freed it
      {63, 4}, {64, 3},  // taken and dropped
      {66, 4},
  };
  // The per-CPU steps' answers depend on the possible CPUs: 2 where the
  // kernel's were recorded.
  SetNumPossibleCpus(2);
  {
    const std::string path = "tests/examples/kptr.bpf.o";
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("kptr");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
    KptrSide side = EmuKptrSide(**obj);
    for (size_t i = 0; i < KptrSteps().size(); ++i) {
      std::string why;
      const std::string line = RunKptrStep(i, side, &why);
      ASSERT_FALSE(line.empty()) << why << " " << interp::LastFault();
      EXPECT_EQ(line, rec.lines.at(line.substr(0, 3)))
          << "recorded on " << rec.kernel;
      if (auto it = live_after.find(i); it != live_after.end()) {
        EXPECT_EQ(graph::LiveObjects(), live_before + it->second)
            << "after " << line;
      }
    }
  }
  // Closing the object freed its maps: the objects still stashed in
  // astash and hstash were dropped (bpf_obj_free_fields at map free).
  EXPECT_EQ(graph::LiveObjects(), live_before);
  EXPECT_EQ(graph::LeakedObjects(), leaked_before);
  SetNumPossibleCpus(0);
}

INSTANTIATE_TEST_SUITE_P(Faces, KptrTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
