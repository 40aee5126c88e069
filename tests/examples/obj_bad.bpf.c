// SPDX-License-Identifier: GPL-2.0
// Programs the kernel's verifier refuses (obj_list.bpf.c holds the ones it
// accepts), for what bpfemu does at run time instead (docs/semantics.md,
// "Allocated objects"): a list call without the lock, a drop of a freed
// object, a push of a node that is no object's, an object never released,
// a bpf_obj_new of a type that is no struct; a bpf_kptr_xchg of an object
// the program gave away already, bpf_per_cpu_ptr on an object that is not
// per-CPU, bpf_percpu_obj_drop of one that is not.
#include <linux/bpf.h>

#include "obj_graph.h"

struct elem {
  __s64 val;
  struct bpf_list_node node;
};

private(A) struct bpf_spin_lock glock;
private(A) struct bpf_list_head ghead __contains(elem, node);
private(A) struct bpf_list_node loose;

SEC("tc")
int pop_unlocked(struct __sk_buff *skb) {
  return bpf_list_pop_front(&ghead) ? 1 : 2;
}

SEC("tc")
int drop_twice(struct __sk_buff *skb) {
  struct elem *e = bpf_obj_new(struct elem);
  if (!e) return 1;
  bpf_obj_drop(e);
  bpf_obj_drop(e);
  return 2;
}

SEC("tc")
int push_loose(struct __sk_buff *skb) {
  int ret;
  bpf_spin_lock(&glock);
  ret = bpf_list_push_front(&ghead, &loose);
  bpf_spin_unlock(&glock);
  return ret;
}

SEC("tc")
int leak(struct __sk_buff *skb) {
  struct elem *e = bpf_obj_new(struct elem);
  if (!e) return 1;
  e->val = 7;
  return 2;
}

SEC("tc")
int new_not_struct(struct __sk_buff *skb) {
  __s64 *v = bpf_obj_new(__s64);
  if (!v) return 1;
  bpf_obj_drop(v);
  return 2;
}

struct holder {
  struct elem __kptr *p;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct holder);
} holders SEC(".maps");

SEC("tc")
int stash_twice(struct __sk_buff *skb) {
  __u32 k0 = 0, k1 = 1;
  struct holder *a = bpf_map_lookup_elem(&holders, &k0);
  struct holder *b = bpf_map_lookup_elem(&holders, &k1);
  struct elem *e, *old;
  if (!a || !b) return 1;
  e = bpf_obj_new(struct elem);
  if (!e) return 1;
  old = bpf_kptr_xchg(&a->p, e);
  if (old) bpf_obj_drop(old);
  old = bpf_kptr_xchg(&b->p, e); /* e is a's now */
  if (old) bpf_obj_drop(old);
  return 2;
}

SEC("tc")
int per_cpu_plain(struct __sk_buff *skb) {
  struct elem *e = bpf_obj_new(struct elem);
  int ret;
  if (!e) return 1;
  ret = bpf_per_cpu_ptr(e, 0) ? 3 : 2;
  bpf_obj_drop(e);
  return ret;
}

SEC("tc")
int percpu_drop_plain(struct __sk_buff *skb) {
  struct elem *e = bpf_obj_new(struct elem);
  if (!e) return 1;
  bpf_percpu_obj_drop(e);
  bpf_obj_drop(e);
  return 2;
}

char LICENSE[] SEC("license") = "GPL";
