// SPDX-License-Identifier: Apache-2.0
// File: fib.h
//
// The emulated IPv4 forwarding information base: the routes, local
// addresses, neighbours and per-device forwarding switch and MAC address
// that bpf_fib_lookup consults (net/ipv4/fib_trie.c fib_table_lookup,
// net/ipv4/devinet.c inet_select_addr, net/core/neighbour.c), one per
// process (the caller's network namespace) beside the devices of
// emu/netdev.h. Tests set it up through this API, as `ip route`, `ip addr`,
// `ip neigh` and `sysctl net.ipv4.conf.*.forwarding` set up the kernel's.
// Without custom rules the kernel's local and main tables are one trie
// (fib_trie's merged tables), which a lookup of either sees; other tables
// exist once a route is added to them. docs/semantics.md (FIB lookups).

#ifndef BPFEMU_EMU_FIB_H_
#define BPFEMU_EMU_FIB_H_

#include <array>
#include <cstdint>

namespace bpfemu {

inline constexpr uint32_t kRtTableMain = 254;   // RT_TABLE_MAIN
inline constexpr uint32_t kRtTableLocal = 255;  // RT_TABLE_LOCAL

struct FibRoute {
  // include/uapi/linux/rtnetlink.h RTN_*: what the lookup answers.
  enum class Type {
    kUnicast,
    kLocal,
    kBroadcast,
    kBlackhole,
    kUnreachable,
    kProhibit
  };
  Type type = Type::kUnicast;
  uint32_t table = kRtTableMain;
  uint32_t dst = 0;      // network order
  uint8_t plen = 0;      // prefix length, 0..32
  uint32_t gateway = 0;  // network order; 0: on link
  uint32_t ifindex = 0;  // the nexthop's device (0 for the reject types)
  uint32_t metric = 0;   // fib_priority
  uint32_t prefsrc = 0;  // network order; 0: none
  // A locked MTU metric (`mtu lock N`), which ip_mtu_from_fib_result takes
  // over the device's; 0: none.
  uint32_t locked_mtu = 0;
};

// Adds a route; -EEXIST for one of the same table, prefix and metric,
// -EINVAL for a prefix length past 32 or a unicast route without device.
int FibAddRoute(const FibRoute& route);
// `ip addr add addr/plen dev ifindex`: the address (the device's addresses
// are kept in order, the first of a subnet primary) and the routes
// fib_add_ifaddr adds: local addr/32 (local table), the subnet (main,
// scope link, prefsrc addr) and, below /31, the subnet's broadcast address.
int FibAddAddress(uint32_t ifindex, uint32_t addr, uint8_t plen);
// A neighbour entry (`ip neigh add ADDR lladdr MAC dev IFINDEX nud
// permanent`: a NUD_VALID one).
void FibAddNeigh(uint32_t ifindex, uint32_t addr,
                 const std::array<uint8_t, 6>& mac);
// A device's MAC address (dev_addr) and net.ipv4.conf.<dev>.forwarding.
void FibSetLink(uint32_t ifindex, const std::array<uint8_t, 6>& mac,
                bool forwarding);
// Forgets every route, address, neighbour and link setting.
void FibReset();

// IPv6 (net/ipv6/route.c, ip6_fib.c): the same kinds of routes with
// 16-byte addresses; `ip -6 route add` gives metric 1024 unless told.
using Ip6 = std::array<uint8_t, 16>;
struct FibRoute6 {
  FibRoute::Type type = FibRoute::Type::kUnicast;
  uint32_t table = kRtTableMain;
  Ip6 dst = {};
  uint8_t plen = 0;
  bool has_gateway = false;
  Ip6 gateway = {};
  uint32_t ifindex = 0;
  uint32_t metric = 1024;
  bool has_prefsrc = false;
  Ip6 prefsrc = {};
  // A locked MTU metric (`mtu lock N`), which ip6_mtu_from_fib6 takes over
  // the device's; 0: none.
  uint32_t locked_mtu = 0;
};
int FibAddRoute6(const FibRoute6& route);
// `ip -6 addr add addr/plen dev ifindex nodad`: the address, local addr/128
// (local table, metric 0) and the prefix route (main, metric 256).
int FibAddAddress6(uint32_t ifindex, const Ip6& addr, uint8_t plen);
void FibAddNeigh6(uint32_t ifindex, const Ip6& addr,
                  const std::array<uint8_t, 6>& mac);
// net.ipv6.conf.<dev>.forwarding (off until set).
void FibSetForwarding6(uint32_t ifindex, bool forwarding);

// The lookup bpf_ipv4_fib_lookup makes (net/core/filter.c) on `params`
// (struct bpf_fib_lookup, include/uapi/linux/bpf.h, family AF_INET) with
// `flags` already checked: a BPF_FIB_LKUP_RET_* code or -ENODEV, `params`
// updated as the kernel updates it.
int FibLookupV4(void* params, uint32_t flags, bool check_mtu);
// bpf_ipv6_fib_lookup's, for family AF_INET6.
int FibLookupV6(void* params, uint32_t flags, bool check_mtu);

// The route seg6_lookup_any_nexthop (net/ipv6/seg6_local.c) takes to
// `dst` for a packet received on lo, as the error of the dst it sets: in
// table `table`, or through the rules (local, then main) for 0. No route:
// ip6_null_entry's -ENETUNREACH; a table that does not exist, a route to
// a loopback device (local delivery, which the helper refuses) and a
// blackhole route: the blackhole entry's -EINVAL; an unreachable route
// -EHOSTUNREACH, a prohibit route -EACCES (fib6_prop); a unicast route
// out of another device 0.
int FibSeg6Route(const Ip6& dst, uint32_t table);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_FIB_H_
