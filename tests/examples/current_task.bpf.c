// SPDX-License-Identifier: GPL-2.0
// Example: the current task through CO-RE, as tracing tools read it. A raw
// tracepoint program takes bpf_get_current_task() and reads the task's
// pid, tgid and comm, its parent process, its group leader and its
// credentials with BPF_CORE_READ (bpf_probe_read_kernel at relocated
// offsets); bpf_get_current_task_btf() gives the same task as a BTF pointer
// that the program dereferences directly. The local struct definitions
// hold only the fields read, in another order than the kernel's: CO-RE
// relocates them against the kernel BTF on the kernel and on bpfemu
// (native/task_model.h). Bytecode only: the host compiler has no
// __builtin_preserve_access_index.
#include <linux/bpf.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

typedef struct {
  unsigned int val;
} kuid_t___l;

struct cred___l {
  kuid_t___l euid;
  kuid_t___l uid;
} __attribute__((preserve_access_index));

struct task_struct___l {
  char comm[16];
  struct task_struct___l *group_leader;
  const struct cred___l *cred;
  struct task_struct___l *real_parent;
  int tgid;
  int pid;
} __attribute__((preserve_access_index));

struct seen {
  __u32 pid, tgid, ppid, leader_pid;
  __u32 uid, euid, grandparent_pid, btf_pid;
  __u32 btf_ppid, same_task;
  __u64 pid_tgid;
  char comm[16];
  char parent_comm[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct seen);
} seen SEC(".maps");

SEC("raw_tp")
int read_task(void *ctx) {
  __u32 zero = 0;
  struct seen *s = bpf_map_lookup_elem(&seen, &zero);
  if (!s) return 1;
  struct task_struct___l *t = (void *)bpf_get_current_task();
  s->pid = BPF_CORE_READ(t, pid);
  s->tgid = BPF_CORE_READ(t, tgid);
  s->ppid = BPF_CORE_READ(t, real_parent, tgid);
  s->grandparent_pid = BPF_CORE_READ(t, real_parent, real_parent, pid);
  s->leader_pid = BPF_CORE_READ(t, group_leader, pid);
  s->uid = BPF_CORE_READ(t, cred, uid.val);
  s->euid = BPF_CORE_READ(t, cred, euid.val);
  BPF_CORE_READ_STR_INTO(&s->comm, t, comm);
  BPF_CORE_READ_STR_INTO(&s->parent_comm, t, real_parent, comm);
  s->pid_tgid = bpf_get_current_pid_tgid();
  // The BTF pointer: direct loads, the verifier's PTR_TO_BTF_ID.
  struct task_struct___l *b = (void *)bpf_get_current_task_btf();
  s->btf_pid = b->pid;
  s->btf_ppid = b->real_parent->tgid;
  s->same_task = (void *)b == (void *)t;
  return 0;
}

char _license[] SEC("license") = "GPL";
