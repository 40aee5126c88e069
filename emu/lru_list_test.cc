// SPDX-License-Identifier: Apache-2.0
// LRU internals: list membership, ref bits and the version-dependent refill
// target. Survivor sets are checked on both backends by
// tests/conformance/lru_conformance.h.
#include "emu/lru_list.h"

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "emu/cpu.h"
#include "emu/hash_map.h"
#include "emu/map_test_util.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

class LruListTest : public ::testing::Test {
 protected:
  void TearDown() override {
    SetTargetKernel(KernelVersion::k6_18);
    SetNumPossibleCpus(0);
    for (int fd : fds_) CloseFd(fd);
  }
  std::shared_ptr<HashMap> Make(uint32_t type, uint32_t max_entries,
                                uint32_t flags = 0) {
    MapAttr a;
    a.map_type = type;
    a.key_size = 8;
    a.value_size = 8;
    a.max_entries = max_entries;
    a.map_flags = flags;
    int fd = MapCreate(a);
    EXPECT_GE(fd, 0);
    fds_.push_back(fd);
    fd_ = fd;
    return std::dynamic_pointer_cast<HashMap>(MapFromFd(fd));
  }
  int Put(uint64_t k) {
    std::vector<uint64_t> v(4, k);
    return MapUpdateElem(fd_, &k, v.data(), BPF_NOEXIST);
  }
  std::set<uint64_t> Survivors() {
    const std::vector<uint64_t> keys = NextKeyWalk<uint64_t>(fd_);
    return std::set<uint64_t>(keys.begin(), keys.end());
  }

  int fd_ = -1;
  std::vector<int> fds_;
};

TEST_F(LruListTest, RefillTargetFollowsTheKernelVersion) {
  SetNumPossibleCpus(2);
  EXPECT_EQ(Make(BPF_MAP_TYPE_LRU_HASH, 192)->lru()->target_free(), 48u);
  EXPECT_EQ(Make(BPF_MAP_TYPE_LRU_HASH, 4)->lru()->target_free(), 1u);
  EXPECT_EQ(Make(BPF_MAP_TYPE_LRU_HASH, 100000)->lru()->target_free(), 128u);
  EXPECT_EQ(Make(BPF_MAP_TYPE_LRU_HASH, 64, BPF_F_NO_COMMON_LRU)
                ->lru()
                ->target_free(),
            4u);
  SetTargetKernel(KernelVersion::k6_1);
  EXPECT_EQ(Make(BPF_MAP_TYPE_LRU_HASH, 192)->lru()->target_free(), 128u);
  EXPECT_EQ(Make(BPF_MAP_TYPE_LRU_HASH, 4)->lru()->target_free(), 128u);
}

// The 6.1 selftest's sanity1 expectation, reproduced under the 6.1 target:
// survivors 1..64 and 129..256 (6.18 keeps 1..64 and 161..256).
TEST_F(LruListTest, Sanity1UnderKernel61) {
  SetNumPossibleCpus(2);
  SetTargetKernel(KernelVersion::k6_1);
  auto map = Make(BPF_MAP_TYPE_LRU_HASH, 192);
  ScopedCpu cpu(0);
  for (uint64_t k = 1; k <= 128; ++k) ASSERT_EQ(Put(k), 0);
  for (uint64_t k = 1; k <= 64; ++k)
    ASSERT_NE(map->LookupElemProg(&k), nullptr);
  for (uint64_t k = 129; k <= 256; ++k) ASSERT_EQ(Put(k), 0);
  std::set<uint64_t> want;
  for (uint64_t k = 1; k <= 64; ++k) want.insert(k);
  for (uint64_t k = 129; k <= 256; ++k) want.insert(k);
  EXPECT_EQ(Survivors(), want);
}

// New keys wait on the inserting CPU's pending list; a program lookup sets
// their ref bit, a syscall lookup does not.
TEST_F(LruListTest, NewKeysArePendingAndRefBitsComeFromPrograms) {
  SetNumPossibleCpus(2);
  auto map = Make(BPF_MAP_TYPE_LRU_HASH, 64);
  ScopedCpu cpu(1);
  ASSERT_EQ(Put(7), 0);
  ASSERT_EQ(Put(8), 0);
  uint64_t k = 7, v;
  ASSERT_EQ(MapLookupElem(fd_, &k, &v), 0);
  ASSERT_NE(map->LookupElemProg(&k), nullptr);
  // Find the nodes through the keys' element ids: ids are 1-based slots,
  // and exactly two are in use, both pending.
  int pending = 0, referenced = 0;
  for (uint32_t id = 1; id <= 64; ++id) {
    if (map->lru()->TypeOf(id) == LruList::kLocalPending) {
      ++pending;
      referenced += map->lru()->RefOf(id);
    }
  }
  EXPECT_EQ(pending, 2);
  EXPECT_EQ(referenced, 1);
}

// Every CPU of a per-CPU LRU owns max_entries / ncpu nodes; inserts from one
// CPU never take another CPU's nodes.
TEST_F(LruListTest, PercpuListsOwnTheirShare) {
  SetNumPossibleCpus(4);
  auto map = Make(BPF_MAP_TYPE_LRU_HASH, 30, BPF_F_NO_COMMON_LRU);
  EXPECT_EQ(map->max_entries(), 32u);  // rounded up to a multiple of 4
  ScopedCpu cpu(2);
  for (uint64_t k = 0; k < 100; ++k) ASSERT_EQ(Put(k), 0);
  std::set<uint64_t> want;
  for (uint64_t k = 92; k < 100; ++k) want.insert(k);
  EXPECT_EQ(Survivors(), want);
}

}  // namespace
}  // namespace bpfemu
