// SPDX-License-Identifier: Apache-2.0
// BPF timers over an emulated clock (timer.h); kernel/bpf/helpers.c
// bpf_timer_* and bpf_timer_cb.
#include "emu/timer.h"

#include <linux/bpf.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "emu/version.h"

namespace bpfemu {
namespace {

// One initialized timer (the kernel's struct bpf_hrtimer).
struct Timer {
  const void* owner;    // the map object it was initialized through
  uint64_t map_handle;  // bpf_timer_init's map argument
  uint8_t* field;       // the struct bpf_timer in this process's mapping
  uint8_t* value;       // its value (cb->value)
  uint32_t map_id;
  uint64_t off;  // the field's offset in the region
  bool has_index;
  uint32_t index;      // ARRAY: the element's index
  const uint8_t* key;  // HASH, LRU_HASH: the element's key
  int clock;
  TimerCallback cb;  // cb.call null: no callback (cb->prog NULL)
  bool armed = false;
  int64_t expiry = 0;  // on the emulated `clock`
  uint64_t seq = 0;    // start order, for equal expiries
  bool running = false;
  bool freed = false;  // freed while its callback ran
};

struct Table {
  std::mutex mu;
  std::map<const uint8_t*, Timer*> by_field;
  std::map<std::pair<uint32_t, uint64_t>, Timer*> by_loc;
  int64_t advanced = 0;
  uint64_t next_seq = 0;
};

Table& Get() {
  static Table* t = new Table;  // never destroyed: maps outlive statics
  return *t;
}

// bpf_timer_cb()'s hrtimer_running: the timer whose callback this thread
// is running.
thread_local Timer* t_running = nullptr;

int64_t RealNs(int clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t NowLocked(const Table& t, int clock) {
  return RealNs(clock) + t.advanced;
}

// Removes `tm` from the table (mu held). Its callback's owner goes to
// `drop`, released by the caller after unlocking (a program's last
// reference may free a map, whose destructor takes mu); `tm` itself is
// deleted unless its callback is running, which deletes it when done.
void Forget(Table& t, Timer* tm, std::vector<std::shared_ptr<const void>>* drop,
            std::vector<Timer*>* dead) {
  t.by_field.erase(tm->field);
  t.by_loc.erase({tm->map_id, tm->off});
  drop->push_back(std::move(tm->cb.owner));
  tm->cb = {};
  tm->armed = false;
  if (tm->running) {
    tm->freed = true;
  } else {
    dead->push_back(tm);
  }
}

void Release(std::vector<std::shared_ptr<const void>>* drop,
             std::vector<Timer*>* dead) {
  for (Timer* tm : *dead) delete tm;
  drop->clear();
}

Timer* Find(Table& t, const uint8_t* field) {
  auto it = t.by_field.find(field);
  return it == t.by_field.end() ? nullptr : it->second;
}

}  // namespace

int TimerInit(const TimerSite& site, uint64_t map_handle, uint8_t* timer,
              uint64_t flags) {
  // MAX_CLOCKS is 16; the _ALARM clocks are not supported.
  const int clock = static_cast<int>(flags & 15);
  if (flags >= 16 || (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME &&
                      clock != CLOCK_BOOTTIME)) {
    return -EINVAL;
  }
  auto tm = std::make_unique<Timer>();
  tm->owner = site.owner;
  tm->map_handle = map_handle;
  tm->field = timer;
  tm->value = site.value;
  tm->map_id = site.map_id;
  tm->off = site.off;
  tm->has_index = site.key == nullptr;
  tm->index = site.index;
  tm->key = site.key;
  tm->clock = clock;
  Table& t = Get();
  std::lock_guard<std::mutex> l(t.mu);
  if (t.by_field.count(timer) || t.by_loc.count({tm->map_id, tm->off})) {
    return -EBUSY;
  }
  t.by_loc[{tm->map_id, tm->off}] = tm.get();
  t.by_field[timer] = tm.release();
  return 0;
}

int TimerSetCallback(uint8_t* timer, TimerCallback cb) {
  Table& t = Get();
  std::shared_ptr<const void> prev;  // released after the unlock
  std::lock_guard<std::mutex> l(t.mu);
  Timer* tm = Find(t, timer);
  if (tm == nullptr) return -EINVAL;
  prev = std::move(tm->cb.owner);
  tm->cb = std::move(cb);
  return 0;
}

int TimerStart(uint8_t* timer, uint64_t nsecs, uint64_t flags) {
  // BPF_F_TIMER_ABS (6.7) and BPF_F_TIMER_CPU_PIN (6.8); 6.1 takes none.
  const uint64_t known = TargetKernel() >= KernelVersion::k6_12
                             ? kBpfFTimerAbs | kBpfFTimerCpuPin
                             : 0;
  if (flags & ~known) return -EINVAL;
  Table& t = Get();
  std::lock_guard<std::mutex> l(t.mu);
  Timer* tm = Find(t, timer);
  if (tm == nullptr || tm->cb.call == nullptr) return -EINVAL;
  // ns_to_ktime(): a signed 64-bit time. A relative one is added with
  // ktime_add_safe(), which saturates (a negative or overflowing sum never
  // expires); an absolute one in the past expires at once.
  const auto ns = static_cast<int64_t>(nsecs);
  int64_t expiry;
  if (flags & kBpfFTimerAbs) {
    expiry = ns;
  } else {
    const int64_t now = NowLocked(t, tm->clock);
    if (ns < 0 || __builtin_add_overflow(now, ns, &expiry)) expiry = INT64_MAX;
  }
  tm->expiry = expiry;
  tm->armed = true;
  tm->seq = t.next_seq++;
  return 0;
}

int TimerCancel(uint8_t* timer) {
  Table& t = Get();
  std::shared_ptr<const void> prev;
  std::lock_guard<std::mutex> l(t.mu);
  Timer* tm = Find(t, timer);
  if (tm == nullptr) return -EINVAL;
  // Its own callback would wait for itself in hrtimer_cancel().
  if (t_running == tm) return -EDEADLK;
  // drop_prog_refcnt(): the callback goes with the cancel.
  prev = std::move(tm->cb.owner);
  tm->cb = {};
  const bool was_armed = tm->armed;
  tm->armed = false;
  return was_armed ? 1 : 0;
}

void TimerFreeAt(uint32_t map_id, uint64_t off) {
  Table& t = Get();
  std::vector<std::shared_ptr<const void>> drop;
  std::vector<Timer*> dead;
  {
    std::lock_guard<std::mutex> l(t.mu);
    auto it = t.by_loc.find({map_id, off});
    if (it == t.by_loc.end()) return;
    Forget(t, it->second, &drop, &dead);
  }
  Release(&drop, &dead);
}

void TimerFreeMap(const void* owner) {
  Table& t = Get();
  std::vector<std::shared_ptr<const void>> drop;
  std::vector<Timer*> dead;
  {
    std::lock_guard<std::mutex> l(t.mu);
    std::vector<Timer*> mine;
    for (const auto& [field, tm] : t.by_field) {
      if (tm->owner == owner) mine.push_back(tm);
    }
    for (Timer* tm : mine) Forget(t, tm, &drop, &dead);
  }
  Release(&drop, &dead);
}

uint64_t TimerClockNs(int clock) {
  Table& t = Get();
  std::lock_guard<std::mutex> l(t.mu);
  return static_cast<uint64_t>(NowLocked(t, clock));
}

uint64_t AdvanceTimers(uint64_t ns) {
  Table& t = Get();
  uint64_t ran = 0;
  std::unique_lock<std::mutex> l(t.mu);
  // The clocks step from expiry to expiry: a callback reads its timer's
  // expiry as the time (as an hrtimer fires at its expiry), so a timer it
  // re-arms for a time before the target fires in this call too.
  const int64_t target = t.advanced + static_cast<int64_t>(ns);
  constexpr uint64_t kMaxRuns = 1u << 20;
  while (ran < kMaxRuns) {
    // The due timer with the earliest expiry, then the earliest start. Each
    // clock is read once per pick.
    Timer* next = nullptr;
    int64_t now[16];
    bool read[16] = {};
    for (const auto& [field, tm] : t.by_field) {
      if (!tm->armed) continue;
      if (!read[tm->clock]) {
        now[tm->clock] = RealNs(tm->clock) + target;
        read[tm->clock] = true;
      }
      if (tm->expiry > now[tm->clock]) continue;
      if (next == nullptr || tm->expiry < next->expiry ||
          (tm->expiry == next->expiry && tm->seq < next->seq)) {
        next = tm;
      }
    }
    if (next == nullptr) break;
    // The clocks move on to the expiry (never back).
    const int64_t at = next->expiry - RealNs(next->clock);
    t.advanced = std::min(target, std::max(t.advanced, at));
    // The hrtimer is dequeued before its function runs (HRTIMER_NORESTART
    // unless the callback starts it again).
    next->armed = false;
    if (next->cb.call == nullptr) continue;
    TimerCallback cb = next->cb;  // a copy holds the program
    next->running = true;
    uint32_t index = next->index;
    void* key = next->has_index ? static_cast<void*>(&index)
                                : const_cast<uint8_t*>(next->key);
    void* value = next->value;
    const uint64_t map_handle = next->map_handle;
    Timer* prev_running = t_running;
    t_running = next;
    l.unlock();
    cb.call(cb.arg, map_handle, key, value);
    cb = {};
    l.lock();
    t_running = prev_running;
    next->running = false;
    ++ran;
    if (next->freed) delete next;
  }
  t.advanced = std::max(t.advanced, target);
  return ran;
}

uint64_t TimerCount() {
  Table& t = Get();
  std::lock_guard<std::mutex> l(t.mu);
  return t.by_field.size();
}

}  // namespace bpfemu
