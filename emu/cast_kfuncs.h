// SPDX-License-Identifier: Apache-2.0
// File: cast_kfuncs.h
//
// kernel/bpf/helpers.c bpf_cast_to_kern_ctx and bpf_rdonly_cast: the
// verifier's PTR_TO_BTF_ID views of memory (check_kfunc_call gives the
// first the kernel's context type of the program type, the second the BTF
// type its constant names, untrusted and read-only). Shared by the
// interpreter (the table in emu/kfunc.cc) and the native face
// (native/cast_kfuncs.cc).
//
// bpfemu's context is the uapi one (struct __sk_buff), so the kernel's
// struct sk_buff behind it is a snapshot taken at the call, laid out as
// the running kernel's BTF says (emu/kernel_btf.h), with the fields
// bpfemu models filled from the context: len, data_len (0: a test run's
// packet is linear), queue_mapping, priority, mark, hash, protocol,
// vlan_tci, vlan_proto, tc_index, skb_iif (ingress_ifindex), napi_id,
// tstamp, and the header offsets of a test run's skb (mac_header at
// NET_SKB_PAD, network_header ETH_HLEN after it, transport_header unset).
// Every other byte reads 0: pointers (dev, sk, head, data), bitfields
// (pkt_type and the flags), cb, mac_len. Writes to the context after the
// call are not seen through it. Other program types' kernel contexts are
// not modelled: the interpreter stops the run.

#ifndef BPFEMU_EMU_CAST_KFUNCS_H_
#define BPFEMU_EMU_CAST_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::castk {

// The kernel context behind the uapi context `ctx` of `prog_type`, and its
// size; nullptr when bpfemu does not model it (no kernel BTF, a program
// type whose context is not a struct __sk_buff). The snapshot is this
// thread's, valid until the next call.
const void* KernCtx(const void* ctx, uint32_t prog_type, uint32_t* size);

uint64_t InterpCastToKernCtx(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                             uint64_t, uint64_t);
uint64_t InterpRdonlyCast(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                          uint64_t, uint64_t);

}  // namespace bpfemu::castk

#endif  // BPFEMU_EMU_CAST_KFUNCS_H_
