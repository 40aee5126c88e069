// SPDX-License-Identifier: GPL-2.0
// bpf_sock_from_file from a SYSCALL program (issue 24): the only files a
// SYSCALL program reaches are those of vmas (bpf_find_vma's vm_file), so
// the test maps packet sockets' rings and names their addresses, a file
// mapping's and an anonymous one's (sock_file_cases.h); the callback asks
// bpf_sock_from_file about the vma's file and reads the socket's type,
// state and file through CO-RE. The kernel (6.18) refuses it, sleepable or
// not: a pointer walked from the callback's vma is untrusted, which the
// helper does not take (no struct file a test-run program can reach is
// trusted); bpfemu, which tracks no pointer trust, runs it
// (sock_file_compare_test.cc). Bytecode only: the host compiler has no
// __builtin_preserve_access_index.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "sock_file_cases.h"

struct task_struct;
struct file;

struct vm_area_struct___l {
  struct file *vm_file;
} __attribute__((preserve_access_index));

enum socket_state___l { SS_FREE___l = 0 };

struct socket___l {
  enum socket_state___l state;
  short type;
  struct file *file;
} __attribute__((preserve_access_index));

static long look(struct task_struct *task, struct vm_area_struct___l *vma,
                 struct sf_seen *o) {
  struct file *f = vma->vm_file;
  o->has_file = f != 0;
  if (!f) return 0;
  struct socket___l *s = (struct socket___l *)bpf_sock_from_file(f);
  o->is_socket = s != 0;
  if (s) {
    o->type = s->type;
    o->state = s->state;
    o->file_back = s->file == f;
  }
  return 0;
}

SEC("syscall")
int sock_files(struct sf_ctx *c) {
  struct task_struct *task = bpf_get_current_task_btf();
  for (int i = 0; i < SF_NR; i++) {
    struct sf_seen o = {};
    c->ret[i] = bpf_find_vma(task, c->addr[i], look, &o, 0);
    __builtin_memcpy(&c->seen[i], &o, sizeof(o));
  }
  return 0;
}

char _license[] SEC("license") = "GPL";
