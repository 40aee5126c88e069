// SPDX-License-Identifier: Apache-2.0
// The socket casts and accessors (net/core/filter.c bpf_tcp_sock,
// bpf_skc_to_*_sock, bpf_sk_cgroup_id, bpf_sk_ancestor_cgroup_id) over the
// sockets native/sk_lookup.cc builds from sock_diag. Each looked-up socket
// carries the two views a program can read:
//  - struct bpf_tcp_sock (include/uapi/linux/bpf.h), whose fields
//    bpf_tcp_sock_convert_ctx_access reads from struct tcp_sock, filled
//    from the socket's tcp_info (INET_DIAG_INFO, net/ipv4/tcp.c
//    tcp_get_info, which reports the same tcp_sock fields);
//  - the bytes of the kernel's own struct (tcp_sock, tcp6_sock, udp_sock,
//    udp6_sock, tcp_timewait_sock, tcp_request_sock), which the skc casts
//    return as BTF pointers: sized and laid out by the kernel BTF
//    (emu/kernel_btf.h), with sock_common's addresses, ports, family and
//    state, sock's type and protocol and the tcp_sock fields above at the
//    offsets the BTF gives, so that CO-RE reads of them answer the model.
// docs/semantics.md (Socket casts and accessors) lists what sock_diag does
// not report and bpfemu therefore cannot know.

#include "native/sock_helpers.h"

#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "bpfemu/native_abi.h"
#include "emu/cgroup.h"
#include "emu/kernel_btf.h"
#include "native/helpers.h"
#include "native/sk_lookup.h"

namespace bpfemu::native {
namespace {

// include/net/tcp_states.h
constexpr uint32_t kTcpTimeWait = 6, kTcpListen = 10, kTcpNewSynRecv = 12;
// include/net/tcp.h TCP_INFINITE_SSTHRESH; tcp_get_info reports 0 for it
// (tcp_in_initial_slowstart).
constexpr uint32_t kInfiniteSsthresh = 0x7fffffff;
constexpr uint32_t kTcpMssDefault = 536;  // include/net/tcp.h TCP_MSS_DEFAULT
// include/net/tcp.h TCP_ECN_OK / TCP_ECN_SEEN, as tcp_get_info reports
// them in tcpi_options (TCPI_OPT_ECN / TCPI_OPT_ECN_SEEN).
constexpr uint8_t kEcnOk = 1, kEcnSeen = 8;

// A member's place in a kernel struct: byte offset and size (size 0: not
// found, or a bit field).
struct Field {
  uint32_t off = 0;
  uint32_t size = 0;
};

// The member `name` of struct `id` (KernelBtf::FindMember: anonymous
// struct and union members are looked into, as C does).
Field Member(const KernelBtf& btf, uint32_t id, std::string_view name) {
  const KernelBtf::Field f = btf.FindMember(id, name);
  return f.offset >= 0 ? Field{static_cast<uint32_t>(f.offset), f.size}
                       : Field{};
}

// Where the model's fields are in the kernel's structs, read once.
struct Layout {
  int32_t tcp6_sock = -1, tcp_sock = -1, udp6_sock = -1, udp_sock = -1,
          tcp_timewait_sock = -1, tcp_request_sock = -1;
  // struct sock_common (first in every socket struct).
  Field family, state, num, dport, daddr, rcv_saddr, v6_daddr, v6_rcv_saddr,
      bound_dev_if, cookie;
  // struct sock (first in every full socket).
  Field type, protocol;
  // struct tcp_sock, and inet_connection_sock (first in it).
  Field snd_cwnd, srtt_us, rtt_min, snd_ssthresh, mss_cache, ecn_flags,
      packets_out, retrans_out, total_retrans, segs_in, data_segs_in, segs_out,
      data_segs_out, lost_out, sacked_out, bytes_received, bytes_acked,
      dsack_dups, delivered, delivered_ce, icsk_retransmits;
};

const Layout* GetLayout() {
  static const Layout* layout = []() -> const Layout* {
    const KernelBtf* btf = KernelBtf::Get();
    if (btf == nullptr) return nullptr;
    auto* l = new Layout();
    auto id = [&](const char* name) {
      return btf->FindByNameKind(name, BTF_KIND_STRUCT);
    };
    l->tcp6_sock = id("tcp6_sock");
    l->tcp_sock = id("tcp_sock");
    l->udp6_sock = id("udp6_sock");
    l->udp_sock = id("udp_sock");
    l->tcp_timewait_sock = id("tcp_timewait_sock");
    l->tcp_request_sock = id("tcp_request_sock");
    const int32_t common = id("sock_common"), sock = id("sock"),
                  icsk = id("inet_connection_sock");
    auto in = [&](int32_t s, const char* name) {
      return s > 0 ? Member(*btf, static_cast<uint32_t>(s), name) : Field{};
    };
    l->family = in(common, "skc_family");
    l->state = in(common, "skc_state");
    l->num = in(common, "skc_num");
    l->dport = in(common, "skc_dport");
    l->daddr = in(common, "skc_daddr");
    l->rcv_saddr = in(common, "skc_rcv_saddr");
    l->v6_daddr = in(common, "skc_v6_daddr");
    l->v6_rcv_saddr = in(common, "skc_v6_rcv_saddr");
    l->bound_dev_if = in(common, "skc_bound_dev_if");
    l->cookie = in(common, "skc_cookie");
    l->type = in(sock, "sk_type");
    l->protocol = in(sock, "sk_protocol");
    const int32_t tp = l->tcp_sock;
    l->snd_cwnd = in(tp, "snd_cwnd");
    l->srtt_us = in(tp, "srtt_us");
    // bpf_tcp_sock_convert_ctx_access reads rtt_min.s[0].v: the second u32
    // of struct minmax_sample.
    l->rtt_min = in(tp, "rtt_min");
    if (l->rtt_min.size >= 8) l->rtt_min = {l->rtt_min.off + 4, 4};
    l->snd_ssthresh = in(tp, "snd_ssthresh");
    l->mss_cache = in(tp, "mss_cache");
    l->ecn_flags = in(tp, "ecn_flags");
    l->packets_out = in(tp, "packets_out");
    l->retrans_out = in(tp, "retrans_out");
    l->total_retrans = in(tp, "total_retrans");
    l->segs_in = in(tp, "segs_in");
    l->data_segs_in = in(tp, "data_segs_in");
    l->segs_out = in(tp, "segs_out");
    l->data_segs_out = in(tp, "data_segs_out");
    l->lost_out = in(tp, "lost_out");
    l->sacked_out = in(tp, "sacked_out");
    l->bytes_received = in(tp, "bytes_received");
    l->bytes_acked = in(tp, "bytes_acked");
    l->dsack_dups = in(tp, "dsack_dups");
    l->delivered = in(tp, "delivered");
    l->delivered_ce = in(tp, "delivered_ce");
    l->icsk_retransmits = in(icsk, "icsk_retransmits");
    return l;
  }();
  return layout;
}

// Stores the low f.size bytes of `v` (little-endian, as the host and BPF
// read them) at f; a field the BTF lacks, or one past the view, is left.
void Put(std::vector<uint8_t>& view, const Field& f, uint64_t v) {
  if (f.size == 0 || f.size > 8 || f.off + f.size > view.size()) return;
  std::memcpy(view.data() + f.off, &v, f.size);
}
void PutBytes(std::vector<uint8_t>& view, const Field& f, const void* p,
              uint32_t n) {
  if (f.size != n || f.off + n > view.size()) return;
  std::memcpy(view.data() + f.off, p, n);
}

bool IsTcp(const LookedUpSock& s) { return s.sk.protocol == IPPROTO_TCP; }

// tcp_get_info's report turned back into the tcp_sock fields it came from.
void FillTcp(LookedUpSock* s) {
  const tcp_info& i = s->extra.info;
  struct bpf_tcp_sock& t = s->tcp;
  t.snd_cwnd = i.tcpi_snd_cwnd;
  if (s->sk.state == kTcpListen) {
    // tcp_get_info reports only snd_cwnd of a listener (tcpi_unacked and
    // tcpi_sacked are its accept queue's length and limit). A listener
    // has sent and received nothing: the rest are tcp_init_sock's values.
    t.rtt_min = ~0u;  // minmax_reset(&tp->rtt_min, ..., ~0U)
    t.snd_ssthresh = kInfiniteSsthresh;
    t.mss_cache = kTcpMssDefault;
    return;
  }
  // tcpi_rtt is srtt_us >> 3: the three low bits are lost.
  t.srtt_us = i.tcpi_rtt << 3;
  t.rtt_min = i.tcpi_min_rtt;
  t.snd_ssthresh =
      i.tcpi_snd_ssthresh == 0 ? kInfiniteSsthresh : i.tcpi_snd_ssthresh;
  t.mss_cache = i.tcpi_snd_mss;
  t.ecn_flags = ((i.tcpi_options & TCPI_OPT_ECN) ? kEcnOk : 0) |
                ((i.tcpi_options & TCPI_OPT_ECN_SEEN) ? kEcnSeen : 0);
  t.packets_out = i.tcpi_unacked;
  t.sacked_out = i.tcpi_sacked;
  t.retrans_out = i.tcpi_retrans;
  t.total_retrans = i.tcpi_total_retrans;
  t.segs_in = i.tcpi_segs_in;
  t.data_segs_in = i.tcpi_data_segs_in;
  t.segs_out = i.tcpi_segs_out;
  t.data_segs_out = i.tcpi_data_segs_out;
  t.lost_out = i.tcpi_lost;
  t.bytes_received = i.tcpi_bytes_received;
  t.bytes_acked = i.tcpi_bytes_acked;
  t.dsack_dups = i.tcpi_dsack_dups;
  t.delivered = i.tcpi_delivered;
  t.delivered_ce = i.tcpi_delivered_ce;
  t.icsk_retransmits = i.tcpi_retransmits;
}

// The kernel struct the socket is, by the BTF: its id, or -1.
int32_t KernelTypeOf(const Layout& l, const LookedUpSock& s) {
  if (IsTcp(s) && s.sk.state == kTcpTimeWait) return l.tcp_timewait_sock;
  if (IsTcp(s) && s.sk.state == kTcpNewSynRecv) return l.tcp_request_sock;
  const bool v6 = s.sk.family == AF_INET6;
  if (IsTcp(s)) return v6 ? l.tcp6_sock : l.tcp_sock;
  return v6 ? l.udp6_sock : l.udp_sock;
}

void FillView(LookedUpSock* s) {
  const Layout* l = GetLayout();
  if (l == nullptr) return;
  const int32_t id = KernelTypeOf(*l, *s);
  const int64_t size = id > 0 ? KernelBtf::Get()->Size(id) : -1;
  if (size <= 0) return;
  std::vector<uint8_t>& v = s->kview;
  v.assign(static_cast<size_t>(size), 0);
  const struct bpf_sock& b = s->sk;
  Put(v, l->family, b.family);
  Put(v, l->state, b.state);
  Put(v, l->num, b.src_port);  // skc_num: host order
  Put(v, l->dport, b.dst_port);
  Put(v, l->daddr, b.dst_ip4);
  Put(v, l->rcv_saddr, b.src_ip4);
  PutBytes(v, l->v6_daddr, b.dst_ip6, 16);
  PutBytes(v, l->v6_rcv_saddr, b.src_ip6, 16);
  Put(v, l->bound_dev_if, b.bound_dev_if);
  Put(v, l->cookie, s->cookie);
  if (!s->full) return;
  Put(v, l->type, b.type);
  Put(v, l->protocol, b.protocol);
  if (!IsTcp(*s)) return;
  const struct bpf_tcp_sock& t = s->tcp;
  Put(v, l->snd_cwnd, t.snd_cwnd);
  Put(v, l->srtt_us, t.srtt_us);
  Put(v, l->rtt_min, t.rtt_min);
  Put(v, l->snd_ssthresh, t.snd_ssthresh);
  Put(v, l->mss_cache, t.mss_cache);
  Put(v, l->ecn_flags, t.ecn_flags);
  Put(v, l->packets_out, t.packets_out);
  Put(v, l->retrans_out, t.retrans_out);
  Put(v, l->total_retrans, t.total_retrans);
  Put(v, l->segs_in, t.segs_in);
  Put(v, l->data_segs_in, t.data_segs_in);
  Put(v, l->segs_out, t.segs_out);
  Put(v, l->data_segs_out, t.data_segs_out);
  Put(v, l->lost_out, t.lost_out);
  Put(v, l->sacked_out, t.sacked_out);
  Put(v, l->bytes_received, t.bytes_received);
  Put(v, l->bytes_acked, t.bytes_acked);
  Put(v, l->dsack_dups, t.dsack_dups);
  Put(v, l->delivered, t.delivered);
  Put(v, l->delivered_ce, t.delivered_ce);
  Put(v, l->icsk_retransmits, t.icsk_retransmits);
}

}  // namespace

void FillSockModel(LookedUpSock* s) {
  if (s->full && IsTcp(*s) && s->extra.has_info) FillTcp(s);
  FillView(s);
}

struct bpf_tcp_sock* TcpSock(const void* sk) {
  // A test run's skb->sk is the kernel's dummy socket (protocol 0).
  const LookedUpSock* s = SkOfAlias(sk);
  if (s == nullptr || !s->full || !IsTcp(*s)) return nullptr;
  return const_cast<struct bpf_tcp_sock*>(&s->tcp);
}

void* SkcTo(const void* sk, SkcCast cast, size_t* size) {
  const LookedUpSock* s = SkOfAlias(sk);
  // The test run's socket is of no kind a cast accepts; an AF_UNIX socket
  // and an MPTCP subflow are nothing a lookup finds.
  if (s == nullptr || s->kview.empty()) return nullptr;
  const bool tcp = IsTcp(*s), v6 = s->sk.family == AF_INET6;
  bool ok = false;
  switch (cast) {
    case SkcCast::kTcp6:
      ok = s->full && tcp && v6;
      break;
    case SkcCast::kTcp:
      ok = s->full && tcp;
      break;
    case SkcCast::kTcpTimewait:
      ok = tcp && s->sk.state == kTcpTimeWait;
      break;
    case SkcCast::kTcpRequest:
      ok = tcp && s->sk.state == kTcpNewSynRecv;
      break;
    case SkcCast::kUdp6:
      ok = s->full && s->sk.protocol == IPPROTO_UDP &&
           s->sk.type == SOCK_DGRAM && v6;
      break;
    case SkcCast::kUnix:
    case SkcCast::kMptcp:
      ok = false;
      break;
  }
  if (!ok) return nullptr;
  *size = s->kview.size();
  return const_cast<uint8_t*>(s->kview.data());
}

uint64_t SkCgroupId(const void* sk) {
  // The test run's socket was made by the caller (sk_alloc's
  // cgroup_sk_alloc takes current's cgroup).
  if (IsRunSocket(sk)) return CurrentCgroupId();
  const LookedUpSock* s = SkOfAlias(sk);
  if (s == nullptr || !s->full) return 0;
  return s->extra.cgroup_id;
}

uint64_t SkAncestorCgroupId(const void* sk, int level) {
  if (IsRunSocket(sk)) return CurrentAncestorCgroupId(level);
  const LookedUpSock* s = SkOfAlias(sk);
  if (s == nullptr || !s->full || s->extra.cgroup_id == 0) return 0;
  return AncestorCgroupIdOf(s->extra.cgroup_id, level);
}

namespace {

// include/net/tcp.h: HZ 250 as bpfemu's jiffies count
// (native/syncookie.cc), TCP_SYNCOOKIE_VALID.
constexpr uint32_t kHz = 250;
constexpr uint32_t kSyncookieValid = 2 * 60 * kHz;

// include/linux/jiffies.h time_between32.
bool TimeBetween32(uint32_t t, uint32_t l, uint32_t h) {
  return t - l <= h - l;
}

// The listeners' last SYN queue overflow (tcp_sk(sk)->rx_opt
// .ts_recent_stamp as tcp_synq_overflow sets it), by socket cookie. A
// listener not in it never overflowed in this process.
std::mutex g_overflow_mu;
std::unordered_map<uint64_t, uint32_t>* Overflows() {
  static auto* m = new std::unordered_map<uint64_t, uint32_t>();
  return m;
}

uint32_t Jiffies32() { return static_cast<uint32_t>(bpfemu_jiffies64()); }

// tcp_synq_overflow.
void SynqOverflow(uint64_t cookie) {
  const uint32_t now = Jiffies32();
  std::lock_guard<std::mutex> lock(g_overflow_mu);
  auto [it, fresh] = Overflows()->try_emplace(cookie, now);
  if (!fresh && !TimeBetween32(now, it->second, it->second + kHz)) {
    it->second = now;
  }
}

// tcp_synq_no_recent_overflow.
bool SynqNoRecentOverflow(uint64_t cookie) {
  std::lock_guard<std::mutex> lock(g_overflow_mu);
  const auto it = Overflows()->find(cookie);
  if (it == Overflows()->end()) return true;
  const uint32_t last = it->second;
  return !TimeBetween32(Jiffies32(), last - kHz, last + kSyncookieValid);
}

// net.ipv4.tcp_syncookies of the caller's netns (/proc/sys/net is the
// opener's netns); the kernel's default 1 if it cannot be read.
int SyncookiesSysctl() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_syncookies");
  int v = 1;
  if (!(in >> v)) return 1;
  return v;
}

constexpr uint32_t kTcpHdrLen = 20, kIpHdrLen = 20, kIpv6HdrLen = 40;

// The listener `sk` names (a full TCP socket in TCP_LISTEN), else nullptr.
const LookedUpSock* Listener(const void* sk) {
  const LookedUpSock* s = SkOfAlias(sk);
  if (s == nullptr || s->sk.state != kTcpListen || !IsTcp(*s)) return nullptr;
  return s;
}

uint8_t IpVersion(const void* iph) {
  return static_cast<const uint8_t*>(iph)[0] >> 4;
}

}  // namespace

int64_t TcpGenSyncookie(const void* sk, const void* iph, uint32_t iph_len,
                        const void* th_p, uint32_t th_len) {
  const auto* th = static_cast<const tcphdr*>(th_p);
  if (sk == nullptr || th_len < kTcpHdrLen || th_len != th->doff * 4u) {
    return -EINVAL;
  }
  // The test run's socket and every other non-listener.
  const LookedUpSock* s = Listener(sk);
  if (s == nullptr) return -EINVAL;
  const int syncookies = SyncookiesSysctl();
  if (syncookies == 0) return -ENOENT;
  if (!th->syn || th->ack || th->fin || th->rst) return -EINVAL;
  if (iph_len < kIpHdrLen) return -EINVAL;
  const uint8_t version = IpVersion(iph);
  if (version == 4) {
    if (s->sk.family == AF_INET6 && s->extra.v6only) return -EINVAL;
  } else if (version == 6) {
    if (iph_len < kIpv6HdrLen || s->sk.family != AF_INET6) return -EINVAL;
  } else {
    return -EPROTONOSUPPORT;
  }
  // tcp_get_syncookie_mss: with tcp_syncookies 1 only when the SYN queue
  // is longer than the backlog; sock_diag does not report its length,
  // bpfemu takes it as 0, never longer (docs/semantics.md). Never when the
  // accept queue is full.
  if (syncookies != 2) return -ENOENT;
  if (s->extra.ack_backlog > s->extra.max_ack_backlog) return -ENOENT;
  const int64_t r = version == 4
                        ? bpfemu_tcp_raw_gen_syncookie_ipv4(iph, th_p, th_len)
                        : bpfemu_tcp_raw_gen_syncookie_ipv6(iph, th_p, th_len);
  if (r >= 0) SynqOverflow(s->cookie);
  return r;
}

long TcpCheckSyncookie(const void* sk, const void* iph, uint32_t iph_len,
                       const void* th_p, uint32_t th_len) {
  const auto* th = static_cast<const tcphdr*>(th_p);
  if (sk == nullptr || th_len < kTcpHdrLen) return -EINVAL;
  const LookedUpSock* s = Listener(sk);
  if (s == nullptr) return -EINVAL;
  if (SyncookiesSysctl() == 0) return -EINVAL;
  if (!th->ack || th->rst || th->syn) return -ENOENT;
  if (iph_len < kIpHdrLen) return -EINVAL;
  if (SynqNoRecentOverflow(s->cookie)) return -ENOENT;
  long r;
  switch (IpVersion(iph)) {
    case 4:
      if (s->sk.family == AF_INET6 && s->extra.v6only) return -EINVAL;
      r = bpfemu_tcp_raw_check_syncookie_ipv4(iph, th_p);
      break;
    case 6:
      if (iph_len < kIpv6HdrLen || s->sk.family != AF_INET6) return -EINVAL;
      r = bpfemu_tcp_raw_check_syncookie_ipv6(iph, th_p);
      break;
    default:
      return -EPROTONOSUPPORT;
  }
  return r == 0 ? 0 : -ENOENT;
}

}  // namespace bpfemu::native

extern "C" {

struct bpf_tcp_sock* bpfemu_tcp_sock(void* sk) {
  return bpfemu::native::TcpSock(sk);
}

void* bpfemu_skc_to(void* sk, int cast) {
  size_t size = 0;
  return bpfemu::native::SkcTo(sk, static_cast<bpfemu::native::SkcCast>(cast),
                               &size);
}

__u64 bpfemu_sk_cgroup_id(void* sk) { return bpfemu::native::SkCgroupId(sk); }

__u64 bpfemu_sk_ancestor_cgroup_id(void* sk, int level) {
  return bpfemu::native::SkAncestorCgroupId(sk, level);
}

__s64 bpfemu_tcp_gen_syncookie(void* sk, void* iph, __u32 iph_len, void* th,
                               __u32 th_len) {
  return bpfemu::native::TcpGenSyncookie(sk, iph, iph_len, th, th_len);
}

long bpfemu_tcp_check_syncookie(void* sk, void* iph, __u32 iph_len, void* th,
                                __u32 th_len) {
  return bpfemu::native::TcpCheckSyncookie(sk, iph, iph_len, th, th_len);
}

}  // extern "C"
