// SPDX-License-Identifier: Apache-2.0
// The BPF timer helpers of the native face (kernel/bpf/helpers.c
// bpf_timer_init, bpf_timer_set_callback, bpf_timer_start,
// bpf_timer_cancel) over the process's timer table and emulated clock
// (emu/timer.h). The bytecode face's table (loader/bytecode.cc) calls the
// same functions, with its own callback for bpf_timer_set_callback.
#include <linux/bpf.h>

#include <cstdint>

#include "bpfemu/native_abi.h"
#include "emu/map.h"
#include "emu/timer.h"
#include "native/bound_map.h"

namespace {

uint8_t* Field(struct bpf_timer* timer) {
  return reinterpret_cast<uint8_t*>(timer);
}

// bpf_timer_cb()'s call of a native callback:
// int (*)(void *map, void *key, void *value), its return value ignored.
void CallNative(void* fn, uint64_t map, void* key, void* value) {
  reinterpret_cast<int (*)(void*, void*, void*)>(fn)(
      reinterpret_cast<void*>(map), key, value);
}

}  // namespace

// The map argument is the definition the program passed (&name); the
// callback receives it back.
long bpfemu_timer_init(struct bpf_timer* timer, void* map, __u64 flags) {
  bpfemu::native::internal::BoundMap* b =
      map != nullptr ? bpfemu::native::internal::BoundOf(map) : nullptr;
  bpfemu::TimerSite site;
  // The verifier refuses another map's timer.
  if (b == nullptr || b->map == nullptr ||
      !b->map->TimerSiteOf(Field(timer), &site)) {
    return -EINVAL;
  }
  return bpfemu::TimerInit(site, reinterpret_cast<uint64_t>(map), Field(timer),
                           flags);
}

long bpfemu_timer_set_callback(struct bpf_timer* timer, void* callback_fn) {
  return bpfemu::TimerSetCallback(Field(timer),
                                  {&CallNative, callback_fn, nullptr});
}

long bpfemu_timer_start(struct bpf_timer* timer, __u64 nsecs, __u64 flags) {
  return bpfemu::TimerStart(Field(timer), nsecs, flags);
}

long bpfemu_timer_cancel(struct bpf_timer* timer) {
  return bpfemu::TimerCancel(Field(timer));
}
