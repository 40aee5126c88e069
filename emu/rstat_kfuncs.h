// SPDX-License-Identifier: Apache-2.0
// File: rstat_kfuncs.h
//
// kfn50: kernel/cgroup/rstat.c css_rstat_updated(css, cpu) (6.16;
// bpf_rstat_kfunc_ids, registered for BPF_PROG_TYPE_TRACING: the 6.18 host
// offers it to tracepoint and perf_event programs, measured by
// //kernel_compare:helper_offer_compare_test), over emu/cgroup.h's cgroup2
// handles (a cgroup's css is its `self`, at offset 0: the handle).
//
// The kernel puts the css on its parent's per-CPU updated list, and the
// parent on its own parent's, up to the root, so that the next flush
// (css_rstat_flush, reading cpu.stat, and the BPF programs on
// bpf_rstat_flush) visits them. bpfemu keeps that pending set: the
// cgroup and each ancestor, per CPU, until RstatFlush takes them. The
// kernel has no flush a test run can reach (css_rstat_flush is offered to
// no program type), and bpfemu runs no program on bpf_rstat_flush
// (docs/semantics.md), so the set is what the emulated kernel's state shows
// (RstatPending). A CPU outside the possible ones, which the kernel does not
// check (per_cpu_ptr of another CPU's area), stops a bytecode run.
// Shared by the interpreter (emu/kfunc.cc's table) and the native face
// (native/rstat_kfuncs.cc).

#ifndef BPFEMU_EMU_RSTAT_KFUNCS_H_
#define BPFEMU_EMU_RSTAT_KFUNCS_H_

#include <cstdint>
#include <vector>

#include "emu/interp.h"

namespace bpfemu::rstatk {

// css_rstat_updated: 0, or -EINVAL (nothing marked) when `css` is no
// cgroup2 handle or `cpu` is no possible CPU.
int CssRstatUpdated(const void* css, int cpu);
// Whether cgroup `id` is pending on `cpu` (on its parent's updated list,
// or the root's own).
bool RstatPending(uint64_t id, int cpu);
// css_rstat_flush of cgroup `id` (kernel/cgroup/rstat.c): takes the pending
// marks of `id` and its descendants on every CPU, the cgroups flushed in
// the order the kernel's updated tree gives them (children before their
// parent).
std::vector<uint64_t> RstatFlush(uint64_t id);

uint64_t InterpCssRstatUpdated(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu::rstatk

#endif  // BPFEMU_EMU_RSTAT_KFUNCS_H_
