// SPDX-License-Identifier: Apache-2.0
// tests/examples/map_iter.bpf.c on bpfemu without root, as bytecode,
// against the kernel's answers recorded on 6.18 (testdata/map_iter.expected;
// map_iter_compare_test.cc checks the same answers against the running
// kernel and re-records them).

#include <fstream>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"
#include "gtest/gtest.h"
#include "tests/examples/map_iter_cases.h"
#include "tests/examples/map_iter_emu.h"

namespace bpfemu::examples {
namespace {

TEST(MapIterTest, RecordedAnswers) {
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  std::ifstream in("tests/examples/testdata/map_iter.expected");
  std::vector<std::string> want;
  for (std::string l; std::getline(in, l);) want.push_back(l);
  ASSERT_FALSE(want.empty()) << "no testdata/map_iter.expected";
  EXPECT_EQ(RunMapIter(MapIterEmuApi()), want);
}

}  // namespace
}  // namespace bpfemu::examples
