// SPDX-License-Identifier: Apache-2.0
// ARENA through the syscall face and the kfunc entry points (AllocPages,
// FreePages): arena_map_alloc's checks, the element commands, the user
// mapping rules of arena_get_unmapped_area / arena_map_mmap, the version
// gate, pages shared between a program's allocation and a user mapping, and
// a region whose user range was rewritten. tests/conformance/
// arena_conformance.h runs the syscall rules on the kernel too.

#include "emu/arena.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

constexpr uint64_t P = ArenaMap::kPage;

MapAttr Arena(uint32_t pages, uint32_t flags = BPF_F_MMAPABLE,
              uint64_t extra = 0) {
  MapAttr a{.map_type = kBpfMapTypeArena,
            .key_size = 0,
            .value_size = 0,
            .max_entries = pages,
            .map_flags = flags};
  a.map_extra = extra;
  return a;
}

class ScopedKernelVersion {
 public:
  explicit ScopedKernelVersion(KernelVersion v) : old_(TargetKernel()) {
    SetTargetKernel(v);
  }
  ~ScopedKernelVersion() { SetTargetKernel(old_); }

 private:
  KernelVersion old_;
};

ArenaMap* AsArena(int fd, std::shared_ptr<Map>* hold) {
  *hold = MapFromFd(fd);
  return dynamic_cast<ArenaMap*>(hold->get());
}

TEST(ArenaMapTest, CreateChecksInTheKernelsOrder) {
  ScopedKernelVersion v(KernelVersion::k6_18);
  int fd = MapCreate(Arena(1));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(MapMemlock(fd), 0);  // arena_map_mem_usage()
  CloseFd(fd);
  EXPECT_EQ(MapCreate(Arena(1, 0)), -EINVAL);  // no BPF_F_MMAPABLE
  MapAttr a = Arena(1);
  a.key_size = 4;
  EXPECT_EQ(MapCreate(a), -EINVAL);
  a = Arena(1);
  a.value_size = 4;
  EXPECT_EQ(MapCreate(a), -EINVAL);
  EXPECT_EQ(MapCreate(Arena(0)), -EINVAL);
  for (uint32_t ok : {kBpfFSegvOnFault, kBpfFNoUserConv}) {
    fd = MapCreate(Arena(1, BPF_F_MMAPABLE | ok));
    EXPECT_GE(fd, 0);
    CloseFd(fd);
  }
  for (uint32_t bad : {uint32_t{BPF_F_NUMA_NODE}, uint32_t{BPF_F_RDONLY},
                       uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_NO_PREALLOC},
                       uint32_t{BPF_F_ZERO_SEED}}) {
    EXPECT_EQ(MapCreate(Arena(1, BPF_F_MMAPABLE | bad)), -EINVAL) << bad;
  }
  // 4 GiB of pages is the most; more is E2BIG, checked before map_extra's
  // boundary.
  fd = MapCreate(Arena(1u << 20));
  EXPECT_GE(fd, 0);
  CloseFd(fd);
  EXPECT_EQ(MapCreate(Arena((1u << 20) + 1)), -E2BIG);
  EXPECT_EQ(MapCreate(Arena(UINT32_MAX)), -E2BIG);
  EXPECT_EQ(MapCreate(Arena(1, BPF_F_MMAPABLE, 1)), -EINVAL);
  EXPECT_EQ(MapCreate(Arena((1u << 20) + 1, BPF_F_MMAPABLE, 1)), -EINVAL);
  EXPECT_EQ(MapCreate(Arena(2, BPF_F_MMAPABLE, 0x1fffff000ULL)), -ERANGE);
  fd = MapCreate(Arena(1, BPF_F_MMAPABLE, 0x1fffff000ULL));
  EXPECT_GE(fd, 0);
  CloseFd(fd);
}

TEST(ArenaMapTest, OlderTargetsHaveNoArena) {
  {
    ScopedKernelVersion v(KernelVersion::k6_1);
    EXPECT_EQ(MapCreate(Arena(1)), -EINVAL);
  }
  ScopedKernelVersion v(KernelVersion::k6_12);
  const int fd = MapCreate(Arena(1));
  EXPECT_GE(fd, 0);
  CloseFd(fd);
}

TEST(ArenaMapTest, ElementCommands) {
  const int fd = MapCreate(Arena(4));
  ASSERT_GE(fd, 0);
  char buf[8] = {};
  EXPECT_EQ(MapLookupElem(fd, nullptr, buf, 0), -EINVAL);
  EXPECT_EQ(MapUpdateElem(fd, nullptr, buf, 0), -EOPNOTSUPP);
  EXPECT_EQ(MapDeleteElem(fd, nullptr), -EOPNOTSUPP);
  EXPECT_EQ(MapGetNextKey(fd, nullptr, buf), -EOPNOTSUPP);
  uint32_t key = 0;
  // __bpf_copy_key(): a key on a keyless map.
  EXPECT_EQ(MapLookupElem(fd, &key, buf, 0), -EINVAL);
  CloseFd(fd);
}

TEST(ArenaMapTest, FirstMappingFixesTheUserRange) {
  const int fd = MapCreate(Arena(16));
  ASSERT_GE(fd, 0);
  int err = 0;
  const int rw = PROT_READ | PROT_WRITE;
  // arena_get_unmapped_area(): offset 0 only; then the generic checks.
  EXPECT_EQ(MapMmapAt(fd, nullptr, 16 * P, rw, MAP_SHARED, P, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  EXPECT_EQ(MapMmapAt(fd, nullptr, 16 * P, rw, MAP_PRIVATE, 0, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  // A mapping may be longer than max_entries pages.
  void* first = MapMmapAt(fd, nullptr, 32 * P, rw, MAP_SHARED, 0, &err);
  ASSERT_NE(first, nullptr) << err;
  const auto start = reinterpret_cast<uint64_t>(first);
  EXPECT_EQ(start >> 32, (start + 32 * P - 1) >> 32);
  std::shared_ptr<Map> hold;
  ArenaMap* arena = AsArena(fd, &hold);
  ASSERT_NE(arena, nullptr);
  EXPECT_EQ(arena->user_vm_start(), start);
  EXPECT_EQ(arena->user_vm_end(), start + 32 * P);
  // Later mappings: the same range only.
  EXPECT_EQ(MapMmapAt(fd, nullptr, 32 * P, rw, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  EXPECT_EQ(MapMmapAt(fd, first, 64 * P, rw, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -E2BIG);
  EXPECT_EQ(MapMmapAt(fd, first, 16 * P, rw, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  // The range is taken by the first mapping: the kernel would choose
  // another address, which arena_map_mmap refuses.
  EXPECT_EQ(MapMmapAt(fd, first, 32 * P, rw, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -EBUSY);
  EXPECT_EQ(
      MapMmapAt(fd, nullptr, (uint64_t{1} << 32) + P, rw, MAP_SHARED, 0, &err),
      nullptr);
  EXPECT_EQ(err, -E2BIG);
  // Over the first one with MAP_FIXED: allowed.
  void* again =
      MapMmapAt(fd, first, 32 * P, rw, MAP_SHARED | MAP_FIXED, 0, &err);
  EXPECT_EQ(again, first) << err;
  munmap(first, 32 * P);
  CloseFd(fd);
}

TEST(ArenaMapTest, MapExtraFixesTheUserRange) {
  const uint64_t at = 0x7e0000000000ULL;
  const int fd = MapCreate(Arena(4, BPF_F_MMAPABLE, at));
  ASSERT_GE(fd, 0);
  int err = 0;
  const int rw = PROT_READ | PROT_WRITE;
  auto* hint = reinterpret_cast<void*>(at);
  EXPECT_EQ(MapMmapAt(fd, nullptr, 4 * P, rw, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  EXPECT_EQ(MapMmapAt(fd, hint, 8 * P, rw, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -E2BIG);
  EXPECT_EQ(MapMmapAt(fd, hint, 2 * P, rw, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  void* m = MapMmapAt(fd, hint, 4 * P, rw, MAP_SHARED, 0, &err);
  ASSERT_EQ(m, hint) << err;
  munmap(m, 4 * P);
  CloseFd(fd);
}

// bpf_arena_alloc_pages / bpf_arena_free_pages against a user mapping: the
// program's pages appear zeroed in the mapping, user stores are seen by the
// program, a freed page is gone from both, and a page the user touched
// counts as allocated.
TEST(ArenaMapTest, PagesAreSharedWithTheUserMapping) {
  const int fd = MapCreate(Arena(8));
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> hold;
  ArenaMap* arena = AsArena(fd, &hold);
  ASSERT_NE(arena, nullptr);
  // No user range yet: page_cnt_max is 0.
  EXPECT_EQ(arena->AllocPages(0, 1, -1, 0), 0u);
  int err = 0;
  auto* user = static_cast<uint8_t*>(MapMmapAt(
      fd, nullptr, 8 * P, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err));
  ASSERT_NE(user, nullptr) << err;
  const auto start = reinterpret_cast<uint64_t>(user);
  EXPECT_EQ(arena->AllocPages(0, 1, -1, 1), 0u);  // flags
  EXPECT_EQ(arena->AllocPages(0, 0, -1, 0), 0u);  // page_cnt 0
  EXPECT_EQ(arena->AllocPages(0, 9, -1, 0), 0u);  // beyond the range
  EXPECT_EQ(arena->AllocPages(0, 1, 1, 0), 0u);   // no node 1
  EXPECT_EQ(arena->AllocPages(start + 1, 1, -1, 0), 0u);
  EXPECT_EQ(arena->AllocPages(start + 7 * P, 2, -1, 0), 0u);
  const uint64_t a = arena->AllocPages(0, 2, -1, 0);
  EXPECT_EQ(a, start);
  const uint64_t b = arena->AllocPages(0, 1, 0, 0);
  EXPECT_EQ(b, start + 2 * P);
  EXPECT_EQ(arena->AllocPages(start + P, 1, -1, 0), 0u);  // taken
  ASSERT_NE(arena->PageFor(b), nullptr);
  EXPECT_EQ(arena->PageFor(b)[17], 0);
  arena->PageFor(b)[17] = 42;
  EXPECT_EQ(user[2 * P + 17], 42);
  user[2 * P + 18] = 7;
  EXPECT_EQ(arena->PageFor(b + 18)[18], 7);
  // A user touch allocates page 5 (arena_vm_fault).
  EXPECT_EQ(arena->PageFor(start + 5 * P), nullptr);
  user[5 * P] = 1;
  EXPECT_NE(arena->PageFor(start + 5 * P), nullptr);
  EXPECT_EQ(arena->AllocPages(start + 4 * P, 2, -1, 0), 0u);
  EXPECT_EQ(arena->AllocPages(0, 2, -1, 0), start + 3 * P);  // pages 3, 4
  // Freed pages go back to holes and read as zero from userspace again.
  arena->FreePages(b, 1);
  EXPECT_EQ(arena->PageFor(b), nullptr);
  EXPECT_EQ(user[2 * P + 17], 0);
  // Only the lower 32 bits matter; out of range frees nothing.
  arena->FreePages(a + (uint64_t{5} << 32), 1);
  EXPECT_EQ(arena->PageFor(a), nullptr);
  EXPECT_NE(arena->PageFor(a + P), nullptr);
  arena->FreePages(0, 1);
  arena->FreePages(a + P, 0);
  EXPECT_NE(arena->PageFor(a + P), nullptr);
  EXPECT_EQ(arena->AllocPages(0, 1, -1, 0), start);  // lowest free page
  munmap(user, 8 * P);
  CloseFd(fd);
}

TEST(ArenaMapTest, AnotherProcessSeesTheSamePages) {
  const int fd = MapCreate(Arena(4));
  ASSERT_GE(fd, 0);
  int err = 0;
  auto* user = static_cast<uint8_t*>(MapMmapAt(
      fd, nullptr, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err));
  ASSERT_NE(user, nullptr) << err;
  std::shared_ptr<Map> hold;
  ArenaMap* arena = AsArena(fd, &hold);
  ASSERT_NE(arena, nullptr);
  const uint64_t page = arena->AllocPages(0, 1, -1, 0);
  ASSERT_NE(page, 0u);
  const pid_t pid = fork();
  if (pid == 0) {
    // A fresh attach of the same region, as another process would make.
    const int attach_fd =
        open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDWR);
    if (attach_fd < 0 || AttachMapFd(attach_fd) != 0) _exit(2);
    std::shared_ptr<Map> m = MapFromFd(attach_fd);
    auto* child = dynamic_cast<ArenaMap*>(m.get());
    if (child == nullptr || child->user_vm_start() != page) _exit(3);
    child->PageFor(page)[100] = 99;
    _exit(child->AllocPages(0, 1, -1, 0) == page + P ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(user[100], 99);
  EXPECT_NE(arena->PageFor(page + P), nullptr);
  munmap(user, 4 * P);
  CloseFd(fd);
}

// KernAt: the kernel window a program's arena accesses reach, indexed by
// the lower 32 bits of user addresses; only allocated pages of the user
// range answer.
TEST(ArenaMapTest, KernelWindowReachesAllocatedPagesOnly) {
  ScopedKernelVersion v(KernelVersion::k6_18);
  constexpr uint64_t kStart = 0x00007f0012340000ULL;
  const int fd = MapCreate(Arena(4, BPF_F_MMAPABLE, kStart));
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> hold;
  ArenaMap* arena = AsArena(fd, &hold);
  ASSERT_NE(arena, nullptr);
  const uint64_t low = kStart & 0xffffffffULL;
  EXPECT_EQ(arena->KernAt(low, 8), nullptr);  // nothing allocated
  ASSERT_EQ(arena->AllocPages(kStart + P, 2, -1, 0), kStart + P);
  uint8_t* page1 = arena->KernAt(low + P, 8);
  ASSERT_NE(page1, nullptr);
  EXPECT_EQ(arena->KernAt(low + P + 100, 4), page1 + 100);
  EXPECT_EQ(arena->KernAt(low + 3 * P - 4, 4), page1 + 2 * P - 4);
  // Straddling into page 2 (allocated) is one access; into page 3 not.
  EXPECT_EQ(arena->KernAt(low + 2 * P - 4, 8), page1 + P - 4);
  EXPECT_EQ(arena->KernAt(low + 3 * P - 4, 8), nullptr);
  EXPECT_EQ(arena->KernAt(low + P - 4, 8), nullptr);  // page 0 missing
  EXPECT_EQ(arena->KernAt(low - P, 8), nullptr);      // below the range
  EXPECT_EQ(arena->KernAt(low + 4 * P, 8), nullptr);  // past it
  EXPECT_EQ(arena->KernAt(uint64_t{1} << 32, 1), nullptr);
  EXPECT_EQ(arena->KernAt(low + P, P + 1), nullptr);  // wider than a page
  EXPECT_EQ(arena->KernAt(low + P, 0), nullptr);
  // Written through the window, read as the user address's page.
  page1[5] = 0x77;
  EXPECT_EQ(arena->PageFor(kStart + P)[5], 0x77);
  arena->FreePages(kStart + P, 1);
  EXPECT_EQ(arena->KernAt(low + P, 8), nullptr);
  EXPECT_NE(arena->KernAt(low + 2 * P, 8), nullptr);
  hold.reset();
  CloseFd(fd);
}

}  // namespace
}  // namespace bpfemu
