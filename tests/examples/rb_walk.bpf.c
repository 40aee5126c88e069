// SPDX-License-Identifier: GPL-2.0
// Example: walking an rbtree from its root (Linux 6.18, kernel/bpf/helpers.c
// bpf_rbtree_root / bpf_rbtree_left / bpf_rbtree_right, 6.16). `rb_walk`
// (tc) adds the case's keys to a tree, records its shape (the key at each
// position of the first six levels, positions numbered as a heap: the root
// 1, the children of i 2i and 2i + 1), removes the nodes of the case's
// remove keys found by a binary search down the tree, records the shape
// again and drains the tree in order. The shapes are the red-black tree's
// (lib/rbtree.c), which the walk makes visible.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "obj_graph.h"

extern struct bpf_rb_node *bpf_rbtree_root(struct bpf_rb_root *root) __ksym;
extern struct bpf_rb_node *bpf_rbtree_left(struct bpf_rb_root *root,
                                           struct bpf_rb_node *node) __ksym;
extern struct bpf_rb_node *bpf_rbtree_right(struct bpf_rb_root *root,
                                            struct bpf_rb_node *node) __ksym;

#define MAX_KEYS 16
#define MAX_REMOVE 8
#define POSITIONS 64
#define NONE -1

struct node_data {
  __s64 key;
  struct bpf_rb_node node;
};

struct walk_case {
  __u32 n, nremove;
  __s64 keys[MAX_KEYS];
  __s64 remove[MAX_REMOVE];
};

struct walk_out {
  __s64 before[POSITIONS];
  __s64 after[POSITIONS];
  __s64 removed[MAX_REMOVE];  // 1 removed, 0 remove gave NULL, -1 not found
  __s64 drained[MAX_KEYS + 1];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct walk_case);
} cases SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct walk_out);
} out SEC(".maps");

private(A) struct bpf_spin_lock glock;
private(A) struct bpf_rb_root groot __contains(node_data, node);

static bool less(struct bpf_rb_node *a, const struct bpf_rb_node *b) {
  struct node_data *x = container_of(a, struct node_data, node);
  struct node_data *y = container_of(b, struct node_data, node);
  return x->key < y->key;
}

// The key at heap position `pos` (1 .. 63), or NONE. Called with the lock.
static __always_inline __s64 key_at(__u32 pos) {
  struct bpf_rb_node *cur = bpf_rbtree_root(&groot);
  int depth = 0, bit;
  // The depth of pos: its highest set bit.
  for (bit = 5; bit > 0; bit--) {
    if (pos >> bit) {
      depth = bit;
      break;
    }
  }
  for (bit = depth - 1; bit >= 0; bit--) {
    if (!cur) return NONE;
    if ((pos >> bit) & 1) {
      cur = bpf_rbtree_right(&groot, cur);
    } else {
      cur = bpf_rbtree_left(&groot, cur);
    }
  }
  if (!cur) return NONE;
  return container_of(cur, struct node_data, node)->key;
}

static __always_inline void shape(__s64 *dst) {
  __u32 pos;
  dst[0] = NONE;
  for (pos = 1; pos < POSITIONS; pos++) {
    __s64 k;
    bpf_spin_lock(&glock);
    k = key_at(pos);
    bpf_spin_unlock(&glock);
    dst[pos] = k;
  }
}

SEC("tc")
int rb_walk(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct walk_case *c = bpf_map_lookup_elem(&cases, &zero);
  struct walk_out *o = bpf_map_lookup_elem(&out, &zero);
  __u32 i;
  if (!c || !o) return 2;
  for (i = 0; i < MAX_KEYS && i < c->n; i++) {
    struct node_data *d = bpf_obj_new(struct node_data);
    if (!d) return 3;
    d->key = c->keys[i];
    bpf_spin_lock(&glock);
    bpf_rbtree_add(&groot, &d->node, less);
    bpf_spin_unlock(&glock);
  }
  shape(o->before);
  for (i = 0; i < MAX_REMOVE && i < c->nremove; i++) {
    __s64 key = c->remove[i];
    struct bpf_rb_node *cur, *got = NULL;
    int step;
    bpf_spin_lock(&glock);
    cur = bpf_rbtree_root(&groot);
    for (step = 0; step < 8 && cur; step++) {
      __s64 k = container_of(cur, struct node_data, node)->key;
      if (k == key) break;
      cur = key < k ? bpf_rbtree_left(&groot, cur)
                    : bpf_rbtree_right(&groot, cur);
    }
    if (cur && container_of(cur, struct node_data, node)->key == key) {
      got = bpf_rbtree_remove(&groot, cur);
      bpf_spin_unlock(&glock);
      o->removed[i] = got ? 1 : 0;
      if (got) bpf_obj_drop(container_of(got, struct node_data, node));
    } else {
      bpf_spin_unlock(&glock);
      o->removed[i] = NONE;
    }
  }
  shape(o->after);
  for (i = 0; i < MAX_KEYS + 1; i++) {
    struct bpf_rb_node *n;
    bpf_spin_lock(&glock);
    n = bpf_rbtree_first(&groot);
    if (!n) {
      bpf_spin_unlock(&glock);
      o->drained[i] = NONE;
      break;
    }
    n = bpf_rbtree_remove(&groot, n);
    bpf_spin_unlock(&glock);
    if (!n) break;
    struct node_data *d = container_of(n, struct node_data, node);
    o->drained[i] = d->key;
    bpf_obj_drop(d);
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
