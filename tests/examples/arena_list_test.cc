// SPDX-License-Identifier: Apache-2.0
// arena_list.bpf.c (an ARENA-backed list shared with userspace), natively
// and as bytecode: list_add allocates arena pages with
// bpf_arena_alloc_pages and links nodes into a list whose head sits in
// .bss; this process walks the list through the arena mapping the loader
// made (the user range, user_vm_start) and must find the values the
// programs wrote; list_drain's own walk must give the same sum, and its
// bpf_arena_free_pages calls must leave no page allocated. The object needs
// clang >= 18
// (`__arena`, addr_space_cast): built with clang-19, and skipped where that
// is absent. The kernel side is not run: this host refuses every ARENA map
// with EPERM (docs/semantics.md, ARENA).

#include <linux/bpf.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "emu/arena.h"
#include "emu/prog.h"
#include "emu/syscall.h"
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
namespace {

constexpr char kPath[] = "tests/examples/arena_list.bpf.o";

struct Node {     // struct node of arena_list.bpf.c, as userspace sees it
  uint64_t next;  // a user address (the arena pointer's as(1) value)
  uint64_t value;
};

struct Walk {
  std::vector<uint64_t> values;
  uint64_t added = 0, sum = 0;
  uint32_t add_ret[2] = {9, 9};
  uint32_t drain_ret = 9;
  uint64_t pages_before = 0, pages_after = 0, head_after = 1;
};

// Loads the object as `face`, runs list_add twice, walks the list from this
// process, then runs list_drain.
void RunFace(bool bytecode, Walk* out) {
  auto obj = bytecode ? native::Object::OpenBytecode(kPath)
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
  auto pages = [arena] {
    uint64_t n = 0;
    for (uint64_t pg = 0; pg < arena->max_entries(); ++pg) {
      n += arena->PagePresent(pg) ? 1 : 0;
    }
    return n;
  };
  out->pages_before = pages();
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
  // The walk through this process's mapping of the arena.
  for (uint64_t p = head; p != 0 && out->values.size() < 1000;) {
    ASSERT_GE(p, start);
    ASSERT_LT(p, arena->user_vm_end());
    Node n;
    std::memcpy(&n, reinterpret_cast<const void*>(p), sizeof(n));
    out->values.push_back(n.value);
    p = n.next;
  }
  out->drain_ret = drain->Run(ctx);
  EXPECT_FALSE(ProgFaulted());
  ASSERT_TRUE(globals(&out->head_after));
  out->pages_after = pages();
}

bool Built() {
  std::ifstream f(kPath, std::ios::binary | std::ios::ate);
  return f.good() && f.tellg() > 0;
}

TEST(ArenaListTest, NativeAndBytecodeBuildTheSameList) {
  if (!Built()) {
    GTEST_SKIP() << "arena_list.bpf.o was not built: clang-19 is absent "
                    "(tools/setup.sh installs it)";
  }
  Walk w[2];
  for (int face = 0; face < 2; ++face) {
    SCOPED_TRACE(face ? "bytecode" : "native");
    RunFace(face == 1, &w[face]);
    if (HasFatalFailure()) return;
    EXPECT_EQ(w[face].add_ret[0], 0u);
    EXPECT_EQ(w[face].add_ret[1], 0u);
    EXPECT_EQ(w[face].drain_ret, 0u);
    // Two pages of 64 nodes, newest first: values 3i + 1, i = 63..0, twice.
    ASSERT_EQ(w[face].values.size(), 128u);
    EXPECT_EQ(w[face].added, 128u);
    EXPECT_EQ(w[face].pages_before, 2u);
    // list_drain freed both pages and emptied the list.
    EXPECT_EQ(w[face].pages_after, 0u);
    EXPECT_EQ(w[face].head_after, 0u);
    uint64_t total = 0;
    for (size_t k = 0; k < 128; ++k) {
      EXPECT_EQ(w[face].values[k], 3 * (63 - k % 64) + 1) << k;
      total += w[face].values[k];
    }
    EXPECT_EQ(w[face].sum, total);
  }
  EXPECT_EQ(w[0].values, w[1].values);
  EXPECT_EQ(w[0].sum, w[1].sum);
}

}  // namespace
}  // namespace bpfemu::examples
