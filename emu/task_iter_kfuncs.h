// SPDX-License-Identifier: Apache-2.0
// File: task_iter_kfuncs.h
//
// kfuncB47: the open-coded task iterators of kernel/bpf/task_iter.c
// (bpf_iter_task_new / _next / _destroy, bpf_iter_task_vma_new / _next /
// _destroy). The tasks and vmas are the native helpers' (native/
// task_iter_kfuncs.cc registers the operations below; emu/ does not know
// the task views): every thread /proc shows, as task_struct views laid out
// by the kernel BTF, and the vmas of /proc/TID/smaps. Until they are
// registered (a binary without the native helpers) no pointer is a task
// and the task iterator finds nothing: bpf_iter_task_new(NULL) answers
// -ENOENT.

#ifndef BPFEMU_EMU_TASK_ITER_KFUNCS_H_
#define BPFEMU_EMU_TASK_ITER_KFUNCS_H_

#include <cstddef>
#include <cstdint>

#include "emu/interp.h"

namespace bpfemu {

// struct bpf_iter_task (3 u64) and struct bpf_iter_task_vma (1 u64).
inline constexpr size_t kIterTaskSize = 24;
inline constexpr size_t kIterTaskVmaSize = 8;

// kernel/bpf/task_iter.c's flags of bpf_iter_task_new.
inline constexpr uint32_t kTaskIterAllProcs = 0;
inline constexpr uint32_t kTaskIterAllThreads = 1;
inline constexpr uint32_t kTaskIterProcThreads = 2;

struct TaskIterOps {
  // bpf_iter_task_new: 0, or -EINVAL for unknown flags or PROC_THREADS
  // without a task.
  int (*task_new)(void* it, const void* task, uint32_t flags);
  // bpf_iter_task_next: the next task view, or nullptr at the end.
  const void* (*task_next)(void* it);
  // bpf_iter_task_vma_new: 0; -ENOENT for a task without an mm (a kernel
  // thread, init_task).
  int (*vma_new)(void* it, const void* task, uint64_t addr);
  // bpf_iter_task_vma_next: the next vma snapshot (*size bytes: the vma and
  // its zeroed struct file), or nullptr.
  const void* (*vma_next)(void* it, size_t* size);
  void (*vma_destroy)(void* it);
  // Whether `p` is a task view, the views beyond the calling thread's own
  // block, and that block (a bytecode run reads them).
  bool (*is_task)(const void* p);
  void (*views)(const uint8_t** data, size_t* size);
  void (*own_views)(const uint8_t** data, size_t* size);
};
void SetTaskIterOps(const TaskIterOps* ops);
const TaskIterOps* GetTaskIterOps();

// The interpreter's bindings: the iterator must be writable stack bytes of
// its size, the task a task view (or NULL where the kfunc takes
// task__nullable); a task or vma handed out becomes read-only memory of the
// run.
uint64_t InterpIterTaskNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterTaskNext(interp::Vm& vm, uint64_t r1, uint64_t r2,
                            uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterTaskDestroy(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterTaskVmaNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterTaskVmaNext(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterTaskVmaDestroy(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                  uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_TASK_ITER_KFUNCS_H_
