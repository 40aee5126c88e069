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

// A copy of `size` bytes from src at src_off to dst at dst_off, over the
// whole of both dynptrs.
constexpr Value Copy(uint32_t dst, uint32_t src, uint32_t dst_off,
                     uint32_t src_off, uint32_t size) {
  return {kCopy, dst, src, 0, 0, 0, 0, dst_off, src_off, size, 0};
}

// A memset of `size` bytes of dst at `off` to `val`, over the whole dynptr.
constexpr Value Memset(uint32_t dst, uint32_t off, uint32_t size,
                       uint32_t val) {
  return {kMemset, dst, kBuf0, 0, 0, 0, 0, off, 0, size, val};
}

// `v` on the window [start, end) of the destination (bpf_dynptr_adjust).
constexpr Value DstWindow(Value v, uint32_t start, uint32_t end) {
  v.dst_start = start;
  v.dst_end = end;
  return v;
}

// `v` on the window [start, end) of the source.
constexpr Value SrcWindow(Value v, uint32_t start, uint32_t end) {
  v.src_start = start;
  v.src_end = end;
  return v;
}

inline std::vector<Case> Cases() {
  return {
      {"copy buf0 to buf1", Copy(kBuf1, kBuf0, 0, 0, 16)},
      {"copy at offsets", Copy(kBuf1, kBuf0, 100, 7, 40)},
      {"copy 300 bytes", Copy(kBuf1, kBuf0, 3, 9, 300)},
      {"copy whole buffer", Copy(kBuf1, kBuf0, 0, 0, 512)},
      {"copy dst past end", Copy(kBuf1, kBuf0, 500, 0, 13)},
      {"copy src past end", Copy(kBuf1, kBuf0, 0, 510, 4)},
      {"copy both past end", Copy(kBuf1, kBuf0, 509, 510, 4)},
      {"copy dst offset huge", Copy(kBuf1, kBuf0, 0xfffffff0u, 0, 32)},
      {"copy size huge", Copy(kBuf1, kBuf0, 0, 0, 0x80000000u)},
      {"copy overlap forward", Copy(kBuf0, kBuf0, 4, 0, 64)},
      {"copy overlap back", Copy(kBuf0, kBuf0, 0, 5, 64)},
      {"copy size 0", Copy(kBuf1, kBuf0, 0, 0, 0)},
      {"copy size 0 at end", Copy(kBuf1, kBuf0, 512, 512, 0)},
      {"copy size 0 past end", Copy(kBuf1, kBuf0, 513, 0, 0)},
      {"copy skb to buf1", Copy(kBuf1, kSkb, 0, 0, 32)},
      {"copy skb tail to buf1", Copy(kBuf1, kSkb, 8, 40, 24)},
      {"copy skb past end to buf1", Copy(kBuf1, kSkb, 0, 60, 8)},
      {"copy buf0 to skb", Copy(kSkb, kBuf0, 14, 0, 20)},
      {"copy buf0 to skb past end", Copy(kSkb, kBuf0, 60, 0, 8)},
      {"copy skb to skb", Copy(kSkb, kSkb, 6, 0, 6)},
      {"copy skb to skb past end", Copy(kSkb, kSkb, 0, 40, 30)},
      {"copy null src", Copy(kBuf1, kNull, 0, 0, 4)},
      {"copy null src size 0", Copy(kBuf1, kNull, 0, 0, 0)},
      {"copy null dst", Copy(kNull, kBuf0, 0, 0, 4)},
      {"copy null dst size 0", Copy(kNull, kBuf0, 0, 0, 0)},
      {"copy null both size 0", Copy(kNull, kNull, 0, 0, 0)},
      {"copy null both size 1", Copy(kNull, kNull, 0, 0, 1)},
      {"copy null dst skb src", Copy(kNull, kSkb, 0, 0, 4)},
      {"copy adjusted dst fits",
       DstWindow(Copy(kBuf1, kBuf0, 10, 0, 10), 100, 120)},
      {"copy adjusted dst over",
       DstWindow(Copy(kBuf1, kBuf0, 10, 0, 11), 100, 120)},
      {"copy adjusted src", SrcWindow(Copy(kBuf1, kBuf0, 0, 50, 10), 200, 260)},
      {"copy adjusted skb src", SrcWindow(Copy(kBuf1, kSkb, 0, 0, 20), 14, 34)},
      {"copy adjusted skb src over",
       SrcWindow(Copy(kBuf1, kSkb, 0, 0, 21), 14, 34)},
      {"memset buf0", Memset(kBuf0, 0, 16, 0xab)},
      {"memset buf1 middle", Memset(kBuf1, 200, 300, 0x5a)},
      {"memset whole", Memset(kBuf1, 0, 512, 0x11)},
      {"memset past end", Memset(kBuf1, 500, 13, 0x22)},
      {"memset offset huge", Memset(kBuf1, 0xffffff00u, 512, 0x22)},
      {"memset size 0", Memset(kBuf1, 7, 0, 0x33)},
      {"memset size 0 past end", Memset(kBuf1, 513, 0, 0x33)},
      {"memset val wide", Memset(kBuf0, 0, 8, 0x1ff)},
      {"memset adjusted", DstWindow(Memset(kBuf0, 5, 5, 0x44), 10, 20)},
      {"memset adjusted over", DstWindow(Memset(kBuf0, 5, 6, 0x44), 10, 20)},
      {"memset skb", Memset(kSkb, 14, 8, 0xee)},
      {"memset skb past end", Memset(kSkb, 0, 65, 0xee)},
      {"memset skb size 0 at end", Memset(kSkb, 64, 0, 0xee)},
      {"memset null", Memset(kNull, 0, 1, 0x55)},
      {"memset null size 0", Memset(kNull, 0, 0, 0x55)},
      {"memset null offset 1 size 0", Memset(kNull, 1, 0, 0x55)},
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
