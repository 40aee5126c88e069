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
#include <sys/socket.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emu/cgroup_storage.h"
#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/netdev.h"
#include "emu/trampoline.h"
#include "native/helpers.h"

namespace bpfemu::native {
namespace {

// A per-thread packet buffer mapped below 2 GiB, so the 32-bit data
// pointers of struct xdp_md and struct __sk_buff can address it.
// bpf_prog_test_run_xdp / _skb: one page minus headroom and the
// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) tailroom.
// The skb test run's packet may then grow (bpf_skb_change_head / _tail,
// bpf_skb_vlan_push) up to BPF_SKB_MAX_LEN (kSkbMaxLen, helpers.h) at
// either end: its frame reserves that much room before and after it.
constexpr size_t kHeadroom = 256;  // XDP_PACKET_HEADROOM
constexpr size_t kSharedInfo = kSkbSharedInfoRoom;
constexpr size_t kMaxXdpPacket = 4096 - kHeadroom - kSharedInfo;
constexpr size_t kMaxSkbPacket = 4096 - 64 - kSharedInfo;  // NET_SKB_PAD
constexpr size_t kSkbHeadroom = kSkbMaxLen + kHeadroom;
constexpr size_t kBufferSize = kSkbHeadroom + kSkbMaxLen + 2 * 4096;
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

PacketResult RunXdp(const Prog& prog, absl::Span<const uint8_t> packet,
                    const struct xdp_md* ctx) {
  PacketResult r;
  uint8_t* buf = PacketBuffer();
  // Bytes beyond one page's linear area go into page-sized fragments, at
  // most MAX_SKB_FRAGS (17) of them; the program sees the linear part.
  constexpr size_t kMaxFrags = 17;
  if (buf == nullptr) {
    r.err = -ENOMEM;
    return r;
  }
  // The caller's context: metadata (its length in `data`, a multiple of 4
  // up to 32 bytes: xdp_metalen_invalid) in front of the packet, the
  // linear part ending at data_end; no user data before the metadata.
  size_t meta = 0, linear = packet.size();
  if (ctx != nullptr) {
    if (ctx->data_meta != 0 || ctx->data_end > packet.size() ||
        ctx->data > ctx->data_end || (ctx->data & 3) != 0 || ctx->data > 32) {
      r.err = -EINVAL;
      return r;
    }
    meta = ctx->data;
    linear = ctx->data_end;
  }
  // Metadata comes out of the headroom, so the linear limit grows by it.
  linear = std::min(linear, kMaxXdpPacket + meta);
  if (packet.size() - meta < ETH_HLEN) {
    r.err = -EINVAL;
    return r;
  }
  if (packet.size() > linear + kMaxFrags * 4096) {
    r.err = -ENOMEM;
    return r;
  }
  // xdp_convert_md_to_buff(): no egress device; an ingress device with a
  // receive queue it has. The devices are the emulated ones (emu/netdev.h),
  // each with one receive queue, registered for XDP as
  // netif_alloc_rx_queues registers every device's.
  if (ctx != nullptr) {
    if (ctx->egress_ifindex != 0 ||
        (ctx->ingress_ifindex == 0 && ctx->rx_queue_index != 0)) {
      r.err = -EINVAL;
      return r;
    }
    if (ctx->ingress_ifindex != 0 && !NetdevExists(ctx->ingress_ifindex)) {
      r.err = -ENODEV;
      return r;
    }
    if (ctx->rx_queue_index >= 1) {
      r.err = -EINVAL;
      return r;
    }
  }
  uint8_t* data = buf + kHeadroom + kIpAlign;
  uint8_t* start = data - meta;
  // bpf_test_init() allocates the frame zeroed: a moved head or metadata
  // shows zeros, not an earlier run's bytes.
  std::memset(buf, 0, static_cast<size_t>(start - buf));
  std::memcpy(start, packet.data(), linear);
  struct xdp_md md = {};
  md.data_meta = Low32(start);
  md.data = Low32(data);
  md.data_end = Low32(start + linear);
  // The ingress device: the caller's, else lo (the test run's default
  // receive queue).
  md.ingress_ifindex = ctx != nullptr && ctx->ingress_ifindex != 0
                           ? ctx->ingress_ifindex
                           : kLoopbackIfindex;
  // The frame the adjust helpers keep the packet in: its headroom starts
  // XDP_PACKET_HEADROOM before the metadata-free data, and its usable end
  // is the page less the skb_shared_info tailroom.
  const uint8_t* hard_start = data - kHeadroom;
  // The bytes past the linear part, in page-sized fragments.
  std::vector<std::vector<uint8_t>> frags;
  for (size_t off = linear; off < packet.size(); off += 4096) {
    const size_t n = std::min<size_t>(4096, packet.size() - off);
    frags.emplace_back(packet.begin() + off, packet.begin() + off + n);
  }
  SetXdpFrame(reinterpret_cast<uintptr_t>(hard_start),
              reinterpret_cast<uintptr_t>(hard_start + 4096 - kSharedInfo),
              &frags, md.ingress_ifindex);
  r.retval = ProgRun(prog, &md);
  SetXdpFrame(0, 0, nullptr);
  // The output runs from the metadata to data_end, then the fragments.
  const auto* from = reinterpret_cast<const uint8_t*>(uintptr_t{md.data_meta});
  const auto* end = reinterpret_cast<const uint8_t*>(uintptr_t{md.data_end});
  r.data_out.assign(from, end);
  for (const auto& f : frags) {
    r.data_out.insert(r.data_out.end(), f.begin(), f.end());
  }
  if (ctx != nullptr) {
    // xdp_convert_buff_to_md(): offsets from the metadata's start.
    struct xdp_md out = *ctx;
    out.data = md.data - md.data_meta;
    out.data_end = md.data_end - md.data_meta;
    const auto* o = reinterpret_cast<const uint8_t*>(&out);
    r.ctx_out.assign(o, o + sizeof(out));
  }
  return r;
}

PacketResult RunSkb(const Prog& prog, absl::Span<const uint8_t> packet,
                    const struct __sk_buff* ctx_in) {
  // bpf_test_run: the program's cgroup storages, for this run (or the
  // repeat loop around it).
  CgroupStorageRun storages;
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
  uint8_t* data = buf + kSkbHeadroom + kIpAlign;
  std::memcpy(data, packet.data(), packet.size());
  struct __sk_buff skb = {};
  if (ctx_in != nullptr) {
    // convert___skb_to_skb(): only the settable fields may be non-zero.
    struct __sk_buff allowed = {};
    allowed.mark = ctx_in->mark;
    allowed.priority = ctx_in->priority;
    allowed.ingress_ifindex = ctx_in->ingress_ifindex;
    allowed.ifindex = ctx_in->ifindex;
    std::memcpy(allowed.cb, ctx_in->cb, sizeof(allowed.cb));
    allowed.tstamp = ctx_in->tstamp;
    allowed.wire_len = ctx_in->wire_len;
    allowed.gso_segs = ctx_in->gso_segs;
    allowed.gso_size = ctx_in->gso_size;
    allowed.hwtstamp = ctx_in->hwtstamp;
    if (std::memcmp(&allowed, ctx_in, sizeof(allowed)) != 0) {
      r.err = -EINVAL;
      return r;
    }
    // bpf_prog_test_run_skb(): a device other than lo by ifindex (no
    // other device is modelled).
    if (ctx_in->ifindex > 1) {
      r.err = -ENODEV;
      return r;
    }
    skb.mark = ctx_in->mark;
    skb.priority = ctx_in->priority;
    skb.ingress_ifindex = ctx_in->ingress_ifindex;
    std::memcpy(skb.cb, ctx_in->cb, sizeof(skb.cb));
    skb.tstamp = ctx_in->tstamp;
    skb.gso_segs = ctx_in->gso_segs;
    skb.gso_size = ctx_in->gso_size;
    skb.hwtstamp = ctx_in->hwtstamp;
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
  // The run's socket (sk_alloc in bpf_prog_test_run_skb): its family and
  // addresses from the IP header, the source as the local address.
  const uint8_t* ip = data + ETH_HLEN;
  if (proto == htons(ETH_P_IP)) {
    skb.family = AF_INET;
    std::memcpy(&skb.local_ip4, ip + 12, 4);
    std::memcpy(&skb.remote_ip4, ip + 16, 4);
  } else if (proto == htons(ETH_P_IPV6)) {
    skb.family = AF_INET6;
    std::memcpy(skb.local_ip6, ip + 8, 16);
    std::memcpy(skb.remote_ip6, ip + 24, 16);
  }
  // eth_type_trans() pulled the Ethernet header; only tc-like (L2)
  // programs get it pushed back before they run (is_l2 in test_run.c).
  const bool is_l2 = prog.type == BPF_PROG_TYPE_SCHED_CLS ||
                     prog.type == BPF_PROG_TYPE_SCHED_ACT;
  const size_t pulled = is_l2 ? 0 : ETH_HLEN;
  skb.len = static_cast<uint32_t>(packet.size() - pulled);
  skb.data = Low32(data + pulled);
  skb.data_end = Low32(data + packet.size());
  if (ctx_in != nullptr) {
    // The wire length: the packet's by default, never shorter than it
    // nor above GSO_LEGACY_MAX_SIZE; at most GSO_MAX_SEGS segments.
    if (ctx_in->wire_len == 0) {
      skb.wire_len = skb.len;
    } else if (ctx_in->wire_len < skb.len || ctx_in->wire_len > 65536) {
      r.err = -EINVAL;
      return r;
    } else {
      skb.wire_len = ctx_in->wire_len;
    }
    if (ctx_in->gso_segs > 65535) {
      r.err = -EINVAL;
      return r;
    }
  }
  // The run's socket, freed (with its storage) after the run.
  native::RunSocket sock;
  if (skb.family == AF_INET) {
    sock.SetAddresses(AF_INET, &skb.local_ip4, &skb.remote_ip4);
  } else if (skb.family == AF_INET6) {
    sock.SetAddresses(AF_INET6, skb.local_ip6, skb.remote_ip6);
  }
  skb.sk = static_cast<struct bpf_sock*>(sock.sk());
  const struct __sk_buff before = skb;
  // The frame the skb-mutating helpers keep the packet in: the mac header
  // at the frame's start, the network header after it (eth_type_trans,
  // skb_reset_network_header), no hash yet.
  SkbFrame frame;
  frame.head = reinterpret_cast<uintptr_t>(buf);
  frame.end = reinterpret_cast<uintptr_t>(buf + kBufferSize);
  frame.mac = reinterpret_cast<uintptr_t>(data);
  frame.network = reinterpret_cast<uintptr_t>(data + ETH_HLEN);
  frame.prog_type = prog.type;
  SetSkbFrame(&frame);
  // LWT_SEG6LOCAL: the segment routing header state around the run (a
  // test run's has none; the End.BPF model's, native/seg6local.h).
  const bool seg6 = prog.type == BPF_PROG_TYPE_LWT_SEG6LOCAL;
  if (!seg6 || Seg6RunBegin(&frame, &skb)) r.retval = ProgRun(prog, &skb);
  if (seg6) Seg6RunEnd(&frame, &skb, r.retval);
  SetSkbFrame(nullptr);
  // The packet as the run left it: skb->len bytes from skb->data (which
  // the helpers may have moved), the pulled header back in front.
  const auto* out_start =
      reinterpret_cast<const uint8_t*>(uintptr_t{skb.data}) - pulled;
  r.data_out.assign(out_start, out_start + pulled + skb.len);
  // The header pulled before the run is pushed back zeroed.
  if (!is_l2) std::memset(r.data_out.data(), 0, ETH_HLEN);
  if (ctx_in != nullptr) {
    // convert_skb_to___skb(): what the program may have changed (mark,
    // priority, cb, tstamp) and the rest as the run set it, over the
    // context given (bpf_ctx_init's copy: gso_size comes back as given,
    // even after bpf_skb_change_tail reset the skb's GSO).
    struct __sk_buff out = *ctx_in;
    out.mark = skb.mark;
    out.priority = skb.priority;
    out.ingress_ifindex = before.ingress_ifindex;
    out.ifindex = 1;
    out.tstamp = skb.tstamp;
    std::memcpy(out.cb, skb.cb, sizeof(out.cb));
    out.wire_len = before.wire_len;
    out.gso_segs = skb.gso_segs;  // skb_gso_reset may have cleared it
    out.hwtstamp = before.hwtstamp;
    const auto* o = reinterpret_cast<const uint8_t*>(&out);
    r.ctx_out.assign(o, o + sizeof(out));
  }
  return r;
}

namespace {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// bpf_ctx_init(): a zeroed context of `size` bytes when either context
// buffer is given; the input's bytes past `size` must be zero (E2BIG).
int CtxInit(const TestRunAttr& a, size_t size, std::vector<uint8_t>* ctx) {
  ctx->clear();
  if (a.ctx_in == nullptr && !a.ctx_out) return 0;
  ctx->assign(size, 0);
  if (a.ctx_in != nullptr) {
    for (uint32_t i = static_cast<uint32_t>(size); i < a.ctx_size_in; ++i) {
      if (a.ctx_in[i] != 0) return -E2BIG;
    }
    std::memcpy(ctx->data(), a.ctx_in, std::min<size_t>(size, a.ctx_size_in));
  }
  return 0;
}

// bpf_test_finish() and bpf_ctx_finish() for the packet types.
int Finish(const TestRunAttr& a, PacketResult& r, uint32_t duration,
           bool ctx_given, TestRunOutput* out) {
  out->data = std::move(r.data_out);
  const uint32_t size = static_cast<uint32_t>(out->data.size());
  int err = 0;
  out->data_copy = size;
  // A data_size_out of 0 means "not interested": no limit.
  if (a.data_size_out != 0 && size > a.data_size_out) {
    out->data_copy = a.data_size_out;
    err = -ENOSPC;
  }
  if (!a.data_out) out->data_copy = 0;
  out->write_data = true;
  out->write_retval = true;
  out->retval = r.retval;
  out->duration = duration;
  if (err == 0 && ctx_given && a.ctx_out) {
    out->ctx = std::move(r.ctx_out);
    out->ctx_copy = static_cast<uint32_t>(out->ctx.size());
    if (out->ctx_copy > a.ctx_size_out) {
      out->ctx_copy = a.ctx_size_out;
      err = -ENOSPC;
    }
    out->write_ctx = true;
  }
  return err;
}

}  // namespace

PacketResult RunSeg6LocalEndBpf(const Prog& prog,
                                absl::Span<const uint8_t> packet,
                                Seg6EndBpfResult* hook) {
  *hook = Seg6EndBpfResult{};
  Seg6SetEndBpf(hook);
  PacketResult r = RunSkb(prog, packet);
  Seg6SetEndBpf(nullptr);
  return r;
}

int CheckTestRunAttr(const TestRunAttr& a) {
  // bpf_prog_test_run(): each context buffer with its size.
  if ((a.ctx_size_in != 0) != (a.ctx_in != nullptr) ||
      (a.ctx_size_out != 0) != a.ctx_out) {
    return -EINVAL;
  }
  return 0;
}

namespace {

int RunByType(const Prog& prog, const TestRunAttr& a, TestRunOutput* out,
              bool (*keep_going)(void*), void* keep_going_arg) {
  switch (prog.type) {
    case BPF_PROG_TYPE_LWT_SEG6LOCAL:
      // lwt_seg6local_prog_ops lost its test run (bpf_prog_test_run_skb)
      // in 6.11, and Debian's 6.1 build has the removal too (6.1 stable):
      // -ENOTSUPP on every kernel bpfemu models, measured on the guests
      // (tests/examples/seg6local_compare_test.cc).
      return -kENOTSUPP;
    case BPF_PROG_TYPE_XDP:
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT: {
      const bool xdp = prog.type == BPF_PROG_TYPE_XDP;
      bool live = false;
      if (xdp) {
        // bpf_prog_test_run_xdp(): not for devmap / cpumap programs; the
        // live-frames flag and its batch size.
        if (prog.expected_attach_type == BPF_XDP_DEVMAP ||
            prog.expected_attach_type == BPF_XDP_CPUMAP ||
            (a.flags & ~uint32_t{BPF_F_TEST_XDP_LIVE_FRAMES})) {
          return -EINVAL;
        }
        live = a.flags & BPF_F_TEST_XDP_LIVE_FRAMES;
        if (live && a.batch_size > 256) return -E2BIG;
        if (!live && a.batch_size != 0) return -EINVAL;
      } else if (a.flags != 0 || a.cpu != 0 || a.batch_size != 0) {
        return -EINVAL;  // bpf_prog_test_run_skb()
      }
      std::vector<uint8_t> ctx;
      if (int err = CtxInit(a, xdp ? sizeof(xdp_md) : sizeof(__sk_buff), &ctx);
          err != 0) {
        return err;
      }
      if (xdp && live && !ctx.empty() && (a.data_out || a.ctx_out)) {
        return -EINVAL;
      }
      if (a.data_in == nullptr) return -EINVAL;
      absl::Span<const uint8_t> in(a.data_in, a.data_size_in);
      const uint32_t repeat = a.repeat > 1 ? a.repeat : 1;
      // bpf_test_run allocates the cgroup storages once for all repeats.
      CgroupStorageRun storages;
      PacketResult r;
      const uint64_t start = NowNs();
      uint64_t checked = start;
      for (uint32_t i = 0; i < repeat; ++i) {
        r = xdp ? RunXdp(prog, in,
                         ctx.empty()
                             ? nullptr
                             : reinterpret_cast<const xdp_md*>(ctx.data()))
                : RunSkb(prog, in,
                         ctx.empty()
                             ? nullptr
                             : reinterpret_cast<const __sk_buff*>(ctx.data()));
        if (r.err != 0) return r.err;
        out->runs = i + 1;
        // The interpreter stopped a program the verifier would refuse.
        if (ProgFaulted()) return -EFAULT;
        if (keep_going != nullptr && i % 1024 == 1023 &&
            NowNs() - checked > 1000000) {
          checked = NowNs();
          if (!keep_going(keep_going_arg)) return -EINTR;
        }
      }
      const uint32_t duration =
          static_cast<uint32_t>((NowNs() - start) / repeat);
      if (live) {
        // Live frames go to the stack, not back: no output, no retval.
        r.retval = 0;
        r.data_out.assign(in.begin(), in.end());
      }
      return Finish(a, r, duration, !ctx.empty(), out);
    }
    case BPF_PROG_TYPE_RAW_TRACEPOINT: {
      // bpf_prog_test_run_raw_tp(): a context of at most 12 arguments and
      // no shorter than the program reads, on the current CPU or the one
      // asked for.
      if (a.data_in != nullptr || a.data_out || a.ctx_out || a.duration ||
          a.repeat || a.batch_size ||
          a.ctx_size_in > kMaxTracingArgs * sizeof(uint64_t) ||
          a.ctx_size_in < prog.max_ctx_offset) {
        return -EINVAL;
      }
      if (!(a.flags & BPF_F_TEST_RUN_ON_CPU) && a.cpu != 0) return -EINVAL;
      if ((a.flags & BPF_F_TEST_RUN_ON_CPU) &&
          a.cpu >= static_cast<uint32_t>(NumPossibleCpus())) {
        return -ENXIO;
      }
      std::vector<uint64_t> ctx(kMaxTracingArgs, 0);
      if (a.ctx_in != nullptr) std::memcpy(ctx.data(), a.ctx_in, a.ctx_size_in);
      const int cpu = (a.flags & BPF_F_TEST_RUN_ON_CPU)
                          ? static_cast<int>(a.cpu)
                          : static_cast<int>(CurrentCpu(
                                static_cast<uint32_t>(NumPossibleCpus())));
      ScopedCpu on(cpu);
      out->retval = ProgRun(prog, ctx.data());
      out->runs = 1;
      if (ProgFaulted()) return -EFAULT;
      out->write_retval = true;
      return 0;
    }
    case BPF_PROG_TYPE_TRACING: {
      // bpf_prog_test_run_tracing(): no flags, CPU or batch; the buffers
      // and repeat are not looked at. The program itself does not run: the
      // run calls the test functions of its attach type, which run the
      // programs attached to them (emu/trampoline.h); other attach types
      // (tp_btf, iterators) are EFAULT, as measured on 6.18.
      if (a.flags != 0 || a.cpu != 0 || a.batch_size != 0) return -EINVAL;
      if (int err = TracingTestRun(prog, &out->retval); err != 0) return err;
      out->write_retval = true;
      return 0;
    }
    case BPF_PROG_TYPE_SK_LOOKUP: {
      // bpf_prog_test_run_sk_lookup(): no flags, CPU, batch or data; a
      // struct bpf_sk_lookup in (required) without a socket and with
      // nothing after local_port, a 16-bit local port (ERANGE), an inet
      // family (EAFNOSUPPORT). No socket is ever selected here
      // (bpf_sk_assign answers EOPNOTSUPP), so the cookie written back is 0
      // and the verdict is the program's (BPF_PROG_SK_LOOKUP_RUN_ARRAY:
      // SK_DROP only for SK_DROP).
      if (a.flags != 0 || a.cpu != 0 || a.batch_size != 0) return -EINVAL;
      if (a.data_in != nullptr || a.data_size_in != 0 || a.data_out ||
          a.data_size_out != 0) {
        return -EINVAL;
      }
      std::vector<uint8_t> user;
      if (int err = CtxInit(a, sizeof(struct bpf_sk_lookup), &user); err != 0) {
        return err;
      }
      if (user.empty()) return -EINVAL;
      struct bpf_sk_lookup u;
      std::memcpy(&u, user.data(), sizeof(u));
      if (u.cookie != 0 || u.ingress_ifindex != 0) return -EINVAL;
      if (u.local_port > 0xffff) return -ERANGE;
      // What the program reads (sk_lookup_convert_ctx_access over struct
      // bpf_sk_lookup_kern): the family's addresses only, 16-bit family,
      // protocol and ports, no socket, ingress_ifindex 0. The buffer is as
      // long as the interpreter's context for this type.
      std::vector<uint8_t> ctx(
          std::max(sizeof(struct bpf_sk_lookup), kMaxTracingArgs * 8), 0);
      struct bpf_sk_lookup k = {};
      k.family = static_cast<uint16_t>(u.family);
      k.protocol = static_cast<uint16_t>(u.protocol);
      k.remote_port = u.remote_port;
      k.local_port = static_cast<uint16_t>(u.local_port);
      switch (k.family) {
        case AF_INET:
          k.local_ip4 = u.local_ip4;
          k.remote_ip4 = u.remote_ip4;
          break;
        case AF_INET6:
          std::memcpy(k.local_ip6, u.local_ip6, sizeof(k.local_ip6));
          std::memcpy(k.remote_ip6, u.remote_ip6, sizeof(k.remote_ip6));
          break;
        default:
          return -EAFNOSUPPORT;
      }
      const uint32_t repeat = a.repeat > 1 ? a.repeat : 1;
      PacketResult r;
      const uint64_t start = NowNs();
      uint64_t checked = start;
      for (uint32_t i = 0; i < repeat; ++i) {
        std::memcpy(ctx.data(), &k, sizeof(k));
        r.retval = ProgRun(prog, ctx.data()) == SK_DROP ? SK_DROP : SK_PASS;
        out->runs = i + 1;
        if (ProgFaulted()) return -EFAULT;
        if (keep_going != nullptr && i % 1024 == 1023 &&
            NowNs() - checked > 1000000) {
          checked = NowNs();
          if (!keep_going(keep_going_arg)) return -EINTR;
        }
      }
      const uint32_t duration =
          static_cast<uint32_t>((NowNs() - start) / repeat);
      u.cookie = 0;
      r.ctx_out.assign(reinterpret_cast<const uint8_t*>(&u),
                       reinterpret_cast<const uint8_t*>(&u) + sizeof(u));
      return Finish(a, r, duration, true, out);
    }
    case BPF_PROG_TYPE_SYSCALL: {
      // bpf_prog_test_run_syscall(): a context of up to 64 KiB that the
      // program may change, copied back to ctx_in.
      if (a.data_in != nullptr || a.data_out || a.ctx_out || a.duration ||
          a.repeat || a.flags || a.batch_size || a.ctx_size_in > 65535 ||
          a.ctx_size_in < prog.max_ctx_offset) {
        return -EINVAL;
      }
      // The program may reach any offset below U16_MAX (interp CtxSize):
      // beyond ctx_size_in it sees zeros.
      std::vector<uint8_t> ctx(65535, 0);
      if (a.ctx_in != nullptr) std::memcpy(ctx.data(), a.ctx_in, a.ctx_size_in);
      out->retval = ProgRun(prog, ctx.data());
      out->runs = 1;
      if (ProgFaulted()) return -EFAULT;
      out->write_retval = true;
      if (a.ctx_size_in != 0) {
        out->ctx.assign(ctx.begin(), ctx.begin() + a.ctx_size_in);
        out->ctx_copy = a.ctx_size_in;
        out->ctx_to_ctx_in = true;
      }
      return 0;
    }
    default:
      return -kENOTSUPP;
  }
}

}  // namespace

int TestRun(const Prog& prog, const TestRunAttr& a, TestRunOutput* out,
            bool (*keep_going)(void*), void* keep_going_arg) {
  *out = TestRunOutput{};
  if (int err = CheckTestRunAttr(a); err != 0) return err;
  const uint64_t start = NowNs();
  const int err = RunByType(prog, a, out, keep_going, keep_going_arg);
  if (out->runs != 0) out->run_ns = NowNs() - start;
  return err;
}

}  // namespace bpfemu::native
