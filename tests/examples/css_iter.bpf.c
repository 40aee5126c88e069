// SPDX-License-Identifier: GPL-2.0
// Example (kfuncB47): the open-coded css iterators (kernel/bpf/
// cgroup_iter.c bpf_iter_css_*, kernel/bpf/task_iter.c
// bpf_iter_css_task_*) from a syscall program. `walk_css` walks from the
// css of cgroup ctx->ids[ctx->start] in order ctx->flags and records, for
// each css it gives, which of ctx->ids it is (NR_IDS: none of them);
// `walk_tasks` walks the tasks of that css with ctx->flags and counts them
// and how often the tasks of ctx->self and ctx->leader came. Only pointers
// pass through the programs (no field reads, so no CO-RE and a native
// build too).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#define NR_IDS 6
#define NR_SEQ 16

struct cgroup_subsys_state {
  int id;
};
struct cgroup {
  struct cgroup_subsys_state self;
};
struct task_struct {
  int pid;
};
struct bpf_iter_css {
  __u64 __opaque[3];
} __attribute__((aligned(8)));
struct bpf_iter_css_task {
  __u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_css_new(struct bpf_iter_css *it,
                            struct cgroup_subsys_state *start,
                            unsigned int flags) __ksym;
extern struct cgroup_subsys_state *bpf_iter_css_next(
    struct bpf_iter_css *it) __ksym;
extern void bpf_iter_css_destroy(struct bpf_iter_css *it) __ksym;
extern int bpf_iter_css_task_new(struct bpf_iter_css_task *it,
                                 struct cgroup_subsys_state *css,
                                 unsigned int flags) __ksym;
extern struct task_struct *bpf_iter_css_task_next(
    struct bpf_iter_css_task *it) __ksym;
extern void bpf_iter_css_task_destroy(struct bpf_iter_css_task *it) __ksym;
extern struct cgroup *bpf_cgroup_from_id(__u64 cgid) __ksym;
extern void bpf_cgroup_release(struct cgroup *cgrp) __ksym;
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct args {
  __u64 ids[NR_IDS];
  __u32 start;
  __u32 flags;
  __s32 self, leader;
};

struct out {
  __s64 new_ret;
  __u64 count;
  __u64 seq[NR_SEQ];
  __u64 self, leader;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct out);
} res SEC(".maps");

SEC("syscall")
int walk_css(struct args *ctx) {
  __u32 zero = 0;
  struct out *o = bpf_map_lookup_elem(&res, &zero);
  if (!o) return 1;
  __u64 ids[NR_IDS];
  __builtin_memcpy(ids, ctx->ids, sizeof(ids));
  const __u32 start = ctx->start, flags = ctx->flags;
  __builtin_memset(o, 0, sizeof(*o));
  o->new_ret = 1;
  struct cgroup *from = bpf_cgroup_from_id(ids[start < NR_IDS ? start : 0]);
  if (!from) return 0;
  struct bpf_iter_css it;
  struct cgroup_subsys_state *pos;
  bpf_rcu_read_lock();
  o->new_ret = bpf_iter_css_new(&it, &from->self, flags);
  while ((pos = bpf_iter_css_next(&it))) {
    __u64 which = NR_IDS;
    for (int k = 0; k < NR_IDS; k++) {
      struct cgroup *h = bpf_cgroup_from_id(ids[k]);
      if (h) {
        if ((void *)pos == (void *)h) which = k;
        bpf_cgroup_release(h);
      }
    }
    if (o->count < NR_SEQ) o->seq[o->count] = which;
    o->count++;
    if (o->count > 100000) break;
  }
  bpf_iter_css_destroy(&it);
  bpf_rcu_read_unlock();
  bpf_cgroup_release(from);
  return 0;
}

SEC("syscall")
int walk_tasks(struct args *ctx) {
  __u32 zero = 0;
  struct out *o = bpf_map_lookup_elem(&res, &zero);
  if (!o) return 1;
  const __u64 id = ctx->ids[0];
  const __u32 flags = ctx->flags;
  const __s32 self_pid = ctx->self, leader_pid = ctx->leader;
  __builtin_memset(o, 0, sizeof(*o));
  o->new_ret = 1;
  struct cgroup *cg = bpf_cgroup_from_id(id);
  if (!cg) return 0;
  struct task_struct *self = bpf_task_from_pid(self_pid);
  struct task_struct *leader = bpf_task_from_pid(leader_pid);
  struct bpf_iter_css_task it;
  struct task_struct *t;
  o->new_ret = bpf_iter_css_task_new(&it, &cg->self, flags);
  while ((t = bpf_iter_css_task_next(&it))) {
    o->count++;
    if (t == self) o->self++;
    if (t == leader) o->leader++;
    if (o->count > 100000) break;
  }
  bpf_iter_css_task_destroy(&it);
  if (self) bpf_task_release(self);
  if (leader) bpf_task_release(leader);
  bpf_cgroup_release(cg);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
