// SPDX-License-Identifier: Apache-2.0
// File: task_work.h
//
// Issue 24 (tw50): the state of a struct bpf_task_work map-value field
// (kernel/bpf/helpers.c, 6.18: bpf_task_work_schedule,
// bpf_task_work_acquire_ctx, bpf_task_work_callback,
// bpf_task_work_cancel_and_free). A schedule makes the field pending
// (STANDBY -> PENDING; a second schedule while pending: -EBUSY) and queues
// the work for the calling thread; the kernel runs it when the target task
// returns to user mode (TWA_RESUME) or takes its signal (TWA_SIGNAL), which
// for the task that ran BPF_PROG_TEST_RUN is the syscall's return. bpfemu
// runs it when the thread's outermost ProgRun() returns (emu/prog.cc,
// RunTaskWorks()): the callback gets (map, key, value) and the field is
// STANDBY again. Deleting, replacing or overwriting the value, or freeing
// the map, cancels a pending work (bpf_task_work_cancel_and_free). The
// state is this process's, as the timer table's (emu/timer.h).

#ifndef BPFEMU_EMU_TASK_WORK_H_
#define BPFEMU_EMU_TASK_WORK_H_

#include <cstdint>

#include "emu/timer.h"

namespace bpfemu {

// sizeof(struct bpf_task_work) (include/uapi/linux/bpf.h, 6.18): one u64.
inline constexpr uint32_t kTaskWorkSize = 8;

// enum task_work_notify_mode (include/linux/task_work.h).
inline constexpr int kTwaResume = 1;
inline constexpr int kTwaSignal = 2;

// bpf_task_work_schedule() for the field at `site` (Map::TaskWorkSiteOf):
// -EBUSY while a work of the field is pending or running, else 0 and the
// work queued for this thread. `cb` gets `map_handle`, the key and value.
int TaskWorkSchedule(const TimerSite& site, uint64_t map_handle,
                     TimerCallback cb, int mode);

// bpf_task_work_cancel_and_free() for the field at byte `off` of the
// region of map `map_id`, and for every field reached through the map
// object `owner` (the map freed in this process).
void TaskWorkFreeAt(uint32_t map_id, uint64_t off);
void TaskWorkFreeMap(const void* owner);

// Works queued by this thread and not yet run (task_work_pending()).
extern thread_local uint32_t t_task_works_queued;
// task_work_run() for this thread: runs each queued work's callback (and
// those the callbacks queue) in order; a field is RUNNING (a schedule on it
// -EBUSY) during its callback and STANDBY after. Returns the number run.
uint64_t RunTaskWorks();
// Fields with a pending or running work in this process.
uint64_t TaskWorkCount();

}  // namespace bpfemu

#endif  // BPFEMU_EMU_TASK_WORK_H_
