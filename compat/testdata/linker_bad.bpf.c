// SPDX-License-Identifier: Apache-2.0
// Declares linker_a.bpf.c's `int counter` as a 64-bit extern: the static
// linker must refuse to link the two (mismatched types).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

extern long long counter;

SEC("tc")
int prog_bad(struct __sk_buff* skb) { return (int)counter; }

char LICENSE[] SEC("license") = "GPL";
