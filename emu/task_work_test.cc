// SPDX-License-Identifier: Apache-2.0
// Unit tests of the struct bpf_task_work field's state (emu/task_work.h):
// a schedule makes the field pending (-EBUSY until its work ran), the
// work runs with the element's key and value when the thread's outermost
// ProgRun() returns (or RunTaskWorks()), and an update, a delete or the
// map's end cancel a pending work. The kernel comparison is
// tests/examples:task_work_compare_test.
#include "emu/task_work.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "emu/array_map.h"
#include "emu/hash_map.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/task_work_kfuncs.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

struct Elem {
  uint64_t runs;
  uint64_t key_seen;
  uint64_t tw;
};

// A callback that counts its runs in the value and records the key (an
// array's index or a hash's u32 key).
void Count(void* arg, uint64_t map, void* key, void* value) {
  auto* calls = static_cast<std::vector<uint64_t>*>(arg);
  calls->push_back(map);
  auto* e = static_cast<Elem*>(value);
  e->runs++;
  std::memcpy(&e->key_seen, key, 4);
}

MapAttr TwAttr(uint32_t type) {
  MapAttr a{.map_type = type,
            .key_size = 4,
            .value_size = sizeof(Elem),
            .max_entries = 4};
  a.task_work_off = offsetof(Elem, tw);
  return a;
}

TEST(TaskWork, ScheduleIsBusyUntilTheRunReturns) {
  const int fd = MapCreate(TwAttr(BPF_MAP_TYPE_ARRAY));
  ASSERT_GE(fd, 0);
  auto map = std::dynamic_pointer_cast<ArrayMap>(MapFromFd(fd));
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->task_work_off(), static_cast<int32_t>(offsetof(Elem, tw)));
  std::vector<uint64_t> calls;
  auto tw = [&](uint32_t i) { return map->ValueAt(i) + offsetof(Elem, tw); };
  const TimerCallback cb{&Count, &calls, nullptr};
  int task = 0;
  // Not the field: -EINVAL (the verifier's process_task_work_func).
  EXPECT_EQ(TaskWorkScheduleKfunc(&task, map->ValueAt(0), map.get(), 7, cb,
                                  kTwaSignal),
            -EINVAL);
  EXPECT_EQ(TaskWorkScheduleKfunc(&task, tw(0), map.get(), 7, cb, kTwaSignal),
            0);
  EXPECT_EQ(TaskWorkScheduleKfunc(&task, tw(0), map.get(), 7, cb, kTwaResume),
            -EBUSY);
  EXPECT_EQ(TaskWorkScheduleKfunc(&task, tw(2), map.get(), 7, cb, kTwaResume),
            0);
  EXPECT_EQ(TaskWorkCount(), 2u);
  EXPECT_TRUE(calls.empty());
  // The outermost run's end runs them, in order, then the fields are free.
  Prog shell;
  shell.func = [](void*) { return 0; };
  ProgRun(shell, nullptr);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], 7u);
  const auto* e0 = reinterpret_cast<const Elem*>(map->ValueAt(0));
  const auto* e2 = reinterpret_cast<const Elem*>(map->ValueAt(2));
  EXPECT_EQ(e0->runs, 1u);
  EXPECT_EQ(e0->key_seen, 0u);
  EXPECT_EQ(e2->runs, 1u);
  EXPECT_EQ(e2->key_seen, 2u);
  EXPECT_EQ(TaskWorkCount(), 0u);
  EXPECT_EQ(TaskWorkScheduleKfunc(&task, tw(0), map.get(), 7, cb, kTwaSignal),
            0);
  // An update from userspace cancels it (bpf_obj_free_fields); the field
  // reads as zero and the next schedule succeeds.
  Elem zero{};
  uint32_t k = 0;
  ASSERT_EQ(MapUpdateElem(fd, &k, &zero, BPF_ANY), 0);
  EXPECT_EQ(TaskWorkCount(), 0u);
  EXPECT_EQ(RunTaskWorks(), 0u);
  EXPECT_EQ(calls.size(), 2u);
  EXPECT_EQ(TaskWorkScheduleKfunc(&task, tw(1), map.get(), 7, cb, kTwaSignal),
            0);
  map.reset();
  CloseFd(fd);
  // The map's end cancels it too.
  EXPECT_EQ(TaskWorkCount(), 0u);
  EXPECT_EQ(RunTaskWorks(), 0u);
  EXPECT_EQ(calls.size(), 2u);
}

TEST(TaskWork, HashDeleteCancels) {
  const int fd = MapCreate(TwAttr(BPF_MAP_TYPE_HASH));
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> map = MapFromFd(fd);
  ASSERT_NE(map, nullptr);
  uint32_t k = 9;
  Elem v{};
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_NOEXIST), 0);
  auto* value = static_cast<uint8_t*>(map->LookupElemProg(&k));
  ASSERT_NE(value, nullptr);
  std::vector<uint64_t> calls;
  const TimerCallback cb{&Count, &calls, nullptr};
  int task = 0;
  EXPECT_EQ(TaskWorkScheduleKfunc(&task, value + offsetof(Elem, tw), map.get(),
                                  1, cb, kTwaSignal),
            0);
  EXPECT_EQ(RunTaskWorks(), 1u);
  EXPECT_EQ(reinterpret_cast<const Elem*>(value)->key_seen, 9u);
  EXPECT_EQ(TaskWorkScheduleKfunc(&task, value + offsetof(Elem, tw), map.get(),
                                  1, cb, kTwaSignal),
            0);
  ASSERT_EQ(MapDeleteElem(fd, &k), 0);
  EXPECT_EQ(TaskWorkCount(), 0u);
  EXPECT_EQ(RunTaskWorks(), 0u);
  EXPECT_EQ(calls.size(), 1u);
  map.reset();
  CloseFd(fd);
}

TEST(TaskWork, OnlyArrayHashAndLruHashHoldOne) {
  for (uint32_t type :
       {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    const int fd = MapCreate(TwAttr(type));
    EXPECT_GE(fd, 0) << type;
    if (fd >= 0) CloseFd(fd);
  }
}

}  // namespace
}  // namespace bpfemu
