// SPDX-License-Identifier: Apache-2.0
// The native face of the arena kfuncs (arena_kfuncs.cc), called as a
// natively built program calls them, with `&map_def`: the same arena rules
// as the interpreter's binding (loader/bytecode_test.cc
// ArenaKfuncsAllocateAndFreePages), and pages the program writes through
// the returned user address are the user mapping's.

#include <linux/bpf.h>
#include <linux/types.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "emu/arena.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "native/bound_map.h"

extern "C" {
void* bpf_arena_alloc_pages(void* map, void* addr, __u32 page_cnt, int node_id,
                            __u64 flags);
void bpf_arena_free_pages(void* map, void* ptr, __u32 page_cnt);
}

namespace bpfemu::native {
namespace {

TEST(ArenaKfuncsTest, NativeCallsShareTheArenasPages) {
  constexpr uint64_t P = ArenaMap::kPage;
  MapAttr attr;
  attr.map_type = kBpfMapTypeArena;
  attr.max_entries = 4;
  attr.map_flags = BPF_F_MMAPABLE;
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  MapAttr arr;
  arr.map_type = BPF_MAP_TYPE_ARRAY;
  arr.key_size = 4;
  arr.value_size = 8;
  arr.max_entries = 1;
  const int other_fd = MapCreate(arr);
  ASSERT_GE(other_fd, 0);
  int err = 0;
  auto* user = static_cast<uint8_t*>(MapMmapAt(
      fd, nullptr, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err));
  ASSERT_NE(user, nullptr) << err;
  // What a map definition holds once its object is loaded.
  auto bound = internal::MakeBound("arena", fd, MapFromFd(fd));
  auto other = internal::MakeBound("other", other_fd, MapFromFd(other_fd));
  void* def = &bound->cell;
  void* other_def = &other->cell;
  auto* arena = dynamic_cast<ArenaMap*>(bound->map.get());
  ASSERT_NE(arena, nullptr);

  EXPECT_EQ(bpf_arena_alloc_pages(def, nullptr, 1, -1, 1), nullptr);  // flags
  EXPECT_EQ(bpf_arena_alloc_pages(def, nullptr, 0, -1, 0), nullptr);  // 0 pages
  EXPECT_EQ(bpf_arena_alloc_pages(def, nullptr, 5, -1, 0), nullptr);  // > max
  EXPECT_EQ(bpf_arena_alloc_pages(other_def, nullptr, 1, -1, 0), nullptr);
  auto* p =
      static_cast<uint64_t*>(bpf_arena_alloc_pages(def, nullptr, 2, 0, 0));
  ASSERT_EQ(reinterpret_cast<uint8_t*>(p), user);
  EXPECT_EQ(p[0], 0u);
  p[0] = 0xabc;
  p[P / 8] = 0xdef;
  uint64_t seen;
  std::memcpy(&seen, user, 8);
  EXPECT_EQ(seen, 0xabcu);
  // A hint inside the range that is taken: NULL; a free one: that page.
  EXPECT_EQ(bpf_arena_alloc_pages(def, user + P, 1, -1, 0), nullptr);
  EXPECT_EQ(bpf_arena_alloc_pages(def, user + 3 * P, 1, -1, 0), user + 3 * P);
  bpf_arena_free_pages(other_def, user, 1);  // not an arena: nothing
  EXPECT_TRUE(arena->PagePresent(0));
  bpf_arena_free_pages(def, user + P, 1);
  EXPECT_TRUE(arena->PagePresent(0));
  EXPECT_FALSE(arena->PagePresent(1));
  EXPECT_TRUE(arena->PagePresent(3));
  munmap(user, 4 * P);
  bound.reset();
  other.reset();
  CloseFd(other_fd);
  CloseFd(fd);
}

}  // namespace
}  // namespace bpfemu::native
