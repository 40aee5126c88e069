// SPDX-License-Identifier: Apache-2.0
// The native face of net/xfrm/xfrm_state_bpf.c's kfuncs (kfy48:
// bpf_xdp_get_xfrm_state, bpf_xdp_xfrm_state_release): a natively built
// program's `extern ... __ksym` declarations (weak) resolve to these
// definitions; the work and the emulated state table are
// emu/xfrm_kfuncs.h's.

#include "emu/xfrm_kfuncs.h"

extern "C" {

struct xdp_md;
struct bpf_xfrm_state_opts;
struct xfrm_state;

struct xfrm_state* bpf_xdp_get_xfrm_state(struct xdp_md* ctx,
                                          struct bpf_xfrm_state_opts* opts,
                                          unsigned int opts__sz) {
  (void)ctx;
  return static_cast<struct xfrm_state*>(
      const_cast<void*>(bpfemu::xfrmk::GetXfrmState(opts, opts__sz)));
}

void bpf_xdp_xfrm_state_release(struct xfrm_state* x) {
  (void)bpfemu::xfrmk::XfrmStateRelease(x);
}

}  // extern "C"
