// SPDX-License-Identifier: Apache-2.0
// A second pair for the static linker (with linker_d.bpf.c): a weak
// global function that linker_d.bpf.c's strong one replaces, a hidden
// global variable linker_d.bpf.c reads as an extern, and a read-only
// variable.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

extern __u32 d_value;

__hidden int shared_val = 3;
const volatile int bias = 9;

__attribute__((weak, noinline)) int pick(int x) { return x + 1; }

SEC("tc")
int prog_c(struct __sk_buff* skb) {
  return pick(shared_val) + (int)d_value + bias * (int)(skb->len & 3);
}

char LICENSE[] SEC("license") = "GPL";
