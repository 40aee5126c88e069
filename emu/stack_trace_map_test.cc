// SPDX-License-Identifier: Apache-2.0
// STACK_TRACE through bpf_get_stackid (GetStackId, the helper's map side)
// and the syscall face: bucket choice, the EEXIST / REUSE / FAST_STACK_CMP
// rules, max_depth and skip, ENOMEM when every element is in use, build-id
// entries, memlock, and corrupted regions.
// tests/conformance/stack_trace_conformance.h checks the commands and
// errnos on the kernel too.

#include "emu/stack_trace_map.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/build_profile.h"
#include "emu/errno.h"
#include "emu/jhash.h"
#include "emu/map_test_util.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

MapAttr Stack(uint32_t value_size, uint32_t max_entries, uint32_t flags = 0) {
  return MapAttr{.map_type = BPF_MAP_TYPE_STACK_TRACE,
                 .key_size = 4,
                 .value_size = value_size,
                 .max_entries = max_entries,
                 .map_flags = flags};
}

class StackTraceMapTest : public ::testing::Test {
 protected:
  void Create(uint32_t value_size, uint32_t max_entries, uint32_t flags = 0) {
    fd_ = MapCreate(Stack(value_size, max_entries, flags));
    ASSERT_GE(fd_, 0);
    map_ = std::dynamic_pointer_cast<StackTraceMap>(MapFromFd(fd_));
    ASSERT_NE(map_, nullptr);
  }
  void TearDown() override {
    map_.reset();
    if (fd_ >= 0) CloseFd(fd_);
  }
  long Id(const std::vector<uint64_t>& trace, uint64_t flags = 0) {
    return map_->GetStackId(trace.data(), static_cast<uint32_t>(trace.size()),
                            flags);
  }
  // The bucket jhash2 gives these frames in a map of `n_buckets`.
  static uint32_t BucketOf(const std::vector<uint64_t>& frames,
                           uint32_t n_buckets) {
    std::vector<uint32_t> words(2 * frames.size());
    std::memcpy(words.data(), frames.data(), 8 * frames.size());
    return Jhash2(words.data(), static_cast<uint32_t>(words.size()), 0) &
           (n_buckets - 1);
  }
  std::vector<uint64_t> Lookup(uint32_t id, int* err = nullptr) {
    std::vector<uint64_t> v(map_->value_size() / 8, ~uint64_t{0});
    const int r = MapLookupElem(fd_, &id, v.data());
    if (err != nullptr) *err = r;
    return v;
  }
  std::vector<uint32_t> Keys() { return NextKeyWalk<uint32_t>(fd_); }
  // A one-frame trace whose bucket (of n_buckets) is `bucket`, other than
  // the traces in `avoid`.
  static std::vector<uint64_t> TraceIn(uint32_t bucket, uint32_t n_buckets,
                                       uint64_t start = 0x1000) {
    for (uint64_t ip = start;; ++ip) {
      if (BucketOf({ip}, n_buckets) == bucket) return {ip};
    }
  }

  int fd_ = -1;
  std::shared_ptr<StackTraceMap> map_;
};

TEST_F(StackTraceMapTest, SameTraceSameIdStoredInItsJhashBucket) {
  Create(8 * 4, 16);
  const std::vector<uint64_t> trace = {0xffffffff81000010, 0xffffffff81000020,
                                       0xffffffff81000030};
  const long id = Id(trace);
  ASSERT_GE(id, 0);
  EXPECT_EQ(static_cast<uint32_t>(id), BucketOf(trace, 16));
  EXPECT_EQ(Id(trace), id);
  int err = 0;
  std::vector<uint64_t> v = Lookup(static_cast<uint32_t>(id), &err);
  EXPECT_EQ(err, 0);
  // The frames, then zeroes up to value_size.
  EXPECT_EQ(v, (std::vector<uint64_t>{trace[0], trace[1], trace[2], 0}));
  EXPECT_EQ(Keys(), (std::vector<uint32_t>{static_cast<uint32_t>(id)}));
}

TEST_F(StackTraceMapTest, CollisionIsEexistUnlessReuseOrFastCompare) {
  Create(8, 2);  // two buckets
  const std::vector<uint64_t> a = TraceIn(1, 2);
  const std::vector<uint64_t> b = TraceIn(1, 2, a[0] + 1);
  ASSERT_EQ(Id(a), 1);
  EXPECT_EQ(Id(b), -EEXIST);
  EXPECT_EQ(Lookup(1), a);
  EXPECT_EQ(Id(b, BPF_F_REUSE_STACKID), 1);
  EXPECT_EQ(Lookup(1), b);
  // FAST_STACK_CMP trusts a hash match alone; a hash mismatch is still a
  // collision.
  EXPECT_EQ(Id(b, BPF_F_FAST_STACK_CMP), 1);
  EXPECT_EQ(Id(a, BPF_F_FAST_STACK_CMP), -EEXIST);
}

TEST_F(StackTraceMapTest, DepthIsTheValueSizePlusSkipped) {
  Create(16, 8);  // two frames
  const std::vector<uint64_t> trace = {1, 2, 3, 4, 5};
  // Frames 0 and 1; with skip 1, frames 1 and 2 (max_depth 3).
  long id = Id(trace);
  ASSERT_GE(id, 0);
  EXPECT_EQ(Lookup(static_cast<uint32_t>(id)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(static_cast<uint32_t>(id), BucketOf({1, 2}, 8));
  id = Id(trace, 1 | BPF_F_REUSE_STACKID);
  ASSERT_GE(id, 0);
  EXPECT_EQ(Lookup(static_cast<uint32_t>(id)), (std::vector<uint64_t>{2, 3}));
  // Skipping every frame (or more) is EFAULT; an empty trace too.
  EXPECT_EQ(Id({1, 2}, 2), -EFAULT);
  EXPECT_EQ(Id({}), -EFAULT);
  EXPECT_EQ(Id({1, 2}, 255), -EFAULT);
}

TEST_F(StackTraceMapTest, UnknownFlagsAreEinval) {
  Create(8, 4);
  EXPECT_EQ(Id({1}, BPF_F_USER_BUILD_ID), -EINVAL);
  EXPECT_EQ(Id({1}, uint64_t{1} << 12), -EINVAL);
  EXPECT_EQ(Id({1}, uint64_t{1} << 40), -EINVAL);
  EXPECT_GE(Id({1}, BPF_F_USER_STACK), 0);
}

TEST_F(StackTraceMapTest, EveryElementInUseIsEnomemUntilOneIsDeleted) {
  Create(8, 3);  // 3 elements, 4 buckets
  for (uint32_t b = 0; b < 3; ++b) ASSERT_EQ(Id(TraceIn(b, 4)), b);
  const std::vector<uint64_t> fourth = TraceIn(3, 4);
  EXPECT_EQ(Id(fourth), -ENOMEM);
  // A reuse needs a fresh element before the old one is given back.
  EXPECT_EQ(Id(TraceIn(0, 4, TraceIn(0, 4)[0] + 1), BPF_F_REUSE_STACKID),
            -ENOMEM);
  uint32_t key = 1;
  EXPECT_EQ(MapDeleteElem(fd_, &key), 0);
  EXPECT_EQ(MapDeleteElem(fd_, &key), -ENOENT);
  EXPECT_EQ(Id(fourth), 3);
  EXPECT_EQ(Keys(), (std::vector<uint32_t>{0, 2, 3}));
}

TEST_F(StackTraceMapTest, SyscallCommands) {
  Create(8, 3);
  uint32_t key = 0, next = 0;
  uint64_t v = 7;
  EXPECT_EQ(MapUpdateElem(fd_, &key, &v, BPF_ANY), -EINVAL);
  EXPECT_EQ(MapLookupElem(fd_, &key, &v), -ENOENT);
  key = 4;  // past n_buckets
  EXPECT_EQ(MapLookupElem(fd_, &key, &v), -ENOENT);
  EXPECT_EQ(MapDeleteElem(fd_, &key), -E2BIG);
  EXPECT_EQ(MapGetNextKey(fd_, nullptr, &next), -ENOENT);
  ASSERT_EQ(Id(TraceIn(2, 4)), 2);
  // A missing or out-of-range key restarts the walk at the first id.
  for (uint32_t k : {0u, 1u, 3u, 100u}) {
    EXPECT_EQ(MapGetNextKey(fd_, &k, &next), 0) << k;
    EXPECT_EQ(next, 2u);
  }
  key = 2;
  EXPECT_EQ(MapGetNextKey(fd_, &key, &next), -ENOENT);
  // lookup_and_delete: 6.18 copies the trace out and frees the bucket;
  // 6.12 has no such op.
  EXPECT_EQ(MapLookupAndDeleteElem(fd_, &key, &v), 0);
  EXPECT_EQ(v, TraceIn(2, 4)[0]);
  EXPECT_EQ(Keys(), std::vector<uint32_t>{});
  EXPECT_EQ(MapLookupAndDeleteElem(fd_, &key, &v), -ENOENT);
  const KernelVersion old = TargetKernel();
  SetTargetKernel(KernelVersion::k6_12);
  const int fd612 = MapCreate(Stack(8, 3));
  ASSERT_GE(fd612, 0);
  EXPECT_EQ(MapLookupAndDeleteElem(fd612, &key, &v), -kENOTSUPP);
  CloseFd(fd612);
  SetTargetKernel(old);
}

// Build-id maps keep one struct bpf_stack_build_id per frame; bpfemu reads
// no build ids, so each is the kernel's ip fallback. The element is taken
// before the comparison: a full map is ENOMEM even for a known trace.
TEST_F(StackTraceMapTest, BuildIdEntriesAreIpFallbacks) {
  Create(64, 1, BPF_F_STACK_BUILD_ID);  // two entries, one element
  const std::vector<uint64_t> trace = {0x401000, 0x402000, 0x403000};
  ASSERT_EQ(Id(trace, BPF_F_USER_STACK), 0);
  uint32_t key = 0;
  struct bpf_stack_build_id out[2];
  ASSERT_EQ(MapLookupElem(fd_, &key, out), 0);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(out[i].status, BPF_STACK_BUILD_ID_IP);
    EXPECT_EQ(out[i].ip, trace[i]);
    for (unsigned char c : out[i].build_id) EXPECT_EQ(c, 0);
  }
  EXPECT_EQ(Id(trace, BPF_F_USER_STACK), -ENOMEM);
}

TEST(StackTraceMapCreate, ChecksFollowTheKernel) {
  const uint32_t max_stack = StackTraceMap::MaxStack();
  EXPECT_EQ(MapCreate(Stack(4, 1)), -EINVAL);
  EXPECT_EQ(MapCreate(Stack(12, 1)), -EINVAL);
  EXPECT_EQ(MapCreate(Stack(0, 1)), -EINVAL);
  EXPECT_EQ(MapCreate(Stack(8, 0)), -EINVAL);
  EXPECT_EQ(MapCreate(Stack(8 * (max_stack + 1), 1)), -EINVAL);
  EXPECT_EQ(MapCreate(Stack(40, 1, BPF_F_STACK_BUILD_ID)), -EINVAL);
  EXPECT_EQ(MapCreate(Stack(32 * (max_stack + 1), 1, BPF_F_STACK_BUILD_ID)),
            -EINVAL);
  EXPECT_EQ(MapCreate(Stack(8, 1, BPF_F_RDONLY_PROG)), -EINVAL);
  EXPECT_EQ(MapCreate(Stack(8, 1, BPF_F_NO_PREALLOC)), -EINVAL);
  EXPECT_EQ(MapCreate(Stack(8, (1u << 31) + 1)), -E2BIG);
  MapAttr key8 = Stack(8, 1);
  key8.key_size = 8;
  EXPECT_EQ(MapCreate(key8), -EINVAL);
  const int fd = MapCreate(Stack(8 * max_stack, 1));
  EXPECT_GE(fd, 0);
  CloseFd(fd);
  // 6.1 checks CAP_BPF in stack_map_alloc itself.
  const KernelVersion old = TargetKernel();
  SetTargetKernel(KernelVersion::k6_1);
  SetCallerPrivileged(false);
  EXPECT_EQ(StackTraceMap::AllocCheck(Stack(8, 1)), -EPERM);
  SetCallerPrivileged(true);
  SetTargetKernel(old);
}

// stack_map_mem_usage(): the struct, 8 bytes per bucket, and max_entries
// elements of sizeof(struct stack_map_bucket) + value_size.
TEST(StackTraceMapCreate, MemlockIsTheKernelsFormula) {
  const KernelVersion old = TargetKernel();
  SetTargetKernel(KernelVersion::k6_18);
  const int fd = MapCreate(Stack(24, 100));
  ASSERT_GE(fd, 0);
  const uint64_t base = BuildProfileFor(KernelVersion::k6_18).stack_map;
  EXPECT_EQ(MapFromFd(fd)->Memlock(), base + 128 * 8 + 100 * (16 + 24));
  CloseFd(fd);
  SetTargetKernel(old);
}

TEST_F(StackTraceMapTest, CorruptedRegionIsRefusedNotFollowed) {
  Create(16, 4);
  ASSERT_EQ(Id(TraceIn(1, 4)), 1);
  // Bucket 1 (after the 64-byte body) pointed past the pool: empty.
  const off_t bucket1 = static_cast<off_t>(kBodyOffset + 64 + 4);
  const uint32_t outside = 0x7fffffff;
  ASSERT_EQ(pwrite(fd_, &outside, 4, bucket1), 4);
  int err = 0;
  Lookup(1, &err);
  EXPECT_EQ(err, -ENOENT);
  EXPECT_EQ(Keys(), std::vector<uint32_t>{});
  // Another process attaching a region whose bucket count was rewritten.
  const uint32_t n_buckets = 1u << 30;
  ASSERT_EQ(pwrite(fd_, &n_buckets, 4, static_cast<off_t>(kBodyOffset + 4)), 4);
  const std::string path = "/proc/self/fd/" + std::to_string(fd_);
  const int again = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(again, 0);
  EXPECT_EQ(AttachMapFd(again), -EINVAL);
  close(again);
}

}  // namespace
}  // namespace bpfemu
