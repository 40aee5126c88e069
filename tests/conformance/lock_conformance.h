// SPDX-License-Identifier: Apache-2.0
// File: lock_conformance.h
//
// LockConformance: BPF_F_LOCK on values that hold a struct bpf_spin_lock.
// The kernel learns the lock's offset from the value's BTF (map_check_btf);
// MapAttr::spin_lock_off stands in for it, and the kernel backend turns it
// into real BTF. Mirrors kernel/bpf/syscall.c map_check_btf, hashtab.c
// htab_map_update_elem, arraymap.c array_map_update_elem and
// include/linux/bpf.h copy_map_value[_locked] / check_and_init_map_value;
// expected values measured on 6.18 (measured on 6.18).

#ifndef BPFEMU_TESTS_CONFORMANCE_LOCK_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_LOCK_CONFORMANCE_H_

#include <cstdint>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

// A value with a spin lock: { struct bpf_spin_lock lock; u32 tag; u64 data; }.
struct LockedValue {
  uint32_t lock;
  uint32_t tag;
  uint64_t data;
  bool operator==(const LockedValue&) const = default;
};

template <class B>
class LockConformance : public ConformanceTest<B> {
 protected:
  static MapAttr LockAttr(uint32_t type, uint32_t max_entries,
                          uint32_t flags = 0) {
    MapAttr a = Attr(type, 4, sizeof(LockedValue), max_entries, flags);
    a.spin_lock_off = 0;
    return a;
  }
  int Put(int fd, uint32_t k, LockedValue v, uint64_t flags) {
    return this->b().Update(fd, &k, &v, flags);
  }
  LockedValue Get(int fd, uint32_t k, uint64_t flags = 0) {
    LockedValue v{0xeeeeeeee, 0, 0};
    EXPECT_EQ(this->b().Lookup(fd, &k, &v, flags), 0);
    return v;
  }
};
TYPED_TEST_SUITE_P(LockConformance);

// A spin lock is allowed in HASH and ARRAY values only (EOPNOTSUPP for
// per-CPU types), and never together with RDONLY_PROG / WRONLY_PROG (EACCES).
TYPED_TEST_P(LockConformance, CreateRules) {
  using T = LockConformance<TypeParam>;
  EXPECT_GE(this->Create(T::LockAttr(BPF_MAP_TYPE_HASH, 4)), 0);
  EXPECT_GE(this->Create(T::LockAttr(BPF_MAP_TYPE_HASH, 4, BPF_F_NO_PREALLOC)),
            0);
  EXPECT_GE(this->Create(T::LockAttr(BPF_MAP_TYPE_ARRAY, 4)), 0);
  EXPECT_EQ(this->Create(T::LockAttr(BPF_MAP_TYPE_PERCPU_HASH, 4)),
            -EOPNOTSUPP);
  EXPECT_EQ(this->Create(T::LockAttr(BPF_MAP_TYPE_PERCPU_ARRAY, 4)),
            -EOPNOTSUPP);
  for (uint32_t f :
       {uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_WRONLY_PROG}}) {
    EXPECT_EQ(this->Create(T::LockAttr(BPF_MAP_TYPE_HASH, 4, f)), -EACCES);
    EXPECT_EQ(this->Create(T::LockAttr(BPF_MAP_TYPE_ARRAY, 4, f)), -EACCES);
  }
  // Attribute errors come first.
  MapAttr bad = T::LockAttr(BPF_MAP_TYPE_PERCPU_HASH, 0);
  EXPECT_EQ(this->Create(bad), -EINVAL);
}

// The lock word is never copied from user space and always reads as zero;
// the other fields round-trip, with and without BPF_F_LOCK.
TYPED_TEST_P(LockConformance, LockWordIsInvisible) {
  using T = LockConformance<TypeParam>;
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY}) {
    SCOPED_TRACE(type);
    int fd = this->MustCreate(T::LockAttr(type, 4));
    ASSERT_EQ(this->Put(fd, 1, {0xdeadbeef, 7, 70}, BPF_ANY), 0);
    EXPECT_EQ(this->Get(fd, 1), (LockedValue{0, 7, 70}));
    EXPECT_EQ(this->Get(fd, 1, BPF_F_LOCK), (LockedValue{0, 7, 70}));
    ASSERT_EQ(this->Put(fd, 1, {0x12345678, 8, 80}, BPF_F_LOCK), 0);
    EXPECT_EQ(this->Get(fd, 1, BPF_F_LOCK), (LockedValue{0, 8, 80}));
  }
}

// check_flags() masks BPF_F_LOCK: LOCK|NOEXIST and LOCK|EXIST behave like
// NOEXIST and EXIST; LOCK|3 and LOCK|8 are EINVAL.
TYPED_TEST_P(LockConformance, HashFlagCombinations) {
  using T = LockConformance<TypeParam>;
  int fd = this->MustCreate(T::LockAttr(BPF_MAP_TYPE_HASH, 4));
  EXPECT_EQ(this->Put(fd, 1, {0, 1, 1}, BPF_F_LOCK | BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Put(fd, 1, {0, 1, 1}, BPF_F_LOCK | BPF_NOEXIST), 0);
  EXPECT_EQ(this->Put(fd, 1, {0, 2, 2}, BPF_F_LOCK | BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->Put(fd, 1, {0, 3, 3}, BPF_F_LOCK | 3), -EINVAL);
  EXPECT_EQ(this->Put(fd, 1, {0, 3, 3}, BPF_F_LOCK | 8), -EINVAL);
  EXPECT_EQ(this->Put(fd, 1, {0, 4, 4}, BPF_F_LOCK | BPF_EXIST), 0);
  EXPECT_EQ(this->Get(fd, 1), (LockedValue{0, 4, 4}));
  uint32_t k = 1;
  LockedValue out{};
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &out, BPF_F_LOCK), 0);
  EXPECT_EQ(out, (LockedValue{0, 4, 4}));
  EXPECT_EQ(this->b().Lookup(fd, &k, &out, BPF_F_LOCK), -ENOENT);
}

// With BPF_F_LOCK an existing HASH element is updated in place (it stays
// where it is in its bucket); a plain update moves it to the bucket head.
TYPED_TEST_P(LockConformance, LockedHashUpdateIsInPlace) {
  using T = LockConformance<TypeParam>;
  int fd = this->MustCreate(T::LockAttr(BPF_MAP_TYPE_HASH, 8, BPF_F_ZERO_SEED));
  for (uint32_t k : {0u, 26u, 35u})
    ASSERT_EQ(this->Put(fd, k, {0, k, k}, 0), 0);
  EXPECT_EQ(this->template Keys<uint32_t>(fd),
            (std::vector<uint32_t>{35, 26, 0}));
  ASSERT_EQ(this->Put(fd, 0, {0, 9, 9}, BPF_F_LOCK), 0);
  EXPECT_EQ(this->template Keys<uint32_t>(fd),
            (std::vector<uint32_t>{35, 26, 0}));
  ASSERT_EQ(this->Put(fd, 0, {0, 10, 10}, BPF_ANY), 0);
  EXPECT_EQ(this->template Keys<uint32_t>(fd),
            (std::vector<uint32_t>{0, 35, 26}));
  EXPECT_EQ(this->Get(fd, 0, BPF_F_LOCK), (LockedValue{0, 10, 10}));
}

// ARRAY with a lock: the usual array rules, with BPF_F_LOCK accepted;
// NOEXIST is a bit test there, so LOCK|NOEXIST is EEXIST.
TYPED_TEST_P(LockConformance, ArrayRules) {
  using T = LockConformance<TypeParam>;
  int fd = this->MustCreate(T::LockAttr(BPF_MAP_TYPE_ARRAY, 4));
  EXPECT_EQ(this->Put(fd, 2, {0, 5, 5}, BPF_F_LOCK), 0);
  EXPECT_EQ(this->Put(fd, 2, {0, 6, 6}, BPF_F_LOCK | BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->Put(fd, 2, {0, 6, 6}, BPF_F_LOCK | BPF_EXIST), 0);
  EXPECT_EQ(this->Put(fd, 4, {0, 6, 6}, BPF_F_LOCK), -E2BIG);
  EXPECT_EQ(this->Put(fd, 2, {0, 6, 6}, BPF_F_LOCK | 8), -EINVAL);
  EXPECT_EQ(this->Get(fd, 2, BPF_F_LOCK), (LockedValue{0, 6, 6}));
  EXPECT_EQ(this->Get(fd, 3, BPF_F_LOCK), (LockedValue{0, 0, 0}));
}

// The lock need not lead the value: 24-byte values with the lock at 8 and
// at 20 (the last word).
TYPED_TEST_P(LockConformance, LockAtOtherOffsets) {
  for (int32_t off : {8, 20}) {
    SCOPED_TRACE(off);
    for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY}) {
      MapAttr a = Attr(type, 4, 24, 4);
      a.spin_lock_off = off;
      int fd = this->MustCreate(a);
      uint8_t in[24], out[24];
      for (int i = 0; i < 24; ++i) in[i] = static_cast<uint8_t>(0x40 + i);
      uint32_t k = 1;
      ASSERT_EQ(this->b().Update(fd, &k, in, BPF_ANY), 0);
      ASSERT_EQ(this->b().Lookup(fd, &k, out, BPF_F_LOCK), 0);
      for (int i = 0; i < 24; ++i) {
        EXPECT_EQ(out[i], i >= off && i < off + 4 ? 0 : in[i]) << i;
      }
    }
  }
}

REGISTER_TYPED_TEST_SUITE_P(LockConformance, CreateRules, LockWordIsInvisible,
                            HashFlagCombinations, LockedHashUpdateIsInPlace,
                            ArrayRules, LockAtOtherOffsets);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_LOCK_CONFORMANCE_H_
