// SPDX-License-Identifier: GPL-2.0
// Example: a stack-trace profiler. Each sample records the kernel stack and
// the user stack with bpf_get_stackid (one STACK_TRACE map each) and counts
// hits per (kernel stack id, user stack id) pair; `results` keeps what a
// test can compare across kernels, whose stack addresses differ: how many
// samples found each stack, whether the kernel stack id stayed the same,
// and the errors of two calls that must fail. `copy_stacks` copies traces
// with bpf_get_stack (stack_rets).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#define MAX_DEPTH 16

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 64);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, MAX_DEPTH * sizeof(__u64));
} kernel_stacks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 64);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, MAX_DEPTH * sizeof(__u64));
} user_stacks SEC(".maps");

struct sample_key {
  __s32 kernel_id;
  __s32 user_id;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, struct sample_key);
  __type(value, __u64);
} counts SEC(".maps");

// [0] samples, [1] kernel stacks found, [2] user stacks found, [3] samples
// whose kernel stack id equals the previous sample's, [4] the error of an
// unknown flag, [5] the error of skipping every frame.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 6);
  __type(key, __u32);
  __type(value, __s64);
} results SEC(".maps");

// The previous sample's kernel stack id (an address hash: kernel-specific).
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64);
} last_id SEC(".maps");

static __s64 *slot(__u32 i) { return bpf_map_lookup_elem(&results, &i); }

SEC("raw_tp/sys_enter")
int sample(struct bpf_raw_tracepoint_args *ctx) {
  long kid = bpf_get_stackid(ctx, &kernel_stacks, 0);
  long uid = bpf_get_stackid(ctx, &user_stacks, BPF_F_USER_STACK);
  struct sample_key key = {.kernel_id = kid, .user_id = uid};
  __u64 one = 1, *count = bpf_map_lookup_elem(&counts, &key);
  if (count)
    __sync_fetch_and_add(count, 1);
  else
    bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);

  __s64 *samples = slot(0), *kfound = slot(1), *ufound = slot(2);
  __s64 *stable = slot(3), *bad_flag = slot(4), *skip_all = slot(5);
  __u32 zero = 0;
  __s64 *prev = bpf_map_lookup_elem(&last_id, &zero);
  if (!samples || !kfound || !ufound || !stable || !bad_flag || !skip_all ||
      !prev)
    return 1;
  if (*samples > 0 && *prev == kid) *stable += 1;
  *samples += 1;
  if (kid >= 0) *kfound += 1;
  if (uid >= 0) *ufound += 1;
  *prev = kid;
  *bad_flag = bpf_get_stackid(ctx, &kernel_stacks, 1ULL << 12);
  *skip_all = bpf_get_stackid(ctx, &kernel_stacks, BPF_F_SKIP_FIELD_MASK);
  return 0;
}

// bpf_get_stack: [i] the answer of case i of copy_stacks, kept comparable
// across kernels: an error as it is, 0 for an empty trace, 1 for a trace of
// whole entries that fits the buffer with the rest of it zeroed, anything
// else 1000 + the length.
#define NR_GET_STACK 9
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NR_GET_STACK);
  __type(key, __u32);
  __type(value, __s64);
} stack_rets SEC(".maps");

#define STACK_BUF 256

static __s64 classify(long ret, const __u8 *buf, __u32 size, __u32 entry) {
  if (ret <= 0) return ret;
  if (ret % entry || ret > size) return 1000 + ret;
  for (__u32 i = 0; i < STACK_BUF; i++) {
    if (i >= ret && i < size && buf[i]) return 1000 + ret;
  }
  return 1;
}

static void get_stack_case(void *ctx, __u32 i, __u8 *buf, __u32 size,
                           __u64 flags, __u32 entry) {
  __builtin_memset(buf, 0x5a, STACK_BUF);
  long ret = bpf_get_stack(ctx, buf, size, flags);
  __s64 *out = bpf_map_lookup_elem(&stack_rets, &i);
  if (out) *out = classify(ret, buf, size, entry);
}

SEC("raw_tp/sys_enter")
int copy_stacks(struct bpf_raw_tracepoint_args *ctx) {
  __u8 buf[STACK_BUF];
  get_stack_case(ctx, 0, buf, 128, 0, 8);                    // kernel stack
  get_stack_case(ctx, 1, buf, 12, 0, 8);                     // not whole u64s
  get_stack_case(ctx, 2, buf, 64, 1ULL << 12, 8);            // unknown flag
  get_stack_case(ctx, 3, buf, 64, BPF_F_USER_BUILD_ID, 32);  // kernel build id
  get_stack_case(ctx, 4, buf, 128, BPF_F_USER_STACK, 8);     // user stack
  get_stack_case(ctx, 5, buf, 64, BPF_F_USER_STACK | BPF_F_USER_BUILD_ID, 32);
  get_stack_case(ctx, 6, buf, 8, BPF_F_SKIP_FIELD_MASK, 8);  // skip it all
  get_stack_case(ctx, 7, buf, 0, 0, 8);                      // no room
  get_stack_case(ctx, 8, buf, 8, 1, 8);                      // skip one
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
