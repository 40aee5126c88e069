// SPDX-License-Identifier: GPL-2.0
// Example: objects from bpf_obj_new in a global linked list and a global
// rbtree (issue 24; kernel/bpf/helpers.c bpf_obj_new_impl, bpf_list_*,
// bpf_rbtree_*), each guarded by its bpf_spin_lock in its own section as
// the kernel's selftests (progs/linked_list.c, rbtree.c) keep them.
//
// `cfg` holds the input: cfg[0] = n (at most kMaxVals), cfg[1..n] the
// values. list_fill allocates one object per value and pushes odd values
// to the back, even ones to the front; list_drain pops them, alternately
// from the front and the back, folds their values in order into
// results[0] and counts them in results[1], and drops each. tree_fill and
// tree_drain do the same with the rbtree ordered by `key` (ties keep their
// insertion order), taking bpf_rbtree_first and removing it: results[2],
// results[3]. Each program returns its count; drains of an empty
// collection give 0.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "obj_graph.h"

#define kMaxVals 14

struct elem {
  __s64 val;
  struct bpf_list_node node;
};

struct telem {
  __s64 key;
  __u64 seq;
  struct bpf_rb_node node;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __s32);
} cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __s64);
} results SEC(".maps");

private(A) struct bpf_spin_lock glock;
private(A) struct bpf_list_head ghead __contains(elem, node);
private(B) struct bpf_spin_lock tlock;
private(B) struct bpf_rb_root troot __contains(telem, node);

static __s32 cfg_at(__u32 i) {
  __s32 *v = bpf_map_lookup_elem(&cfg, &i);
  return v ? *v : 0;
}

static void put_result(__u32 i, __s64 v) {
  bpf_map_update_elem(&results, &i, &v, BPF_ANY);
}

SEC("tc")
int list_fill(struct __sk_buff *skb) {
  __s32 n = cfg_at(0);
  int i;
  for (i = 0; i < kMaxVals && i < n; i++) {
    struct elem *e = bpf_obj_new(struct elem);
    if (!e) return -1;
    e->val = cfg_at(i + 1);
    bpf_spin_lock(&glock);
    if (e->val & 1)
      bpf_list_push_back(&ghead, &e->node);
    else
      bpf_list_push_front(&ghead, &e->node);
    bpf_spin_unlock(&glock);
  }
  return i;
}

SEC("tc")
int list_drain(struct __sk_buff *skb) {
  __s64 hash = 0;
  int i;
  for (i = 0; i < kMaxVals + 2; i++) {
    struct bpf_list_node *n;
    bpf_spin_lock(&glock);
    if (i & 1)
      n = bpf_list_pop_back(&ghead);
    else
      n = bpf_list_pop_front(&ghead);
    bpf_spin_unlock(&glock);
    if (!n) break;
    struct elem *e = container_of(n, struct elem, node);
    hash = hash * 31 + e->val;
    bpf_obj_drop(e);
  }
  put_result(0, hash);
  put_result(1, i);
  return i;
}

// The values at both ends, left on the list (bpf_list_front / _back,
// 6.18): front * 1000 + back, or -1 for an empty list.
SEC("tc")
int list_peek(struct __sk_buff *skb) {
  struct bpf_list_node *f, *b;
  int ret = -1;
  bpf_spin_lock(&glock);
  f = bpf_list_front(&ghead);
  b = bpf_list_back(&ghead);
  if (f && b)
    ret = container_of(f, struct elem, node)->val * 1000 +
          container_of(b, struct elem, node)->val;
  bpf_spin_unlock(&glock);
  return ret;
}

static bool key_less(struct bpf_rb_node *a, const struct bpf_rb_node *b) {
  struct telem *x = container_of(a, struct telem, node);
  struct telem *y = container_of(b, struct telem, node);
  return x->key < y->key;
}

SEC("tc")
int tree_fill(struct __sk_buff *skb) {
  __s32 n = cfg_at(0);
  int i;
  for (i = 0; i < kMaxVals && i < n; i++) {
    struct telem *e = bpf_obj_new(struct telem);
    if (!e) return -1;
    e->key = cfg_at(i + 1);
    e->seq = i;
    bpf_spin_lock(&tlock);
    bpf_rbtree_add(&troot, &e->node, key_less);
    bpf_spin_unlock(&tlock);
  }
  return i;
}

SEC("tc")
int tree_drain(struct __sk_buff *skb) {
  __s64 hash = 0;
  int i;
  for (i = 0; i < kMaxVals + 2; i++) {
    struct bpf_rb_node *n;
    bpf_spin_lock(&tlock);
    n = bpf_rbtree_first(&troot);
    if (!n) {
      bpf_spin_unlock(&tlock);
      break;
    }
    n = bpf_rbtree_remove(&troot, n);
    bpf_spin_unlock(&tlock);
    if (!n) break;
    struct telem *e = container_of(n, struct telem, node);
    hash = hash * 31 + e->key * 16 + e->seq;
    bpf_obj_drop(e);
  }
  put_result(2, hash);
  put_result(3, i);
  return i;
}

char LICENSE[] SEC("license") = "GPL";
