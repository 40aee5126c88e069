// SPDX-License-Identifier: Apache-2.0
// File: wq_kfuncs.h
//
// kfuncB47: BPF workqueues, kernel/bpf/helpers.c bpf_wq_init,
// bpf_wq_set_callback_impl and bpf_wq_start (__bpf_async_init,
// __bpf_async_set_callback, bpf_wq_work) on the struct bpf_wq of an ARRAY,
// HASH or LRU_HASH value (Map::WqSiteOf), modelled on the BPF timers
// (emu/timer.h): a wq's state sits in the process's timer table, keyed by
// the field, and is freed with the value as a timer is. bpf_wq_start queues
// the work as a timer due now: its callback runs, with the map, the
// element's key and its value, when the test drains the work with
// AdvanceTimers() (the kernel runs it on a kworker soon after). Shared by
// the interpreter (emu/kfunc.cc's table) and the native face
// (native/wq_kfuncs.cc).

#ifndef BPFEMU_EMU_WQ_KFUNCS_H_
#define BPFEMU_EMU_WQ_KFUNCS_H_

#include <cstdint>
#include <memory>

#include "emu/interp.h"
#include "emu/map.h"
#include "emu/timer.h"

namespace bpfemu {

// bpf_wq_init(wq, map, flags): -EINVAL for flags or a wq that is no
// struct bpf_wq of `map`'s values (the verifier refuses that at load);
// -EBUSY for a wq initialized already; else 0. `map_handle` is what the
// callback receives as its map.
int WqInit(const Map* map, uint64_t map_handle, uint8_t* wq, uint32_t flags);
// bpf_wq_set_callback_impl: -EINVAL for flags, or before bpf_wq_init.
int WqSetCallback(uint8_t* wq, TimerCallback cb, uint32_t flags);
// bpf_wq_start: -EINVAL for flags, before bpf_wq_init or without a
// callback; else 0 and the work queued (once, however often started
// before it runs).
int WqStart(uint8_t* wq, uint32_t flags);

// The Map behind a bytecode program's map argument (loader/bytecode.cc
// registers it; emu/ does not know the handles); nullptr for anything
// that is no map handle.
using WqMapOfHandle = const Map* (*)(uint64_t handle);
void SetWqMapOfHandle(WqMapOfHandle fn);
// The registered lookup (nullptr before a registration): also the task_work
// kfuncs' (emu/task_work_kfuncs.h).
const Map* WqMapOf(uint64_t handle);

// A bytecode program's map-element callback, callback_fn(map, key, value),
// as bpf_wq_set_callback_impl and bpf_task_work_schedule store it: the
// program (held, as the kernel holds cb->prog / ctx->prog) and the
// subprogram. CallBytecodeMapCallback(cb, map, key, value) runs it in a
// ProgRun() of a shell program, so that a fault ends only the callback
// (bpf_wq_work, bpf_task_work_callback); a map handle that names no map
// runs nothing.
struct BytecodeMapCallback {
  std::shared_ptr<const interp::Program> code;
  uint64_t callback;
};
void CallBytecodeMapCallback(void* cb, uint64_t map, void* key, void* value);

// The interpreter's bindings: the wq must be a struct bpf_wq in the
// program's writable map memory, the map a map the program holds, the
// callback a subprogram (the verifier's checks), else the run stops.
uint64_t InterpWqInit(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);
uint64_t InterpWqSetCallback(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpWqStart(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_WQ_KFUNCS_H_
