// SPDX-License-Identifier: Apache-2.0
// QUEUE and STACK through the syscall face and the program face, the
// version differences at creation, and a region whose indices were
// corrupted. tests/conformance/queue_stack_conformance.h checks the same
// commands on the kernel too.

#include "emu/queue_stack_map.h"

#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

int Create(uint32_t type, uint32_t max_entries, uint32_t flags = 0) {
  return MapCreate(MapAttr{.map_type = type,
                           .key_size = 0,
                           .value_size = 4,
                           .max_entries = max_entries,
                           .map_flags = flags});
}

TEST(QueueStackMapTest, QueueIsFifoStackIsLifoAndBothOverwriteTheOldest) {
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
    SCOPED_TRACE(type);
    const bool stack = type == BPF_MAP_TYPE_STACK;
    const int fd = Create(type, 3);
    ASSERT_GE(fd, 0);
    for (uint32_t v = 1; v <= 3; ++v) {
      EXPECT_EQ(MapUpdateElem(fd, nullptr, &v, BPF_ANY), 0);
    }
    uint32_t v = 4;
    EXPECT_EQ(MapUpdateElem(fd, nullptr, &v, BPF_ANY), -E2BIG);
    EXPECT_EQ(MapUpdateElem(fd, nullptr, &v, BPF_NOEXIST), -EINVAL);
    EXPECT_EQ(MapUpdateElem(fd, nullptr, &v, BPF_EXIST), 0);  // drops 1
    uint32_t out = 0;
    EXPECT_EQ(MapLookupElem(fd, nullptr, &out), 0);  // peek
    EXPECT_EQ(out, stack ? 4u : 2u);
    const uint32_t order[2][3] = {{2, 3, 4}, {4, 3, 2}};
    for (uint32_t want : order[stack]) {
      EXPECT_EQ(MapLookupAndDeleteElem(fd, nullptr, &out), 0);
      EXPECT_EQ(out, want);
    }
    out = 99;
    EXPECT_EQ(MapLookupAndDeleteElem(fd, nullptr, &out), -ENOENT);
    EXPECT_EQ(MapLookupElem(fd, nullptr, &out), -ENOENT);
    EXPECT_EQ(out, 99u);  // the syscall leaves the buffer alone
    EXPECT_EQ(MapDeleteElem(fd, nullptr), -EINVAL);
    EXPECT_EQ(MapGetNextKey(fd, nullptr, &out), -EINVAL);
    const uint32_t key = 0;
    EXPECT_EQ(MapLookupElem(fd, &key, &out), -EINVAL);  // a key: EINVAL
    EXPECT_EQ(CloseFd(fd), 0);
  }
}

TEST(QueueStackMapTest, ProgramFacePushPopPeek) {
  const int fd = Create(BPF_MAP_TYPE_QUEUE, 2);
  ASSERT_GE(fd, 0);
  auto map = MapFromFd(fd);
  ASSERT_NE(map, nullptr);
  const uint32_t a = 7, b = 8;
  EXPECT_EQ(map->PushElem(&a, 0), 0);
  EXPECT_EQ(map->PushElem(&b, 0), 0);
  EXPECT_EQ(map->PushElem(&b, 0), -E2BIG);
  EXPECT_EQ(map->PushElem(&b, 4), -EINVAL);
  uint32_t out = 0;
  EXPECT_EQ(map->PeekElem(&out), 0);
  EXPECT_EQ(out, 7u);
  EXPECT_EQ(map->PopElem(&out), 0);
  EXPECT_EQ(map->PopElem(&out), 0);
  EXPECT_EQ(out, 8u);
  EXPECT_EQ(map->PopElem(&out), -ENOENT);
  EXPECT_EQ(out, 0u);  // zeroed on ENOENT
  EXPECT_EQ(map->LookupElemProg(nullptr), nullptr);
  EXPECT_EQ(map->UpdateElemProg(nullptr, &a, 0), -EINVAL);
  EXPECT_EQ(CloseFd(fd), 0);
}

TEST(QueueStackMapTest, CreationChecksFollowTheVersion) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_QUEUE,
               .key_size = 0,
               .value_size = 8,
               .max_entries = UINT32_MAX / 8};
  SetTargetKernel(KernelVersion::k6_12);
  EXPECT_EQ(MapCreate(attr), -E2BIG);  // only 6.12 bounds the slot area
  SetTargetKernel(KernelVersion::k6_1);
  SetCallerPrivileged(false);
  attr.key_size = 4;
  EXPECT_EQ(MapCreate(attr), -EPERM);  // 6.1: CAP_BPF before any check
  SetTargetKernel(KernelVersion::k6_18);
  EXPECT_EQ(MapCreate(attr), -EINVAL);  // later: attributes first
  SetCallerPrivileged(true);
  attr.key_size = 0;
  attr.value_size = (1u << 22) + 1;
  attr.max_entries = 1;
  EXPECT_EQ(MapCreate(attr), -E2BIG);
  attr.value_size = 4;
  attr.map_flags = BPF_F_NO_PREALLOC;
  EXPECT_EQ(MapCreate(attr), -EINVAL);
  attr.map_flags = BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
  EXPECT_EQ(MapCreate(attr), -EINVAL);
}

TEST(QueueStackMapTest, CorruptedIndicesAreRefusedNotFollowed) {
  const int fd = Create(BPF_MAP_TYPE_STACK, 4);
  ASSERT_GE(fd, 0);
  // The body's head index sits after the lock word: another writer of the
  // file points it far outside.
  const off_t head_at = static_cast<off_t>(kBodyOffset + 4);
  const uint32_t outside = 0x7fffffff, zero = 0;
  ASSERT_EQ(pwrite(fd, &outside, 4, head_at), 4);
  uint32_t v = 1;
  EXPECT_EQ(MapUpdateElem(fd, nullptr, &v, BPF_ANY), -EINVAL);
  EXPECT_EQ(MapLookupElem(fd, nullptr, &v), -EINVAL);
  ASSERT_EQ(pwrite(fd, &zero, 4, head_at), 4);
  EXPECT_EQ(MapUpdateElem(fd, nullptr, &v, BPF_ANY), 0);
  EXPECT_EQ(CloseFd(fd), 0);
}

}  // namespace
}  // namespace bpfemu
