// SPDX-License-Identifier: Apache-2.0
// File: sock_kfuncs.h
//
// kfy48: net/core/filter.c bpf_sk_assign_tcp_reqsk (6.9), the tc kfunc
// that hands a SYN cookie's request socket to a listener. Shared by the
// interpreter (emu/kfunc.cc's table) and the native face
// (native/sock_kfuncs.cc).
//
// The kernel checks the attributes (their size and reserved bytes), then
// that the skb is at tc ingress, before anything about the socket. A test
// run's skb is not at ingress (skb_at_tc_ingress false, as for
// bpf_sk_assign), in the kernel and in bpfemu, whose packets are all test
// runs' (or attached programs' run the same way): so after the attribute
// checks the answer is -EINVAL, and no request socket is ever made.

#ifndef BPFEMU_EMU_SOCK_KFUNCS_H_
#define BPFEMU_EMU_SOCK_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::sockk {

// net/core/filter.c struct bpf_tcp_req_attrs (20 bytes).
struct TcpReqAttrs {
  uint32_t rcv_tsval;
  uint32_t rcv_tsecr;
  uint16_t mss;
  uint8_t rcv_wscale, snd_wscale;
  uint8_t ecn_ok, wscale_ok, sack_ok, tstamp_ok, usec_ts_ok;
  uint8_t reserved[3];
};
static_assert(sizeof(TcpReqAttrs) == 20);

// bpf_sk_assign_tcp_reqsk(skb, sk, attrs, attrs__sz): -EINVAL for a size
// other than 20 or a reserved byte set, then -EINVAL (not at tc ingress).
int SkAssignTcpReqsk(const void* attrs, int32_t attrs_sz);

// The interpreter's binding: R1 the context, R2 a socket (not NULL: the
// verifier's trusted argument), R3 `attrs__sz` readable bytes.
uint64_t InterpSkAssignTcpReqsk(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu::sockk

#endif  // BPFEMU_EMU_SOCK_KFUNCS_H_
