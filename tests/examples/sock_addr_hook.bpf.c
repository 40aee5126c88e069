// SPDX-License-Identifier: GPL-2.0
// Two cgroup/connect4 programs attached to one cgroup (BPF_F_ALLOW_MULTI),
// run by a connect() of a socket made in it (issue 24): each records the
// context (the destination, the socket's family, type and protocol) and
// the run context's retval, then does what its slot of `cfg` says: bind
// the socket (bpf_bind), set and read back up to four socket options
// (bpf_setsockopt / bpf_getsockopt), rewrite the destination, set the
// retval, and allow (1) or deny (0).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "sock_addr_hook_cases.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct sock_addr_cfg);
} cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct sock_addr_seen);
} seen SEC(".maps");

static __always_inline void option(struct bpf_sock_addr* ctx,
                                   struct sock_addr_cfg* c,
                                   struct sock_addr_seen* s, int i) {
  if (i >= c->nopts) return;
  __u32 n = c->opt[i].len;
  if (n < 1) n = 1;
  if (n > 16) n = 16;
  s->set_ret[i] =
      bpf_setsockopt(ctx, c->opt[i].level, c->opt[i].optname, c->opt[i].val, n);
  s->get_ret[i] =
      bpf_getsockopt(ctx, c->opt[i].level, c->opt[i].optname, s->got[i], n);
}

static __always_inline int probe(struct bpf_sock_addr* ctx, __u32 slot) {
  struct sock_addr_cfg* c = bpf_map_lookup_elem(&cfg, &slot);
  struct sock_addr_seen* s = bpf_map_lookup_elem(&seen, &slot);
  if (!c || !s) return 1;
  if (s->hits++ != 0) return 1;
  s->user_family = ctx->user_family;
  s->user_ip4 = ctx->user_ip4;
  s->user_port = ctx->user_port;
  s->family = ctx->family;
  s->type = ctx->type;
  s->protocol = ctx->protocol;
  s->retval_before = bpf_get_retval();
  if (c->action & SOCK_ADDR_BIND) {
    __u32 n = c->bind_len;
    if (n < 1) n = 1;
    if (n > sizeof(c->bind_addr)) n = sizeof(c->bind_addr);
    s->bind_ret = bpf_bind(ctx, (struct sockaddr*)c->bind_addr, n);
  }
  option(ctx, c, s, 0);
  option(ctx, c, s, 1);
  option(ctx, c, s, 2);
  option(ctx, c, s, 3);
  if (c->action & SOCK_ADDR_REWRITE) {
    ctx->user_ip4 = c->new_ip4;
    ctx->user_port = c->new_port;
  }
  s->ip4_after = ctx->user_ip4;
  s->port_after = ctx->user_port;
  if (c->action & SOCK_ADDR_SET_RETVAL) bpf_set_retval(c->retval);
  s->retval_after = bpf_get_retval();
  return c->verdict ? 1 : 0;
}

SEC("cgroup/connect4")
int connect_first(struct bpf_sock_addr* ctx) { return probe(ctx, 0); }

SEC("cgroup/connect4")
int connect_second(struct bpf_sock_addr* ctx) { return probe(ctx, 1); }

char LICENSE[] SEC("license") = "GPL";
