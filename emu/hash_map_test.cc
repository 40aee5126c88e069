// SPDX-License-Identifier: Apache-2.0
// Unit tests of HashMap internals: bucket geometry, head insertion, spare
// elements and capacity under concurrency. Behaviour shared with the kernel is
// covered on both backends by tests/conformance.
#include "emu/hash_map.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "emu/cpu.h"
#include "emu/jhash.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

class HashMapTest : public ::testing::Test {
 protected:
  void Create(uint32_t max_entries, uint32_t flags = BPF_F_ZERO_SEED,
              uint32_t key_size = 4) {
    MapAttr attr{.map_type = BPF_MAP_TYPE_HASH,
                 .key_size = key_size,
                 .value_size = 8,
                 .max_entries = max_entries,
                 .map_flags = flags};
    fd_ = MapCreate(attr);
    ASSERT_GE(fd_, 0);
    map_ = std::dynamic_pointer_cast<HashMap>(MapFromFd(fd_));
    ASSERT_NE(map_, nullptr);
  }
  void TearDown() override {
    if (fd_ >= 0) CloseFd(fd_);
  }
  int Update(uint32_t k, uint64_t v, uint64_t flags = BPF_ANY) {
    return MapUpdateElem(fd_, &k, &v, flags);
  }
  std::vector<uint32_t> Keys() {
    std::vector<uint32_t> keys;
    uint32_t k, next;
    const void* prev = nullptr;
    while (MapGetNextKey(fd_, prev, &next) == 0) {
      keys.push_back(next);
      k = next;
      prev = &k;
    }
    return keys;
  }

  int fd_ = -1;
  std::shared_ptr<HashMap> map_;
};

TEST_F(HashMapTest, BucketsAreRoundedUpToPowerOfTwo) {
  Create(40);
  EXPECT_EQ(map_->n_buckets(), 64u);
}

// The digest's reference order: HASH, ZERO_SEED, key_size 4, 64 buckets,
// keys 0..39 inserted ascending; the first ten keys get_next_key returns.
TEST_F(HashMapTest, ZeroSeedOrderMatchesKernelReference) {
  Create(64);
  for (uint32_t k = 0; k < 40; ++k) ASSERT_EQ(Update(k, k), 0);
  std::vector<uint32_t> keys = Keys();
  ASSERT_EQ(keys.size(), 40u);
  EXPECT_EQ(std::vector<uint32_t>(keys.begin(), keys.begin() + 10),
            (std::vector<uint32_t>{35, 37, 33, 27, 18, 15, 2, 8, 38, 9}));
}

// Keys 0, 26 and 35 share bucket 0 of an 8-bucket map; an update of an
// existing key moves it to the head of its bucket (digest §3.5).
TEST_F(HashMapTest, ReplaceMovesKeyToBucketHead) {
  Create(8);
  for (uint32_t k : {0u, 26u, 35u}) {
    ASSERT_EQ(HtabMapHash(&k, 4, 0) & 7, 0u);
    ASSERT_EQ(Update(k, 1), 0);
  }
  EXPECT_EQ(Keys(), (std::vector<uint32_t>{35, 26, 0}));
  ASSERT_EQ(Update(0, 2, BPF_EXIST), 0);
  EXPECT_EQ(Keys(), (std::vector<uint32_t>{0, 35, 26}));
  ASSERT_EQ(Update(26, 3, BPF_ANY), 0);
  EXPECT_EQ(Keys(), (std::vector<uint32_t>{26, 0, 35}));
  uint64_t v;
  uint32_t k = 0;
  ASSERT_EQ(MapLookupElem(fd_, &k, &v), 0);
  EXPECT_EQ(v, 2u);
}

// Replacements on a full map use the per-CPU spare elements and never fail,
// from any emulated CPU, prealloc or not.
TEST_F(HashMapTest, ReplacementsOnFullMapFromEveryCpu) {
  for (uint32_t flags : {0u, uint32_t{BPF_F_NO_PREALLOC}}) {
    SCOPED_TRACE(flags);
    SetNumPossibleCpus(4);
    Create(8, flags | BPF_F_ZERO_SEED);
    SetNumPossibleCpus(0);
    for (uint32_t k = 0; k < 8; ++k) ASSERT_EQ(Update(k, k), 0);
    for (int round = 0; round < 50; ++round) {
      ScopedCpu cpu(round % 4);
      ASSERT_EQ(Update(round % 8, round), 0);
      ASSERT_EQ(Update(100, 1), -E2BIG);
    }
    EXPECT_EQ(map_->count(), 8u);
    EXPECT_EQ(Keys().size(), 8u);
    CloseFd(fd_);
    fd_ = -1;
  }
}

// Two threads on different emulated CPUs insert and delete disjoint and
// shared keys: max_entries is never exceeded and the count stays consistent.
TEST_F(HashMapTest, TwoCpusNeverExceedMaxEntries) {
  SetNumPossibleCpus(2);
  Create(64, BPF_F_ZERO_SEED);
  SetNumPossibleCpus(0);
  std::atomic<int> e2big{0};
  auto worker = [&](int cpu) {
    ScopedCpu pin(cpu);
    for (int i = 0; i < 20000; ++i) {
      uint32_t k = static_cast<uint32_t>((i * 7 + cpu * 13) % 100);
      uint64_t v = static_cast<uint64_t>(i);
      int err = MapUpdateElem(fd_, &k, &v, BPF_ANY);
      if (err == -E2BIG) ++e2big;
      else ASSERT_EQ(err, 0);
      if (i % 3 == 0) {
        err = MapDeleteElem(fd_, &k);
        ASSERT_TRUE(err == 0 || err == -ENOENT);
      }
      ASSERT_LE(map_->count(), 64u);
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  EXPECT_GT(e2big.load(), 0);
  EXPECT_EQ(Keys().size(), map_->count());
}

// A map whose pool is far larger than its contents touches no memory for
// the unused part: 2^27 entries (the kernel's ceiling) is created instantly.
TEST_F(HashMapTest, LargestMapIsCreatedLazily) {
  Create(uint32_t{1} << 27, BPF_F_NO_PREALLOC);
  EXPECT_EQ(map_->n_buckets(), uint32_t{1} << 27);
  EXPECT_EQ(Update(7, 7), 0);
  EXPECT_EQ(Keys(), (std::vector<uint32_t>{7}));
}

}  // namespace
}  // namespace bpfemu
