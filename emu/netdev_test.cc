// SPDX-License-Identifier: Apache-2.0
#include "emu/netdev.h"

#include <cerrno>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace bpfemu {
namespace {

class NetdevTest : public ::testing::Test {
 protected:
  void TearDown() override { NetdevReset(); }
};

TEST_F(NetdevTest, LoopbackAlwaysExists) {
  auto lo = NetdevByIndex(1);
  ASSERT_TRUE(lo.has_value());
  EXPECT_EQ(lo->name, "lo");
  EXPECT_EQ(NetdevRemove(1), -EPERM);
  NetdevReset();
  EXPECT_TRUE(NetdevExists(1));
}

TEST_F(NetdevTest, AddAssignsTheNextIndexAndRemoveForgetsIt) {
  const int a = NetdevAdd("veth0");
  const int b = NetdevAdd("veth1");
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 3);
  EXPECT_EQ(NetdevByIndex(3)->name, "veth1");
  EXPECT_EQ(NetdevRemove(2), 0);
  EXPECT_FALSE(NetdevExists(2));
  EXPECT_EQ(NetdevRemove(2), -ENODEV);
  // xa_alloc_cyclic goes on from the last index handed out.
  EXPECT_EQ(NetdevAdd("veth2"), 4);
}

TEST_F(NetdevTest, ChosenIndexesAndNames) {
  EXPECT_EQ(NetdevAdd("eth0", 42), 42);
  EXPECT_EQ(NetdevAdd("eth1", 42), -EBUSY);
  EXPECT_EQ(NetdevAdd("eth0"), -EEXIST);
  EXPECT_EQ(NetdevAdd("lo"), -EEXIST);
  EXPECT_EQ(NetdevAdd(""), -EINVAL);
  EXPECT_EQ(NetdevAdd("a/b"), -EINVAL);
  EXPECT_EQ(NetdevAdd("a b"), -EINVAL);
  EXPECT_EQ(NetdevAdd("0123456789abcdef"), -EINVAL);  // IFNAMSIZ - 1 at most
  EXPECT_EQ(NetdevAdd("eth2", 0x80000000u), -EINVAL);
  std::vector<uint32_t> indexes;
  for (const Netdev& d : Netdevs()) indexes.push_back(d.ifindex);
  EXPECT_EQ(indexes, (std::vector<uint32_t>{1, 42}));
}

TEST_F(NetdevTest, ListenersSeeRemovalsWhileTheDeviceExists) {
  const int dev = NetdevAdd("veth9");
  std::vector<uint32_t> seen;
  bool existed = false;
  const uint64_t token = NetdevAddListener([&](uint32_t ifindex) {
    seen.push_back(ifindex);
    existed = NetdevExists(ifindex);
  });
  ASSERT_EQ(NetdevRemove(dev), 0);
  NetdevRemoveListener(token);
  EXPECT_EQ(seen, std::vector<uint32_t>{static_cast<uint32_t>(dev)});
  EXPECT_TRUE(existed);
  const int other = NetdevAdd("veth10");
  ASSERT_EQ(NetdevRemove(other), 0);
  EXPECT_EQ(seen.size(), 1u);
}

TEST_F(NetdevTest, OffloadCheck) {
  EXPECT_EQ(NetdevOffloadCheck(1), -EOPNOTSUPP);
  EXPECT_EQ(NetdevOffloadCheck(77), -EINVAL);
  ASSERT_EQ(NetdevAdd("eth7", 77), 77);
  EXPECT_EQ(NetdevOffloadCheck(77), -EOPNOTSUPP);
}

}  // namespace
}  // namespace bpfemu
