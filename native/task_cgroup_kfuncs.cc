// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c bpf_task_from_vpid,
// bpf_task_under_cgroup, bpf_task_get_cgroup1, bpf_cgroup_ancestor and
// kernel/trace/bpf_trace.c bpf_send_signal_task (kfuncB47): a natively
// built program's `extern ... __ksym` declarations (weak) resolve to these
// definitions; the work is emu/task_cgroup_kfuncs.h's.

#include <linux/types.h>

#include "emu/task_cgroup_kfuncs.h"

extern "C" {

struct task_struct;
struct cgroup;

struct task_struct* bpf_task_from_vpid(__s32 vpid) {
  return static_cast<struct task_struct*>(
      const_cast<void*>(bpfemu::TaskFromVpid(vpid)));
}

long bpf_task_under_cgroup(struct task_struct* task, struct cgroup* ancestor) {
  return bpfemu::TaskUnderCgroup(task, ancestor);
}

struct cgroup* bpf_task_get_cgroup1(struct task_struct* task,
                                    int hierarchy_id) {
  return static_cast<struct cgroup*>(
      bpfemu::TaskGetCgroup1(task, hierarchy_id));
}

struct cgroup* bpf_cgroup_ancestor(struct cgroup* cgrp, int level) {
  return static_cast<struct cgroup*>(bpfemu::CgroupAncestor(cgrp, level));
}

int bpf_send_signal_task(struct task_struct* task, int sig, int type,
                         __u64 value) {
  return bpfemu::SendSignalTask(task, sig, type, value);
}

}  // extern "C"
