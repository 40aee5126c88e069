// SPDX-License-Identifier: GPL-2.0
// Example: a histogram of packet sizes in an array map, bucket
// floor(log2(len)), incremented with atomic adds on the map value.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

#define NR_BUCKETS 16

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NR_BUCKETS);
  __type(key, __u32);
  __type(value, __u64);
} sizes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} total_bytes SEC(".maps");

// Returns the bucket it counted into.
SEC("tc")
int size_histogram(struct __sk_buff *skb) {
  __u32 len = skb->len;
  __u32 bucket = 0;
  for (int i = 1; i < NR_BUCKETS; i++) {
    if (len >> i) bucket = i;
  }
  __u64 *slot = bpf_map_lookup_elem(&sizes, &bucket);
  if (!slot) return TC_ACT_SHOT;
  __sync_fetch_and_add(slot, 1);
  __u32 zero = 0;
  __u64 *total = bpf_map_lookup_elem(&total_bytes, &zero);
  if (total) __atomic_add_fetch(total, len, __ATOMIC_RELAXED);
  return bucket;
}

char LICENSE[] SEC("license") = "GPL";
