// SPDX-License-Identifier: GPL-2.0
// Example (kfuncB47): the task and cgroup kfuncs of kernel/bpf/helpers.c
// (bpf_task_from_vpid, bpf_task_under_cgroup, bpf_task_get_cgroup1,
// bpf_cgroup_ancestor) and kernel/trace/bpf_trace.c bpf_send_signal_task,
// from a syscall program. `probe` finds the task of ctx->pid by vpid (and
// whether bpf_task_from_pid gives the same task), then for that task:
// whether it is under the cgroup2 cgroups ctx->cgid and their ancestors at
// ctx->level, which ancestor handle that is, its cgroup in the v1
// hierarchy ctx->hid and that one's ancestors, and what
// bpf_send_signal_task(task, ctx->sig, ctx->type, ctx->value) returns.
// Only pointers pass through the program (no field reads, so no CO-RE and
// a native build too).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct task_struct {
  int pid;
};
struct cgroup {
  int level;
};

extern struct task_struct *bpf_task_from_vpid(__s32 vpid) __ksym;
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern struct cgroup *bpf_cgroup_from_id(__u64 cgid) __ksym;
extern void bpf_cgroup_release(struct cgroup *cgrp) __ksym;
extern struct cgroup *bpf_cgroup_ancestor(struct cgroup *cgrp,
                                          int level) __ksym;
extern long bpf_task_under_cgroup(struct task_struct *task,
                                  struct cgroup *ancestor) __ksym;
extern struct cgroup *bpf_task_get_cgroup1(struct task_struct *task,
                                           int hierarchy_id) __ksym;
// include/linux/pid.h (libbpf checks the kfunc's prototype against the
// kernel's, enum for enum).
enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID };
extern int bpf_send_signal_task(struct task_struct *task, int sig,
                                enum pid_type type, __u64 value) __ksym;

struct args {
  __s32 pid;
  __s32 sig;  // -1: no signal call
  __s32 type;
  __s32 level;
  __s32 hid;
  __s32 pad;
  __u64 cgid;    // a cgroup2 cgroup
  __u64 anc_id;  // the id its ancestor at `level` should have
  __u64 value;
};

struct out {
  __s64 vpid_found;
  __s64 same_as_pid;
  __s64 cg_found;
  __s64 under;
  __s64 anc_found;
  __s64 anc_is_expected;
  __s64 anc_under;
  __s64 cg1_found;
  __s64 cg1_under;
  __s64 cg1_anc_found;
  __s64 cg1_anc_same;  // level 0 twice: the same root
  __s64 sig_ret;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct out);
} res SEC(".maps");

SEC("syscall")
int probe(struct args *ctx) {
  __u32 zero = 0;
  struct out *o = bpf_map_lookup_elem(&res, &zero);
  if (!o) return 1;
  const __s32 pid = ctx->pid, sig = ctx->sig, type = ctx->type;
  const __s32 level = ctx->level, hid = ctx->hid;
  const __u64 cgid = ctx->cgid, anc_id = ctx->anc_id, value = ctx->value;
  __builtin_memset(o, 0, sizeof(*o));
  o->sig_ret = 1;
  struct task_struct *t = bpf_task_from_vpid(pid);
  if (!t) return 0;
  o->vpid_found = 1;
  struct task_struct *t2 = bpf_task_from_pid(pid);
  if (t2) {
    o->same_as_pid = t2 == t;
    bpf_task_release(t2);
  }
  struct cgroup *cg = bpf_cgroup_from_id(cgid);
  if (cg) {
    o->cg_found = 1;
    o->under = bpf_task_under_cgroup(t, cg);
    struct cgroup *a = bpf_cgroup_ancestor(cg, level);
    if (a) {
      o->anc_found = 1;
      o->anc_under = bpf_task_under_cgroup(t, a);
      struct cgroup *e = bpf_cgroup_from_id(anc_id);
      if (e) {
        o->anc_is_expected = e == a;
        bpf_cgroup_release(e);
      }
      bpf_cgroup_release(a);
    }
    bpf_cgroup_release(cg);
  }
  struct cgroup *c1 = bpf_task_get_cgroup1(t, hid);
  if (c1) {
    o->cg1_found = 1;
    o->cg1_under = bpf_task_under_cgroup(t, c1);
    struct cgroup *a1 = bpf_cgroup_ancestor(c1, level);
    if (a1) {
      o->cg1_anc_found = 1;
      bpf_cgroup_release(a1);
    }
    struct cgroup *r1 = bpf_cgroup_ancestor(c1, 0);
    if (r1) {
      struct cgroup *r2 = bpf_cgroup_ancestor(c1, 0);
      if (r2) {
        o->cg1_anc_same = r1 == r2;
        bpf_cgroup_release(r2);
      }
      bpf_cgroup_release(r1);
    }
    bpf_cgroup_release(c1);
  }
  if (sig >= 0 || sig < -1)
    o->sig_ret = bpf_send_signal_task(t, sig, (enum pid_type)type, value);
  bpf_task_release(t);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
