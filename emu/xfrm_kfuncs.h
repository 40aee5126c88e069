// SPDX-License-Identifier: Apache-2.0
// File: xfrm_kfuncs.h
//
// kfy48: the XDP IPsec state kfuncs, net/xfrm/xfrm_state_bpf.c
// bpf_xdp_get_xfrm_state and bpf_xdp_xfrm_state_release, over an emulated
// security association table (the network namespace's xfrm state
// database, net/xfrm/xfrm_state.c __xfrm_state_lookup's match). Shared by
// the interpreter (emu/kfunc.cc's table) and the native face
// (native/xfrm_kfuncs.cc).
//
// The table is empty until a test sets it (SetXfrmStates), as a network
// namespace is before `ip xfrm state add`; a test run's packet is in the
// current namespace, and bpfemu knows no other (no namespace ids: a
// netns_id >= 0 answers -ENONET, as the kernel's does for an id that names
// no namespace). Each state is a struct xfrm_state view laid out by the
// kernel BTF with id.daddr, id.spi, id.proto, mark.v, mark.m and
// props.family set, in one read-only block a bytecode run may read once a
// lookup handed one out. bpf_skb_get_xfrm_state (native/helpers.cc) is
// not tied to this table: a test run's skb has no security path.

#ifndef BPFEMU_EMU_XFRM_KFUNCS_H_
#define BPFEMU_EMU_XFRM_KFUNCS_H_

#include <cstdint>
#include <vector>

#include "emu/interp.h"

namespace bpfemu::xfrmk {

// One security association.
struct XfrmState {
  uint32_t daddr[4] = {};  // network order; an IPv4 address in daddr[0]
  uint32_t spi = 0;        // network order
  uint8_t proto = 0;       // IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP
  uint16_t family = 0;     // AF_INET, AF_INET6
  uint32_t mark_v = 0, mark_m = 0;
};
// Replaces the table (views handed out before stay readable).
void SetXfrmStates(const std::vector<XfrmState>& states);

// net/xfrm/xfrm_state_bpf.c struct bpf_xfrm_state_opts (36 bytes).
struct Opts {
  int32_t error;
  int32_t netns_id;
  uint32_t mark;
  uint32_t daddr[4];
  uint32_t spi;
  uint8_t proto;
  uint8_t pad;
  uint16_t family;
};
static_assert(sizeof(Opts) == 36);

// bpf_xdp_get_xfrm_state(ctx, opts, opts__sz): the state's view, with a
// reference, or nullptr:
//   opts NULL or opts__sz < 4      nothing written
//   opts__sz != 36                 opts->error = -EINVAL
//   netns_id < -1                  -EINVAL
//   netns_id >= 0                  -ENONET
//   no state matches               -ENOENT
// A state matches when family, spi, proto and the address (4 bytes for
// AF_INET, 16 for AF_INET6) are the state's and (mark & mark_m) == mark_v.
const void* GetXfrmState(void* opts, uint32_t opts_sz);
// bpf_xdp_xfrm_state_release: drops a reference; -EINVAL (nothing done)
// for a pointer that is no state view with a reference held (what the
// verifier refuses).
int XfrmStateRelease(const void* x);
// References held now (lookups not released), for tests.
uint64_t HeldXfrmStates();
// The end of the outermost run on this thread (emu/prog.cc): references
// the run's lookups took and it did not release are dropped, as the
// conntrack kfuncs drop theirs (emu/ct_kfuncs.h EndRun; the verifier
// refuses a program that can exit holding one). Counted for tests.
// Inline and without a call while the thread's runs hold none (a run's
// fixed cost, as ct::EndRun).
extern constinit thread_local bool run_holds;  // a lookup sets it
void EndRunHeld();
inline void EndRun() {
  if (run_holds) EndRunHeld();
}
uint64_t DroppedXfrmStates();

// The interpreter's bindings: opts readable and writable for opts__sz
// bytes, the released pointer a state view (the verifier's checks), else
// the run stops.
uint64_t InterpGetXfrmState(interp::Vm& vm, uint64_t r1, uint64_t r2,
                            uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpXfrmStateRelease(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu::xfrmk

#endif  // BPFEMU_EMU_XFRM_KFUNCS_H_
