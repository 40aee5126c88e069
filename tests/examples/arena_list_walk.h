// SPDX-License-Identifier: Apache-2.0
// What a run of arena_list.bpf.c shows userspace, on any side: list_add
// twice, a walk of the list through this process's mapping of the arena,
// then list_drain. Filled by the emulator's faces (arena_list_test.cc) and
// by the kernel (arena_list_compare_test.cc) so the two can be compared
// field by field.

#ifndef BPFEMU_TESTS_EXAMPLES_ARENA_LIST_WALK_H_
#define BPFEMU_TESTS_EXAMPLES_ARENA_LIST_WALK_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "emu/arena.h"
#include "emu/prog.h"
#include "gtest/gtest.h"
#include "loader/object.h"

// The native object's globals (loader/gen_native renames them into the
// object's namespace); a bytecode object has them in its .bss map.
extern "C" {
extern uint64_t bpfemu_arena_list__head;
extern uint64_t bpfemu_arena_list__added;
extern uint64_t bpfemu_arena_list__sum;
}

namespace bpfemu::examples {

inline constexpr char kArenaListPath[] = "tests/examples/arena_list.bpf.o";

struct ArenaNode {  // struct node of arena_list.bpf.c, as userspace sees it
  uint64_t next;    // a user address (the arena pointer's as(1) value)
  uint64_t value;
};

struct ArenaWalk {
  std::vector<uint64_t> values;
  std::vector<uint64_t> offsets;  // each node's address - the arena start
  uint64_t added = 0, sum = 0;
  uint32_t add_ret[2] = {9, 9};
  uint32_t drain_ret = 9;
  // Pages of the user mapping resident after the walk and after list_drain
  // (mincore: the kernel zaps a freed page's user PTEs, the emulator punches
  // the page out of its file).
  uint64_t resident_after_walk = 0, resident_after_drain = 0;
  uint64_t head_after = 1;
  bool operator==(const ArenaWalk&) const = default;
};

// Resident pages of [start, start + len).
inline uint64_t ResidentPages(const void* start, size_t len) {
  const size_t page = static_cast<size_t>(getpagesize());
  std::vector<unsigned char> vec((len + page - 1) / page);
  if (mincore(const_cast<void*>(start), len, vec.data()) != 0) return ~0ull;
  uint64_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

// Walks the list from `head` through the mapping [start, start + len);
// false if a link leaves it.
inline bool WalkArenaList(uint64_t head, uint64_t start, size_t len,
                          ArenaWalk* out) {
  for (uint64_t p = head; p != 0 && out->values.size() < 1000;) {
    if (p < start || p + sizeof(ArenaNode) > start + len) return false;
    ArenaNode n;
    std::memcpy(&n, reinterpret_cast<const void*>(p), sizeof(n));
    out->values.push_back(n.value);
    out->offsets.push_back(p - start);
    p = n.next;
  }
  return true;
}

// The emulator's run, natively or as bytecode. `pages_before` and
// `pages_after` are the arena's allocated pages (emu/arena.h) after the walk
// and after list_drain.
inline void RunArenaListEmulated(bool bytecode, ArenaWalk* out,
                                 uint64_t* pages_before,
                                 uint64_t* pages_after) {
  auto obj = bytecode ? native::Object::OpenBytecode(kArenaListPath)
                      : native::Object::Open("arena_list");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* add = (*obj)->FindProgram("list_add");
  const native::Program* drain = (*obj)->FindProgram("list_drain");
  ASSERT_NE(add, nullptr);
  ASSERT_NE(drain, nullptr);
  EXPECT_EQ(add->type(), BPF_PROG_TYPE_SYSCALL);
  uint64_t ctx[4] = {};
  out->add_ret[0] = add->Run(ctx);
  out->add_ret[1] = add->Run(ctx);
  EXPECT_FALSE(ProgFaulted());
  std::shared_ptr<Map> map = (*obj)->FindMap("arena");
  auto* arena = dynamic_cast<ArenaMap*>(map.get());
  ASSERT_NE(arena, nullptr);
  const uint64_t start = arena->user_vm_start();
  ASSERT_NE(start, 0u);  // the loader mapped it before the programs loaded
  const size_t len = arena->user_vm_end() - start;
  auto pages = [arena] {
    uint64_t n = 0;
    for (uint64_t pg = 0; pg < arena->max_entries(); ++pg) {
      n += arena->PagePresent(pg) ? 1 : 0;
    }
    return n;
  };
  // The globals: .bss of a bytecode object, C variables of a native one.
  auto globals = [&](uint64_t* head) {
    if (bytecode) {
      const uint8_t* bss = (*obj)->LoadedValue(".bss");
      if (bss == nullptr) return false;
      std::memcpy(head, bss, 8);
      std::memcpy(&out->added, bss + 8, 8);
      std::memcpy(&out->sum, bss + 16, 8);
    } else {
      *head = bpfemu_arena_list__head;
      out->added = bpfemu_arena_list__added;
      out->sum = bpfemu_arena_list__sum;
    }
    return true;
  };
  uint64_t head = 0;
  ASSERT_TRUE(globals(&head));
  ASSERT_TRUE(WalkArenaList(head, start, len, out));
  *pages_before = pages();
  out->resident_after_walk = ResidentPages(reinterpret_cast<void*>(start), len);
  out->drain_ret = drain->Run(ctx);
  EXPECT_FALSE(ProgFaulted());
  ASSERT_TRUE(globals(&out->head_after));
  *pages_after = pages();
  out->resident_after_drain =
      ResidentPages(reinterpret_cast<void*>(start), len);
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_ARENA_LIST_WALK_H_
