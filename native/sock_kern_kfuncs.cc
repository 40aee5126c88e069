// SPDX-License-Identifier: Apache-2.0
// The native face of net/core/filter.c bpf_sock_addr_set_sun_path and
// bpf_sock_ops_enable_tx_tstamp (emu/sock_kern_kfuncs.h): the kernel
// context they take comes only from bpf_cast_to_kern_ctx of a
// cgroup_sock_addr / sock_ops context, which bpfemu does not model (the
// native cast gives NULL), and the kernel refuses every other argument at
// load; so a call stops the run as a fault does.

#include <cstdint>

#include "emu/prog.h"

extern "C" {

struct bpf_sock_addr_kern;
struct bpf_sock_ops_kern;

int bpf_sock_addr_set_sun_path(struct bpf_sock_addr_kern* sa_kern,
                               const uint8_t* sun_path, uint32_t sun_path__sz) {
  (void)sa_kern;
  (void)sun_path;
  (void)sun_path__sz;
  bpfemu::ProgAbortRun();
}

int bpf_sock_ops_enable_tx_tstamp(struct bpf_sock_ops_kern* skops,
                                  uint64_t flags) {
  (void)skops;
  (void)flags;
  bpfemu::ProgAbortRun();
}

}  // extern "C"
