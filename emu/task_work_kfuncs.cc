// SPDX-License-Identifier: Apache-2.0
// File: task_work_kfuncs.cc
//
// kernel/bpf/helpers.c (6.18) bpf_task_work_schedule_signal_impl /
// bpf_task_work_schedule_resume_impl over emu/task_work.h
// (task_work_kfuncs.h).

#include "emu/task_work_kfuncs.h"

#include <cerrno>
#include <memory>
#include <utility>

#include "emu/prog.h"
#include "emu/task_work.h"
#include "emu/wq_kfuncs.h"

namespace bpfemu {

namespace {

uint64_t InterpSchedule(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                        uint64_t r4, int mode, const char* name) {
  // KF_TRUSTED_ARGS: the verifier refuses a task that may be NULL.
  if (r1 == 0) vm.Fault("%s: R1 is not a trusted task", name);
  if (!vm.Writable(r2, kTaskWorkSize)) {
    vm.Fault("%s: R2 is not a struct bpf_task_work in map memory", name);
  }
  const Map* map = vm.IsMapHandle(r3) ? WqMapOf(r3) : nullptr;
  if (map == nullptr) vm.Fault("%s: R3 is not a map", name);
  auto* tw = reinterpret_cast<uint8_t*>(r2);
  TimerSite site;
  if (!map->TaskWorkSiteOf(tw, &site)) {
    vm.Fault("%s: R2 is not the struct bpf_task_work of a value of R3's map",
             name);
  }
  if (!vm.IsCallback(r4)) vm.Fault("%s: R4 is not a callback", name);
  auto cb = std::make_shared<BytecodeMapCallback>(
      BytecodeMapCallback{vm.program()->shared_from_this(), r4});
  void* arg = cb.get();
  const int ret = TaskWorkScheduleKfunc(
      reinterpret_cast<const void*>(r1), tw, map, r3,
      {&CallBytecodeMapCallback, arg, std::move(cb)}, mode);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

}  // namespace

int TaskWorkScheduleKfunc(const void* task, uint8_t* tw, const Map* map,
                          uint64_t map_handle, TimerCallback cb, int mode) {
  (void)task;  // bpfemu runs the work on the calling thread (task_work.h)
  TimerSite site;
  if (map == nullptr || !map->TaskWorkSiteOf(tw, &site)) return -EINVAL;
  return TaskWorkSchedule(site, map_handle, std::move(cb), mode);
}

uint64_t InterpTaskWorkScheduleSignal(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                      uint64_t r3, uint64_t r4, uint64_t) {
  return InterpSchedule(vm, r1, r2, r3, r4, kTwaSignal,
                        "bpf_task_work_schedule_signal_impl");
}

uint64_t InterpTaskWorkScheduleResume(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                      uint64_t r3, uint64_t r4, uint64_t) {
  return InterpSchedule(vm, r1, r2, r3, r4, kTwaResume,
                        "bpf_task_work_schedule_resume_impl");
}

}  // namespace bpfemu
