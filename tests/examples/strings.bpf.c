// SPDX-License-Identifier: GPL-2.0
// bpf_strncmp, bpf_strtol and bpf_strtoul on many inputs, every error path
// included, and the clocks' relations (bpf_ktime_get_ns, _boot_ns,
// _coarse_ns, _tai_ns, bpf_jiffies64) and bpf_get_numa_node_id. Each result
// lands in `out`, which the kernel and bpfemu must fill alike.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 160);
  __type(key, __u32);
  __type(value, __s64);
} out SEC(".maps");

static __always_inline void put(__u32 slot, __s64 v) {
  bpf_map_update_elem(&out, &slot, &v, BPF_ANY);
}

// Inputs (.rodata): ARG_PTR_TO_MEM for strtol/strtoul and s1, and the
// constant strings bpf_strncmp's s2 must be.
const char in_dec[] = "  \t-1234xyz";
const char in_hex[] = "0x1fZ";
const char in_oct[] = "0755 ";
const char in_zero_x[] = "0x";
const char in_zero_xg[] = "0xg";
const char in_upper_x[] = "0XaB";
const char in_plus[] = "+5";
const char in_spaces[] = " \n\v\f\r ";
const char in_minus[] = "-";
const char in_minus_minus[] = "--5";
const char in_letters[] = "abc";
const char in_s64_max[] = "9223372036854775807";
const char in_s64_over[] = "9223372036854775808";
const char in_s64_min[] = "-9223372036854775808";
const char in_s64_under[] = "-9223372036854775809";
const char in_u64_max[] = "18446744073709551615";
const char in_u64_over[] = "18446744073709551616";
const char in_hex_max[] = "0xffffffffffffffff";
const char in_hex_over[] = "0x10000000000000000";
const char in_neg_one[] = "-1";
const char in_long_zeros[] =
    "000000000000000000000000000000000000000000000000000000000000000000009";
const char in_nbsp[] =
    "\xa0"
    "42";
const char in_digits[] = "12345";
const char in_oct_bad[] = "08";
const char in_nul_mid[] =
    "12\0"
    "34";

const char in_s_abc[] = "abc";
const char in_s_abd[] = "abd";
const char in_s_ab[] = "ab";
const char in_s_empty[] = "";
const char in_s_high[] = "\xff";
const char in_s_long[] = "abcdefgh";

#define STRTOL(slot, str, len, flags)                   \
  do {                                                  \
    long r = 77;                                        \
    put((slot), bpf_strtol((str), (len), (flags), &r)); \
    put((slot) + 1, r);                                 \
  } while (0)
#define STRTOUL(slot, str, len, flags)                   \
  do {                                                   \
    unsigned long r = 77;                                \
    put((slot), bpf_strtoul((str), (len), (flags), &r)); \
    put((slot) + 1, (__s64)r);                           \
  } while (0)

SEC("tc")
int parse_strtox(struct __sk_buff *skb) {
  STRTOL(0, in_dec, sizeof(in_dec), 0);
  STRTOL(2, in_dec, sizeof(in_dec), 10);
  STRTOL(4, in_dec, sizeof(in_dec), 16); /* "-1234" then 'x': stops */
  STRTOL(6, in_hex, sizeof(in_hex), 0);
  STRTOL(8, in_hex, sizeof(in_hex), 16);
  STRTOL(10, in_hex, sizeof(in_hex), 10); /* "0" */
  STRTOL(12, in_hex, sizeof(in_hex), 8);
  STRTOL(14, in_oct, sizeof(in_oct), 0);
  STRTOL(16, in_oct, sizeof(in_oct), 10);
  STRTOL(18, in_zero_x, sizeof(in_zero_x), 0);  /* base 8: "0" */
  STRTOL(20, in_zero_x, sizeof(in_zero_x), 16); /* prefix, no digit: EINVAL */
  STRTOL(22, in_zero_xg, sizeof(in_zero_xg), 0);
  STRTOL(24, in_upper_x, sizeof(in_upper_x), 0);
  STRTOL(26, in_plus, sizeof(in_plus), 0); /* '+' is no sign: EINVAL */
  STRTOL(28, in_spaces, sizeof(in_spaces), 0);
  STRTOL(30, in_spaces, sizeof(in_spaces) - 1, 0); /* all space: EINVAL */
  STRTOL(32, in_minus, sizeof(in_minus) - 1, 0);   /* "-" alone: EINVAL */
  STRTOL(34, in_minus, sizeof(in_minus), 0);
  STRTOL(36, in_minus_minus, sizeof(in_minus_minus), 0);
  STRTOL(38, in_letters, sizeof(in_letters), 10);
  STRTOL(40, in_letters, sizeof(in_letters), 16);
  STRTOL(42, in_s64_max, sizeof(in_s64_max), 0);
  STRTOL(44, in_s64_over, sizeof(in_s64_over), 0); /* ERANGE */
  STRTOL(46, in_s64_min, sizeof(in_s64_min), 0);
  STRTOL(48, in_s64_under, sizeof(in_s64_under), 0);   /* ERANGE */
  STRTOL(50, in_u64_over, sizeof(in_u64_over), 0);     /* ERANGE (overflow) */
  STRTOL(52, in_hex_max, sizeof(in_hex_max), 0);       /* ERANGE (sign) */
  STRTOL(54, in_long_zeros, sizeof(in_long_zeros), 0); /* 63 chars only */
  STRTOL(56, in_nbsp, sizeof(in_nbsp), 0);             /* NBSP is space */
  STRTOL(58, in_digits, 2, 10);                        /* buf_len cuts */
  STRTOL(60, in_digits, 1, 0);
  STRTOL(62, in_oct_bad, sizeof(in_oct_bad), 0);     /* "0" then '8' */
  STRTOL(64, in_nul_mid, sizeof(in_nul_mid), 0);     /* stops at NUL */
  STRTOL(66, in_digits, sizeof(in_digits), 2);       /* base 2: EINVAL */
  STRTOL(68, in_digits, sizeof(in_digits), 10 | 32); /* flag bit: EINVAL */
  STRTOL(70, in_digits, sizeof(in_digits), 1);
  STRTOL(72, in_digits, sizeof(in_digits), 17);
  STRTOL(74, in_neg_one, sizeof(in_neg_one), 16);

  STRTOUL(80, in_dec, sizeof(in_dec), 0); /* negative: EINVAL */
  STRTOUL(82, in_neg_one, sizeof(in_neg_one), 0);
  STRTOUL(84, in_u64_max, sizeof(in_u64_max), 0);
  STRTOUL(86, in_u64_over, sizeof(in_u64_over), 10); /* ERANGE */
  STRTOUL(88, in_hex_max, sizeof(in_hex_max), 0);
  STRTOUL(90, in_hex_over, sizeof(in_hex_over), 16); /* ERANGE */
  STRTOUL(92, in_hex, sizeof(in_hex), 0);
  STRTOUL(94, in_oct, sizeof(in_oct), 8);
  STRTOUL(96, in_letters, sizeof(in_letters), 0);
  STRTOUL(98, in_digits, sizeof(in_digits), 3);
  STRTOUL(100, in_long_zeros, sizeof(in_long_zeros), 8);
  STRTOUL(102, in_spaces, sizeof(in_spaces) - 1, 10);
  STRTOUL(104, in_s64_over, sizeof(in_s64_over), 0); /* fits a u64 */
  STRTOUL(106, in_upper_x, 3, 0);                    /* "0Xa" */
  return 0;
}

SEC("tc")
int cmp_strings(struct __sk_buff *skb) {
  put(0, bpf_strncmp(in_s_abc, sizeof(in_s_abc), "abc"));
  put(1, bpf_strncmp(in_s_abc, sizeof(in_s_abc), "abd"));
  put(2, bpf_strncmp(in_s_abd, sizeof(in_s_abd), "abc"));
  put(3, bpf_strncmp(in_s_abc, 2, "abd")); /* first 2 equal */
  put(4, bpf_strncmp(in_s_ab, sizeof(in_s_ab), "abc"));
  put(5, bpf_strncmp(in_s_abc, sizeof(in_s_abc), "ab"));
  put(6, bpf_strncmp(in_s_empty, sizeof(in_s_empty), ""));
  put(7, bpf_strncmp(in_s_empty, sizeof(in_s_empty), "a"));
  put(8, bpf_strncmp(in_s_high, sizeof(in_s_high), "a")); /* unsigned bytes */
  put(9, bpf_strncmp(in_s_long, 3, "abc"));
  put(10, bpf_strncmp(in_s_long, 4, "abc"));
  put(11, bpf_strncmp(in_s_long, sizeof(in_s_long), "abcdefgz"));
  put(12, bpf_strncmp(in_s_abd, 1, "b"));
  put(13, bpf_strncmp(in_s_long, sizeof(in_s_long), "abcdefgh"));
  put(14,
      bpf_strncmp(in_s_abc, sizeof(in_s_abc), in_s_abd)); /* s2 from .rodata */
  return 0;
}

// Relations only: the values differ between any two reads.
SEC("tc")
int read_clocks(struct __sk_buff *skb) {
  __u64 j1 = bpf_jiffies64();
  __u64 t1 = bpf_ktime_get_ns();
  __u64 boot = bpf_ktime_get_boot_ns();
  __u64 coarse = bpf_ktime_get_coarse_ns();
  __u64 tai = bpf_ktime_get_tai_ns();
  __u64 t2 = bpf_ktime_get_ns();
  __u64 j2 = bpf_jiffies64();
  put(0, t1 <= t2);
  put(1, boot >= t1);
  put(2, coarse <= t2);
  put(3, t2 - coarse < 100000000); /* a coarse read lags by a tick */
  put(4, tai > t2);
  put(5, j1 <= j2);
  put(6, j2 - j1 <= 1);
  put(7, j1 != 0);
  put(8, bpf_get_numa_node_id());
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
