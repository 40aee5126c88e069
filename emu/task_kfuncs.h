// SPDX-License-Identifier: Apache-2.0
// File: task_kfuncs.h
//
// The task kfuncs (kernel/bpf/helpers.c bpf_task_from_pid,
// bpf_task_acquire, bpf_task_release) over the emulated tasks. The tasks
// are the native helpers' (native/task_model.h registers the operations
// below; emu/ does not know the task views): the calling thread, its group
// leader and its ancestors up to pid 1, each a task_struct view laid out
// by the kernel BTF. Until they are registered (a binary without the
// native helpers) no pid names a task.

#ifndef BPFEMU_EMU_TASK_KFUNCS_H_
#define BPFEMU_EMU_TASK_KFUNCS_H_

#include <cstddef>
#include <cstdint>

#include "emu/interp.h"

namespace bpfemu {

struct TaskKfuncOps {
  // find_task_by_pid_ns(pid, &init_pid_ns): the view of the task `pid`,
  // or nullptr (pid 0, the idle task, is in no pid table).
  const void* (*from_pid)(int32_t pid);
  // Whether `p` is a task view handed out (a trusted task pointer).
  bool (*is_task)(const void* p);
  // The block of views, which a bytecode run may read (read-only).
  void (*block)(const uint8_t** data, size_t* size);
  // kfuncB47: the thread id of a task view (0 for init_task), false for a
  // pointer that is no view.
  bool (*tid_of)(const void* task, long* tid);
};
void SetTaskKfuncOps(const TaskKfuncOps* ops);
const TaskKfuncOps* GetTaskKfuncOps();

// bpf_task_from_pid: the task, with a reference (the views live as long
// as the thread, so references change nothing), or NULL.
const void* TaskFromPid(int32_t pid);
// bpf_task_acquire: the task itself (refcount_inc_not_zero of a task that
// is alive always succeeds); bpf_task_release drops nothing.
const void* TaskAcquire(const void* task);

// kfuncB47: the task views as read-only regions of a run (every view a
// kfunc may hand out).
void AddTaskViewRegions(interp::Vm& vm);

// The interpreter's bindings: a task a kfunc hands out becomes a read-only
// region of the run; task arguments must be task views.
uint64_t InterpTaskFromPid(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpTaskAcquire(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpTaskRelease(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_TASK_KFUNCS_H_
