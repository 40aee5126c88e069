// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c's task kfuncs (bpf_task_from_pid,
// bpf_task_acquire, bpf_task_release): a natively built program's
// `extern ... __ksym` declarations (weak) resolve to these definitions.
// The tasks are native/task_model.h's views (the calling thread, its group
// leader, its ancestors up to pid 1), the same bpf_get_current_task_btf
// answers; emu/task_kfuncs.h holds the shared part.

#include <linux/types.h>

#include "emu/task_kfuncs.h"

extern "C" {

struct task_struct;

struct task_struct* bpf_task_from_pid(__s32 pid) {
  return static_cast<struct task_struct*>(
      const_cast<void*>(bpfemu::TaskFromPid(pid)));
}

struct task_struct* bpf_task_acquire(struct task_struct* p) {
  return static_cast<struct task_struct*>(
      const_cast<void*>(bpfemu::TaskAcquire(p)));
}

// The views live as long as their thread: a reference holds nothing.
void bpf_task_release(struct task_struct* p) { (void)p; }

}  // extern "C"
