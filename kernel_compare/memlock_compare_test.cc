// SPDX-License-Identifier: Apache-2.0
// memlock accounting against the kernel, with the build profile calibrated
// from the running kernel: every case of memlock_compare.h charges what the
// kernel charges.

#include "kernel_compare/memlock_compare.h"

#include <cstdio>

#include "emu/build_profile.h"
#include "gtest/gtest.h"
#include "testing/calibrate.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

class MemlockCompareTest : public KernelTest<> {
 protected:
  void TearDown() override { ClearBuildProfile(); }
};

TEST_F(MemlockCompareTest, EveryTypeAndSizeChargesWhatTheKernelCharges) {
  absl::StatusOr<BuildProfile> profile = CalibrateBuildProfile();
  ASSERT_TRUE(profile.ok()) << profile.status();
  SetBuildProfile(*profile);
  std::printf("calibrated: %s\n", FormatBuildProfile(*profile).c_str());
  int compared = 0;
  for (const MemlockCase& c : MemlockCases()) {
    SCOPED_TRACE(DescribeMemlockCase(c));
    const MemlockResult r = CompareMemlockCase(c);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.kernel, r.emu);
    ++compared;
  }
  EXPECT_GE(compared, 90);
}

}  // namespace
}  // namespace bpfemu
