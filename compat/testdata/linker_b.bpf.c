// SPDX-License-Identifier: Apache-2.0
// Second half of the two-file BPF program of linker_a.bpf.c: defines
// add_mul(), uses the map linker_a.bpf.c defines, and has its own static
// helper().
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

extern struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} results SEC(".maps");

extern int counter;
__u64 calls = 0;

static __attribute__((noinline)) int helper(int x) { return x + 100; }

__attribute__((noinline)) int add_mul(int a, int b) {
  calls++;
  return helper(a) * b;
}

SEC("tc")
int prog_b(struct __sk_buff* skb) {
  __u32 key = 1;
  __u64 v = (__u64)add_mul((int)skb->len, counter) + calls;
  bpf_map_update_elem(&results, &key, &v, BPF_ANY);
  return (int)v;
}

char LICENSE[] SEC("license") = "GPL";
