// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/skb_misc.bpf.c (its `cmd` and `out`), shared
// by the kernel comparison (skb_misc_compare_test.cc) and the unprivileged
// check against the kernel's recorded answers (skb_misc_test.cc), and the
// record's format: one line per case, tab-separated: the name, the test
// run's error and return value, each step's return, the time stamp and its
// clock after the run, whether the socket cookie was stable, the bytes
// bpf_skb_load_bytes_relative read, and the packet that came back (hex).

#ifndef BPFEMU_TESTS_EXAMPLES_SKB_MISC_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SKB_MISC_CASES_H_

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/examples/packets.h"

namespace bpfemu::examples::skb_misc {

using Bytes = std::vector<uint8_t>;

enum Op : uint32_t {
  kCsumUpdate = 1,
  kCsumLevel = 2,
  kEcnSetCe = 3,
  kSetTstamp = 4,
  kLoadRelative = 5,
  kSocketCookie = 6,
  kSocketUid = 7,
  kSkbClassid = 8,
  kCgroupClassid = 9,
  kRouteRealm = 10,
  kAdjustRoom = 11,
  kNetnsCookie = 12,
  kXfrmState = 13,
  kSkAssign = 14,
  kSyncookie = 15,
  kRunSockFull = 16,
};

inline constexpr int kSteps = 6;

struct Step {
  uint32_t op = 0;
  uint32_t arg32 = 0;
  uint64_t arg64 = 0;
};

struct Cmd {
  Step steps[kSteps];
};

struct Out {
  int64_t ret[kSteps];
  uint64_t tstamp;
  uint32_t tstamp_type;
  uint32_t cookie_stable;
  uint8_t bytes[8];
  uint64_t netns_cookie;
};

// The packet a case runs on.
enum class Packet { kIpv4, kIpv6, kVlanIpv4, kArp, kTcp4, kTcp6 };

struct Case {
  std::string name;
  Packet packet = Packet::kIpv4;
  uint8_t ecn = 0;  // the IP header's ECN bits
  // kTcp4 / kTcp6: the SYN's MSS option (none for 0), or raw option bytes.
  uint16_t mss = 0;
  std::vector<uint8_t> tcp_options;
  std::vector<Step> steps;
  uint64_t ctx_tstamp = 0;  // in the test run's __sk_buff, when non-zero
  size_t xdp_len = 0;       // an XDP case: bpf_xdp_get_buff_len on this size
};

inline constexpr size_t kFrameLen = 100;

// A TCP SYN (seq 0x01020304) over IPv4 or IPv6 with `options` (padded to
// 4 bytes; doff follows).
inline Bytes TcpFrame(bool v6, std::vector<uint8_t> options) {
  while (options.size() % 4 != 0) options.push_back(0);
  const size_t l3 = v6 ? 40 : 20;
  Bytes f =
      v6 ? EthFrame(ETH_P_IPV6, kFrameLen)
         : Ipv4Frame(0x0a000001, 0x0a000002, 1000, 80, IPPROTO_TCP, kFrameLen);
  uint8_t* ip = f.data() + ETH_HLEN;
  if (v6) {
    ip[0] = 0x60;
    ip[5] = static_cast<uint8_t>(kFrameLen - ETH_HLEN - 40);
    ip[6] = IPPROTO_TCP;
    ip[7] = 64;
    ip[23] = 1;
    ip[39] = 2;
  }
  uint8_t* th = ip + l3;
  const uint8_t tcp[20] = {0x03,
                           0xe8,
                           0x00,
                           0x50,
                           0x01,
                           0x02,
                           0x03,
                           0x04,
                           0,
                           0,
                           0,
                           0,
                           static_cast<uint8_t>((5 + options.size() / 4) << 4),
                           0x02,
                           0xff,
                           0xff,
                           0,
                           0,
                           0,
                           0};
  std::memcpy(th, tcp, sizeof(tcp));
  std::memcpy(th + 20, options.data(), options.size());
  return f;
}

inline Bytes PlainFrame(Packet p, uint8_t ecn) {
  Bytes f = Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, kFrameLen);
  f[ETH_HLEN + 1] = ecn & 3;
  if (p == Packet::kIpv6) {
    f = EthFrame(ETH_P_IPV6, kFrameLen);
    uint8_t* ip6 = f.data() + ETH_HLEN;
    ip6[0] = 0x60 | 0x0a;  // version 6, DSCP bits in the traffic class
    ip6[1] = static_cast<uint8_t>((ecn & 3) << 4);
    const uint16_t plen = htons(kFrameLen - ETH_HLEN - 40);
    ip6[4] = static_cast<uint8_t>(plen & 0xff);
    ip6[5] = static_cast<uint8_t>(plen >> 8);
    ip6[6] = IPPROTO_UDP;
    ip6[7] = 64;
    ip6[23] = 1;  // ::1 -> ::2
    ip6[39] = 2;
  } else if (p == Packet::kVlanIpv4) {
    const uint8_t tag[4] = {0x00, 0x05, 0x08, 0x00};  // TCI 5, inner IPv4
    f[12] = 0x81;
    f[13] = 0x00;
    f.insert(f.begin() + ETH_HLEN, tag, tag + 4);
  } else if (p == Packet::kArp) {
    f[12] = 0x08;
    f[13] = 0x06;
  }
  return f;
}

// The frame of a case: UDP over IPv4 or IPv6 (the ECN bits set), the IPv4
// packet behind an 802.1Q tag, an ARP EtherType, or a TCP SYN.
inline Bytes Frame(const Case& k) {
  if (k.packet == Packet::kTcp4 || k.packet == Packet::kTcp6) {
    std::vector<uint8_t> o = k.tcp_options;
    if (k.mss != 0) {
      const uint8_t mss[4] = {2, 4, static_cast<uint8_t>(k.mss >> 8),
                              static_cast<uint8_t>(k.mss)};
      o.insert(o.begin(), mss, mss + 4);
    }
    return TcpFrame(k.packet == Packet::kTcp6, o);
  }
  return PlainFrame(k.packet, k.ecn);
}

inline std::vector<Case> Cases() {
  std::vector<Case> c;
  auto add = [&](std::string name, std::vector<Step> steps,
                 Packet p = Packet::kIpv4, uint8_t ecn = 0) -> Case& {
    Case k;
    k.name = std::move(name);
    k.packet = p;
    k.ecn = ecn;
    k.steps = std::move(steps);
    c.push_back(k);
    return c.back();
  };
  auto level = [](uint64_t l) { return Step{kCsumLevel, 0, l}; };
  const uint64_t kInc = BPF_CSUM_LEVEL_INC, kDec = BPF_CSUM_LEVEL_DEC,
                 kReset = BPF_CSUM_LEVEL_RESET, kQuery = BPF_CSUM_LEVEL_QUERY;
  // The checksum state: CHECKSUM_NONE at first.
  add("csum_update none", {{kCsumUpdate, 0x1234, 0}});
  add("csum_update after level inc", {level(kInc), {kCsumUpdate, 1, 0}});
  add("level query", {level(kQuery)});
  add("level inc query", {level(kInc), level(kQuery)});
  add("level inc x2 query", {level(kInc), level(kInc), level(kQuery)});
  add("level inc x5 query", {level(kInc), level(kInc), level(kInc), level(kInc),
                             level(kInc), level(kQuery)});
  add("level inc dec query", {level(kInc), level(kDec), level(kQuery)});
  add("level inc x2 dec query",
      {level(kInc), level(kInc), level(kDec), level(kQuery)});
  add("level dec none", {level(kDec), level(kQuery)});
  add("level inc reset query", {level(kInc), level(kReset), level(kQuery)});
  add("level reset none", {level(kReset), level(kQuery)});
  add("level 4", {level(4)});
  add("level huge", {level(uint64_t{1} << 40)});
  add("adjust_room resets the level",
      {level(kInc), {kAdjustRoom, 8, 0}, level(kQuery)});
  add("adjust_room no csum reset keeps it",
      {level(kInc),
       level(kInc),
       {kAdjustRoom, 8, BPF_F_ADJ_ROOM_NO_CSUM_RESET},
       level(kQuery)});
  add("adjust_room shrink resets", {level(kInc),
                                    {kAdjustRoom, static_cast<uint32_t>(-4), 0},
                                    level(kQuery)});
  add("failed adjust_room keeps it",
      {level(kInc), {kAdjustRoom, 8, uint64_t{1} << 20}, level(kQuery)});
  // ECN: Not-ECT, ECT(1), ECT(0), CE on IPv4, IPv6, behind a VLAN tag; ARP.
  for (uint8_t ecn = 0; ecn < 4; ++ecn) {
    const std::string e = std::to_string(ecn);
    add("ecn v4 " + e, {{kEcnSetCe, 0, 0}}, Packet::kIpv4, ecn);
    add("ecn v6 " + e, {{kEcnSetCe, 0, 0}}, Packet::kIpv6, ecn);
    add("ecn vlan " + e, {{kEcnSetCe, 0, 0}}, Packet::kVlanIpv4, ecn);
  }
  add("ecn arp", {{kEcnSetCe, 0, 0}}, Packet::kArp, 2);
  add("ecn twice", {{kEcnSetCe, 0, 0}, {kEcnSetCe, 0, 0}}, Packet::kIpv4, 2);
  // Time stamps: the clock ids, zero and non-zero times, a bad id, ARP.
  for (uint32_t type : {0u, 1u, 2u, 3u, 100u}) {
    const std::string t = std::to_string(type);
    add("tstamp type " + t + " zero", {{kSetTstamp, type, 0}});
    add("tstamp type " + t + " set", {{kSetTstamp, type, 123456789}});
  }
  add("tstamp arp", {{kSetTstamp, 1, 5}}, Packet::kArp);
  add("tstamp v6 then zero", {{kSetTstamp, 1, 77}, {kSetTstamp, 0, 0}},
      Packet::kIpv6);
  add("tstamp from ctx kept", {{kSetTstamp, 2, 0}}).ctx_tstamp = 999;
  add("tstamp from ctx replaced", {{kSetTstamp, 1, 4242}}).ctx_tstamp = 999;
  // bpf_skb_load_bytes_relative from the mac and network headers.
  for (uint32_t start : {0u, 1u, 2u}) {
    for (uint32_t off : {0u, 4u, 78u, 79u, 92u, 93u, 0x10000u}) {
      add("load_relative start " + std::to_string(start) + " off " +
              std::to_string(off),
          {{kLoadRelative, off, start}});
    }
  }
  add("load_relative after adjust_room",
      {{kAdjustRoom, 8, 0}, {kLoadRelative, 20, BPF_HDR_START_NET}});
  // The run's socket and the task.
  add("socket cookie", {{kSocketCookie, 0, 0}});
  add("socket uid", {{kSocketUid, 0, 0}});
  add("skb cgroup classid", {{kSkbClassid, 0, 0}});
  add("cgroup classid", {{kCgroupClassid, 0, 0}});
  add("route realm", {{kRouteRealm, 0, 0}});
  add("netns cookie", {{kNetnsCookie, 0, 0}});
  add("netns cookie null ctx", {{kNetnsCookie, 1, 0}});
  // No security path, and a test run's skb is not at tc ingress.
  add("xfrm state 0", {{kXfrmState, 0, 0}});
  add("xfrm state flags", {{kXfrmState, 1, 1}});
  add("sk_assign run socket", {{kSkAssign, 0, 0}});
  add("sk_assign flags", {{kSkAssign, 0, 1}});
  // The run's socket through bpf_sk_fullsock: family, state, protocol,
  // addresses, type and ports, queue mapping, device.
  for (bool v6 : {false, true}) {
    add(v6 ? "run socket v6" : "run socket v4",
        {{kRunSockFull, 0, 0},
         {kRunSockFull, v6 ? 5u : 1u, 0},
         {kRunSockFull, v6 ? 6u : 2u, 0},
         {kRunSockFull, 3, 0},
         {kRunSockFull, 4, 0},
         {kRunSockFull, 7, 0}},
        v6 ? Packet::kIpv6 : Packet::kIpv4);
  }
  add("socket helpers on ipv6",
      {{kSocketCookie, 0, 0}, {kSocketUid, 0, 0}, {kSkbClassid, 0, 0}},
      Packet::kIpv6);
  // SYN cookies: the MSS rounded down to each family's table (none: the
  // default, 536 / 1220), header length errors, a round trip, a stray ACK.
  for (bool v6 : {false, true}) {
    const Packet p = v6 ? Packet::kTcp6 : Packet::kTcp4;
    const uint64_t fam = v6 ? 1 : 0;
    const std::string f = v6 ? "syncookie v6 " : "syncookie v4 ";
    add(f + "no options", {{kSyncookie, 0, fam}}, p);
    add(f + "no options len 24", {{kSyncookie, 1, fam}}, p);
    add(f + "len 16", {{kSyncookie, 2, fam}}, p);
    for (uint16_t mss :
         {1u, 535u, 536u, 1299u, 1300u, 1440u, 1460u, 1500u, 9000u, 65535u}) {
      add(f + "mss " + std::to_string(mss), {{kSyncookie, 1, fam}}, p).mss =
          mss;
      add(f + "mss " + std::to_string(mss) + " len 20", {{kSyncookie, 0, fam}},
          p)
          .mss = mss;
    }
    add(f + "8 option bytes len 24", {{kSyncookie, 1, fam}}, p).tcp_options = {
        1, 1, 2, 4, 0x05, 0xb4, 0, 0};
    add(f + "eol first", {{kSyncookie, 1, fam}}, p).tcp_options = {0, 2, 4,
                                                                   0x05};
    add(f + "mss zero", {{kSyncookie, 1, fam}}, p).tcp_options = {2, 4, 0, 0};
    add(f + "silly option", {{kSyncookie, 1, fam}}, p).tcp_options = {5, 1, 2,
                                                                      4};
    add(f + "round trip", {{kSyncookie, 3, fam}}, p).mss = 1460;
    add(f + "round trip no options", {{kSyncookie, 3, fam}}, p);
    add(f + "stray ack", {{kSyncookie, 4, fam}}, p);
  }
  // bpf_xdp_get_buff_len, linear and with fragments.
  for (size_t len : {size_t{60}, size_t{1500}, size_t{3520}, size_t{3521},
                     size_t{9000}, size_t{20000}}) {
    add("xdp buff len " + std::to_string(len), {}).xdp_len = len;
  }
  return c;
}

// The cookie of this process's network namespace, or 0.
inline uint64_t NetnsCookieNow() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  if (getsockopt(fd, SOL_SOCKET, 71 /* SO_NETNS_COOKIE */, &cookie, &len)) {
    cookie = 0;
  }
  close(fd);
  return cookie;
}

inline Cmd CmdOf(const Case& k) {
  Cmd cmd = {};
  for (size_t i = 0; i < k.steps.size() && i < kSteps; ++i) {
    cmd.steps[i] = k.steps[i];
  }
  return cmd;
}

inline std::string Hex(const uint8_t* p, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof(b), "%02x", p[i]);
    s += b;
  }
  return s;
}

// `netns_now`: the cookie of the caller's network namespace
// (SO_NETNS_COOKIE), which bpf_get_netns_cookie's answer is printed
// against ("cur" when equal), since cookies differ between namespaces.
inline std::string Format(const std::string& name, int err, uint32_t retval,
                          const Out& out, const Bytes& data_out,
                          uint64_t netns_now) {
  std::string s =
      name + "\t" + std::to_string(err) + "\t" + std::to_string(retval);
  for (int i = 0; i < kSteps; ++i) s += "\t" + std::to_string(out.ret[i]);
  s += "\t" + std::to_string(out.tstamp) + "\t" +
       std::to_string(out.tstamp_type) + "\t" +
       std::to_string(out.cookie_stable) + "\t" + Hex(out.bytes, 8) + "\t" +
       Hex(data_out.data(), data_out.size());
  if (out.netns_cookie != 0) {
    s += out.netns_cookie == netns_now ? "\tnetns cur" : "\tnetns other";
  }
  return s;
}

}  // namespace bpfemu::examples::skb_misc

#endif  // BPFEMU_TESTS_EXAMPLES_SKB_MISC_CASES_H_
