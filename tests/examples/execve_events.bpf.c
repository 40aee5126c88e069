// SPDX-License-Identifier: GPL-2.0
// Example: an event per execve()/execveat() into a ring buffer. execve
// records are reserved and filled in place; execveat records are built on
// the stack and copied with bpf_ringbuf_output.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#define NR_EXECVE 59
#define NR_EXECVEAT 322

struct event {
  __u32 tgid;
  __u32 pid;
  __u32 uid;
  __u32 syscall_nr;
  char comm[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

// Returns 0 for a recorded or ignored event, 1 if the ring was full.
SEC("raw_tp/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx) {
  __u64 nr = ctx->args[1];
  if (nr != NR_EXECVE && nr != NR_EXECVEAT) return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  if (nr == NR_EXECVE) {
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) return 1;
    e->tgid = pid_tgid >> 32;
    e->pid = (__u32)pid_tgid;
    e->uid = (__u32)bpf_get_current_uid_gid();
    e->syscall_nr = nr;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
    return 0;
  }
  struct event e = {};
  e.tgid = pid_tgid >> 32;
  e.pid = (__u32)pid_tgid;
  e.uid = (__u32)bpf_get_current_uid_gid();
  e.syscall_nr = nr;
  bpf_get_current_comm(e.comm, sizeof(e.comm));
  return bpf_ringbuf_output(&events, &e, sizeof(e), 0) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
