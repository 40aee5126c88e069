// SPDX-License-Identifier: Apache-2.0
// MapOps::for_each_callback, the body of bpf_for_each_map_elem: the walks of
// kernel/bpf/arraymap.c bpf_for_each_array_elem and kernel/bpf/hashtab.c
// bpf_for_each_hash_elem (order, stop, count, flags, the current CPU's
// per-CPU slot, updates and deletes from the callback), and which types
// have the op (the kernel's bpf_map_ops tables).
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "emu/cpu.h"
#include "emu/hash_map.h"
#include "emu/jhash.h"
#include "emu/map.h"
#include "emu/map_test_util.h"
#include "emu/map_types.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

// One visit as the callback saw it.
struct Visit {
  uint32_t key;
  uint64_t value;
};

// The callback: records each visit, then asks `decide` whether to stop.
struct Walker {
  std::vector<Visit> visits;
  std::function<uint64_t(uint32_t key, uint64_t* value)> decide;

  static uint64_t Call(void* arg, void* key, void* value) {
    auto* w = static_cast<Walker*>(arg);
    uint32_t k;
    uint64_t v;
    std::memcpy(&k, key, sizeof(k));
    std::memcpy(&v, value, sizeof(v));
    w->visits.push_back({k, v});
    return w->decide ? w->decide(k, static_cast<uint64_t*>(value)) : 0;
  }
  std::vector<uint32_t> Keys() const {
    std::vector<uint32_t> keys;
    for (const Visit& v : visits) keys.push_back(v.key);
    return keys;
  }
};

class ForEachTest : public ::testing::Test {
 protected:
  void Create(uint32_t type, uint32_t max_entries,
              uint32_t flags = BPF_F_ZERO_SEED) {
    if (type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY) {
      flags &= ~uint32_t{BPF_F_ZERO_SEED};
    }
    MapAttr attr{.map_type = type,
                 .key_size = 4,
                 .value_size = 8,
                 .max_entries = max_entries,
                 .map_flags = flags};
    fd_ = MapCreate(attr);
    ASSERT_GE(fd_, 0);
    map_ = MapFromFd(fd_);
    ASSERT_NE(map_, nullptr);
    const MapOps* ops = MapOpsFor(type);
    ASSERT_NE(ops, nullptr);
    for_each_ = ops->for_each_callback;
    ASSERT_NE(for_each_, nullptr);
  }
  void TearDown() override {
    if (fd_ >= 0) CloseFd(fd_);
  }
  int Update(uint32_t k, uint64_t v) {
    return MapUpdateElem(fd_, &k, &v, BPF_ANY);
  }
  // A per-CPU update: CPU c's slot holds v + c.
  int UpdatePercpu(uint32_t k, uint64_t v) {
    std::vector<uint64_t> slots(map_->nr_cpus());
    for (uint32_t c = 0; c < slots.size(); ++c) slots[c] = v + c;
    return MapUpdateElem(fd_, &k, slots.data(), BPF_ANY);
  }
  long Walk(Walker* w, uint64_t flags = 0) {
    return for_each_(*map_, &Walker::Call, w, flags);
  }
  // The get_next_key walk from the start.
  std::vector<uint32_t> NextKeyOrder() { return NextKeyWalk<uint32_t>(fd_); }

  int fd_ = -1;
  std::shared_ptr<Map> map_;
  long (*for_each_)(Map&, ForEachCallback, void*, uint64_t) = nullptr;
};

TEST_F(ForEachTest, ArrayWalksEveryIndexInOrder) {
  Create(BPF_MAP_TYPE_ARRAY, 5);
  for (uint32_t i = 0; i < 5; ++i) ASSERT_EQ(Update(i, 10 * i + 1), 0);
  Walker w;
  EXPECT_EQ(Walk(&w), 5);
  ASSERT_EQ(w.visits.size(), 5u);
  for (uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(w.visits[i].key, i);
    EXPECT_EQ(w.visits[i].value, 10 * i + 1);
  }
}

TEST_F(ForEachTest, ArrayStopCountsTheStoppingElement) {
  Create(BPF_MAP_TYPE_ARRAY, 3);
  // prog_tests/for_each.c test_array_map: values i + 1, stop at key 1.
  uint64_t sum = 0;
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(Update(i, i + 1), 0);
  Walker w;
  w.decide = [&sum](uint32_t key, uint64_t* v) -> uint64_t {
    sum += *v;
    return key == 1;
  };
  EXPECT_EQ(Walk(&w), 2);
  EXPECT_EQ(sum, 3u);
}

TEST_F(ForEachTest, ArrayCallbackWritesTheValue) {
  Create(BPF_MAP_TYPE_ARRAY, 4);
  Walker w;
  w.decide = [](uint32_t key, uint64_t* v) -> uint64_t {
    *v = key * 7;
    return 0;
  };
  EXPECT_EQ(Walk(&w), 4);
  for (uint32_t i = 0; i < 4; ++i) {
    uint64_t v = 0;
    ASSERT_EQ(MapLookupElem(fd_, &i, &v), 0);
    EXPECT_EQ(v, i * 7);
  }
}

TEST_F(ForEachTest, FlagsAreEinvalBeforeAnyCall) {
  for (uint32_t type : {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY,
                        BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH,
                        BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    SCOPED_TRACE(type);
    Create(type, 4);
    if (type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH) {
      ASSERT_EQ(Update(1, 1), 0);
    } else if (type != BPF_MAP_TYPE_ARRAY) {
      ASSERT_EQ(UpdatePercpu(1, 1), 0);
    }
    Walker w;
    EXPECT_EQ(Walk(&w, 1), -EINVAL);
    EXPECT_EQ(Walk(&w, uint64_t{1} << 63), -EINVAL);
    EXPECT_TRUE(w.visits.empty());
    CloseFd(fd_);
    fd_ = -1;
  }
}

TEST_F(ForEachTest, PercpuArrayGivesTheCurrentCpusSlot) {
  SetNumPossibleCpus(4);
  Create(BPF_MAP_TYPE_PERCPU_ARRAY, 2);
  SetNumPossibleCpus(0);
  ASSERT_EQ(UpdatePercpu(0, 100), 0);
  ASSERT_EQ(UpdatePercpu(1, 200), 0);
  for (int cpu = 0; cpu < 4; ++cpu) {
    ScopedCpu pin(cpu);
    Walker w;
    EXPECT_EQ(Walk(&w), 2);
    ASSERT_EQ(w.visits.size(), 2u);
    EXPECT_EQ(w.visits[0].value, 100u + cpu);
    EXPECT_EQ(w.visits[1].value, 200u + cpu);
  }
}

// The kernel's order: buckets 0..n_buckets-1 (hash & (n_buckets - 1), seed
// 0 with BPF_F_ZERO_SEED), each chain newest first (head insertion).
std::vector<uint32_t> BucketWalkOrder(const std::vector<uint32_t>& inserted,
                                      uint32_t n_buckets) {
  std::vector<uint32_t> order;
  for (uint32_t b = 0; b < n_buckets; ++b) {
    for (auto it = inserted.rbegin(); it != inserted.rend(); ++it) {
      const uint32_t k = *it;
      if ((HtabMapHash(&k, 4, 0) & (n_buckets - 1)) == b) order.push_back(k);
    }
  }
  return order;
}

TEST_F(ForEachTest, HashFamiliesWalkTheBuckets) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH,
                        BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    SCOPED_TRACE(type);
    const bool lru =
        type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    Create(type, 64, BPF_F_ZERO_SEED | (lru ? BPF_F_NO_COMMON_LRU : 0));
    const bool percpu = type == BPF_MAP_TYPE_PERCPU_HASH ||
                        type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    std::vector<uint32_t> inserted;
    for (uint32_t i = 0; i < 40; ++i) {
      const uint32_t k = i * 37 + 5;
      ASSERT_EQ(percpu ? UpdatePercpu(k, k) : Update(k, k), 0);
      inserted.push_back(k);
    }
    // The LRU types may have evicted some (per-CPU LRU lists): the kernel
    // order is that of the keys present.
    std::vector<uint32_t> present;
    for (uint32_t k : inserted) {
      std::vector<uint64_t> v(map_->nr_cpus());
      if (MapLookupElem(fd_, &k, v.data()) == 0) present.push_back(k);
    }
    if (!lru) EXPECT_EQ(present.size(), 40u);
    inserted = present;
    ScopedCpu pin(0);
    Walker w;
    EXPECT_EQ(Walk(&w), static_cast<long>(present.size()));
    const uint32_t n_buckets =
        std::dynamic_pointer_cast<HashMap>(map_)->n_buckets();
    EXPECT_EQ(w.Keys(), BucketWalkOrder(inserted, n_buckets));
    EXPECT_EQ(w.Keys(), NextKeyOrder());
    for (const Visit& v : w.visits) EXPECT_EQ(v.value, v.key);
    CloseFd(fd_);
    fd_ = -1;
  }
}

TEST_F(ForEachTest, HashStopAndEmpty) {
  Create(BPF_MAP_TYPE_HASH, 16);
  Walker empty;
  EXPECT_EQ(Walk(&empty), 0);
  for (uint32_t k = 1; k <= 10; ++k) ASSERT_EQ(Update(k, k), 0);
  const std::vector<uint32_t> order = NextKeyOrder();
  Walker w;
  w.decide = [&order](uint32_t key, uint64_t*) -> uint64_t {
    return key == order[3];
  };
  EXPECT_EQ(Walk(&w), 4);
  EXPECT_EQ(w.Keys(), std::vector<uint32_t>(order.begin(), order.begin() + 4));
}

TEST_F(ForEachTest, PercpuHashGivesTheCurrentCpusSlot) {
  SetNumPossibleCpus(3);
  Create(BPF_MAP_TYPE_PERCPU_HASH, 4);
  SetNumPossibleCpus(0);
  ASSERT_EQ(UpdatePercpu(9, 1000), 0);
  for (int cpu = 0; cpu < 3; ++cpu) {
    ScopedCpu pin(cpu);
    Walker w;
    EXPECT_EQ(Walk(&w), 1);
    ASSERT_EQ(w.visits.size(), 1u);
    EXPECT_EQ(w.visits[0].key, 9u);
    EXPECT_EQ(w.visits[0].value, 1000u + cpu);
  }
}

// for_each_hash_map_elem.c: the callback deletes the element it visits;
// every element is still visited and the map ends empty.
TEST_F(ForEachTest, HashCallbackDeletesTheVisitedElement) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    SCOPED_TRACE(type);
    Create(type, 8,
           BPF_F_ZERO_SEED |
               (type == BPF_MAP_TYPE_LRU_HASH ? BPF_F_NO_COMMON_LRU : 0));
    for (uint32_t k = 0; k < 8; ++k) ASSERT_EQ(Update(k, k), 0);
    const std::vector<uint32_t> order = NextKeyOrder();
    Walker w;
    Map* m = map_.get();
    w.decide = [m](uint32_t key, uint64_t*) -> uint64_t {
      EXPECT_EQ(m->DeleteElemProg(&key), 0);
      return 0;
    };
    EXPECT_EQ(Walk(&w), static_cast<long>(order.size()));
    EXPECT_EQ(w.Keys(), order);
    EXPECT_TRUE(NextKeyOrder().empty());
    CloseFd(fd_);
    fd_ = -1;
  }
}

// Three keys of one bucket (found with the zero-seed hash).
std::vector<uint32_t> KeysOfBucket(uint32_t bucket, uint32_t n_buckets,
                                   size_t n) {
  std::vector<uint32_t> same;
  for (uint32_t k = 0; same.size() < n; ++k) {
    if ((HtabMapHash(&k, 4, 0) & (n_buckets - 1)) == bucket) same.push_back(k);
  }
  return same;
}

// Chain same[2] -> same[1] -> same[0]. Visiting same[2], the callback
// deletes same[1], the successor the walk has already read: it is still
// visited, as hlist_nulls_for_each_entry_safe visits it.
TEST_F(ForEachTest, HashDeletedSuccessorIsStillVisited) {
  Create(BPF_MAP_TYPE_HASH, 4);  // 4 buckets
  const std::vector<uint32_t> same = KeysOfBucket(0, 4, 3);
  for (uint32_t k : same) ASSERT_EQ(Update(k, k), 0);
  Map* m = map_.get();
  Walker w;
  w.decide = [&](uint32_t key, uint64_t*) -> uint64_t {
    if (key == same[2]) EXPECT_EQ(m->DeleteElemProg(&same[1]), 0);
    return 0;
  };
  EXPECT_EQ(Walk(&w), 3);
  EXPECT_EQ(w.Keys(), (std::vector<uint32_t>{same[2], same[1], same[0]}));
  EXPECT_EQ(NextKeyOrder(), (std::vector<uint32_t>{same[2], same[0]}));
}

// A key the callback inserts into the bucket being walked goes to the
// chain's head, behind the walk: not visited. One inserted into a later
// bucket is.
TEST_F(ForEachTest, HashInsertsBehindTheWalkAreNotVisited) {
  Create(BPF_MAP_TYPE_HASH, 8);  // 8 buckets
  const std::vector<uint32_t> first = KeysOfBucket(2, 8, 2);
  const uint32_t later = KeysOfBucket(5, 8, 1)[0];
  ASSERT_EQ(Update(first[0], 0), 0);
  Map* m = map_.get();
  Walker w;
  w.decide = [&](uint32_t key, uint64_t*) -> uint64_t {
    if (key == first[0]) {
      const uint64_t v = 1;
      EXPECT_EQ(m->UpdateElemProg(&first[1], &v, BPF_NOEXIST), 0);
      EXPECT_EQ(m->UpdateElemProg(&later, &v, BPF_NOEXIST), 0);
    }
    return 0;
  };
  EXPECT_EQ(Walk(&w), 2);
  EXPECT_EQ(w.Keys(), (std::vector<uint32_t>{first[0], later}));
}

// A deleted element further down the chain than the next one is not
// visited: the unlink rewrote its predecessor's next pointer.
TEST_F(ForEachTest, HashDeletedLaterElementIsSkipped) {
  Create(BPF_MAP_TYPE_HASH, 4);
  const std::vector<uint32_t> same = KeysOfBucket(1, 4, 3);
  for (uint32_t k : same) ASSERT_EQ(Update(k, k), 0);
  Map* m = map_.get();
  Walker w;
  w.decide = [&](uint32_t key, uint64_t*) -> uint64_t {
    if (key == same[2]) EXPECT_EQ(m->DeleteElemProg(&same[0]), 0);
    return 0;
  };
  EXPECT_EQ(Walk(&w), 2);
  EXPECT_EQ(w.Keys(), (std::vector<uint32_t>{same[2], same[1]}));
}

// The kernel's ops tables name map_for_each_callback for array_map_ops,
// percpu_array_map_ops and the four htab ops only; the verifier refuses the
// helper on every other type.
TEST_F(ForEachTest, OnlyArrayAndHashFamiliesHaveTheOp) {
  for (uint32_t type = 0; type < 64; ++type) {
    const MapOps* ops = MapOpsFor(type);
    if (ops == nullptr) continue;
    const bool expected =
        type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
        type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
        type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    EXPECT_EQ(ops->for_each_callback != nullptr, expected) << type;
  }
}

}  // namespace
}  // namespace bpfemu
