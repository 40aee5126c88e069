// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/iter_bits.bpf.c, shared by
// iter_bits_compare_test.cc (kernel against bpfemu) and iter_bits_test.cc
// (bpfemu alone): word counts from 0 to 512, bitmaps in the map value and
// on the stack, and bad addresses, with bpf_iter_bits_new()'s answer as
// measured on 6.18 and the bits a walk must find (Expected()).

#ifndef BPFEMU_TESTS_EXAMPLES_ITER_BITS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_ITER_BITS_CASES_H_

#include <cerrno>
#include <cstdint>
#include <vector>

namespace bpfemu::examples::iter_bits {

// iter_bits.bpf.c's structs and enum.
enum Kind : uint32_t { kMap, kStack, kAddr };
constexpr uint32_t kWords = 512;
struct BitsCase {
  uint32_t nr_words;
  uint32_t kind;
  uint64_t addr;
};
struct BitsOut {
  int32_t new_ret;
  uint32_t count;
  int64_t sum;
  int32_t first[16];
  int32_t last;
  int32_t after;
  bool operator==(const BitsOut&) const = default;
};

struct Case {
  BitsCase value;
  std::vector<uint64_t> words;  // the map value's first words (rest 0)
  int32_t want_ret;
};

// x86-64 addresses: NULL, a user address, the guard hole, a non-canonical
// one, the vsyscall page.
constexpr uint64_t kUser = 0x400000, kGuardHole = 0xffff800000000000;
constexpr uint64_t kNonCanonical = 0x8000000000000000;
constexpr uint64_t kVsyscall = 0xffffffffff600000;

// Natively the program's own memory (see native/bits_kfuncs.cc): the
// kernel's -ERANGE for a user address is the interpreter's only.
inline bool UserHalf(const BitsCase& c) {
  return c.kind == kAddr && c.addr >= 4096 && c.addr < 0x7ffffffff000 + 4096;
}

inline std::vector<Case> AllCases() {
  const uint64_t ones = ~uint64_t{0};
  std::vector<Case> v = {
      {{1, kMap, 0}, {0}, 0},
      {{1, kMap, 0}, {0x8000000000000001}, 0},
      {{1, kMap, 0}, {ones}, 0},
      {{1, kMap, 0}, {0x00f0000000000f00}, 0},
      {{2, kMap, 0}, {0, uint64_t{1} << 5}, 0},
      {{3, kMap, 0}, {1, 0, uint64_t{1} << 63}, 0},
      {{8, kMap, 0}, {0x123456789abcdef0, 0, ones, 5, 0, 0, 0, 1}, 0},
      {{511, kMap, 0}, std::vector<uint64_t>(511, ones), 0},
      {{511, kMap, 0}, std::vector<uint64_t>(512, 0x1001), 0},
      {{512, kMap, 0}, {ones}, -E2BIG},
      {{0xffffffff, kMap, 0}, {ones}, -E2BIG},
      {{0, kMap, 0}, {ones}, -EINVAL},
      {{1, kStack, 0}, {0xa5}, 0},
      {{2, kStack, 0}, {0x3, uint64_t{1} << 40}, 0},
      {{1, kAddr, 0}, {}, -EINVAL},
      {{0, kAddr, kGuardHole}, {}, -EINVAL},
      {{1, kAddr, kUser}, {}, -EFAULT},
      {{2, kAddr, kUser}, {}, -ERANGE},
      {{1, kAddr, 4096}, {}, -EFAULT},
      {{2, kAddr, 4096}, {}, -ERANGE},
      {{1, kAddr, kGuardHole}, {}, -EFAULT},
      {{4, kAddr, kGuardHole}, {}, -EFAULT},
      {{1, kAddr, kNonCanonical}, {}, -EFAULT},
      {{2, kAddr, kNonCanonical}, {}, -ERANGE},
      {{1, kAddr, kVsyscall}, {}, -EFAULT},
      {{2, kAddr, kVsyscall}, {}, -ERANGE},
      {{600, kAddr, kGuardHole}, {}, -E2BIG},
  };
  return v;
}

// What a walk records for a case whose bpf_iter_bits_new() returned 0
// (the stack bitmap is the map value's first two words).
inline BitsOut Expected(const Case& c) {
  BitsOut o{};
  o.new_ret = c.want_ret;
  o.last = -1;
  if (c.want_ret != 0) return o;
  for (uint32_t b = 0; b < c.value.nr_words * 64; ++b) {
    const uint64_t w = b / 64 < c.words.size() ? c.words[b / 64] : 0;
    if (((w >> (b % 64)) & 1) == 0) continue;
    if (o.count < 16) o.first[o.count] = static_cast<int32_t>(b);
    ++o.count;
    o.sum += b;
    o.last = static_cast<int32_t>(b);
  }
  return o;
}

inline std::vector<uint64_t> Words(const Case& c) {
  std::vector<uint64_t> w(kWords, 0);
  for (size_t i = 0; i < c.words.size() && i < kWords; ++i) w[i] = c.words[i];
  return w;
}

}  // namespace bpfemu::examples::iter_bits

#endif  // BPFEMU_TESTS_EXAMPLES_ITER_BITS_CASES_H_
