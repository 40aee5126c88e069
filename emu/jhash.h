// SPDX-License-Identifier: Apache-2.0
// File: jhash.h
//
// Bob Jenkins' lookup3 hash as the kernel implements it in
// include/linux/jhash.h (unchanged from 6.1 to 6.18), and the hash-table hash
// that picks between its two forms (kernel/bpf/hashtab.c htab_map_hash). Bucket
// order, and with it get_next_key and batch order of every hash map, follows
// from these values.
//
// All arithmetic is on uint32_t with wrap-around. Words are read little-endian
// with unaligned loads, as the kernel does on x86-64.

#ifndef BPFEMU_EMU_JHASH_H_
#define BPFEMU_EMU_JHASH_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bpfemu {

inline constexpr uint32_t kJhashInitval = 0xdeadbeef;

namespace jhash_internal {

constexpr uint32_t Rol32(uint32_t x, int s) {
  return (x << s) | (x >> (32 - s));
}

// __jhash_mix: reversibly mixes three 32-bit values.
inline void Mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c;
  a ^= Rol32(c, 4);
  c += b;
  b -= a;
  b ^= Rol32(a, 6);
  a += c;
  c -= b;
  c ^= Rol32(b, 8);
  b += a;
  a -= c;
  a ^= Rol32(c, 16);
  c += b;
  b -= a;
  b ^= Rol32(a, 19);
  a += c;
  c -= b;
  c ^= Rol32(b, 4);
  b += a;
}

// __jhash_final: final mixing of three values into c.
inline void Final(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b;
  c -= Rol32(b, 14);
  a ^= c;
  a -= Rol32(c, 11);
  b ^= a;
  b -= Rol32(a, 25);
  c ^= b;
  c -= Rol32(b, 16);
  a ^= c;
  a -= Rol32(c, 4);
  b ^= a;
  b -= Rol32(a, 14);
  c ^= b;
  c -= Rol32(b, 24);
}

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace jhash_internal

// jhash(key, length, initval): hash of an arbitrary byte string.
inline uint32_t Jhash(const void* key, uint32_t length, uint32_t initval) {
  using namespace jhash_internal;
  const auto* k = static_cast<const uint8_t*>(key);
  uint32_t a = kJhashInitval + length + initval;
  uint32_t b = a;
  uint32_t c = a;
  while (length > 12) {
    a += Load32(k);
    b += Load32(k + 4);
    c += Load32(k + 8);
    Mix(a, b, c);
    length -= 12;
    k += 12;
  }
  if (length == 0) return c;  // nothing left: no final mixing
  // The tail: byte i of each 4-byte group lands at bits 8*i of a, b or c.
  uint32_t tail[3] = {0, 0, 0};
  for (uint32_t i = 0; i < length; ++i) {
    tail[i / 4] |= static_cast<uint32_t>(k[i]) << (8 * (i % 4));
  }
  a += tail[0];
  b += tail[1];
  c += tail[2];
  Final(a, b, c);
  return c;
}

// jhash2(words, nwords, initval): hash of an array of u32.
[[gnu::always_inline]] inline uint32_t Jhash2(const uint32_t* k,
                                              uint32_t nwords,
                                              uint32_t initval) {
  using namespace jhash_internal;
  uint32_t a = kJhashInitval + (nwords << 2) + initval;
  uint32_t b = a;
  uint32_t c = a;
  while (nwords > 3) {
    a += k[0];
    b += k[1];
    c += k[2];
    Mix(a, b, c);
    nwords -= 3;
    k += 3;
  }
  switch (nwords) {
    case 3:
      c += k[2];
      [[fallthrough]];
    case 2:
      b += k[1];
      [[fallthrough]];
    case 1:
      a += k[0];
      Final(a, b, c);
      break;
    default:
      break;
  }
  return c;
}

// jhash2(&word, 1, seed) for a fixed seed: htab_map_hash() of a 4-byte key
// (include/linux/jhash.h jhash2 and __jhash_final), with the part that depends
// on the seed alone computed once, when the map is bound. Before the word is
// added, a, b and c all hold kJhashInitval + 4 + seed, so __jhash_final's
// first line (c ^= b; c -= rol32(b, 14)) leaves c a constant, and its second
// line subtracts a constant from a. The result is jhash2's, bit for bit
// (jhash_test.cc compares the two).
class Jhash1Word {
 public:
  explicit Jhash1Word(uint32_t seed = 0)
      : init_(kJhashInitval + 4 + seed),
        c0_(0u - jhash_internal::Rol32(init_, 14)),
        a_sub_(jhash_internal::Rol32(c0_, 11)) {}

  [[gnu::always_inline]] uint32_t operator()(uint32_t word) const {
    using jhash_internal::Rol32;
    uint32_t a = ((init_ + word) ^ c0_) - a_sub_;
    uint32_t b = init_;
    uint32_t c = c0_;
    b ^= a;
    b -= Rol32(a, 25);
    c ^= b;
    c -= Rol32(b, 16);
    a ^= c;
    a -= Rol32(c, 4);
    b ^= a;
    b -= Rol32(a, 14);
    c ^= b;
    c -= Rol32(b, 24);
    return c;
  }

 private:
  uint32_t init_;   // a, b and c before the word is added
  uint32_t c0_;     // c after __jhash_final's first line
  uint32_t a_sub_;  // what its second line subtracts from a
};

// htab_map_hash(): jhash2 over u32 words when the key size is a multiple of 4,
// jhash over bytes otherwise. (On little-endian hosts both agree; the split is
// kept so the code reads like the kernel's.)
[[gnu::always_inline]] inline uint32_t HtabMapHash(const void* key,
                                                   uint32_t key_len,
                                                   uint32_t seed) {
  // The common key sizes with the word count known at compile time, so the
  // loop and the switch fold away.
  if (key_len == 4 || key_len == 8) {
    uint32_t w[2];
    std::memcpy(w, key, 8 == key_len ? 8 : 4);
    return key_len == 4 ? Jhash2(w, 1, seed) : Jhash2(w, 2, seed);
  }
  if (key_len % 4 == 0) {
    // The key may be unaligned in a caller's buffer; jhash over the same bytes
    // is bit-identical to jhash2 on little-endian.
    if (reinterpret_cast<uintptr_t>(key) % alignof(uint32_t) == 0) {
      return Jhash2(static_cast<const uint32_t*>(key), key_len / 4, seed);
    }
  }
  return Jhash(key, key_len, seed);
}

}  // namespace bpfemu

#endif  // BPFEMU_EMU_JHASH_H_
