// SPDX-License-Identifier: Apache-2.0
// File: wq_kfuncs.cc
//
// kernel/bpf/helpers.c bpf_wq_init / bpf_wq_set_callback_impl /
// bpf_wq_start over the timer table (wq_kfuncs.h).

#include "emu/wq_kfuncs.h"

#include <time.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <utility>

#include "emu/prog.h"

namespace bpfemu {

namespace {

// include/linux/bpf.h: struct bpf_wq is 16 bytes, as struct bpf_timer.
constexpr uint64_t kWqSize = 16;

std::atomic<WqMapOfHandle> map_of_handle{nullptr};

const Map* MapOf(uint64_t handle) {
  const WqMapOfHandle fn = map_of_handle.load(std::memory_order_acquire);
  return fn != nullptr ? fn(handle) : nullptr;
}

void NeedWq(interp::Vm& vm, uint64_t wq, const char* name) {
  if (!vm.Writable(wq, kWqSize)) {
    vm.Fault("%s: R1 is not a struct bpf_wq in map memory", name);
  }
}

}  // namespace

const Map* WqMapOf(uint64_t handle) { return MapOf(handle); }

namespace {

struct MapCallbackCall {
  const BytecodeMapCallback* cb;
  uint64_t map;
  void* key;
  void* value;
};

int RunMapCallback(void* ctx) {
  const auto* c = static_cast<const MapCallbackCall*>(ctx);
  const Map* map = MapOf(c->map);
  if (map == nullptr) return 0;
  c->cb->code->RunCallback(
      c->cb->callback, c->map, reinterpret_cast<uint64_t>(c->key),
      map->key_size(), reinterpret_cast<uint64_t>(c->value), map->value_size());
  return 0;
}

}  // namespace

void CallBytecodeMapCallback(void* cb, uint64_t map, void* key, void* value) {
  MapCallbackCall call{static_cast<const BytecodeMapCallback*>(cb), map, key,
                       value};
  Prog shell;
  shell.func = &RunMapCallback;
  ProgRun(shell, &call);
}

void SetWqMapOfHandle(WqMapOfHandle fn) {
  map_of_handle.store(fn, std::memory_order_release);
}

int WqInit(const Map* map, uint64_t map_handle, uint8_t* wq, uint32_t flags) {
  if (flags != 0) return -EINVAL;
  TimerSite site;
  if (map == nullptr || !map->WqSiteOf(wq, &site)) return -EINVAL;
  // The timer table's clock does not matter: the work is due at once.
  return TimerInit(site, map_handle, wq, CLOCK_MONOTONIC);
}

int WqSetCallback(uint8_t* wq, TimerCallback cb, uint32_t flags) {
  if (flags != 0) return -EINVAL;
  return TimerSetCallback(wq, std::move(cb));
}

int WqStart(uint8_t* wq, uint32_t flags) {
  if (flags != 0) return -EINVAL;
  // schedule_work(): queued now; a start while queued changes nothing, as
  // re-arming a due timer at 0 ns keeps one run.
  return TimerStart(wq, 0, 0);
}

uint64_t InterpWqInit(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t, uint64_t) {
  NeedWq(vm, r1, "bpf_wq_init");
  const Map* map = vm.IsMapHandle(r2) ? MapOf(r2) : nullptr;
  if (map == nullptr) vm.Fault("bpf_wq_init: R2 is not a map");
  auto* wq = reinterpret_cast<uint8_t*>(r1);
  TimerSite site;
  if (!map->WqSiteOf(wq, &site)) {
    vm.Fault("bpf_wq_init: R1 is not the struct bpf_wq of a value of R2's map");
  }
  const int ret = WqInit(map, r2, wq, static_cast<uint32_t>(r3));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpWqSetCallback(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t, uint64_t) {
  NeedWq(vm, r1, "bpf_wq_set_callback_impl");
  if (!vm.IsCallback(r2)) {
    vm.Fault("bpf_wq_set_callback_impl: R2 is not a callback");
  }
  auto cb = std::make_shared<BytecodeMapCallback>(
      BytecodeMapCallback{vm.program()->shared_from_this(), r2});
  void* arg = cb.get();
  const int ret = WqSetCallback(reinterpret_cast<uint8_t*>(r1),
                                {&CallBytecodeMapCallback, arg, std::move(cb)},
                                static_cast<uint32_t>(r3));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpWqStart(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                       uint64_t, uint64_t) {
  NeedWq(vm, r1, "bpf_wq_start");
  const int ret =
      WqStart(reinterpret_cast<uint8_t*>(r1), static_cast<uint32_t>(r2));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

}  // namespace bpfemu
