// SPDX-License-Identifier: GPL-2.0
// Kernel producer for bench/perf_buffer_benchmark: every run (and every
// repetition of BPF_PROG_TEST_RUN's repeat) sends one sample of cfg[0]
// bytes to the running CPU's perf buffer.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} cfg SEC(".maps");

struct payload {
  __u8 bytes[512];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct payload);
} source SEC(".maps");

SEC("tc")
int produce(struct __sk_buff *ctx) {
  __u32 zero = 0;
  __u32 *size = bpf_map_lookup_elem(&cfg, &zero);
  struct payload *src = bpf_map_lookup_elem(&source, &zero);
  if (!size || !src) return 2;  // TC_ACT_SHOT
  bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, src->bytes,
                        *size & 511);
  return 0;  // TC_ACT_OK
}

char LICENSE[] SEC("license") = "GPL";
