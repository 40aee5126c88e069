// SPDX-License-Identifier: Apache-2.0
// The emulated TCP socket of BPF congestion controls and its kfuncs and
// helper: net/ipv4/tcp_cong.c (tcp_slow_start, tcp_cong_avoid_ai,
// tcp_reno_cong_avoid, tcp_reno_ssthresh, tcp_reno_undo_cwnd),
// include/net/tcp.h (tcp_in_slow_start, tcp_is_cwnd_limited,
// tcp_dec_quickack_mode), net/ipv4/bpf_tcp_ca.c (bpf_tcp_send_ack) and
// net/ipv4/tcp_output.c (__tcp_send_ack, tcp_event_ack_sent). See
// tcp_ca.h.
#include "emu/tcp_ca.h"

#include <linux/btf.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "emu/kernel_btf.h"

namespace bpfemu::tcpca {
namespace {

// Finds member `name` of struct/union `id` (looking into anonymous
// members, as C does): its bit offset from the start of `id`, its bit
// size and type. False if absent.
bool FindBits(const KernelBtf& btf, uint32_t id, std::string_view name,
              int64_t* bit_off, uint32_t* bits, uint32_t* type) {
  const uint32_t sid = btf.SkipModifiers(id);
  const btf_type* t = btf.Type(sid);
  if (t == nullptr) return false;
  const bool kflag = BTF_INFO_KFLAG(t->info);
  uint16_t n = 0;
  const btf_member* m = btf.Members(sid, &n);
  for (uint16_t i = 0; i < n; ++i) {
    const int64_t off =
        kflag ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
    const std::string_view mname = btf.Str(m[i].name_off);
    if (mname == name) {
      uint32_t sz = kflag ? BTF_MEMBER_BITFIELD_SIZE(m[i].offset) : 0;
      if (sz == 0) {
        const int64_t bytes = btf.Size(m[i].type);
        if (bytes <= 0) return false;
        sz = static_cast<uint32_t>(bytes * 8);
      }
      *bit_off = off;
      *bits = sz;
      *type = m[i].type;
      return true;
    }
    if (mname.empty()) {
      const uint32_t k = btf.Kind(btf.SkipModifiers(m[i].type));
      if ((k == BTF_KIND_STRUCT || k == BTF_KIND_UNION) &&
          FindBits(btf, m[i].type, name, bit_off, bits, type)) {
        *bit_off += off;
        return true;
      }
    }
  }
  return false;
}

// A dotted path below struct `id`.
bool FindPath(const KernelBtf& btf, uint32_t id, std::string_view path,
              Field* out) {
  int64_t total = 0;
  uint32_t cur = id;
  uint32_t bits = 0;
  while (true) {
    const size_t dot = path.find('.');
    const std::string_view part = path.substr(0, dot);
    int64_t off = 0;
    uint32_t type = 0;
    if (!FindBits(btf, cur, part, &off, &bits, &type)) return false;
    total += off;
    cur = type;
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  *out = Field{total, bits};
  return true;
}

constexpr const char* kPaths[] = {
    "inet_conn.icsk_inet.sk.__sk_common.skc_state",
    "inet_conn.icsk_ca_state",
    "inet_conn.icsk_ack.pending",
    "inet_conn.icsk_ack.quick",
    "inet_conn.icsk_ack.retry",
    "inet_conn.icsk_ack.ato",
    "snd_cwnd",
    "snd_cwnd_cnt",
    "snd_cwnd_clamp",
    "snd_ssthresh",
    "prior_cwnd",
    "rcv_nxt",
    "rcv_wup",
    "max_packets_out",
    "is_cwnd_limited",
    "segs_out",
    "compressed_ack",
};
static_assert(sizeof(kPaths) / sizeof(kPaths[0]) ==
              static_cast<size_t>(F::kCount));

std::unique_ptr<Layout> BuildLayout() {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return nullptr;
  const int32_t id = btf->FindByNameKind("tcp_sock", BTF_KIND_STRUCT);
  if (id <= 0) return nullptr;
  auto l = std::make_unique<Layout>();
  const int64_t size = btf->Size(static_cast<uint32_t>(id));
  if (size <= 0) return nullptr;
  l->size = static_cast<uint32_t>(size);
  for (size_t i = 0; i < static_cast<size_t>(F::kCount); ++i) {
    if (!FindPath(*btf, static_cast<uint32_t>(id), kPaths[i], &l->f[i]) ||
        l->f[i].bits > 64 || (l->f[i].bit_off + l->f[i].bits + 7) / 8 > size) {
      return nullptr;
    }
  }
  Field priv;
  if (!FindPath(*btf, static_cast<uint32_t>(id), "inet_conn.icsk_ca_priv",
                &priv) ||
      priv.bit_off % 8 != 0) {
    return nullptr;
  }
  l->ca_priv_off = static_cast<uint32_t>(priv.bit_off / 8);
  return l;
}

std::mutex& RegistryMu() {
  static std::mutex mu;
  return mu;
}
std::map<uint64_t, TcpSock*>& Registry() {
  static auto* r = new std::map<uint64_t, TcpSock*>;
  return *r;
}

uint32_t Snd(const TcpSock& tp) {
  return static_cast<uint32_t>(tp.Get(F::kSndCwnd));
}

// tcp_snd_cwnd_set(): the kernel warns on a value <= 0 as an int, and
// stores it anyway.
void SetSnd(TcpSock& tp, uint32_t v) { tp.Set(F::kSndCwnd, v); }

TcpSock* Arg(interp::Vm& vm, uint64_t p, const char* name) {
  TcpSock* tp = TcpSock::At(p);
  if (tp == nullptr) {
    vm.Fault("%s: R1 is not a struct tcp_sock of the congestion control run",
             name);
  }
  return tp;
}

}  // namespace

const Layout* GetLayout() {
  static const Layout* layout = BuildLayout().release();
  return layout;
}

std::unique_ptr<TcpSock> TcpSock::Create() {
  const Layout* l = GetLayout();
  if (l == nullptr) return nullptr;
  static std::atomic<uint64_t> next_id{1};
  auto s = std::unique_ptr<TcpSock>(new TcpSock());
  s->bytes_.assign(l->size, 0);
  s->id_ = next_id.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> g(RegistryMu());
  Registry()[reinterpret_cast<uint64_t>(s->bytes_.data())] = s.get();
  return s;
}

TcpSock::~TcpSock() {
  {
    std::lock_guard<std::mutex> g(RegistryMu());
    Registry().erase(reinterpret_cast<uint64_t>(bytes_.data()));
  }
  for (auto& fn : at_destroy_) fn();
}

TcpSock* TcpSock::At(uint64_t addr) {
  std::lock_guard<std::mutex> g(RegistryMu());
  auto it = Registry().find(addr);
  return it == Registry().end() ? nullptr : it->second;
}

// Little-endian bit access (x86-64's bitfield order).
uint64_t TcpSock::Get(F f) const {
  const Field& fl = GetLayout()->f[static_cast<int>(f)];
  const uint64_t byte = static_cast<uint64_t>(fl.bit_off) / 8;
  const uint32_t shift = static_cast<uint32_t>(fl.bit_off % 8);
  const uint32_t nbytes = (shift + fl.bits + 7) / 8;
  unsigned __int128 w = 0;
  for (uint32_t i = 0; i < nbytes; ++i) {
    w |= static_cast<unsigned __int128>(bytes_[byte + i]) << (8 * i);
  }
  w >>= shift;
  const uint64_t mask = fl.bits >= 64 ? ~0ULL : (1ULL << fl.bits) - 1;
  return static_cast<uint64_t>(w) & mask;
}

void TcpSock::Set(F f, uint64_t v) {
  const Field& fl = GetLayout()->f[static_cast<int>(f)];
  const uint64_t byte = static_cast<uint64_t>(fl.bit_off) / 8;
  const uint32_t shift = static_cast<uint32_t>(fl.bit_off % 8);
  const uint32_t nbytes = (shift + fl.bits + 7) / 8;
  const uint64_t mask = fl.bits >= 64 ? ~0ULL : (1ULL << fl.bits) - 1;
  unsigned __int128 w = 0;
  for (uint32_t i = 0; i < nbytes; ++i) {
    w |= static_cast<unsigned __int128>(bytes_[byte + i]) << (8 * i);
  }
  const unsigned __int128 m = static_cast<unsigned __int128>(mask) << shift;
  w = (w & ~m) | ((static_cast<unsigned __int128>(v & mask) << shift) & m);
  for (uint32_t i = 0; i < nbytes; ++i) {
    bytes_[byte + i] = static_cast<uint8_t>(w >> (8 * i));
  }
}

// tcp_slow_start(): grow by what was acked up to ssthresh, within the
// clamp; what is left of `acked` for congestion avoidance.
uint32_t SlowStart(TcpSock& tp, uint32_t acked) {
  const uint32_t cur = Snd(tp);
  const uint32_t cwnd =
      std::min(cur + acked, static_cast<uint32_t>(tp.Get(F::kSndSsthresh)));
  acked -= cwnd - cur;
  SetSnd(tp, std::min(cwnd, static_cast<uint32_t>(tp.Get(F::kSndCwndClamp))));
  return acked;
}

// tcp_cong_avoid_ai(): one more segment per `w` acked, credits kept in
// snd_cwnd_cnt.
void CongAvoidAi(TcpSock& tp, uint32_t w, uint32_t acked) {
  uint32_t cnt = static_cast<uint32_t>(tp.Get(F::kSndCwndCnt));
  if (cnt >= w) {
    cnt = 0;
    SetSnd(tp, Snd(tp) + 1);
  }
  cnt += acked;
  if (cnt >= w) {
    // The kernel divides by w here; w == 0 with credits would be a
    // division by zero in the kernel too (its callers never pass 0).
    const uint32_t delta = w == 0 ? 0 : cnt / w;
    cnt -= delta * w;
    SetSnd(tp, Snd(tp) + delta);
  }
  tp.Set(F::kSndCwndCnt, cnt);
  SetSnd(tp,
         std::min(Snd(tp), static_cast<uint32_t>(tp.Get(F::kSndCwndClamp))));
}

// tcp_is_cwnd_limited().
bool IsCwndLimited(const TcpSock& sk) {
  if (sk.Get(F::kIsCwndLimited) != 0) return true;
  if (Snd(sk) < static_cast<uint32_t>(sk.Get(F::kSndSsthresh))) {
    return Snd(sk) < 2 * static_cast<uint32_t>(sk.Get(F::kMaxPacketsOut));
  }
  return false;
}

// tcp_reno_cong_avoid().
void RenoCongAvoid(TcpSock& sk, uint32_t /*ack*/, uint32_t acked) {
  if (!IsCwndLimited(sk)) return;
  if (Snd(sk) < static_cast<uint32_t>(sk.Get(F::kSndSsthresh))) {
    acked = SlowStart(sk, acked);
    if (acked == 0) return;
  }
  CongAvoidAi(sk, Snd(sk), acked);
}

uint32_t RenoSsthresh(const TcpSock& sk) { return std::max(Snd(sk) >> 1U, 2U); }

uint32_t RenoUndoCwnd(const TcpSock& sk) {
  return std::max(Snd(sk), static_cast<uint32_t>(sk.Get(F::kPriorCwnd)));
}

int SendAck(TcpSock& tp, uint32_t rcv_nxt) {
  // __tcp_send_ack: a reset socket sends nothing.
  if (tp.Get(F::kSkState) == kTcpClose) return 0;
  // __tcp_transmit_skb: the segment leaves (segs_out), its ack_seq is the
  // given rcv_nxt; tcp_select_window moves rcv_wup to tp->rcv_nxt.
  tp.acks_.push_back(rcv_nxt);
  tp.Set(F::kSegsOut, static_cast<uint32_t>(tp.Get(F::kSegsOut) + 1));
  tp.Set(F::kRcvWup, tp.Get(F::kRcvNxt));
  // tcp_event_ack_sent.
  tp.Set(F::kCompressedAck, 0);
  if (rcv_nxt != static_cast<uint32_t>(tp.Get(F::kRcvNxt))) return 0;
  // tcp_dec_quickack_mode: one ACK of new data counts when one was
  // scheduled.
  const uint32_t quick = static_cast<uint32_t>(tp.Get(F::kAckQuick));
  if (quick != 0) {
    const uint32_t pkts = (tp.Get(F::kAckPending) & kIcskAckSched) ? 1 : 0;
    if (pkts >= quick) {
      tp.Set(F::kAckQuick, 0);
      tp.Set(F::kAckAto, kTcpAtoMin);
    } else {
      tp.Set(F::kAckQuick, quick - pkts);
    }
  }
  // inet_csk_clear_xmit_timer(ICSK_TIME_DACK).
  tp.Set(F::kAckPending, 0);
  tp.Set(F::kAckRetry, 0);
  return 0;
}

uint64_t InterpSlowStart(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                         uint64_t, uint64_t) {
  return SlowStart(*Arg(vm, r1, "tcp_slow_start"), static_cast<uint32_t>(r2));
}

uint64_t InterpCongAvoidAi(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t, uint64_t) {
  CongAvoidAi(*Arg(vm, r1, "tcp_cong_avoid_ai"), static_cast<uint32_t>(r2),
              static_cast<uint32_t>(r3));
  return 0;
}

uint64_t InterpRenoCongAvoid(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t, uint64_t) {
  RenoCongAvoid(*Arg(vm, r1, "tcp_reno_cong_avoid"), static_cast<uint32_t>(r2),
                static_cast<uint32_t>(r3));
  return 0;
}

uint64_t InterpRenoSsthresh(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t) {
  return RenoSsthresh(*Arg(vm, r1, "tcp_reno_ssthresh"));
}

uint64_t InterpRenoUndoCwnd(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t) {
  return RenoUndoCwnd(*Arg(vm, r1, "tcp_reno_undo_cwnd"));
}

uint64_t InterpSendAck(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                       uint64_t, uint64_t) {
  return static_cast<uint64_t>(static_cast<int64_t>(
      SendAck(*Arg(vm, r1, "bpf_tcp_send_ack"), static_cast<uint32_t>(r2))));
}

}  // namespace bpfemu::tcpca
