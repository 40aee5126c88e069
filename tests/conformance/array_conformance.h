// SPDX-License-Identifier: Apache-2.0
// File: array_conformance.h
//
// ArrayConformance: element commands on BPF_MAP_TYPE_ARRAY, mirroring
// kernel/bpf/arraymap.c; expected values measured on 6.18
// (kernel/bpf/ sources; measured on 6.18).

#ifndef BPFEMU_TESTS_CONFORMANCE_ARRAY_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_ARRAY_CONFORMANCE_H_

#include <cstdint>
#include <map>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class ArrayConformance : public ConformanceTest<B> {
 protected:
  int MakeArray(uint32_t max_entries, uint32_t value_size = 8) {
    return this->MustCreate(
        Attr(BPF_MAP_TYPE_ARRAY, 4, value_size, max_entries));
  }
};
TYPED_TEST_SUITE_P(ArrayConformance);

// Every in-range element exists from creation and reads as zeros; an index
// >= max_entries is ENOENT.
TYPED_TEST_P(ArrayConformance, ZeroFilledAndLookupRange) {
  int fd = this->MakeArray(4);
  uint64_t v = 0xffff;
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_EQ(this->Lookup(fd, i, &v), 0);
    EXPECT_EQ(v, 0u);
  }
  EXPECT_EQ(this->Lookup(fd, 4u, &v), -ENOENT);
  EXPECT_EQ(this->Lookup(fd, 0xffffffffu, &v), -ENOENT);
}

// BPF_ANY and BPF_EXIST write; BPF_NOEXIST -> EEXIST (every element exists);
// index >= max_entries -> E2BIG for flags 0/1/2, but an invalid flag is
// reported first.
TYPED_TEST_P(ArrayConformance, UpdateFlags) {
  int fd = this->MakeArray(4);
  EXPECT_EQ(this->Update(fd, 1u, uint64_t{11}, BPF_ANY), 0);
  EXPECT_EQ(this->Update(fd, 2u, uint64_t{22}, BPF_EXIST), 0);
  EXPECT_EQ(this->Update(fd, 3u, uint64_t{33}, BPF_NOEXIST), -EEXIST);
  for (uint64_t f :
       {uint64_t{BPF_ANY}, uint64_t{BPF_NOEXIST}, uint64_t{BPF_EXIST}}) {
    EXPECT_EQ(this->Update(fd, 4u, uint64_t{1}, f), -E2BIG) << f;
    EXPECT_EQ(this->Update(fd, 100u, uint64_t{1}, f), -E2BIG) << f;
  }
  EXPECT_EQ(this->Update(fd, 4u, uint64_t{1}, 8), -EINVAL);
  EXPECT_EQ((this->template Contents<uint32_t, uint64_t>(fd)),
            (std::map<uint32_t, uint64_t>{{0, 0}, {1, 11}, {2, 22}, {3, 0}}));
}

TYPED_TEST_P(ArrayConformance, UpdateUnknownFlagsAreEinval) {
  int fd = this->MakeArray(4);
  for (uint64_t f :
       {uint64_t{3}, uint64_t{5}, uint64_t{6}, uint64_t{7}, uint64_t{8},
        uint64_t{16}, uint64_t{1} << 32, uint64_t{BPF_F_LOCK}}) {
    EXPECT_EQ(this->Update(fd, 0u, uint64_t{9}, f), -EINVAL) << f;
  }
  uint64_t v;
  for (uint64_t f :
       {uint64_t{1}, uint64_t{2}, uint64_t{8}, uint64_t{BPF_F_LOCK}}) {
    EXPECT_EQ(this->Lookup(fd, 0u, &v, f), -EINVAL) << f;
  }
  ASSERT_EQ(this->Lookup(fd, 0u, &v), 0);
  EXPECT_EQ(v, 0u);
}

// Array elements cannot be deleted: EINVAL in and out of range.
TYPED_TEST_P(ArrayConformance, DeleteIsEinval) {
  int fd = this->MakeArray(4);
  EXPECT_EQ(this->Delete(fd, 0u), -EINVAL);
  EXPECT_EQ(this->Delete(fd, 3u), -EINVAL);
  EXPECT_EQ(this->Delete(fd, 4u), -EINVAL);
}

// lookup_and_delete exists only for hash types: ENOTSUPP (524), after the
// syscall layer's flag check.
TYPED_TEST_P(ArrayConformance, LookupAndDeleteIsEnotsupp) {
  int fd = this->MakeArray(4);
  uint32_t k = 1;
  uint64_t v;
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -kENOTSUPP);
  k = 9;
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 1), -EINVAL);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, BPF_F_LOCK), -EINVAL);
}

// get_next_key: NULL and any out-of-range key -> 0; k -> k + 1;
// max_entries - 1 -> ENOENT.
TYPED_TEST_P(ArrayConformance, GetNextKey) {
  int fd = this->MakeArray(4);
  uint32_t next = 77;
  ASSERT_EQ(this->b().GetNextKey(fd, nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  for (uint32_t k : {4u, 100u, 0xffffffffu}) {
    next = 77;
    ASSERT_EQ(this->b().GetNextKey(fd, &k, &next), 0);
    EXPECT_EQ(next, 0u) << k;
  }
  for (uint32_t k = 0; k < 3; ++k) {
    ASSERT_EQ(this->b().GetNextKey(fd, &k, &next), 0);
    EXPECT_EQ(next, k + 1);
  }
  uint32_t last = 3;
  EXPECT_EQ(this->b().GetNextKey(fd, &last, &next), -ENOENT);
  EXPECT_EQ(this->template Keys<uint32_t>(fd),
            (std::vector<uint32_t>{0, 1, 2, 3}));
}

// A 5-byte value round-trips exactly and writes 5 bytes of the caller's
// buffer; elements are independent.
TYPED_TEST_P(ArrayConformance, OddValueSize) {
  int fd = this->MakeArray(3, 5);
  const uint8_t in[5] = {9, 8, 7, 6, 5};
  uint32_t k = 1;
  ASSERT_EQ(this->b().Update(fd, &k, in, BPF_ANY), 0);
  uint8_t out[8];
  std::memset(out, 0xee, sizeof(out));
  ASSERT_EQ(this->b().Lookup(fd, &k, out, 0), 0);
  EXPECT_EQ(std::memcmp(out, in, 5), 0);
  EXPECT_EQ(out[5], 0xee);
  k = 2;
  ASSERT_EQ(this->b().Lookup(fd, &k, out, 0), 0);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[4], 0);
}

// A value that is not a multiple of 8 and larger than a page.
TYPED_TEST_P(ArrayConformance, LargeValues) {
  const uint32_t vs = 5000;
  int fd = this->MakeArray(3, vs);
  std::vector<uint8_t> in(vs), out(vs);
  for (uint32_t i = 0; i < vs; ++i) in[i] = static_cast<uint8_t>(i * 13);
  uint32_t k = 2;
  ASSERT_EQ(this->b().Update(fd, &k, in.data(), BPF_ANY), 0);
  ASSERT_EQ(this->b().Lookup(fd, &k, out.data(), 0), 0);
  EXPECT_EQ(in, out);
}

REGISTER_TYPED_TEST_SUITE_P(ArrayConformance, ZeroFilledAndLookupRange,
                            UpdateFlags, UpdateUnknownFlagsAreEinval,
                            DeleteIsEinval, LookupAndDeleteIsEnotsupp,
                            GetNextKey, OddValueSize, LargeValues);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_ARRAY_CONFORMANCE_H_
