// SPDX-License-Identifier: Apache-2.0
// Unit tests of HashMap internals: bucket geometry, head insertion, spare
// elements and capacity under concurrency. Behaviour shared with the kernel is
// covered on both backends by tests/conformance.
#include "emu/hash_map.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "emu/cpu.h"
#include "emu/jhash.h"
#include "emu/map_test_util.h"
#include "emu/syscall.h"
#include "emu/version.h"
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
  std::vector<uint32_t> Keys() { return NextKeyWalk<uint32_t>(fd_); }

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
      if (err == -E2BIG)
        ++e2big;
      else
        ASSERT_EQ(err, 0);
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

// Re-entry while a bucket is held (a tracing program interrupting a map op
// on the same CPU). With 16 buckets (ZERO_SEED): keys 0 and 26 share bucket
// 8 (lock slot 8 & 7 = 0); key 35 is in bucket 0 (also slot 0); key 4 is in
// bucket 1 (slot 1); key 30 is in bucket 3 (slot 3).
class HashMapReentryTest : public HashMapTest {
 protected:
  void SetUp() override {
    auto bucket = [](uint32_t k) { return HtabMapHash(&k, 4, 0) & 15; };
    ASSERT_EQ(bucket(0), 8u);
    ASSERT_EQ(bucket(26), 8u);
    ASSERT_EQ(bucket(35), 0u);
    ASSERT_EQ(bucket(4), 1u);
    ASSERT_EQ(bucket(30), 3u);
  }
  void TearDown() override {
    SetTargetKernel(KernelVersion::k6_18);
    HashMapTest::TearDown();
  }
  // Updates `outer` and, while its bucket is held, runs `nested`; returns
  // the nested result.
  int Nested(uint32_t outer, std::function<int()> nested) {
    int result = 1;
    map_->SetBucketLockedHookForTesting([&] { result = nested(); });
    EXPECT_EQ(Update(outer, 1), 0);
    return result;
  }
};

// 6.15+: rqspinlock reports an AA deadlock for the very bucket held; other
// buckets, even in the same lock slot, are taken normally. Lookups and
// get_next_key (RCU readers in the kernel) always work.
TEST_F(HashMapReentryTest, Since615SameBucketIsEdeadlk) {
  Create(16);
  ASSERT_EQ(map_->kernel_version(), KernelVersion::k6_18);
  EXPECT_EQ(Nested(0, [&] { return Update(26, 2); }), -EDEADLK);
  EXPECT_EQ(Nested(0,
                   [&] {
                     uint32_t k =
                         26;  // same bucket: the lock check comes first
                     return MapDeleteElem(fd_, &k);
                   }),
            -EDEADLK);
  EXPECT_EQ(Nested(0,
                   [&] {
                     uint32_t k = 0;
                     uint64_t v;
                     return MapLookupAndDeleteElem(fd_, &k, &v);
                   }),
            -EDEADLK);
  EXPECT_EQ(Nested(0, [&] { return Update(35, 3); }), 0);  // bucket 0, slot 0
  EXPECT_EQ(Nested(0, [&] { return Update(4, 4); }), 0);   // bucket 1
  EXPECT_EQ(Nested(0,
                   [&] {
                     uint32_t k = 0;
                     uint64_t v = 0;
                     return MapLookupElem(fd_, &k, &v);
                   }),
            0);
  EXPECT_EQ(Nested(0, [&] { return static_cast<int>(Keys().size()); }), 3);
}

// Up to 6.14: the per-CPU map_locked counters refuse any bucket in the same
// lock slot (bucket & min(7, n_buckets - 1)) with EBUSY.
TEST_F(HashMapReentryTest, Before615SameSlotIsEbusy) {
  for (KernelVersion v : {KernelVersion::k6_1, KernelVersion::k6_12}) {
    SCOPED_TRACE(KernelVersionName(v));
    SetTargetKernel(v);
    Create(16);
    SetTargetKernel(KernelVersion::k6_18);  // the map keeps its version
    ASSERT_EQ(map_->kernel_version(), v);
    EXPECT_EQ(Nested(0, [&] { return Update(26, 2); }), -EBUSY);
    EXPECT_EQ(Nested(0, [&] { return Update(35, 3); }), -EBUSY);  // slot 0
    EXPECT_EQ(Nested(0, [&] { return Update(4, 4); }), 0);        // slot 1
    EXPECT_EQ(Nested(0,
                     [&] {
                       uint32_t k = 0;
                       uint64_t v2 = 0;
                       return MapLookupElem(fd_, &k, &v2);
                     }),
              0);
    CloseFd(fd_);
    fd_ = -1;
  }
}

// A batch walk that reaches the held bucket stops with the lock error and
// reports what it copied before.
TEST_F(HashMapReentryTest, BatchWalkStopsAtHeldBucket) {
  Create(16);
  for (uint32_t k : {4u, 30u, 26u}) ASSERT_EQ(Update(k, k), 0);
  uint32_t keys[8], count = 8, out = 0xdddd;
  uint64_t values[8];
  uint32_t start = 1;
  int ret = 1;
  map_->SetBucketLockedHookForTesting(
      [&] { ret = MapLookupBatch(fd_, &start, &out, keys, values, &count); });
  ASSERT_EQ(Update(0, 1), 0);  // holds bucket 8
  EXPECT_EQ(ret, -EDEADLK);
  EXPECT_EQ(count, 2u);  // keys 4 and 30 from buckets 1 and 3
  EXPECT_EQ(out, 8u);
  EXPECT_EQ(keys[0], 4u);
  EXPECT_EQ(keys[1], 30u);
}

TEST(KernelVersion, ParsesAndNames) {
  EXPECT_EQ(ParseKernelVersion("6.12"), KernelVersion::k6_12);
  EXPECT_EQ(ParseKernelVersion("6.2"), std::nullopt);
  EXPECT_STREQ(KernelVersionName(KernelVersion::k6_1), "6.1");
  EXPECT_TRUE(HasResilientBucketLock(KernelVersion::k6_18));
  EXPECT_FALSE(HasResilientBucketLock(KernelVersion::k6_12));
}

// Two threads on different emulated CPUs increment counters through
// program-face value pointers with atomics (as BPF programs do with
// __sync_fetch_and_add): no increment is lost, shared or per-CPU.
TEST(ValuePointers, NoLostAtomicIncrements) {
  SetNumPossibleCpus(2);
  for (uint32_t type :
       {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
        BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_HASH}) {
    SCOPED_TRACE(type);
    MapAttr a;
    a.map_type = type;
    a.key_size = 4;
    a.value_size = 8;
    a.max_entries = 4;
    int fd = MapCreate(a);
    ASSERT_GE(fd, 0);
    std::shared_ptr<Map> map = MapFromFd(fd);
    uint32_t key = 1;
    std::vector<uint64_t> zero(2, 0);
    ASSERT_EQ(MapUpdateElem(fd, &key, zero.data(), BPF_ANY), 0);
    constexpr int kIncrements = 100000;
    auto worker = [&](int cpu) {
      ScopedCpu pin(cpu);
      for (int i = 0; i < kIncrements; ++i) {
        auto* v = static_cast<uint64_t*>(map->LookupElemProg(&key));
        ASSERT_NE(v, nullptr);
        __sync_fetch_and_add(v, 1);
      }
    };
    std::thread t0(worker, 0), t1(worker, 1);
    t0.join();
    t1.join();
    std::vector<uint64_t> out(2, 0);
    ASSERT_EQ(MapLookupElem(fd, &key, out.data()), 0);
    const bool percpu =
        type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY;
    if (percpu) {
      EXPECT_EQ(out[0], uint64_t{kIncrements});  // each CPU its own slot
      EXPECT_EQ(out[1], uint64_t{kIncrements});
    } else {
      EXPECT_EQ(out[0], uint64_t{2 * kIncrements});
    }
    CloseFd(fd);
  }
  SetNumPossibleCpus(0);
}

// A BPF_F_NO_PREALLOC map backs its buckets at create, as htab_map_alloc()
// allocates them, and its elements one by one as updates take them: a pool
// far larger than its contents holds no memory for the unused part.
TEST_F(HashMapTest, NoPreallocPoolIsBackedAsElementsAreTaken) {
  constexpr uint32_t kEntries = uint32_t{1} << 20;
  Create(kEntries, BPF_F_NO_PREALLOC);
  EXPECT_EQ(map_->n_buckets(), kEntries);
  struct stat st;
  ASSERT_EQ(fstat(fd_, &st), 0);
  const uint64_t at_create = uint64_t(st.st_blocks) * 512;
  // The buckets (16 bytes each), not the pool (more than 16 bytes each).
  EXPECT_GE(at_create, uint64_t{kEntries} * 16);
  EXPECT_LT(at_create, uint64_t{kEntries} * 16 + (uint64_t{1} << 20));
  for (uint32_t k = 0; k < 1000; ++k) ASSERT_EQ(Update(k, k), 0);
  ASSERT_EQ(fstat(fd_, &st), 0);
  const uint64_t grown = uint64_t(st.st_blocks) * 512 - at_create;
  EXPECT_GT(grown, 0u);
  EXPECT_LE(grown, uint64_t{1000} * 64 + 4096);  // 1000 elements' pages
  EXPECT_EQ(Keys().size(), 1000u);
}

}  // namespace
}  // namespace bpfemu
