// SPDX-License-Identifier: Apache-2.0
// File: task_cgroup_kfuncs.h
//
// kfuncB47: the task and cgroup kfuncs of kernel/bpf/helpers.c
// (bpf_task_from_vpid, bpf_task_under_cgroup, bpf_task_get_cgroup1,
// bpf_cgroup_ancestor) and kernel/trace/bpf_trace.c bpf_send_signal_task,
// shared by the interpreter (emu/kfunc.cc's table) and the native face
// (native/task_cgroup_kfuncs.cc). The tasks are emu/task_kfuncs.h's views
// (the calling thread, its group leader, its ancestors up to pid 1, pid 0),
// the cgroups emu/cgroup.h's handles.

#ifndef BPFEMU_EMU_TASK_CGROUP_KFUNCS_H_
#define BPFEMU_EMU_TASK_CGROUP_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu {

// include/linux/pid.h enum pid_type.
inline constexpr int kPidTypePid = 0;
inline constexpr int kPidTypeTgid = 1;

// bpf_task_from_vpid: find_task_by_vpid() in the caller's pid namespace,
// which is the namespace /proc and gettid() of this process speak, so the
// views bpf_task_from_pid finds by the same number.
const void* TaskFromVpid(int32_t vpid);
// bpf_task_under_cgroup: 1 when the task's cgroup2 cgroup is `cgrp` or
// below it, else 0.
long TaskUnderCgroup(const void* task, const void* cgrp);
// bpf_task_get_cgroup1: the task's cgroup in cgroup v1 hierarchy
// `hierarchy_id` (a reference taken), or NULL.
void* TaskGetCgroup1(const void* task, int32_t hierarchy_id);
// bpf_cgroup_ancestor: cgrp's ancestor at `level` (a reference taken), or
// NULL.
void* CgroupAncestor(const void* cgrp, int32_t level);
// bpf_send_signal_task: -EINVAL for a type other than PIDTYPE_PID /
// PIDTYPE_TGID; -EPERM for init_task (a kernel thread) and the global init
// (pid 1); -EINVAL for a signal above 64; 0 for signal 0; else the signal,
// with the kernel's siginfo (SI_KERNEL, no sender, si_value `value`), to
// the thread or its group. A task in another process gets it by
// kill()/tgkill() (userspace may queue a SI_KERNEL siginfo only to its
// own process), so there its siginfo is the sender's.
int SendSignalTask(const void* task, int32_t sig, int32_t type, uint64_t value);

// The interpreter's bindings: task arguments must be task views, cgroup
// arguments cgroup handles (the verifier's trusted / RCU pointers); a
// task or cgroup a kfunc hands out is memory the run may not read (a
// handle) or the task block (a view).
uint64_t InterpTaskFromVpid(interp::Vm& vm, uint64_t r1, uint64_t r2,
                            uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpTaskUnderCgroup(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpTaskGetCgroup1(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpCgroupAncestor(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpSendSignalTask(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_TASK_CGROUP_KFUNCS_H_
