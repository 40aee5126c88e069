// SPDX-License-Identifier: Apache-2.0
// The native face of net/ipv4/bpf_tcp_ca.c bpf_tcp_ca_check_kfunc_ids
// (net/ipv4/tcp_cong.c tcp_slow_start, tcp_cong_avoid_ai,
// tcp_reno_cong_avoid, tcp_reno_ssthresh, tcp_reno_undo_cwnd) over the
// congestion control's emulated socket (emu/tcp_ca.h). A pointer that is
// no live emulated socket stops the run, as the verifier would have
// refused it.

#include <cstdint>

#include "emu/prog.h"
#include "emu/tcp_ca.h"

namespace {

bpfemu::tcpca::TcpSock& Sock(const void* p) {
  bpfemu::tcpca::TcpSock* s =
      bpfemu::tcpca::TcpSock::At(reinterpret_cast<uint64_t>(p));
  if (s == nullptr) bpfemu::ProgAbortRun();
  return *s;
}

}  // namespace

extern "C" {

struct sock;
struct tcp_sock;

uint32_t tcp_slow_start(struct tcp_sock* tp, uint32_t acked) {
  return bpfemu::tcpca::SlowStart(Sock(tp), acked);
}

void tcp_cong_avoid_ai(struct tcp_sock* tp, uint32_t w, uint32_t acked) {
  bpfemu::tcpca::CongAvoidAi(Sock(tp), w, acked);
}

void tcp_reno_cong_avoid(struct sock* sk, uint32_t ack, uint32_t acked) {
  bpfemu::tcpca::RenoCongAvoid(Sock(sk), ack, acked);
}

uint32_t tcp_reno_ssthresh(struct sock* sk) {
  return bpfemu::tcpca::RenoSsthresh(Sock(sk));
}

uint32_t tcp_reno_undo_cwnd(struct sock* sk) {
  return bpfemu::tcpca::RenoUndoCwnd(Sock(sk));
}

}  // extern "C"
