// SPDX-License-Identifier: GPL-2.0
// Example: the preemption, interrupt and resilient-lock kfuncs of Linux
// 6.18 (kernel/bpf/helpers.c bpf_preempt_disable / _enable,
// bpf_local_irq_save / _restore; kernel/bpf/rqspinlock.c
// bpf_res_spin_lock / _unlock and their _irqsave / _irqrestore forms), from
// tc programs the verifier accepts: balanced regions, the uncontended lock,
// and the AA deadlock the lock detects at run time (two lookups of the same
// map value, which the verifier cannot tell apart). Each writes its
// answers to `out`.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

// include/linux/bpf.h (6.15), absent from older uapi headers.
struct bpf_res_spin_lock {
  __u32 val;
};

extern void bpf_preempt_disable(void) __ksym;
extern void bpf_preempt_enable(void) __ksym;
extern void bpf_local_irq_save(unsigned long *flags) __ksym;
extern void bpf_local_irq_restore(unsigned long *flags) __ksym;
extern int bpf_res_spin_lock(struct bpf_res_spin_lock *lock) __ksym;
extern void bpf_res_spin_unlock(struct bpf_res_spin_lock *lock) __ksym;
extern int bpf_res_spin_lock_irqsave(struct bpf_res_spin_lock *lock,
                                     unsigned long *flags) __ksym;
extern void bpf_res_spin_unlock_irqrestore(struct bpf_res_spin_lock *lock,
                                           unsigned long *flags) __ksym;

struct elem {
  struct bpf_res_spin_lock lock;
  __u32 count;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct elem);
} elems SEC(".maps");

struct answers {
  __s64 r[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct answers);
} out SEC(".maps");

static __always_inline struct answers *answers(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&out, &zero);
}

// Nested regions, closed in order.
SEC("tc")
int preempt_nest(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  bpf_preempt_disable();
  bpf_preempt_disable();
  a->r[0] = 1;
  bpf_preempt_enable();
  a->r[1] = 2;
  bpf_preempt_enable();
  return 7;
}

SEC("tc")
int irq_nest(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  unsigned long f1, f2;
  bpf_local_irq_save(&f1);
  bpf_local_irq_save(&f2);
  a->r[0] = 3;
  bpf_local_irq_restore(&f2);
  bpf_local_irq_restore(&f1);
  return 8;
}

// The uncontended lock, then the same element locked through a second
// lookup while held: -EDEADLK, the lock still held by the first.
SEC("tc")
int res_lock_aa(struct __sk_buff *skb) {
  __u32 key = 0;
  struct answers *a = answers();
  struct elem *e1 = bpf_map_lookup_elem(&elems, &key);
  struct elem *e2 = bpf_map_lookup_elem(&elems, &key);
  if (!a || !e1 || !e2) return 2;
  int r1, r2 = -1000;
  r1 = bpf_res_spin_lock(&e1->lock);
  if (r1 == 0) {
    r2 = bpf_res_spin_lock(&e2->lock);
    if (r2 == 0) bpf_res_spin_unlock(&e2->lock);
    e1->count += 1;
    bpf_res_spin_unlock(&e1->lock);
  }
  a->r[0] = r1;
  a->r[1] = r2;
  // Once released it can be taken again.
  a->r[2] = bpf_res_spin_lock(&e2->lock);
  if (a->r[2] == 0) {
    e2->count += 10;
    bpf_res_spin_unlock(&e2->lock);
  }
  return 0;
}

// Two elements held at once (released in reverse), then the AA case of
// the _irqsave form.
SEC("tc")
int res_lock_irqsave(struct __sk_buff *skb) {
  __u32 k0 = 0, k1 = 1;
  struct answers *a = answers();
  struct elem *e1 = bpf_map_lookup_elem(&elems, &k0);
  struct elem *e2 = bpf_map_lookup_elem(&elems, &k1);
  struct elem *e3 = bpf_map_lookup_elem(&elems, &k1);
  if (!a || !e1 || !e2 || !e3) return 2;
  unsigned long f1, f2, f3;
  int r1, r2 = -1000, r3 = -1000;
  r1 = bpf_res_spin_lock_irqsave(&e1->lock, &f1);
  if (r1 == 0) {
    r2 = bpf_res_spin_lock_irqsave(&e2->lock, &f2);
    if (r2 == 0) {
      r3 = bpf_res_spin_lock_irqsave(&e3->lock, &f3);
      if (r3 == 0) bpf_res_spin_unlock_irqrestore(&e3->lock, &f3);
      e2->count += 100;
      bpf_res_spin_unlock_irqrestore(&e2->lock, &f2);
    }
    e1->count += 1000;
    bpf_res_spin_unlock_irqrestore(&e1->lock, &f1);
  }
  a->r[0] = r1;
  a->r[1] = r2;
  a->r[2] = r3;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
