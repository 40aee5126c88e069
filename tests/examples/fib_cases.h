// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/fib.bpf.c shared by fib_test (bpfemu, without
// root, against the kernel's recorded answers in testdata/fib.expected) and
// fib_compare_test (the kernel too, in a network namespace of its own):
// one topology, set up on the kernel with `ip` and in bpfemu's emulated
// FIB (emu/fib.h), and the lookups that reach each of
// net/core/filter.c bpf_ipv4_fib_lookup's answers.

#ifndef BPFEMU_TESTS_EXAMPLES_FIB_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_FIB_CASES_H_

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "emu/fib.h"
#include "emu/netdev.h"

namespace bpfemu::examples::fib {

// tests/examples/fib.bpf.c's map values.
struct Cmd {
  struct bpf_fib_lookup params;
  uint32_t flags;
  uint32_t plen;
};
struct Out {
  struct bpf_fib_lookup params;
  int64_t rc;
  uint32_t runs;
  uint32_t pad;
};

// The topology: veth0 (ifindex 10, 02:00:00:00:00:01, 10.1.0.1/24) and its
// peer veth1 (ifindex 11, no address, forwarding off), lo forwarding.
inline constexpr uint32_t kVeth0 = 10, kVeth1 = 11;

// The `ip` commands that build it on the kernel (after lo is up and
// net.ipv4.conf.all.forwarding is 1, before veth1's forwarding goes 0).
inline std::vector<std::string> KernelSetup() {
  return {
      "ip link add veth0 index 10 type veth peer name veth1 index 11",
      "ip link set veth0 address 02:00:00:00:00:01",
      "ip link set veth0 up",
      "ip link set veth1 up",
      "ip addr add 10.1.0.1/24 dev veth0",
      "ip route add 10.2.0.0/16 via 10.1.0.2 dev veth0 metric 5",
      "ip route add 10.2.3.0/24 via 10.1.0.3 dev veth0 mtu lock 1400",
      "ip route add blackhole 10.3.0.0/16",
      "ip route add unreachable 10.4.0.0/16",
      "ip route add prohibit 10.5.0.0/16",
      "ip route add 10.6.0.0/16 via 10.1.0.2 dev veth0 table 100",
      "ip route add 10.7.0.0/16 dev veth1",
      "ip neigh add 10.1.0.2 lladdr 02:00:00:00:00:02 dev veth0 nud permanent",
      "ip neigh add 10.1.0.9 lladdr 02:00:00:00:00:09 dev veth0 nud permanent",
      "ip -6 addr add 2001:db8:1::1/64 dev veth0 nodad",
      "ip -6 route add 2001:db8:2::/48 via 2001:db8:1::2 dev veth0 metric 5",
      "ip -6 route add 2001:db8:2:3::/64 via 2001:db8:1::3 dev veth0 mtu 1400",
      "ip -6 route add blackhole 2001:db8:3::/48",
      "ip -6 route add unreachable 2001:db8:4::/48",
      "ip -6 route add prohibit 2001:db8:5::/48",
      "ip -6 route add 2001:db8:6::/48 via 2001:db8:1::2 dev veth0 table 100",
      "ip -6 route add 2001:db8:7::/48 dev veth1",
      "ip -6 neigh add 2001:db8:1::2 lladdr 02:00:00:00:00:02 dev veth0 nud "
      "permanent",
      "ip -6 neigh add 2001:db8:1::9 lladdr 02:00:00:00:00:09 dev veth0 nud "
      "permanent",
  };
}

inline uint32_t Ip(const char* s) {
  in_addr a = {};
  inet_pton(AF_INET, s, &a);
  return a.s_addr;
}

inline Ip6 Ip6Of(const char* s) {
  Ip6 a = {};
  inet_pton(AF_INET6, s, a.data());
  return a;
}

// The same topology in bpfemu's emulated devices and FIB: true when built.
inline bool EmulatedSetup() {
  NetdevReset();
  FibReset();
  if (NetdevAdd("veth0", kVeth0) != static_cast<int>(kVeth0) ||
      NetdevAdd("veth1", kVeth1) != static_cast<int>(kVeth1)) {
    return false;
  }
  FibSetLink(kLoopbackIfindex, {}, true);
  FibSetLink(kVeth0, {2, 0, 0, 0, 0, 1}, true);
  FibSetLink(kVeth1, {2, 0, 0, 0, 0, 0x11}, false);
  bool ok = FibAddAddress(kVeth0, Ip("10.1.0.1"), 24) == 0;
  auto route = [&](const char* dst, uint8_t plen, const char* gw, uint32_t dev,
                   uint32_t metric = 0,
                   FibRoute::Type type = FibRoute::Type::kUnicast,
                   uint32_t table = kRtTableMain, uint32_t mtu = 0) {
    FibRoute r;
    r.type = type;
    r.table = table;
    r.dst = Ip(dst);
    r.plen = plen;
    r.gateway = gw ? Ip(gw) : 0;
    r.ifindex = dev;
    r.metric = metric;
    r.locked_mtu = mtu;
    ok = ok && FibAddRoute(r) == 0;
  };
  route("10.2.0.0", 16, "10.1.0.2", kVeth0, 5);
  route("10.2.3.0", 24, "10.1.0.3", kVeth0, 0, FibRoute::Type::kUnicast,
        kRtTableMain, 1400);
  route("10.3.0.0", 16, nullptr, 0, 0, FibRoute::Type::kBlackhole);
  route("10.4.0.0", 16, nullptr, 0, 0, FibRoute::Type::kUnreachable);
  route("10.5.0.0", 16, nullptr, 0, 0, FibRoute::Type::kProhibit);
  route("10.6.0.0", 16, "10.1.0.2", kVeth0, 0, FibRoute::Type::kUnicast, 100);
  route("10.7.0.0", 16, nullptr, kVeth1);
  FibAddNeigh(kVeth0, Ip("10.1.0.2"), {2, 0, 0, 0, 0, 2});
  FibAddNeigh(kVeth0, Ip("10.1.0.9"), {2, 0, 0, 0, 0, 9});
  // IPv6.
  FibSetForwarding6(kLoopbackIfindex, true);
  FibSetForwarding6(kVeth0, true);
  FibSetForwarding6(kVeth1, false);
  ok = ok && FibAddAddress6(kVeth0, Ip6Of("2001:db8:1::1"), 64) == 0;
  auto route6 = [&](const char* dst, uint8_t plen, const char* gw, uint32_t dev,
                    uint32_t metric = 1024,
                    FibRoute::Type type = FibRoute::Type::kUnicast,
                    uint32_t table = kRtTableMain, uint32_t mtu = 0) {
    FibRoute6 r;
    r.type = type;
    r.table = table;
    r.dst = Ip6Of(dst);
    r.plen = plen;
    r.has_gateway = gw != nullptr;
    if (gw) r.gateway = Ip6Of(gw);
    r.ifindex = dev;
    r.metric = metric;
    r.locked_mtu = mtu;
    ok = ok && FibAddRoute6(r) == 0;
  };
  route6("2001:db8:2::", 48, "2001:db8:1::2", kVeth0, 5);
  // `mtu 1400` without lock: not a locked MTU, the device's counts.
  route6("2001:db8:2:3::", 64, "2001:db8:1::3", kVeth0);
  route6("2001:db8:3::", 48, nullptr, 0, 1024, FibRoute::Type::kBlackhole);
  route6("2001:db8:4::", 48, nullptr, 0, 1024, FibRoute::Type::kUnreachable);
  route6("2001:db8:5::", 48, nullptr, 0, 1024, FibRoute::Type::kProhibit);
  route6("2001:db8:6::", 48, "2001:db8:1::2", kVeth0, 1024,
         FibRoute::Type::kUnicast, 100);
  route6("2001:db8:7::", 48, nullptr, kVeth1);
  FibAddNeigh6(kVeth0, Ip6Of("2001:db8:1::2"), {2, 0, 0, 0, 0, 2});
  FibAddNeigh6(kVeth0, Ip6Of("2001:db8:1::9"), {2, 0, 0, 0, 0, 9});
  return ok;
}

struct Case {
  std::string name;
  bool xdp;
  Cmd cmd;
};

inline std::vector<Case> Cases() {
  std::vector<Case> v;
  auto add = [&](const std::string& n, const char* dst, uint32_t flags,
                 uint16_t tot_len, uint32_t ifindex = kVeth0) {
    Cmd c = {};
    c.params.family = AF_INET;
    c.params.l4_protocol = IPPROTO_UDP;
    c.params.sport = htons(1000);
    c.params.dport = htons(53);
    c.params.tot_len = tot_len;
    c.params.ifindex = ifindex;
    c.params.ipv4_src = Ip("10.1.0.50");
    c.params.ipv4_dst = Ip(dst);
    c.flags = flags;
    c.plen = sizeof(c.params);
    v.push_back({n + " (tc)", false, c});
    v.push_back({n + " (xdp)", true, c});
    return &v.back().cmd;
  };
  const uint32_t kDirect = BPF_FIB_LOOKUP_DIRECT,
                 kOutput = BPF_FIB_LOOKUP_OUTPUT,
                 kSkipNeigh = BPF_FIB_LOOKUP_SKIP_NEIGH,
                 kTbid = BPF_FIB_LOOKUP_TBID, kSrc = BPF_FIB_LOOKUP_SRC,
                 kMark = 1u << 5;  // BPF_FIB_LOOKUP_MARK
  add("via gateway", "10.2.1.1", 0, 0);
  add("via gateway, tot_len 1500", "10.2.1.1", 0, 1500);
  add("via gateway, tot_len 1501", "10.2.1.1", 0, 1501);
  add("locked mtu, tot_len 1401", "10.2.3.4", 0, 1401);
  add("locked mtu, no neighbour", "10.2.3.4", 0, 100);
  add("locked mtu, skip neigh", "10.2.3.4", kSkipNeigh, 100);
  add("connected host", "10.1.0.9", 0, 0);
  add("connected, no neighbour", "10.1.0.7", 0, 0);
  add("local address", "10.1.0.1", 0, 0);
  add("subnet broadcast", "10.1.0.255", 0, 0);
  add("blackhole", "10.3.1.1", 0, 0);
  add("unreachable", "10.4.1.1", 0, 0);
  add("prohibit", "10.5.1.1", 0, 0);
  add("no route", "10.9.9.9", 0, 0);
  add("table 100 without tbid", "10.6.1.1", 0, 0);
  add("direct", "10.2.1.1", kDirect, 0);
  Cmd* c = add("direct tbid 100", "10.6.1.1", kDirect | kTbid, 0);
  c->params.tbid = 100;
  v[v.size() - 2].cmd.params.tbid = 100;
  c = add("direct tbid 200 (no table)", "10.6.1.1", kDirect | kTbid, 0);
  c->params.tbid = 200;
  v[v.size() - 2].cmd.params.tbid = 200;
  add("tbid without direct", "10.2.1.1", kTbid, 0);
  add("other device, skip neigh", "10.7.1.1", kSkipNeigh, 0);
  add("output on another device", "10.7.1.1", kOutput | kSkipNeigh, 0);
  add("output on its device", "10.2.1.1", kOutput, 0);
  add("src via gateway", "10.2.1.1", kSrc, 0);
  add("src connected", "10.1.0.9", kSrc | kSkipNeigh, 0);
  add("mark", "10.2.1.1", kMark, 0);
  add("forwarding off on input", "10.2.1.1", 0, 0, kVeth1);
  add("input lo", "10.2.1.1", 0, 0, 1);
  add("no such device", "10.2.1.1", 0, 0, 999);
  add("flag 1 << 6", "10.2.1.1", 1u << 6, 0);
  c = add("plen 63", "10.2.1.1", 0, 0);
  c->plen = 63;
  v[v.size() - 2].cmd.plen = 63;
  c = add("family 99", "10.2.1.1", 0, 0);
  c->params.family = 99;
  v[v.size() - 2].cmd.params.family = 99;
  // IPv6 (bpf_ipv6_fib_lookup).
  auto add6 = [&](const std::string& n, const char* dst, uint32_t flags,
                  uint16_t tot_len, uint32_t ifindex = kVeth0,
                  const char* src = "2001:db8:1::50") {
    Cmd c6 = {};
    c6.params.family = AF_INET6;
    c6.params.l4_protocol = IPPROTO_UDP;
    c6.params.sport = htons(1000);
    c6.params.dport = htons(53);
    c6.params.tot_len = tot_len;
    c6.params.ifindex = ifindex;
    inet_pton(AF_INET6, src, c6.params.ipv6_src);
    inet_pton(AF_INET6, dst, c6.params.ipv6_dst);
    c6.flags = flags;
    c6.plen = sizeof(c6.params);
    v.push_back({"ipv6 " + n + " (tc)", false, c6});
    v.push_back({"ipv6 " + n + " (xdp)", true, c6});
    return &v.back().cmd;
  };
  add6("via gateway", "2001:db8:2::1", 0, 0);
  add6("via gateway, tot_len 1501", "2001:db8:2::1", 0, 1501);
  add6("unlocked route mtu, tot_len 1401", "2001:db8:2:3::4", 0, 1401);
  add6("unlocked route mtu, no neighbour", "2001:db8:2:3::4", 0, 100);
  add6("unlocked route mtu, skip neigh", "2001:db8:2:3::4", kSkipNeigh, 100);
  add6("connected host", "2001:db8:1::9", 0, 0);
  add6("connected, no neighbour", "2001:db8:1::7", 0, 0);
  add6("local address", "2001:db8:1::1", 0, 0);
  add6("local address, direct", "2001:db8:1::1", kDirect, 0);
  add6("blackhole", "2001:db8:3::1", 0, 0);
  add6("unreachable", "2001:db8:4::1", 0, 0);
  add6("prohibit", "2001:db8:5::1", 0, 0);
  add6("no route", "2001:db8:9::9", 0, 0);
  add6("table 100 without tbid", "2001:db8:6::1", 0, 0);
  c = add6("direct tbid 100", "2001:db8:6::1", kDirect | kTbid, 0);
  c->params.tbid = 100;
  v[v.size() - 2].cmd.params.tbid = 100;
  c = add6("direct tbid 200 (no table)", "2001:db8:6::1", kDirect | kTbid, 0);
  c->params.tbid = 200;
  v[v.size() - 2].cmd.params.tbid = 200;
  add6("link-local destination", "fe80::1", 0, 0);
  add6("link-local source", "2001:db8:2::1", 0, 0, kVeth0, "fe80::1");
  add6("loopback destination", "::1", 0, 0);
  add6("other device, skip neigh", "2001:db8:7::1", kSkipNeigh, 0);
  add6("output on another device", "2001:db8:7::1", kOutput | kSkipNeigh, 0);
  add6("src via gateway", "2001:db8:2::1", kSrc, 0);
  add6("src, other device", "2001:db8:7::1", kSrc | kSkipNeigh, 0);
  add6("forwarding off on input", "2001:db8:2::1", 0, 0, kVeth1);
  add6("no such device", "2001:db8:2::1", 0, 0, 999);
  return v;
}

// A case's answer as one record line: name, rc, the struct in hex.
inline std::string Format(const std::string& name, const Out& o) {
  std::string s = name + "\t" + std::to_string(o.rc) + "\t";
  const auto* b = reinterpret_cast<const uint8_t*>(&o.params);
  char h[3];
  for (size_t i = 0; i < sizeof(o.params); ++i) {
    std::snprintf(h, sizeof(h), "%02x", b[i]);
    s += h;
  }
  return s;
}

}  // namespace bpfemu::examples::fib

#endif  // BPFEMU_TESTS_EXAMPLES_FIB_CASES_H_
