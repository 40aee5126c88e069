// SPDX-License-Identifier: Apache-2.0
// memlock accounting against the kernel, with the build profile calibrated
// from the running kernel: every case of memlock_compare.h charges what the
// kernel charges.

#include "kernel_compare/memlock_compare.h"

#include <linux/bpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "emu/build_profile.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "testing/calibrate.h"
#include "testing/kernel_backend.h"
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

// STRUCT_OPS (bpf_struct_ops_map_mem_usage): sizeof(struct
// bpf_struct_ops_map), the value twice less struct bpf_struct_ops_value, a
// link and a ksym pointer per function member, and a trampoline page, for
// every registered type of the kernel BTF; struct_ops_map calibrated from a
// tcp_congestion_ops probe. Prints each pair.
TEST_F(MemlockCompareTest, StructOpsChargesWhatTheKernelCharges) {
  absl::StatusOr<BuildProfile> profile = CalibrateBuildProfile();
  ASSERT_TRUE(profile.ok()) << profile.status();
  SetBuildProfile(*profile);
  int compared = 0;
  for (const MemlockCase& c : MemlockCases()) {
    if (c.struct_ops == nullptr) continue;
    SCOPED_TRACE(DescribeMemlockCase(c));
    const MemlockResult r = CompareMemlockCase(c);
    ASSERT_EQ(r.error, "");
    std::printf(
        "%s: kernel %lld, emulator %lld\n", DescribeMemlockCase(c).c_str(),
        static_cast<long long>(r.kernel), static_cast<long long>(r.emu));
    EXPECT_EQ(r.kernel, r.emu);
    ++compared;
  }
  if (compared == 0) GTEST_SKIP() << "kernel BTF has no struct_ops value type";
}

// XSKMAP charges an xsk_map_node per used slot (xsk_map_mem_usage) until
// the socket is closed (xsk_delete_from_maps): the same AF_XDP sockets in
// both maps. Skipped where socket(AF_XDP) fails (CAP_NET_RAW).
TEST_F(MemlockCompareTest, XskMapChargesANodePerUsedSlot) {
  absl::StatusOr<BuildProfile> profile = CalibrateBuildProfile();
  ASSERT_TRUE(profile.ok()) << profile.status();
  SetBuildProfile(*profile);
  const int x = socket(44 /* AF_XDP */, SOCK_RAW, 0);
  if (x < 0) GTEST_SKIP() << "socket(AF_XDP): errno " << errno;
  const int y = socket(44, SOCK_RAW, 0);
  ASSERT_GE(y, 0);
  KernelBackend& kernel = KernelBackend::Get();
  MapAttr attr;
  attr.map_type = BPF_MAP_TYPE_XSKMAP;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 6;
  const int kfd = kernel.CreateMap(attr);
  const int efd = MapCreate(attr);
  ASSERT_GE(kfd, 0);
  ASSERT_GE(efd, 0);
  auto put = [&](uint32_t index, int32_t fd) {
    ASSERT_EQ(kernel.Update(kfd, &index, &fd, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(efd, &index, &fd, BPF_ANY), 0);
  };
  auto same = [&](const char* when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(KernelMemlock(kfd), MapMemlock(efd));
  };
  same("empty");
  put(0, x);
  same("one slot");
  put(1, x);
  put(2, y);
  put(3, y);
  same("four slots");
  put(3, x);  // replaces y in slot 3
  same("replaced");
  const uint32_t two = 2;
  ASSERT_EQ(kernel.Delete(kfd, &two), 0);
  ASSERT_EQ(MapDeleteElem(efd, &two), 0);
  same("deleted");
  close(x);
  same("socket closed");
  close(y);
  kernel.Close(kfd);
  EXPECT_EQ(CloseFd(efd), 0);
}

}  // namespace
}  // namespace bpfemu
