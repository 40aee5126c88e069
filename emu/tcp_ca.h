// SPDX-License-Identifier: Apache-2.0
// File: tcp_ca.h
//
// The emulated TCP socket a BPF congestion control (a STRUCT_OPS program
// implementing a member of struct tcp_congestion_ops, net/ipv4/bpf_tcp_ca.c)
// is handed, and what such a program may call on it:
// - the tcp_cong kfuncs of bpf_tcp_ca_check_kfunc_ids (registered for
//   BPF_PROG_TYPE_STRUCT_OPS): tcp_slow_start, tcp_cong_avoid_ai,
//   tcp_reno_cong_avoid, tcp_reno_ssthresh, tcp_reno_undo_cwnd, with
//   net/ipv4/tcp_cong.c's arithmetic (and include/net/tcp.h
//   tcp_in_slow_start, tcp_is_cwnd_limited, tcp_snd_cwnd_set);
// - the helper bpf_tcp_send_ack(tp, rcv_nxt) (bpf_tcp_ca.c, which always
//   returns 0, measured on 6.18 for a stale rcv_nxt too): __tcp_send_ack
//   (net/ipv4/tcp_output.c): nothing on a closed socket (sk_state
//   TCP_CLOSE); else one pure ACK carrying `rcv_nxt` leaves (counted in
//   segs_out and in the model's list of sent ACKs), tcp_event_ack_sent
//   clears compressed_ack, and only when rcv_nxt is tp->rcv_nxt (not
//   DCTCP's special ACK) leaves quickack mode by one ACK
//   (tcp_dec_quickack_mode) and clears the delayed-ACK state
//   (inet_csk_clear_xmit_timer ICSK_TIME_DACK: icsk_ack.pending and
//   .retry 0); tcp_select_window moves rcv_wup to tp->rcv_nxt.
//
// The socket is a `struct tcp_sock` laid out by the emulated kernel's BTF
// (emu/kernel_btf.h), so a bytecode program reads and writes it where
// CO-RE puts the fields and the native face reads it through the same
// layout; the model keeps the fields above by name. A TcpSock registers
// its bytes while it lives, which is how the helper and the kfuncs
// recognise a pointer a program passes (anything else stops the run: the
// verifier would have refused a pointer that is no struct tcp_sock).

#ifndef BPFEMU_EMU_TCP_CA_H_
#define BPFEMU_EMU_TCP_CA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "emu/interp.h"

namespace bpfemu::tcpca {

// include/net/tcp_states.h, include/net/inet_connection_sock.h.
inline constexpr uint32_t kTcpEstablished = 1;
inline constexpr uint32_t kTcpClose = 7;
inline constexpr uint32_t kIcskAckSched = 1;
inline constexpr uint32_t kIcskAckTimer = 2;
// TCP_ATO_MIN: HZ / 25 jiffies (CONFIG_HZ=250, as native/helpers.cc's
// jiffies).
inline constexpr uint32_t kTcpAtoMin = 250 / 25;

// One field of struct tcp_sock: where its bits are (a bitfield's too).
struct Field {
  int64_t bit_off = -1;
  uint32_t bits = 0;
};

// The fields the model keeps, by the name a C program uses below struct
// tcp_sock ("snd_cwnd", "inet_conn.icsk_ack.pending", ...).
enum class F {
  kSkState,        // inet_conn.icsk_inet.sk.__sk_common.skc_state
  kIcskCaState,    // inet_conn.icsk_ca_state (5 bits)
  kAckPending,     // inet_conn.icsk_ack.pending
  kAckQuick,       // inet_conn.icsk_ack.quick
  kAckRetry,       // inet_conn.icsk_ack.retry
  kAckAto,         // inet_conn.icsk_ack.ato (8 bits from 6.7)
  kSndCwnd,        // snd_cwnd
  kSndCwndCnt,     // snd_cwnd_cnt
  kSndCwndClamp,   // snd_cwnd_clamp
  kSndSsthresh,    // snd_ssthresh
  kPriorCwnd,      // prior_cwnd
  kRcvNxt,         // rcv_nxt
  kRcvWup,         // rcv_wup
  kMaxPacketsOut,  // max_packets_out
  kIsCwndLimited,  // is_cwnd_limited (1 bit)
  kSegsOut,        // segs_out
  kCompressedAck,  // compressed_ack
  kCount,
};

// The layout in the process's kernel BTF; nullptr without kernel BTF or
// when a field above is missing.
struct Layout {
  uint32_t size = 0;         // sizeof(struct tcp_sock)
  uint32_t ca_priv_off = 0;  // inet_conn.icsk_ca_priv (104 bytes)
  Field f[static_cast<int>(F::kCount)];
};
const Layout* GetLayout();

// The emulated socket.
class TcpSock {
 public:
  // nullptr when there is no layout (no kernel BTF).
  static std::unique_ptr<TcpSock> Create();
  ~TcpSock();
  TcpSock(const TcpSock&) = delete;
  TcpSock& operator=(const TcpSock&) = delete;

  uint8_t* data() { return bytes_.data(); }
  uint32_t size() const { return static_cast<uint32_t>(bytes_.size()); }
  uint64_t Get(F f) const;
  void Set(F f, uint64_t v);
  // The ACKs sent (their ack_seq), oldest first.
  const std::vector<uint32_t>& acks_sent() const { return acks_; }

  // The live socket whose struct tcp_sock starts at `addr`, or nullptr.
  static TcpSock* At(uint64_t addr);

  // A process-unique identity (the owner of its socket storage,
  // native/helpers.cc), and what its destruction releases (the socket's
  // storage elements: bpf_sk_storage_free).
  uint64_t id() const { return id_; }
  void AtDestroy(std::function<void()> fn) {
    at_destroy_.push_back(std::move(fn));
  }

 private:
  TcpSock() = default;
  std::vector<uint8_t> bytes_;
  std::vector<uint32_t> acks_;
  uint64_t id_ = 0;
  std::vector<std::function<void()>> at_destroy_;
  friend int SendAck(TcpSock& tp, uint32_t rcv_nxt);
};

// net/ipv4/tcp_cong.c, include/net/tcp.h (see above).
uint32_t SlowStart(TcpSock& tp, uint32_t acked);
void CongAvoidAi(TcpSock& tp, uint32_t w, uint32_t acked);
void RenoCongAvoid(TcpSock& sk, uint32_t ack, uint32_t acked);
uint32_t RenoSsthresh(const TcpSock& sk);
uint32_t RenoUndoCwnd(const TcpSock& sk);
bool IsCwndLimited(const TcpSock& sk);
// bpf_tcp_send_ack: 0.
int SendAck(TcpSock& tp, uint32_t rcv_nxt);

// The interpreter's kfuncs and helper (a pointer that is no live TcpSock
// stops the run).
uint64_t InterpSlowStart(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                         uint64_t, uint64_t);
uint64_t InterpCongAvoidAi(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t, uint64_t);
uint64_t InterpRenoCongAvoid(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t, uint64_t);
uint64_t InterpRenoSsthresh(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t);
uint64_t InterpRenoUndoCwnd(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t);
uint64_t InterpSendAck(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                       uint64_t, uint64_t);

}  // namespace bpfemu::tcpca

#endif  // BPFEMU_EMU_TCP_CA_H_
