// SPDX-License-Identifier: GPL-2.0
// bpf_task_pt_regs from a SYSCALL program (issue 24): the registers of
// the current task, which a test run holds inside its bpf() system call,
// and of the task the context names (bpf_task_from_pid), field by field
// through the trusted pt_regs pointer the helper returns
// (task_regs_cases.h; x86-64's layout is fixed, so the program reads it
// without CO-RE and builds natively too).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "task_regs_cases.h"

struct task_struct {
  int pid;
};

extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

static __always_inline void copy(struct tr_regs *d, const struct tr_regs *r) {
  d->r15 = r->r15;
  d->r14 = r->r14;
  d->r13 = r->r13;
  d->r12 = r->r12;
  d->bp = r->bp;
  d->bx = r->bx;
  d->r11 = r->r11;
  d->r10 = r->r10;
  d->r9 = r->r9;
  d->r8 = r->r8;
  d->ax = r->ax;
  d->cx = r->cx;
  d->dx = r->dx;
  d->si = r->si;
  d->di = r->di;
  d->orig_ax = r->orig_ax;
  d->ip = r->ip;
  d->cs = r->cs;
  d->flags = r->flags;
  d->sp = r->sp;
  d->ss = r->ss;
}

SEC("syscall")
int regs(struct tr_ctx *c) {
  struct task_struct *t = bpf_get_current_task_btf();
  const struct tr_regs *r = (const struct tr_regs *)bpf_task_pt_regs(t);
  copy(&c->cur, r);
  c->same = (long)r == bpf_task_pt_regs(t);
  struct task_struct *o = bpf_task_from_pid(c->pid);
  if (o) {
    c->found = 1;
    copy(&c->other, (const struct tr_regs *)bpf_task_pt_regs(o));
    bpf_task_release(o);
  }
  return 0;
}

char _license[] SEC("license") = "GPL";
