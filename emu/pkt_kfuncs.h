// SPDX-License-Identifier: Apache-2.0
// File: pkt_kfuncs.h
//
// Two packet kfuncs of 6.18's net/core/filter.c (issue 24):
//
// - bpf_dynptr_from_skb_meta (bpf_kfunc_check_set_skb_meta, SCHED_CLS and
//   SCHED_ACT, KF_TRUSTED_ARGS): a dynptr over the skb's metadata area,
//   the skb_metadata_len() bytes that end where the packet data starts.
//   Flags other than 0 make it null and answer -EINVAL. The kernel's
//   dynptr is of type BPF_DYNPTR_TYPE_SKB_META, which reads, writes and
//   slices the area directly (bpf_skb_meta_pointer) and answers NULL to
//   bpf_dynptr_data. bpfemu makes a local dynptr over the same bytes with
//   the face's bpf_dynptr_from_mem (emu/kfunc.h's dynptr types are
//   another helper's to change), so that the dynptr kfuncs and helpers
//   reach them the same way; where the types answer differently
//   (bpf_dynptr_data) the difference is in docs/semantics.md.
// - bpf_xdp_pull_data (bpf_kfunc_check_set_xdp, XDP): makes the first
//   `len` bytes of a multi-buffer frame linear. Nothing to do when the
//   linear part already holds them (0); -EINVAL when the frame is shorter
//   than `len` or the page has not room enough (the head room past the
//   xdp_frame and the tail room before the skb_shared_info together);
//   otherwise the metadata and data move towards the head by what the
//   tail room lacks, the bytes are copied out of the fragments (each
//   emptied fragment freed, the rest shortened from the front) and 0.
//   Packet pointers are invalid after the call (the verifier's
//   clear_all_pkt_pointers), so the interpreter re-reads the bounds.
//
// The packet is the face's (native/pkt_kfuncs.cc registers PktOps over
// the test run's frame, as native/dynptr.cc does emu/kfunc.h's
// DynptrPacketOps). Until they are registered the dynptr cannot be made
// (-EINVAL, null) and nothing is pulled (-EINVAL).

#ifndef BPFEMU_EMU_PKT_KFUNCS_H_
#define BPFEMU_EMU_PKT_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::pktk {

struct PktOps {
  // The skb's metadata area: its first byte and skb_metadata_len().
  void (*skb_meta)(const void* skb, void** data, uint32_t* len);
  // bpf_dynptr_from_mem(data, size, 0, ptr): 0 or -errno.
  long (*local_dynptr)(void* data, uint32_t size, void* ptr);
  // bpf_xdp_pull_data on the run's frame: 0 or -errno.
  int (*xdp_pull)(void* xdp, uint32_t len);
};
void SetPktOps(const PktOps* ops);

// The kfuncs; `ptr` is a struct bpf_dynptr (16 bytes), `skb` a struct
// __sk_buff, `xdp` a struct xdp_md.
int DynptrFromSkbMeta(void* skb, uint64_t flags, void* ptr);
int XdpPullData(void* xdp, uint32_t len);

uint64_t InterpDynptrFromSkbMeta(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                 uint64_t r3, uint64_t, uint64_t);
uint64_t InterpXdpPullData(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                           uint64_t, uint64_t);

}  // namespace bpfemu::pktk

#endif  // BPFEMU_EMU_PKT_KFUNCS_H_
