// SPDX-License-Identifier: GPL-2.0
// Example: the socket casts and accessors (issue 24) on sockets a lookup
// returns and on the test run's skb->sk. `cmd` names a socket (a tuple for
// bpf_sk_lookup_tcp, bpf_sk_lookup_udp or bpf_skc_lookup_tcp, or skb->sk);
// the tc program records which bpf_skc_to_* casts answer, the struct
// bpf_tcp_sock fields bpf_tcp_sock gives and, built for the BPF target,
// CO-RE reads of the kernel structs the casts return; the XDP program the
// casts; the cgroup_skb program bpf_sk_cgroup_id and
// bpf_sk_ancestor_cgroup_id. Every socket is released.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

enum op {
  OP_TCP = 0,
  OP_UDP = 1,
  OP_SKC_TCP = 2,
  OP_SKB_SK = 3,  // the test run's skb->sk (tc and cgroup_skb)
};

// Bits of out.casts: which bpf_skc_to_* answered non-NULL.
enum cast_bit {
  CAST_TCP6 = 1 << 0,
  CAST_TCP = 1 << 1,
  CAST_TCP_TW = 1 << 2,
  CAST_TCP_REQ = 1 << 3,
  CAST_UDP6 = 1 << 4,
  CAST_UNIX = 1 << 5,
  CAST_MPTCP = 1 << 6,
  CAST_TCP_OF_TCP6 = 1 << 7,  // bpf_skc_to_tcp_sock of the tcp6_sock
};

struct cmd {
  __u8 tuple[64];
  __u32 len;
  __u32 op;
  __u64 netns;
  __u64 flags;
  __s32 level;  // bpf_sk_ancestor_cgroup_id's level
  __u32 pad;
};

struct out {
  __u32 runs;
  __u32 found;
  __u32 casts;
  __u32 has_tcp;  // bpf_tcp_sock answered
  // struct bpf_tcp_sock (srtt_us >> 3: what tcp_info reports).
  __u32 snd_cwnd, srtt_us8, rtt_min, snd_ssthresh, mss_cache, ecn_flags;
  __u32 packets_out, retrans_out, total_retrans, segs_in, data_segs_in;
  __u32 segs_out, data_segs_out, lost_out, sacked_out, dsack_dups;
  __u32 delivered, delivered_ce, icsk_retransmits, pad;
  __u64 bytes_received, bytes_acked;
  // CO-RE reads of the cast's kernel struct (BPF target only).
  __u32 core_family, core_state, core_num, core_dport;
  __u32 core_rcv_saddr, core_daddr, core_type, core_protocol;
  __u32 core_snd_cwnd, core_mss_cache, core_segs_out, core_retransmits;
  __u64 core_bytes_received;
  // cgroup_skb.
  __u64 cgroup_id, ancestor_id;
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

#ifdef __bpf__
// The kernel structs' members read here, found by CO-RE in the kernel's
// BTF (the native build has no CO-RE: docs/native.md).
#define PAI __attribute__((preserve_access_index))
struct sock_common {
  unsigned short skc_family;
  volatile unsigned char skc_state;
  __be16 skc_dport;
  __u16 skc_num;
  __be32 skc_daddr;
  __be32 skc_rcv_saddr;
} PAI;
struct sock {
  struct sock_common __sk_common;
  __u16 sk_type;
  __u16 sk_protocol;
} PAI;
struct inet_sock {
  struct sock sk;
} PAI;
struct inet_connection_sock {
  struct inet_sock icsk_inet;
  __u8 icsk_retransmits;
} PAI;
struct tcp_sock {
  struct inet_connection_sock inet_conn;
  __u32 snd_cwnd;
  __u32 mss_cache;
  __u32 segs_out;
  __u64 bytes_received;
} PAI;
struct tcp6_sock {
  struct tcp_sock tcp;
} PAI;
struct inet_timewait_sock {
  struct sock_common __tw_common;
} PAI;
struct tcp_timewait_sock {
  struct inet_timewait_sock tw_sk;
} PAI;
struct udp_sock {
  struct inet_sock inet;
} PAI;
struct udp6_sock {
  struct udp_sock udp;
} PAI;

static __always_inline void core_common(struct out *o, struct sock_common *c) {
  o->core_family = c->skc_family;
  o->core_state = c->skc_state;
  o->core_num = c->skc_num;
  o->core_dport = c->skc_dport;
  o->core_rcv_saddr = c->skc_rcv_saddr;
  o->core_daddr = c->skc_daddr;
}
#endif

// The casts of `sk` (any socket pointer the verifier takes as a
// sock_common) and, for the BPF target, the CO-RE reads of their structs.
static __always_inline void casts(struct out *o, void *sk) {
  struct tcp6_sock *t6 = bpf_skc_to_tcp6_sock(sk);
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
  struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(sk);
  struct udp6_sock *u6 = bpf_skc_to_udp6_sock(sk);
  __u32 c = 0;
  if (t6) {
    c |= CAST_TCP6;
    if (bpf_skc_to_tcp_sock(t6)) c |= CAST_TCP_OF_TCP6;
  }
  if (tp) c |= CAST_TCP;
  if (tw) c |= CAST_TCP_TW;
  if (bpf_skc_to_tcp_request_sock(sk)) c |= CAST_TCP_REQ;
  if (u6) c |= CAST_UDP6;
  if (bpf_skc_to_unix_sock(sk)) c |= CAST_UNIX;
  if (bpf_skc_to_mptcp_sock(sk)) c |= CAST_MPTCP;
  o->casts = c;
#ifdef __bpf__
  if (tp) {
    core_common(o, &tp->inet_conn.icsk_inet.sk.__sk_common);
    o->core_type = tp->inet_conn.icsk_inet.sk.sk_type;
    o->core_protocol = tp->inet_conn.icsk_inet.sk.sk_protocol;
    o->core_snd_cwnd = tp->snd_cwnd;
    o->core_mss_cache = tp->mss_cache;
    o->core_segs_out = tp->segs_out;
    o->core_retransmits = tp->inet_conn.icsk_retransmits;
    o->core_bytes_received = tp->bytes_received;
  } else if (tw) {
    core_common(o, &tw->tw_sk.__tw_common);
  } else if (u6) {
    core_common(o, &u6->udp.inet.sk.__sk_common);
    o->core_type = u6->udp.inet.sk.sk_type;
    o->core_protocol = u6->udp.inet.sk.sk_protocol;
  }
#endif
}

static __always_inline void tcp_fields(struct out *o, struct bpf_sock *sk) {
  struct bpf_tcp_sock *t = bpf_tcp_sock(sk);
  if (!t) return;
  o->has_tcp = 1;
  o->snd_cwnd = t->snd_cwnd;
  o->srtt_us8 = t->srtt_us >> 3;
  o->rtt_min = t->rtt_min;
  o->snd_ssthresh = t->snd_ssthresh;
  o->mss_cache = t->mss_cache;
  o->ecn_flags = t->ecn_flags;
  o->packets_out = t->packets_out;
  o->retrans_out = t->retrans_out;
  o->total_retrans = t->total_retrans;
  o->segs_in = t->segs_in;
  o->data_segs_in = t->data_segs_in;
  o->segs_out = t->segs_out;
  o->data_segs_out = t->data_segs_out;
  o->lost_out = t->lost_out;
  o->sacked_out = t->sacked_out;
  o->dsack_dups = t->dsack_dups;
  o->delivered = t->delivered;
  o->delivered_ce = t->delivered_ce;
  o->icsk_retransmits = t->icsk_retransmits;
  o->bytes_received = t->bytes_received;
  o->bytes_acked = t->bytes_acked;
}

static __always_inline struct out *begin(struct cmd **c) {
  __u32 zero = 0;
  *c = bpf_map_lookup_elem(&cmd, &zero);
  struct out *o = bpf_map_lookup_elem(&out, &zero);
  if (!*c || !o) return 0;
  __u32 runs = o->runs + 1;
  __builtin_memset(o, 0, sizeof(*o));
  o->runs = runs;
  return o;
}

// The looked-up socket of `c`, or NULL (skc: a sock_common).
static __always_inline struct bpf_sock *lookup(void *ctx, struct cmd *c) {
  __u32 len = c->len & 63;  // masked, so that the verifier keeps the bounds
  if (len == 0) return 0;
  struct bpf_sock_tuple *t = (struct bpf_sock_tuple *)c->tuple;
  if (c->op == OP_UDP)
    return bpf_sk_lookup_udp(ctx, t, len, c->netns, c->flags);
  if (c->op == OP_SKC_TCP)
    return bpf_skc_lookup_tcp(ctx, t, len, c->netns, c->flags);
  return bpf_sk_lookup_tcp(ctx, t, len, c->netns, c->flags);
}

SEC("tc")
int sock_helpers_tc(struct __sk_buff *skb) {
  struct cmd *c;
  struct out *o = begin(&c);
  if (!o) return TC_ACT_SHOT;
  if (c->op == OP_SKB_SK) {
    struct bpf_sock *sk = skb->sk;
    if (!sk) return TC_ACT_OK;
    o->found = 1;
    casts(o, sk);
    tcp_fields(o, sk);
    return TC_ACT_OK;
  }
  struct bpf_sock *sk = lookup(skb, c);
  if (!sk) return TC_ACT_OK;
  o->found = 1;
  casts(o, sk);
  tcp_fields(o, sk);
  bpf_sk_release(sk);
  return TC_ACT_OK;
}

SEC("xdp")
int sock_helpers_xdp(struct xdp_md *xdp) {
  struct cmd *c;
  struct out *o = begin(&c);
  if (!o) return XDP_ABORTED;
  struct bpf_sock *sk = lookup(xdp, c);
  if (!sk) return XDP_PASS;
  o->found = 1;
  casts(o, sk);
  bpf_sk_release(sk);
  return XDP_PASS;
}

SEC("cgroup_skb/ingress")
int sock_helpers_cg(struct __sk_buff *skb) {
  struct cmd *c;
  struct out *o = begin(&c);
  if (!o) return 0;
  if (c->op == OP_SKB_SK) {
    struct bpf_sock *sk = skb->sk;
    if (!sk) return 1;
    o->found = 1;
    o->cgroup_id = bpf_sk_cgroup_id(sk);
    o->ancestor_id = bpf_sk_ancestor_cgroup_id(sk, c->level);
    return 1;
  }
  struct bpf_sock *sk = lookup(skb, c);
  if (!sk) return 1;
  o->found = 1;
  o->cgroup_id = bpf_sk_cgroup_id(sk);
  o->ancestor_id = bpf_sk_ancestor_cgroup_id(sk, c->level);
  bpf_sk_release(sk);
  return 1;
}

// bpf_tcp_gen_syncookie and bpf_tcp_check_syncookie on the listener a
// lookup finds (or on skb->sk): `steps` says which to call, the SYN's and
// the ACK's headers are in the command; with STEP_ANSWER the ACK checked is
// the SYN answered with the generated cookie (ack_seq = cookie + 1).
enum step {
  STEP_GEN = 1,
  STEP_CHECK = 2,
  STEP_ANSWER = 4,
};

struct sc_cmd {
  __u8 tuple[64];
  __u32 len;
  __u32 op;  // OP_TCP or OP_SKB_SK
  __u64 netns;
  __u32 steps;
  __u32 syn_iph_len;
  __u8 syn_iph[40];
  __u8 syn_th[64];
  __u32 syn_th_len;
  __u32 ack_iph_len;
  __u8 ack_iph[40];
  __u8 ack_th[64];
  __u32 ack_th_len;
  __u32 pad;
};

struct sc_out {
  __u32 runs;
  __u32 found;
  __s64 gen;  // the error, or the MSS (the cookie itself is the kernel's)
  __s64 check;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sc_cmd);
} sc_cmd SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sc_out);
} sc_out SEC(".maps");

static __always_inline void cookie_steps(struct sc_cmd *c, struct sc_out *o,
                                         struct bpf_sock *sk) {
  __u32 il = c->syn_iph_len, tl = c->syn_th_len;
  if (c->steps & STEP_GEN && il >= 1 && il <= 40 && tl >= 1 && tl <= 64) {
    __s64 r = bpf_tcp_gen_syncookie(sk, c->syn_iph, il,
                                    (struct tcphdr *)c->syn_th, tl);
    o->gen = r < 0 ? r : r >> 32;
    if (r >= 0 && c->steps & STEP_ANSWER) {
      // The client's ACK: the SYN's ports and seq + 1, ack_seq cookie + 1.
      __builtin_memcpy(c->ack_th, c->syn_th, 20);
      __builtin_memcpy(c->ack_iph, c->syn_iph, 40);
      c->ack_iph_len = c->syn_iph_len;
      c->ack_th_len = 20;
      c->ack_th[12] = 5 << 4;  // doff 5
      c->ack_th[13] = 0x10;    // ACK
      __u32 seq;
      __builtin_memcpy(&seq, &c->syn_th[4], 4);
      seq = bpf_htonl(bpf_ntohl(seq) + 1);
      __builtin_memcpy(&c->ack_th[4], &seq, 4);
      __u32 ack = bpf_htonl((__u32)r + 1);
      __builtin_memcpy(&c->ack_th[8], &ack, 4);
    }
  }
  il = c->ack_iph_len;
  tl = c->ack_th_len;
  if (c->steps & STEP_CHECK && il >= 1 && il <= 40 && tl >= 1 && tl <= 64) {
    o->check = bpf_tcp_check_syncookie(sk, c->ack_iph, il,
                                       (struct tcphdr *)c->ack_th, tl);
  }
}

static __always_inline struct sc_out *sc_begin(struct sc_cmd **c) {
  __u32 zero = 0;
  *c = bpf_map_lookup_elem(&sc_cmd, &zero);
  struct sc_out *o = bpf_map_lookup_elem(&sc_out, &zero);
  if (!*c || !o) return 0;
  o->runs++;
  o->found = 0;
  o->gen = 0;
  o->check = 0;
  return o;
}

static __always_inline int cookies(void *ctx, struct bpf_sock *run_sk) {
  struct sc_cmd *c;
  struct sc_out *o = sc_begin(&c);
  if (!o) return 1;
  if (c->op == OP_SKB_SK) {
    if (!run_sk) return 0;
    o->found = 1;
    cookie_steps(c, o, run_sk);
    return 0;
  }
  __u32 len = c->len & 63;
  if (len == 0) return 0;
  struct bpf_sock *sk = bpf_sk_lookup_tcp(
      ctx, (struct bpf_sock_tuple *)c->tuple, len, c->netns, 0);
  if (!sk) return 0;
  o->found = 1;
  cookie_steps(c, o, sk);
  bpf_sk_release(sk);
  return 0;
}

SEC("tc")
int syncookie_tc(struct __sk_buff *skb) {
  return cookies(skb, skb->sk) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("xdp")
int syncookie_xdp(struct xdp_md *xdp) {
  return cookies(xdp, 0) ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
