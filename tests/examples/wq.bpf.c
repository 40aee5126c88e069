// SPDX-License-Identifier: GPL-2.0
// Example (kfuncB47): BPF workqueues (kernel/bpf/helpers.c bpf_wq_init,
// bpf_wq_set_callback_impl, bpf_wq_start) on the struct bpf_wq of an ARRAY
// and a HASH value, from a syscall program. `steps` runs up to 8 steps on
// the element ctx->key of map ctx->which (0: arr, 1: h), each an op with
// its flags, and records each step's return in `res`: 1 bpf_wq_init, 2
// bpf_wq_set_callback_impl, 3 bpf_wq_start, 4 insert the hash element.
// The callback counts its runs in the element and records the key it was
// given. Only the program's own memory is read (no CO-RE, a native build
// too).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "elem_steps.h"

// include/uapi/linux/bpf.h (6.10), newer than the build's header.
struct bpf_wq {
  __u64 __opaque[2];
} __attribute__((aligned(8)));

extern int bpf_wq_init(struct bpf_wq *wq, void *p__map,
                       unsigned int flags) __ksym;
extern int bpf_wq_start(struct bpf_wq *wq, unsigned int flags) __ksym;
extern int bpf_wq_set_callback_impl(struct bpf_wq *wq,
                                    int (*callback_fn)(void *map, int *key,
                                                       void *value),
                                    unsigned int flags, void *aux__ign) __ksym;

struct elem {
  __u64 runs;
  __s64 key_seen;
  struct bpf_wq w;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
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
  __u32 key;
  __u32 op[8];
  __u32 flags[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64[8]);
} res SEC(".maps");

static int count_run(void *map, int *key, void *value) {
  struct elem *e = value;
  e->runs++;
  e->key_seen = *key;
  return 0;
}

#define STEPS(MAP)                                              \
  for (int i = 0; i < 8; i++) {                                 \
    const __u32 op = ops[i], fl = flags[i];                     \
    struct elem *e;                                             \
    ELEM_STEP(MAP, op, 4, key, r[i], e)                         \
    if (op == 1)                                                \
      r[i] = bpf_wq_init(&e->w, &MAP, fl);                      \
    else if (op == 2)                                           \
      r[i] = bpf_wq_set_callback_impl(&e->w, count_run, fl, 0); \
    else if (op == 3)                                           \
      r[i] = bpf_wq_start(&e->w, fl);                           \
  }

SEC("syscall")
int steps(struct args *ctx) {
  __u32 zero = 0;
  __s64 *r = bpf_map_lookup_elem(&res, &zero);
  if (!r) return 1;
  const __u32 key = ctx->key;
  // The verifier takes the context only at constant offsets.
  __u32 ops[8], flags[8];
  __builtin_memcpy(ops, ctx->op, sizeof(ops));
  __builtin_memcpy(flags, ctx->flags, sizeof(flags));
  for (int i = 0; i < 8; i++) r[i] = 0;
  if (ctx->which == 0) {
    STEPS(arr)
  } else {
    STEPS(h)
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
