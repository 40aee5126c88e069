// SPDX-License-Identifier: Apache-2.0
// The emulated IPv4 FIB (emu/fib.h): net/ipv4/fib_trie.c's lookup order
// (the longest matching prefix first, then the lowest metric; a reject
// route answers its error at once; an output device skips routes whose
// nexthop is another device), net/ipv4/fib_frontend.c fib_add_ifaddr's
// routes for an address, net/core/filter.c bpf_ipv4_fib_lookup's answer.

#include "emu/fib.h"

#include <arpa/inet.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "emu/netdev.h"

namespace bpfemu {
namespace {

constexpr uint32_t kIpMaxMtu = 0xffff;  // IP_MAX_MTU

struct Link {
  std::array<uint8_t, 6> mac = {};
  bool forwarding = false;
  bool forwarding6 = false;
  std::vector<std::pair<uint32_t, uint8_t>> addrs;  // network order, plen
  std::vector<Ip6> addrs6;
};

// A neighbour of either family (A: uint32_t or Ip6).
template <typename A>
struct NeighOf {
  uint32_t ifindex;
  A addr;
  std::array<uint8_t, 6> mac;
};
using Neigh = NeighOf<uint32_t>;
using Neigh6 = NeighOf<Ip6>;

struct Fib {
  std::mutex mu;
  std::vector<FibRoute> routes;
  std::set<uint32_t> tables = {kRtTableMain, kRtTableLocal};
  std::map<uint32_t, Link> links;
  std::vector<Neigh> neighs;
  std::vector<FibRoute6> routes6;
  std::set<uint32_t> tables6 = {kRtTableMain, kRtTableLocal};
  std::vector<Neigh6> neighs6;
};

Fib& TheFib() {
  static Fib* fib = new Fib();
  return *fib;
}

// Adds or replaces the neighbour (ifindex, addr).
template <typename A>
void PutNeigh(std::vector<NeighOf<A>>& neighs, uint32_t ifindex, const A& addr,
              const std::array<uint8_t, 6>& mac) {
  for (NeighOf<A>& n : neighs) {
    if (n.ifindex == ifindex && n.addr == addr) {
      n.mac = mac;
      return;
    }
  }
  neighs.push_back({ifindex, addr, mac});
}

// Adds route `n` (its prefix already masked) unless one of the same table,
// prefix and metric exists (-EEXIST); the table then exists.
template <typename R>
int AddRouteTo(std::vector<R>& routes, std::set<uint32_t>& tables, const R& n) {
  if (n.type == FibRoute::Type::kUnicast && n.ifindex == 0) return -EINVAL;
  for (const R& o : routes) {
    if (o.table == n.table && o.dst == n.dst && o.plen == n.plen &&
        o.metric == n.metric) {
      return -EEXIST;
    }
  }
  routes.push_back(n);
  tables.insert(n.table);
  return 0;
}

// The end of both lookups once the route is known (`dst` the next hop):
// the neighbour's and the device's MACs unless SKIP_NEIGH, then
// bpf_fib_set_fwd_params.
template <typename A>
int Forward(Fib& fib, const std::vector<NeighOf<A>>& neighs,
            struct bpf_fib_lookup* params, uint32_t ifindex, const A& dst,
            uint32_t flags, uint32_t mtu) {
  if (!(flags & BPF_FIB_LOOKUP_SKIP_NEIGH)) {
    const NeighOf<A>* n = nullptr;
    for (const NeighOf<A>& x : neighs) {
      if (x.ifindex == ifindex && x.addr == dst) n = &x;
    }
    if (n == nullptr) return BPF_FIB_LKUP_RET_NO_NEIGH;
    std::copy(n->mac.begin(), n->mac.end(), params->dmac);
    const Link& out = fib.links[ifindex];
    std::copy(out.mac.begin(), out.mac.end(), params->smac);
  }
  params->h_vlan_TCI = 0;
  params->h_vlan_proto = 0;
  if (mtu != 0) params->mtu_result = static_cast<uint16_t>(mtu);
  return BPF_FIB_LKUP_RET_SUCCESS;
}

// The reject routes' answers (fib_props[type].error, fib6_type), or 0.
int Rejected(FibRoute::Type t) {
  switch (t) {
    case FibRoute::Type::kBlackhole:
      return BPF_FIB_LKUP_RET_BLACKHOLE;
    case FibRoute::Type::kUnreachable:
      return BPF_FIB_LKUP_RET_UNREACHABLE;
    case FibRoute::Type::kProhibit:
      return BPF_FIB_LKUP_RET_PROHIBIT;
    default:
      return 0;
  }
}

uint32_t Mask(uint8_t plen) {
  return plen == 0 ? 0 : htonl(~uint32_t{0} << (32 - plen));
}

bool Covers(const FibRoute& r, uint32_t addr) {
  return (addr & Mask(r.plen)) == r.dst;
}

// Whether tables a and b are one trie (the merged local and main tables).
bool SameTrie(uint32_t a, uint32_t b) {
  auto merged = [](uint32_t t) {
    return t == kRtTableMain || t == kRtTableLocal;
  };
  return a == b || (merged(a) && merged(b));
}

int AddRouteLocked(Fib& fib, const FibRoute& r) {
  if (r.plen > 32) return -EINVAL;
  FibRoute n = r;
  n.dst &= Mask(r.plen);
  return AddRouteTo(fib.routes, fib.tables, n);
}

// inet_select_addr(dev, gw, scope) for a device with addresses: the first
// in the gateway's subnet, else the first; 0 without addresses.
uint32_t SelectAddr(const Fib& fib, uint32_t ifindex, uint32_t gw) {
  const auto it = fib.links.find(ifindex);
  if (it == fib.links.end()) return 0;
  uint32_t first = 0;
  for (const auto& [addr, plen] : it->second.addrs) {
    if (gw == 0 || (gw & Mask(plen)) == (addr & Mask(plen))) return addr;
    if (first == 0) first = addr;
  }
  return first;
}

bool Covers6(const Ip6& prefix, uint8_t plen, const Ip6& a) {
  for (int i = 0; i < 16; ++i) {
    const int bits = std::min(8, std::max(0, plen - i * 8));
    const uint8_t m = static_cast<uint8_t>(0xff00 >> bits);
    if ((a[i] & m) != (prefix[i] & m)) return false;
  }
  return true;
}

Ip6 Masked6(const Ip6& a, uint8_t plen) {
  Ip6 r = {};
  for (int i = 0; i < 16; ++i) {
    const int bits = std::min(8, std::max(0, plen - i * 8));
    r[i] = a[i] & static_cast<uint8_t>(0xff00 >> bits);
  }
  return r;
}

int AddRoute6Locked(Fib& fib, const FibRoute6& r) {
  if (r.plen > 128) return -EINVAL;
  FibRoute6 n = r;
  n.dst = Masked6(r.dst, r.plen);
  return AddRouteTo(fib.routes6, fib.tables6, n);
}

// rt6_need_strict: multicast, link-local and loopback addresses are never
// forwarded.
bool NeedStrict(const Ip6& a) {
  static constexpr Ip6 kLoopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 1};
  return a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
         a == kLoopback;
}

// The longest prefix of `table` covering `dst`, then the lowest metric.
const FibRoute6* Lookup6(const Fib& fib, uint32_t table, const Ip6& dst) {
  const FibRoute6* best = nullptr;
  for (const FibRoute6& r : fib.routes6) {
    if (r.table != table || !Covers6(r.dst, r.plen, dst)) continue;
    if (best == nullptr || r.plen > best->plen ||
        (r.plen == best->plen && r.metric < best->metric)) {
      best = &r;
    }
  }
  return best;
}

}  // namespace

int FibAddRoute(const FibRoute& route) {
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  return AddRouteLocked(fib, route);
}

int FibAddAddress(uint32_t ifindex, uint32_t addr, uint8_t plen) {
  if (plen > 32) return -EINVAL;
  if (!NetdevExists(ifindex)) return -ENODEV;
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  fib.links[ifindex].addrs.emplace_back(addr, plen);
  FibRoute local;
  local.type = FibRoute::Type::kLocal;
  local.table = kRtTableLocal;
  local.dst = addr;
  local.plen = 32;
  local.ifindex = ifindex;
  local.prefsrc = addr;
  AddRouteLocked(fib, local);
  const uint32_t prefix = addr & Mask(plen);
  if (prefix != 0 && (prefix != addr || plen < 32)) {
    FibRoute subnet;
    subnet.type = ifindex == kLoopbackIfindex ? FibRoute::Type::kLocal
                                              : FibRoute::Type::kUnicast;
    subnet.table = ifindex == kLoopbackIfindex ? kRtTableLocal : kRtTableMain;
    subnet.dst = prefix;
    subnet.plen = plen;
    subnet.ifindex = ifindex;
    subnet.prefsrc = addr;
    AddRouteLocked(fib, subnet);
    if (plen < 31) {
      FibRoute bcast = local;
      bcast.type = FibRoute::Type::kBroadcast;
      bcast.dst = prefix | ~Mask(plen);
      AddRouteLocked(fib, bcast);
    }
  }
  return 0;
}

void FibAddNeigh(uint32_t ifindex, uint32_t addr,
                 const std::array<uint8_t, 6>& mac) {
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  PutNeigh(fib.neighs, ifindex, addr, mac);
}

void FibSetLink(uint32_t ifindex, const std::array<uint8_t, 6>& mac,
                bool forwarding) {
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  Link& l = fib.links[ifindex];
  l.mac = mac;
  l.forwarding = forwarding;
}

void FibReset() {
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  fib.routes.clear();
  fib.tables = {kRtTableMain, kRtTableLocal};
  fib.links.clear();
  fib.neighs.clear();
  fib.routes6.clear();
  fib.tables6 = {kRtTableMain, kRtTableLocal};
  fib.neighs6.clear();
}

int FibLookupV4(void* p, uint32_t flags, bool check_mtu) {
  auto* params = static_cast<struct bpf_fib_lookup*>(p);
  if (!NetdevExists(params->ifindex)) return -ENODEV;
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  // IN_DEV_FORWARD of the input device.
  const auto in = fib.links.find(params->ifindex);
  if (in == fib.links.end() || !in->second.forwarding) {
    return BPF_FIB_LKUP_RET_FWD_DISABLED;
  }
  const uint32_t oif = (flags & BPF_FIB_LOOKUP_OUTPUT) ? params->ifindex : 0;
  uint32_t table = kRtTableMain;
  if ((flags & BPF_FIB_LOOKUP_DIRECT) && (flags & BPF_FIB_LOOKUP_TBID)) {
    table = params->tbid;
    params->tbid = 0;  // zeroed for the VLAN fields it shares
    if (fib.tables.count(table) == 0) return BPF_FIB_LKUP_RET_NOT_FWDED;
  }
  // fib_table_lookup: longest prefix, then lowest metric.
  std::vector<const FibRoute*> match;
  for (const FibRoute& r : fib.routes) {
    if (SameTrie(r.table, table) && Covers(r, params->ipv4_dst)) {
      match.push_back(&r);
    }
  }
  std::stable_sort(match.begin(), match.end(),
                   [](const FibRoute* a, const FibRoute* b) {
                     if (a->plen != b->plen) return a->plen > b->plen;
                     return a->metric < b->metric;
                   });
  const FibRoute* res = nullptr;
  for (const FibRoute* r : match) {
    // fib_props[type].error: the reject types answer at once.
    if (const int rc = Rejected(r->type); rc != 0) return rc;
    if (oif != 0 && r->ifindex != oif) continue;  // fib_lookup_good_nhc
    res = r;
    break;
  }
  if (res == nullptr || res->type != FibRoute::Type::kUnicast) {
    return BPF_FIB_LKUP_RET_NOT_FWDED;
  }
  const std::optional<Netdev> dev = NetdevByIndex(res->ifindex);
  if (!dev) return BPF_FIB_LKUP_RET_NOT_FWDED;
  uint32_t mtu = 0;
  if (check_mtu) {
    // ip_mtu_from_fib_result: a locked route MTU, else the device's.
    mtu =
        res->locked_mtu != 0 ? res->locked_mtu : std::min(dev->mtu, kIpMaxMtu);
    if (params->tot_len > mtu) {
      params->mtu_result = static_cast<uint16_t>(mtu);
      return BPF_FIB_LKUP_RET_FRAG_NEEDED;
    }
  }
  params->rt_metric = res->metric;
  params->ifindex = res->ifindex;
  if (flags & BPF_FIB_LOOKUP_SRC) {
    params->ipv4_src = res->prefsrc != 0
                           ? res->prefsrc
                           : SelectAddr(fib, res->ifindex, res->gateway);
  }
  if (res->gateway != 0) params->ipv4_dst = res->gateway;
  return Forward(fib, fib.neighs, params, res->ifindex,
                 static_cast<uint32_t>(params->ipv4_dst), flags, mtu);
}

int FibAddRoute6(const FibRoute6& route) {
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  return AddRoute6Locked(fib, route);
}

int FibAddAddress6(uint32_t ifindex, const Ip6& addr, uint8_t plen) {
  if (plen > 128) return -EINVAL;
  if (!NetdevExists(ifindex)) return -ENODEV;
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  fib.links[ifindex].addrs6.push_back(addr);
  FibRoute6 local;
  local.type = FibRoute::Type::kLocal;
  local.table = kRtTableLocal;
  local.dst = addr;
  local.plen = 128;
  local.ifindex = ifindex;
  local.metric = 0;
  AddRoute6Locked(fib, local);
  if (plen < 128) {
    FibRoute6 prefix;
    prefix.dst = addr;
    prefix.plen = plen;
    prefix.ifindex = ifindex;
    prefix.metric = 256;  // IP6_RT_PRIO_ADDRCONF
    AddRoute6Locked(fib, prefix);
  }
  return 0;
}

void FibAddNeigh6(uint32_t ifindex, const Ip6& addr,
                  const std::array<uint8_t, 6>& mac) {
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  PutNeigh(fib.neighs6, ifindex, addr, mac);
}

void FibSetForwarding6(uint32_t ifindex, bool forwarding) {
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  fib.links[ifindex].forwarding6 = forwarding;
}

int FibLookupV6(void* p, uint32_t flags, bool check_mtu) {
  auto* params = static_cast<struct bpf_fib_lookup*>(p);
  Ip6 src, dst;
  std::memcpy(src.data(), params->ipv6_src, 16);
  std::memcpy(dst.data(), params->ipv6_dst, 16);
  if (NeedStrict(dst) || NeedStrict(src)) return BPF_FIB_LKUP_RET_NOT_FWDED;
  if (!NetdevExists(params->ifindex)) return -ENODEV;
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  const auto in = fib.links.find(params->ifindex);
  if (in == fib.links.end() || !in->second.forwarding6) {
    return BPF_FIB_LKUP_RET_FWD_DISABLED;
  }
  const FibRoute6* res = nullptr;
  if (flags & BPF_FIB_LOOKUP_DIRECT) {
    uint32_t table = kRtTableMain;
    if (flags & BPF_FIB_LOOKUP_TBID) {
      table = params->tbid;
      params->tbid = 0;
    }
    if (fib.tables6.count(table) == 0) return BPF_FIB_LKUP_RET_NOT_FWDED;
    res = Lookup6(fib, table, dst);
  } else {
    // fib6_rule_lookup without custom rules: local, then main.
    res = Lookup6(fib, kRtTableLocal, dst);
    if (res == nullptr) res = Lookup6(fib, kRtTableMain, dst);
  }
  if (res == nullptr) return BPF_FIB_LKUP_RET_NOT_FWDED;  // fib6_null_entry
  if (const int rc = Rejected(res->type); rc != 0) return rc;
  if (res->type != FibRoute::Type::kUnicast) {
    return BPF_FIB_LKUP_RET_NOT_FWDED;
  }
  const std::optional<Netdev> dev = NetdevByIndex(res->ifindex);
  if (!dev) return BPF_FIB_LKUP_RET_NOT_FWDED;
  uint32_t mtu = 0;
  if (check_mtu) {
    // ip6_mtu_from_fib6: a locked route MTU, else the device's.
    mtu = res->locked_mtu != 0 ? res->locked_mtu : dev->mtu;
    if (params->tot_len > mtu) {
      params->mtu_result = static_cast<uint16_t>(mtu);
      return BPF_FIB_LKUP_RET_FRAG_NEEDED;
    }
  }
  if (res->has_gateway) {
    dst = res->gateway;
    std::memcpy(params->ipv6_dst, dst.data(), 16);
  }
  params->rt_metric = res->metric;
  params->ifindex = res->ifindex;
  if (flags & BPF_FIB_LOOKUP_SRC) {
    // ipv6_dev_get_saddr for a global destination: the egress device's
    // global address, else another device's.
    const Ip6* pick = nullptr;
    if (res->has_prefsrc) pick = &res->prefsrc;
    const auto out = fib.links.find(res->ifindex);
    if (pick == nullptr && out != fib.links.end() &&
        !out->second.addrs6.empty()) {
      pick = &out->second.addrs6.front();
    }
    for (const auto& [ifindex, l] : fib.links) {
      if (pick == nullptr && !l.addrs6.empty()) pick = &l.addrs6.front();
    }
    if (pick == nullptr) return BPF_FIB_LKUP_RET_NO_SRC_ADDR;
    std::memcpy(params->ipv6_src, pick->data(), 16);
  }
  return Forward(fib, fib.neighs6, params, res->ifindex, dst, flags, mtu);
}

int FibSeg6Route(const Ip6& dst, uint32_t table) {
  Fib& fib = TheFib();
  std::lock_guard<std::mutex> lock(fib.mu);
  const FibRoute6* res = nullptr;
  if (table == 0) {
    res = Lookup6(fib, kRtTableLocal, dst);
    if (res == nullptr) res = Lookup6(fib, kRtTableMain, dst);
  } else {
    if (fib.tables6.count(table) == 0) return -EINVAL;  // fib6_get_table
    res = Lookup6(fib, table, dst);
  }
  if (res == nullptr) return -ENETUNREACH;
  switch (res->type) {
    case FibRoute::Type::kUnreachable:
      return -EHOSTUNREACH;
    case FibRoute::Type::kProhibit:
      return -EACCES;
    case FibRoute::Type::kBlackhole:
    case FibRoute::Type::kLocal:
    case FibRoute::Type::kBroadcast:
      return -EINVAL;
    case FibRoute::Type::kUnicast:
      break;
  }
  return res->ifindex == kLoopbackIfindex ? -EINVAL : 0;
}

}  // namespace bpfemu
