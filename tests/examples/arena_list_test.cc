// SPDX-License-Identifier: Apache-2.0
// arena_list.bpf.c (an ARENA-backed list shared with userspace), natively
// and as bytecode: list_add allocates arena pages with
// bpf_arena_alloc_pages and links nodes into a list whose head sits in
// .bss; this process walks the list through the arena mapping the loader
// made (the user range, user_vm_start) and must find the values the
// programs wrote; list_drain's own walk must give the same sum, and its
// bpf_arena_free_pages calls must leave no page allocated. The object needs
// clang >= 18
// (`__arena`, addr_space_cast): built with clang-19, and skipped where that
// is absent. The same run on a kernel: arena_list_compare_test.cc.

#include <fstream>

#include "gtest/gtest.h"
#include "tests/examples/arena_list_walk.h"

namespace bpfemu::examples {
namespace {

bool Built() {
  std::ifstream f(kArenaListPath, std::ios::binary | std::ios::ate);
  return f.good() && f.tellg() > 0;
}

TEST(ArenaListTest, NativeAndBytecodeBuildTheSameList) {
  if (!Built()) {
    GTEST_SKIP() << "arena_list.bpf.o was not built: clang-19 is absent "
                    "(tools/setup.sh installs it)";
  }
  ArenaWalk w[2];
  for (int face = 0; face < 2; ++face) {
    SCOPED_TRACE(face ? "bytecode" : "native");
    uint64_t pages_before = 0, pages_after = 0;
    RunArenaListEmulated(face == 1, &w[face], &pages_before, &pages_after);
    if (HasFatalFailure()) return;
    EXPECT_EQ(w[face].add_ret[0], 0u);
    EXPECT_EQ(w[face].add_ret[1], 0u);
    EXPECT_EQ(w[face].drain_ret, 0u);
    // Two pages of 64 nodes, newest first: values 3i + 1, i = 63..0, twice.
    ASSERT_EQ(w[face].values.size(), 128u);
    EXPECT_EQ(w[face].added, 128u);
    EXPECT_EQ(pages_before, 2u);
    EXPECT_EQ(w[face].resident_after_walk, 2u);
    // list_drain freed both pages and emptied the list.
    EXPECT_EQ(pages_after, 0u);
    EXPECT_EQ(w[face].resident_after_drain, 0u);
    EXPECT_EQ(w[face].head_after, 0u);
    uint64_t total = 0;
    for (size_t k = 0; k < 128; ++k) {
      EXPECT_EQ(w[face].values[k], 3 * (63 - k % 64) + 1) << k;
      total += w[face].values[k];
    }
    EXPECT_EQ(w[face].sum, total);
  }
  EXPECT_EQ(w[0], w[1]);
}

}  // namespace
}  // namespace bpfemu::examples
