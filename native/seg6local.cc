// SPDX-License-Identifier: Apache-2.0
// The segment routing helpers of LWT_SEG6LOCAL programs and the End.BPF
// action's run around them (seg6local.h): net/core/filter.c
// bpf_lwt_seg6_store_bytes, bpf_lwt_seg6_adjust_srh, bpf_lwt_seg6_action,
// bpf_update_srh_state and bpf_push_seg6_encap; net/ipv6/seg6_local.c
// seg6_bpf_has_valid_srh, seg6_lookup_any_nexthop, get_and_validate_srh,
// advance_nextseg and input_action_end_bpf; net/ipv6/seg6_iptunnel.c
// seg6_do_srh_inline / seg6_do_srh_encap; net/ipv6/seg6.c
// seg6_validate_srh and seg6_get_srh; net/ipv6/seg6_hmac.c
// seg6_push_hmac; net/ipv6/exthdrs_core.c ipv6_find_hdr.

#include "native/seg6local.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "bpfemu/native_abi.h"
#include "emu/fib.h"
#include "emu/version.h"

namespace bpfemu::native {
namespace {

constexpr uint8_t kNextHdrHop = 0;        // NEXTHDR_HOP
constexpr uint8_t kNextHdrIpv6 = 41;      // NEXTHDR_IPV6 / IPPROTO_IPV6
constexpr uint8_t kNextHdrRouting = 43;   // NEXTHDR_ROUTING
constexpr uint8_t kNextHdrFragment = 44;  // NEXTHDR_FRAGMENT
constexpr uint8_t kNextHdrAuth = 51;      // NEXTHDR_AUTH
constexpr uint8_t kNextHdrNone = 59;      // NEXTHDR_NONE
constexpr uint8_t kNextHdrDest = 60;      // NEXTHDR_DEST
constexpr uint8_t kSrhType4 = 4;          // IPV6_SRCRT_TYPE_4
constexpr uint8_t kSrFlagHmac = 1 << 3;   // SR6_FLAG1_HMAC
constexpr uint8_t kSrTlvHmac = 5;         // SR6_TLV_HMAC
constexpr uint32_t kIpv6Hlen = 40;        // sizeof(struct ipv6hdr)
constexpr uint32_t kSrhHlen = 8;          // sizeof(struct ipv6_sr_hdr)
// enum seg6_local_action_t (include/uapi/linux/seg6_local.h).
constexpr uint32_t kEndX = 2, kEndT = 3, kEndDt6 = 8, kEndB6 = 10,
                   kEndB6Encap = 11;

// struct ipv6_sr_hdr's fields by offset.
constexpr uint32_t kSrhNexthdr = 0, kSrhHdrlen = 1, kSrhType = 2,
                   kSrhSegmentsLeft = 3, kSrhFirstSegment = 4, kSrhFlags = 5,
                   kSrhSegments = 8;

// struct seg6_bpf_srh_state: the header's address in the frame (0: none),
// its length as the helpers made it (a u16, in bytes past the first 8)
// and whether it was checked since.
struct SrhState {
  uint64_t srh = 0;
  uint16_t hdrlen = 0;
  bool valid = false;
};
thread_local SrhState state;
// The End.BPF model's result, when the runs are End.BPF runs.
thread_local Seg6EndBpfResult* end_bpf = nullptr;

uint8_t* At(uint64_t addr) { return reinterpret_cast<uint8_t*>(addr); }

struct __sk_buff* AsSkb(void* ctx) {
  return static_cast<struct __sk_buff*>(ctx);
}

uint64_t Data(const struct __sk_buff* s) { return uint64_t{s->data}; }

// bpf_compute_data_pointers() after the packet moved.
void SetPacket(struct __sk_buff* s, uint64_t data, uint32_t len) {
  s->data = static_cast<uint32_t>(data);
  s->data_end = static_cast<uint32_t>(data + len);
  s->len = len;
}

bool ExtHdr(uint8_t n) {  // ipv6_ext_hdr()
  return n == kNextHdrHop || n == kNextHdrRouting || n == kNextHdrFragment ||
         n == kNextHdrAuth || n == kNextHdrNone || n == kNextHdrDest;
}

// ipv6_find_hdr(skb, &offset, target, NULL, flags): the offset from
// skb->data of the first `target` header after the network header, or
// -ENOENT / -EBADMSG. `skip_rh` is IP6_FH_F_SKIP_RH (a routing header with
// no segments left does not count).
int FindHdr(const SkbFrame* f, const struct __sk_buff* s, uint8_t target,
            bool skip_rh, uint32_t* offset) {
  const uint64_t data = Data(s);
  const uint32_t len = s->len;
  // The network header's next header, read whatever the packet is.
  uint32_t start = static_cast<uint32_t>(f->network - data) + kIpv6Hlen;
  uint8_t nexthdr = At(f->network)[6];
  bool found = false;
  do {
    found = nexthdr == target;
    if (!ExtHdr(nexthdr) || nexthdr == kNextHdrNone) {
      if (found) break;
      return -ENOENT;
    }
    if (uint64_t{start} + 2 > len) return -EBADMSG;  // skb_header_pointer
    const uint8_t* hp = At(data + start);
    if (nexthdr == kNextHdrRouting) {
      if (uint64_t{start} + 4 > len) return -EBADMSG;
      if (skip_rh && hp[3] == 0) found = false;
    }
    uint32_t hdrlen;
    if (nexthdr == kNextHdrFragment) {
      if (uint64_t{start} + 4 > len) return -EBADMSG;
      const uint16_t frag_off =
          static_cast<uint16_t>((hp[2] << 8 | hp[3]) & ~0x7);
      if (frag_off != 0) {
        if (!found) return -ENOENT;
        break;
      }
      hdrlen = 8;
    } else if (nexthdr == kNextHdrAuth) {
      hdrlen = (hp[1] + 2u) << 2;  // ipv6_authlen
    } else {
      hdrlen = (hp[1] + 1u) << 3;  // ipv6_optlen
    }
    if (!found) {
      if (len - start < hdrlen) return -EBADMSG;
      nexthdr = hp[0];
      start += hdrlen;
    }
  } while (!found);
  *offset = start;
  return nexthdr;
}

// seg6_validate_srh(): a type 4 header of exactly `len` bytes whose
// segments fit its length and whose TLVs fill the rest.
bool ValidateSrh(const uint8_t* srh, int len, bool reduced) {
  if (len < static_cast<int>(kSrhHlen)) return false;
  if (srh[kSrhType] != kSrhType4) return false;
  if (((srh[kSrhHdrlen] + 1) << 3) != len) return false;
  const int first = srh[kSrhFirstSegment];
  const int left = srh[kSrhSegmentsLeft];
  if (!reduced && left > first) return false;
  const int max_last_entry = srh[kSrhHdrlen] / 2 - 1;
  if (first > max_last_entry) return false;
  if (left > first + 1) return false;
  unsigned tlv_offset = kSrhHlen + ((first + 1) << 4);
  int trailing = len - static_cast<int>(tlv_offset);
  if (trailing < 0) return false;
  while (trailing != 0) {
    if (trailing < 2) return false;
    const unsigned tlv_len = 2u + srh[tlv_offset + 1];
    trailing -= static_cast<int>(tlv_len);
    if (trailing < 0) return false;
    tlv_offset += tlv_len;
  }
  return true;
}

// seg6_get_tlv_hmac() != NULL: an HMAC TLV of 40 bytes at the end.
bool HasHmacTlv(const uint8_t* srh) {
  if (srh[kSrhHdrlen] < (srh[kSrhFirstSegment] + 1) * 2 + 5) return false;
  if (!(srh[kSrhFlags] & kSrFlagHmac)) return false;
  const uint8_t* tlv = srh + ((srh[kSrhHdrlen] + 1) << 3) - 40;
  return tlv[0] == kSrTlvHmac && tlv[1] == 38;
}

// seg6_push_hmac(): bpfemu has no HMAC keys (`ip sr hmac set`), so a
// header with its TLV finds none.
int PushHmac(const uint8_t* srh) { return HasHmacTlv(srh) ? -ENOENT : -EINVAL; }

// seg6_bpf_has_valid_srh(): a header the helpers changed is checked once,
// its hdrlen field first set from the state's length.
bool HasValidSrh() {
  if (state.srh == 0) return false;
  if (!state.valid) {
    if ((state.hdrlen & 7) != 0) return false;
    uint8_t* srh = At(state.srh);
    srh[kSrhHdrlen] = static_cast<uint8_t>(state.hdrlen >> 3);
    if (!ValidateSrh(srh, (srh[kSrhHdrlen] + 1) << 3, true)) return false;
    state.valid = true;
  }
  return true;
}

// bpf_update_srh_state(): the packet's first routing header, or none.
void UpdateSrhState(const SkbFrame* f, const struct __sk_buff* s) {
  uint32_t off = 0;
  if (FindHdr(f, s, kNextHdrRouting, false, &off) < 0) {
    state.srh = 0;
  } else {
    state.srh = Data(s) + off;
    state.hdrlen = static_cast<uint16_t>(At(state.srh)[kSrhHdrlen] << 3);
    state.valid = true;
  }
}

// seg6_do_srh_inline(): the header goes in after the IPv6 header, its
// first segment the packet's destination, the destination its last.
int SrhInline(SkbFrame* f, struct __sk_buff* s, const uint8_t* osrh) {
  const uint32_t hdrlen = (osrh[kSrhHdrlen] + 1u) << 3;
  if (Data(s) < f->head + hdrlen) return -ENOMEM;  // skb_cow_head
  const uint64_t old = f->network;
  // skb_pull of the IPv6 header, skb_push of it and the new header.
  const uint64_t data = Data(s) - hdrlen;
  SetPacket(s, data, s->len + hdrlen);
  f->network = data;
  uint8_t* hdr = At(data);
  std::memmove(hdr, At(old), kIpv6Hlen);
  uint8_t* isrh = hdr + kIpv6Hlen;
  std::memcpy(isrh, osrh, hdrlen);
  isrh[kSrhNexthdr] = hdr[6];
  hdr[6] = kNextHdrRouting;
  std::memcpy(isrh + kSrhSegments, hdr + 24, 16);
  std::memcpy(hdr + 24, isrh + kSrhSegments + 16 * isrh[kSrhFirstSegment], 16);
  if (isrh[kSrhFlags] & kSrFlagHmac) {
    if (int err = PushHmac(isrh); err != 0) return err;
  }
  const uint16_t payload = htons(static_cast<uint16_t>(s->len - kIpv6Hlen));
  std::memcpy(hdr + 4, &payload, 2);
  return 0;
}

// seg6_do_srh_encap(): an outer IPv6 header and the segment routing
// header in front of the packet, the traffic class, flow label and hop
// limit inherited from an IPv6 packet (net.ipv6.seg6_flowlabel 0). The
// source is the seg6 tunnel source (unset) or ipv6_dev_get_saddr's pick
// for the route's device, which a test run's skb has none of (the kernel
// dereferences its NULL dst): bpfemu takes the unspecified address.
int SrhEncap(SkbFrame* f, struct __sk_buff* s, const uint8_t* osrh) {
  const uint32_t hdrlen = (osrh[kSrhHdrlen] + 1u) << 3;
  const uint32_t tot_len = hdrlen + kIpv6Hlen;
  if (Data(s) < f->head + tot_len) return -ENOMEM;  // skb_cow_head
  const uint8_t* inner = At(f->network);
  const bool ipv6 = s->protocol == htons(ETH_P_IPV6);
  uint8_t flow[4] = {0x60, 0, 0, 0};
  uint8_t hop_limit = 64;  // ip6_dst_hoplimit: the default hop limit
  if (ipv6) {
    std::memcpy(flow, inner, 4);
    flow[0] = static_cast<uint8_t>(0x60 | (flow[0] & 0x0f));
    hop_limit = inner[7];
  }
  const uint64_t data = Data(s) - tot_len;
  SetPacket(s, data, s->len + tot_len);
  f->network = data;
  uint8_t* hdr = At(data);
  std::memset(hdr, 0, kIpv6Hlen);
  std::memcpy(hdr, flow, 4);
  hdr[7] = hop_limit;
  hdr[6] = kNextHdrRouting;
  uint8_t* isrh = hdr + kIpv6Hlen;
  std::memcpy(isrh, osrh, hdrlen);
  isrh[kSrhNexthdr] = kNextHdrIpv6;
  std::memcpy(hdr + 24, isrh + kSrhSegments + 16 * isrh[kSrhFirstSegment], 16);
  if (isrh[kSrhFlags] & kSrFlagHmac) {
    if (int err = PushHmac(isrh); err != 0) return err;
  }
  const uint16_t payload = htons(static_cast<uint16_t>(s->len - kIpv6Hlen));
  std::memcpy(hdr + 4, &payload, 2);
  return 0;
}

}  // namespace

int Seg6LookupNexthop(SkbFrame* f, struct __sk_buff* /*skb*/,
                      const uint8_t* daddr, uint32_t table) {
  Ip6 dst;
  std::memcpy(dst.data(), daddr != nullptr ? daddr : At(f->network) + 24, 16);
  return FibSeg6Route(dst, table);
}

namespace {

// bpf_push_seg6_encap(): BPF_LWT_ENCAP_SEG6_INLINE / BPF_LWT_ENCAP_SEG6.
long PushSeg6Encap(SkbFrame* f, struct __sk_buff* s, uint32_t type,
                   const uint8_t* hdr, uint32_t len) {
  if (!ValidateSrh(hdr, static_cast<int>(len), false)) return -EINVAL;
  int err;
  if (type == BPF_LWT_ENCAP_SEG6_INLINE) {
    if (s->protocol != htons(ETH_P_IPV6)) return -EBADMSG;
    err = SrhInline(f, s, hdr);
  } else if (type == BPF_LWT_ENCAP_SEG6) {
    f->encapsulation = true;
    err = SrhEncap(f, s, hdr);
  } else {
    return -EINVAL;
  }
  if (err != 0) return err;
  f->transport = f->network + kIpv6Hlen;
  return Seg6LookupNexthop(f, s, nullptr, 0);
}

}  // namespace

long Seg6PushEncap(void* ctx, uint32_t type, const void* hdr, uint32_t len) {
  SkbFrame* f = CurrentSkbFrame();
  if (f == nullptr) return -EINVAL;
  return PushSeg6Encap(f, AsSkb(ctx), type, static_cast<const uint8_t*>(hdr),
                       len);
}

bool Seg6RunBegin(SkbFrame* f, struct __sk_buff* s) {
  state = SrhState{};
  if (end_bpf == nullptr) return true;  // a test run: no header
  Seg6EndBpfResult& r = *end_bpf;
  r = Seg6EndBpfResult{};
  // get_and_validate_srh(): seg6_get_srh(skb, IP6_FH_F_SKIP_RH), then the
  // HMAC check (net.ipv6.conf.*.seg6_require_hmac 0: a header with an
  // HMAC TLV must carry a valid one, and bpfemu has no keys).
  uint32_t off = 0;
  bool ok = FindHdr(f, s, kNextHdrRouting, true, &off) >= 0 &&
            uint64_t{off} + kSrhHlen <= s->len;
  uint8_t* srh = ok ? At(Data(s) + off) : nullptr;
  if (ok) {
    const uint32_t len = (srh[kSrhHdrlen] + 1u) << 3;
    ok = uint64_t{off} + len <= s->len &&
         ValidateSrh(srh, static_cast<int>(len), true) && !HasHmacTlv(srh);
  }
  if (!ok) {
    r.no_srh = true;
    return false;
  }
  // advance_nextseg().
  srh[kSrhSegmentsLeft]--;
  std::memcpy(At(f->network) + 24,
              srh + kSrhSegments + 16 * srh[kSrhSegmentsLeft], 16);
  state.srh = Data(s) + off;
  state.hdrlen = static_cast<uint16_t>(srh[kSrhHdrlen] << 3);
  state.valid = true;
  r.ran = true;
  return true;
}

void Seg6RunEnd(SkbFrame* f, struct __sk_buff* s, uint32_t retval) {
  if (end_bpf != nullptr && end_bpf->ran) {
    Seg6EndBpfResult& r = *end_bpf;
    if (retval != BPF_OK && retval != BPF_REDIRECT) {
      r.dropped = true;
    } else if (state.srh != 0 && !HasValidSrh()) {
      r.dropped = true;
      r.invalid_srh = true;
    } else if (retval != BPF_REDIRECT) {
      r.nexthop = Seg6LookupNexthop(f, s, nullptr, 0);
    }
  }
  state = SrhState{};
}

void Seg6SetEndBpf(Seg6EndBpfResult* out) { end_bpf = out; }

}  // namespace bpfemu::native

using bpfemu::native::AsSkb;
using bpfemu::native::At;
using bpfemu::native::Data;
using bpfemu::native::SkbFrame;
using bpfemu::native::state;

// bpf_lwt_seg6_store_bytes(): only the flags and tag (bytes 5 to 7) and the
// TLVs may be written; a write there marks the header unchecked. The
// kernel's TLV area starts (first_segment + 1) * 16 bytes into the header,
// 8 bytes short of where the TLVs are (the last segment's second half).
long bpfemu_lwt_seg6_store_bytes(void* ctx, __u32 offset, const void* from,
                                 __u32 len) {
  struct __sk_buff* s = AsSkb(ctx);
  if (state.srh == 0) return -EINVAL;
  const uint8_t* srh = At(state.srh);
  const uint64_t tlvs =
      state.srh + ((uint64_t{srh[bpfemu::native::kSrhFirstSegment]} + 1) << 4);
  const uint64_t end = state.srh + bpfemu::native::kSrhHlen + state.hdrlen;
  const uint64_t ptr = Data(s) + offset;
  if (ptr >= tlvs && ptr + len <= end) {
    state.valid = false;
  } else if (ptr < state.srh + bpfemu::native::kSrhFlags ||
             ptr + len > state.srh + bpfemu::native::kSrhSegments) {
    return -EFAULT;
  }
  // bpf_try_make_writable(): the linear skb has its len bytes.
  if (uint64_t{offset} + len > s->len) return -EFAULT;
  SkbFrame* f = bpfemu::native::CurrentSkbFrame();
  uint32_t off = 0;
  if (f == nullptr ||
      bpfemu::native::FindHdr(f, s, bpfemu::native::kNextHdrRouting, false,
                              &off) < 0) {
    return -EINVAL;
  }
  state.srh = Data(s) + off;
  std::memcpy(At(ptr), from, len);
  return 0;
}

// bpf_lwt_seg6_adjust_srh(): grows (len > 0, zeroed bytes) or shrinks the
// header at a position from its TLVs to its end; the IPv6 payload length
// follows, the header is unchecked until the run ends or an action needs
// it.
long bpfemu_lwt_seg6_adjust_srh(void* ctx, __u32 offset, __s32 len) {
  struct __sk_buff* s = AsSkb(ctx);
  SkbFrame* f = bpfemu::native::CurrentSkbFrame();
  if (state.srh == 0 || f == nullptr) return -EINVAL;
  const uint8_t* srh = At(state.srh);
  const uint64_t tlvs =
      state.srh + bpfemu::native::kSrhHlen +
      ((uint64_t{srh[bpfemu::native::kSrhFirstSegment]} + 1) << 4);
  const uint64_t end = state.srh + bpfemu::native::kSrhHlen + state.hdrlen;
  const uint64_t ptr = Data(s) + offset;
  if (ptr < tlvs || ptr > end) return -EFAULT;
  if (len < 0 && ptr + static_cast<uint64_t>(-int64_t{len}) > end) {
    return -EFAULT;
  }
  if (len > 0) {
    // skb_cow_head(), then bpf_skb_net_hdr_push(): `len` zeroed bytes at
    // `offset`, the bytes before it moved to the front.
    const uint32_t n = static_cast<uint32_t>(len);
    if (Data(s) < f->head + n) return -ENOMEM;
    const uint64_t data = Data(s) - n;
    std::memmove(At(data), At(data + n), offset);
    std::memset(At(data + offset), 0, n);
    bpfemu::native::SetPacket(s, data, s->len + n);
    f->mac -= n;
    f->network -= n;
  } else {
    // bpf_skb_net_hdr_pop(): pskb_may_pull(off + len) first.
    const uint32_t n = static_cast<uint32_t>(-int64_t{len});
    if (uint64_t{offset} + n > s->len) return -ENOMEM;
    const uint64_t old = Data(s);
    bpfemu::native::SetPacket(s, old + n, s->len - n);
    std::memmove(At(old + n), At(old), offset);
    f->mac += n;
    f->network += n;
  }
  const uint16_t payload =
      htons(static_cast<uint16_t>(s->len - bpfemu::native::kIpv6Hlen));
  std::memcpy(At(Data(s)) + 4, &payload, 2);
  uint32_t off = 0;
  if (bpfemu::native::FindHdr(f, s, bpfemu::native::kNextHdrRouting, false,
                              &off) < 0) {
    return -EINVAL;
  }
  state.srh = Data(s) + off;
  state.hdrlen = static_cast<uint16_t>(state.hdrlen + len);
  state.valid = false;
  return 0;
}

// bpf_lwt_seg6_action(): End.X and End.T route the packet (to a next hop,
// in a table), End.DT6 decapsulates it first, End.B6 inserts a header and
// End.B6.Encap encapsulates it; each needs a checked header (the B6 ones
// only when there is one).
long bpfemu_lwt_seg6_action(void* ctx, __u32 action, void* param,
                            __u32 param_len) {
  namespace n = bpfemu::native;
  struct __sk_buff* s = AsSkb(ctx);
  SkbFrame* f = n::CurrentSkbFrame();
  if (f == nullptr) return -EINVAL;
  const auto* p = static_cast<const uint8_t*>(param);
  int32_t table = 0;
  switch (action) {
    case n::kEndX:
      if (!n::HasValidSrh()) return -EBADMSG;
      if (param_len != 16) return -EINVAL;
      return n::Seg6LookupNexthop(f, s, p, 0);
    case n::kEndT:
      if (!n::HasValidSrh()) return -EBADMSG;
      if (param_len != sizeof(int)) return -EINVAL;
      std::memcpy(&table, p, sizeof(table));
      return n::Seg6LookupNexthop(f, s, nullptr, static_cast<uint32_t>(table));
    case n::kEndDt6: {
      if (!n::HasValidSrh()) return -EBADMSG;
      if (param_len != sizeof(int)) return -EINVAL;
      uint32_t off = 0;
      if (n::FindHdr(f, s, n::kNextHdrIpv6, false, &off) < 0) return -EBADMSG;
      if (off > s->len) return -EBADMSG;  // pskb_pull
      n::SetPacket(s, Data(s) + off, s->len - off);
      f->network = Data(s);
      f->transport = Data(s);
      f->encapsulation = false;
      n::UpdateSrhState(f, s);
      std::memcpy(&table, p, sizeof(table));
      return n::Seg6LookupNexthop(f, s, nullptr, static_cast<uint32_t>(table));
    }
    case n::kEndB6:
    case n::kEndB6Encap: {
      if (state.srh != 0 && !n::HasValidSrh()) return -EBADMSG;
      const long err = n::PushSeg6Encap(
          f, s,
          action == n::kEndB6 ? BPF_LWT_ENCAP_SEG6_INLINE : BPF_LWT_ENCAP_SEG6,
          p, param_len);
      if (err == 0) n::UpdateSrhState(f, s);
      return err;
    }
    default:
      return -EINVAL;
  }
}
