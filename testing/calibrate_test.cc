// SPDX-License-Identifier: Apache-2.0
// Calibration against the running kernel: it succeeds, gives the same
// profile twice, leaves the profile in force as it found it, and the
// profile it gives reproduces the kernel's charge for maps it never probed.
// memlock_compare_test checks that charge for every type and many sizes.

#include "testing/calibrate.h"

#include <linux/bpf.h>

#include <cstdio>

#include "emu/build_profile.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

class CalibrateTest : public KernelTest<> {
 protected:
  void TearDown() override { ClearBuildProfile(); }
};

TEST_F(CalibrateTest, StableAndLeavesTheProfileInForceAsItWas) {
  BuildProfile planted = DefaultBuildProfile(TargetKernel());
  planted.htab += 1000;
  SetBuildProfile(planted);
  absl::StatusOr<BuildProfile> a = CalibrateBuildProfile();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(BuildProfileFor(TargetKernel()), planted);
  EXPECT_STREQ(BuildProfileSource(), "set");
  ClearBuildProfile();
  absl::StatusOr<BuildProfile> b = CalibrateBuildProfile();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
  EXPECT_STREQ(BuildProfileSource(), "default");
  std::printf("running kernel: %s\n%s default: %s\n",
              FormatBuildProfile(*a).c_str(), KernelVersionName(TargetKernel()),
              FormatBuildProfile(DefaultBuildProfile(TargetKernel())).c_str());
}

// The sizes that inverting the emulator's formulas gives are the sizes the
// kernel's BTF declares: the formulas are the kernel's, term for term.
TEST_F(CalibrateTest, InvertedFormulasGiveTheStructSizesOfTheKernelsBtf) {
  absl::StatusOr<BuildProfile> btf = BuildProfileFromBtf();
  if (!btf.ok()) GTEST_SKIP() << btf.status().message();
  absl::StatusOr<BuildProfile> measured = CalibrateBuildProfile();
  ASSERT_TRUE(measured.ok()) << measured.status();
  EXPECT_EQ(FormatBuildProfile(*measured), FormatBuildProfile(*btf));
}

TEST_F(CalibrateTest, ReproducesChargesOfMapsItNeverProbed) {
  const std::string line = CalibrateAndSetBuildProfile();
  ASSERT_NE(line.find("calibrated from the running kernel"), std::string::npos)
      << line;
  KernelBackend& kernel = KernelBackend::Get();
  for (const MapAttr& attr :
       {MapAttr{.map_type = BPF_MAP_TYPE_HASH,
       .key_size = 20,
       .value_size = 36,
       .max_entries = 777},
        MapAttr{.map_type = BPF_MAP_TYPE_LRU_PERCPU_HASH,
        .key_size = 8,
        .value_size = 16,
        .max_entries = 300},
        MapAttr{.map_type = BPF_MAP_TYPE_PERCPU_ARRAY,
        .key_size = 4,
        .value_size = 40,
        .max_entries = 50},
        MapAttr{.map_type = BPF_MAP_TYPE_RINGBUF, .max_entries = 8 * 4096},
        MapAttr{.map_type = BPF_MAP_TYPE_SOCKMAP,
        .key_size = 4,
        .value_size = 8,
        .max_entries = 33}}) {
    SCOPED_TRACE(attr.map_type);
    const int kfd = kernel.CreateMap(attr);
    const int efd = MapCreate(attr);
    ASSERT_GE(kfd, 0);
    ASSERT_GE(efd, 0);
    EXPECT_EQ(MapMemlock(efd), KernelMemlock(kfd));
    kernel.Close(kfd);
    EXPECT_EQ(CloseFd(efd), 0);
  }
}

}  // namespace
}  // namespace bpfemu
