// SPDX-License-Identifier: Apache-2.0
#include "emu/jhash.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace bpfemu {
namespace {

// Vectors of include/linux/jhash.h's jhash2()/jhash(), computed by a
// reimplementation verified against the 6.18 kernel's bucket order
// (order_compare_test).
TEST(Jhash, Jhash2SingleWordSeedZero) {
  const uint32_t k[] = {0, 1, 2, 3};
  EXPECT_EQ(Jhash2(&k[0], 1, 0), 0x049396b8u);
  EXPECT_EQ(Jhash2(&k[1], 1, 0), 0x72a82a9bu);
  EXPECT_EQ(Jhash2(&k[2], 1, 0), 0xee626ccau);
  EXPECT_EQ(Jhash2(&k[3], 1, 0), 0x9917754fu);
}

TEST(Jhash, Jhash2WithSeed) {
  const uint32_t k = 0;
  EXPECT_EQ(Jhash2(&k, 1, 0x12345678), 0xf338518du);
}

TEST(Jhash, Jhash2ThreeWordsEqualsJhashOfTheirBytes) {
  const uint32_t k[] = {1, 2, 3};
  EXPECT_EQ(Jhash2(k, 3, 0), 0xa46158f5u);
  EXPECT_EQ(Jhash(k, 12, 0), 0xa46158f5u);
}

TEST(Jhash, BytesNotMultipleOfFour) {
  const uint8_t five[] = {1, 2, 3, 4, 5};
  EXPECT_EQ(Jhash(five, 5, 0), 0xf85554a4u);
  uint8_t thirteen[13];
  for (int i = 0; i < 13; ++i) thirteen[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Jhash(thirteen, 13, 0), 0xbc9d6816u);
}

TEST(Jhash, EmptyInputIsInitval) {
  EXPECT_EQ(Jhash(nullptr, 0, 0), 0xdeadbeefu);
}

TEST(Jhash, HtabMapHashAgreesForAlignedAndUnalignedKeys) {
  alignas(8) uint8_t buf[40] = {};
  for (int i = 0; i < 40; ++i) buf[i] = static_cast<uint8_t>(i * 7 + 1);
  for (uint32_t len : {4u, 8u, 12u, 16u, 24u, 36u}) {
    alignas(8) uint8_t aligned[40];
    std::copy(buf + 1, buf + 1 + len, aligned);
    EXPECT_EQ(HtabMapHash(buf + 1, len, 7), HtabMapHash(aligned, len, 7))
        << "len " << len;
  }
}

TEST(Jhash, Jhash1WordEqualsJhash2OfOneWord) {
  // The seed-folded single-word form against jhash2 itself: the vectors
  // above, then words and seeds spread over the whole u32 range.
  EXPECT_EQ(Jhash1Word(0)(0), 0x049396b8u);
  EXPECT_EQ(Jhash1Word(0)(3), 0x9917754fu);
  EXPECT_EQ(Jhash1Word(0x12345678)(0), 0xf338518du);
  uint32_t x = 1;
  for (int i = 0; i < 200000; ++i) {
    x = x * 1664525u + 1013904223u;
    const uint32_t seed = (i % 7 == 0) ? 0 : x * 2654435761u;
    const uint32_t word = x ^ (x >> 13);
    ASSERT_EQ(Jhash1Word(seed)(word), Jhash2(&word, 1, seed))
        << "word " << word << " seed " << seed;
    ASSERT_EQ(Jhash1Word(seed)(word), HtabMapHash(&word, 4, seed));
  }
  for (uint32_t word : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xffffffffu}) {
    for (uint32_t seed : {0u, 1u, 0xdeadbeefu, 0xffffffffu}) {
      EXPECT_EQ(Jhash1Word(seed)(word), Jhash2(&word, 1, seed));
    }
  }
}

}  // namespace
}  // namespace bpfemu
