// SPDX-License-Identifier: Apache-2.0
// emu/fib.h's set-up API: the errnos for bad routes and addresses, the
// routes an address brings, and lookups that need no kernel (the kernel
// comparison is tests/examples/fib_compare_test.cc).

#include "emu/fib.h"

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <sys/socket.h>

#include <cerrno>

#include "emu/netdev.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

uint32_t Ip(const char* s) {
  in_addr a = {};
  inet_pton(AF_INET, s, &a);
  return a.s_addr;
}

class FibTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NetdevReset();
    FibReset();
    dev_ = NetdevAdd("fib0");
    ASSERT_GT(dev_, 0);
    FibSetLink(dev_, {2, 0, 0, 0, 0, 1}, true);
  }
  void TearDown() override {
    FibReset();
    NetdevReset();
  }
  struct bpf_fib_lookup Params(const char* dst) const {
    struct bpf_fib_lookup p = {};
    p.family = AF_INET;
    p.ifindex = static_cast<uint32_t>(dev_);
    p.ipv4_dst = Ip(dst);
    return p;
  }
  int dev_ = 0;
};

TEST_F(FibTest, BadRoutesAndAddresses) {
  FibRoute r;
  r.dst = Ip("10.0.0.0");
  r.plen = 33;
  r.ifindex = static_cast<uint32_t>(dev_);
  EXPECT_EQ(FibAddRoute(r), -EINVAL);
  r.plen = 8;
  r.ifindex = 0;  // unicast without a device
  EXPECT_EQ(FibAddRoute(r), -EINVAL);
  r.ifindex = static_cast<uint32_t>(dev_);
  EXPECT_EQ(FibAddRoute(r), 0);
  EXPECT_EQ(FibAddRoute(r), -EEXIST);
  r.metric = 7;  // another metric is another route
  EXPECT_EQ(FibAddRoute(r), 0);
  EXPECT_EQ(FibAddAddress(999, Ip("10.0.0.1"), 24), -ENODEV);
  EXPECT_EQ(FibAddAddress(static_cast<uint32_t>(dev_), Ip("10.0.0.1"), 40),
            -EINVAL);
  FibRoute6 r6;
  r6.plen = 129;
  r6.ifindex = static_cast<uint32_t>(dev_);
  EXPECT_EQ(FibAddRoute6(r6), -EINVAL);
}

TEST_F(FibTest, AnAddressBringsItsRoutes) {
  ASSERT_EQ(FibAddAddress(static_cast<uint32_t>(dev_), Ip("10.1.0.1"), 24), 0);
  struct bpf_fib_lookup p = Params("10.1.0.1");  // local
  EXPECT_EQ(FibLookupV4(&p, 0, true), BPF_FIB_LKUP_RET_NOT_FWDED);
  p = Params("10.1.0.255");  // broadcast
  EXPECT_EQ(FibLookupV4(&p, 0, true), BPF_FIB_LKUP_RET_NOT_FWDED);
  p = Params("10.1.0.7");  // the subnet, no neighbour yet
  EXPECT_EQ(FibLookupV4(&p, BPF_FIB_LOOKUP_SRC, true),
            BPF_FIB_LKUP_RET_NO_NEIGH);
  EXPECT_EQ(p.ipv4_src, Ip("10.1.0.1"));
  FibAddNeigh(static_cast<uint32_t>(dev_), Ip("10.1.0.7"), {2, 0, 0, 0, 0, 7});
  p = Params("10.1.0.7");
  EXPECT_EQ(FibLookupV4(&p, 0, true), BPF_FIB_LKUP_RET_SUCCESS);
  EXPECT_EQ(p.dmac[5], 7);
  EXPECT_EQ(p.smac[5], 1);
  EXPECT_EQ(p.mtu_result, 1500);
}

TEST_F(FibTest, InputDeviceAndTables) {
  struct bpf_fib_lookup p = Params("10.9.0.1");
  p.ifindex = 999;
  EXPECT_EQ(FibLookupV4(&p, 0, true), -ENODEV);
  FibSetLink(static_cast<uint32_t>(dev_), {}, false);
  p = Params("10.9.0.1");
  EXPECT_EQ(FibLookupV4(&p, 0, true), BPF_FIB_LKUP_RET_FWD_DISABLED);
  FibSetLink(static_cast<uint32_t>(dev_), {}, true);
  p = Params("10.9.0.1");
  p.tbid = 42;  // no such table: NOT_FWDED, tbid zeroed first
  EXPECT_EQ(FibLookupV4(&p, BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_TBID, true),
            BPF_FIB_LKUP_RET_NOT_FWDED);
  EXPECT_EQ(p.tbid, 0u);
}

}  // namespace
}  // namespace bpfemu
