// SPDX-License-Identifier: GPL-2.0
// Example (kfy48, issue 24): the BPF crypto kfuncs (kernel/bpf/crypto.c
// bpf_crypto_ctx_create / _acquire / _release, bpf_crypto_encrypt /
// _decrypt over crypto/bpf_crypto_skcipher.c's "skcipher" type). The
// kernel's selftests crypto_sanity.c and crypto_basic.c drive them the same
// way: a sleepable syscall program makes the context and stashes it in a
// `__kptr` field, tc and XDP programs use it.
//
// `create` (syscall): bpf_crypto_ctx_create on the struct bpf_crypto_params
// userspace wrote to pbuf[0], with the size the context gives; out[0] is
// the error it set, out[1] whether a context came back (then stashed in
// ctxs[slot], the one there before released).
// `slot_op` (syscall): op 1 acquires ctxs[slot]'s context and releases it
// again (out[0] 1 if acquired, 0 if the slot is empty); op 2 takes it out
// of the slot and releases it (out[0] 1, or 0 for an empty slot).
// `crypt_tc` / `crypt_xdp`: one bpf_crypto_encrypt / _decrypt with the
// context of ctxs[slot] on the dynptrs the case in `cases` describes (over
// buf[0], the packet, a null dynptr, or no siv at all), each cut to
// [start, end) by bpf_dynptr_adjust when end != 0; out[0] the return value
// (-1000: the slot is empty). buf[0] and the packet show what was written.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

// Opaque here; a complete struct, as libbpf 1.1 does not match a forward
// declaration with the kernel's struct in a kfunc's prototype.
struct bpf_crypto_ctx {
  int opaque;
} __attribute__((preserve_access_index));

// kernel/bpf/crypto.c struct bpf_crypto_params (408 bytes).
struct bpf_crypto_params {
  char type[14];
  __u8 reserved[2];
  char algo[128];
  __u8 key[256];
  __u32 key_len;
  __u32 authsize;
};

extern struct bpf_crypto_ctx *bpf_crypto_ctx_create(
    const struct bpf_crypto_params *params, __u32 params__sz, int *err) __ksym;
extern struct bpf_crypto_ctx *bpf_crypto_ctx_acquire(
    struct bpf_crypto_ctx *ctx) __ksym;
extern void bpf_crypto_ctx_release(struct bpf_crypto_ctx *ctx) __ksym;
extern int bpf_crypto_encrypt(struct bpf_crypto_ctx *ctx,
                              const struct bpf_dynptr *src,
                              const struct bpf_dynptr *dst,
                              const struct bpf_dynptr *siv__nullable) __ksym;
extern int bpf_crypto_decrypt(struct bpf_crypto_ctx *ctx,
                              const struct bpf_dynptr *src,
                              const struct bpf_dynptr *dst,
                              const struct bpf_dynptr *siv__nullable) __ksym;
extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags,
                               struct bpf_dynptr *ptr) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags,
                               struct bpf_dynptr *ptr) __ksym;
extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start,
                             __u32 end) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

// A kptr field of a map value: the BTF type tag the kernel looks for
// (kernel/bpf/btf.c btf_find_kptr); natively a plain pointer.
#ifdef __bpf__
#ifndef __kptr
#define __kptr __attribute__((btf_type_tag("kptr")))
#endif
#else
#undef __kptr
#define __kptr
#endif

#define BUF_LEN 256
#define PBUF_LEN 512

struct cval {
  struct bpf_crypto_ctx __kptr *ctx;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct cval);
} ctxs SEC(".maps");

struct pbuf {
  __u8 b[PBUF_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pbuf);
} pbuf SEC(".maps");

struct buf {
  __u8 b[BUF_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct buf);
} buf SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64[2]);
} out SEC(".maps");

// What a dynptr of a case is over.
enum crypt_kind {
  KIND_BUF,     // buf[0], a local dynptr
  KIND_PACKET,  // the packet
  KIND_NULL,    // bpf_dynptr_from_mem with bad flags: a null dynptr
  KIND_NONE,    // siv only: NULL instead of a dynptr
};

struct crypt_case {
  __u32 slot, decrypt;
  __u32 src_kind, src_start, src_end;
  __u32 dst_kind, dst_start, dst_end;
  __u32 siv_kind, siv_start, siv_end;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct crypt_case);
} cases SEC(".maps");

struct create_args {
  __u32 slot;
  __u32 size;
};

SEC("syscall")
int create(struct create_args *a) {
  __u32 zero = 0, slot = a->slot, size = a->size;
  struct pbuf *p = bpf_map_lookup_elem(&pbuf, &zero);
  __s64 *res = bpf_map_lookup_elem(&out, &zero);
  if (!p || !res) return 1;
  if (size == 0 || size > PBUF_LEN) size = PBUF_LEN;
  int err = 0;
  struct bpf_crypto_ctx *c =
      bpf_crypto_ctx_create((const struct bpf_crypto_params *)p->b, size, &err);
  res[0] = err;
  res[1] = c != 0;
  if (!c) return 0;
  struct cval *v = bpf_map_lookup_elem(&ctxs, &slot);
  if (!v) {
    bpf_crypto_ctx_release(c);
    return 2;
  }
  struct bpf_crypto_ctx *old = bpf_kptr_xchg(&v->ctx, c);
  if (old) bpf_crypto_ctx_release(old);
  return 0;
}

struct slot_args {
  __u32 slot;
  __u32 op;
};

SEC("syscall")
int slot_op(struct slot_args *a) {
  __u32 zero = 0, slot = a->slot;
  __s64 *res = bpf_map_lookup_elem(&out, &zero);
  struct cval *v = bpf_map_lookup_elem(&ctxs, &slot);
  if (!res || !v) return 1;
  res[0] = 0;
  if (a->op == 1) {
    struct bpf_crypto_ctx *got = 0;
    bpf_rcu_read_lock();
    struct bpf_crypto_ctx *c = v->ctx;
    if (c) got = bpf_crypto_ctx_acquire(c);
    bpf_rcu_read_unlock();
    if (got) {
      res[0] = 1;
      bpf_crypto_ctx_release(got);
    }
  } else if (a->op == 2) {
    struct bpf_crypto_ctx *old = bpf_kptr_xchg(&v->ctx, 0);
    if (old) {
      res[0] = 1;
      bpf_crypto_ctx_release(old);
    }
  }
  return 0;
}

// The dynptr of `kind` in *D (FROM_PACKET(D) makes the packet's), cut to
// [START, END) when END != 0; bpf_dynptr_adjust's errors are not the
// case's.
#define MAKE(KIND, START, END, D, FROM_PACKET) \
  if ((KIND) == KIND_PACKET) {                 \
    FROM_PACKET(D);                            \
  } else if ((KIND) == KIND_NULL) {            \
    bpf_dynptr_from_mem(b->b, BUF_LEN, 1, D);  \
  } else {                                     \
    bpf_dynptr_from_mem(b->b, BUF_LEN, 0, D);  \
  }                                            \
  if ((END) != 0) bpf_dynptr_adjust(D, START, END);

#define RUN_CASE(FROM_PACKET)                                       \
  __u32 zero = 0;                                                   \
  struct crypt_case *c = bpf_map_lookup_elem(&cases, &zero);        \
  struct buf *b = bpf_map_lookup_elem(&buf, &zero);                 \
  __s64 *res = bpf_map_lookup_elem(&out, &zero);                    \
  if (!c || !b || !res) return 2;                                   \
  __u32 slot = c->slot;                                             \
  struct cval *v = bpf_map_lookup_elem(&ctxs, &slot);               \
  if (!v) return 3;                                                 \
  struct bpf_crypto_ctx *cc = v->ctx;                               \
  if (!cc) {                                                        \
    res[0] = -1000;                                                 \
    return 0;                                                       \
  }                                                                 \
  struct bpf_dynptr src, dst, siv;                                  \
  MAKE(c->src_kind, c->src_start, c->src_end, &src, FROM_PACKET)    \
  MAKE(c->dst_kind, c->dst_start, c->dst_end, &dst, FROM_PACKET)    \
  MAKE(c->siv_kind, c->siv_start, c->siv_end, &siv, FROM_PACKET)    \
  if (c->siv_kind == KIND_NONE) {                                   \
    res[0] = c->decrypt ? bpf_crypto_decrypt(cc, &src, &dst, 0)     \
                        : bpf_crypto_encrypt(cc, &src, &dst, 0);    \
  } else {                                                          \
    res[0] = c->decrypt ? bpf_crypto_decrypt(cc, &src, &dst, &siv)  \
                        : bpf_crypto_encrypt(cc, &src, &dst, &siv); \
  }                                                                 \
  return 0;

#define SKB_PACKET(D) bpf_dynptr_from_skb(skb, 0, D)
#define XDP_PACKET(D) bpf_dynptr_from_xdp(xdp, 0, D)

SEC("tc")
int crypt_tc(struct __sk_buff *skb){RUN_CASE(SKB_PACKET)}

SEC("xdp") int crypt_xdp(struct xdp_md *xdp) {
  RUN_CASE(XDP_PACKET)
}

char LICENSE[] SEC("license") = "GPL";
