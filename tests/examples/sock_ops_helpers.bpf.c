// SPDX-License-Identifier: GPL-2.0
// Example: a sock_ops program that calls the sock_ops helpers in every
// callback and records, per callback, what it saw (op, arguments, socket
// state and flags, the TCP header, the SYN) and what each helper returned:
// bpf_sock_ops_cb_flags_set (asking for the header option callbacks from
// the listen and connect callbacks), bpf_setsockopt / bpf_getsockopt
// (TCP, socket, IP and BPF-only options; bad levels and lengths),
// bpf_sock_map_update / bpf_sock_hash_update, and the header option helpers
// bpf_reserve_hdr_opt, bpf_store_hdr_opt and bpf_load_hdr_opt.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#ifndef SOL_SOCKET
#define SOL_SOCKET 1
#endif
#ifndef SOL_IP
#define SOL_IP 0
#endif
#ifndef SOL_TCP
#define SOL_TCP 6
#endif
#ifndef SO_MARK
#define SO_MARK 36
#endif
#ifndef IP_TOS
#define IP_TOS 1
#endif
#ifndef TCP_NODELAY
#define TCP_NODELAY 1
#endif
#ifndef TCP_CONGESTION
#define TCP_CONGESTION 13
#endif
#define BPF_SNDCWND_CLAMP 1002
#define BPF_DELACK_MAX 1003
#define BPF_RTO_MIN 1004
#define BPF_SYN 1005
#define BPF_CB_FLAGS 1008

#define MAX_CBS 64
#define NRET 27

struct rec {
  // What the callback saw.
  __u32 op, args0, args1, fullsock;
  __u32 state, cb_flags_in, skb_len, hdr_len;
  __u32 local_port, remote_port, family, pad;
  __u8 hdr[64];
  __u8 syn[64];
  // What the helpers did.
  __s64 ret[NRET];
  __u32 cb_flags_out, nodelay, mark, tos;
  __u32 cbopt, hdr_len_out, pad2, pad3;
  __u8 hdr_out[64];
  __u8 loaded[8];
  __u8 syn_short[8];
  char cc[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} count SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_CBS);
  __type(key, __u32);
  __type(value, struct rec);
} recs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_SOCKMAP);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} sock_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} sock_hash SEC(".maps");

// The header window, through an opaque copy of the context pointer (see
// sk_msg_edit.bpf.c).
#define WINDOW(ctx, d, e)               \
  do {                                  \
    struct bpf_sock_ops *c_ = (ctx);    \
    asm volatile("" : "+r"(c_));        \
    d = (__u8 *)(long)c_->skb_data;     \
    e = (__u8 *)(long)c_->skb_data_end; \
  } while (0)

SEC("sockops")
int ops(struct bpf_sock_ops *skops) {
  __u32 zero = 0;
  __u32 *n = bpf_map_lookup_elem(&count, &zero);
  if (!n) return 1;
  __u32 idx = *n;
  *n = idx + 1;
  struct rec *r = bpf_map_lookup_elem(&recs, &idx);
  if (!r) return 1;
  const __u32 op = skops->op;
  r->op = op;
  r->args0 = skops->args[0];
  r->args1 = skops->args[1];
  r->fullsock = skops->is_fullsock;
  r->state = skops->state;
  r->cb_flags_in = skops->bpf_sock_ops_cb_flags;
  r->skb_len = skops->skb_len;
  r->local_port = skops->local_port;
  r->remote_port = skops->remote_port;
  r->family = skops->family;
  __u8 *d, *e;
  WINDOW(skops, d, e);
  r->hdr_len = (__u32)(e - d);
  for (__u32 i = 0; i < 64; i++) {
    if (d + i + 1 > e) break;
    r->hdr[i] = d[i];
  }

  r->ret[0] = bpf_getsockopt(skops, SOL_TCP, BPF_SYN, r->syn, 64);
  r->ret[1] = bpf_getsockopt(skops, SOL_TCP, BPF_SYN, r->syn_short, 8);
  if (op == BPF_SOCK_OPS_TCP_LISTEN_CB || op == BPF_SOCK_OPS_TCP_CONNECT_CB)
    r->ret[2] = bpf_sock_ops_cb_flags_set(
        skops, BPF_SOCK_OPS_PARSE_ALL_HDR_OPT_CB_FLAG |
                   BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG | 0x100);
  else
    r->ret[2] = bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags);
  r->cb_flags_out = skops->bpf_sock_ops_cb_flags;

  int v = 1, g = 0;
  // The options that act on the socket stay out of the header option
  // callbacks, which run while a segment is being built.
  const int hdr_cb =
      op == BPF_SOCK_OPS_HDR_OPT_LEN_CB || op == BPF_SOCK_OPS_WRITE_HDR_OPT_CB;
  if (!hdr_cb) {
    r->ret[3] = bpf_setsockopt(skops, SOL_TCP, TCP_NODELAY, &v, sizeof(v));
    v = 7;
    r->ret[5] = bpf_setsockopt(skops, SOL_SOCKET, SO_MARK, &v, sizeof(v));
    v = 0x10;
    r->ret[7] = bpf_setsockopt(skops, SOL_IP, IP_TOS, &v, sizeof(v));
  }
  r->ret[4] = bpf_getsockopt(skops, SOL_TCP, TCP_NODELAY, &g, sizeof(g));
  r->nodelay = g;
  g = 0;
  r->ret[6] = bpf_getsockopt(skops, SOL_SOCKET, SO_MARK, &g, sizeof(g));
  r->mark = g;
  g = 0;
  r->ret[8] = bpf_getsockopt(skops, SOL_IP, IP_TOS, &g, sizeof(g));
  r->tos = g;
  v = 0;
  r->ret[9] = bpf_setsockopt(skops, SOL_TCP, BPF_SNDCWND_CLAMP, &v, sizeof(v));
  v = 40000;
  r->ret[10] = bpf_setsockopt(skops, SOL_TCP, BPF_DELACK_MAX, &v, sizeof(v));
  v = 1000;
  r->ret[11] = bpf_setsockopt(skops, SOL_TCP, BPF_RTO_MIN, &v, sizeof(v));
  g = 0;
  r->ret[12] = bpf_getsockopt(skops, SOL_TCP, BPF_CB_FLAGS, &g, sizeof(g));
  r->cbopt = g;
  r->ret[13] = bpf_setsockopt(skops, 99, 1, &v, sizeof(v));
  r->ret[14] = bpf_setsockopt(skops, SOL_TCP, TCP_NODELAY, &v, 2);
  r->ret[15] = bpf_getsockopt(skops, SOL_TCP, TCP_CONGESTION, r->cc, 16);

  __u32 key = op & 15;
  r->ret[16] = bpf_sock_map_update(skops, &sock_map, &key, BPF_ANY);
  r->ret[17] = bpf_sock_hash_update(skops, &sock_hash, &key, BPF_NOEXIST);

  r->ret[18] = bpf_reserve_hdr_opt(skops, 8, 0);
  r->ret[19] = bpf_reserve_hdr_opt(skops, 1, 0);
  __u8 opt[6] = {254, 6, 0xeb, 0x9f, (__u8)op, 0x11};
  r->ret[20] = bpf_store_hdr_opt(skops, opt, sizeof(opt), 0);
  r->ret[21] = bpf_store_hdr_opt(skops, opt, sizeof(opt), 0);
  __u8 big[16] = {253, 16, 0xeb, 0x9f};
  r->ret[22] = bpf_store_hdr_opt(skops, big, sizeof(big), 0);
  __u8 buf[8] = {254, 4, 0xeb, 0x9f};
  r->ret[23] = bpf_load_hdr_opt(skops, buf, sizeof(buf), 0);
  __builtin_memcpy(r->loaded, buf, sizeof(buf));
  __u8 small[4] = {254, 4, 0xeb, 0x9f};
  r->ret[24] = bpf_load_hdr_opt(skops, small, sizeof(small), 0);
  __u8 mss[8] = {2, 0};
  r->ret[25] =
      bpf_load_hdr_opt(skops, mss, sizeof(mss), BPF_LOAD_HDR_OPT_TCP_SYN);
  __u8 ts[12] = {8, 0};
  r->ret[26] = bpf_load_hdr_opt(skops, ts, sizeof(ts), 0);

  WINDOW(skops, d, e);
  r->hdr_len_out = (__u32)(e - d);
  for (__u32 i = 0; i < 64; i++) {
    if (d + i + 1 > e) break;
    r->hdr_out[i] = d[i];
  }
  return 1;
}

char LICENSE[] SEC("license") = "GPL";
