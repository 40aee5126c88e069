// SPDX-License-Identifier: Apache-2.0
// BPF timers: the struct bpf_timer of an ARRAY, HASH or LRU_HASH value, as
// kernel/bpf/helpers.c implements them (bpf_timer_init / __bpf_async_init,
// bpf_timer_set_callback / __bpf_async_set_callback, bpf_timer_start,
// bpf_timer_cancel, bpf_timer_cb, bpf_timer_cancel_and_free), over an
// emulated clock.
//
// A timer's state is process-local (docs/semantics.md, "BPF timers"): the
// 16 bytes of the value stay zero in the shared region, and this process's
// table maps the field's address to its timer. A timer armed in one process
// never fires in another. Timers fire only inside AdvanceTimers(): the
// emulated clock of a clock id is the real clock plus the total time the
// tests advanced it by, and every timer whose expiry the clock has passed
// runs its callback there, in expiry order (ties in the order they were
// started), on the calling thread.
#ifndef BPFEMU_EMU_TIMER_H_
#define BPFEMU_EMU_TIMER_H_

#include <cstdint>
#include <memory>

namespace bpfemu {

// Where a struct bpf_timer is (Map::TimerSiteOf): the map object it is
// reached through, the map's id, the field's offset in the region, its
// value, and the key bpf_timer_cb() hands the callback (an array's index,
// or a hash element's key).
struct TimerSite {
  const void* owner = nullptr;
  uint32_t map_id = 0;
  uint64_t off = 0;
  uint8_t* value = nullptr;
  uint32_t index = 0;
  const uint8_t* key = nullptr;  // null: the index is the key
};

// What bpf_timer_set_callback stores: `call(arg, map, key, value)` runs the
// program's callback with the map handle the program passed to
// bpf_timer_init, the element's key and its value; `owner` keeps what
// `call` needs alive (the kernel's reference on the program).
struct TimerCallback {
  void (*call)(void* arg, uint64_t map, void* key, void* value) = nullptr;
  void* arg = nullptr;
  std::shared_ptr<const void> owner;
};

// BPF_F_TIMER_ABS and BPF_F_TIMER_CPU_PIN (include/uapi/linux/bpf.h, 6.7
// and 6.8; newer than Debian 12's header).
inline constexpr uint64_t kBpfFTimerAbs = 1u << 0;
inline constexpr uint64_t kBpfFTimerCpuPin = 1u << 1;

// bpf_timer_init(timer, map, flags) for the timer at `site`: -EINVAL for
// flags other than CLOCK_MONOTONIC, CLOCK_REALTIME or CLOCK_BOOTTIME;
// -EBUSY when the timer was initialized already; else 0. `map_handle` is
// what the callback receives as its map.
int TimerInit(const TimerSite& site, uint64_t map_handle, uint8_t* timer,
              uint64_t flags);
// bpf_timer_set_callback(): -EINVAL before bpf_timer_init.
int TimerSetCallback(uint8_t* timer, TimerCallback cb);
// bpf_timer_start(): -EINVAL for unknown flags (none before 6.7 for the
// kernel version in force), or without a callback; re-arms an armed timer.
int TimerStart(uint8_t* timer, uint64_t nsecs, uint64_t flags);
// bpf_timer_cancel(): -EINVAL before init, -EDEADLK from the timer's own
// callback; else 1 if it was armed, 0 if not. Drops the callback.
int TimerCancel(uint8_t* timer);

// bpf_timer_cancel_and_free() for the timer at byte `off` of the region of
// map `map_id` (the value's owner deleted, replaced or overwrote it):
// cancelled and forgotten; a callback it is running finishes.
void TimerFreeAt(uint32_t map_id, uint64_t off);
// Every timer initialized through the map object `owner` (TimerSite).
void TimerFreeMap(const void* owner);

// The emulated clock: clock_gettime(clock) plus what AdvanceTimers() added.
uint64_t TimerClockNs(int clock);
// Moves the emulated clocks `ns` forward, then runs the callbacks of the
// timers they have passed, including timers armed or re-armed meanwhile,
// until none is due (at most 1 << 20 callbacks). Returns the number run.
uint64_t AdvanceTimers(uint64_t ns);
// Timers this process holds (initialized and not freed), armed or not.
uint64_t TimerCount();

}  // namespace bpfemu

#endif  // BPFEMU_EMU_TIMER_H_
