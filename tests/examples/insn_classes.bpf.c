// SPDX-License-Identifier: GPL-2.0
// Every instruction class clang emits with -mcpu=v3: ALU and ALU32
// arithmetic, shifts (logical and arithmetic), JMP and JMP32 comparisons,
// byte swaps, loads and stores of each size, and atomics with and without
// fetch (add/or/xor/and, xchg, cmpxchg) in both widths. Each result goes
// into its own slot of `results`, so a run's whole map can be compared.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 48);
  __type(key, __u32);
  __type(value, __u64);
} results SEC(".maps");

static __always_inline void put(__u32 k, __u64 v) {
  bpf_map_update_elem(&results, &k, &v, BPF_ANY);
}

SEC("raw_tp/insn_classes")
int classes(__u64 *ctx) {
  __u64 a = ctx[0], b = ctx[1];
  __u32 a32 = (__u32)a, b32 = (__u32)b;
  __s64 sa = (__s64)a, sb = (__s64)b;
  __s32 sa32 = (__s32)a32, sb32 = (__s32)b32;

  put(0, a + b);
  put(1, a - b);
  put(2, a * b);
  put(3, b ? a / b : 7);
  put(4, b ? a % b : 7);
  put(5, a << (b & 63));
  put(6, a >> (b & 63));
  put(7, (__u64)(sa >> (b & 63)));
  put(8, a32 + b32);
  put(9, a32 * b32);
  put(10, b32 ? a32 / b32 : 7);
  put(11, b32 ? a32 % b32 : 7);
  put(12, a32 >> (b32 & 31));
  put(13, (__u32)(sa32 >> (b32 & 31)));
  put(14, 0 - a); /* neg (unsigned: no overflow natively) */
  put(15, (__u32)0 - a32);
  put(16, (a < b) | (a <= b) << 1 | (sa < sb) << 2 | (sa <= sb) << 3 |
              (a > b) << 4 | (sa > sb) << 5 | (a == b) << 6 |
              ((a & b) != 0) << 7);
  put(17, (a32 < b32) | (a32 <= b32) << 1 | (sa32 < sb32) << 2 |
              (sa32 <= sb32) << 3 | (a32 > b32) << 4 | (sa32 > sb32) << 5 |
              (a32 == b32) << 6 | ((a32 & b32) != 0) << 7);
  put(18, (__u64)(__s64)(__s8)a);
  put(19, (__u64)(__s64)(__s16)b);
  put(20, (__u64)(__s64)(__s32)a);
  put(21, __builtin_bswap16((__u16)a));
  put(22, __builtin_bswap32(a32));
  put(23, __builtin_bswap64(b));
  put(24, a ^ ~b);
  put(25, (a | b) & (a32 ^ b));

  /* Loads of each size from the stack. */
  __u64 buf[2] = {a, b};
  const volatile __u8 *bytes = (const volatile __u8 *)buf;
  const volatile __u16 *halves = (const volatile __u16 *)buf;
  const volatile __u32 *words = (const volatile __u32 *)buf;
  put(26, bytes[b & 15] | (__u64)halves[a & 7] << 8 | (__u64)words[1] << 32);

  /* Atomics on map values, 64- and 32-bit. */
  __u32 k = 40;
  __u64 *v = bpf_map_lookup_elem(&results, &k);
  if (!v) return 0;
  *v = a;
  put(27, __sync_fetch_and_add(v, b));
  put(28, __sync_fetch_and_or(v, b));
  put(29, __sync_fetch_and_xor(v, a));
  put(30, __sync_fetch_and_and(v, b | 1));
  put(31, __sync_lock_test_and_set(v, a));
  put(32, __sync_val_compare_and_swap(v, a, b));
  put(33, __sync_val_compare_and_swap(v, a, 5));
  __sync_fetch_and_add(v, 3); /* without fetch */
  __u32 *w = (__u32 *)v;
  put(34, __sync_fetch_and_add(w, b32));
  put(35, __sync_fetch_and_xor(w + 1, a32));
  put(36, __sync_lock_test_and_set(w, b32));
  put(37, __sync_val_compare_and_swap(w + 1, w[1], a32));
  return (int)(a32 ^ b32);
}

char LICENSE[] SEC("license") = "GPL";
