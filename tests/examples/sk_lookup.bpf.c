// SPDX-License-Identifier: GPL-2.0
// Example: socket lookups from tc and XDP (issue 24). `cmd` holds a tuple
// (the bytes of a struct bpf_sock_tuple, up to 63 so that wrong sizes can
// be passed), its length, the netns and flags arguments and which helper
// to call (bpf_sk_lookup_tcp, bpf_sk_lookup_udp or bpf_skc_lookup_tcp);
// the program records whether a socket came back and the struct bpf_sock
// fields it reads into `out`, then releases the socket.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

enum op {
  OP_TCP = 0,
  OP_UDP = 1,
  OP_SKC_TCP = 2,
};

struct cmd {
  __u8 tuple[64];
  __u32 len;
  __u32 op;
  __u64 netns;
  __u64 flags;
};

struct out {
  __u32 found;
  __u32 family, type, protocol, state;
  __u32 src_ip4, dst_ip4;
  __u32 src_ip6[4], dst_ip6[4];
  __u32 src_port, dst_port;
  __u32 runs;
  __u32 fullsock_type;   // tc: bpf_sk_fullsock of the skc answer, its type
  __u32 listener_state;  // tc: bpf_get_listener_sock of the answer, its state
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

// A full socket's fields, then release.
static __always_inline void record(struct out *o, struct bpf_sock *sk) {
  o->found = 1;
  o->family = sk->family;
  o->state = sk->state;
  o->src_ip4 = sk->src_ip4;
  o->dst_ip4 = sk->dst_ip4;
  o->src_ip6[0] = sk->src_ip6[0];
  o->src_ip6[1] = sk->src_ip6[1];
  o->src_ip6[2] = sk->src_ip6[2];
  o->src_ip6[3] = sk->src_ip6[3];
  o->dst_ip6[0] = sk->dst_ip6[0];
  o->dst_ip6[1] = sk->dst_ip6[1];
  o->dst_ip6[2] = sk->dst_ip6[2];
  o->dst_ip6[3] = sk->dst_ip6[3];
  o->src_port = sk->src_port;
  o->dst_port = sk->dst_port;
  bpf_sk_release(sk);
}

static __always_inline int lookup(void *ctx, int tc) {
  __u32 zero = 0;
  struct cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return 1;
  // Masked first, then tested, so that the verifier keeps the bounds.
  __u32 len = c->len & 63;
  if (len == 0) return 1;
  struct bpf_sock_tuple *t = (struct bpf_sock_tuple *)c->tuple;
  struct bpf_sock *sk;
  o->runs++;
  o->found = 0;
  o->type = 0;
  o->protocol = 0;
  o->fullsock_type = 0;
  o->listener_state = 0;
  if (c->op == OP_SKC_TCP) {
    // A sock_common: type and protocol are not readable, they stay 0.
    // Its own copy of the reads, in another order: the compiler must not
    // merge them with the full socket's (the verifier refuses one load
    // instruction on two pointer types).
    sk = bpf_skc_lookup_tcp(ctx, t, len, c->netns, c->flags);
    if (!sk) return 0;
    o->dst_port = sk->dst_port;
    o->src_port = sk->src_port;
    o->dst_ip6[3] = sk->dst_ip6[3];
    o->dst_ip6[2] = sk->dst_ip6[2];
    o->dst_ip6[1] = sk->dst_ip6[1];
    o->dst_ip6[0] = sk->dst_ip6[0];
    o->src_ip6[3] = sk->src_ip6[3];
    o->src_ip6[2] = sk->src_ip6[2];
    o->src_ip6[1] = sk->src_ip6[1];
    o->src_ip6[0] = sk->src_ip6[0];
    o->dst_ip4 = sk->dst_ip4;
    o->src_ip4 = sk->src_ip4;
    o->state = sk->state;
    o->family = sk->family;
    o->found = 1;
    if (tc) {  // bpf_sk_fullsock is offered to tc and cg_skb, not XDP
      struct bpf_sock *full = bpf_sk_fullsock(sk);
      if (full) o->fullsock_type = full->type;
    }
    bpf_sk_release(sk);
    return 0;
  }
  if (c->op == OP_UDP)
    sk = bpf_sk_lookup_udp(ctx, t, len, c->netns, c->flags);
  else
    sk = bpf_sk_lookup_tcp(ctx, t, len, c->netns, c->flags);
  if (!sk) return 0;
  o->type = sk->type;
  o->protocol = sk->protocol;
  if (tc) {  // bpf_get_listener_sock: tc and cg_skb, not XDP
    struct bpf_sock *l = bpf_get_listener_sock(sk);
    if (l) o->listener_state = l->state;
  }
  record(o, sk);
  return 0;
}

SEC("tc")
int sk_lookup_tc(struct __sk_buff *skb) { return lookup(skb, 1); }

SEC("xdp")
int sk_lookup_xdp(struct xdp_md *xdp) {
  return lookup(xdp, 0) ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
