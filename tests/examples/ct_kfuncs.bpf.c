// SPDX-License-Identifier: GPL-2.0
// Example: the conntrack kfuncs (net/netfilter/nf_conntrack_bpf.c,
// nf_nat_bpf.c) from a tc program (bpf_skb_ct_*) and an XDP program
// (bpf_xdp_ct_*). Each run does one scenario that `cfg` describes and
// records, in `out`, what the kfuncs answered (NULL or not, opts->error,
// opts->dir, opts->ct_zone_dir, return codes) and what the entries show
// (status, mark, the timeout left in jiffies, the reply tuple):
//   OP_LOOKUP  one lookup;
//   OP_ALLOC   one allocation, then its timeout set and the entry inserted;
//   OP_FULL    allocate, set timeout, mark, status and NAT bindings, insert,
//              look the entry up by both tuples, change its timeout and
//              status;
//   OP_DUP     insert the tuple twice (or it and its reverse).
// The nf_conn fields are read through CO-RE with local definitions whose
// padding gives the native build the 6.18 x86-64 layout (natively CO-RE
// reads are plain reads, docs/native.md).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#ifdef __bpf__
#define CORE __attribute__((preserve_access_index))
#else
#define CORE
#endif

union nf_inet_addr___l {
  __u32 all[4];
  __be32 ip;
} CORE;

union nf_conntrack_man_proto___l {
  __be16 all;
} CORE;

struct nf_conntrack_man___l {
  union nf_inet_addr___l u3;
  union nf_conntrack_man_proto___l u;
  __u16 l3num;
} CORE;

struct nf_conntrack_tuple___l {
  struct nf_conntrack_man___l src;
  struct {
    union nf_inet_addr___l u3;
    union {
      __be16 all;
    } u;
    __u8 protonum;
    __u8 dir;
  } dst;
} CORE;

struct nf_conntrack_tuple_hash___l {
  __u64 pad_hnnode[2];
  struct nf_conntrack_tuple___l tuple;
} CORE;

struct nf_conn___l {
  __u32 pad_use;
  __u32 pad_lock;
  __u32 timeout;
  __u32 pad_zone;
  struct nf_conntrack_tuple_hash___l tuplehash[2];
  unsigned long status;
  __u64 pad_net[4];
  __u32 mark;
} CORE;

struct bpf_ct_opts___l {
  __s32 netns_id;
  __s32 error;
  __u8 l4proto;
  __u8 dir;
  __u16 ct_zone_id;
  __u8 ct_zone_dir;
  __u8 reserved[3];
};

// The kfuncs' own types: libbpf matches the externs' prototypes with the
// kernel's by kind (a struct, not a forward declaration; an enum).
struct nf_conn {
  int unused;
};
enum nf_nat_manip_type___l { NF_NAT_MANIP_SRC___l, NF_NAT_MANIP_DST___l };

extern struct nf_conn *bpf_skb_ct_alloc(struct __sk_buff *,
                                        struct bpf_sock_tuple *, __u32,
                                        struct bpf_ct_opts___l *, __u32) __ksym;
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *,
                                         struct bpf_sock_tuple *, __u32,
                                         struct bpf_ct_opts___l *,
                                         __u32) __ksym;
extern struct nf_conn *bpf_xdp_ct_alloc(struct xdp_md *,
                                        struct bpf_sock_tuple *, __u32,
                                        struct bpf_ct_opts___l *, __u32) __ksym;
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *,
                                         struct bpf_sock_tuple *, __u32,
                                         struct bpf_ct_opts___l *,
                                         __u32) __ksym;
extern struct nf_conn *bpf_ct_insert_entry(struct nf_conn *) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;
extern void bpf_ct_set_timeout(struct nf_conn *, __u32) __ksym;
extern int bpf_ct_change_timeout(struct nf_conn *, __u32) __ksym;
extern int bpf_ct_set_status(struct nf_conn *, __u32) __ksym;
extern int bpf_ct_change_status(struct nf_conn *, __u32) __ksym;
extern int bpf_ct_set_nat_info(struct nf_conn *, union nf_inet_addr___l *, int,
                               enum nf_nat_manip_type___l) __ksym;

#define OP_LOOKUP 1
#define OP_ALLOC 2
#define OP_FULL 3
#define OP_DUP 4

struct cfg {
  __u32 op;
  __u32 tuple_sz;
  __u32 opts_sz;
  __s32 netns_id;
  __u8 l4proto;
  __u8 zone_dir;
  __u16 zone_id;
  __u8 reserved[4];
  __u32 timeout;    // bpf_ct_set_timeout, ms
  __u32 status;     // bpf_ct_set_status
  __u32 mark;       // written to the allocated entry
  __u32 timeout2;   // bpf_ct_change_timeout, ms
  __u32 status2;    // bpf_ct_change_status
  __s32 nat_manip;  // < 0: no binding
  __s32 nat_port;
  __be32 nat_addr;
  __u16 lookup_zone;  // the zone of OP_FULL's lookups
  __u8 reverse;       // OP_DUP: the second insert is of the reverse tuple
  __u8 pad;
  __be32 saddr, daddr;
  __be16 sport, dport;
};

#define NSTEP 10
#define NREAD 3

struct out {
  __s64 r[NSTEP];
  __s32 err[NREAD];
  __u32 dir[NREAD];
  __u32 zdir[NREAD];
  __u32 status[NREAD];
  __u32 mark[NREAD];
  __s32 left[NREAD];
  __u32 same;
  __be32 reply_saddr, reply_daddr;
  __be16 reply_sport, reply_dport;
};

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
  __type(value, struct out);
} out SEC(".maps");

// Room past the opts and tuple, so that a wrong size stays in bounds.
struct opts_buf {
  struct bpf_ct_opts___l o;
  __u8 more[8];
};

static __always_inline void make_opts(struct opts_buf *b, const struct cfg *c,
                                      __u16 zone) {
  __builtin_memset(b, 0, sizeof(*b));
  b->o.netns_id = c->netns_id;
  b->o.error = 0;
  b->o.l4proto = c->l4proto;
  b->o.dir = 0xff;
  b->o.ct_zone_id = zone;
  b->o.ct_zone_dir = c->zone_dir;
  b->o.reserved[0] = c->reserved[0];
  b->o.reserved[1] = c->reserved[1];
  b->o.reserved[2] = c->reserved[2];
}

static __always_inline void make_tuple(struct bpf_sock_tuple *t,
                                       const struct cfg *c, int reverse) {
  __builtin_memset(t, 0, sizeof(*t));
  t->ipv4.saddr = reverse ? c->daddr : c->saddr;
  t->ipv4.daddr = reverse ? c->saddr : c->daddr;
  t->ipv4.sport = reverse ? c->dport : c->sport;
  t->ipv4.dport = reverse ? c->sport : c->dport;
}

// An entry's status and mark, and its timeout: as held until the entry is
// confirmed (read 0: jiffies from confirmation), then what is left of it.
static __always_inline void read_ct(struct out *o, int i, struct nf_conn *p) {
  struct nf_conn___l *ct = (struct nf_conn___l *)p;
  if (i < 0 || i >= NREAD) return;
  o->status[i] = ct->status;
  o->mark[i] = ct->mark;
  if (i == 0)
    o->left[i] = ct->timeout;
  else
    o->left[i] = (__s32)(ct->timeout - (__u32)bpf_jiffies64());
}

static __always_inline __u32 sz(__u32 v, __u32 max) {
  return v > max ? max : v;
}

// The scenarios, with the context's lookup and allocation kfuncs.
#define CT_BODY(CTX, LOOKUP, ALLOC)                                       \
  __u32 zero = 0;                                                         \
  struct cfg *c = bpf_map_lookup_elem(&cfg, &zero);                       \
  struct out *o = bpf_map_lookup_elem(&out, &zero);                       \
  if (!c || !o) return 1;                                                 \
  struct bpf_sock_tuple t;                                                \
  struct opts_buf ob;                                                     \
  const __u32 tsz = sz(c->tuple_sz, sizeof(t));                           \
  const __u32 osz = sz(c->opts_sz, sizeof(ob));                           \
  make_tuple(&t, c, 0);                                                   \
  make_opts(&ob, c, c->zone_id);                                          \
  if (c->op == OP_LOOKUP) {                                               \
    struct nf_conn *ct = LOOKUP(CTX, &t, tsz, &ob.o, osz);                \
    o->r[0] = ct != 0;                                                    \
    o->err[0] = ob.o.error;                                               \
    o->dir[0] = ob.o.dir;                                                 \
    o->zdir[0] = ob.o.ct_zone_dir;                                        \
    if (ct) {                                                             \
      read_ct(o, 1, ct);                                                  \
      bpf_ct_release(ct);                                                 \
    }                                                                     \
    return 0;                                                             \
  }                                                                       \
  if (c->op == OP_DUP) {                                                  \
    for (int k = 0; k < 2; k++) {                                         \
      make_tuple(&t, c, k == 1 && c->reverse);                            \
      make_opts(&ob, c, c->zone_id);                                      \
      struct nf_conn *a = ALLOC(CTX, &t, tsz, &ob.o, osz);                \
      o->err[k] = ob.o.error;                                             \
      if (!a) continue;                                                   \
      bpf_ct_set_timeout(a, c->timeout);                                  \
      struct nf_conn *in = bpf_ct_insert_entry(a);                        \
      o->r[k] = in != 0;                                                  \
      if (in) bpf_ct_release(in);                                         \
    }                                                                     \
    return 0;                                                             \
  }                                                                       \
  struct nf_conn *a = ALLOC(CTX, &t, tsz, &ob.o, osz);                    \
  o->r[0] = a != 0;                                                       \
  o->err[0] = ob.o.error;                                                 \
  o->zdir[0] = ob.o.ct_zone_dir;                                          \
  if (!a) return 0;                                                       \
  read_ct(o, 0, a);                                                       \
  bpf_ct_set_timeout(a, c->timeout);                                      \
  if (c->op == OP_FULL) {                                                 \
    ((struct nf_conn___l *)a)->mark = c->mark;                            \
    o->r[1] = bpf_ct_set_status(a, c->status);                            \
    if (c->nat_manip >= 0) {                                              \
      union nf_inet_addr___l addr = {};                                   \
      addr.ip = c->nat_addr;                                              \
      o->r[2] = bpf_ct_set_nat_info(a, &addr, c->nat_port, c->nat_manip); \
    }                                                                     \
  }                                                                       \
  struct nf_conn *in = bpf_ct_insert_entry(a);                            \
  o->r[3] = in != 0;                                                      \
  if (!in) return 0;                                                      \
  read_ct(o, 1, in);                                                      \
  if (c->op != OP_FULL) {                                                 \
    bpf_ct_release(in);                                                   \
    return 0;                                                             \
  }                                                                       \
  struct nf_conn___l *rd = (struct nf_conn___l *)in;                      \
  o->reply_saddr = rd->tuplehash[1].tuple.src.u3.ip;                      \
  o->reply_daddr = rd->tuplehash[1].tuple.dst.u3.ip;                      \
  o->reply_sport = rd->tuplehash[1].tuple.src.u.all;                      \
  o->reply_dport = rd->tuplehash[1].tuple.dst.u.all;                      \
  make_tuple(&t, c, 0);                                                   \
  make_opts(&ob, c, c->lookup_zone);                                      \
  struct nf_conn *lk = LOOKUP(CTX, &t, tsz, &ob.o, osz);                  \
  o->r[4] = lk != 0;                                                      \
  o->err[1] = ob.o.error;                                                 \
  o->dir[1] = ob.o.dir;                                                   \
  if (lk) {                                                               \
    o->same = lk == in;                                                   \
    bpf_ct_release(lk);                                                   \
  }                                                                       \
  /* The reply direction, as the entry's reply tuple names it. */         \
  t.ipv4.saddr = o->reply_saddr;                                          \
  t.ipv4.daddr = o->reply_daddr;                                          \
  t.ipv4.sport = o->reply_sport;                                          \
  t.ipv4.dport = o->reply_dport;                                          \
  make_opts(&ob, c, c->lookup_zone);                                      \
  struct nf_conn *rl = LOOKUP(CTX, &t, tsz, &ob.o, osz);                  \
  o->r[5] = rl != 0;                                                      \
  o->err[2] = ob.o.error;                                                 \
  o->dir[2] = ob.o.dir;                                                   \
  if (rl) bpf_ct_release(rl);                                             \
  o->r[6] = bpf_ct_change_timeout(in, c->timeout2);                       \
  o->r[7] = bpf_ct_change_status(in, c->status2);                         \
  read_ct(o, 2, in);                                                      \
  bpf_ct_release(in);                                                     \
  return 0;

SEC("tc")
int ct_tc(struct __sk_buff *skb){
    CT_BODY(skb, bpf_skb_ct_lookup, bpf_skb_ct_alloc)}

SEC("xdp") int ct_xdp(struct xdp_md *xdp) {
  CT_BODY(xdp, bpf_xdp_ct_lookup, bpf_xdp_ct_alloc)
}

char LICENSE[] SEC("license") = "GPL";
