// SPDX-License-Identifier: GPL-2.0
// Example: tunnel metadata from a tc program (issue 26). `tunnel` runs up
// to four steps from the `cmd` map, each one helper call:
// bpf_skb_set_tunnel_key (the key in `cmd`, a size, flags),
// bpf_skb_get_tunnel_key (into `out`, a size, flags),
// bpf_skb_set_tunnel_opt (the options in `cmd`, a size) or
// bpf_skb_get_tunnel_opt (into `out`, a size). Each step's return value
// and what a get wrote (over 0xaa) go to `out`.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

enum op {
  OP_NONE = 0,
  OP_SET_KEY = 1,
  OP_GET_KEY = 2,
  OP_SET_OPT = 3,
  OP_GET_OPT = 4,
};

struct step {
  __u32 op;
  __u32 size;
  __u64 flags;
};

struct cmd {
  struct step steps[4];
  struct bpf_tunnel_key key;
  __u8 opt[260];
};

struct out {
  __s64 ret[4];
  struct bpf_tunnel_key key[4];
  __u8 opt[4][32];
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
int tunnel(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return TC_ACT_SHOT;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const __u32 size = c->steps[i].size;
    const __u64 flags = c->steps[i].flags;
    __s64 ret = 0;
    switch (c->steps[i].op) {
      case OP_SET_KEY: {
        __u32 n = size & 63;
        if (n > sizeof(c->key)) n = sizeof(c->key);
        if (n == 0) n = 1;
        ret = bpf_skb_set_tunnel_key(skb, &c->key, n, flags);
        break;
      }
      case OP_GET_KEY: {
        __u32 n = size & 63;
        if (n > sizeof(o->key[i])) n = sizeof(o->key[i]);
        if (n == 0) n = 1;
        __builtin_memset(&o->key[i], 0xaa, sizeof(o->key[i]));
        ret = bpf_skb_get_tunnel_key(skb, &o->key[i], n, flags);
        break;
      }
      case OP_SET_OPT: {
        __u32 n = size & 511;
        if (n > sizeof(c->opt)) n = sizeof(c->opt);
        if (n == 0) n = 1;
        ret = bpf_skb_set_tunnel_opt(skb, c->opt, n);
        break;
      }
      case OP_GET_OPT: {
        __u32 n = size & 63;
        if (n > sizeof(o->opt[i])) n = sizeof(o->opt[i]);
        if (n == 0) n = 1;
        __builtin_memset(o->opt[i], 0xaa, sizeof(o->opt[i]));
        ret = bpf_skb_get_tunnel_opt(skb, o->opt[i], n);
        break;
      }
      default:
        break;
    }
    o->ret[i] = ret;
  }
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
