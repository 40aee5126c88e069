// SPDX-License-Identifier: Apache-2.0
// tests/examples/timer.bpf.c on bpfemu without root, natively and as
// bytecode, against the kernel's answers recorded on 6.18
// (testdata/timer.expected, written by timer_compare_test as root; the
// command is there): timer_cases.h's scenario with the emulated clock
// advanced where the kernel slept.

#include <memory>
#include <string>
#include <vector>

#include "emu/timer.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/recorded.h"
#include "tests/examples/timer_cases.h"
#include "tests/examples/timer_emu.h"

namespace bpfemu::examples {
namespace {

using namespace timer;  // NOLINT: the shared scenario

class TimerTest : public ::testing::TestWithParam<bool> {};

TEST_P(TimerTest, SameAsTheRecordedKernel) {
  SetTargetKernel(KernelVersion::k6_18);  // the record is 6.18's
  const Recorded rec = ReadRecorded("tests/examples/testdata/timer.expected");
  ASSERT_FALSE(rec.lines.empty())
      << "no tests/examples/testdata/timer.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded on " << rec.kernel;
  const std::string path = "tests/examples/timer.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("timer");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const uint64_t before = TimerCount();
  {
    EmuBackend eb(std::move(*obj));
    ASSERT_NE(eb.prog(), nullptr);
    const std::vector<std::string> got = RunScenario(eb);
    ASSERT_EQ(got.size(), rec.lines.size());
    for (const std::string& l : got) {
      const std::string key = l.substr(0, l.find('\t'));
      auto it = rec.lines.find(key);
      ASSERT_NE(it, rec.lines.end()) << key << " not recorded";
      EXPECT_EQ(l, it->second + "\n");
    }
    // arr[3] is still armed (10 s), with the others initialized.
    EXPECT_GT(TimerCount(), before);
  }
  // Closing the object frees the maps and their timers.
  EXPECT_EQ(TimerCount(), before);
}

INSTANTIATE_TEST_SUITE_P(Faces, TimerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
