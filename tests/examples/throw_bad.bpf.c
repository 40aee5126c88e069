// SPDX-License-Identifier: GPL-2.0
// Example: tc programs the 6.18 verifier refuses for how they throw (each
// loaded alone): a throw inside a bpf_preempt_disable region, inside an
// irq-save region, while a resilient lock is held, from a bpf_loop
// callback, while a bpf_spin_lock is held (any call is). bpfemu's bytecode runs
// stop at the same point with the verifier's reason.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

extern void bpf_throw(__u64 cookie) __ksym;
extern void bpf_preempt_disable(void) __ksym;
extern void bpf_preempt_enable(void) __ksym;
extern void bpf_local_irq_save(unsigned long *flags) __ksym;
extern void bpf_local_irq_restore(unsigned long *flags) __ksym;

struct bpf_res_spin_lock {
  __u32 val;
};
extern int bpf_res_spin_lock(struct bpf_res_spin_lock *lock) __ksym;
extern void bpf_res_spin_unlock(struct bpf_res_spin_lock *lock) __ksym;

struct elem {
  struct bpf_spin_lock lock;
  __u32 count;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct elem);
} elems SEC(".maps");

struct res_elem {
  struct bpf_res_spin_lock lock;
  __u32 count;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct res_elem);
} res_elems SEC(".maps");

SEC("tc")
int throw_in_preempt(struct __sk_buff *skb) {
  bpf_preempt_disable();
  if (skb->len > 10) bpf_throw(1);
  bpf_preempt_enable();
  return 0;
}

SEC("tc")
int throw_in_irq(struct __sk_buff *skb) {
  unsigned long flags;
  bpf_local_irq_save(&flags);
  if (skb->len > 10) bpf_throw(1);
  bpf_local_irq_restore(&flags);
  return 0;
}

SEC("tc")
int throw_in_res_lock(struct __sk_buff *skb) {
  __u32 key = 0;
  struct res_elem *e = bpf_map_lookup_elem(&res_elems, &key);
  if (!e) return 0;
  if (bpf_res_spin_lock(&e->lock)) return 0;
  if (skb->len > 10) bpf_throw(1);
  bpf_res_spin_unlock(&e->lock);
  return 0;
}

SEC("tc")
int throw_in_spin_lock(struct __sk_buff *skb) {
  __u32 key = 0;
  struct elem *e = bpf_map_lookup_elem(&elems, &key);
  if (!e) return 0;
  bpf_spin_lock(&e->lock);
  if (skb->len > 10) bpf_throw(1);
  bpf_spin_unlock(&e->lock);
  return 0;
}

static long throwing_cb(__u32 i, void *ctx) {
  if (i > 0) bpf_throw(1);
  return 0;
}

SEC("tc")
int throw_in_callback(struct __sk_buff *skb) {
  bpf_loop(2, throwing_cb, 0, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
