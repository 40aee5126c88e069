// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/skb_mutate.bpf.c (its ops, its `cmd` value,
// the steps, packets and contexts), shared by the kernel comparison
// (skb_mutate_compare_test.cc) and the unprivileged check against the
// kernel's recorded answers (skb_mutate_test.cc), and the record's format:
// one line per case, tab-separated: the case's name, the test run's error,
// the return value, data_out's length and FNV-1a hash, ctx_out in hex ("-"
// without a context), and the 14 `results` slots.

#ifndef BPFEMU_TESTS_EXAMPLES_SKB_MUTATE_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SKB_MUTATE_CASES_H_

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "native/helpers.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples::skb_mutate {

using Bytes = std::vector<uint8_t>;

// skb_mutate.bpf.c's ops and its `cmd` value.
enum Op : uint32_t {
  kTail = 1,
  kHead = 2,
  kPull = 3,
  kType = 4,
  kSetHash = 5,
  kHashInvalid = 6,
  kGetHash = 7,
  kHashShape = 8,
  kPush = 9,
  kPop = 10,
  kWrite = 11,
  kProto = 12,
  kRoom = 13,
};

struct Step {
  uint32_t op = 0;
  uint32_t a = 0;
  uint64_t b = 0;
  uint64_t c = 0;
};

struct Cmd {
  uint32_t hash_comparable = 0;
  uint32_t pad = 0;
  Step steps[4];
};

struct Case {
  std::string name;
  Bytes packet;
  std::vector<Step> steps;
  bool hash_comparable = false;
  bool with_ctx = false;
  uint32_t gso_size = 0;
  uint32_t gso_segs = 0;
  // The kernel's step results, where the case pins them (the limits).
  std::vector<int64_t> want;
};

constexpr uint32_t kMax = native::kSkbMaxLen;
constexpr int kSlots = 14;

inline uint32_t Be16(uint16_t v) { return htons(v); }

inline Bytes Udp4(size_t len = 64) {
  return Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, len);
}

// A frame with VLAN tags (outermost first: protocol, TCI) before
// `inner_type` and a payload of `len` bytes in all.
inline Bytes Tagged(std::vector<std::pair<uint16_t, uint16_t>> tags,
                    uint16_t inner_type, size_t len) {
  Bytes f(len, 0);
  std::memset(f.data(), 0x02, ETH_ALEN);
  std::memset(f.data() + ETH_ALEN, 0x04, ETH_ALEN);
  size_t off = 2 * ETH_ALEN;
  for (const auto& [proto, tci] : tags) {
    f[off] = proto >> 8;
    f[off + 1] = proto & 0xff;
    f[off + 2] = tci >> 8;
    f[off + 3] = tci & 0xff;
    off += 4;
  }
  f[off] = inner_type >> 8;
  f[off + 1] = inner_type & 0xff;
  for (size_t i = off + 2; i < len; ++i) f[i] = static_cast<uint8_t>(i * 3);
  return f;
}

inline std::vector<Case> Cases() {
  std::vector<Case> c;
  const Bytes p64 = Udp4();
  auto add = [&](std::string name, std::vector<Step> steps, Bytes packet = {}) {
    Case k;
    k.name = std::move(name);
    k.packet = packet.empty() ? p64 : std::move(packet);
    k.steps = std::move(steps);
    c.push_back(std::move(k));
    return &c.back();
  };
  // bpf_skb_change_tail: grow (zeroed), shrink, the network header as the
  // minimum, BPF_SKB_MAX_LEN as the maximum, flags.
  add("tail grow", {{kTail, 100}});
  add("tail shrink", {{kTail, 40}});
  add("tail same", {{kTail, 64}});
  add("tail to the network header", {{kTail, 14}})->want = {0};
  add("tail into the MAC header", {{kTail, 13}})->want = {-EINVAL};
  add("tail to 0", {{kTail, 0}});
  add("tail to the maximum", {{kTail, kMax}})->want = {0};
  add("tail past the maximum", {{kTail, kMax + 1}})->want = {-EINVAL};
  add("tail to UINT32_MAX", {{kTail, 0xffffffff}});
  add("tail flags 1", {{kTail, 100, 1}})->want = {-EINVAL};
  add("tail flags high", {{kTail, 100, 1ULL << 63}});
  add("tail grow then write",
      {{kTail, 200}, {kWrite, 199, 0xab}, {kWrite, 200, 1}})
      ->want = {0, 0, -1};
  add("tail shrink then write",
      {{kTail, 40}, {kWrite, 39, 0xcd}, {kWrite, 40, 1}});
  add("tail from a 3700-byte packet", {{kTail, kMax}}, Udp4(3700));
  add("tail shrink twice then grow", {{kTail, 30}, {kTail, 20}, {kTail, 1000}});
  {
    Case* k = add("tail resets GSO", {{kTail, 100}});
    k->with_ctx = true;
    k->gso_size = 1400;
    k->gso_segs = 3;
  }
  {
    Case* k = add("tail failing keeps GSO", {{kTail, 100, 2}});
    k->with_ctx = true;
    k->gso_size = 1400;
    k->gso_segs = 3;
  }
  // bpf_skb_change_head: zeroed room in front, the maximum, flags, a
  // wrapping length; the network header stays, so the minimum tail grows.
  add("head 16", {{kHead, 16}});
  add("head 0", {{kHead, 0}});
  add("head to the maximum", {{kHead, kMax - 64}})->want = {0};
  add("head past the maximum", {{kHead, kMax - 63}})->want = {-EINVAL};
  add("head wrapping", {{kHead, 0xffffffff}})->want = {-EINVAL};
  add("head wrapping to the length", {{kHead, 0xffffffc0}});
  add("head flags", {{kHead, 8, 2}});
  add("head then tail below the network header",
      {{kHead, 16}, {kTail, 29}, {kTail, 30}})
      ->want = {0, -EINVAL, 0};
  add("head then write",
      {{kHead, 8}, {kWrite, 0, 0x11}, {kWrite, 71, 0x22}, {kWrite, 72, 1}});
  add("head and tail to the maximum", {{kHead, 1000}, {kTail, kMax}});
  add("head twice past the maximum",
      {{kHead, 8000}, {kHead, kMax - 8064}, {kHead, 1}});
  {
    Case* k = add("head with GSO", {{kHead, 100}});
    k->with_ctx = true;
    k->gso_size = 1400;
    k->gso_segs = 2;
  }
  // bpf_skb_pull_data: up to the packet's length.
  add("pull 0", {{kPull, 0}});
  add("pull all", {{kPull, 64}});
  add("pull past the end", {{kPull, 65}})->want = {-ENOMEM};
  add("pull INT_MAX + 1", {{kPull, 0x80000000u}})->want = {-ENOMEM};
  add("pull after growth", {{kTail, 500}, {kPull, 500}, {kPull, 501}});
  // bpf_skb_change_type: the packet came to another host (lo's address is
  // all zeros); only host / broadcast / multicast / otherhost.
  add("type host", {{kType, 0}});
  add("type broadcast then multicast", {{kType, 1}, {kType, 2}});
  add("type otherhost", {{kType, 3}});
  add("type loopback", {{kType, 5}})->want = {-EINVAL};
  add("type large", {{kType, 0xffffffff}});
  {
    Bytes bcast = Udp4();
    std::memset(bcast.data(), 0xff, ETH_ALEN);
    add("type from broadcast", {{kType, 0}}, bcast);
  }
  // The hash: set, read back, cleared; computed hashes only by shape.
  {
    Case* k = add("set hash", {{kSetHash, 0x12345678}, {kGetHash}});
    k->hash_comparable = true;
    k->want = {0, 0x12345678};
  }
  add("set hash 0", {{kSetHash, 0}, {kGetHash}})->hash_comparable = true;
  add("set hash twice", {{kSetHash, 1}, {kSetHash, 0xfffffffe}, {kGetHash}})
      ->hash_comparable = true;
  add("hash invalid", {{kSetHash, 7}, {kHashInvalid}})->hash_comparable = true;
  add("hash invalid then computed",
      {{kSetHash, 7}, {kHashInvalid}, {kHashShape}})
      ->want = {0, 0, 3};
  add("computed hash", {{kHashShape}, {kHashShape}})->want = {3, 3};
  add("computed hash of ARP", {{kHashShape}}, EthFrame(ETH_P_ARP, 60));
  add("set hash after computed", {{kHashShape}, {kSetHash, 99}, {kGetHash}})
      ->hash_comparable = true;
  // VLAN tags: outside the packet, then moved into it by a second push.
  add("push 802.1Q", {{kPush, Be16(ETH_P_8021Q), 5}});
  add("push 802.1ad", {{kPush, Be16(ETH_P_8021AD), 0xffff}});
  add("push another protocol", {{kPush, Be16(0x1234), 9}});
  add("push twice",
      {{kPush, Be16(ETH_P_8021AD), 0xfff}, {kPush, Be16(ETH_P_8021Q), 7}});
  add("push three times", {{kPush, Be16(ETH_P_8021AD), 1},
                           {kPush, Be16(ETH_P_8021Q), 2},
                           {kPush, Be16(ETH_P_8021Q), 3}});
  add("push twice then write", {{kPush, Be16(ETH_P_8021Q), 1},
                                {kPush, Be16(ETH_P_8021Q), 2},
                                {kWrite, 67, 0x33},
                                {kWrite, 68, 1}});
  add("push twice then tail", {{kPush, Be16(ETH_P_8021Q), 1},
                               {kPush, Be16(ETH_P_8021Q), 2},
                               {kTail, 13},
                               {kTail, 14}});
  add("push then pop", {{kPush, Be16(ETH_P_8021Q), 5}, {kPop}});
  add("push twice then pop twice", {{kPush, Be16(ETH_P_8021Q), 1},
                                    {kPush, Be16(ETH_P_8021AD), 2},
                                    {kPop},
                                    {kPop}});
  add("pop without a tag", {{kPop}});
  add("head then push twice", {{kHead, 4},
                               {kPush, Be16(ETH_P_8021Q), 1},
                               {kPush, Be16(ETH_P_8021Q), 2}});
  // Tags in the received packet.
  const Bytes tagged = Tagged({{ETH_P_8021Q, 0x0123}}, ETH_P_IP, 80);
  add("pop a tag in the packet", {{kPop}}, tagged);
  add("pop it twice", {{kPop}, {kPop}}, tagged);
  add("pop a tag then push", {{kPop}, {kPush, Be16(ETH_P_8021Q), 9}}, tagged);
  const Bytes qinq =
      Tagged({{ETH_P_8021AD, 0x0aaa}, {ETH_P_8021Q, 0x0bbb}}, ETH_P_IPV6, 90);
  add("pop double tags", {{kPop}}, qinq);
  add("pop double tags three times", {{kPop}, {kPop}, {kPop}}, qinq);
  add("pop a short tagged packet", {{kPop}},
      Tagged({{ETH_P_8021Q, 1}}, ETH_P_IP, 17))
      ->want = {-ENOMEM};
  add("pop an 18-byte tagged packet", {{kPop}},
      Tagged({{ETH_P_8021Q, 1}}, ETH_P_IP, 18));
  {
    Bytes llc = Tagged({{ETH_P_8021Q, 2}}, 0x0040, 60);
    add("pop to 802.2", {{kPop}}, llc);
    llc[18] = 0xff;
    llc[19] = 0xff;
    add("pop to 802.3 (IPX)", {{kPop}}, llc);
  }
  add("pop a tag then tail", {{kPop}, {kTail, 13}, {kTail, 14}}, tagged);
  // bpf_skb_change_proto: IPv4 <-> IPv6 only, flags 0.
  const Bytes p6 = Tagged({}, ETH_P_IPV6, 80);
  add("proto 4 to 6", {{kProto, Be16(ETH_P_IPV6)}, {kWrite, 33, 0x44}});
  add("proto 6 to 4", {{kProto, Be16(ETH_P_IP)}}, p6);
  add("proto 4 to 4", {{kProto, Be16(ETH_P_IP)}})->want = {-524};
  add("proto 4 to ARP", {{kProto, Be16(ETH_P_ARP)}});
  add("proto flags", {{kProto, Be16(ETH_P_IPV6), 1}})->want = {-EINVAL};
  add("proto of ARP", {{kProto, Be16(ETH_P_IPV6)}}, EthFrame(ETH_P_ARP, 60));
  add("proto there and back", {{kProto, Be16(ETH_P_IPV6)},
                               {kProto, Be16(ETH_P_IP)},
                               {kProto, Be16(ETH_P_IPV6)}});
  add("proto clears the hash", {{kSetHash, 5}, {kProto, Be16(ETH_P_IPV6)}})
      ->hash_comparable = true;
  add("proto 6 to 4 of a short packet", {{kProto, Be16(ETH_P_IP)}},
      Tagged({}, ETH_P_IPV6, 54));
  add("proto after vlan push twice", {{kPush, Be16(ETH_P_8021Q), 1},
                                      {kPush, Be16(ETH_P_8021Q), 2},
                                      {kProto, Be16(ETH_P_IPV6)}});
  add("proto then tail",
      {{kProto, Be16(ETH_P_IPV6)}, {kTail, 33}, {kTail, 14}});
  // bpf_skb_adjust_room: modes, limits, the encapsulation flags.
  constexpr uint64_t kNet = BPF_ADJ_ROOM_NET, kMac = BPF_ADJ_ROOM_MAC;
  constexpr uint64_t kFixedGso = 1, kEncap4 = 2, kEncap6 = 4, kGre = 8,
                     kUdp = 16, kNoCsum = 32, kL2Eth = 64, kDecap4 = 128,
                     kDecap6 = 256;
  auto room = [](int32_t diff, uint64_t flags, uint64_t mode) {
    return Step{kRoom, static_cast<uint32_t>(diff), flags, mode};
  };
  add("room net +8", {room(8, 0, kNet)});
  add("room mac +8", {room(8, 0, kMac)});
  add("room net -8", {room(-8, 0, kNet)}, Udp4(100));
  add("room mac -8", {room(-8, 0, kMac)}, Udp4(100));
  add("room 0", {room(0, 0, kNet)});
  add("room 0xfff", {room(0xfff, 0, kNet)})->want = {0};
  add("room 0x1000", {room(0x1000, 0, kNet)})->want = {-EFAULT};
  add("room -0x1000", {room(-0x1000, 0, kNet)});
  add("room INT_MIN", {room(INT32_MIN, 0, kNet)});
  add("room mode 2", {room(8, 0, 2)})->want = {-524};
  add("room unknown flag", {room(8, 1ULL << 9, kNet)})->want = {-EINVAL};
  add("room of ARP", {room(8, 0, kNet)}, EthFrame(ETH_P_ARP, 60));
  add("room shrink to the IP header", {room(-30, 0, kMac)});
  add("room shrink past the IP header", {room(-31, 0, kMac)});
  add("room shrink all", {room(-50, 0, kMac)});
  add("room past the maximum",
      {{kTail, kMax - 100}, room(100, 0, kNet), room(1, 0, kNet)});
  add("room then write", {room(20, 0, kMac),
                          {kWrite, 14, 0x55},
                          {kWrite, 83, 0x66},
                          {kWrite, 84, 1}});
  add("room ipip encap", {room(20, kEncap4, kMac), {kTail, 33}, {kHead, 2}});
  add("room encap twice", {room(20, kEncap4, kMac), room(20, kEncap4, kMac)});
  add("room 6in4 encap", {room(40, kEncap6, kMac)});
  add("room 4in6 encap", {room(20, kEncap4, kMac)}, p6);
  add("room encap both families", {room(20, kEncap4 | kEncap6, kMac)});
  add("room encap gre and udp", {room(28, kEncap4 | kGre | kUdp, kMac)});
  add("room encap udp",
      {room(28, kEncap4 | kUdp, kMac), {kTail, 40}, {kTail, 42}});
  add("room encap gre", {room(24, kEncap4 | kGre, kMac)});
  add("room encap l2 eth short",
      {room(40, kEncap4 | kL2Eth | 10ULL << 56, kMac)});
  add("room encap l2 eth",
      {room(48, kEncap4 | kUdp | kL2Eth | 14ULL << 56, kMac)});
  add("room encap l2 longer than the room",
      {room(8, kEncap4 | 14ULL << 56, kMac)});
  add("room flags without encap", {room(8, kGre | kL2Eth, kNet)});
  add("room no csum reset fixed gso", {room(8, kNoCsum | kFixedGso, kNet)});
  add("room decap 4", {room(-20, kDecap4, kMac)}, Udp4(100));
  add("room decap 6 from 4", {room(-20, kDecap6, kMac)}, Udp4(100));
  add("room decap 6 of 4 short", {room(-50, kDecap6, kMac)}, Udp4(100));
  add("room decap both", {room(-20, kDecap4 | kDecap6, kMac)}, Udp4(100));
  add("room decap growing", {room(20, kDecap4, kMac)});
  add("room decap 4 from 6", {room(-40, kDecap4, kMac)},
      Tagged({}, ETH_P_IPV6, 120));
  add("room shrink with encap flags", {room(-8, kEncap4, kNet)}, Udp4(100));
  {
    Case* k = add("room with GSO", {room(8, 0, kNet), room(-8, 0, kNet)});
    k->with_ctx = true;
    k->gso_size = 1400;
    k->gso_segs = 2;
  }
  {
    Case* k = add("room with GSO fixed", {room(8, kFixedGso, kNet)});
    k->with_ctx = true;
    k->gso_size = 1400;
  }
  add("room after vlan push twice", {{kPush, Be16(ETH_P_8021Q), 1},
                                     {kPush, Be16(ETH_P_8021Q), 2},
                                     room(8, 0, kMac),
                                     room(-4, 0, kNet)});
  add("room after head", {{kHead, 6}, room(8, 0, kMac)});
  return c;
}

// One case's answers, as recorded.
struct Answer {
  std::string name;
  int err = 0;
  uint32_t retval = 0;
  uint32_t data_len = 0;
  uint64_t data_hash = 0;
  std::string ctx_hex = "-";
  int64_t results[kSlots] = {};

  bool operator==(const Answer& o) const {
    if (name != o.name || err != o.err || retval != o.retval ||
        data_len != o.data_len || data_hash != o.data_hash ||
        ctx_hex != o.ctx_hex) {
      return false;
    }
    for (int i = 0; i < kSlots; ++i) {
      if (results[i] != o.results[i]) return false;
    }
    return true;
  }
};

inline uint64_t Fnv1a(const Bytes& b) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint8_t c : b) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

inline std::string Hex(const uint8_t* p, size_t n) {
  std::string out;
  char buf[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", p[i]);
    out += buf;
  }
  return out;
}

inline std::string Format(const Answer& a) {
  std::ostringstream o;
  o << a.name << '\t' << a.err << '\t' << a.retval << '\t' << a.data_len << '\t'
    << std::hex << a.data_hash << std::dec << '\t' << a.ctx_hex;
  for (int i = 0; i < kSlots; ++i) o << (i == 0 ? '\t' : ',') << a.results[i];
  return o.str();
}

// false for a line that is not a record.
inline bool Parse(const std::string& line, Answer* a) {
  std::vector<std::string> f;
  std::string cur;
  for (char c : line) {
    if (c == '\t') {
      f.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  f.push_back(cur);
  if (f.size() != 7) return false;
  a->name = f[0];
  a->err = std::stoi(f[1]);
  a->retval = static_cast<uint32_t>(std::stoul(f[2]));
  a->data_len = static_cast<uint32_t>(std::stoul(f[3]));
  a->data_hash = std::stoull(f[4], nullptr, 16);
  a->ctx_hex = f[5];
  std::istringstream r(f[6]);
  std::string v;
  for (int i = 0; i < kSlots; ++i) {
    if (!std::getline(r, v, ',')) return false;
    a->results[i] = std::stoll(v);
  }
  return true;
}

}  // namespace bpfemu::examples::skb_mutate

#endif  // BPFEMU_TESTS_EXAMPLES_SKB_MUTATE_CASES_H_
