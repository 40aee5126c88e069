// SPDX-License-Identifier: GPL-2.0
// A per-task state machine in TASK_STORAGE: each run advances the calling
// task's state (IDLE -> RUNNING -> WAITING -> RUNNING ...), creating its
// element on first use (BPF_LOCAL_STORAGE_GET_F_CREATE); after five
// transitions the task's element is deleted and the run returns 2.
// Userspace reads the same element through a pidfd of the task
// (emu/local_storage.h, docs/semantics.md "Local storage").
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct task_struct;

enum { IDLE = 0, RUNNING = 1, WAITING = 2 };

struct task_state {
  __u32 state;
  __u32 transitions;
  __u64 last_arg;
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct task_state);
} task_states SEC(".maps");

SEC("raw_tp/sys_enter")
int step(struct bpf_raw_tracepoint_args *ctx) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct task_state *s = bpf_task_storage_get(&task_states, task, 0,
                                              BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!s) return 1;
  s->state = s->state == RUNNING ? WAITING : RUNNING;
  s->transitions++;
  s->last_arg = ctx->args[1];
  if (s->transitions >= 5) {
    bpf_task_storage_delete(&task_states, task);
    return 2;
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
