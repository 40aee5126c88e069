// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/dynptr_ops.bpf.c (bpf_dynptr_copy and
// bpf_dynptr_memset, Linux 6.18) and their record: one line per case and
// program, "<prog> <case>\t<err>\t<retval>\t<return value>\t<bufs[0] hex>
// \t<bufs[1] hex>\t<data_out hex>". dynptr_ops_compare_test runs them on
// the kernel and on bpfemu and writes the kernel's lines to
// testdata/dynptr_ops.expected when DYNPTR_OPS_RECORD names that file;
// dynptr_ops_test checks bpfemu against it without root.

#ifndef BPFEMU_TESTS_EXAMPLES_DYNPTR_OPS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_DYNPTR_OPS_CASES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tests/examples/packets.h"

namespace bpfemu::examples::dynptr_ops {

inline constexpr uint32_t kBufLen = 512;

enum Op : uint32_t { kCopy, kMemset };
enum Kind : uint32_t { kBuf0, kBuf1, kSkb, kNull };

// struct ops_case of dynptr_ops.bpf.c.
struct Value {
  uint32_t op;
  uint32_t dst_kind, src_kind;
  uint32_t dst_start, dst_end;
  uint32_t src_start, src_end;
  uint32_t dst_off, src_off;
  uint32_t size;
  uint32_t val;
};

struct Case {
  std::string name;
  Value v;
};

inline std::vector<Case> Cases() {
  // op, dst, src, dst window, src window, dst_off, src_off, size, val
  return {
      {"copy buf0 to buf1", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 0, 0, 16, 0}},
      {"copy at offsets", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 100, 7, 40, 0}},
      {"copy 300 bytes", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 3, 9, 300, 0}},
      {"copy whole buffer", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 0, 0, 512, 0}},
      {"copy dst past end", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 500, 0, 13, 0}},
      {"copy src past end", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 0, 510, 4, 0}},
      {"copy both past end", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 509, 510, 4, 0}},
      {"copy dst offset huge",
       {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 0xfffffff0u, 0, 32, 0}},
      {"copy size huge",
       {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 0, 0, 0x80000000u, 0}},
      {"copy overlap forward", {kCopy, kBuf0, kBuf0, 0, 0, 0, 0, 4, 0, 64, 0}},
      {"copy overlap back", {kCopy, kBuf0, kBuf0, 0, 0, 0, 0, 0, 5, 64, 0}},
      {"copy size 0", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {"copy size 0 at end", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 512, 512, 0, 0}},
      {"copy size 0 past end", {kCopy, kBuf1, kBuf0, 0, 0, 0, 0, 513, 0, 0, 0}},
      {"copy skb to buf1", {kCopy, kBuf1, kSkb, 0, 0, 0, 0, 0, 0, 32, 0}},
      {"copy skb tail to buf1", {kCopy, kBuf1, kSkb, 0, 0, 0, 0, 8, 40, 24, 0}},
      {"copy skb past end to buf1",
       {kCopy, kBuf1, kSkb, 0, 0, 0, 0, 0, 60, 8, 0}},
      {"copy buf0 to skb", {kCopy, kSkb, kBuf0, 0, 0, 0, 0, 14, 0, 20, 0}},
      {"copy buf0 to skb past end",
       {kCopy, kSkb, kBuf0, 0, 0, 0, 0, 60, 0, 8, 0}},
      {"copy skb to skb", {kCopy, kSkb, kSkb, 0, 0, 0, 0, 6, 0, 6, 0}},
      {"copy skb to skb past end",
       {kCopy, kSkb, kSkb, 0, 0, 0, 0, 0, 40, 30, 0}},
      {"copy null src", {kCopy, kBuf1, kNull, 0, 0, 0, 0, 0, 0, 4, 0}},
      {"copy null src size 0", {kCopy, kBuf1, kNull, 0, 0, 0, 0, 0, 0, 0, 0}},
      {"copy null dst", {kCopy, kNull, kBuf0, 0, 0, 0, 0, 0, 0, 4, 0}},
      {"copy null dst size 0", {kCopy, kNull, kBuf0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {"copy null both size 0", {kCopy, kNull, kNull, 0, 0, 0, 0, 0, 0, 0, 0}},
      {"copy null both size 1", {kCopy, kNull, kNull, 0, 0, 0, 0, 0, 0, 1, 0}},
      {"copy null dst skb src", {kCopy, kNull, kSkb, 0, 0, 0, 0, 0, 0, 4, 0}},
      {"copy adjusted dst fits",
       {kCopy, kBuf1, kBuf0, 100, 120, 0, 0, 10, 0, 10, 0}},
      {"copy adjusted dst over",
       {kCopy, kBuf1, kBuf0, 100, 120, 0, 0, 10, 0, 11, 0}},
      {"copy adjusted src",
       {kCopy, kBuf1, kBuf0, 0, 0, 200, 260, 0, 50, 10, 0}},
      {"copy adjusted skb src",
       {kCopy, kBuf1, kSkb, 0, 0, 14, 34, 0, 0, 20, 0}},
      {"copy adjusted skb src over",
       {kCopy, kBuf1, kSkb, 0, 0, 14, 34, 0, 0, 21, 0}},
      {"memset buf0", {kMemset, kBuf0, kBuf0, 0, 0, 0, 0, 0, 0, 16, 0xab}},
      {"memset buf1 middle",
       {kMemset, kBuf1, kBuf0, 0, 0, 0, 0, 200, 0, 300, 0x5a}},
      {"memset whole", {kMemset, kBuf1, kBuf0, 0, 0, 0, 0, 0, 0, 512, 0x11}},
      {"memset past end",
       {kMemset, kBuf1, kBuf0, 0, 0, 0, 0, 500, 0, 13, 0x22}},
      {"memset offset huge",
       {kMemset, kBuf1, kBuf0, 0, 0, 0, 0, 0xffffff00u, 0, 512, 0x22}},
      {"memset size 0", {kMemset, kBuf1, kBuf0, 0, 0, 0, 0, 7, 0, 0, 0x33}},
      {"memset size 0 past end",
       {kMemset, kBuf1, kBuf0, 0, 0, 0, 0, 513, 0, 0, 0x33}},
      {"memset val wide", {kMemset, kBuf0, kBuf0, 0, 0, 0, 0, 0, 0, 8, 0x1ff}},
      {"memset adjusted", {kMemset, kBuf0, kBuf0, 10, 20, 0, 0, 5, 0, 5, 0x44}},
      {"memset adjusted over",
       {kMemset, kBuf0, kBuf0, 10, 20, 0, 0, 5, 0, 6, 0x44}},
      {"memset skb", {kMemset, kSkb, kBuf0, 0, 0, 0, 0, 14, 0, 8, 0xee}},
      {"memset skb past end",
       {kMemset, kSkb, kBuf0, 0, 0, 0, 0, 0, 0, 65, 0xee}},
      {"memset skb size 0 at end",
       {kMemset, kSkb, kBuf0, 0, 0, 0, 0, 64, 0, 0, 0xee}},
      {"memset null", {kMemset, kNull, kBuf0, 0, 0, 0, 0, 0, 0, 1, 0x55}},
      {"memset null size 0",
       {kMemset, kNull, kBuf0, 0, 0, 0, 0, 0, 0, 0, 0x55}},
      {"memset null offset 1 size 0",
       {kMemset, kNull, kBuf0, 0, 0, 0, 0, 1, 0, 0, 0x55}},
  };
}

// The packet: 64 bytes of an IPv4 / UDP frame.
inline std::vector<uint8_t> Packet() { return Ipv4Frame(1, 2, 3, 4, 17, 64); }

// The buffers before each run: bufs[0][i] = i, bufs[1][i] = 0x80 ^ i.
inline void InitialBufs(uint8_t b0[kBufLen], uint8_t b1[kBufLen]) {
  for (uint32_t i = 0; i < kBufLen; ++i) {
    b0[i] = static_cast<uint8_t>(i);
    b1[i] = static_cast<uint8_t>(0x80 ^ i);
  }
}

inline std::string Hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

inline std::string Line(const std::string& name, int err, uint32_t retval,
                        int64_t ret, const uint8_t* b0, const uint8_t* b1,
                        const std::vector<uint8_t>& data_out) {
  return name + "\t" + std::to_string(err) + "\t" + std::to_string(retval) +
         "\t" + std::to_string(ret) + "\t" + Hex(b0, kBufLen) + "\t" +
         Hex(b1, kBufLen) + "\t" + Hex(data_out.data(), data_out.size()) + "\n";
}

}  // namespace bpfemu::examples::dynptr_ops

#endif  // BPFEMU_TESTS_EXAMPLES_DYNPTR_OPS_CASES_H_
