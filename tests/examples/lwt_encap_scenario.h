// SPDX-License-Identifier: Apache-2.0
// tests/examples/lwt_encap.bpf.c's cases, shared by lwt_encap_compare_test
// (the kernel against bpfemu's two faces) and lwt_encap_test (bpfemu
// alone): headers to push onto an IPv4 and an IPv6 packet, valid ones of
// each version (with and without a checksum to fill, IP options, a UDP
// tunnel, a header of LWT_BPF_MAX_HEADROOM bytes, an ihl below 5) and each
// refusal (type, length, version, ihl, UDP room).

#ifndef BPFEMU_TESTS_EXAMPLES_LWT_ENCAP_SCENARIO_H_
#define BPFEMU_TESTS_EXAMPLES_LWT_ENCAP_SCENARIO_H_

#include <linux/bpf.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tests/examples/packets.h"

extern "C" {
#include "tests/examples/lwt_encap_cases.h"
}

namespace bpfemu::examples::lwt_encap {

struct Case {
  std::string name;
  lwt_cmd cmd;
};

// An IPv4 header of `len` bytes: version 4, `ihl`, protocol `proto`,
// checksum `check` (host order bytes as written), the rest a pattern.
inline lwt_cmd V4(uint32_t len, uint8_t ihl, uint8_t proto, uint16_t check,
                  uint32_t type = BPF_LWT_ENCAP_IP) {
  lwt_cmd c = {};
  c.type = type;
  c.len = len;
  for (uint32_t i = 0; i < sizeof(c.hdr); ++i) {
    c.hdr[i] = static_cast<uint8_t>(i * 13 + 1);
  }
  c.hdr[0] = static_cast<uint8_t>(0x40 | (ihl & 0xf));
  c.hdr[9] = proto;
  c.hdr[10] = static_cast<uint8_t>(check >> 8);
  c.hdr[11] = static_cast<uint8_t>(check);
  return c;
}

inline lwt_cmd V6(uint32_t len, uint8_t nexthdr) {
  lwt_cmd c = {};
  c.type = BPF_LWT_ENCAP_IP;
  c.len = len;
  for (uint32_t i = 0; i < sizeof(c.hdr); ++i) {
    c.hdr[i] = static_cast<uint8_t>(i * 7 + 5);
  }
  c.hdr[0] = 0x60;
  c.hdr[6] = nexthdr;
  return c;
}

inline std::vector<Case> Cases() {
  std::vector<Case> v;
  v.push_back({"v4_ipip_csum_filled", V4(20, 5, 4, 0)});
  v.push_back({"v4_csum_kept", V4(20, 5, 4, 0x1234)});
  v.push_back({"v4_udp", V4(28, 5, 17, 0)});
  v.push_back({"v4_udp_short", V4(27, 5, 17, 0)});
  v.push_back({"v4_gre_options", V4(60, 15, 47, 0)});
  v.push_back({"v4_options_short", V4(56, 15, 47, 0)});
  v.push_back({"v4_ihl6_len20", V4(20, 6, 4, 0)});
  v.push_back({"v4_ihl4", V4(20, 4, 4, 0)});
  v.push_back({"v4_ihl0", V4(24, 0, 41, 0)});
  v.push_back({"v4_max_headroom", V4(256, 5, 4, 0)});
  v.push_back({"v4_past_max_headroom", V4(257, 5, 4, 0)});
  v.push_back({"len_19", V4(19, 5, 4, 0)});
  v.push_back({"len_1", V4(1, 5, 4, 0)});
  v.push_back({"type_seg6", V4(20, 5, 4, 0, BPF_LWT_ENCAP_SEG6)});
  v.push_back({"type_seg6_inline", V4(20, 5, 4, 0, BPF_LWT_ENCAP_SEG6_INLINE)});
  v.push_back({"type_3", V4(20, 5, 4, 0, 3)});
  v.push_back({"type_max", V4(20, 5, 4, 0, 0xffffffffu)});
  v.push_back({"v6_ipv6", V6(40, 41)});
  v.push_back({"v6_udp", V6(48, 17)});
  v.push_back({"v6_udp_short", V6(47, 17)});
  v.push_back({"v6_short", V6(39, 41)});
  v.push_back({"v6_with_ext", V6(96, 0)});
  lwt_cmd v5 = V4(20, 5, 4, 0);
  v5.hdr[0] = 0x55;
  v.push_back({"version_5", v5});
  lwt_cmd v0 = V4(40, 5, 4, 0);
  v0.hdr[0] = 0x05;
  v.push_back({"version_0", v0});
  return v;
}

// The packets the headers go onto: IPv4/UDP and IPv6/UDP frames.
inline std::vector<std::vector<uint8_t>> Packets() {
  std::vector<std::vector<uint8_t>> p;
  p.push_back(Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64));
  std::vector<uint8_t> v6 = EthFrame(ETH_P_IPV6, ETH_HLEN + 40 + 16);
  v6[ETH_HLEN] = 0x60;
  v6[ETH_HLEN + 5] = 16;  // payload length
  v6[ETH_HLEN + 6] = IPPROTO_UDP;
  v6[ETH_HLEN + 7] = 64;
  for (int i = 0; i < 32; ++i) v6[ETH_HLEN + 8 + i] = static_cast<uint8_t>(i);
  p.push_back(v6);
  return p;
}

inline std::string Hex(const std::vector<uint8_t>& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

inline constexpr const char* kProgs[] = {"encap_in", "encap_xmit"};

// A run's name: the program, the packet (0 IPv4, 1 IPv6), the case.
inline std::string Key(const char* prog, size_t packet,
                       const std::string& name) {
  return std::string(prog) + "." + std::to_string(packet) + "." + name;
}

// One run's answers as a line: the test run's error and return value, the
// program's record, the output packet. The hash is whether it is set (the
// flow dissector's hash is keyed by a per-boot random seed).
inline std::string Line(int err, uint32_t retval, const lwt_out& o,
                        const std::vector<uint8_t>& data) {
  return "err=" + std::to_string(err) + " retval=" + std::to_string(retval) +
         " ret=" + std::to_string(o.ret) +
         " protocol=" + std::to_string(o.protocol) +
         " hash=" + (o.hash != 0 ? "set" : "0") +
         " len=" + std::to_string(o.len) + " data=" + Hex(data);
}

}  // namespace bpfemu::examples::lwt_encap

#endif  // BPFEMU_TESTS_EXAMPLES_LWT_ENCAP_SCENARIO_H_
