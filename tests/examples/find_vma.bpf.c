// SPDX-License-Identifier: GPL-2.0
// bpf_find_vma's vma read through CO-RE (issue 24): a SYSCALL program looks
// up four addresses of the test process and its callback reads the
// vm_area_struct's vm_start, vm_end, vm_flags, vm_pgoff and vm_file, with
// a local struct that CO-RE relocates against the kernel BTF, on the kernel
// and on bpfemu (native/task_model.h FindVma: /proc/TID/smaps). Bytecode
// only: the host compiler has no __builtin_preserve_access_index.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "tracing_misc_cases.h"

struct task_struct;

struct vm_area_struct___l {
  unsigned long vm_start;
  unsigned long vm_end;
  unsigned long vm_flags;
  unsigned long vm_pgoff;
  void *vm_file;
} __attribute__((preserve_access_index));

struct seen {
  struct task_struct *task;
  __u64 info[VMA_FIELDS];
};

static long read_vma(struct task_struct *task, struct vm_area_struct___l *vma,
                     struct seen *s) {
  s->info[0] = vma->vm_start;
  s->info[1] = vma->vm_end;
  s->info[2] = vma->vm_flags;
  s->info[3] = vma->vm_pgoff;
  s->info[4] = vma->vm_file != 0;
  s->info[5] = task == s->task;
  return 0;
}

SEC("syscall")
int read_vmas(struct vma_ctx *c) {
  struct seen s = {};
  s.task = bpf_get_current_task_btf();
  for (int i = 0; i < VMA_NR; i++) {
    __builtin_memset(s.info, 0, sizeof(s.info));
    c->ret[i] = bpf_find_vma(s.task, c->addr[i], read_vma, &s, 0);
    __builtin_memcpy(c->info[i], s.info, sizeof(s.info));
  }
  return 0;
}

char _license[] SEC("license") = "GPL";
