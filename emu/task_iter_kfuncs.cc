// SPDX-License-Identifier: Apache-2.0
// File: task_iter_kfuncs.cc
//
// kernel/bpf/task_iter.c bpf_iter_task_* and bpf_iter_task_vma_*: the
// interpreter's bindings over the registered operations
// (task_iter_kfuncs.h).

#include "emu/task_iter_kfuncs.h"

#include <atomic>
#include <cerrno>
#include <cstring>

namespace bpfemu {

namespace {

std::atomic<const TaskIterOps*> iter_ops{nullptr};

void NeedIter(interp::Vm& vm, uint64_t p, size_t size, const char* name) {
  if (!vm.Writable(p, size)) {
    vm.Fault("%s: R1 is not a writable %zu-byte iterator", name, size);
  }
}

// The task views a run may read: the thread's own block and the others.
void AddViews(interp::Vm& vm, const TaskIterOps* ops) {
  const uint8_t* data = nullptr;
  size_t size = 0;
  ops->own_views(&data, &size);
  if (size != 0) vm.AddRegion(reinterpret_cast<uint64_t>(data), size, false);
  ops->views(&data, &size);
  if (size != 0) vm.AddRegion(reinterpret_cast<uint64_t>(data), size, false);
}

}  // namespace

void SetTaskIterOps(const TaskIterOps* ops) {
  iter_ops.store(ops, std::memory_order_release);
}

const TaskIterOps* GetTaskIterOps() {
  return iter_ops.load(std::memory_order_acquire);
}

uint64_t InterpIterTaskNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterTaskSize, "bpf_iter_task_new");
  const TaskIterOps* ops = GetTaskIterOps();
  void* it = reinterpret_cast<void*>(r1);
  const void* task = reinterpret_cast<const void*>(r2);
  if (task != nullptr && (ops == nullptr || !ops->is_task(task))) {
    vm.Fault("bpf_iter_task_new: R2 is neither NULL nor a trusted task");
  }
  if (ops == nullptr) {
    std::memset(it, 0, kIterTaskSize);
    return static_cast<uint64_t>(int64_t{-ENOENT});
  }
  const int ret = ops->task_new(it, task, static_cast<uint32_t>(r3));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpIterTaskNext(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterTaskSize, "bpf_iter_task_next");
  const TaskIterOps* ops = GetTaskIterOps();
  if (ops == nullptr) return 0;
  const void* t = ops->task_next(reinterpret_cast<void*>(r1));
  if (t != nullptr) AddViews(vm, ops);
  return reinterpret_cast<uint64_t>(t);
}

uint64_t InterpIterTaskDestroy(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                               uint64_t, uint64_t) {
  // Nothing to free (the kernel's destroy is empty).
  NeedIter(vm, r1, kIterTaskSize, "bpf_iter_task_destroy");
  return 0;
}

uint64_t InterpIterTaskVmaNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterTaskVmaSize, "bpf_iter_task_vma_new");
  const TaskIterOps* ops = GetTaskIterOps();
  void* it = reinterpret_cast<void*>(r1);
  const void* task = reinterpret_cast<const void*>(r2);
  // Without the task views no pointer is a task.
  if (ops == nullptr || !ops->is_task(task)) {
    vm.Fault("bpf_iter_task_vma_new: R2 is not a trusted task");
  }
  const int ret = ops->vma_new(it, task, r3);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpIterTaskVmaNext(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                               uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterTaskVmaSize, "bpf_iter_task_vma_next");
  const TaskIterOps* ops = GetTaskIterOps();
  if (ops == nullptr) return 0;
  size_t size = 0;
  const void* v = ops->vma_next(reinterpret_cast<void*>(r1), &size);
  if (v != nullptr) {
    vm.AddRegion(reinterpret_cast<uint64_t>(v), size, false);
  }
  return reinterpret_cast<uint64_t>(v);
}

uint64_t InterpIterTaskVmaDestroy(interp::Vm& vm, uint64_t r1, uint64_t,
                                  uint64_t, uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterTaskVmaSize, "bpf_iter_task_vma_destroy");
  const TaskIterOps* ops = GetTaskIterOps();
  if (ops != nullptr) ops->vma_destroy(reinterpret_cast<void*>(r1));
  return 0;
}

}  // namespace bpfemu
