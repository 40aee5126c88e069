// SPDX-License-Identifier: Apache-2.0
// File: css_iter_kfuncs.h
//
// kfuncB47: the open-coded css iterators, kernel/bpf/cgroup_iter.c
// bpf_iter_css_new / _next / _destroy (the descendants of a css in pre or
// post order, or its ancestors up) and kernel/bpf/task_iter.c
// bpf_iter_css_task_new / _next / _destroy (the tasks of a css), over
// emu/cgroup.h's cgroup2 handles (a cgroup's css is its `self`, at offset
// 0: the handle) and the task views of emu/task_kfuncs.h. Shared by the
// interpreter (emu/kfunc.cc's table) and the native face
// (native/css_iter_kfuncs.cc).

#ifndef BPFEMU_EMU_CSS_ITER_KFUNCS_H_
#define BPFEMU_EMU_CSS_ITER_KFUNCS_H_

#include <cstddef>
#include <cstdint>

#include "emu/interp.h"

namespace bpfemu {

// struct bpf_iter_css (3 u64) and struct bpf_iter_css_task (1 u64).
inline constexpr size_t kIterCssSize = 24;
inline constexpr size_t kIterCssTaskSize = 8;

// include/uapi/linux/bpf.h enum bpf_cgroup_iter_order (SELF_ONLY, 1, is
// for the cgroup iterator link only: bpf_iter_css_new refuses it).
inline constexpr uint32_t kCgroupIterDescendantsPre = 2;
inline constexpr uint32_t kCgroupIterDescendantsPost = 3;
inline constexpr uint32_t kCgroupIterAncestorsUp = 4;
// include/linux/cgroup.h CSS_TASK_ITER_PROCS / _THREADED.
inline constexpr uint32_t kCssTaskIterProcs = 1;
inline constexpr uint32_t kCssTaskIterThreaded = 2;

// bpf_iter_css_new: 0, or -EINVAL for another order (the iterator then
// finds nothing).
int IterCssNew(void* it, void* start, uint32_t flags);
// bpf_iter_css_next: the next css (a handle, no reference), or nullptr.
void* IterCssNext(void* it);
// bpf_iter_css_task_new: 0; -EINVAL for flags other than 0, PROCS and
// PROCS | THREADED.
int IterCssTaskNew(void* it, void* css, uint32_t flags);
// bpf_iter_css_task_next: the next task view, or nullptr.
const void* IterCssTaskNext(void* it);
// bpf_iter_css_task_destroy: frees the iterator's list.
void IterCssTaskDestroy(void* it);

// The interpreter's bindings: the iterator must be writable bytes of its
// size, the css a cgroup handle (the verifier's trusted pointer).
uint64_t InterpIterCssNew(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t r4, uint64_t r5);
uint64_t InterpIterCssNext(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterCssDestroy(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterCssTaskNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterCssTaskNext(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterCssTaskDestroy(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                  uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_CSS_ITER_KFUNCS_H_
