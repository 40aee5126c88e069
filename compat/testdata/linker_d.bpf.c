// SPDX-License-Identifier: Apache-2.0
// The other half of linker_c.bpf.c: the strong pick() that replaces the
// weak one, the variable linker_c.bpf.c reads, and an extern of its
// hidden shared_val.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

extern int shared_val __hidden;

__u32 d_value = 40;

__attribute__((noinline)) int pick(int x) { return x * 10; }

SEC("tc")
int prog_d(struct __sk_buff* skb) {
  shared_val++;
  return pick((int)(skb->len & 7)) + shared_val;
}

char LICENSE[] SEC("license") = "GPL";
