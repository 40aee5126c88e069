// SPDX-License-Identifier: GPL-2.0
// Example (tw50): the task_work kfuncs of 6.18 (kernel/bpf/helpers.c
// bpf_task_work_schedule_signal_impl, bpf_task_work_schedule_resume_impl)
// on the struct bpf_task_work of an ARRAY and a HASH value, from a syscall
// program, for the current task. `steps` runs up to 8 steps, each an op on
// element key[i] of map ctx->which (0: arr, 1: h), and records each step's
// return in `res`: 1 schedule with TWA_SIGNAL, 2 with TWA_RESUME, 3 insert
// the hash element. The callback counts its runs in the element and
// records the key it was given. The kernel types are declared here as
// complete structs, so that libbpf finds the kfuncs' prototypes
// compatible with the kernel's (a forward declaration is not).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "elem_steps.h"

struct task_struct {
  int pid;
};
struct bpf_map {
  __u32 id;
};
// include/uapi/linux/bpf.h (6.18), newer than the build's header.
struct bpf_task_work {
  __u64 __opaque;
} __attribute__((aligned(8)));

extern int bpf_task_work_schedule_signal_impl(
    struct task_struct *task, struct bpf_task_work *tw, void *map__map,
    int (*callback)(struct bpf_map *map, void *key, void *value),
    void *aux__prog) __ksym;
extern int bpf_task_work_schedule_resume_impl(
    struct task_struct *task, struct bpf_task_work *tw, void *map__map,
    int (*callback)(struct bpf_map *map, void *key, void *value),
    void *aux__prog) __ksym;

struct elem {
  __u64 runs;
  __s64 key_seen;
  struct bpf_task_work tw;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct elem);
} arr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct elem);
} h SEC(".maps");

struct args {
  __u32 which;
  __u32 op[8];
  __u32 key[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64[8]);
} res SEC(".maps");

static int count_run(struct bpf_map *map, void *key, void *value) {
  struct elem *e = value;
  e->runs++;
  e->key_seen = *(__u32 *)key;
  return 0;
}

#define STEPS(MAP)                                                             \
  for (int i = 0; i < 8; i++) {                                                \
    const __u32 op = ops[i], key = keys[i];                                    \
    struct elem *e;                                                            \
    ELEM_STEP(MAP, op, 3, key, r[i], e)                                        \
    if (op == 1)                                                               \
      r[i] = bpf_task_work_schedule_signal_impl(task, &e->tw, &MAP, count_run, \
                                                0);                            \
    else if (op == 2)                                                          \
      r[i] = bpf_task_work_schedule_resume_impl(task, &e->tw, &MAP, count_run, \
                                                0);                            \
  }

SEC("syscall")
int steps(struct args *ctx) {
  __u32 zero = 0;
  __s64 *r = bpf_map_lookup_elem(&res, &zero);
  if (!r) return 1;
  struct task_struct *task = bpf_get_current_task_btf();
  // The verifier takes the context only at constant offsets.
  __u32 ops[8], keys[8];
  __builtin_memcpy(ops, ctx->op, sizeof(ops));
  __builtin_memcpy(keys, ctx->key, sizeof(keys));
  for (int i = 0; i < 8; i++) r[i] = 0;
  if (ctx->which == 0) {
    STEPS(arr)
  } else {
    STEPS(h)
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
