// SPDX-License-Identifier: GPL-2.0
// Example: the open-coded bit iterator (kernel/bpf/helpers.c
// bpf_iter_bits_new / _next / _destroy). `walk_bits` (tc) reads one case
// from `bcase` (how many u64 words, and where they are: the `words` map
// value, a stack copy of its first two words, or a raw address), walks the
// set bits and records in `bout` what bpf_iter_bits_new() answered, how
// many bits came, their sum, the first 16 and the last, and whether _next
// after the end still answers NULL.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

// kernel/bpf/helpers.c (not uapi): the iterator's 16 opaque bytes.
struct bpf_iter_bits {
  __u64 __opaque[2];
} __attribute__((aligned(8)));

extern int bpf_iter_bits_new(struct bpf_iter_bits *it, const __u64 *unsafe_ptr,
                             __u32 nr_words) __ksym;
extern int *bpf_iter_bits_next(struct bpf_iter_bits *it) __ksym;
extern void bpf_iter_bits_destroy(struct bpf_iter_bits *it) __ksym;

#define NR_WORDS 512

enum bits_kind { BITS_MAP, BITS_STACK, BITS_ADDR };

struct bits_case {
  __u32 nr_words;
  __u32 kind;
  __u64 addr;
};

struct words {
  __u64 w[NR_WORDS];
};

struct bits_out {
  __s32 new_ret;
  __u32 count;
  __s64 sum;
  __s32 first[16];
  __s32 last;
  __s32 after;  // bpf_iter_bits_next() once more after the end: 1 non-NULL
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bits_case);
} bcase SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct words);
} bwords SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bits_out);
} bout SEC(".maps");

SEC("tc")
int walk_bits(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct bits_case *c = bpf_map_lookup_elem(&bcase, &zero);
  struct words *w = bpf_map_lookup_elem(&bwords, &zero);
  struct bits_out *o = bpf_map_lookup_elem(&bout, &zero);
  if (!c || !w || !o) return TC_ACT_SHOT;
  __u64 st[2];
  st[0] = w->w[0];
  st[1] = w->w[1];
  const __u64 *p = w->w;
  if (c->kind == BITS_STACK)
    p = st;
  else if (c->kind == BITS_ADDR)
    p = (const __u64 *)c->addr;
  struct bpf_iter_bits it;
  int *b;
  o->new_ret = bpf_iter_bits_new(&it, p, c->nr_words);
  o->count = 0;
  o->sum = 0;
  o->last = -1;
  while ((b = bpf_iter_bits_next(&it))) {
    __u32 n = o->count;
    if (n < 16) o->first[n & 15] = *b;
    o->count = n + 1;
    o->sum += *b;
    o->last = *b;
  }
  o->after = bpf_iter_bits_next(&it) ? 1 : 0;
  bpf_iter_bits_destroy(&it);
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
