// SPDX-License-Identifier: Apache-2.0
// The map side of struct bpf_timer (emu/timer.h) and the timer table's rules
// on the emulated clock: creation checks of the timer_off extension, the
// field never copied in and read as zero, delete / replace / overwrite /
// map close cancelling and freeing the timer, and the helpers' errnos and
// firing order. The helpers are compared with the kernel in
// tests/examples/timer_compare_test.cc.
#include "emu/timer.h"

#include <linux/bpf.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "emu/map.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

// struct { u64 count; struct bpf_timer t; u64 tag; }
struct Value {
  uint64_t count;
  uint8_t timer[16];
  uint64_t tag;
};
constexpr int32_t kTimerOff = 8;

int CreateTimerMap(uint32_t type, uint32_t max_entries = 4,
                   int32_t timer_off = kTimerOff, uint32_t flags = 0) {
  MapAttr a{.map_type = type,
            .key_size = 4,
            .value_size = sizeof(Value),
            .max_entries = max_entries,
            .map_flags = flags};
  a.timer_off = timer_off;
  return MapCreate(a);
}

// A callback that counts in the value and records the order it ran in.
std::vector<uint32_t>* g_order = nullptr;
void Count(void*, uint64_t, void* key, void* value) {
  static_cast<Value*>(value)->count++;
  if (g_order != nullptr) g_order->push_back(*static_cast<uint32_t*>(key));
}
TimerCallback Counting() { return {&Count, nullptr, nullptr}; }

Value* ElemOf(int fd, uint32_t key) {
  return static_cast<Value*>(MapFromFd(fd)->LookupElemProg(&key));
}

// bpf_timer_init as the helpers make it: -EINVAL for a timer that is not
// `map`'s.
int Init(const Map& map, uint8_t* timer, uint64_t flags) {
  TimerSite site;
  if (!map.TimerSiteOf(timer, &site)) return -EINVAL;
  return TimerInit(site, 0, timer, flags);
}

// Stores a zero value at `k`, then inits, sets `cb` on and starts its timer
// for `ns`; the element, or nullptr on a failure.
Value* Arm(int fd, uint32_t k, int clock, TimerCallback cb, uint64_t ns) {
  std::shared_ptr<Map> map = MapFromFd(fd);
  Value zero{};
  if (MapUpdateElem(fd, &k, &zero, BPF_ANY) != 0) return nullptr;
  Value* v = ElemOf(fd, k);
  if (v == nullptr || Init(*map, v->timer, clock) != 0 ||
      TimerSetCallback(v->timer, std::move(cb)) != 0 ||
      TimerStart(v->timer, ns, 0) != 0) {
    return nullptr;
  }
  return v;
}

TEST(TimerMap, CreationChecksOfTheExtension) {
  EXPECT_EQ(CreateTimerMap(BPF_MAP_TYPE_PERCPU_ARRAY), -EOPNOTSUPP);
  EXPECT_EQ(CreateTimerMap(BPF_MAP_TYPE_LRU_PERCPU_HASH), -EOPNOTSUPP);
  EXPECT_EQ(CreateTimerMap(BPF_MAP_TYPE_ARRAY, 4, 4), -EINVAL);   // 8-aligned
  EXPECT_EQ(CreateTimerMap(BPF_MAP_TYPE_ARRAY, 4, 24), -EINVAL);  // inside
  EXPECT_EQ(CreateTimerMap(BPF_MAP_TYPE_HASH, 4, 8, BPF_F_RDONLY_PROG),
            -EACCES);
  for (uint32_t type :
       {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    const int fd = CreateTimerMap(type);
    ASSERT_GE(fd, 0) << type;
    EXPECT_EQ(MapFromFd(fd)->timer_off(), kTimerOff);
    EXPECT_EQ(MapFromFd(fd)->header().timer_off, kTimerOff);
    CloseFd(fd);
  }
}

TEST(TimerMap, FieldIsNeverCopiedInAndReadsAsZero) {
  for (uint32_t type : {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH}) {
    const int fd = CreateTimerMap(type);
    ASSERT_GE(fd, 0);
    const uint32_t k = 1;
    Value v;
    std::memset(&v, 0xab, sizeof(v));
    ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
    Value* in_map = ElemOf(fd, k);
    ASSERT_NE(in_map, nullptr);
    const uint8_t zero[16] = {};
    EXPECT_EQ(std::memcmp(in_map->timer, zero, 16), 0);
    EXPECT_EQ(in_map->count, 0xababababababababULL);
    EXPECT_EQ(in_map->tag, 0xababababababababULL);
    // What the map holds there never reaches userspace.
    std::memset(in_map->timer, 0x5a, 16);
    Value out;
    ASSERT_EQ(MapLookupElem(fd, &k, &out), 0);
    EXPECT_EQ(std::memcmp(out.timer, zero, 16), 0);
    EXPECT_EQ(out.tag, 0xababababababababULL);
    std::memset(in_map->timer, 0, 16);
    CloseFd(fd);
  }
}

TEST(TimerMap, HelperErrnos) {
  const int fd = CreateTimerMap(BPF_MAP_TYPE_ARRAY);
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> map = MapFromFd(fd);
  Value* v = ElemOf(fd, 0);
  ASSERT_NE(v, nullptr);
  // Before init.
  EXPECT_EQ(TimerSetCallback(v->timer, Counting()), -EINVAL);
  EXPECT_EQ(TimerStart(v->timer, 1000, 0), -EINVAL);
  EXPECT_EQ(TimerCancel(v->timer), -EINVAL);
  // Clock ids: MONOTONIC, REALTIME, BOOTTIME only; nothing above them.
  EXPECT_EQ(Init(*map, v->timer, CLOCK_PROCESS_CPUTIME_ID), -EINVAL);
  EXPECT_EQ(Init(*map, v->timer, CLOCK_BOOTTIME_ALARM), -EINVAL);
  EXPECT_EQ(Init(*map, v->timer, 16 | CLOCK_MONOTONIC), -EINVAL);
  // Not this map's timer field.
  EXPECT_EQ(Init(*map, v->timer + 8, CLOCK_MONOTONIC), -EINVAL);
  EXPECT_EQ(Init(*map, v->timer, CLOCK_MONOTONIC), 0);
  EXPECT_EQ(Init(*map, v->timer, CLOCK_MONOTONIC), -EBUSY);
  EXPECT_EQ(Init(*map, v->timer, CLOCK_REALTIME), -EBUSY);
  // Start needs a callback.
  EXPECT_EQ(TimerStart(v->timer, 1000, 0), -EINVAL);
  EXPECT_EQ(TimerSetCallback(v->timer, Counting()), 0);
  EXPECT_EQ(TimerStart(v->timer, 1000, 4), -EINVAL);
  EXPECT_EQ(TimerStart(v->timer, 1000000000, 0), 0);
  EXPECT_EQ(TimerCancel(v->timer), 1);
  EXPECT_EQ(TimerCancel(v->timer), 0);
  // The cancel dropped the callback (drop_prog_refcnt).
  EXPECT_EQ(TimerStart(v->timer, 1000, 0), -EINVAL);
  EXPECT_EQ(AdvanceTimers(2000000000), 0u);
  EXPECT_EQ(v->count, 0u);
  CloseFd(fd);
}

TEST(TimerMap, FiresInExpiryOrderWhenTheClockPasses) {
  const int fd = CreateTimerMap(BPF_MAP_TYPE_ARRAY);
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> map = MapFromFd(fd);
  std::vector<uint32_t> order;
  g_order = &order;
  const uint64_t delays[4] = {30000000000, 10000000000, 20000000000,
                              10000000000};
  for (uint32_t i = 0; i < 4; ++i) {
    Value* v = ElemOf(fd, i);
    ASSERT_EQ(Init(*map, v->timer, CLOCK_MONOTONIC), 0);
    ASSERT_EQ(TimerSetCallback(v->timer, Counting()), 0);
    ASSERT_EQ(TimerStart(v->timer, delays[i], 0), 0);
  }
  EXPECT_EQ(AdvanceTimers(1000000000), 0u);
  EXPECT_EQ(AdvanceTimers(20000000000), 3u);
  EXPECT_EQ(order, (std::vector<uint32_t>{1, 3, 2}));
  EXPECT_EQ(AdvanceTimers(20000000000), 1u);
  EXPECT_EQ(order, (std::vector<uint32_t>{1, 3, 2, 0}));
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(ElemOf(fd, i)->count, 1u);
  // Fired: no longer armed, still initialized, the callback kept.
  Value* v0 = ElemOf(fd, 0);
  EXPECT_EQ(TimerCancel(v0->timer), 0);
  // An absolute expiry on the emulated clock.
  ASSERT_EQ(TimerSetCallback(v0->timer, Counting()), 0);
  ASSERT_EQ(TimerStart(v0->timer, TimerClockNs(CLOCK_MONOTONIC) + 5000000000,
                       kBpfFTimerAbs),
            0);
  EXPECT_EQ(AdvanceTimers(1000000000), 0u);
  EXPECT_EQ(AdvanceTimers(5000000000), 1u);
  EXPECT_EQ(v0->count, 2u);
  g_order = nullptr;
  CloseFd(fd);
}

// A callback that re-arms its own timer a few times and cannot cancel it.
int g_self_cancel = 0;
void Rearm(void*, uint64_t, void*, void* value) {
  auto* v = static_cast<Value*>(value);
  g_self_cancel = TimerCancel(v->timer);
  if (++v->count < 3) (void)TimerStart(v->timer, 1000, 0);
}

TEST(TimerMap, CallbackRearmsAndCannotCancelItself) {
  const int fd = CreateTimerMap(BPF_MAP_TYPE_HASH);
  ASSERT_GE(fd, 0);
  Value* v = Arm(fd, 7, CLOCK_BOOTTIME, {&Rearm, nullptr, nullptr}, 1000);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(AdvanceTimers(1000000), 3u);
  EXPECT_EQ(v->count, 3u);
  EXPECT_EQ(g_self_cancel, -EDEADLK);
  CloseFd(fd);
}

// Deleting the element, replacing it, overwriting an array element, or
// closing the map cancels and frees its timer (bpf_obj_free_fields).
TEST(TimerMap, DeleteReplaceOverwriteAndCloseFreeTheTimer) {
  const uint64_t before = TimerCount();
  for (uint32_t type :
       {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_ARRAY}) {
    SCOPED_TRACE(type);
    const int fd = CreateTimerMap(type, 8);
    ASSERT_GE(fd, 0);
    std::shared_ptr<Map> map = MapFromFd(fd);
    Value zero{};
    for (uint32_t k = 0; k < 3; ++k) {
      ASSERT_NE(Arm(fd, k, CLOCK_MONOTONIC, Counting(), 1000), nullptr);
    }
    EXPECT_EQ(TimerCount(), before + 3);
    const uint32_t k0 = 0, k1 = 1;
    if (type == BPF_MAP_TYPE_ARRAY) {
      EXPECT_EQ(MapDeleteElem(fd, &k0), -EINVAL);
    } else {
      Value* old = ElemOf(fd, k0);
      EXPECT_EQ(MapDeleteElem(fd, &k0), 0);
      // Freed: a new timer may be initialized where it was.
      EXPECT_EQ(TimerCancel(old->timer), -EINVAL);
    }
    ASSERT_EQ(MapUpdateElem(fd, &k1, &zero, BPF_EXIST), 0);
    EXPECT_EQ(TimerCount(), before + (type == BPF_MAP_TYPE_ARRAY ? 2 : 1));
    EXPECT_EQ(TimerCancel(ElemOf(fd, k1)->timer), -EINVAL);
    // Only the untouched timers fire.
    EXPECT_EQ(AdvanceTimers(1000000), type == BPF_MAP_TYPE_ARRAY ? 2u : 1u);
    // Closing the map's last fd frees the one left armed, though a program
    // (here `map`) still holds the map (map_release_uref).
    const uint32_t k2 = 2;
    ASSERT_EQ(TimerStart(ElemOf(fd, k2)->timer, 1000000000, 0), 0);
    CloseFd(fd);
    EXPECT_EQ(TimerCount(), before);
    map.reset();
    EXPECT_EQ(AdvanceTimers(2000000000), 0u);
  }
}

// A callback deleting its own element: the kernel frees the timer without
// waiting for the callback, which finishes.
int g_map_fd = -1;
void DeleteSelf(void*, uint64_t, void* key, void* value) {
  static_cast<Value*>(value)->count++;
  EXPECT_EQ(MapFromFd(g_map_fd)->DeleteElemProg(key), 0);
}

TEST(TimerMap, CallbackDeletingItsElement) {
  const uint64_t before = TimerCount();
  g_map_fd = CreateTimerMap(BPF_MAP_TYPE_HASH);
  ASSERT_GE(g_map_fd, 0);
  const uint32_t k = 3;
  ASSERT_NE(
      Arm(g_map_fd, k, CLOCK_MONOTONIC, {&DeleteSelf, nullptr, nullptr}, 0),
      nullptr);
  EXPECT_EQ(AdvanceTimers(1), 1u);
  EXPECT_EQ(TimerCount(), before);
  Value out;
  EXPECT_EQ(MapLookupElem(g_map_fd, &k, &out), -ENOENT);
  CloseFd(g_map_fd);
}

}  // namespace
}  // namespace bpfemu
