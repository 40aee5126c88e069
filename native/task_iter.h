// SPDX-License-Identifier: Apache-2.0
// File: task_iter.h
//
// kfuncB47: kernel/bpf/task_iter.c's open-coded task iterators over
// native/task_model.h's views, as both faces call them (the native
// bpf_iter_task_* / bpf_iter_task_vma_* of native/task_iter_kfuncs.cc, and
// the interpreter through emu/task_iter_kfuncs.h's operations, registered
// by task_iter.cc).
//
// The task iterator walks the tasks /proc shows, as the kernel walks its
// task list from init_task: BPF_TASK_ITER_ALL_PROCS every process (group
// leader), _ALL_THREADS every thread of each, _PROC_THREADS the given task
// and the threads of its process after it. The vma iterator walks
// /proc/TID/smaps from the address given, one vma snapshot at a time.

#ifndef BPFEMU_NATIVE_TASK_ITER_H_
#define BPFEMU_NATIVE_TASK_ITER_H_

#include <cstddef>
#include <cstdint>

namespace bpfemu::native {

// bpf_iter_task_new on the 24 bytes of struct bpf_iter_task: 0, or
// -EINVAL (flags other than the three, PROC_THREADS with a NULL task).
int TaskIterNew(void* it, const void* task, uint32_t flags);
// bpf_iter_task_next: the next task view, or nullptr.
const void* TaskIterNext(void* it);
// bpf_iter_task_vma_new on the 8 bytes of struct bpf_iter_task_vma: 0, or
// -ENOENT for a task without an mm (init_task, a kernel thread, a task
// gone).
int VmaIterNew(void* it, const void* task, uint64_t addr);
// bpf_iter_task_vma_next: the vma snapshot (*size bytes), or nullptr.
const void* VmaIterNext(void* it, size_t* size);
// bpf_iter_task_vma_destroy: frees the iterator's data (nothing for an
// iterator that failed or is no live one).
void VmaIterDestroy(void* it);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_TASK_ITER_H_
