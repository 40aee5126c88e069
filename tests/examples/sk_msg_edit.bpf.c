// SPDX-License-Identifier: GPL-2.0
// Example: an SK_MSG verdict program that edits the messages a socket
// sends (bpf_msg_pull_data, bpf_msg_push_data, bpf_msg_pop_data) and
// meters them (bpf_msg_apply_bytes, bpf_msg_cork_bytes) or redirects them
// (bpf_msg_redirect_map), as the map `cfg` says, recording in `recs` what each
// run saw and what the helpers returned. Pushed bytes are written before the
// message goes on (the kernel does not clear them).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#define MAX_RUNS 16

enum { OP_NONE, OP_PULL, OP_PUSH, OP_POP, OP_PUSH_MANY };

struct op {
  __u32 kind;
  __u32 a;
  __u32 b;
  __u32 flags;
};

struct cfg {
  struct op ops[3];
  __u32 apply;     // bpf_msg_apply_bytes(apply) when not 0
  __u32 cork;      // bpf_msg_cork_bytes(cork) when not 0
  __u32 verdict;   // SK_PASS or SK_DROP
  __u32 redirect;  // not 0: bpf_msg_redirect_map to slot 1, flags redirect - 1
};

struct rec {
  __u32 size_in;
  __u32 len_in;
  __s64 ret[3];
  __u32 size_out;
  __u32 len_out;
  __u8 head[8];
  __s64 redirect_ret;
};

struct {
  __uint(type, BPF_MAP_TYPE_SOCKMAP);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} sock_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cfg);
} cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} runs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_RUNS);
  __type(key, __u32);
  __type(value, struct rec);
} recs SEC(".maps");

// The data window, read through an opaque copy of the context pointer:
// clang would otherwise keep &msg->data_end in a register, and the
// verifier refuses loads through a moved context pointer.
#define WINDOW(msg, d, e)         \
  do {                            \
    struct sk_msg_md *m_ = (msg); \
    asm volatile("" : "+r"(m_));  \
    d = (__u8 *)m_->data;         \
    e = (__u8 *)m_->data_end;     \
  } while (0)

// Writes `n` (at most 8) bytes base, base + 1, ... at the data window.
static __always_inline void fill(struct sk_msg_md *msg, __u32 n, __u8 base) {
  __u8 *d, *e;
  WINDOW(msg, d, e);
  for (__u32 i = 0; i < 8; i++) {
    if (i >= n || d + i + 1 > e) break;
    d[i] = base + i;
  }
}

// A push whose new bytes are then pulled into the window and written.
static __always_inline long push(struct sk_msg_md *msg, __u32 at, __u32 n,
                                 __u32 flags, __u8 base) {
  long ret = bpf_msg_push_data(msg, at, n, flags);
  if (ret == 0 && n != 0 && bpf_msg_pull_data(msg, at, at + n, 0) == 0)
    fill(msg, n, base);
  return ret;
}

static __always_inline long do_op(struct sk_msg_md *msg, const struct op *o,
                                  int slot) {
  switch (o->kind) {
    case OP_PULL:
      return bpf_msg_pull_data(msg, o->a, o->b, o->flags);
    case OP_PUSH:
      return push(msg, o->a, o->b, o->flags, 0x50 + 0x10 * slot);
    case OP_POP:
      return bpf_msg_pop_data(msg, o->a, o->b, o->flags);
    case OP_PUSH_MANY: {
      // b one-byte pushes, at a, a+3, a+6, ...: the ring's 17 slots fill.
      long ret = 0;
      for (__u32 i = 0; i < 20; i++) {
        if (i >= o->b) break;
        ret = push(msg, o->a + 3 * i, 1, 0, 0x80 + i);
        if (ret) break;
      }
      return ret;
    }
  }
  return 0;
}

SEC("sk_msg")
int edit(struct sk_msg_md *msg) {
  __u32 zero = 0;
  struct cfg *c = bpf_map_lookup_elem(&cfg, &zero);
  __u32 *n = bpf_map_lookup_elem(&runs, &zero);
  if (!c || !n) return SK_DROP;
  __u32 idx = *n;
  *n = idx + 1;
  struct rec *r = bpf_map_lookup_elem(&recs, &idx);
  if (!r) return SK_DROP;
  __u8 *d, *e;
  WINDOW(msg, d, e);
  r->size_in = msg->size;
  r->len_in = (__u32)(e - d);
  r->ret[0] = do_op(msg, &c->ops[0], 0);
  r->ret[1] = do_op(msg, &c->ops[1], 1);
  r->ret[2] = do_op(msg, &c->ops[2], 2);
  if (c->apply) bpf_msg_apply_bytes(msg, c->apply);
  if (c->cork) bpf_msg_cork_bytes(msg, c->cork);
  WINDOW(msg, d, e);
  r->size_out = msg->size;
  r->len_out = (__u32)(e - d);
  for (__u32 i = 0; i < 8; i++) {
    if (d + i + 1 > e) break;
    r->head[i] = d[i];
  }
  if (c->redirect)
    r->redirect_ret = bpf_msg_redirect_map(msg, &sock_map, 1, c->redirect - 1);
  return c->verdict == SK_PASS ? SK_PASS : SK_DROP;
}

char LICENSE[] SEC("license") = "GPL";
