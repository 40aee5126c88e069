// SPDX-License-Identifier: Apache-2.0
// route.bpf.c, built natively by bpfemu_native_object() (bpfemu-native-cc),
// driven through bpfemu's C++ API as an unprivileged GoogleTest.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "emu/syscall.h"
#include "loader/object.h"

namespace {

struct RouteKey {
  uint32_t prefixlen;
  uint32_t addr;
};

std::vector<uint8_t> Ipv4Packet(const char* dst) {
  std::vector<uint8_t> p(14 + 20, 0);
  p[12] = 0x08;  // EtherType IPv4
  p[14] = 0x45;  // version 4, 20-byte header
  in_addr a;
  inet_pton(AF_INET, dst, &a);
  std::memcpy(&p[14 + 16], &a, 4);
  return p;
}

void AddRoute(int fd, const char* net, uint32_t len, uint32_t verdict) {
  RouteKey k{len, 0};
  inet_pton(AF_INET, net, &k.addr);
  ASSERT_EQ(bpfemu::MapUpdateElem(fd, &k, &verdict, BPF_ANY), 0);
}

TEST(Route, LongestPrefixWins) {
  auto obj = bpfemu::native::Object::Open("route");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int routes = (*obj)->MapFd("routes");
  ASSERT_GE(routes, 0);
  AddRoute(routes, "10.0.0.0", 8, XDP_DROP);
  AddRoute(routes, "10.1.0.0", 16, XDP_PASS);
  const auto* prog = (*obj)->FindProgram("route");
  ASSERT_NE(prog, nullptr);

  EXPECT_EQ(prog->RunXdp(Ipv4Packet("10.1.2.3")).retval, XDP_PASS);
  EXPECT_EQ(prog->RunXdp(Ipv4Packet("10.2.0.1")).retval, XDP_DROP);
  EXPECT_EQ(prog->RunXdp(Ipv4Packet("10.200.0.1")).retval, XDP_DROP);
  EXPECT_EQ(prog->RunXdp(Ipv4Packet("192.168.0.1")).retval, XDP_TX);

  const int verdicts = (*obj)->MapFd("verdicts");
  uint64_t n = 0;
  uint32_t v = XDP_DROP;
  ASSERT_EQ(bpfemu::MapLookupElem(verdicts, &v, &n), 0);
  EXPECT_EQ(n, 2u);
  v = XDP_PASS;
  ASSERT_EQ(bpfemu::MapLookupElem(verdicts, &v, &n), 0);
  EXPECT_EQ(n, 1u);
  v = XDP_ABORTED;
  EXPECT_EQ(bpfemu::MapLookupElem(verdicts, &v, &n), -ENOENT);
}

TEST(Route, KernelErrnos) {
  auto obj = bpfemu::native::Object::Open("route");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int routes = (*obj)->MapFd("routes");
  RouteKey k{33, 0};  // longer than the key's 32 bits of data
  uint32_t verdict = XDP_PASS;
  EXPECT_EQ(bpfemu::MapUpdateElem(routes, &k, &verdict, BPF_ANY), -EINVAL);
  k.prefixlen = 8;
  EXPECT_EQ(bpfemu::MapDeleteElem(routes, &k), -ENOENT);
  // A packet shorter than an Ethernet header: bpf_prog_test_run's EINVAL.
  EXPECT_EQ((*obj)->FindProgram("route")->RunXdp(std::vector<uint8_t>(8)).err,
            -EINVAL);
}

}  // namespace
