// SPDX-License-Identifier: GPL-2.0
// Example: the skb's checksum state, ECN mark, time stamp, socket and route
// helpers, and the XDP buffer's length (issue 24). `tc_skb_misc` runs up to
// six steps from the `cmd` map in order, recording each step's return in
// `out` (and what bpf_skb_load_bytes_relative read, the time stamp the skb
// carries afterwards); `xdp_buff_len` records bpf_xdp_get_buff_len.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

enum op {
  OP_CSUM_UPDATE = 1,
  OP_CSUM_LEVEL = 2,
  OP_ECN_SET_CE = 3,
  OP_SET_TSTAMP = 4,
  OP_LOAD_RELATIVE = 5,
  OP_SOCKET_COOKIE = 6,
  OP_SOCKET_UID = 7,
  OP_SKB_CLASSID = 8,
  OP_CGROUP_CLASSID = 9,
  OP_ROUTE_REALM = 10,
  OP_ADJUST_ROOM = 11,
  OP_NETNS_COOKIE = 12,
  OP_XFRM_STATE = 13,
  OP_SK_ASSIGN = 14,
  OP_SYNCOOKIE = 15,
  OP_RUN_SOCK_FULL = 16,
};

#define STEPS 6

struct step {
  __u32 op;
  __u32 arg32;
  __u64 arg64;
};

struct cmd {
  struct step steps[STEPS];
};

struct out {
  __s64 ret[STEPS];
  __u64 tstamp;
  __u32 tstamp_type;
  __u32 cookie_stable;
  __u8 bytes[8];
  __u64 netns_cookie;
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

// The SYN cookie helpers on the TCP packet after an IPv4 (arg64 0) or IPv6
// (arg64 1) header. arg32: 0-2 generate over a TCP header of 20, 24 or 16
// bytes (the MSS the cookie encodes, or the error: the cookie itself is
// keyed by a per-boot secret); 3 generate, turn the SYN into the ACK that
// answers it (seq + 1, ack_seq = cookie + 1), check it, and restore the
// header; 4 check the packet as it is.
static __always_inline __s64 syncookie(struct __sk_buff *skb,
                                       const struct step *s) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  const int v6 = s->arg64 & 1;
  struct tcphdr *th =
      data + ETH_HLEN + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
  if ((void *)th + 24 > end) return -1002;
  void *ip = data + ETH_HLEN;
  __s64 r;
  if (s->arg32 < 3) {
    const __u32 len = s->arg32 == 0 ? 20 : s->arg32 == 1 ? 24 : 16;
    if (v6) {
      r = len == 20   ? bpf_tcp_raw_gen_syncookie_ipv6(ip, th, 20)
          : len == 24 ? bpf_tcp_raw_gen_syncookie_ipv6(ip, th, 24)
                      : bpf_tcp_raw_gen_syncookie_ipv6(ip, th, 16);
    } else {
      r = len == 20   ? bpf_tcp_raw_gen_syncookie_ipv4(ip, th, 20)
          : len == 24 ? bpf_tcp_raw_gen_syncookie_ipv4(ip, th, 24)
                      : bpf_tcp_raw_gen_syncookie_ipv4(ip, th, 16);
    }
    return r < 0 ? r : r >> 32;
  }
  if (s->arg32 == 4) {
    return v6 ? bpf_tcp_raw_check_syncookie_ipv6(ip, th)
              : bpf_tcp_raw_check_syncookie_ipv4(ip, th);
  }
  const __u32 len = th->doff == 6 ? 24 : 20;
  __s64 g;
  if (v6) {
    g = len == 24 ? bpf_tcp_raw_gen_syncookie_ipv6(ip, th, 24)
                  : bpf_tcp_raw_gen_syncookie_ipv6(ip, th, 20);
  } else {
    g = len == 24 ? bpf_tcp_raw_gen_syncookie_ipv4(ip, th, 24)
                  : bpf_tcp_raw_gen_syncookie_ipv4(ip, th, 20);
  }
  if (g < 0) return g;
  const __u32 seq = th->seq, ack = th->ack_seq;
  th->seq = bpf_htonl(bpf_ntohl(seq) + 1);
  th->ack_seq = bpf_htonl((__u32)g + 1);
  r = v6 ? bpf_tcp_raw_check_syncookie_ipv6(ip, th)
         : bpf_tcp_raw_check_syncookie_ipv4(ip, th);
  th->seq = seq;
  th->ack_seq = ack;
  return r;
}

static __always_inline __s64 run_step(struct __sk_buff *skb,
                                      const struct step *s, struct out *o) {
  switch (s->op) {
    case OP_CSUM_UPDATE:
      return bpf_csum_update(skb, s->arg32);
    case OP_CSUM_LEVEL:
      return bpf_csum_level(skb, s->arg64);
    case OP_ECN_SET_CE:
      return bpf_skb_ecn_set_ce(skb);
    case OP_SET_TSTAMP:
      return bpf_skb_set_tstamp(skb, s->arg64, s->arg32);
    case OP_LOAD_RELATIVE:
      return bpf_skb_load_bytes_relative(skb, s->arg32, o->bytes,
                                         sizeof(o->bytes), s->arg64);
    case OP_SOCKET_COOKIE: {
      __u64 a = bpf_get_socket_cookie(skb);
      __u64 b = bpf_get_socket_cookie(skb);
      o->cookie_stable = a == b;
      return a != 0;
    }
    case OP_SOCKET_UID:
      return bpf_get_socket_uid(skb);
    case OP_SKB_CLASSID:
      return bpf_skb_cgroup_classid(skb);
    case OP_CGROUP_CLASSID:
      return bpf_get_cgroup_classid(skb);
    case OP_ROUTE_REALM:
      return bpf_get_route_realm(skb);
    case OP_NETNS_COOKIE:
      o->netns_cookie = bpf_get_netns_cookie(s->arg32 ? 0 : skb);
      return o->netns_cookie != 0;
    case OP_XFRM_STATE: {
      struct bpf_xfrm_state x;
      __builtin_memset(&x, 0xff, sizeof(x));
      long r = bpf_skb_get_xfrm_state(skb, s->arg32, &x, sizeof(x), s->arg64);
      __builtin_memcpy(o->bytes, &x, sizeof(o->bytes));
      return r;
    }
    case OP_SK_ASSIGN: {
      struct bpf_sock *sk = skb->sk;
      if (!sk) return -1001;
      return bpf_sk_assign(skb, sk, s->arg64);
    }
    case OP_RUN_SOCK_FULL: {
      struct bpf_sock *sk = skb->sk;
      if (!sk) return -1001;
      sk = bpf_sk_fullsock(sk);
      if (!sk) return -1003;
      switch (s->arg32) {
        case 0:
          return sk->family | (__s64)sk->state << 16 |
                 (__s64)sk->protocol << 32;
        case 1:
          return sk->src_ip4;
        case 2:
          return sk->dst_ip4;
        case 3:
          return sk->type | (__s64)sk->src_port << 32;
        case 4:
          return sk->rx_queue_mapping;
        case 5:
          return sk->src_ip6[3];
        case 6:
          return sk->dst_ip6[3];
        case 7:
          return sk->bound_dev_if | (__s64)sk->dst_port << 32;
      }
      return -1004;
    }
    case OP_SYNCOOKIE:
      return syncookie(skb, s);
    case OP_ADJUST_ROOM:
      return bpf_skb_adjust_room(skb, (__s32)s->arg32, BPF_ADJ_ROOM_NET,
                                 s->arg64);
  }
  return -1000;
}

SEC("tc")
int tc_skb_misc(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return TC_ACT_SHOT;
  for (int i = 0; i < STEPS; i++) {
    if (c->steps[i].op == 0) break;
    o->ret[i] = run_step(skb, &c->steps[i], o);
  }
  o->tstamp = skb->tstamp;
  o->tstamp_type = skb->tstamp_type;
  return TC_ACT_OK;
}

SEC("xdp.frags")
int xdp_buff_len(struct xdp_md *xdp) {
  __u32 zero = 0;
  struct out *o = bpf_map_lookup_elem(&out, &zero);
  if (!o) return XDP_ABORTED;
  o->ret[0] = bpf_xdp_get_buff_len(xdp);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
