// SPDX-License-Identifier: GPL-2.0
// bpf_perf_event_read and bpf_perf_event_read_value from a raw tracepoint
// program (issue 24; a SYSCALL program is sleepable, and sleepable
// programs may not use a PERF_EVENT_ARRAY): the test fills the
// PERF_EVENT_ARRAY `events` with perf events of this thread and CPU and
// others, names the flags of each read in `res` (perf_read_cases.h),
// runs the program (BPF_PROG_TEST_RUN of a raw tracepoint program runs in
// the calling thread) and reads the answers back from `res`.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "perf_read_cases.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(max_entries, PR_SLOTS);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pr_ctx);
} res SEC(".maps");

SEC("raw_tp")
int read_all(void *ctx) {
  __u32 zero = 0;
  struct pr_ctx *c = bpf_map_lookup_elem(&res, &zero);
  if (!c) return 1;
#pragma unroll
  for (int i = 0; i < PR_N; i++) {
    struct bpf_perf_event_value v;
    c->ret[i] = (__s64)bpf_perf_event_read(&events, c->flags[i]);
    c->vret[i] = bpf_perf_event_read_value(&events, c->flags[i], &v, sizeof(v));
    c->v[i].counter = v.counter;
    c->v[i].enabled = v.enabled;
    c->v[i].running = v.running;
  }
  __u8 b[16];
  __builtin_memset(b, 0xaa, sizeof(b));
  c->short_ret = bpf_perf_event_read_value(
      &events, c->flags[0], (struct bpf_perf_event_value *)b, sizeof(b));
  __builtin_memcpy(c->short_buf, b, sizeof(b));
  return 0;
}

char _license[] SEC("license") = "GPL";
