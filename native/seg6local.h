// SPDX-License-Identifier: Apache-2.0
// File: seg6local.h
//
// The segment routing helpers of BPF_PROG_TYPE_LWT_SEG6LOCAL programs
// (net/core/filter.c bpf_lwt_seg6_store_bytes, bpf_lwt_seg6_adjust_srh,
// bpf_lwt_seg6_action, bpf_push_seg6_encap; net/ipv6/seg6_local.c
// seg6_bpf_has_valid_srh, seg6_lookup_any_nexthop, input_action_end_bpf;
// net/ipv6/seg6_iptunnel.c seg6_do_srh_inline / seg6_do_srh_encap;
// net/ipv6/seg6.c seg6_validate_srh, seg6_get_srh) over the skb run's
// frame (helpers.h SkbFrame).
//
// The kernel keeps the segment routing header the program works on in a
// per-CPU `struct seg6_bpf_srh_state` (the header's address, its length
// as the helpers changed it, whether it was checked since). The End.BPF
// action (input_action_end_bpf) sets it from the packet before the
// program runs and checks the header after it; a test run (6.1's
// bpf_prog_test_run_skb; 6.11 removed the test run) sets nothing, so the
// program sees the state the last End.BPF run on that CPU left. bpfemu
// keeps the state per thread and per run: a test run starts with no
// header (the state of a CPU no End.BPF run used; docs/semantics.md), the
// End.BPF model (RunSeg6LocalEndBpf, loader/test_run.h) with the packet's.

#ifndef BPFEMU_NATIVE_SEG6LOCAL_H_
#define BPFEMU_NATIVE_SEG6LOCAL_H_

#include <linux/bpf.h>

#include <cstdint>

#include "native/helpers.h"

namespace bpfemu::native {

// What the End.BPF action did with the packet (input_action_end_bpf).
struct Seg6EndBpfResult {
  // get_and_validate_srh found no usable header: the packet was dropped
  // before the program ran (-EINVAL).
  bool no_srh = false;
  bool ran = false;  // the program ran
  // Dropped after the run: BPF_DROP, an unknown verdict, or a header the
  // helpers left invalid (seg6_bpf_has_valid_srh).
  bool dropped = false;
  bool invalid_srh = false;  // dropped by the validity check
  // For BPF_OK: seg6_lookup_nexthop's answer (0: a route out, -errno its
  // dst's error); not looked up for BPF_REDIRECT (the program's own).
  int nexthop = 0;
};

// Before and after a LWT_SEG6LOCAL program's run on `frame` / `skb`:
// RunSkb calls these. Begin returns false when the program must not run
// (the End.BPF model found no header).
bool Seg6RunBegin(SkbFrame* frame, struct __sk_buff* skb);
void Seg6RunEnd(SkbFrame* frame, struct __sk_buff* skb, uint32_t retval);

// Makes the next LWT_SEG6LOCAL runs of this thread End.BPF runs, their
// results in `*out` (nullptr: test runs again).
void Seg6SetEndBpf(Seg6EndBpfResult* out);

// seg6_lookup_nexthop() from skb->dev = lo: the route for `daddr` (nullptr:
// the packet's destination) in table `table` (0: the rules' lookup), 0 or
// its dst's error. The route is not kept (bpfemu's skb has no dst).
int Seg6LookupNexthop(SkbFrame* frame, struct __sk_buff* skb,
                      const uint8_t* daddr, uint32_t table);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_SEG6LOCAL_H_
