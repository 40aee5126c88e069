// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/task_iter.c's open-coded task iterators
// (kfuncB47): a natively built program's `extern ... __ksym` declarations
// (weak) resolve to these definitions; the work is native/task_iter.h's.

#include <linux/types.h>

#include <cstddef>

#include "native/task_iter.h"

extern "C" {

struct task_struct;
struct vm_area_struct;
struct bpf_iter_task;
struct bpf_iter_task_vma;

int bpf_iter_task_new(struct bpf_iter_task* it, struct task_struct* task,
                      unsigned int flags) {
  return bpfemu::native::TaskIterNew(it, task, flags);
}

struct task_struct* bpf_iter_task_next(struct bpf_iter_task* it) {
  return static_cast<struct task_struct*>(
      const_cast<void*>(bpfemu::native::TaskIterNext(it)));
}

void bpf_iter_task_destroy(struct bpf_iter_task* it) { (void)it; }

int bpf_iter_task_vma_new(struct bpf_iter_task_vma* it,
                          struct task_struct* task, __u64 addr) {
  return bpfemu::native::VmaIterNew(it, task, addr);
}

struct vm_area_struct* bpf_iter_task_vma_next(struct bpf_iter_task_vma* it) {
  size_t size = 0;
  return static_cast<struct vm_area_struct*>(
      const_cast<void*>(bpfemu::native::VmaIterNext(it, &size)));
}

void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma* it) {
  bpfemu::native::VmaIterDestroy(it);
}

}  // extern "C"
