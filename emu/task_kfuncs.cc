// SPDX-License-Identifier: Apache-2.0
// File: task_kfuncs.cc
//
// kernel/bpf/helpers.c bpf_task_from_pid / bpf_task_acquire /
// bpf_task_release over the registered task views (task_kfuncs.h).

#include "emu/task_kfuncs.h"

#include <atomic>

#include "emu/task_iter_kfuncs.h"

namespace bpfemu {

namespace {
std::atomic<const TaskKfuncOps*> task_ops{nullptr};

void AddTaskBlock(interp::Vm& vm, const TaskKfuncOps* ops) {
  const uint8_t* data = nullptr;
  size_t size = 0;
  ops->block(&data, &size);
  if (size != 0) vm.AddRegion(reinterpret_cast<uint64_t>(data), size, false);
  // kfuncB47: the views of the other threads.
  if (const TaskIterOps* it = GetTaskIterOps(); it != nullptr) {
    it->views(&data, &size);
    if (size != 0) vm.AddRegion(reinterpret_cast<uint64_t>(data), size, false);
  }
}

void NeedTask(interp::Vm& vm, uint64_t p, const char* name) {
  const TaskKfuncOps* ops = GetTaskKfuncOps();
  if (ops == nullptr || !ops->is_task(reinterpret_cast<const void*>(p))) {
    vm.Fault("%s: R1 is not a task_struct the program holds", name);
  }
}
}  // namespace

void SetTaskKfuncOps(const TaskKfuncOps* ops) {
  task_ops.store(ops, std::memory_order_release);
}

const TaskKfuncOps* GetTaskKfuncOps() {
  return task_ops.load(std::memory_order_acquire);
}

void AddTaskViewRegions(interp::Vm& vm) {
  if (const TaskKfuncOps* ops = GetTaskKfuncOps(); ops != nullptr) {
    AddTaskBlock(vm, ops);
  }
}

const void* TaskFromPid(int32_t pid) {
  const TaskKfuncOps* ops = GetTaskKfuncOps();
  return ops != nullptr ? ops->from_pid(pid) : nullptr;
}

const void* TaskAcquire(const void* task) { return task; }

uint64_t InterpTaskFromPid(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  const void* t = TaskFromPid(static_cast<int32_t>(r1));
  if (t != nullptr) AddTaskBlock(vm, GetTaskKfuncOps());
  return reinterpret_cast<uint64_t>(t);
}

uint64_t InterpTaskAcquire(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  NeedTask(vm, r1, "bpf_task_acquire");
  return reinterpret_cast<uint64_t>(
      TaskAcquire(reinterpret_cast<const void*>(r1)));
}

uint64_t InterpTaskRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  NeedTask(vm, r1, "bpf_task_release");
  return 0;
}

}  // namespace bpfemu
