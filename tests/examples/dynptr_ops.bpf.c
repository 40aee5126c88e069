// SPDX-License-Identifier: GPL-2.0
// Example: the 6.18 dynptr kfuncs that move bytes (kernel/bpf/helpers.c
// bpf_dynptr_copy and bpf_dynptr_memset). `ops_tc` (tc, a writable packet
// dynptr) and `ops_socket` (socket filter, where bpf_dynptr_from_skb gives
// a read-only one) read one case from `cases`: which kfunc, what each
// dynptr is over (a 512-byte map value, the packet, a null dynptr), the
// window bpf_dynptr_adjust cuts out of it, the offsets, the size and the
// byte; they write the kfunc's return value to `out`. The buffers (`bufs`)
// and the packet (the test run's data_out) show what was written.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdbool.h>

#include <bpf/bpf_helpers.h>

extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags,
                               struct bpf_dynptr *ptr) __ksym;
extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start,
                             __u32 end) __ksym;
extern int bpf_dynptr_copy(struct bpf_dynptr *dst_ptr, __u32 dst_off,
                           struct bpf_dynptr *src_ptr, __u32 src_off,
                           __u32 size) __ksym;
extern int bpf_dynptr_memset(struct bpf_dynptr *p, __u32 offset, __u32 size,
                             __u8 val) __ksym;

#define BUF_LEN 512

enum ops_op {
  OP_COPY,
  OP_MEMSET,
};

// What a dynptr is over.
enum ops_kind {
  KIND_BUF0,  // bufs[0], a local dynptr
  KIND_BUF1,  // bufs[1]
  KIND_SKB,   // the packet
  KIND_NULL,  // bpf_dynptr_from_mem with bad flags: a null dynptr
};

struct ops_case {
  __u32 op;
  __u32 dst_kind, src_kind;
  __u32 dst_start, dst_end;  // bpf_dynptr_adjust of dst, when end != 0
  __u32 src_start, src_end;
  __u32 dst_off, src_off;
  __u32 size;
  __u32 val;
};

struct buf {
  __u8 b[BUF_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ops_case);
} cases SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct buf);
} bufs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64);
} out SEC(".maps");

// The dynptr of `kind` in *d, cut to [start, end) when end != 0; the
// constructor's and bpf_dynptr_adjust's errors are not the case's.
static __always_inline void make(struct __sk_buff *skb, __u32 kind, __u32 start,
                                 __u32 end, struct buf *b0, struct buf *b1,
                                 struct bpf_dynptr *d) {
  switch (kind) {
    case KIND_BUF0:
      bpf_dynptr_from_mem(b0->b, BUF_LEN, 0, d);
      break;
    case KIND_BUF1:
      bpf_dynptr_from_mem(b1->b, BUF_LEN, 0, d);
      break;
    case KIND_SKB:
      bpf_dynptr_from_skb(skb, 0, d);
      break;
    default:
      bpf_dynptr_from_mem(b0->b, BUF_LEN, 1, d);
      break;
  }
  if (end != 0) bpf_dynptr_adjust(d, start, end);
}

static __always_inline int run_case(struct __sk_buff *skb) {
  __u32 zero = 0, one = 1;
  struct ops_case *c = bpf_map_lookup_elem(&cases, &zero);
  struct buf *b0 = bpf_map_lookup_elem(&bufs, &zero);
  struct buf *b1 = bpf_map_lookup_elem(&bufs, &one);
  __s64 *res = bpf_map_lookup_elem(&out, &zero);
  if (!c || !b0 || !b1 || !res) return 2;
  struct bpf_dynptr dst, src;
  make(skb, c->dst_kind, c->dst_start, c->dst_end, b0, b1, &dst);
  make(skb, c->src_kind, c->src_start, c->src_end, b0, b1, &src);
  if (c->op == OP_COPY) {
    *res = bpf_dynptr_copy(&dst, c->dst_off, &src, c->src_off, c->size);
  } else {
    *res = bpf_dynptr_memset(&dst, c->dst_off, c->size, (__u8)c->val);
  }
  return 0;
}

SEC("tc")
int ops_tc(struct __sk_buff *skb) { return run_case(skb); }

SEC("socket")
int ops_socket(struct __sk_buff *skb) { return run_case(skb); }

char LICENSE[] SEC("license") = "GPL";
