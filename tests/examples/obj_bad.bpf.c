// SPDX-License-Identifier: GPL-2.0
// Programs the kernel's verifier refuses (obj_list.bpf.c holds the ones it
// accepts), for what bpfemu does at run time instead (docs/semantics.md,
// "Allocated objects"): a list call without the lock, a drop of a freed
// object, a push of a node that is no object's, an object never released,
// a bpf_obj_new of a type that is no struct.
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

char LICENSE[] SEC("license") = "GPL";
