// SPDX-License-Identifier: Apache-2.0
// File: task_work_kfuncs.h
//
// Issue 24 (tw50): kernel/bpf/helpers.c's bpf_task_work_schedule_signal_impl
// and bpf_task_work_schedule_resume_impl (6.18, bpf_task_work_schedule) on
// the struct bpf_task_work of an ARRAY, HASH or LRU_HASH value
// (Map::TaskWorkSiteOf, emu/task_work.h): the callback runs with the map,
// the element's key and its value when the calling thread's run returns
// (the kernel: when the task returns to user mode, or on its signal).
// Shared by the interpreter (emu/kfunc.cc's table) and the native face
// (native/task_work_kfuncs.cc).

#ifndef BPFEMU_EMU_TASK_WORK_KFUNCS_H_
#define BPFEMU_EMU_TASK_WORK_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"
#include "emu/map.h"
#include "emu/timer.h"

namespace bpfemu {

// bpf_task_work_schedule(task, tw, map, callback, aux, mode): -EINVAL for
// a tw that is no struct bpf_task_work of `map`'s values (the verifier
// refuses that at load), -EBUSY while the field's work is pending or
// running (bpf_task_work_acquire_ctx), else 0 with the work queued.
// `map_handle` is what the callback receives as its map.
int TaskWorkScheduleKfunc(const void* task, uint8_t* tw, const Map* map,
                          uint64_t map_handle, TimerCallback cb, int mode);

// The interpreter's bindings: the task must be a task pointer (non-NULL:
// KF_TRUSTED_ARGS), tw a struct bpf_task_work of the map's values in the
// program's map memory, the map a map the program holds, the callback a
// subprogram (the verifier's checks), else the run stops.
uint64_t InterpTaskWorkScheduleSignal(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                      uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpTaskWorkScheduleResume(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                      uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_TASK_WORK_KFUNCS_H_
