// SPDX-License-Identifier: Apache-2.0
// File: lru_conformance.h
//
// LruConformance: which keys LRU_HASH and LRU_PERCPU_HASH keep, with the
// common LRU and with BPF_F_NO_COMMON_LRU. The Sanity cases re-express the
// scenarios of the kernel's tools/testing/selftests/bpf/test_lru_map.c
// (6.12 version: refill target derived from the map size); the others are
// the digest's measurements on 6.18 (kernel/bpf/ sources; measured on 6.18).
// Every case pins the test thread to CPU 0 (sched_next_online(0) in the
// selftest); "ref-lookup" is a lookup from a BPF program, which sets the
// reference bit, where a syscall lookup does not.

#ifndef BPFEMU_TESTS_CONFORMANCE_LRU_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_LRU_CONFORMANCE_H_

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class LruConformance : public ConformanceTest<B> {
 protected:
  using KeySet = std::set<uint64_t>;
  struct Mode {
    uint32_t type;
    uint32_t flags;
  };
  static constexpr Mode kModes[] = {
      {BPF_MAP_TYPE_LRU_HASH, 0},
      {BPF_MAP_TYPE_LRU_PERCPU_HASH, 0},
      {BPF_MAP_TYPE_LRU_HASH, BPF_F_NO_COMMON_LRU},
      {BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_F_NO_COMMON_LRU},
  };
  static constexpr uint32_t kLocalFreeTarget = 128;  // selftest tgt_free
  static constexpr uint32_t kPercpuFreeTarget = 4;

  void SetUp() override {
    ConformanceTest<B>::SetUp();
    if (this->IsSkipped()) return;
    ncpu_ = static_cast<uint32_t>(this->b().NumPossibleCpus());
    ASSERT_EQ(this->b().PinCpu(0), 0);
  }
  void TearDown() override {
    this->b().PinCpu(-1);
    ConformanceTest<B>::TearDown();
  }

  // u64 keys and values, as in the selftest.
  int Make(Mode m, uint32_t max_entries, uint32_t extra_flags = 0) {
    int fd = this->MustCreate(
        Attr(m.type, 8, 8, max_entries, m.flags | extra_flags));
    types_[fd] = m.type;
    return fd;
  }
  int Put(int fd, uint64_t key, uint64_t flags, uint64_t value = 1234) {
    std::vector<uint64_t> v(Slots(fd), value);
    return this->b().Update(fd, &key, v.data(), flags);
  }
  int Get(int fd, uint64_t key, uint64_t* value = nullptr) {
    std::vector<uint64_t> v(Slots(fd));
    int rc = this->b().Lookup(fd, &key, v.data(), 0);
    if (value != nullptr) *value = v[0];
    return rc;
  }
  int Ref(int fd, uint64_t key) {
    uint64_t v;
    return this->b().ProgLookup(fd, &key, 8, &v);
  }
  KeySet Survivors(int fd) {
    std::vector<uint64_t> k = this->template Keys<uint64_t>(fd);
    return KeySet(k.begin(), k.end());
  }
  static KeySet Range(uint64_t first, uint64_t last) {
    KeySet s;
    for (uint64_t k = first; k <= last; ++k) s.insert(k);
    return s;
  }
  static bool Common(Mode m) { return !(m.flags & BPF_F_NO_COMMON_LRU); }
  // __map_size(tgt): the selftest's map size for a refill target.
  uint32_t MapSize(uint32_t tgt) const { return tgt * ncpu_ * 2; }

  uint32_t ncpu_ = 1;

 private:
  size_t Slots(int fd) {
    return types_[fd] == BPF_MAP_TYPE_LRU_PERCPU_HASH ? ncpu_ : 1;
  }
  std::map<int, uint32_t> types_;
};
TYPED_TEST_SUITE_P(LruConformance);

// test_lru_sanity0: flag errors, then with two slots and key 1 referenced,
// inserting key 3 evicts key 2; lookup_and_delete returns the value.
TYPED_TEST_P(LruConformance, Sanity0) {
  for (auto m : this->kModes) {
    SCOPED_TRACE(testing::Message() << m.type << "/" << m.flags);
    int fd = this->Make(m, this->Common(m) ? 2 : 2 * this->ncpu_);
    EXPECT_EQ(this->Put(fd, 1, BPF_NOEXIST), 0);
    EXPECT_EQ(this->Put(fd, 1, BPF_NOEXIST), -EEXIST);
    EXPECT_EQ(this->Put(fd, 1, uint64_t(-1)), -EINVAL);
    EXPECT_EQ(this->Get(fd, 2), -ENOENT);
    EXPECT_EQ(this->Put(fd, 2, BPF_EXIST), -ENOENT);
    EXPECT_EQ(this->Put(fd, 2, BPF_NOEXIST), 0);
    EXPECT_EQ(this->Get(fd, 3), -ENOENT);
    EXPECT_EQ(this->Ref(fd, 1), 0);
    EXPECT_EQ(this->Put(fd, 3, BPF_NOEXIST), 0);
    EXPECT_EQ(this->Get(fd, 2), -ENOENT);
    std::vector<uint64_t> v(this->ncpu_);
    uint64_t k = 1;
    EXPECT_EQ(this->b().LookupAndDelete(fd, &k, v.data(), 0), 0);
    EXPECT_EQ(v[0], 1234u);
    EXPECT_EQ(this->Survivors(fd), typename TestFixture::KeySet({3}));
  }
}

// test_lru_sanity1 (common LRU): referenced keys survive, unreferenced
// older keys are recycled first.
TYPED_TEST_P(LruConformance, Sanity1) {
  const uint32_t tgt = this->kLocalFreeTarget, batch = tgt / 2;
  const uint32_t n = this->MapSize(tgt);
  for (auto m : this->kModes) {
    if (!this->Common(m)) continue;
    SCOPED_TRACE(m.type);
    int fd = this->Make(m, n + batch);
    for (uint64_t k = 1; k <= n; ++k)
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    for (uint64_t k = 1; k <= batch; ++k) ASSERT_EQ(this->Ref(fd, k), 0);
    for (uint64_t k = n + 1; k <= 2 * n; ++k) {
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    }
    typename TestFixture::KeySet want = this->Range(1, batch);
    for (uint64_t k : this->Range(n + 1, 2 * n)) want.insert(k);
    EXPECT_EQ(this->Survivors(fd), want);
  }
}

// test_lru_sanity2 (common LRU): an update pops a node first, and that pop
// evicts the oldest key, which may be the key being updated.
TYPED_TEST_P(LruConformance, Sanity2) {
  const uint32_t tgt = this->kLocalFreeTarget, batch = tgt / 2;
  const uint32_t n = this->MapSize(tgt);
  for (auto m : this->kModes) {
    if (!this->Common(m)) continue;
    SCOPED_TRACE(m.type);
    int fd = this->Make(m, n + batch);
    for (uint64_t k = 1; k <= n; ++k)
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    if (m.type == BPF_MAP_TYPE_LRU_PERCPU_HASH) {
      EXPECT_EQ(this->Put(fd, 1, BPF_NOEXIST), 0);
      EXPECT_EQ(this->Delete(fd, uint64_t{1}), 0);
    } else {
      EXPECT_EQ(this->Put(fd, 1, BPF_EXIST), -ENOENT);
    }
    for (uint64_t k = 1; k <= batch; ++k) {
      EXPECT_EQ(this->Get(fd, k), -ENOENT);
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST, 4321), 0);
      EXPECT_EQ(this->Ref(fd, k), 0);
    }
    for (uint64_t k = n + 1; k <= n + batch; ++k) {
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    }
    for (uint64_t k = n + batch + 1; k <= 2 * n + batch; ++k) {
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    }
    typename TestFixture::KeySet want = this->Range(1, batch);
    for (uint64_t k : this->Range(n + batch + 1, 2 * n + batch)) want.insert(k);
    EXPECT_EQ(this->Survivors(fd), want);
  }
}

// test_lru_sanity3 (common LRU): active/inactive rotation. Fill, reference
// all but the last batch, insert a batch: the unreferenced ones go.
TYPED_TEST_P(LruConformance, Sanity3) {
  const uint32_t tgt = this->kLocalFreeTarget;
  const uint32_t size = tgt * 2;
  const uint32_t batch = (tgt / this->ncpu_) / 2;  // __tgt_size(tgt_free)
  for (auto m : this->kModes) {
    if (!this->Common(m)) continue;
    SCOPED_TRACE(m.type);
    int fd = this->Make(m, size);
    for (uint64_t k = 1; k <= size; ++k)
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    for (uint64_t k = 1; k <= size - batch; ++k) ASSERT_EQ(this->Ref(fd, k), 0);
    for (uint64_t k = size + 1; k <= size + batch; ++k) {
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    }
    typename TestFixture::KeySet want = this->Range(1, size - batch);
    for (uint64_t k : this->Range(size + 1, size + batch)) want.insert(k);
    EXPECT_EQ(this->Survivors(fd), want);
  }
}

// test_lru_sanity4: deletes free slots, so nothing is evicted.
TYPED_TEST_P(LruConformance, Sanity4) {
  for (auto m : this->kModes) {
    SCOPED_TRACE(testing::Message() << m.type << "/" << m.flags);
    const uint32_t tgt =
        this->Common(m) ? this->kLocalFreeTarget : this->kPercpuFreeTarget;
    int fd = this->Make(
        m, this->Common(m) ? 3 * this->MapSize(tgt) : 3 * tgt * this->ncpu_);
    for (uint64_t k = 1; k <= 2 * tgt; ++k)
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    EXPECT_EQ(this->Put(fd, 1, BPF_NOEXIST), -EEXIST);
    for (uint64_t k = 1; k <= tgt; ++k) ASSERT_EQ(this->Ref(fd, k), 0);
    for (uint64_t k = tgt + 1; k <= 2 * tgt; ++k) {
      EXPECT_EQ(this->Delete(fd, k), 0);
      EXPECT_EQ(this->Delete(fd, k), -ENOENT);
    }
    for (uint64_t k = 2 * tgt + 1; k <= 4 * tgt; ++k) {
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    }
    typename TestFixture::KeySet want = this->Range(1, tgt);
    for (uint64_t k : this->Range(2 * tgt + 1, 4 * tgt)) want.insert(k);
    EXPECT_EQ(this->Survivors(fd), want);
  }
}

// test_lru_sanity5 (common LRU): a one-element map; on each CPU in turn the
// next key is inserted by stealing the only node from the other CPU's lists.
TYPED_TEST_P(LruConformance, Sanity5StealsAcrossCpus) {
  for (auto m : this->kModes) {
    if (!this->Common(m)) continue;
    SCOPED_TRACE(m.type);
    int fd = this->Make(m, 1);
    uint64_t key = 0;
    ASSERT_EQ(this->Put(fd, key, BPF_NOEXIST), 0);
    for (uint32_t cpu = 0; cpu < this->ncpu_; ++cpu, ++key) {
      ASSERT_EQ(this->b().PinCpu(static_cast<int>(cpu)), 0);
      EXPECT_EQ(this->Ref(fd, key), 0);
      EXPECT_EQ(this->Put(fd, key + 1, BPF_NOEXIST), 0);
      EXPECT_EQ(this->Ref(fd, key + 1), 0);
      EXPECT_EQ(this->Get(fd, key), -ENOENT);
    }
    this->b().PinCpu(0);
    EXPECT_EQ(this->Survivors(fd), typename TestFixture::KeySet({key}));
  }
}

// test_lru_sanity6 (per-CPU LRU): keys whose ref bit is refreshed before
// every insert survive the rotation; the middle block is evicted.
TYPED_TEST_P(LruConformance, Sanity6PercpuRotation) {
  const uint32_t tgt = this->kPercpuFreeTarget;
  for (auto m : this->kModes) {
    if (this->Common(m)) continue;
    SCOPED_TRACE(m.type);
    int fd = this->Make(m, tgt * 2 * this->ncpu_);
    for (uint64_t k = 1; k <= tgt; ++k)
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    for (uint64_t k = tgt + 1; k <= 2 * tgt; ++k) {
      for (uint64_t s = 1; s <= tgt; ++s) ASSERT_EQ(this->Ref(fd, s), 0);
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    }
    for (uint64_t k = 2 * tgt + 1; k <= 3 * tgt; ++k) {
      ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
    }
    typename TestFixture::KeySet want = this->Range(1, tgt);
    for (uint64_t k : this->Range(2 * tgt + 1, 3 * tgt)) want.insert(k);
    EXPECT_EQ(this->Survivors(fd), want);
  }
}

// test_lru_sanity7 / sanity8: a syscall lookup does not set the ref bit, a
// program lookup does; the unreferenced key is evicted.
TYPED_TEST_P(LruConformance, Sanity7And8SyscallLookupDoesNotRef) {
  for (auto m : this->kModes) {
    SCOPED_TRACE(testing::Message() << m.type << "/" << m.flags);
    for (bool ref_first : {true, false}) {
      int fd = this->Make(m, this->Common(m) ? 2 : 2 * this->ncpu_);
      ASSERT_EQ(this->Put(fd, 1, BPF_NOEXIST), 0);
      EXPECT_EQ(this->Put(fd, 1, BPF_NOEXIST), -EEXIST);
      EXPECT_EQ(this->Get(fd, 2), -ENOENT);
      EXPECT_EQ(this->Put(fd, 2, BPF_EXIST), -ENOENT);
      ASSERT_EQ(this->Put(fd, 2, BPF_NOEXIST), 0);
      EXPECT_EQ(this->Get(fd, 3), -ENOENT);
      uint64_t v = 0;
      if (ref_first) {  // sanity7: ref-lookup 1, syscall lookup 2
        EXPECT_EQ(this->Ref(fd, 1), 0);
        EXPECT_EQ(this->Get(fd, 2, &v), 0);
      } else {  // sanity8: syscall lookup 1, ref-lookup 2
        EXPECT_EQ(this->Get(fd, 1, &v), 0);
        EXPECT_EQ(this->Ref(fd, 2), 0);
      }
      EXPECT_EQ(v, 1234u);
      ASSERT_EQ(this->Put(fd, 3, BPF_NOEXIST), 0);
      EXPECT_EQ(this->Survivors(fd),
                ref_first ? typename TestFixture::KeySet({1, 3})
                          : typename TestFixture::KeySet({2, 3}));
    }
  }
}

// Digest §6.6: max_entries 4 (refill target 1), keys 1..4, each scenario on
// a fresh map. NOEXIST of an existing key succeeds because the node pop
// evicted that very key. On LRU_HASH a failing EXIST update still evicts;
// on LRU_PERCPU_HASH an EXIST update pops nothing and evicts nothing.
// The digest names key 3 as the victim of the failing EXIST update; this
// 6.18 kernel evicts key 1, the oldest, as the algorithm predicts (the
// running kernel wins; docs/semantics.md).
TYPED_TEST_P(LruConformance, UpdatesOfExistingKeysInAFullMap) {
  for (auto m : {this->kModes[0], this->kModes[1]}) {
    SCOPED_TRACE(m.type);
    auto fresh = [&] {
      int fd = this->Make(m, 4, BPF_F_ZERO_SEED);
      for (uint64_t k = 1; k <= 4; ++k) {
        EXPECT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
      }
      return fd;
    };
    int a = fresh();
    EXPECT_EQ(this->Put(a, 1, BPF_NOEXIST), 0);
    EXPECT_TRUE(this->Survivors(a).count(1));
    int b = fresh();
    EXPECT_EQ(this->Put(b, 50, BPF_EXIST), -ENOENT);
    if (m.type == BPF_MAP_TYPE_LRU_HASH) {
      EXPECT_EQ(this->Survivors(b), typename TestFixture::KeySet({2, 3, 4}));
    } else {
      EXPECT_EQ(this->Survivors(b), typename TestFixture::KeySet({1, 2, 3, 4}));
    }
  }
}

// Digest §6.9, measured: 256-entry maps, keys 0..1023 inserted from CPU 0.
// The common LRU keeps the newest 256; a per-CPU LRU only has this CPU's
// 256 / ncpu nodes, so it keeps the newest 128 (2 CPUs).
TYPED_TEST_P(LruConformance, FillFromOneCpu) {
  for (auto m : this->kModes) {
    SCOPED_TRACE(testing::Message() << m.type << "/" << m.flags);
    int fd = this->Make(m, 256);
    for (uint64_t k = 0; k < 1024; ++k) ASSERT_EQ(this->Put(fd, k, BPF_ANY), 0);
    const uint64_t kept = this->Common(m) ? 256 : 256 / this->ncpu_;
    EXPECT_EQ(this->Survivors(fd), this->Range(1024 - kept, 1023));
  }
}

// Maps smaller than the refill targets, and deletes followed by inserts:
// every survivor set must match the kernel's (the emulator is compared with
// these on both backends; see kernel_compare/lru_compare_test.cc for random
// sequences). Sizes 8 and 33 (rounded up to 34 on 2 CPUs for per-CPU lists).
TYPED_TEST_P(LruConformance, SmallMapsDeletesAndReinserts) {
  for (auto m : this->kModes) {
    for (uint32_t size : {8u, 33u}) {
      SCOPED_TRACE(testing::Message()
                   << m.type << "/" << m.flags << " size " << size);
      int fd = this->Make(m, size);
      for (uint64_t k = 0; k < 100; ++k) {
        ASSERT_EQ(this->Put(fd, k, BPF_ANY), 0);
        if (k % 5 == 0) this->Ref(fd, k / 2);
        if (k % 7 == 0) this->Delete(fd, k - 3);
      }
      typename TestFixture::KeySet got = this->Survivors(fd);
      EXPECT_LE(got.size(), size + this->ncpu_);
      EXPECT_TRUE(got.count(99));  // the newest key is always there
      // Keys deleted explicitly stay deleted.
      for (uint64_t k = 7; k < 100; k += 7) EXPECT_FALSE(got.count(k - 3)) << k;
    }
  }
}

// The 6.1 selftest's sanity1 (map size 1.5 * 128, keys 1..128, ref-lookup
// 1..64, then 129..256) on this kernel: 6.1 kept 1..64 and 129..256 with its
// fixed refill target of 128; 6.12.y/6.18 derive the target from the map
// size (48 here) and keep 1..64 and 161..256 (digest §6.7, measured).
TYPED_TEST_P(LruConformance, Sanity1Of61UsesTheSizeDerivedTarget) {
  int fd = this->Make(this->kModes[0], 192);
  for (uint64_t k = 1; k <= 128; ++k)
    ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
  for (uint64_t k = 1; k <= 64; ++k) ASSERT_EQ(this->Ref(fd, k), 0);
  for (uint64_t k = 129; k <= 256; ++k)
    ASSERT_EQ(this->Put(fd, k, BPF_NOEXIST), 0);
  typename TestFixture::KeySet want = this->Range(1, 64);
  for (uint64_t k : this->Range(161, 256)) want.insert(k);
  EXPECT_EQ(this->Survivors(fd), want);
}

REGISTER_TYPED_TEST_SUITE_P(LruConformance, Sanity0, Sanity1, Sanity2, Sanity3,
                            Sanity4, Sanity5StealsAcrossCpus,
                            Sanity6PercpuRotation,
                            Sanity7And8SyscallLookupDoesNotRef,
                            UpdatesOfExistingKeysInAFullMap, FillFromOneCpu,
                            SmallMapsDeletesAndReinserts,
                            Sanity1Of61UsesTheSizeDerivedTarget);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_LRU_CONFORMANCE_H_
