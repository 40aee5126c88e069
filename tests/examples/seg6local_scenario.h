// SPDX-License-Identifier: Apache-2.0
// The packets and steps seg6local.bpf.c is run with: IPv6 packets with and
// without a segment routing header (and an IPv4 one), segment routing
// headers valid and not, and the calls each case makes
// (seg6local_cases.h). Shared by seg6local_compare_test.cc (test runs on
// the kernel and on bpfemu) and seg6local_test.cc (bpfemu's End.BPF
// model).

#ifndef BPFEMU_TESTS_EXAMPLES_SEG6LOCAL_SCENARIO_H_
#define BPFEMU_TESTS_EXAMPLES_SEG6LOCAL_SCENARIO_H_

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "tests/examples/packets.h"
#include "tests/examples/seg6local_cases.h"

namespace bpfemu::examples::seg6local {

using Addr = std::array<uint8_t, 16>;

// fc00::N, 2001:db8::N and ::1.
inline Addr Fc00(uint8_t n) {
  return Addr{0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n};
}
inline Addr Doc(uint8_t n) {
  return Addr{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n};
}
inline Addr Loopback() {
  return Addr{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
}

constexpr uint8_t kRouting = 43, kUdp = 17, kIpv6InIpv6 = 41;
// include/uapi/linux/seg6_local.h's actions.
constexpr uint32_t kEnd = 1, kEndX = 2, kEndT = 3, kEndDt6 = 8, kEndB6 = 10,
                   kEndB6Encap = 11;

// A segment routing header (struct ipv6_sr_hdr): its segments (segments[0]
// the last), TLV bytes after them; hdrlen from the length unless given.
struct Srh {
  uint8_t nexthdr = kUdp;
  uint8_t type = 4;
  uint8_t segments_left = 0;
  int first_segment = -1;  // -1: the last segment's index
  uint8_t flags = 0;
  uint16_t tag = 0;
  std::vector<Addr> segments;
  std::vector<uint8_t> tlvs;
  int hdrlen = -1;  // -1: (length - 8) / 8
};

inline std::vector<uint8_t> SrhBytes(const Srh& s) {
  std::vector<uint8_t> b(8 + 16 * s.segments.size() + s.tlvs.size(), 0);
  b[0] = s.nexthdr;
  b[1] = static_cast<uint8_t>(s.hdrlen >= 0 ? s.hdrlen : (b.size() - 8) / 8);
  b[2] = s.type;
  b[3] = s.segments_left;
  b[4] = static_cast<uint8_t>(s.first_segment >= 0 ? s.first_segment
                                                   : s.segments.size() - 1);
  b[5] = s.flags;
  b[6] = static_cast<uint8_t>(s.tag >> 8);
  b[7] = static_cast<uint8_t>(s.tag);
  for (size_t i = 0; i < s.segments.size(); ++i) {
    std::memcpy(b.data() + 8 + 16 * i, s.segments[i].data(), 16);
  }
  std::memcpy(b.data() + 8 + 16 * s.segments.size(), s.tlvs.data(),
              s.tlvs.size());
  return b;
}

// An Ethernet + IPv6 frame from 2001:db8::1 to `daddr` whose payload is
// `ext` (extension headers, nexthdr `first` names the first) and then 16
// bytes of UDP.
inline std::vector<uint8_t> Ipv6Frame(const Addr& daddr, uint8_t first,
                                      const std::vector<uint8_t>& ext) {
  const size_t payload = ext.size() + 16;
  std::vector<uint8_t> f = EthFrame(ETH_P_IPV6, ETH_HLEN + 40 + payload);
  uint8_t* ip = f.data() + ETH_HLEN;
  ip[0] = 0x60;
  ip[1] = 0x01;  // a flow label, which an encapsulation inherits
  ip[2] = 0x23;
  ip[3] = 0x45;
  ip[4] = static_cast<uint8_t>(payload >> 8);
  ip[5] = static_cast<uint8_t>(payload);
  ip[6] = first;
  ip[7] = 64;
  const Addr src = Doc(1);
  std::memcpy(ip + 8, src.data(), 16);
  std::memcpy(ip + 24, daddr.data(), 16);
  std::memcpy(ip + 40, ext.data(), ext.size());
  uint8_t* udp = ip + 40 + ext.size();
  udp[0] = 0x30;
  udp[1] = 0x39;  // 12345
  udp[2] = 0x00;
  udp[3] = 0x35;  // 53
  udp[5] = 16;
  for (int i = 8; i < 16; ++i) udp[i] = static_cast<uint8_t>(0xa0 + i);
  return f;
}

// The header of the packets with one: two segments (fc00::2 last, fc00::1
// first), one left, and an 8-byte PadN TLV.
inline Srh TwoSegments() {
  Srh s;
  s.segments = {Fc00(2), Fc00(1)};
  s.segments_left = 1;
  s.tlvs = {4, 6, 0, 0, 0, 0, 0, 0};
  return s;
}

struct Packet {
  const char* name;
  std::vector<uint8_t> frame;
};

inline std::vector<Packet> Packets() {
  return {
      {"v6", Ipv6Frame(Fc00(1), kUdp, {})},
      {"v6srh", Ipv6Frame(Fc00(1), kRouting, SrhBytes(TwoSegments()))},
      {"v4", Ipv4Frame(0x0a000001, 0x0a000002, 12345, 53, IPPROTO_UDP, 64)},
  };
}

inline seg6_step Step(uint32_t op, uint32_t arg,
                      const std::vector<uint8_t>& data, int32_t len = 0) {
  seg6_step s = {};
  s.op = op;
  s.arg = arg;
  s.len = len;
  s.data_len = static_cast<uint32_t>(data.size());
  std::memcpy(s.data, data.data(),
              data.size() < SEG6_DATA_MAX ? data.size() : SEG6_DATA_MAX);
  return s;
}
inline seg6_step Action(uint32_t action, const std::vector<uint8_t>& param) {
  return Step(SEG6_OP_ACTION, action, param);
}
inline seg6_step Store(uint32_t offset, const std::vector<uint8_t>& data) {
  return Step(SEG6_OP_STORE, offset, data);
}
inline seg6_step Adjust(uint32_t offset, int32_t len) {
  return Step(SEG6_OP_ADJUST, offset, {}, len);
}
inline std::vector<uint8_t> Bytes(const Addr& a) {
  return {a.begin(), a.end()};
}
inline std::vector<uint8_t> Int(int32_t v) {
  std::vector<uint8_t> b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

struct Case {
  std::string name;
  seg6_cmd cmd;
};

inline Case Make(std::string name, std::initializer_list<seg6_step> steps,
                 uint32_t verdict = 0) {
  Case c{std::move(name), {}};
  c.cmd.verdict = verdict;
  size_t i = 0;
  for (const seg6_step& s : steps) c.cmd.steps[i++] = s;
  return c;
}

// One segment (the next destination `seg`), none left: a header End.B6
// inserts or End.B6.Encap pushes.
inline std::vector<uint8_t> OneSegment(const Addr& seg) {
  Srh s;
  s.segments = {seg};
  return SrhBytes(s);
}

// The cases of a test run, where the kernel's header state is empty (no
// End.BPF run set it): the helpers that need a header refuse, End.B6 and
// End.B6.Encap check the header they are given, End.B6 inserts it and
// looks up the route (none but lo's: -ENETUNREACH, or -EINVAL for ::1,
// which is delivered locally). End.B6.Encap is only given headers it
// refuses: with a valid one it reads the skb's route, which a test run's
// skb has none of (the kernel dereferences NULL).
inline std::vector<Case> TestRunCases() {
  Srh type3;
  type3.segments = {Fc00(2)};
  type3.type = 3;
  Srh left_gt_first;  // two left of one segment
  left_gt_first.segments = {Fc00(2)};
  left_gt_first.segments_left = 2;
  Srh first_too_big;  // first_segment 1 in a one-segment header
  first_too_big.segments = {Fc00(2)};
  first_too_big.first_segment = 1;
  Srh bad_tlv;  // a TLV longer than the header
  bad_tlv.segments = {Fc00(2)};
  bad_tlv.tlvs = {4, 20, 0, 0, 0, 0, 0, 0};
  Srh with_tlv;
  with_tlv.segments = {Fc00(3)};
  with_tlv.tlvs = {4, 6, 0, 0, 0, 0, 0, 0};
  Srh two;
  two.segments = {Fc00(4), Fc00(3)};
  std::vector<uint8_t> mismatch = OneSegment(Fc00(2));
  mismatch[1] = 4;  // hdrlen says 40 bytes
  return {
      Make("nothing", {}),
      Make("verdict_drop", {}, 2),
      Make("verdict_redirect", {}, 7),
      Make("store_flags", {Store(40 + 5, {0x80})}),
      Make("store_tag", {Store(40 + 6, {0x12, 0x34})}),
      Make("adjust_grow", {Adjust(40 + 8 + 32, 8)}),
      Make("adjust_shrink", {Adjust(40 + 8 + 32, -8)}),
      Make("end_x", {Action(kEndX, Bytes(Fc00(9)))}),
      Make("end_x_short", {Action(kEndX, Int(0))}),
      Make("end_t", {Action(kEndT, Int(254))}),
      Make("end_dt6", {Action(kEndDt6, Int(0))}),
      Make("end", {Action(kEnd, Int(0))}),
      Make("unknown_action", {Action(99, Int(0))}),
      Make("b6_type3", {Action(kEndB6, SrhBytes(type3))}),
      Make("b6_len_mismatch", {Action(kEndB6, mismatch)}),
      Make("b6_short", {Action(kEndB6, {4, 0, 4, 0})}),
      Make("b6_left_gt_first", {Action(kEndB6, SrhBytes(left_gt_first))}),
      Make("b6_first_too_big", {Action(kEndB6, SrhBytes(first_too_big))}),
      Make("b6_bad_tlv", {Action(kEndB6, SrhBytes(bad_tlv))}),
      Make("b6", {Action(kEndB6, OneSegment(Fc00(2)))}),
      Make("b6_tlv", {Action(kEndB6, SrhBytes(with_tlv))}),
      Make("b6_two_segments", {Action(kEndB6, SrhBytes(two))}),
      Make("b6_loopback", {Action(kEndB6, OneSegment(Loopback()))}),
      Make("b6_twice", {Action(kEndB6, OneSegment(Fc00(2))),
                        Action(kEndB6, OneSegment(Fc00(5)))}),
      Make("b6_then_helpers",
           {Action(kEndB6, OneSegment(Fc00(2))), Store(40 + 5, {0x80}),
            Adjust(40 + 8 + 16, 8), Action(kEndX, Bytes(Fc00(9)))}),
      Make("b6encap_type3", {Action(kEndB6Encap, SrhBytes(type3))}),
      Make("b6encap_bad_tlv", {Action(kEndB6Encap, SrhBytes(bad_tlv))}),
      Make("bad_len", {Step(SEG6_OP_ACTION, kEndB6, {})}),
  };
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

// The End.BPF action's cases (seg6local_test.cc checks each against the
// kernel source; seg6local_compare_test.cc runs them through a seg6local
// route on the guests' kernels): the packet with a two-segment header
// unless `frame` is given.
struct EndBpfCase {
  std::string name;
  seg6_cmd cmd;
  std::vector<uint8_t> frame;
};

// Outer IPv6 + the two-segment header (next header IPv6) + an inner IPv6
// packet to 2001:db8::5: what End.DT6 decapsulates.
inline std::vector<uint8_t> EncapsulatedFrame() {
  Srh s = TwoSegments();
  s.nexthdr = kIpv6InIpv6;
  std::vector<uint8_t> inner = Ipv6Frame(Doc(5), kUdp, {});
  inner.erase(inner.begin(), inner.begin() + ETH_HLEN);
  std::vector<uint8_t> ext = SrhBytes(s);
  ext.insert(ext.end(), inner.begin(), inner.end() - 16);
  return Ipv6Frame(Fc00(1), kRouting, ext);
}

inline std::vector<EndBpfCase> EndBpfCases() {
  const std::vector<uint8_t> srh =
      Ipv6Frame(Fc00(1), kRouting, SrhBytes(TwoSegments()));
  auto c = [&](std::string name, std::initializer_list<seg6_step> steps,
               uint32_t verdict = 0) {
    Case k = Make(std::move(name), steps, verdict);
    return EndBpfCase{k.name, k.cmd, srh};
  };
  Srh two;
  two.segments = {Fc00(4), Fc00(3)};
  std::vector<uint8_t> type3 = OneSegment(Fc00(7));
  type3[2] = 3;
  EndBpfCase dt6 = c("dt6", {Action(kEndDt6, Int(0)), Store(40 + 5, {1})});
  dt6.frame = EncapsulatedFrame();
  return {
      c("nothing", {}),
      c("drop", {}, 2),
      c("store_flags", {Store(40 + 5, {0x80})}),
      c("store_tag", {Store(40 + 6, {0x12, 0x34})}),
      c("store_segments", {Store(40 + 8, {1})}),
      c("store_first_segment", {Store(40 + 4, {1, 2})}),
      c("store_past_tag", {Store(40 + 6, {1, 2, 3})}),
      c("store_last_segment_half", {Store(40 + 32, {9})}),
      c("store_last_segment_start", {Store(40 + 31, {9})}),
      c("store_tlv_len", {Store(40 + 41, {7})}),
      c("store_tlv_len_then_end_x",
        {Store(40 + 41, {7}), Action(kEndX, Bytes(Fc00(9)))}),
      c("adjust_grow", {Adjust(40 + 48, 8)}),
      c("adjust_grow4", {Adjust(40 + 48, 4)}),
      c("adjust_shrink", {Adjust(40 + 40, -8)}),
      c("adjust_before_tlvs", {Adjust(40 + 39, 8)}),
      c("adjust_past_end", {Adjust(40 + 49, 8)}),
      c("adjust_shrink_past_end", {Adjust(40 + 40, -16)}),
      c("adjust_grow_then_end_x",
        {Adjust(40 + 48, 8), Action(kEndX, Bytes(Fc00(9)))}),
      c("end_x", {Action(kEndX, Bytes(Fc00(9)))}),
      c("end_x_local", {Action(kEndX, Bytes(Loopback()))}),
      c("end_x_short", {Action(kEndX, Int(0))}),
      c("end_t_main", {Action(kEndT, Int(254))}),
      c("end_t_local", {Action(kEndT, Int(255))}),
      c("end_t_missing_table", {Action(kEndT, Int(100))}),
      c("end_t_long", {Action(kEndT, Bytes(Fc00(9)))}),
      c("end", {Action(kEnd, Int(0))}),
      c("dt6_udp", {Action(kEndDt6, Int(0))}),
      dt6,
      c("b6", {Action(kEndB6, OneSegment(Fc00(7)))}),
      c("b6_two", {Action(kEndB6, SrhBytes(two))}),
      c("b6_after_bad",
        {Store(40 + 41, {7}), Action(kEndB6, OneSegment(Fc00(7)))}),
      c("b6_type3", {Action(kEndB6, type3)}),
      c("b6encap_type3", {Action(kEndB6Encap, type3)}),
  };
}

// An End.BPF run as a line: each call's return value and skb->len, the
// packet's first SEG6_HEAD bytes after them (or the copy's error).
inline std::string EndBpfLine(const seg6_out& o) {
  std::string s = "steps=" + std::to_string(o.steps);
  for (uint32_t i = 0; i < o.steps && i < SEG6_STEPS; ++i) {
    s += " [" + std::to_string(o.ret[i]) + " len=" + std::to_string(o.len[i]) +
         "]";
  }
  s += " head_ret=" + std::to_string(o.head_ret);
  if (o.head_ret == 0) {
    s += " head=" + Hex(std::vector<uint8_t>(o.head, o.head + SEG6_HEAD));
  }
  return s;
}

// One run as a line: the test run's answer, the program's verdict, each
// call's return value and skb->len, skb->protocol and the output packet.
inline std::string Line(int err, uint32_t retval, const seg6_out& o,
                        const std::vector<uint8_t>& data) {
  std::string s = "err=" + std::to_string(err);
  if (err != 0) return s + " steps=" + std::to_string(o.steps);
  s +=
      " retval=" + std::to_string(retval) + " steps=" + std::to_string(o.steps);
  for (uint32_t i = 0; i < o.steps && i < SEG6_STEPS; ++i) {
    s += " [" + std::to_string(o.ret[i]) + " len=" + std::to_string(o.len[i]) +
         "]";
  }
  char proto[16];
  std::snprintf(proto, sizeof(proto), "%04x",
                ntohs(static_cast<uint16_t>(o.protocol)));
  return s + " proto=" + proto + " out=" + Hex(data);
}

}  // namespace bpfemu::examples::seg6local

#endif  // BPFEMU_TESTS_EXAMPLES_SEG6LOCAL_SCENARIO_H_
