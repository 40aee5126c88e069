// SPDX-License-Identifier: Apache-2.0
// File: batch_conformance.h
//
// BatchConformance: BPF_MAP_LOOKUP_BATCH, LOOKUP_AND_DELETE_BATCH,
// UPDATE_BATCH and DELETE_BATCH. Hash maps walk buckets with a u32 bucket
// cursor (hashtab.c __htab_map_lookup_and_delete_batch); arrays use the
// generic key-cursor walker and generic update/delete (syscall.c
// generic_map_*_batch). Expected values are the digest's measurements on 6.18
// (kernel/bpf/ sources; measured on 6.18).

#ifndef BPFEMU_TESTS_CONFORMANCE_BATCH_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_BATCH_CONFORMANCE_H_

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class BatchConformance : public ConformanceTest<B> {
 protected:
  // HASH, ZERO_SEED, 8 buckets: keys 0, 26, 35 share bucket 0 (walk order
  // 35 26 0), then 4 in bucket 1, 2 in 2, 1 in 3, 5 in 6, 3 in 7.
  int MakeReferenceHash() {
    int fd =
        this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 8, BPF_F_ZERO_SEED));
    for (uint32_t k : {0u, 26u, 35u, 1u, 2u, 3u, 4u, 5u}) {
      EXPECT_EQ(this->Update(fd, k, uint64_t{k} * 10), 0);
    }
    return fd;
  }

  struct Result {
    int ret;
    uint32_t count;
    uint32_t out;
    std::vector<uint32_t> keys;
    bool operator==(const Result&) const = default;
    friend std::ostream& operator<<(std::ostream& os, const Result& r) {
      os << "{ret " << ErrnoName(r.ret) << ", count " << r.count << ", out "
         << r.out << ", keys";
      for (uint32_t k : r.keys) os << " " << k;
      return os << "}";
    }
  };
  // One lookup (or lookup_and_delete) batch call on a u32 -> u64 map; `in`
  // nullptr for the first call. out starts as 0xdddd to show "untouched".
  Result Call(int fd, const uint32_t* in, uint32_t count, bool del = false,
              uint64_t elem_flags = 0, uint64_t flags = 0) {
    std::vector<uint32_t> keys(count + 1, 0xffffffff);
    std::vector<uint64_t> values(count + 1, 0);
    uint32_t out = 0xdddd, n = count;
    int ret = del ? this->b().LookupAndDeleteBatch(fd, in, &out, keys.data(),
                                                   values.data(), &n,
                                                   elem_flags, flags)
                  : this->b().LookupBatch(fd, in, &out, keys.data(),
                                          values.data(), &n, elem_flags, flags);
    Result r{ret, n, out, {}};
    // Only a walk that succeeded or reached the end copied elements; on
    // other errors count keeps the caller's value.
    const uint32_t copied = ret == 0 || ret == -ENOENT ? n : 0;
    for (uint32_t i = 0; i < copied && i < count; ++i) {
      r.keys.push_back(keys[i]);
      EXPECT_EQ(values[i], uint64_t{keys[i]} * 10) << "key " << keys[i];
    }
    return r;
  }
};
TYPED_TEST_SUITE_P(BatchConformance);

using V = std::vector<uint32_t>;

// The measured table of §8.2, call by call.
TYPED_TEST_P(BatchConformance, HashCursorTable) {
  using R = typename BatchConformance<TypeParam>::Result;
  int fd = this->MakeReferenceHash();
  uint32_t b1 = 1, b6 = 6, b7 = 7, b8 = 8;
  EXPECT_EQ(this->Call(fd, nullptr, 64),
            (R{-ENOENT, 8, 8, V{35, 26, 0, 4, 2, 1, 5, 3}}));
  EXPECT_EQ(this->Call(fd, nullptr, 1), (R{-ENOSPC, 0, 0, {}}));
  EXPECT_EQ(this->Call(fd, nullptr, 2), (R{-ENOSPC, 0, 0, {}}));
  EXPECT_EQ(this->Call(fd, nullptr, 3), (R{0, 3, 1, V{35, 26, 0}}));
  EXPECT_EQ(this->Call(fd, &b1, 3), (R{0, 3, 6, V{4, 2, 1}}));
  EXPECT_EQ(this->Call(fd, &b6, 3), (R{-ENOENT, 2, 8, V{5, 3}}));
  EXPECT_EQ(this->Call(fd, &b7, 8), (R{-ENOENT, 1, 8, V{3}}));
  EXPECT_EQ(this->Call(fd, &b8, 8), (R{-ENOENT, 0, 0xdddd, {}}));
}

// lookup_and_delete_batch takes whole buckets out; an empty map walks to the
// end.
TYPED_TEST_P(BatchConformance, HashLookupAndDelete) {
  using R = typename BatchConformance<TypeParam>::Result;
  int fd = this->MakeReferenceHash();
  EXPECT_EQ(this->Call(fd, nullptr, 3, true), (R{0, 3, 1, V{35, 26, 0}}));
  EXPECT_EQ(this->template Keys<uint32_t>(fd), (V{4, 2, 1, 5, 3}));
  uint32_t b1 = 1;
  EXPECT_EQ(this->Call(fd, &b1, 64, true),
            (R{-ENOENT, 5, 8, V{4, 2, 1, 5, 3}}));
  EXPECT_EQ(this->template Keys<uint32_t>(fd), V{});
  EXPECT_EQ(this->Call(fd, nullptr, 4), (R{-ENOENT, 0, 8, {}}));
}

// Flags: elem_flags other than BPF_F_LOCK, BPF_F_LOCK without a spin lock,
// and any batch.flags are EINVAL for the hash walker, with count untouched;
// count 0 returns 0 and writes nothing.
TYPED_TEST_P(BatchConformance, HashFlagsAndZeroCount) {
  using R = typename BatchConformance<TypeParam>::Result;
  int fd = this->MakeReferenceHash();
  for (bool del : {false, true}) {
    for (auto [ef, f] : {std::pair<uint64_t, uint64_t>{BPF_NOEXIST, 0},
                         {BPF_F_LOCK, 0},
                         {0, 1}}) {
      uint32_t out = 0xdddd, n = 4;
      uint32_t keys[4];
      uint64_t values[4];
      int ret = del ? this->b().LookupAndDeleteBatch(fd, nullptr, &out, keys,
                                                     values, &n, ef, f)
                    : this->b().LookupBatch(fd, nullptr, &out, keys, values, &n,
                                            ef, f);
      EXPECT_EQ(ret, -EINVAL);
      EXPECT_EQ(n, 4u);
      EXPECT_EQ(out, 0xddddu);
    }
  }
  EXPECT_EQ(this->Call(fd, nullptr, 0), (R{0, 0, 0xdddd, {}}));
  EXPECT_EQ(this->template Keys<uint32_t>(fd).size(), 8u);
}

// Arrays use the generic key cursor; batch.flags is not checked there.
TYPED_TEST_P(BatchConformance, ArrayGenericLookup) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 5));
  for (uint32_t k = 0; k < 5; ++k)
    ASSERT_EQ(this->Update(fd, k, uint64_t{k} * 10), 0);
  using R = typename BatchConformance<TypeParam>::Result;
  uint32_t in1 = 1, in3 = 3, in4 = 4, in100 = 100;
  EXPECT_EQ(this->Call(fd, nullptr, 2), (R{0, 2, 1, V{0, 1}}));
  EXPECT_EQ(this->Call(fd, &in1, 2), (R{0, 2, 3, V{2, 3}}));
  EXPECT_EQ(this->Call(fd, &in3, 2), (R{-ENOENT, 1, 4, V{4}}));
  EXPECT_EQ(this->Call(fd, &in4, 2), (R{-ENOENT, 0, 0xdddd, {}}));
  EXPECT_EQ(this->Call(fd, &in100, 2), (R{0, 2, 1, V{0, 1}}));
  EXPECT_EQ(this->Call(fd, nullptr, 10), (R{-ENOENT, 5, 4, V{0, 1, 2, 3, 4}}));
  EXPECT_EQ(this->Call(fd, nullptr, 2, false, 0, 1), (R{0, 2, 1, V{0, 1}}));
  EXPECT_EQ(this->Call(fd, nullptr, 2, false, BPF_EXIST).ret, -EINVAL);
}

// Arrays have no lookup_and_delete or delete batch: ENOTSUPP, count
// untouched. Permission checks come first: a RDONLY fd gets EPERM.
TYPED_TEST_P(BatchConformance, ArrayUnsupportedOps) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 5));
  uint32_t keys[2] = {0, 1}, out, n = 2;
  uint64_t values[2];
  EXPECT_EQ(
      this->b().LookupAndDeleteBatch(fd, nullptr, &out, keys, values, &n, 0, 0),
      -kENOTSUPP);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(this->b().DeleteBatch(fd, keys, &n, 0, 0), -kENOTSUPP);
  EXPECT_EQ(n, 2u);
  int ro = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 5, BPF_F_RDONLY));
  EXPECT_EQ(this->b().DeleteBatch(ro, keys, &n, 0, 0), -EPERM);
  EXPECT_EQ(this->b().UpdateBatch(ro, keys, values, &n, 0, 0), -EPERM);
  EXPECT_EQ(this->b().LookupBatch(ro, nullptr, &out, keys, values, &n, 0, 0),
            0);
  EXPECT_EQ(n, 2u);
  int wo = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 5, BPF_F_WRONLY));
  EXPECT_EQ(this->b().LookupBatch(wo, nullptr, &out, keys, values, &n, 0, 0),
            -EPERM);
  EXPECT_EQ(
      this->b().LookupAndDeleteBatch(wo, nullptr, &out, keys, values, &n, 0, 0),
      -EPERM);
}

// Generic update: element by element until the first error; count says how
// many were applied. NOEXIST / EXIST cannot be used; batch.flags is ignored;
// duplicate keys simply overwrite.
TYPED_TEST_P(BatchConformance, GenericUpdate) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 2));
  uint32_t keys[4] = {1, 2, 3, 4};
  uint64_t values[4] = {10, 20, 30, 40};
  uint32_t n = 4;
  EXPECT_EQ(this->b().UpdateBatch(fd, keys, values, &n, 0, 0), -E2BIG);
  EXPECT_EQ(n, 2u);
  n = 4;
  EXPECT_EQ(this->b().UpdateBatch(fd, keys, values, &n, BPF_NOEXIST, 0),
            -EINVAL);
  EXPECT_EQ(n, 4u);
  uint32_t dup_keys[3] = {1, 1, 2};
  uint64_t dup_values[3] = {11, 12, 21};
  n = 3;
  EXPECT_EQ(this->b().UpdateBatch(fd, dup_keys, dup_values, &n, 0, 1), 0);
  EXPECT_EQ(n, 3u);
  EXPECT_EQ((this->template Contents<uint32_t, uint64_t>(fd)),
            (std::map<uint32_t, uint64_t>{{1, 12}, {2, 21}}));
  int afd = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 5));
  uint32_t akeys[3] = {1, 7, 2};
  n = 3;
  EXPECT_EQ(this->b().UpdateBatch(afd, akeys, values, &n, 0, 0), -E2BIG);
  EXPECT_EQ(n, 1u);
  n = 0;
  EXPECT_EQ(this->b().UpdateBatch(afd, akeys, values, &n, 0, 0), 0);
}

// Generic delete: stops at the first missing key.
TYPED_TEST_P(BatchConformance, GenericDelete) {
  int fd = this->MustCreate(Attr(BPF_MAP_TYPE_HASH, 4, 8, 16));
  for (uint32_t k : {10u, 11u, 12u})
    ASSERT_EQ(this->Update(fd, k, uint64_t{k}), 0);
  uint32_t keys[4] = {10, 11, 99, 12};
  uint32_t n = 4;
  EXPECT_EQ(this->b().DeleteBatch(fd, keys, &n, 0, 0), -ENOENT);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(this->template Keys<uint32_t>(fd), (V{12}));
  n = 1;
  EXPECT_EQ(this->b().DeleteBatch(fd, keys, &n, BPF_F_LOCK, 0), -EINVAL);
  EXPECT_EQ(n, 1u);
}

// Per-CPU maps: batch values use the per-CPU layout, one
// round_up(value_size, 8) slot per possible CPU.
TYPED_TEST_P(BatchConformance, PercpuValues) {
  const uint32_t ncpu = static_cast<uint32_t>(this->b().NumPossibleCpus());
  for (uint32_t type : {BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY}) {
    SCOPED_TRACE(type);
    int fd = this->MustCreate(Attr(type, 4, 4, 4));
    const uint32_t vsize = 8 * ncpu;
    std::vector<uint8_t> in(3 * vsize), out(4 * vsize, 0xee);
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i + 1);
    uint32_t keys[3] = {0, 1, 2}, got[4], n = 3, cursor;
    ASSERT_EQ(this->b().UpdateBatch(fd, keys, in.data(), &n, 0, 0), 0);
    n = 4;
    int ret =
        this->b().LookupBatch(fd, nullptr, &cursor, got, out.data(), &n, 0, 0);
    EXPECT_TRUE(ret == 0 || ret == -ENOENT) << ret;
    ASSERT_GE(n, 3u);
    for (uint32_t i = 0; i < n; ++i) {
      if (got[i] > 2) continue;  // PERCPU_ARRAY also returns index 3
      EXPECT_TRUE(std::equal(in.begin() + got[i] * vsize,
                             in.begin() + (got[i] + 1) * vsize,
                             out.begin() + i * vsize))
          << "key " << got[i];
    }
  }
}

REGISTER_TYPED_TEST_SUITE_P(BatchConformance, HashCursorTable,
                            HashLookupAndDelete, HashFlagsAndZeroCount,
                            ArrayGenericLookup, ArrayUnsupportedOps,
                            GenericUpdate, GenericDelete, PercpuValues);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_BATCH_CONFORMANCE_H_
