// SPDX-License-Identifier: GPL-2.0
// Example: the task kfuncs (kernel/bpf/helpers.c bpf_task_from_pid,
// bpf_task_acquire, bpf_task_release) from a syscall program (the generic
// set is registered for TRACING, SCHED_CLS, XDP, STRUCT_OPS, SYSCALL and
// CGROUP_SKB). `lookup` takes up to 8 pids in its context and records, for
// each, whether bpf_task_from_pid() found a task, whether
// bpf_task_acquire() of it gave the task back, and whether a second lookup
// of the same pid gives the same task. Only pointers pass through the
// program (no field reads, so no CO-RE and a native build too).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct task_struct {
  int pid;
};

extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

#define NR_PIDS 8

struct args {
  __s32 pids[NR_PIDS];
};

struct found {
  __u32 found[NR_PIDS];
  __u32 acquired[NR_PIDS];
  __u32 same[NR_PIDS];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct found);
} found SEC(".maps");

SEC("syscall")
int lookup(struct args *ctx) {
  __u32 zero = 0;
  struct found *o = bpf_map_lookup_elem(&found, &zero);
  if (!o) return 1;
  // The verifier takes the context only at constant offsets.
  __s32 pids[NR_PIDS];
  __builtin_memcpy(pids, ctx->pids, sizeof(pids));
  for (int i = 0; i < NR_PIDS; i++) {
    const __s32 pid = pids[i];
    o->found[i] = 0;
    o->acquired[i] = 0;
    o->same[i] = 0;
    struct task_struct *t = bpf_task_from_pid(pid);
    if (!t) continue;
    o->found[i] = 1;
    struct task_struct *a = bpf_task_acquire(t);
    if (a) {
      o->acquired[i] = a == t;
      struct task_struct *t2 = bpf_task_from_pid(pid);
      if (t2) {
        o->same[i] = t2 == t;
        bpf_task_release(t2);
      }
      bpf_task_release(a);
    }
    bpf_task_release(t);
  }
  return 0;
}

// bpf_get_current_task_btf() beside them: the task bpf_task_from_pid()
// finds for this thread's id (ctx->pids[0]) is the current task, and
// bpf_task_acquire() of the current task gives it back. Bit 0: same task,
// bit 1: acquired, bit 2: found.
SEC("syscall")
int current_task(struct args *ctx) {
  const __s32 tid = ctx->pids[0];
  struct task_struct *cur = bpf_get_current_task_btf();
  int bits = 0;
  struct task_struct *a = bpf_task_acquire(cur);
  if (a) {
    bits |= (a == cur) << 1;
    bpf_task_release(a);
  }
  struct task_struct *t = bpf_task_from_pid(tid);
  if (t) {
    bits |= 4 | (t == cur);
    bpf_task_release(t);
  }
  return bits;
}

char LICENSE[] SEC("license") = "GPL";
