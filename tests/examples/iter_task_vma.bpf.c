// SPDX-License-Identifier: GPL-2.0
// Example (kfuncB47): the open-coded vma iterator of kernel/bpf/
// task_iter.c (bpf_iter_task_vma_new / _next / _destroy) from a syscall
// program. `walk` iterates the vmas of the task of ctx->pid (0: the
// calling task) from ctx->addr and records what bpf_iter_task_vma_new
// returned, how many vmas came, and the first VMA_KEEP of them through
// CO-RE (vm_start, vm_end, vm_flags, vm_pgoff, whether vm_file is set), and
// whether every vma starts at or after the end of the one before. Bytecode
// only: the host compiler has no __builtin_preserve_access_index.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#define VMA_KEEP 6

struct task_struct {
  int pid;
};

struct vm_area_struct___l {
  unsigned long vm_start;
  unsigned long vm_end;
  unsigned long vm_flags;
  unsigned long vm_pgoff;
  void *vm_file;
} __attribute__((preserve_access_index));

struct bpf_iter_task_vma {
  __u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it,
                                 struct task_struct *task, __u64 addr) __ksym;
extern struct vm_area_struct___l *bpf_iter_task_vma_next(
    struct bpf_iter_task_vma *it) __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym;
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

struct args {
  __s32 pid;
  __u32 pad;
  __u64 addr;
};

struct out {
  __s64 new_ret;
  __u64 count;
  __u64 ordered;
  __u64 got_task;
  __u64 vma[VMA_KEEP][5];
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
  const __s32 pid = ctx->pid;
  const __u64 addr = ctx->addr;
  __builtin_memset(o, 0, sizeof(*o));
  struct task_struct *t = bpf_task_from_pid(pid);
  if (!t) return 0;
  o->got_task = 1;
  o->ordered = 1;
  struct bpf_iter_task_vma it;
  struct vm_area_struct___l *v;
  __u64 prev_end = 0;
  o->new_ret = bpf_iter_task_vma_new(&it, t, addr);
  while ((v = bpf_iter_task_vma_next(&it))) {
    const __u64 n = o->count;
    if (v->vm_start < prev_end || v->vm_end <= v->vm_start) o->ordered = 0;
    prev_end = v->vm_end;
    if (n < VMA_KEEP) {
      o->vma[n][0] = v->vm_start;
      o->vma[n][1] = v->vm_end;
      o->vma[n][2] = v->vm_flags;
      o->vma[n][3] = v->vm_pgoff;
      o->vma[n][4] = v->vm_file != 0;
    }
    o->count = n + 1;
    if (o->count > 100000) break;
  }
  bpf_iter_task_vma_destroy(&it);
  bpf_task_release(t);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
