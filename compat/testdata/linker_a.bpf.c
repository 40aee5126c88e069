// SPDX-License-Identifier: Apache-2.0
// First half of a two-file BPF program for the static linker
// (compat/linker_compat.cc): calls add_mul() defined in linker_b.bpf.c,
// defines the map linker_b.bpf.c declares extern, and has a static
// helper() of the same name as linker_b.bpf.c's.
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

extern int add_mul(int a, int b);

static __attribute__((noinline)) int helper(int x) { return x * 3 + scale; }

SEC("tc")
int prog_a(struct __sk_buff* skb) {
  __u32 key = 0;
  __u64 v = (__u64)add_mul(helper(skb->len), counter);
  bpf_map_update_elem(&results, &key, &v, BPF_ANY);
  counter++;
  return (int)v;
}

char LICENSE[] SEC("license") = "GPL";
