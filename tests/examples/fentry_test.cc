// SPDX-License-Identifier: Apache-2.0
// tests/examples/fentry.bpf.c on bpfemu, natively and as bytecode, without
// root: fentry_cases.h's scenario against tests/examples/testdata/
// fentry.expected. The 6.18 host refuses every fentry/fexit/fmod_ret load
// (EPERM), so the file holds the answers net/bpf/test_run.c,
// kernel/bpf/syscall.c, kernel/bpf/trampoline.c and kernel/trace/
// bpf_trace.c give (6.18: bpf_fentry_test10 is called too), worked out by
// hand; fentry_compare_test re-records it on a kernel that loads them.

#include <linux/bpf.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/fentry_cases.h"
#include "tests/examples/fentry_emu.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace fentry;  // NOLINT: the shared scenario

class FentryTest : public ::testing::TestWithParam<bool> {};

TEST_P(FentryTest, SameAsTheExpectedKernel) {
  SetTargetKernel(KernelVersion::k6_18);
  const Recorded rec = ReadRecorded("tests/examples/testdata/fentry.expected");
  ASSERT_FALSE(rec.lines.empty()) << "no tests/examples/testdata/fentry.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded for " << rec.kernel;
  const std::string path = "tests/examples/fentry.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("fentry");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  EmuBackend eb(obj->get());
  const std::vector<std::string> got = RunScenario(eb);
  for (const std::string& line : got) {
    const std::string key = line.substr(0, line.find('\t'));
    auto it = rec.lines.find(key);
    ASSERT_NE(it, rec.lines.end()) << "not recorded: " << key;
    EXPECT_EQ(line, it->second + "\n");
  }
  EXPECT_EQ(got.size(), rec.lines.size());
  std::printf("fentry: %zu lines checked\n", got.size());
}

INSTANTIATE_TEST_SUITE_P(Faces, FentryTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
