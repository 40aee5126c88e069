// SPDX-License-Identifier: GPL-2.0
// One thread vs two, from inside a program: each run does OPS lookups or
// BPF_ANY updates on a 64K-entry hash map, walking the keys of this CPU's
// block (blocks[0] = 2: disjoint halves for CPUs 0 and 1; 1: all keys).
// Keys are i * 2654435761 as in bench/scaling_benchmark.cc, which fills
// the map and runs these on every CPU at once.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#define OPS 64
#define ENTRIES 65536

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} hash SEC(".maps");

// This CPU's position in its block.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} cursor SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} blocks SEC(".maps");

static __always_inline int walk(int update) {
  __u32 zero = 0;
  __u32 *nb = bpf_map_lookup_elem(&blocks, &zero);
  __u32 *cur = bpf_map_lookup_elem(&cursor, &zero);
  if (!nb || !cur || *nb == 0 || *nb > 2) return 0;
  // Blocks are powers of two: a mask keeps the walk free of branches the
  // verifier would have to follow.
  const __u32 mask = ENTRIES / *nb - 1;
  const __u32 first = (bpf_get_smp_processor_id() % *nb) * (mask + 1);
  __u32 c = *cur;
  __u64 sum = 0;
  for (__u32 i = 0; i < OPS; i++) {
    __u32 k = (first + (c & mask)) * 2654435761u;
    c++;
    if (update) {
      __u64 v = i;
      bpf_map_update_elem(&hash, &k, &v, BPF_ANY);
    } else {
      __u64 *v = bpf_map_lookup_elem(&hash, &k);
      if (v) sum += *v;
    }
  }
  *cur = c & mask;
  return sum & 0xff;
}

SEC("tc")
int scale_lookup(struct __sk_buff *skb) { return walk(0); }

SEC("tc")
int scale_update(struct __sk_buff *skb) { return walk(1); }

char LICENSE[] SEC("license") = "GPL";
