// SPDX-License-Identifier: Apache-2.0
// File: task_work.cc
//
// The struct bpf_task_work fields' state (task_work.h), mirroring
// kernel/bpf/helpers.c (6.18) bpf_task_work_schedule /
// bpf_task_work_acquire_ctx (STANDBY -> PENDING or -EBUSY),
// bpf_task_work_callback (RUNNING, then STANDBY) and
// bpf_task_work_cancel_and_free (FREED: a queued work never runs).

#include "emu/task_work.h"

#include <cerrno>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace bpfemu {

thread_local uint32_t t_task_works_queued = 0;

namespace {

// One field's struct bpf_task_work_ctx while a work is pending or running.
struct Work {
  const void* owner;    // the map object it was scheduled through
  uint64_t map_handle;  // the kfunc's map argument, handed to the callback
  uint8_t* value;       // ctx->map_val in this process's mapping
  bool has_index;
  uint32_t index;      // ARRAY: the element's index (the callback's key)
  const uint8_t* key;  // HASH, LRU_HASH: the element's key
  TimerCallback cb;
  int mode;
  bool running = false;
  uint64_t gen;  // which schedule this is, so a freed one is not run
};

struct Table {
  std::mutex mu;
  std::map<std::pair<uint32_t, uint64_t>, Work> by_loc;
  uint64_t next_gen = 1;
};

Table& Get() {
  static Table* t = new Table;  // never destroyed: maps outlive statics
  return *t;
}

// The works this thread queued (task->task_works), by field and schedule.
struct Queued {
  std::pair<uint32_t, uint64_t> loc;
  uint64_t gen;
};
thread_local std::deque<Queued> t_queue;
thread_local bool t_draining = false;

}  // namespace

int TaskWorkSchedule(const TimerSite& site, uint64_t map_handle,
                     TimerCallback cb, int mode) {
  Table& t = Get();
  std::lock_guard<std::mutex> l(t.mu);
  const std::pair<uint32_t, uint64_t> loc{site.map_id, site.off};
  // bpf_task_work_acquire_ctx(): the cmpxchg STANDBY -> PENDING fails for
  // a field whose work is pending, scheduled or running.
  if (t.by_loc.count(loc) != 0) return -EBUSY;
  Work w{site.owner, map_handle,  site.value,    site.key == nullptr,
         site.index, site.key,    std::move(cb), mode,
         false,      t.next_gen++};
  const uint64_t gen = w.gen;
  t.by_loc.emplace(loc, std::move(w));
  t_queue.push_back({loc, gen});
  ++t_task_works_queued;
  return 0;
}

void TaskWorkFreeAt(uint32_t map_id, uint64_t off) {
  Table& t = Get();
  std::shared_ptr<const void> drop;
  {
    std::lock_guard<std::mutex> l(t.mu);
    auto it = t.by_loc.find({map_id, off});
    if (it == t.by_loc.end() || it->second.running) return;
    drop = std::move(it->second.cb.owner);
    t.by_loc.erase(it);
  }
  // The program's last reference may free a map, whose destructor takes mu.
  drop.reset();
}

void TaskWorkFreeMap(const void* owner) {
  Table& t = Get();
  std::vector<std::shared_ptr<const void>> drop;
  {
    std::lock_guard<std::mutex> l(t.mu);
    for (auto it = t.by_loc.begin(); it != t.by_loc.end();) {
      if (it->second.owner == owner && !it->second.running) {
        drop.push_back(std::move(it->second.cb.owner));
        it = t.by_loc.erase(it);
      } else {
        ++it;
      }
    }
  }
  drop.clear();
}

uint64_t RunTaskWorks() {
  // A callback's own run (a shell ProgRun, emu/task_work_kfuncs.cc) ends
  // as an outermost run too: the loop below runs what it queues.
  if (t_draining) return 0;
  t_draining = true;
  Table& t = Get();
  uint64_t ran = 0;
  while (!t_queue.empty()) {
    const Queued q = t_queue.front();
    t_queue.pop_front();
    --t_task_works_queued;
    TimerCallback cb;
    uint64_t map_handle;
    uint8_t* value;
    uint32_t index;
    const uint8_t* key;
    {
      std::lock_guard<std::mutex> l(t.mu);
      auto it = t.by_loc.find(q.loc);
      // Cancelled (the value deleted or replaced, the map freed): the
      // kernel's task_work_cancel, or the callback seeing FREED.
      if (it == t.by_loc.end() || it->second.gen != q.gen) continue;
      Work& w = it->second;
      w.running = true;  // SCHEDULED -> RUNNING
      cb = w.cb;
      map_handle = w.map_handle;
      value = w.value;
      index = w.index;
      key = w.has_index ? reinterpret_cast<const uint8_t*>(&index) : w.key;
    }
    if (cb.call != nullptr) {
      cb.call(cb.arg, map_handle, const_cast<uint8_t*>(key), value);
    }
    ++ran;
    std::shared_ptr<const void> drop;
    {
      std::lock_guard<std::mutex> l(t.mu);
      auto it = t.by_loc.find(q.loc);
      if (it != t.by_loc.end() && it->second.gen == q.gen) {
        drop = std::move(it->second.cb.owner);
        t.by_loc.erase(it);  // RUNNING -> STANDBY
      }
    }
  }
  t_draining = false;
  return ran;
}

uint64_t TaskWorkCount() {
  Table& t = Get();
  std::lock_guard<std::mutex> l(t.mu);
  return t.by_loc.size();
}

}  // namespace bpfemu
