// SPDX-License-Identifier: Apache-2.0
// Tail calls under concurrent slot updates, in the native face: runner
// threads take chains of tail calls (tail_calls.bpf.c's self_loop, whose
// calls after the run's first take the inline path of bpf_helper_defs.h
// bpf_tail_call) while one thread replaces and deletes the slot, and stores
// programs whose only reference is the slot, so a replacement frees the
// program a runner may be inside (the kernel frees it after an RCU grace
// period: kernel/bpf/arraymap.c prog_fd_array_put_ptr). Every run must end
// in one of the programs or fall through, the budget (MAX_TAIL_CALL_CNT)
// must hold, and nothing may crash. Meant for --config=tsan and asan too.

#include <linux/bpf.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "emu/prog.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"

namespace bpfemu {
namespace {

using native::Object;

// Test-registered native programs: terminal targets the updater owns only
// through the slot.
int ReturnsTen(void*) { return 10; }
int ReturnsEleven(void*) { return 11; }

uint64_t LookupU64(int fd, uint32_t key) {
  uint64_t v = 0;
  EXPECT_EQ(MapLookupElem(fd, &key, &v), 0);
  return v;
}

// dispatch with index 3: self_loop in slot 3 calls itself until the budget
// is spent. XDP_REDIRECT: the chain ran out (or slot 3 emptied under it);
// XDP_PASS: slot 3 was empty at dispatch; XDP_DROP / XDP_TX: drop_it /
// bounce_it replaced it mid-chain; 10 / 11: a test program did.
bool Valid(uint32_t r) {
  return r == XDP_REDIRECT || r == XDP_PASS || r == XDP_DROP || r == XDP_TX ||
         r == 10 || r == 11;
}

// Issue 29's sixth piece: once the runtime has seen dispatch take a tail
// call without the run holding a hazard slot, ProgRun() gives its later
// runs the slot up front (Prog::takes_tail_calls), so their first call
// takes bpf_tail_call's inline path too. Every run gives the same counts:
// a chain of 1 + 33, an empty slot (-ENOENT: dispatch goes on to hit(7)),
// an index past max_entries (-E2BIG, the same). Only the first run's first
// call takes the runtime's slow path (TailCallCache::Resolve, which the slow
// path of every later run would take too): the later runs' calls are all
// inline.
TEST(TailCallStressTest, FirstCallInlineFromTheSecondRun) {
  auto obj = Object::Open("tail_calls");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int table = (*obj)->MapFd("jmp_table");
  const int hits = (*obj)->MapFd("hits");
  const native::Program* dispatch = (*obj)->FindProgram("dispatch");
  ASSERT_NE(dispatch, nullptr);
  std::shared_ptr<const Prog> entry;
  ASSERT_EQ(ProgFromFd(dispatch->fd(), &entry), 0);
  EXPECT_FALSE(entry->takes_tail_calls.load());
  const int self_loop = (*obj)->FindProgram("self_loop")->fd();
  const uint32_t slot = 3;
  ASSERT_EQ(MapUpdateElem(table, &slot, &self_loop, BPF_ANY), 0);
  std::vector<uint8_t> frame(64, 0);
  frame[14] = 3;
  for (int run = 0; run < 3; ++run) {
    const uint64_t loops = LookupU64(hits, 3), missed = LookupU64(hits, 7);
    const uint64_t resolved = TailCallCache::ResolveCountForTesting();
    EXPECT_EQ(dispatch->RunXdp(frame).retval, uint32_t{XDP_REDIRECT});
    EXPECT_EQ(TailCallCache::ResolveCountForTesting() - resolved,
              run == 0 ? 1u : 0u)
        << "run " << run;
    EXPECT_EQ(LookupU64(hits, 3) - loops, 33u) << "run " << run;
    EXPECT_EQ(LookupU64(hits, 7) - missed, 0u) << "run " << run;
    EXPECT_TRUE(entry->takes_tail_calls.load()) << "run " << run;
  }
  ASSERT_EQ(MapDeleteElem(table, &slot), 0);
  for (const uint8_t index : {uint8_t{3}, uint8_t{200}}) {
    frame[14] = index;
    const uint64_t missed = LookupU64(hits, 7);
    EXPECT_EQ(dispatch->RunXdp(frame).retval, uint32_t{XDP_PASS});
    EXPECT_EQ(LookupU64(hits, 7) - missed, 1u) << "index " << int{index};
  }
}

TEST(TailCallStressTest, SlotUpdatesWhileChainsRun) {
  auto obj = Object::Open("tail_calls");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int table = (*obj)->MapFd("jmp_table");
  const int hits = (*obj)->MapFd("hits");
  const native::Program* dispatch = (*obj)->FindProgram("dispatch");
  ASSERT_NE(dispatch, nullptr);
  const int self_loop = (*obj)->FindProgram("self_loop")->fd();
  const int drop_it = (*obj)->FindProgram("drop_it")->fd();
  const int bounce_it = (*obj)->FindProgram("bounce_it")->fd();
  // Test programs are of the array owner's type and attach type.
  std::shared_ptr<const Prog> owner;
  ASSERT_EQ(ProgFromFd(drop_it, &owner), 0);
  const uint32_t slot = 3;
  ASSERT_EQ(MapUpdateElem(table, &slot, &self_loop, BPF_ANY), 0);

  std::vector<uint8_t> frame(64, 0);
  frame[14] = 3;  // the slot dispatch tail-calls

  // Alone first: dispatch's call spends one unit of the budget, so
  // self_loop runs 33 times, then XDP_REDIRECT.
  const uint64_t before = LookupU64(hits, 3);
  EXPECT_EQ(dispatch->RunXdp(frame).retval, uint32_t{XDP_REDIRECT});
  EXPECT_EQ(LookupU64(hits, 3) - before, 33u);

  constexpr int kRunners = 3;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<uint64_t> runs{0};
  std::atomic<uint64_t> redirects{0};
  std::vector<std::thread> runners;
  for (int t = 0; t < kRunners; ++t) {
    runners.emplace_back([&] {
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed) || n == 0) {
        const native::PacketResult r = dispatch->RunXdp(frame);
        if (r.err != 0 || !Valid(r.retval)) {
          bad.fetch_add(1, std::memory_order_relaxed);
        }
        if (r.retval == XDP_REDIRECT) {
          redirects.fetch_add(1, std::memory_order_relaxed);
        }
        ++n;
      }
      runs.fetch_add(n, std::memory_order_relaxed);
    });
  }
  const uint64_t loops_before = LookupU64(hits, 3);
  for (int i = 0; i < 4000; ++i) {
    switch (i % 6) {
      case 0:
      case 3:
        ASSERT_EQ(MapUpdateElem(table, &slot, &self_loop, BPF_ANY), 0);
        break;
      case 1:
        ASSERT_EQ(MapUpdateElem(table, &slot, &drop_it, BPF_ANY), 0);
        break;
      case 2: {
        // The slot holds the only reference: the next update frees it.
        const int fd =
            ProgCreate(owner->type, owner->expected_attach_type, "ten",
                       i % 12 == 2 ? ReturnsTen : ReturnsEleven);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(MapUpdateElem(table, &slot, &fd, BPF_ANY), 0);
        CloseFd(fd);
        break;
      }
      case 4:
        ASSERT_EQ(MapUpdateElem(table, &slot, &bounce_it, BPF_ANY), 0);
        break;
      case 5:
        (void)MapDeleteElem(table, &slot);
        break;
    }
    // Let chains get under way between updates.
    for (int spin = 0; spin < 2000; ++spin)
      std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  stop.store(true);
  for (auto& t : runners) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(runs.load(), 0u);
  // The budget held in every run: at most 33 self_loop runs each.
  EXPECT_LE(LookupU64(hits, 3) - loops_before, 33 * runs.load());

  // Quiet again: the chain is whole.
  ASSERT_EQ(MapUpdateElem(table, &slot, &self_loop, BPF_ANY), 0);
  const uint64_t again = LookupU64(hits, 3);
  EXPECT_EQ(dispatch->RunXdp(frame).retval, uint32_t{XDP_REDIRECT});
  EXPECT_EQ(LookupU64(hits, 3) - again, 33u);
}

}  // namespace
}  // namespace bpfemu
