// SPDX-License-Identifier: Apache-2.0
// File: xdp_meta_kfuncs.h
//
// The XDP metadata kfuncs of net/core/xdp.c (xdp_metadata_kfunc_set,
// registered for every program type): bpf_xdp_metadata_rx_timestamp (6.3),
// bpf_xdp_metadata_rx_hash (6.3) and bpf_xdp_metadata_rx_vlan_tag (6.8).
// The kernel replaces a call by the device's xdp_metadata_ops only for a
// program bound to a device that has them (bpf_dev_bound_resolve_kfunc);
// every other program, and a dev-bound one on a device without the ops
// (lo, and every device bpfemu emulates), calls the generic kfunc, which
// answers -EOPNOTSUPP and writes nothing. But the verifier refuses the
// call at load unless the program is bound to a device (add_kfunc_call:
// EINVAL, "metadata kfuncs require device-bound program"), and binding to
// lo is EOPNOTSUPP (measured on 6.18); bpfemu binds no program to a
// device at all. So a bytecode load is refused (emu/kfunc.cc
// ResolveKfuncCall), and the generic answers below are what the native
// face, which has no load checks, gets. Shared by the interpreter
// (emu/kfunc.cc's table) and the native face (native/xdp_meta_kfuncs.cc).
//
// The interpreter's bindings check what the verifier proves: R1 is the
// program's context, and each output pointer is writable memory of its
// type's size (else the run stops).

#ifndef BPFEMU_EMU_XDP_META_KFUNCS_H_
#define BPFEMU_EMU_XDP_META_KFUNCS_H_

#include <cstdint>
#include <string_view>

#include "emu/interp.h"

namespace bpfemu::xdpmeta {

// Whether `name` is one of them (bpf_dev_bound_kfunc_id).
bool IsDevBoundKfunc(std::string_view name);

// What the generic kfuncs answer.
int RxTimestamp(const void* ctx, uint64_t* timestamp);
int RxHash(const void* ctx, uint32_t* hash, uint32_t* rss_type);
int RxVlanTag(const void* ctx, uint16_t* vlan_proto, uint16_t* vlan_tci);

uint64_t InterpRxTimestamp(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                           uint64_t, uint64_t);
uint64_t InterpRxHash(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t, uint64_t);
uint64_t InterpRxVlanTag(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t, uint64_t);

}  // namespace bpfemu::xdpmeta

#endif  // BPFEMU_EMU_XDP_META_KFUNCS_H_
