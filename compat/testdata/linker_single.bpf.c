// SPDX-License-Identifier: Apache-2.0
// linker_a.bpf.c and linker_b.bpf.c as one file (their two static
// helper()s renamed): what the statically linked pair must compute.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} results SEC(".maps");

int counter = 5;
const volatile int scale = 7;
__u64 calls = 0;

static __attribute__((noinline)) int helper_a(int x) { return x * 3 + scale; }
static __attribute__((noinline)) int helper_b(int x) { return x + 100; }

__attribute__((noinline)) int add_mul(int a, int b) {
  calls++;
  return helper_b(a) * b;
}

SEC("tc")
int prog_a(struct __sk_buff* skb) {
  __u32 key = 0;
  __u64 v = (__u64)add_mul(helper_a(skb->len), counter);
  bpf_map_update_elem(&results, &key, &v, BPF_ANY);
  counter++;
  return (int)v;
}

SEC("tc")
int prog_b(struct __sk_buff* skb) {
  __u32 key = 1;
  __u64 v = (__u64)add_mul((int)skb->len, counter) + calls;
  bpf_map_update_elem(&results, &key, &v, BPF_ANY);
  return (int)v;
}

char LICENSE[] SEC("license") = "GPL";
