// SPDX-License-Identifier: Apache-2.0
// The packet contexts of bpf_prog_test_run (net/bpf/test_run.c:
// bpf_prog_test_run_xdp and bpf_prog_test_run_skb) for any program
// descriptor (test_run.h).
#include "loader/test_run.h"

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bpfemu::native {
namespace {

// A per-thread packet buffer mapped below 2 GiB, so the 32-bit data
// pointers of struct xdp_md and struct __sk_buff can address it.
// bpf_prog_test_run_xdp / _skb: one page minus headroom and the
// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) tailroom.
constexpr size_t kHeadroom = 256;  // XDP_PACKET_HEADROOM
constexpr size_t kSharedInfo = 320;
constexpr size_t kMaxXdpPacket = 4096 - kHeadroom - kSharedInfo;
constexpr size_t kMaxSkbPacket = 4096 - 64 - kSharedInfo;  // NET_SKB_PAD
constexpr size_t kBufferSize = 8192;
// Frames start 2 bytes past the headroom so that the IP header after the
// 14-byte Ethernet header is 4-byte aligned (NET_IP_ALIGN): natively, a
// misaligned `struct iphdr *` is undefined behaviour (UBSan reports it),
// while BPF's own loads do not care.
constexpr size_t kIpAlign = 2;

class LowBuffer {
 public:
  LowBuffer() {
    void* p = mmap(nullptr, kBufferSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  ~LowBuffer() {
    if (base_ != nullptr) munmap(base_, kBufferSize);
  }
  uint8_t* base() const { return base_; }

 private:
  uint8_t* base_;
};

uint8_t* PacketBuffer() {
  thread_local LowBuffer buffer;
  return buffer.base();
}

uint32_t Low32(const void* p) {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p));
}

}  // namespace

PacketResult RunXdp(const Prog& prog, absl::Span<const uint8_t> packet) {
  PacketResult r;
  uint8_t* buf = PacketBuffer();
  // Bytes beyond one page's linear area go into page-sized fragments, at
  // most MAX_SKB_FRAGS (17) of them; the program sees the linear part.
  constexpr size_t kMaxFrags = 17;
  if (buf == nullptr || packet.size() < ETH_HLEN) {
    r.err = -EINVAL;
    return r;
  }
  if (packet.size() > kMaxXdpPacket + kMaxFrags * 4096) {
    r.err = -ENOMEM;
    return r;
  }
  const size_t linear = std::min(packet.size(), kMaxXdpPacket);
  uint8_t* data = buf + kHeadroom + kIpAlign;
  std::memcpy(data, packet.data(), linear);
  struct xdp_md md = {};
  md.data = Low32(data);
  md.data_end = Low32(data + linear);
  md.data_meta = md.data;
  md.ingress_ifindex = 1;  // lo
  r.retval = ProgRun(prog, &md);
  const auto* start = reinterpret_cast<const uint8_t*>(uintptr_t{md.data});
  const auto* end = reinterpret_cast<const uint8_t*>(uintptr_t{md.data_end});
  r.data_out.assign(start, end);
  r.data_out.insert(r.data_out.end(), packet.begin() + linear, packet.end());
  return r;
}

PacketResult RunSkb(const Prog& prog, absl::Span<const uint8_t> packet,
                    const struct __sk_buff* ctx_in) {
  PacketResult r;
  uint8_t* buf = PacketBuffer();
  if (buf == nullptr || packet.size() < ETH_HLEN ||
      packet.size() > kMaxSkbPacket) {
    r.err = -EINVAL;
    return r;
  }
  uint16_t proto;
  std::memcpy(&proto, packet.data() + 2 * ETH_ALEN, sizeof(proto));
  const size_t l3 = packet.size() - ETH_HLEN;
  constexpr size_t kIpv4Header = 20, kIpv6Header = 40;
  if ((proto == htons(ETH_P_IP) && l3 < kIpv4Header) ||
      (proto == htons(ETH_P_IPV6) && l3 < kIpv6Header)) {
    r.err = -EINVAL;
    return r;
  }
  uint8_t* data = buf + kHeadroom + kIpAlign;
  std::memcpy(data, packet.data(), packet.size());
  struct __sk_buff skb = {};
  if (ctx_in != nullptr) {
    skb.mark = ctx_in->mark;
    skb.priority = ctx_in->priority;
    std::memcpy(skb.cb, ctx_in->cb, sizeof(skb.cb));
  }
  // eth_type_trans() on lo (address 00:00:00:00:00:00).
  const uint8_t* dest = data;
  static constexpr uint8_t kBroadcast[ETH_ALEN] = {0xff, 0xff, 0xff,
                                                   0xff, 0xff, 0xff};
  static constexpr uint8_t kZero[ETH_ALEN] = {};
  if (dest[0] & 1) {
    skb.pkt_type = std::memcmp(dest, kBroadcast, ETH_ALEN) == 0
                       ? PACKET_BROADCAST
                       : PACKET_MULTICAST;
  } else if (std::memcmp(dest, kZero, ETH_ALEN) != 0) {
    skb.pkt_type = PACKET_OTHERHOST;
  }
  skb.protocol = proto;  // network byte order, as skb->protocol
  skb.ifindex = 1;
  // eth_type_trans() pulled the Ethernet header; only tc-like (L2)
  // programs get it pushed back before they run (is_l2 in test_run.c).
  const bool is_l2 = prog.type == BPF_PROG_TYPE_SCHED_CLS ||
                     prog.type == BPF_PROG_TYPE_SCHED_ACT ||
                     prog.type == BPF_PROG_TYPE_LWT_XMIT;
  const size_t pulled = is_l2 ? 0 : ETH_HLEN;
  skb.len = static_cast<uint32_t>(packet.size() - pulled);
  skb.data = Low32(data + pulled);
  skb.data_end = Low32(data + packet.size());
  r.retval = ProgRun(prog, &skb);
  r.data_out.assign(data, data + packet.size());
  return r;
}

}  // namespace bpfemu::native
