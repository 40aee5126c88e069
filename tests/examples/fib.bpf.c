// SPDX-License-Identifier: GPL-2.0
// Example: bpf_fib_lookup from tc and XDP (issue 24). `cmd` holds the
// struct bpf_fib_lookup to pass, the flags and the size argument; the
// program records the helper's answer and the struct as it left it.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

struct cmd {
  struct bpf_fib_lookup params;
  __u32 flags;
  __u32 plen;
};

struct out {
  struct bpf_fib_lookup params;
  __s64 rc;
  __u32 runs;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cmd);
} cmd SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct out);
} out SEC(".maps");

static __always_inline int lookup(void *ctx) {
  __u32 zero = 0;
  struct cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return 1;
  o->runs++;
  o->params = c->params;
  __u64 plen = c->plen;
  // Two tests the compiler must not merge, so that the verifier keeps the
  // bounds [1, 64].
  if (plen > sizeof(o->params)) return 1;
  asm volatile("" : "+r"(plen));
  if (plen == 0) return 1;
  o->rc = bpf_fib_lookup(ctx, &o->params, plen, c->flags);
  return 0;
}

SEC("tc")
int fib_tc(struct __sk_buff *skb) {
  return lookup(skb) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("xdp")
int fib_xdp(struct xdp_md *xdp) { return lookup(xdp) ? XDP_ABORTED : XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";
