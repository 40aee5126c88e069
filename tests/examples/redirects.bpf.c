// SPDX-License-Identifier: GPL-2.0
// Example: tc's device redirects and the MTU check (issue 24). `tc_redirects`
// makes one call from the `cmd` map: bpf_redirect_peer or bpf_redirect_neigh
// (whose answer is the program's return value, as a real tc program returns
// it), bpf_redirect for comparison, bpf_clone_redirect, or bpf_check_mtu;
// the last two record their return value (and the MTU the check wrote) in
// `out`. `xdp_check_mtu` makes the XDP flavour of the check.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

enum op {
  OP_PEER = 1,
  OP_NEIGH = 2,
  OP_NEIGH_NULL = 3,
  OP_REDIRECT = 4,
  OP_CLONE = 5,
  OP_CHECK_MTU = 6,
};

struct cmd {
  __u32 op;
  __u32 ifindex;
  __u64 flags;
  __u32 plen;
  __u32 mtu_len;
  __s32 len_diff;
  __u32 pad;
  union {
    struct bpf_redir_neigh nh;
    __u8 raw[32];
  };
};

struct out {
  __s64 ret;
  __u32 mtu_len;
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

SEC("tc")
int tc_redirects(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return TC_ACT_SHOT;
  switch (c->op) {
    case OP_PEER:
      return bpf_redirect_peer(c->ifindex, c->flags);
    case OP_NEIGH:
      return bpf_redirect_neigh(c->ifindex, &c->nh, c->plen & 31, c->flags);
    case OP_NEIGH_NULL:
      return bpf_redirect_neigh(c->ifindex, 0, 0, c->flags);
    case OP_REDIRECT:
      return bpf_redirect(c->ifindex, c->flags);
    case OP_CLONE:
      o->ret = bpf_clone_redirect(skb, c->ifindex, c->flags);
      return TC_ACT_OK;
    case OP_CHECK_MTU: {
      __u32 mtu = c->mtu_len;
      o->ret = bpf_check_mtu(skb, c->ifindex, &mtu, c->len_diff, c->flags);
      o->mtu_len = mtu;
      return TC_ACT_OK;
    }
  }
  return TC_ACT_UNSPEC;
}

SEC("xdp")
int xdp_check_mtu(struct xdp_md *ctx) {
  __u32 zero = 0;
  struct cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return XDP_ABORTED;
  __u32 mtu = c->mtu_len;
  o->ret = bpf_check_mtu(ctx, c->ifindex, &mtu, c->len_diff, c->flags);
  o->mtu_len = mtu;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
