// SPDX-License-Identifier: GPL-2.0
// Example: three kfuncs a 6.18 test run reaches (issue 24, kfn49).
// - net/core/filter.c bpf_dynptr_from_skb_meta (tc): a dynptr over the
//   skb's metadata area, then what the dynptr kfuncs and helpers answer
//   on it (`skb_meta`), and bpf_dynptr_data on it (`skb_meta_data`).
// - net/core/filter.c bpf_xdp_pull_data (xdp): `len` bytes pulled from a
//   multi-buffer frame's fragments into its linear part (`xdp_pull`, an
//   xdp.frags program; `xdp_pull_linear` for a frame without fragments),
//   after bpf_xdp_adjust_tail / _head when asked, the linear part's
//   geometry afterwards and the frame as data_out.
//   (The 6.18.44 host refuses bpf_xdp_adjust_meta to XDP programs:
//   docs/semantics.md; so no metadata here.)
// - kernel/bpf/helpers.c common_btf_ids' bpf_modify_return_test_tp
//   (net/bpf/test_run.c): fires the bpf_trigger_tp tracepoint and answers
//   its nonce (`modret_tp`, a syscall program).
// The inputs come from `args`, the answers go to `res`.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdbool.h>

#include <bpf/bpf_helpers.h>

extern int bpf_dynptr_from_skb_meta(struct __sk_buff *skb, __u64 flags,
                                    struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_xdp_pull_data(struct xdp_md *xdp, __u32 len) __ksym;
extern int bpf_modify_return_test_tp(int nonce) __ksym;
extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start,
                             __u32 end) __ksym;
extern bool bpf_dynptr_is_null(const struct bpf_dynptr *p) __ksym;
extern bool bpf_dynptr_is_rdonly(const struct bpf_dynptr *p) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_clone(const struct bpf_dynptr *p,
                            struct bpf_dynptr *clone__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset,
                              void *buffer__opt, __u32 buffer__szk) __ksym;

struct args {
  __u64 flags;   // bpf_dynptr_from_skb_meta's
  __u64 wflags;  // bpf_dynptr_write's
  __u32 off;
  __u32 len;   // of the read and the write (at most 7)
  __u32 pull;  // bpf_xdp_pull_data's len
  __s32 tail;  // bpf_xdp_adjust_tail's offset before the pull (0: none)
  __s32 nonce;
  __s32 head;  // bpf_xdp_adjust_head's offset before the pull (0: none)
};

struct res {
  __s64 r[12];
  __u8 is[4];  // the bool kfuncs' answers: only R0's low byte is defined
  __u8 buf[8];
  __u8 last[4];  // linear bytes 3596-3599 after a pull past 3600
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct args);
} args SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct res);
} res SEC(".maps");

SEC("tc")
int skb_meta(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct args *a = bpf_map_lookup_elem(&args, &zero);
  struct res *o = bpf_map_lookup_elem(&res, &zero);
  if (!a || !o) return TC_ACT_SHOT;
  struct bpf_dynptr dp, cl;
  const __u32 len = a->len & 7;
  o->r[0] = bpf_dynptr_from_skb_meta(skb, a->flags, &dp);
  o->is[0] = bpf_dynptr_is_null(&dp);
  o->is[1] = bpf_dynptr_is_rdonly(&dp);
  o->r[1] = bpf_dynptr_size(&dp);
  o->r[2] = bpf_dynptr_read(o->buf, len, &dp, a->off, 0);
  o->r[3] = bpf_dynptr_write(&dp, a->off, o->buf, len, a->wflags);
  o->r[4] = bpf_dynptr_slice(&dp, a->off, NULL, 4) != NULL;
  o->r[5] = bpf_dynptr_slice(&dp, 0, NULL, 1) != NULL;
  o->r[6] = bpf_dynptr_clone(&dp, &cl);
  o->r[7] = bpf_dynptr_size(&cl);
  o->is[2] = bpf_dynptr_is_null(&cl);
  o->r[8] = bpf_dynptr_adjust(&dp, a->off, a->off + len);
  o->r[9] = bpf_dynptr_size(&dp);
  o->r[10] = bpf_dynptr_read(o->buf, 0, &dp, 0, 0);
  return TC_ACT_OK;
}

SEC("tc")
int skb_meta_data(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct res *o = bpf_map_lookup_elem(&res, &zero);
  if (!o) return TC_ACT_SHOT;
  struct bpf_dynptr dp;
  o->r[0] = bpf_dynptr_from_skb_meta(skb, 0, &dp);
  o->r[1] = bpf_dynptr_data(&dp, 0, 1) != NULL;
  return TC_ACT_OK;
}

static __always_inline int pull(struct xdp_md *ctx) {
  __u32 zero = 0;
  struct args *a = bpf_map_lookup_elem(&args, &zero);
  struct res *o = bpf_map_lookup_elem(&res, &zero);
  if (!a || !o) return XDP_ABORTED;
  o->r[0] = a->tail != 0 ? bpf_xdp_adjust_tail(ctx, a->tail) : 0;
  o->r[1] = a->head != 0 ? bpf_xdp_adjust_head(ctx, a->head) : 0;
  o->r[2] = bpf_xdp_pull_data(ctx, a->pull);
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  void *meta = (void *)(long)ctx->data_meta;
  o->r[3] = data_end - data;
  o->r[4] = data - meta;
  o->r[5] = bpf_xdp_get_buff_len(ctx);
  // Bytes that were in the first fragment before a pull past 3600.
  if (data + 3600 <= data_end) {
    __builtin_memcpy(o->last, data + 3596, 4);
    *(__u8 *)(data + 3599) = 0xAB;  // the frame's own: data_out shows it
  }
  return XDP_PASS;
}

SEC("xdp.frags")
int xdp_pull(struct xdp_md *ctx) { return pull(ctx); }

SEC("xdp")
int xdp_pull_linear(struct xdp_md *ctx) { return pull(ctx); }

SEC("syscall")
int modret_tp(void *ctx) {
  __u32 zero = 0;
  struct args *a = bpf_map_lookup_elem(&args, &zero);
  struct res *o = bpf_map_lookup_elem(&res, &zero);
  if (!a || !o) return 0;
  o->r[0] = bpf_modify_return_test_tp(a->nonce);
  o->r[1] = bpf_modify_return_test_tp(-a->nonce);
  return bpf_modify_return_test_tp(a->nonce + 1);
}

char LICENSE[] SEC("license") = "GPL";
