// SPDX-License-Identifier: GPL-2.0
// Example: BPF exceptions (kernel/bpf/helpers.c bpf_throw, 6.7) from tc
// programs the 6.18 verifier accepts, without an exception callback: the
// verifier's hidden default callback returns the cookie, so a throw ends
// the program with the cookie as its return value (a test run's retval is
// its low 32 bits), from the main program or from a subprogram however
// deep, after a bpf_loop whose callback returned, or in a tail call's
// target. What the program wrote before the throw stays written (`out`).
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

extern void bpf_throw(__u64 cookie) __ksym;

struct answers {
  __s64 r[4];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct answers);
} out SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} jump SEC(".maps");

static __always_inline struct answers *answers(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&out, &zero);
}

// A throw in the main program: the cookie is the return value.
SEC("tc")
int throw_main(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  a->r[0] = 11;
  if (skb->len > 10) bpf_throw(7);
  a->r[1] = 12;  // not reached
  return 1;
}

// Only the low 32 bits of a wide cookie reach the test run's retval.
SEC("tc")
int throw_wide_cookie(struct __sk_buff *skb) {
  if (skb->len > 10) bpf_throw(0x1234567800000009ULL);
  return 1;
}

// A throw that is not taken: the program returns as usual.
SEC("tc")
int throw_not_taken(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  if (skb->len > 100000) bpf_throw(5);
  a->r[0] = 21;
  return 3;
}

static __noinline int inner(struct __sk_buff *skb, int depth) {
  struct answers *a = answers();
  if (a) a->r[depth] = 30 + depth;
  if (skb->len > 10) bpf_throw(40 + depth);
  return depth;
}

static __noinline int middle(struct __sk_buff *skb) {
  struct answers *a = answers();
  int r = inner(skb, 2);
  if (a) a->r[3] = 99;  // not reached: the throw unwound this frame too
  return r;
}

// A throw two subprogram frames down unwinds them all.
SEC("tc")
int throw_nested(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  a->r[0] = 31;
  int r = middle(skb);
  a->r[1] = 32 + r;  // not reached
  return 0;
}

// A global function throws: its frame and the caller's are left.
__noinline int global_thrower(struct __sk_buff *skb) {
  if (!skb) return 0;
  if (skb->len > 10) bpf_throw(77);
  return 5;
}

SEC("tc")
int throw_global(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  a->r[0] = global_thrower(skb);  // not stored
  return 6;
}

static long count_cb(__u32 i, void *ctx) {
  __s64 *n = ctx;
  *n += 1;
  return 0;
}

// A bpf_loop whose callback returned, then a throw from the main program.
SEC("tc")
int throw_after_loop(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  __s64 n = 0;
  bpf_loop(4, count_cb, &n, 0);
  a->r[0] = n;
  if (skb->len > 10) bpf_throw(50 + n);
  return 8;
}

// The target of throw_tail's tail call throws: the run ends with the
// target's cookie (the target's frame replaced the caller's).
SEC("tc")
int tail_target(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (a) a->r[1] = 61;
  if (skb->len > 10) bpf_throw(60);
  return 4;
}

SEC("tc")
int throw_tail(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  a->r[0] = 62;
  bpf_tail_call(skb, &jump, 0);
  a->r[2] = 63;  // only when the slot is empty
  return 9;
}

char LICENSE[] SEC("license") = "GPL";
