// SPDX-License-Identifier: GPL-2.0
// A libbpf-bootstrap style BPF program for tests/dropin/bootstrap.c: a
// read-only setting (.rodata), counters (.bss), a hash map of factors that
// userspace fills with bpf_map__update_elem, and events into a ring buffer.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct event {
  __u32 seq;
  __u32 arg;
  __u64 scaled;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} factors SEC(".maps");

const volatile __u32 min_arg = 0;
__u64 seen = 0;
__u32 seq = 0;

// One event per call whose first argument is at least min_arg.
SEC("raw_tp/sys_enter")
int handle(struct bpf_raw_tracepoint_args *ctx) {
  __u32 arg = ctx->args[0];
  seen++;
  if (arg < min_arg) return 0;
  __u32 key = arg % 8;
  __u64 *f = bpf_map_lookup_elem(&factors, &key);
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 1;
  e->seq = seq++;
  e->arg = arg;
  e->scaled = f ? *f * arg : 0;
  bpf_ringbuf_submit(e, 0);
  return 2;
}

char LICENSE[] SEC("license") = "GPL";
