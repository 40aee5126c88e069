// SPDX-License-Identifier: GPL-2.0
// Example: per-CPU byte and packet counters. Each CPU adds to its own slot
// without atomics; userspace sums the slots of every CPU.
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} bytes SEC(".maps");

// Packets per EtherType, per CPU.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 8);
  __type(key, __u16);
  __type(value, __u64);
} packets_by_proto SEC(".maps");

SEC("xdp")
int count_bytes(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_DROP;

  __u32 zero = 0;
  __u64 *b = bpf_map_lookup_elem(&bytes, &zero);
  if (b) *b += data_end - data;

  __u16 proto = bpf_ntohs(eth->h_proto);
  __u64 *n = bpf_map_lookup_elem(&packets_by_proto, &proto);
  if (n) {
    *n += 1;
  } else {
    __u64 one = 1;
    if (bpf_map_update_elem(&packets_by_proto, &proto, &one, BPF_NOEXIST))
      return XDP_ABORTED;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
