// SPDX-License-Identifier: Apache-2.0
// File: percpu_conformance.h
//
// PercpuConformance: the syscall view of BPF_MAP_TYPE_PERCPU_HASH and
// BPF_MAP_TYPE_PERCPU_ARRAY. A value is round_up(value_size, 8) bytes per
// possible CPU, in CPU order; syscall updates write every slot and lookups
// return every slot, padding included (bpf_map_value_size,
// bpf_percpu_hash_update, bpf_percpu_array_update). Measured on 6.18
// (kernel/bpf/ sources; measured on 6.18).

#ifndef BPFEMU_TESTS_CONFORMANCE_PERCPU_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_PERCPU_CONFORMANCE_H_

#include <cstdint>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class PercpuConformance : public ConformanceTest<B> {
 protected:
  size_t BufferSize(uint32_t value_size) {
    return ((value_size + 7) / 8 * 8) * this->b().NumPossibleCpus();
  }
  // A distinct, recognisable byte pattern for a per-CPU buffer.
  static std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
      v[i] = static_cast<uint8_t>(seed * 37 + i * 11 + 1);
    return v;
  }
};
TYPED_TEST_SUITE_P(PercpuConformance);

constexpr uint32_t kPercpuHash = BPF_MAP_TYPE_PERCPU_HASH;
constexpr uint32_t kPercpuArray = BPF_MAP_TYPE_PERCPU_ARRAY;

// Every value size 1..64: what goes in (all CPUs' slots, padding bytes
// included) comes back byte for byte, for both types.
TYPED_TEST_P(PercpuConformance, LayoutRoundTripsForValueSizes1To64) {
  for (uint32_t type : {kPercpuHash, kPercpuArray}) {
    for (uint32_t vs = 1; vs <= 64; ++vs) {
      SCOPED_TRACE(testing::Message() << "type " << type << " vs " << vs);
      int fd = this->MustCreate(Attr(type, 4, vs, 4));
      const size_t n = this->BufferSize(vs);
      std::vector<uint8_t> in = this->Pattern(n, vs), out(n + 8, 0xee);
      uint32_t k = 2;
      ASSERT_EQ(this->b().Update(fd, &k, in.data(), BPF_ANY), 0);
      ASSERT_EQ(this->b().Lookup(fd, &k, out.data(), 0), 0);
      EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + n), in);
      EXPECT_EQ(out[n], 0xee);  // nothing written past the buffer
      this->CloseNow(fd);
    }
  }
}

// Never-written PERCPU_ARRAY slots read as zeros on every CPU.
TYPED_TEST_P(PercpuConformance, ArrayStartsZeroed) {
  int fd = this->MustCreate(Attr(kPercpuArray, 4, 12, 3));
  std::vector<uint8_t> out(this->BufferSize(12), 0xee);
  for (uint32_t k = 0; k < 3; ++k) {
    ASSERT_EQ(this->b().Lookup(fd, &k, out.data(), 0), 0);
    EXPECT_EQ(out, std::vector<uint8_t>(out.size(), 0));
  }
}

// PERCPU_ARRAY element rules: NOEXIST -> EEXIST, out of range -> ENOENT /
// E2BIG, delete -> EINVAL, lookup_and_delete -> ENOTSUPP; flags above
// BPF_EXIST (BPF_F_LOCK included) -> EINVAL.
TYPED_TEST_P(PercpuConformance, ArrayElementRules) {
  int fd = this->MustCreate(Attr(kPercpuArray, 4, 8, 4));
  std::vector<uint8_t> v = this->Pattern(this->BufferSize(8), 1);
  uint32_t k = 1, out_of_range = 4;
  EXPECT_EQ(this->b().Update(fd, &k, v.data(), BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->b().Update(fd, &k, v.data(), BPF_EXIST), 0);
  EXPECT_EQ(this->b().Update(fd, &out_of_range, v.data(), BPF_ANY), -E2BIG);
  EXPECT_EQ(this->b().Update(fd, &out_of_range, v.data(), 8), -EINVAL);
  for (uint64_t f : {uint64_t{3}, uint64_t{BPF_F_LOCK}, uint64_t{8}}) {
    EXPECT_EQ(this->b().Update(fd, &k, v.data(), f), -EINVAL) << f;
  }
  EXPECT_EQ(this->b().Lookup(fd, &out_of_range, v.data(), 0), -ENOENT);
  EXPECT_EQ(this->b().Delete(fd, &k), -EINVAL);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, v.data(), 0), -kENOTSUPP);
  uint32_t next;
  EXPECT_EQ(this->b().GetNextKey(fd, &out_of_range, &next), 0);
  EXPECT_EQ(next, 0u);
}

// PERCPU_HASH element rules: the hash rules, with BPF_F_LOCK refused and
// lookup_and_delete returning every CPU's slot.
TYPED_TEST_P(PercpuConformance, HashElementRules) {
  int fd = this->MustCreate(Attr(kPercpuHash, 4, 8, 2, BPF_F_ZERO_SEED));
  const size_t n = this->BufferSize(8);
  std::vector<uint8_t> v1 = this->Pattern(n, 1), v2 = this->Pattern(n, 2),
                       out(n);
  uint32_t k1 = 1, k2 = 2, k3 = 3;
  EXPECT_EQ(this->b().Update(fd, &k1, v1.data(), BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->b().Update(fd, &k1, v1.data(), BPF_NOEXIST), 0);
  EXPECT_EQ(this->b().Update(fd, &k1, v2.data(), BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->b().Update(fd, &k2, v2.data(), BPF_ANY), 0);
  EXPECT_EQ(this->b().Update(fd, &k3, v2.data(), BPF_ANY), -E2BIG);
  EXPECT_EQ(this->b().Update(fd, &k3, v2.data(), BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->b().Update(fd, &k1, v2.data(), BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->b().Update(fd, &k1, v2.data(), 3), -EINVAL);
  EXPECT_EQ(this->b().Update(fd, &k1, v2.data(), BPF_EXIST), 0);
  ASSERT_EQ(this->b().LookupAndDelete(fd, &k1, out.data(), 0), 0);
  EXPECT_EQ(out, v2);
  EXPECT_EQ(this->b().Lookup(fd, &k1, out.data(), 0), -ENOENT);
  EXPECT_EQ(this->b().Update(fd, &k3, v1.data(), BPF_NOEXIST), 0);
}

// Unlike HASH, PERCPU_HASH updates an existing key in place: keys 0, 26, 35
// share bucket 0 of 8 and keep their order after updating 0.
TYPED_TEST_P(PercpuConformance, HashUpdateInPlaceKeepsOrder) {
  for (uint32_t mode : {0u, uint32_t{BPF_F_NO_PREALLOC}}) {
    int fd =
        this->MustCreate(Attr(kPercpuHash, 4, 8, 8, mode | BPF_F_ZERO_SEED));
    std::vector<uint8_t> v = this->Pattern(this->BufferSize(8), 3);
    for (uint32_t k : {0u, 26u, 35u}) {
      ASSERT_EQ(this->b().Update(fd, &k, v.data(), BPF_ANY), 0);
    }
    EXPECT_EQ(this->template Keys<uint32_t>(fd),
              (std::vector<uint32_t>{35, 26, 0}));
    uint32_t k = 0;
    ASSERT_EQ(this->b().Update(fd, &k, v.data(), BPF_EXIST), 0);
    EXPECT_EQ(this->template Keys<uint32_t>(fd),
              (std::vector<uint32_t>{35, 26, 0}));
  }
}

// Creation: a per-CPU slot is at most 32768 bytes; NUMA_NODE is refused;
// PERCPU_ARRAY takes no NO_PREALLOC, MMAPABLE or INNER_MAP.
TYPED_TEST_P(PercpuConformance, CreateLimits) {
  for (uint32_t type : {kPercpuHash, kPercpuArray}) {
    SCOPED_TRACE(type);
    EXPECT_GE(this->Create(Attr(type, 4, 32768, 1)), 0);
    EXPECT_GE(this->Create(Attr(type, 4, 32761, 1)), 0);
    EXPECT_EQ(this->Create(Attr(type, 4, 32769, 1)), -E2BIG);
    EXPECT_EQ(this->Create(Attr(type, 4, 8, 4, BPF_F_NUMA_NODE)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 0, 32769, 1)), -EINVAL);
  }
  EXPECT_GE(this->Create(Attr(kPercpuHash, 4, 8, 4, BPF_F_NO_PREALLOC)), 0);
  // The kmalloc bound (key + value < 4 MiB) is checked before the per-CPU one.
  EXPECT_EQ(this->Create(Attr(kPercpuHash, 4, 4 << 20, 1)), -E2BIG);
  for (uint32_t f : {uint32_t{BPF_F_NO_PREALLOC}, uint32_t{BPF_F_MMAPABLE},
                     uint32_t{BPF_F_INNER_MAP}, uint32_t{BPF_F_ZERO_SEED}}) {
    EXPECT_EQ(this->Create(Attr(kPercpuArray, 4, 8, 4, f)), -EINVAL) << f;
  }
  EXPECT_EQ(this->Create(Attr(kPercpuArray, 8, 8, 4)), -EINVAL);
}

REGISTER_TYPED_TEST_SUITE_P(PercpuConformance,
                            LayoutRoundTripsForValueSizes1To64,
                            ArrayStartsZeroed, ArrayElementRules,
                            HashElementRules, HashUpdateInPlaceKeepsOrder,
                            CreateLimits);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_PERCPU_CONFORMANCE_H_
