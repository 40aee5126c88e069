// SPDX-License-Identifier: Apache-2.0
// File: task_cgroup_kfuncs.cc
//
// kernel/bpf/helpers.c bpf_task_from_vpid, bpf_task_under_cgroup,
// bpf_task_get_cgroup1, bpf_cgroup_ancestor and kernel/trace/bpf_trace.c
// bpf_send_signal_task / bpf_send_signal_common (task_cgroup_kfuncs.h).

#include "emu/task_cgroup_kfuncs.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "emu/cgroup.h"
#include "emu/signal.h"
#include "emu/task_kfuncs.h"

namespace bpfemu {

namespace {

// include/linux/signal.h _NSIG on x86-64.
constexpr uint32_t kNsig = 64;

// The thread id of a task view, or false.
bool TidOf(const void* task, long* tid) {
  const TaskKfuncOps* ops = GetTaskKfuncOps();
  return ops != nullptr && ops->tid_of != nullptr && ops->tid_of(task, tid);
}

long NeedTask(interp::Vm& vm, uint64_t p, const char* name) {
  long tid = 0;
  if (!TidOf(reinterpret_cast<const void*>(p), &tid)) {
    vm.Fault("%s: R1 is not a trusted task_struct", name);
  }
  return tid;
}

void NeedCgroup(interp::Vm& vm, uint64_t p, const char* name, int reg) {
  uint64_t id = 0;
  if (!CgroupRefId(reinterpret_cast<const void*>(p), &id)) {
    vm.Fault("%s: R%d is not a trusted struct cgroup", name, reg);
  }
}

}  // namespace

const void* TaskFromVpid(int32_t vpid) { return TaskFromPid(vpid); }

long TaskUnderCgroup(const void* task, const void* cgrp) {
  long tid = 0;
  if (!TidOf(task, &tid)) return 0;
  return TaskUnderCgroupRef(tid, cgrp) ? 1 : 0;
}

void* TaskGetCgroup1(const void* task, int32_t hierarchy_id) {
  long tid = 0;
  if (!TidOf(task, &tid)) return nullptr;
  return CgroupRefOfTaskV1(tid, hierarchy_id);
}

void* CgroupAncestor(const void* cgrp, int32_t level) {
  return CgroupRefAncestor(cgrp, level);
}

int SendSignalTask(const void* task, int32_t sig, int32_t type,
                   uint64_t value) {
  if (type != kPidTypePid && type != kPidTypeTgid) return -EINVAL;
  long tid = 0;
  if (!TidOf(task, &tid)) return -EINVAL;
  // PF_KTHREAD: init_task; is_global_init: the task of pid 1's group.
  if (tid <= 0) return -EPERM;
  const long self = gettid(), pid = getpid();
  // The views: this thread (of this process), else a group leader.
  const long tgid = tid == self ? pid : tid;
  if (tgid == 1) return -EPERM;
  // check_kill_permission(): valid_signal() of the u32 signal; no
  // permission check for a kernel siginfo; signal 0 sends nothing.
  if (static_cast<uint32_t>(sig) > kNsig) return -EINVAL;
  if (sig == 0) return 0;
  return SendProgramSignal({tgid, tid, sig, type == kPidTypePid, value});
}

uint64_t InterpTaskFromVpid(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t) {
  // The same task and memory as bpf_task_from_pid's.
  return InterpTaskFromPid(vm, r1, 0, 0, 0, 0);
}

uint64_t InterpTaskUnderCgroup(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t, uint64_t, uint64_t) {
  NeedTask(vm, r1, "bpf_task_under_cgroup");
  NeedCgroup(vm, r2, "bpf_task_under_cgroup", 2);
  // A long: 0 or 1.
  return static_cast<uint64_t>(TaskUnderCgroup(
      reinterpret_cast<const void*>(r1), reinterpret_cast<const void*>(r2)));
}

uint64_t InterpTaskGetCgroup1(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t, uint64_t, uint64_t) {
  NeedTask(vm, r1, "bpf_task_get_cgroup1");
  return reinterpret_cast<uint64_t>(TaskGetCgroup1(
      reinterpret_cast<const void*>(r1), static_cast<int32_t>(r2)));
}

uint64_t InterpCgroupAncestor(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t, uint64_t, uint64_t) {
  NeedCgroup(vm, r1, "bpf_cgroup_ancestor", 1);
  return reinterpret_cast<uint64_t>(CgroupAncestor(
      reinterpret_cast<const void*>(r1), static_cast<int32_t>(r2)));
}

uint64_t InterpSendSignalTask(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t r4, uint64_t) {
  NeedTask(vm, r1, "bpf_send_signal_task");
  const int ret =
      SendSignalTask(reinterpret_cast<const void*>(r1),
                     static_cast<int32_t>(r2), static_cast<int32_t>(r3), r4);
  // An int return: sign-extended in R0.
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

}  // namespace bpfemu
