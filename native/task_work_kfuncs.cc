// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c's task_work kfuncs (6.18,
// tw50: bpf_task_work_schedule_signal_impl, _resume_impl): a natively
// built program's `extern ... __ksym` declarations (weak) resolve to these
// definitions; the work is emu/task_work_kfuncs.h's. The map argument is
// the definition the program passed (&name); the callback receives it back.

#include "emu/task_work_kfuncs.h"
#include "emu/task_work.h"
#include "native/bound_map.h"

namespace {

// bpf_task_work_callback()'s call of a native callback:
// int (*)(struct bpf_map *map, void *key, void *value), its return ignored.
void CallNative(void* fn, uint64_t map, void* key, void* value) {
  reinterpret_cast<int (*)(void*, void*, void*)>(fn)(
      reinterpret_cast<void*>(map), key, value);
}

int Schedule(const void* task, void* tw, void* map__map, void* callback,
             int mode) {
  bpfemu::native::internal::BoundMap* b =
      map__map != nullptr ? bpfemu::native::internal::BoundOf(map__map)
                          : nullptr;
  return bpfemu::TaskWorkScheduleKfunc(task, static_cast<uint8_t*>(tw),
                                       b != nullptr ? b->map.get() : nullptr,
                                       reinterpret_cast<uint64_t>(map__map),
                                       {&CallNative, callback, nullptr}, mode);
}

}  // namespace

extern "C" {

struct task_struct;
struct bpf_task_work;
struct bpf_map;

int bpf_task_work_schedule_signal_impl(
    struct task_struct* task, struct bpf_task_work* tw, void* map__map,
    int (*callback)(struct bpf_map*, void*, void*), void* aux__prog) {
  (void)aux__prog;
  return Schedule(task, tw, map__map, reinterpret_cast<void*>(callback),
                  bpfemu::kTwaSignal);
}

int bpf_task_work_schedule_resume_impl(
    struct task_struct* task, struct bpf_task_work* tw, void* map__map,
    int (*callback)(struct bpf_map*, void*, void*), void* aux__prog) {
  (void)aux__prog;
  return Schedule(task, tw, map__map, reinterpret_cast<void*>(callback),
                  bpfemu::kTwaResume);
}

}  // extern "C"
