// SPDX-License-Identifier: GPL-2.0
// Tracing helpers that act on the task a program runs in (issue 24):
// bpf_send_signal / bpf_send_signal_thread,
// bpf_get_branch_snapshot and bpf_copy_from_user_task. BPF_PROG_TEST_RUN
// runs RAW_TRACEPOINT and SYSCALL programs in the calling task, so each
// acts on the test process itself, on the kernel as on bpfemu; the test
// passes the addresses of its own memory in the context
// (tracing_misc_cases.h) and reads back what the helpers did.
// bpf_probe_write_user is in tracing_write.bpf.c: a kernel in lockdown
// (integrity and up, as this host's) offers it to no program.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "tracing_misc_cases.h"

struct task_struct;

SEC("syscall")
int send_sig(struct misc_ctx *c) {
  c->ret[0] =
      c->thread ? bpf_send_signal_thread(c->sig) : bpf_send_signal(c->sig);
  return 0;
}

// args[0] the signal, args[1] 1 for the thread.
SEC("raw_tp")
int send_sig_tp(__u64 *args) {
  return args[1] ? bpf_send_signal_thread(args[0]) : bpf_send_signal(args[0]);
}

// bpf_get_branch_snapshot with room for two entries, none, less than one,
// and nonzero flags; buf holds what the buffer holds afterwards.
SEC("syscall")
int branches(struct misc_ctx *c) {
  __u8 b[64];
  __builtin_memset(b, 0xaa, sizeof(b));
  c->ret[0] = bpf_get_branch_snapshot(b, 48, 0);
  c->ret[1] = bpf_get_branch_snapshot(b, 0, 0);
  c->ret[2] = bpf_get_branch_snapshot(b, 10, 0);
  c->ret[3] = bpf_get_branch_snapshot(b, 48, 1);
  c->ret[4] = bpf_get_branch_snapshot(b, 0, 2);
  __builtin_memcpy(c->buf, b, sizeof(b));
  return 0;
}

// args[0] the flags.
SEC("raw_tp")
int branches_tp(__u64 *args) {
  __u8 b[48];
  __builtin_memset(b, 0, sizeof(b));
  return bpf_get_branch_snapshot(b, sizeof(b), args[0]);
}

// bpf_copy_from_user_task on the current task (SYSCALL programs are
// sleepable): a good read, flags, a read across into a PROT_NONE page,
// NULL, size 0, a kernel address, a read-only page, an untouched page.
// buf: the good read's 16 bytes, then the buffer after the flags refusal;
// buf2: the buffer after the partial read.
SEC("syscall")
int copy_task(struct misc_ctx *c) {
  struct task_struct *task = bpf_get_current_task_btf();
  __u8 b[16], b2[16], b3[16];
  __builtin_memset(b, 0xaa, sizeof(b));
  __builtin_memset(b2, 0xaa, sizeof(b2));
  __builtin_memset(b3, 0xaa, sizeof(b3));
  c->ret[0] = bpf_copy_from_user_task(b, 16, (void *)c->addr[0], task, 0);
  c->ret[1] = bpf_copy_from_user_task(b2, 16, (void *)c->addr[0], task, 1);
  c->ret[2] = bpf_copy_from_user_task(b3, 16, (void *)c->addr[2], task, 0);
  __builtin_memcpy(c->buf, b, 16);
  __builtin_memcpy(c->buf + 16, b2, 16);
  __builtin_memcpy(c->buf2, b3, 16);
  c->ret[3] = bpf_copy_from_user_task(b, 16, (void *)0, task, 0);
  c->ret[4] = bpf_copy_from_user_task(b, 0, (void *)0, task, 0);
  c->ret[5] = bpf_copy_from_user_task(b, 16, (void *)MISC_KERNEL_ADDR, task, 0);
  c->ret[6] = bpf_copy_from_user_task(b, 8, (void *)c->addr[1], task, 0);
  __builtin_memcpy(c->buf + 32, b, 8);
  c->ret[7] = bpf_copy_from_user_task(b, 8, (void *)c->addr[3], task, 0);
  __builtin_memcpy(c->buf + 40, b, 8);
  return 0;
}

struct vm_area_struct;

struct vma_seen {
  __u64 calls;
  __u64 same_task;
  struct task_struct *task;
};

static long count_vma(struct task_struct *task, struct vm_area_struct *vma,
                      struct vma_seen *s) {
  s->calls++;
  if (task == s->task && vma) s->same_task++;
  return 0;
}

// bpf_find_vma's returns and callback calls (the vma's fields are
// find_vma.bpf.c's, through CO-RE): the touched buffer, NULL, flags, a
// kernel address, the PROT_NONE page. ret[5] the calls, ret[6] the calls
// that got the task passed and a vma.
SEC("syscall")
int find_vma_calls(struct misc_ctx *c) {
  struct vma_seen s = {};
  s.task = bpf_get_current_task_btf();
  c->ret[0] = bpf_find_vma(s.task, c->addr[0], count_vma, &s, 0);
  c->ret[1] = bpf_find_vma(s.task, 0, count_vma, &s, 0);
  c->ret[2] = bpf_find_vma(s.task, c->addr[0], count_vma, &s, 1);
  c->ret[3] = bpf_find_vma(s.task, MISC_KERNEL_ADDR, count_vma, &s, 0);
  c->ret[4] = bpf_find_vma(s.task, c->addr[2] + 4, count_vma, &s, 0);
  c->ret[5] = s.calls;
  c->ret[6] = s.same_task;
  return 0;
}

// bpf_get_task_stack on the current task: the kernel stack (ret[0]) and
// the user stack (ret[1], its first 8 entries in buf), bad flags, a kernel
// stack asked with build ids, a size not a multiple of 8, a skip past the
// stack, size 0; ret[7] whether every kernel entry is a kernel address.
SEC("syscall")
int task_stack(struct misc_ctx *c) {
  struct task_struct *task = bpf_get_current_task_btf();
  __u64 st[16];
  c->ret[0] = bpf_get_task_stack(task, st, sizeof(st), 0);
  __u64 kernel = 1;
  for (int i = 0; i < 16; i++) {
    if (i < c->ret[0] / 8 && st[i] < 0xffff800000000000ULL) kernel = 0;
  }
  c->ret[7] = kernel;
  c->ret[1] = bpf_get_task_stack(task, st, 64, BPF_F_USER_STACK);
  __builtin_memcpy(c->buf, st, 64);
  c->ret[2] = bpf_get_task_stack(task, st, 64, 1 << 12);
  c->ret[3] = bpf_get_task_stack(task, st, 64, BPF_F_USER_BUILD_ID);
  c->ret[4] = bpf_get_task_stack(task, st, 60, 0);
  c->ret[5] = bpf_get_task_stack(task, st, 64, 255);
  c->ret[6] = bpf_get_task_stack(task, st, 0, 0);
  return 0;
}

char _license[] SEC("license") = "GPL";
