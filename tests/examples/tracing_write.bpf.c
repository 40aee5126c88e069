// SPDX-License-Identifier: GPL-2.0
// bpf_probe_write_user from a SYSCALL and a raw tracepoint program
// (issue 24): writes into the test process's own memory, whose addresses
// the test passes in the context (tracing_misc_cases.h). Apart from
// tracing_misc.bpf.c because a kernel in lockdown (LOCKDOWN_BPF_WRITE_USER,
// integrity and up) offers the helper to no program type, and refuses
// the object.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "tracing_misc_cases.h"

static const char kPattern[8] = {'b', 'p', 'f', 'e', 'm', 'u', '-', 'w'};

// bpf_probe_write_user to each address of the context, then to NULL and
// to a kernel address.
SEC("syscall")
int write_user(struct misc_ctx *c) {
  char src[8];
  __builtin_memcpy(src, kPattern, sizeof(src));
  c->ret[0] = bpf_probe_write_user((void *)c->addr[0], src, sizeof(src));
  c->ret[1] = bpf_probe_write_user((void *)c->addr[1], src, sizeof(src));
  c->ret[2] = bpf_probe_write_user((void *)c->addr[2], src, sizeof(src));
  c->ret[3] = bpf_probe_write_user((void *)c->addr[3], src, sizeof(src));
  c->ret[4] = bpf_probe_write_user((void *)0, src, sizeof(src));
  c->ret[5] = bpf_probe_write_user((void *)MISC_KERNEL_ADDR, src, sizeof(src));
  c->ret[6] = bpf_probe_write_user((void *)(c->addr[0] + 8), src, 1);
  return 0;
}

// The same from a raw tracepoint: args[0] is the address.
SEC("raw_tp")
int write_user_tp(__u64 *args) {
  char src[8];
  __builtin_memcpy(src, kPattern, sizeof(src));
  return bpf_probe_write_user((void *)args[0], src, sizeof(src));
}

char _license[] SEC("license") = "GPL";
