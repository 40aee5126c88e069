// SPDX-License-Identifier: Apache-2.0
// File: fuzz_input.h
//
// Reads typed values off a fuzzer's byte string; once it runs out, every
// read gives zeros, so a harness never needs to check lengths.

#ifndef BPFEMU_FUZZ_FUZZ_INPUT_H_
#define BPFEMU_FUZZ_FUZZ_INPUT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

// A check that stays in optimised builds (unlike assert).
#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, \
                   __LINE__);                                                  \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace bpfemu::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  template <typename T>
  T Get() {
    T v{};
    const size_t n = std::min(sizeof(T), size_ - pos_);
    std::memcpy(&v, data_ + pos_, n);
    pos_ += n;
    return v;
  }
  // A value in [0, n) (n > 0).
  uint32_t Below(uint32_t n) { return Get<uint32_t>() % n; }
  bool Bool() { return Get<uint8_t>() & 1; }
  // `n` bytes (zero-padded past the end of the input).
  std::vector<uint8_t> Bytes(size_t n) {
    std::vector<uint8_t> out(n, 0);
    const size_t avail = std::min(n, size_ - pos_);
    if (avail > 0) std::memcpy(out.data(), data_ + pos_, avail);
    pos_ += avail;
    return out;
  }
  bool empty() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace bpfemu::fuzz

#endif  // BPFEMU_FUZZ_FUZZ_INPUT_H_
