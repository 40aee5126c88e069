// SPDX-License-Identifier: Apache-2.0
// File: bloom_conformance.h
//
// BloomConformance: BPF_MAP_TYPE_BLOOM_FILTER through the syscall,
// mirroring kernel/bpf/bloom_filter.c and the routing in kernel/bpf/syscall.c
// (update pushes, lookup peeks at the caller's value); every value was
// measured on 6.18. With BPF_F_ZERO_SEED both backends set the same bits,
// so the same pushes give the same false positives.

#ifndef BPFEMU_TESTS_CONFORMANCE_BLOOM_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_BLOOM_CONFORMANCE_H_

#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class BloomConformance : public ConformanceTest<B> {
 protected:
  static MapAttr Bloom(uint32_t value_size, uint32_t max_entries,
                       uint64_t hashes = 0, uint32_t flags = 0) {
    MapAttr a =
        Attr(BPF_MAP_TYPE_BLOOM_FILTER, 0, value_size, max_entries, flags);
    a.map_extra = hashes;
    return a;
  }
  int Push(int fd, uint32_t v, uint64_t flags = BPF_ANY) {
    return this->b().Update(fd, nullptr, &v, flags);
  }
  int Peek(int fd, uint32_t v) { return this->b().Lookup(fd, nullptr, &v, 0); }
};
TYPED_TEST_SUITE_P(BloomConformance);

// bloom_map_alloc_check() and bloom_map_alloc()'s attribute checks.
TYPED_TEST_P(BloomConformance, CreateChecks) {
  EXPECT_GE(this->Create(this->Bloom(4, 8)), 0);
  EXPECT_GE(this->Create(this->Bloom(3, 8, 15)), 0);
  EXPECT_EQ(this->Create(this->Bloom(4, 8, 16)), -EINVAL);
  EXPECT_EQ(this->Create(this->Bloom(4, 8, uint64_t{1} << 32)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_BLOOM_FILTER, 4, 4, 8)), -EINVAL);
  EXPECT_EQ(this->Create(this->Bloom(0, 8)), -EINVAL);
  EXPECT_EQ(this->Create(this->Bloom(4, 0)), -EINVAL);
  EXPECT_EQ(this->Create(this->Bloom(4, 8, 0, BPF_F_NO_PREALLOC)), -EINVAL);
  EXPECT_EQ(this->Create(this->Bloom(4, 8, 0, BPF_F_MMAPABLE)), -EINVAL);
  EXPECT_GE(this->Create(this->Bloom(4, 8, 0, BPF_F_ZERO_SEED)), 0);
  EXPECT_GE(this->Create(this->Bloom(4, 8, 0, BPF_F_RDONLY_PROG)), 0);
  EXPECT_EQ(
      this->Create(this->Bloom(4, 8, 0, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)),
      -EINVAL);
  // alloc_check runs first: E2BIG wins over a bad key size.
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_BLOOM_FILTER, 4, (1u << 22) + 1, 8)),
            -E2BIG);
  MapInfo info{};
  const int fd = this->MustCreate(this->Bloom(12, 100, 3));
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.type, uint32_t{BPF_MAP_TYPE_BLOOM_FILTER});
  EXPECT_EQ(info.key_size, 0u);
  EXPECT_EQ(info.value_size, 12u);
  EXPECT_EQ(info.max_entries, 100u);
}

// Pushed values are always found; push takes only BPF_ANY; the commands a
// bloom filter has no op for.
TYPED_TEST_P(BloomConformance, Commands) {
  const int fd = this->MustCreate(this->Bloom(4, 64, 0, BPF_F_ZERO_SEED));
  for (uint32_t v = 0; v < 64; ++v) ASSERT_EQ(this->Push(fd, v * 7919), 0);
  for (uint32_t v = 0; v < 64; ++v) EXPECT_EQ(this->Peek(fd, v * 7919), 0);
  EXPECT_EQ(this->Push(fd, 1, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(this->Push(fd, 1, BPF_EXIST), -EINVAL);
  EXPECT_EQ(this->Push(fd, 1, BPF_F_LOCK), -EINVAL);
  uint32_t v = 5, key = 0;
  // A key on a keyless map: __bpf_copy_key() refuses it.
  EXPECT_EQ(this->b().Update(fd, &key, &v, BPF_ANY), -EINVAL);
  EXPECT_EQ(this->b().Lookup(fd, &key, &v, 0), -EINVAL);
  // The value is input: a NULL buffer cannot be read.
  EXPECT_EQ(this->b().Lookup(fd, nullptr, nullptr, 0), -EFAULT);
  EXPECT_EQ(this->b().Lookup(fd, nullptr, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->b().Delete(fd, nullptr), -EOPNOTSUPP);
  uint32_t next = 0;
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), -EOPNOTSUPP);
  EXPECT_EQ(this->b().LookupAndDelete(fd, nullptr, &v, 0), -kENOTSUPP);
  uint32_t count = 1;
  EXPECT_EQ(this->b().LookupBatch(fd, nullptr, &next, &key, &v, &count, 0, 0),
            -kENOTSUPP);
}

// Under BPF_F_ZERO_SEED the bits are the kernel's: after the same pushes
// the same absent values answer 0 (false positives) on both backends. A
// small filter (64 bits, 1 hash function per value, map_extra 1) makes many.
TYPED_TEST_P(BloomConformance, ZeroSeedFalsePositivesAreTheKernels) {
  for (uint32_t value_size : {4u, 6u}) {
    SCOPED_TRACE(value_size);
    const int fd =
        this->MustCreate(this->Bloom(value_size, 8, 1, BPF_F_ZERO_SEED));
    std::vector<uint8_t> value(value_size);
    for (uint32_t v = 0; v < 16; ++v) {
      value.assign(value_size, 0);
      std::memcpy(value.data(), &v, 4);
      ASSERT_EQ(this->b().Update(fd, nullptr, value.data(), BPF_ANY), 0);
    }
    std::vector<uint32_t> positives;
    for (uint32_t v = 1000; v < 1200; ++v) {
      value.assign(value_size, 0);
      std::memcpy(value.data(), &v, 4);
      const int err = this->b().Lookup(fd, nullptr, value.data(), 0);
      ASSERT_TRUE(err == 0 || err == -ENOENT) << err;
      if (err == 0) positives.push_back(v);
    }
    // Recorded on 6.18: the absent values that hash onto set bits (jhash2
    // for the 4-byte values, jhash for the 6-byte ones).
    const std::vector<uint32_t> kernel4 = {
        1002, 1004, 1006, 1011, 1017, 1018, 1020, 1029, 1035, 1036, 1038,
        1039, 1042, 1045, 1053, 1054, 1066, 1067, 1071, 1072, 1078, 1079,
        1087, 1091, 1092, 1094, 1099, 1101, 1103, 1113, 1114, 1122, 1123,
        1129, 1132, 1136, 1149, 1152, 1156, 1157, 1159, 1163, 1165, 1168,
        1174, 1177, 1181, 1186, 1188, 1190, 1191};
    const std::vector<uint32_t> kernel6 = {
        1004, 1020, 1022, 1031, 1034, 1044, 1052, 1053, 1064, 1066, 1071, 1074,
        1076, 1080, 1081, 1083, 1084, 1089, 1090, 1094, 1100, 1102, 1111, 1112,
        1121, 1124, 1133, 1135, 1139, 1140, 1144, 1151, 1152, 1157, 1159, 1160,
        1165, 1174, 1176, 1177, 1178, 1186, 1188, 1190, 1192, 1197, 1198, 1199};
    EXPECT_EQ(positives, value_size == 4 ? kernel4 : kernel6);
  }
}

REGISTER_TYPED_TEST_SUITE_P(BloomConformance, CreateChecks, Commands,
                            ZeroSeedFalsePositivesAreTheKernels);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_BLOOM_CONFORMANCE_H_
