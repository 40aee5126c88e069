// SPDX-License-Identifier: GPL-2.0
// Example (kfuncB47): the open-coded task iterator of kernel/bpf/
// task_iter.c (bpf_iter_task_new / _next / _destroy) from a syscall
// program. `walk` iterates with ctx->flags over every task
// (BPF_TASK_ITER_ALL_PROCS, _ALL_THREADS) or the threads of the task of
// ctx->pid (_PROC_THREADS; ctx->pid 0: a NULL task) and records what
// bpf_iter_task_new returned, how many tasks came, and how often the tasks
// bpf_task_from_pid gives for ctx->self / ctx->leader / ctx->parent were
// among them; from the second task of the walk, a nested
// _PROC_THREADS walk counts the threads that follow it. Only pointers pass
// through the program (no field reads, so no CO-RE and a native build too).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct task_struct {
  int pid;
};

struct bpf_iter_task {
  __u64 __opaque[3];
} __attribute__((aligned(8)));

extern int bpf_iter_task_new(struct bpf_iter_task *it,
                             struct task_struct *task__nullable,
                             unsigned int flags) __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __ksym;
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct args {
  __s32 pid;  // the PROC_THREADS task (0: NULL)
  __u32 flags;
  __s32 self, leader, parent;
  __u32 max;  // stop after this many tasks
};

struct out {
  __s64 new_ret;
  __u64 count;
  __u64 self, leader, parent;
  __u64 first_is_self;
  __s64 nested_ret;
  __u64 nested_count;
  __u64 nested_first_is_second;
  __u64 after_end_null;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct out);
} res SEC(".maps");

SEC("syscall")
int walk(struct args *ctx) {
  __u32 zero = 0;
  struct out *o = bpf_map_lookup_elem(&res, &zero);
  if (!o) return 1;
  const __s32 pid = ctx->pid, self_pid = ctx->self, leader_pid = ctx->leader,
              parent_pid = ctx->parent;
  const __u32 flags = ctx->flags, max = ctx->max;
  __builtin_memset(o, 0, sizeof(*o));
  struct task_struct *self = bpf_task_from_pid(self_pid);
  struct task_struct *leader = bpf_task_from_pid(leader_pid);
  struct task_struct *parent = bpf_task_from_pid(parent_pid);
  struct task_struct *of = pid ? bpf_task_from_pid(pid) : 0;
  struct bpf_iter_task it;
  struct task_struct *t;
  // libbpf loads syscall programs sleepable: the iterator
  // (KF_RCU_PROTECTED) needs an RCU read-side section.
  bpf_rcu_read_lock();
  // task__nullable takes NULL or a trusted task, not a maybe-NULL one.
  if (of)
    o->new_ret = bpf_iter_task_new(&it, of, flags);
  else
    o->new_ret = bpf_iter_task_new(&it, 0, flags);
  while ((t = bpf_iter_task_next(&it))) {
    o->count++;
    if (o->count == 1) o->first_is_self = t == self;
    if (t == self) o->self++;
    if (t == leader) o->leader++;
    if (t == parent) o->parent++;
    if (o->count == 2) {
      // An iterated task is RCU-protected, not trusted: a reference makes
      // it one bpf_iter_task_new takes.
      struct task_struct *a = bpf_task_acquire(t);
      if (a) {
        struct bpf_iter_task in;
        struct task_struct *u;
        o->nested_ret = bpf_iter_task_new(&in, a, 2);
        while ((u = bpf_iter_task_next(&in))) {
          o->nested_count++;
          if (o->nested_count == 1) o->nested_first_is_second = u == t;
          if (o->nested_count > 100000) break;
        }
        bpf_iter_task_destroy(&in);
        bpf_task_release(a);
      }
    }
    if (o->count >= max) break;
  }
  if (!t) o->after_end_null = bpf_iter_task_next(&it) == 0;
  bpf_iter_task_destroy(&it);
  bpf_rcu_read_unlock();
  if (of) bpf_task_release(of);
  if (parent) bpf_task_release(parent);
  if (leader) bpf_task_release(leader);
  if (self) bpf_task_release(self);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
