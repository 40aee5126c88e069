// SPDX-License-Identifier: GPL-2.0
// Example: a perf-buffer event stream (the pre-ring-buffer way, as bcc and
// older libbpf tools do it). Each run copies the first args[1] & 255 bytes
// of a payload into a BPF_MAP_TYPE_PERF_EVENT_ARRAY with
// bpf_perf_event_output, with args[0] as the flags (BPF_F_CURRENT_CPU or
// an index), and counts each result in `results`.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

// No max_entries: libbpf gives it one slot per possible CPU.
struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct payload {
  __u8 bytes[256];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct payload);
} source SEC(".maps");

// 0: sent, 1: ENOSPC (ring full or not mapped), 2: ENOENT (empty slot),
// 3: E2BIG (index out of range), 4: EINVAL (flags), 5: EOPNOTSUPP (event
// on another CPU), 6: anything else.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} results SEC(".maps");

SEC("raw_tp/sys_enter")
int emit(struct bpf_raw_tracepoint_args *ctx) {
  __u64 flags = ctx->args[0];
  __u64 size = ctx->args[1] & 255;
  __u32 zero = 0;
  struct payload *p = bpf_map_lookup_elem(&source, &zero);
  if (!p) return -1;
  long r = bpf_perf_event_output(ctx, &events, flags, p, size);
  __u32 slot = r == 0     ? 0
               : r == -28 ? 1
               : r == -2  ? 2
               : r == -7  ? 3
               : r == -22 ? 4
               : r == -95 ? 5
                          : 6;
  __u64 *count = bpf_map_lookup_elem(&results, &slot);
  if (count) __sync_fetch_and_add(count, 1);
  return (int)r;
}

char LICENSE[] SEC("license") = "GPL";
