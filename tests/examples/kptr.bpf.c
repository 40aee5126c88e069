// SPDX-License-Identifier: GPL-2.0
// Example: allocated objects stashed in map values through `__kptr` fields
// with bpf_kptr_xchg, and refcounted objects in a list and an rbtree at
// once (issue 24; kernel/bpf/helpers.c bpf_kptr_xchg,
// bpf_refcount_acquire_impl; the kernel's selftests local_kptr_stash.c and
// refcounted_kptr.c use them the same way).
//
// `cfg` holds the input: cfg[0] the element index (key), cfg[1] a value.
// stash_a / stash_h put a new object holding cfg[1] into the kptr field of
// element cfg[0] of `astash` (ARRAY) / `hstash` (HASH) and return the value
// of the object that was there (dropped), or -1 for none; take_a / take_h
// take the object out (the field left NULL) and return its value, or -1;
// -2 for an element that does not exist. Userspace updates and deletes of
// the elements free what they hold (bpf_obj_free_fields), which the next
// take shows.
//
// ref_insert puts one object holding cfg[1] into the rbtree and the list
// (two owning references, one from bpf_refcount_acquire); ref_push_twice
// pushes the same node a second time, which fails with -EINVAL and drops
// that reference; tree_pop / list_pop remove the first node of each and
// return its value (-1: empty); ref_stash puts one object both into the
// tree and into astash's element cfg[0].
//
// The per-CPU programs work on pstash[0]'s `__percpu_kptr` field: pc_new
// stashes a new bpf_percpu_obj_new object (1 if one was there, dropped;
// else 0); pc_fill sets each CPU's copy (bpf_per_cpu_ptr, CPUs 0..7, NULL
// past the possible ones) to {cfg[1] + cpu, 0} and returns how many CPUs it
// reached (a new object's bytes are whatever the kernel's allocator had
// there: 6.18 does not zero a recycled per-CPU object); pc_this adds 1000 to
// the current CPU's copy (bpf_this_cpu_ptr); pc_sum returns the sum over the
// CPUs; pc_take takes it out and drops it (1, or -1 for none). All give -1 for
// an empty field.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "obj_graph.h"

struct knode {
  __s64 val;
  __s64 pad;
};

struct kvalue {
  __s64 tag;
  struct knode __kptr *ptr;
  __s64 tail;
};

struct rnode {
  __s64 val;
  struct bpf_rb_node r;
  struct bpf_list_node l;
  struct bpf_refcount ref;
};

struct rvalue {
  __s64 tag;
  struct rnode __kptr *ptr;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __s64);
} cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct kvalue);
} astash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct kvalue);
} hstash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct rvalue);
} rstash SEC(".maps");

private(R) struct bpf_spin_lock rlock;
private(R) struct bpf_rb_root rroot __contains(rnode, r);
private(R) struct bpf_list_head rlist __contains(rnode, l);

static __s64 cfg_at(__u32 i) {
  __s64 *v = bpf_map_lookup_elem(&cfg, &i);
  return v ? *v : 0;
}

static int stash_in(struct kvalue *v) {
  struct knode *n, *old;
  if (!v) return -2;
  n = bpf_obj_new(struct knode);
  if (!n) return -3;
  n->val = cfg_at(1);
  old = bpf_kptr_xchg(&v->ptr, n);
  if (!old) return -1;
  int ret = old->val;
  bpf_obj_drop(old);
  return ret;
}

static int take_from(struct kvalue *v) {
  struct knode *old;
  if (!v) return -2;
  old = bpf_kptr_xchg(&v->ptr, NULL);
  if (!old) return -1;
  int ret = old->val;
  bpf_obj_drop(old);
  return ret;
}

SEC("tc")
int stash_a(struct __sk_buff *skb) {
  __u32 k = cfg_at(0);
  return stash_in(bpf_map_lookup_elem(&astash, &k));
}

SEC("tc")
int take_a(struct __sk_buff *skb) {
  __u32 k = cfg_at(0);
  return take_from(bpf_map_lookup_elem(&astash, &k));
}

SEC("tc")
int stash_h(struct __sk_buff *skb) {
  __u32 k = cfg_at(0);
  return stash_in(bpf_map_lookup_elem(&hstash, &k));
}

SEC("tc")
int take_h(struct __sk_buff *skb) {
  __u32 k = cfg_at(0);
  return take_from(bpf_map_lookup_elem(&hstash, &k));
}

static bool rless(struct bpf_rb_node *a, const struct bpf_rb_node *b) {
  struct rnode *x = container_of(a, struct rnode, r);
  struct rnode *y = container_of(b, struct rnode, r);
  return x->val < y->val;
}

// In a program: n = a new rnode holding cfg[1] and m = a second reference
// to it (bpf_refcount_acquire); the program returns -3 when the allocation
// fails and -4, dropping n, when the acquire does.
#define NEW_RNODE_AND_REF(n, m)    \
  do {                             \
    n = bpf_obj_new(struct rnode); \
    if (!n) return -3;             \
    n->val = cfg_at(1);            \
    m = bpf_refcount_acquire(n);   \
    if (!m) {                      \
      bpf_obj_drop(n);             \
      return -4;                   \
    }                              \
  } while (0)

SEC("tc")
int ref_insert(struct __sk_buff *skb) {
  struct rnode *n, *m;
  NEW_RNODE_AND_REF(n, m);
  bpf_spin_lock(&rlock);
  if (bpf_rbtree_add(&rroot, &n->r, rless)) {
    bpf_spin_unlock(&rlock);
    bpf_obj_drop(m);
    return -5;
  }
  int ret = bpf_list_push_back(&rlist, &m->l);
  bpf_spin_unlock(&rlock);
  return ret;
}

SEC("tc")
int ref_push_twice(struct __sk_buff *skb) {
  struct rnode *n, *m;
  NEW_RNODE_AND_REF(n, m);
  bpf_spin_lock(&rlock);
  int first = bpf_list_push_back(&rlist, &n->l);
  int second = bpf_list_push_front(&rlist, &m->l);
  bpf_spin_unlock(&rlock);
  return first * 1000 + second;
}

SEC("tc")
int tree_pop(struct __sk_buff *skb) {
  struct bpf_rb_node *rb;
  bpf_spin_lock(&rlock);
  rb = bpf_rbtree_first(&rroot);
  if (!rb) {
    bpf_spin_unlock(&rlock);
    return -1;
  }
  rb = bpf_rbtree_remove(&rroot, rb);
  bpf_spin_unlock(&rlock);
  if (!rb) return -2;
  struct rnode *n = container_of(rb, struct rnode, r);
  int ret = n->val;
  bpf_obj_drop(n);
  return ret;
}

SEC("tc")
int list_pop(struct __sk_buff *skb) {
  struct bpf_list_node *l;
  bpf_spin_lock(&rlock);
  l = bpf_list_pop_front(&rlist);
  bpf_spin_unlock(&rlock);
  if (!l) return -1;
  struct rnode *n = container_of(l, struct rnode, l);
  int ret = n->val;
  bpf_obj_drop(n);
  return ret;
}

SEC("tc")
int ref_stash(struct __sk_buff *skb) {
  __u32 k = cfg_at(0);
  struct rvalue *v = bpf_map_lookup_elem(&rstash, &k);
  struct rnode *n, *m;
  if (!v) return -2;
  NEW_RNODE_AND_REF(n, m);
  n = bpf_kptr_xchg(&v->ptr, n);
  if (n) bpf_obj_drop(n);
  bpf_spin_lock(&rlock);
  int ret = bpf_rbtree_add(&rroot, &m->r, rless);
  bpf_spin_unlock(&rlock);
  return ret;
}

SEC("tc")
int ref_take(struct __sk_buff *skb) {
  __u32 k = cfg_at(0);
  struct rvalue *v = bpf_map_lookup_elem(&rstash, &k);
  struct rnode *n;
  if (!v) return -2;
  n = bpf_kptr_xchg(&v->ptr, NULL);
  if (!n) return -1;
  int ret = n->val;
  bpf_obj_drop(n);
  return ret;
}

struct pcval {
  __s64 a;
  __s64 b;
};

struct pvalue {
  __s64 tag;
  struct pcval __percpu_kptr *pc;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pvalue);
} pstash SEC(".maps");

static struct pvalue *pstash_at0(void) {
  __u32 k = 0;
  return bpf_map_lookup_elem(&pstash, &k);
}

SEC("tc")
int pc_new(struct __sk_buff *skb) {
  struct pvalue *e = pstash_at0();
  struct pcval __percpu_kptr *p;
  if (!e) return -2;
  p = bpf_percpu_obj_new(struct pcval);
  if (!p) return -3;
  p = bpf_kptr_xchg(&e->pc, p);
  if (!p) return 0;
  bpf_percpu_obj_drop(p);
  return 1;
}

SEC("tc")
int pc_fill(struct __sk_buff *skb) {
  struct pvalue *e = pstash_at0();
  struct pcval __percpu_kptr *p;
  struct pcval *v;
  __s64 base = cfg_at(1);
  int i, n = 0;
  if (!e) return -2;
  p = e->pc;
  if (!p) return -1;
  for (i = 0; i < 8; i++) {
    v = bpf_per_cpu_ptr(p, i);
    if (!v) continue;
    v->a = base + i;
    v->b = 0;
    n++;
  }
  return n;
}

SEC("tc")
int pc_this(struct __sk_buff *skb) {
  struct pvalue *e = pstash_at0();
  struct pcval __percpu_kptr *p;
  struct pcval *v;
  if (!e) return -2;
  p = e->pc;
  if (!p) return -1;
  v = bpf_this_cpu_ptr(p);
  v->b += 1000;
  return 0;
}

SEC("tc")
int pc_sum(struct __sk_buff *skb) {
  struct pvalue *e = pstash_at0();
  struct pcval __percpu_kptr *p;
  struct pcval *v;
  int i, sum = 0;
  if (!e) return -2;
  p = e->pc;
  if (!p) return -1;
  for (i = 0; i < 8; i++) {
    v = bpf_per_cpu_ptr(p, i);
    if (v) sum += v->a + v->b;
  }
  return sum;
}

SEC("tc")
int pc_take(struct __sk_buff *skb) {
  struct pvalue *e = pstash_at0();
  struct pcval __percpu_kptr *p;
  if (!e) return -2;
  p = bpf_kptr_xchg(&e->pc, NULL);
  if (!p) return -1;
  bpf_percpu_obj_drop(p);
  return 1;
}

char LICENSE[] SEC("license") = "GPL";
