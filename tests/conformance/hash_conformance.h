// SPDX-License-Identifier: Apache-2.0
// File: hash_conformance.h
//
// HashConformance: element commands on BPF_MAP_TYPE_HASH, preallocated and
// BPF_F_NO_PREALLOC (the suite runs each case for both; TestFlags() picks
// them). Mirrors kernel/bpf/hashtab.c; expected values were measured on 6.18
// (kernel/bpf/ sources; measured on 6.18).

#ifndef BPFEMU_TESTS_CONFORMANCE_HASH_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_HASH_CONFORMANCE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class HashConformance : public ConformanceTest<B> {
 protected:
  static constexpr uint32_t kPreallocModes[] = {0, BPF_F_NO_PREALLOC};

  // A u32 -> u64 hash with ZERO_SEED (deterministic order) and `flags`.
  int MakeHash(uint32_t max_entries, uint32_t flags) {
    return this->MustCreate(
        Attr(BPF_MAP_TYPE_HASH, 4, 8, max_entries, flags | BPF_F_ZERO_SEED));
  }
};
TYPED_TEST_SUITE_P(HashConformance);

using U64Map = std::map<uint32_t, uint64_t>;

// lookup of a missing key -> ENOENT; update flags on a missing key:
// BPF_ANY and BPF_NOEXIST insert, BPF_EXIST -> ENOENT.
TYPED_TEST_P(HashConformance, UpdateFlagsOnMissingKey) {
  for (uint32_t mode : this->kPreallocModes) {
    int fd = this->MakeHash(4, mode);
    uint64_t v;
    EXPECT_EQ(this->Lookup(fd, 1u, &v), -ENOENT);
    EXPECT_EQ(this->Update(fd, 1u, uint64_t{10}, BPF_ANY), 0);
    EXPECT_EQ(this->Update(fd, 2u, uint64_t{20}, BPF_NOEXIST), 0);
    EXPECT_EQ(this->Update(fd, 3u, uint64_t{30}, BPF_EXIST), -ENOENT);
    EXPECT_EQ((this->template Contents<uint32_t, uint64_t>(fd)),
              (U64Map{{1, 10}, {2, 20}}));
  }
}

// On an existing key: BPF_ANY and BPF_EXIST replace, BPF_NOEXIST -> EEXIST.
TYPED_TEST_P(HashConformance, UpdateFlagsOnExistingKey) {
  for (uint32_t mode : this->kPreallocModes) {
    int fd = this->MakeHash(4, mode);
    ASSERT_EQ(this->Update(fd, 7u, uint64_t{1}, BPF_NOEXIST), 0);
    EXPECT_EQ(this->Update(fd, 7u, uint64_t{2}, BPF_NOEXIST), -EEXIST);
    EXPECT_EQ(this->Update(fd, 7u, uint64_t{3}, BPF_EXIST), 0);
    EXPECT_EQ(this->Update(fd, 7u, uint64_t{4}, BPF_ANY), 0);
    EXPECT_EQ((this->template Contents<uint32_t, uint64_t>(fd)),
              (U64Map{{7, 4}}));
  }
}

// Any other update flag is EINVAL (checked before the key is looked up);
// BPF_F_LOCK needs a spin lock in the value, which this map has not.
TYPED_TEST_P(HashConformance, UpdateUnknownFlagsAreEinval) {
  int fd = this->MakeHash(4, 0);
  ASSERT_EQ(this->Update(fd, 1u, uint64_t{1}), 0);
  for (uint64_t f :
       {uint64_t{3}, uint64_t{5}, uint64_t{6}, uint64_t{7}, uint64_t{8},
        uint64_t{16}, uint64_t{1} << 32, uint64_t{BPF_F_LOCK}}) {
    EXPECT_EQ(this->Update(fd, 1u, uint64_t{9}, f), -EINVAL) << f;
    EXPECT_EQ(this->Update(fd, 2u, uint64_t{9}, f), -EINVAL) << f;
  }
  EXPECT_EQ((this->template Contents<uint32_t, uint64_t>(fd)),
            (U64Map{{1, 1}}));
}

// Lookup accepts flags 0 and BPF_F_LOCK only; without a spin lock even
// BPF_F_LOCK is EINVAL.
TYPED_TEST_P(HashConformance, LookupFlags) {
  int fd = this->MakeHash(4, 0);
  ASSERT_EQ(this->Update(fd, 1u, uint64_t{1}), 0);
  uint64_t v;
  for (uint64_t f :
       {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{5}, uint64_t{8},
        uint64_t{16}, uint64_t{1} << 32, uint64_t{BPF_F_LOCK}}) {
    EXPECT_EQ(this->Lookup(fd, 1u, &v, f), -EINVAL) << f;
  }
  EXPECT_EQ(this->Lookup(fd, 1u, &v, 0), 0);
}

TYPED_TEST_P(HashConformance, DeleteExistingAndMissing) {
  for (uint32_t mode : this->kPreallocModes) {
    int fd = this->MakeHash(4, mode);
    ASSERT_EQ(this->Update(fd, 1u, uint64_t{1}), 0);
    ASSERT_EQ(this->Update(fd, 2u, uint64_t{2}), 0);
    EXPECT_EQ(this->Delete(fd, 1u), 0);
    EXPECT_EQ(this->Delete(fd, 1u), -ENOENT);
    EXPECT_EQ(this->Delete(fd, 99u), -ENOENT);
    EXPECT_EQ((this->template Contents<uint32_t, uint64_t>(fd)),
              (U64Map{{2, 2}}));
  }
}

// get_next_key: NULL on an empty map -> ENOENT; a walk visits every key once;
// a missing key restarts at the first key; the last key -> ENOENT.
TYPED_TEST_P(HashConformance, GetNextKeyWalk) {
  int fd = this->MakeHash(64, 0);
  uint32_t next;
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), -ENOENT);
  for (uint32_t k = 0; k < 40; ++k) ASSERT_EQ(this->Update(fd, k, k), 0);
  std::vector<uint32_t> keys = this->template Keys<uint32_t>(fd);
  ASSERT_EQ(keys.size(), 40u);
  EXPECT_EQ(std::set<uint32_t>(keys.begin(), keys.end()).size(), 40u);
  uint32_t missing = 1000;
  ASSERT_EQ(this->b().GetNextKey(fd, &missing, &next), 0);
  EXPECT_EQ(next, keys.front());
  EXPECT_EQ(this->b().GetNextKey(fd, &keys.back(), &next), -ENOENT);
}

// ZERO_SEED order is the kernel's bucket order: HASH, key_size 4, 64
// buckets, keys 0..39 inserted ascending (reference measured on 6.18).
TYPED_TEST_P(HashConformance, ZeroSeedIterationOrder) {
  for (uint32_t mode : this->kPreallocModes) {
    int fd = this->MakeHash(64, mode);
    for (uint32_t k = 0; k < 40; ++k) ASSERT_EQ(this->Update(fd, k, k), 0);
    std::vector<uint32_t> keys = this->template Keys<uint32_t>(fd, 10);
    EXPECT_EQ(keys,
              (std::vector<uint32_t>{35, 37, 33, 27, 18, 15, 2, 8, 38, 9}));
  }
}

// Keys 0, 26, 35 share bucket 0 of an 8-bucket map. A plain update of an
// existing key moves it to the bucket head; a failed update moves nothing.
TYPED_TEST_P(HashConformance, ReplaceMovesKeyToBucketHead) {
  for (uint32_t mode : this->kPreallocModes) {
    int fd = this->MakeHash(8, mode);
    for (uint32_t k : {0u, 26u, 35u}) ASSERT_EQ(this->Update(fd, k, k), 0);
    EXPECT_EQ(this->template Keys<uint32_t>(fd),
              (std::vector<uint32_t>{35, 26, 0}));
    ASSERT_EQ(this->Update(fd, 0u, uint64_t{5}, BPF_EXIST), 0);
    EXPECT_EQ(this->template Keys<uint32_t>(fd),
              (std::vector<uint32_t>{0, 35, 26}));
    ASSERT_EQ(this->Update(fd, 35u, uint64_t{6}, BPF_NOEXIST), -EEXIST);
    EXPECT_EQ(this->template Keys<uint32_t>(fd),
              (std::vector<uint32_t>{0, 35, 26}));
  }
}

// Deleting the key a walk stands on makes get_next_key restart from the
// first key (it is now missing).
TYPED_TEST_P(HashConformance, GetNextKeyAfterDeleteRestarts) {
  int fd = this->MakeHash(16, 0);
  for (uint32_t k = 0; k < 10; ++k) ASSERT_EQ(this->Update(fd, k, k), 0);
  std::vector<uint32_t> keys = this->template Keys<uint32_t>(fd);
  ASSERT_EQ(this->Delete(fd, keys[3]), 0);
  uint32_t next;
  ASSERT_EQ(this->b().GetNextKey(fd, &keys[3], &next), 0);
  EXPECT_EQ(next, keys[0]);
  ASSERT_EQ(this->b().GetNextKey(fd, &keys[2], &next), 0);
  EXPECT_EQ(next, keys[4]);
}

// Capacity is exactly max_entries live keys. Precedence on a full map: flags,
// then EEXIST/ENOENT, then E2BIG. Replacing never fails; a delete frees one
// slot.
TYPED_TEST_P(HashConformance, FullMapIsE2big) {
  for (uint32_t mode : this->kPreallocModes) {
    SCOPED_TRACE(mode);
    int fd = this->MakeHash(10, mode);
    for (uint32_t k = 0; k < 10; ++k) {
      ASSERT_EQ(this->Update(fd, k, k, BPF_NOEXIST), 0);
    }
    EXPECT_EQ(this->Update(fd, 10u, uint64_t{0}, BPF_ANY), -E2BIG);
    EXPECT_EQ(this->Update(fd, 10u, uint64_t{0}, BPF_NOEXIST), -E2BIG);
    EXPECT_EQ(this->Update(fd, 10u, uint64_t{0}, BPF_EXIST), -ENOENT);
    EXPECT_EQ(this->Update(fd, 3u, uint64_t{0}, BPF_NOEXIST), -EEXIST);
    EXPECT_EQ(this->Update(fd, 10u, uint64_t{0}, 4), -EINVAL);
    for (uint32_t i = 0; i < 30; ++i) {
      ASSERT_EQ(this->Update(fd, i % 10, uint64_t{100} + i,
                             i % 2 ? BPF_EXIST : BPF_ANY),
                0);
    }
    EXPECT_EQ(this->Update(fd, 11u, uint64_t{0}), -E2BIG);
    ASSERT_EQ(this->Delete(fd, 4u), 0);
    EXPECT_EQ(this->Update(fd, 12u, uint64_t{12}), 0);
    EXPECT_EQ(this->Update(fd, 13u, uint64_t{13}), -E2BIG);
    U64Map expected;
    for (uint32_t k = 0; k < 10; ++k) expected[k] = 120 + k;
    expected.erase(4);
    expected[12] = 12;
    EXPECT_EQ((this->template Contents<uint32_t, uint64_t>(fd)), expected);
  }
}

// The same boundary with operations alternating between CPU 0 and CPU 1:
// per-CPU free lists and spare elements never change capacity.
TYPED_TEST_P(HashConformance, FullMapFromTwoCpus) {
  if (this->b().NumPossibleCpus() < 2) GTEST_SKIP() << "needs 2 CPUs";
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH}) {
    for (uint32_t mode : this->kPreallocModes) {
      SCOPED_TRACE(testing::Message() << "type " << type << " mode " << mode);
      const uint32_t vbytes =
          type == BPF_MAP_TYPE_HASH ? 8 : 8 * this->b().NumPossibleCpus();
      int fd = this->MustCreate(Attr(type, 4, 8, 10, mode | BPF_F_ZERO_SEED));
      std::vector<uint8_t> v(vbytes, 1);
      auto on = [&](int cpu, uint32_t k, uint64_t flags) {
        EXPECT_EQ(this->b().PinCpu(cpu), 0);
        return this->b().Update(fd, &k, v.data(), flags);
      };
      for (uint32_t k = 0; k < 10; ++k) ASSERT_EQ(on(k % 2, k, BPF_NOEXIST), 0);
      EXPECT_EQ(on(0, 10, BPF_ANY), -E2BIG);
      EXPECT_EQ(on(1, 10, BPF_ANY), -E2BIG);
      for (uint32_t i = 0; i < 30; ++i)
        ASSERT_EQ(on(i % 2, i % 10, BPF_EXIST), 0);
      EXPECT_EQ(on(1, 11, BPF_NOEXIST), -E2BIG);
      this->b().PinCpu(0);
      ASSERT_EQ(this->Delete(fd, 3u), 0);
      ASSERT_EQ(this->Delete(fd, 4u), 0);
      EXPECT_EQ(on(1, 12, BPF_ANY), 0);  // freed on CPU 0, taken on CPU 1
      EXPECT_EQ(on(1, 13, BPF_ANY), 0);
      EXPECT_EQ(on(0, 14, BPF_ANY), -E2BIG);
      EXPECT_EQ(this->template Keys<uint32_t>(fd).size(), 10u);
      this->b().PinCpu(-1);
    }
  }
}

// Two threads on CPU 0 and CPU 1 insert disjoint keys as fast as they can:
// max_entries inserts succeed, every other one fails with E2BIG. Without
// preallocation the kernel checks the count (is_map_full) and raises it
// (inc_elem_count) in two steps, each thread under its own bucket's lock
// (kernel/bpf/hashtab.c alloc_htab_elem), so two inserts that check at
// max_entries - 1 both succeed: up to one element more than max_entries
// with two inserting threads (seen on 6.18: 501 of 500).
TYPED_TEST_P(HashConformance, ConcurrentInsertsStopAtMaxEntries) {
  if (this->b().NumPossibleCpus() < 2) GTEST_SKIP() << "needs 2 CPUs";
  for (uint32_t mode : this->kPreallocModes) {
    SCOPED_TRACE(mode);
    const uint32_t kMax = 500;
    int fd = this->MakeHash(kMax, mode);
    std::atomic<uint32_t> ok{0}, e2big{0}, other{0};
    auto worker = [&](int cpu) {
      this->b().PinCpu(cpu);
      for (uint32_t i = 0; i < kMax; ++i) {
        uint32_t k = i * 2 + static_cast<uint32_t>(cpu);
        uint64_t v = k;
        int rc = this->b().Update(fd, &k, &v, BPF_NOEXIST);
        (rc == 0 ? ok : rc == -E2BIG ? e2big : other)++;
      }
      this->b().PinCpu(-1);
    };
    std::thread t0(worker, 0), t1(worker, 1);
    t0.join();
    t1.join();
    const uint32_t most = mode == BPF_F_NO_PREALLOC ? kMax + 1 : kMax;
    EXPECT_GE(ok.load(), kMax);
    EXPECT_LE(ok.load(), most);
    EXPECT_EQ(e2big.load(), 2 * kMax - ok.load());
    EXPECT_EQ(other.load(), 0u);
    EXPECT_EQ(this->template Keys<uint32_t>(fd).size(), ok.load());
  }
}

TYPED_TEST_P(HashConformance, LookupAndDelete) {
  for (uint32_t mode : this->kPreallocModes) {
    int fd = this->MakeHash(4, mode);
    ASSERT_EQ(this->Update(fd, 5u, uint64_t{55}), 0);
    uint32_t k = 5;
    uint64_t v = 0;
    EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), 0);
    EXPECT_EQ(v, 55u);
    EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -ENOENT);
    ASSERT_EQ(this->Update(fd, 5u, uint64_t{56}), 0);
    EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 1), -EINVAL);
    EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, BPF_F_LOCK), -EINVAL);
    EXPECT_EQ((this->template Contents<uint32_t, uint64_t>(fd)),
              (U64Map{{5, 56}}));
  }
}

// Values are exactly value_size bytes: a 5-byte value writes 5 bytes of the
// caller's buffer and no more.
TYPED_TEST_P(HashConformance, OddValueSize) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 5, 4));
  const uint8_t in[5] = {1, 2, 3, 4, 5};
  uint32_t k = 1;
  ASSERT_EQ(this->b().Update(fd, &k, in, BPF_ANY), 0);
  uint8_t out[8];
  std::memset(out, 0xee, sizeof(out));
  ASSERT_EQ(this->b().Lookup(fd, &k, out, 0), 0);
  EXPECT_EQ(std::memcmp(out, in, 5), 0);
  EXPECT_EQ(out[5], 0xee);
  EXPECT_EQ(out[7], 0xee);
}

// Keys whose size is not a multiple of 4 (jhash over bytes) and larger keys:
// all operations work on the raw key bytes, padding included.
TYPED_TEST_P(HashConformance, OddKeySizes) {
  for (uint32_t ks : {1u, 3u, 5u, 7u, 12u, 13u, 24u}) {
    SCOPED_TRACE(ks);
    int fd =
        this->MustCreate(Attr(BPF_MAP_TYPE_HASH, ks, 8, 64, BPF_F_ZERO_SEED));
    std::set<std::vector<uint8_t>> inserted;
    for (uint32_t i = 0; i < 40; ++i) {
      std::vector<uint8_t> key(ks);
      for (uint32_t j = 0; j < ks; ++j)
        key[j] = static_cast<uint8_t>(i * 31 + j);
      if (!inserted.insert(key).second) continue;
      uint64_t v = i;
      ASSERT_EQ(this->b().Update(fd, key.data(), &v, BPF_NOEXIST), 0);
    }
    std::set<std::vector<uint8_t>> seen;
    std::vector<uint8_t> cur(ks), next(ks);
    const void* prev = nullptr;
    while (this->b().GetNextKey(fd, prev, next.data()) == 0) {
      seen.insert(next);
      cur = next;
      prev = cur.data();
    }
    EXPECT_EQ(seen, inserted);
  }
}

REGISTER_TYPED_TEST_SUITE_P(HashConformance, UpdateFlagsOnMissingKey,
                            UpdateFlagsOnExistingKey,
                            UpdateUnknownFlagsAreEinval, LookupFlags,
                            DeleteExistingAndMissing, GetNextKeyWalk,
                            ZeroSeedIterationOrder, ReplaceMovesKeyToBucketHead,
                            GetNextKeyAfterDeleteRestarts, FullMapIsE2big,
                            LookupAndDelete, OddValueSize, OddKeySizes,
                            FullMapFromTwoCpus,
                            ConcurrentInsertsStopAtMaxEntries);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_HASH_CONFORMANCE_H_
