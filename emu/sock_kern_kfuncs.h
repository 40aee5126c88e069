// SPDX-License-Identifier: Apache-2.0
// File: sock_kern_kfuncs.h
//
// Two socket kfuncs of 6.18's net/core/filter.c whose first argument is a
// kernel context: bpf_sock_addr_set_sun_path (bpf_kfunc_set_sock_addr,
// 6.7: struct bpf_sock_addr_kern) and bpf_sock_ops_enable_tx_tstamp
// (bpf_kfunc_set_sock_ops, 6.15: struct bpf_sock_ops_kern). Measured on
// 6.18 (tools/kfunc_offer.txt): both are offered to the cgroup hook's
// program types (cgroup_skb, cgroup_sock, cgroup_device,
// cgroup_sock_addr, cgroup_sysctl, cgroup_sockopt) and to sock_ops; a
// program reaches the pointer they take only through bpf_cast_to_kern_ctx
// of a cgroup_sock_addr / sock_ops context. bpfemu does not model those
// kernel contexts (emu/cast_kfuncs.h stops such a cast), so every call a
// bytecode program can reach here is one the verifier refuses at load; the
// interpreter stops the run with the 6.18 verifier's line (measured,
// tests/examples/sock_kern_compare_test.cc): NULL "Possibly NULL pointer
// passed to trusted arg0" (EACCES), the sk_buff bpf_cast_to_kern_ctx gives
// a cgroup_skb program "kernel function X args#0 expected pointer to
// STRUCT bpf_sock_addr_kern but R1 has a pointer to STRUCT sk_buff", any
// other pointer or scalar "arg#0 pointer type STRUCT bpf_sock_addr_kern
// must point to scalar, or struct with scalar" (both EINVAL; _ops_kern for
// the other kfunc). Natively the run stops as a fault does (the native
// bpf_cast_to_kern_ctx gives NULL for those program types). What the
// kernel does with a valid pointer (copy sun_path into an AF_UNIX
// address; -EOPNOTSUPP outside BPF_SOCK_OPS_TSTAMP_SENDMSG_CB, else mark
// the skb for a BPF TX timestamp) is not modelled: docs/semantics.md.

#ifndef BPFEMU_EMU_SOCK_KERN_KFUNCS_H_
#define BPFEMU_EMU_SOCK_KERN_KFUNCS_H_

#include <cstdint>
#include <string>

#include "emu/interp.h"

namespace bpfemu::sockk {

// The verifier's line for a call of `kfunc` with R1 = `r1`; `skb_kern`:
// r1 is the struct sk_buff bpf_cast_to_kern_ctx gave.
std::string KernArgRefusal(const char* kfunc, uint64_t r1, bool skb_kern);

uint64_t InterpSetSunPath(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                          uint64_t, uint64_t);
uint64_t InterpEnableTxTstamp(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                              uint64_t, uint64_t);

}  // namespace bpfemu::sockk

#endif  // BPFEMU_EMU_SOCK_KERN_KFUNCS_H_
