// SPDX-License-Identifier: GPL-2.0
// An ordinary libbpf program, unaware of bpfemu: each call of `handle` (a
// raw tracepoint on sys_enter) counts its syscall number in a hash map and
// sends one event per call at or above `min_nr` into a ring buffer.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "events.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

const volatile __u32 min_nr = 0;
__u32 seq = 0;

SEC("raw_tp/sys_enter")
int handle(struct bpf_raw_tracepoint_args *ctx) {
  __u32 nr = ctx->args[1];
  __u64 one = 1, *n = bpf_map_lookup_elem(&counts, &nr);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&counts, &nr, &one, BPF_NOEXIST);
  if (nr < min_nr) return 0;
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 1;
  e->seq = seq++;
  e->nr = nr;
  bpf_ringbuf_submit(e, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
