// SPDX-License-Identifier: GPL-2.0
// Example: tc programs the 6.18 verifier refuses for how they use the
// preemption, interrupt and resilient-lock kfuncs (each loaded alone): a
// region still open at exit, a close without an open, interrupt flags
// restored out of order, a lock held at exit, an unlock of a lock not held,
// a lock on the stack.
// bpfemu's bytecode runs stop at the same point with the verifier's reason.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

struct bpf_res_spin_lock {
  __u32 val;
};

extern void bpf_preempt_disable(void) __ksym;
extern void bpf_preempt_enable(void) __ksym;
extern void bpf_local_irq_save(unsigned long *flags) __ksym;
extern void bpf_local_irq_restore(unsigned long *flags) __ksym;
extern int bpf_res_spin_lock(struct bpf_res_spin_lock *lock) __ksym;
extern void bpf_res_spin_unlock(struct bpf_res_spin_lock *lock) __ksym;

struct elem {
  struct bpf_res_spin_lock lock;
  __u32 count;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct elem);
} elems SEC(".maps");

SEC("tc")
int preempt_open_at_exit(struct __sk_buff *skb) {
  bpf_preempt_disable();
  return 0;
}

SEC("tc")
int preempt_enable_unmatched(struct __sk_buff *skb) {
  bpf_preempt_enable();
  return 0;
}

SEC("tc")
int irq_open_at_exit(struct __sk_buff *skb) {
  unsigned long f;
  bpf_local_irq_save(&f);
  return 0;
}

SEC("tc")
int irq_out_of_order(struct __sk_buff *skb) {
  unsigned long f1, f2;
  bpf_local_irq_save(&f1);
  bpf_local_irq_save(&f2);
  bpf_local_irq_restore(&f1);
  bpf_local_irq_restore(&f2);
  return 0;
}

SEC("tc")
int res_lock_held_at_exit(struct __sk_buff *skb) {
  __u32 key = 0;
  struct elem *e = bpf_map_lookup_elem(&elems, &key);
  if (!e) return 2;
  if (bpf_res_spin_lock(&e->lock)) return 1;
  return 0;
}

SEC("tc")
int res_unlock_unheld(struct __sk_buff *skb) {
  __u32 key = 0;
  struct elem *e = bpf_map_lookup_elem(&elems, &key);
  if (!e) return 2;
  bpf_res_spin_unlock(&e->lock);
  return 0;
}

SEC("tc")
int res_lock_on_stack(struct __sk_buff *skb) {
  struct bpf_res_spin_lock l = {};
  if (bpf_res_spin_lock(&l)) return 1;
  bpf_res_spin_unlock(&l);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
