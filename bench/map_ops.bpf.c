// SPDX-License-Identifier: GPL-2.0
// Benchmark programs: each run does OPS map operations of one kind from
// inside a program, so per-operation cost = run time / OPS on either side
// (kernel: bpf_prog_test_run_opts with repeat; bpfemu: the native build).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#define OPS 64
#define ENTRIES 1024

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} array SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} percpu_array SEC(".maps");

// Holds OPS / 2 keys, so an update of new keys always evicts.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} lru SEC(".maps");

// The key stride keeps consecutive keys in different buckets and lines.
#define KEY(i) ((i)*13 % ENTRIES)

SEC("tc")
int hash_lookup(struct __sk_buff *skb) {
  __u64 sum = 0;
  for (__u32 i = 0; i < OPS; i++) {
    __u32 k = KEY(i);
    __u64 *v = bpf_map_lookup_elem(&hash, &k);
    if (v) sum += *v;
  }
  return sum & 0xff;
}

SEC("tc")
int hash_lookup_miss(struct __sk_buff *skb) {
  __u64 sum = 0;
  for (__u32 i = 0; i < OPS; i++) {
    __u32 k = KEY(i) + ENTRIES;  // never inserted
    __u64 *v = bpf_map_lookup_elem(&hash, &k);
    if (v) sum += *v;
  }
  return sum & 0xff;
}

SEC("tc")
int hash_update(struct __sk_buff *skb) {
  for (__u32 i = 0; i < OPS; i++) {
    __u32 k = KEY(i);
    __u64 v = i;
    bpf_map_update_elem(&hash, &k, &v, BPF_ANY);
  }
  return 0;
}

SEC("tc")
int array_lookup(struct __sk_buff *skb) {
  __u64 sum = 0;
  for (__u32 i = 0; i < OPS; i++) {
    __u32 k = KEY(i);
    __u64 *v = bpf_map_lookup_elem(&array, &k);
    if (v) sum += *v;
  }
  return sum & 0xff;
}

SEC("tc")
int percpu_array_add(struct __sk_buff *skb) {
  for (__u32 i = 0; i < OPS; i++) {
    __u32 k = KEY(i);
    __u64 *v = bpf_map_lookup_elem(&percpu_array, &k);
    if (v) *v += 1;
  }
  return 0;
}

SEC("tc")
int lru_lookup(struct __sk_buff *skb) {
  __u64 sum = 0;
  for (__u32 i = 0; i < OPS; i++) {
    __u32 k = KEY(i);
    __u64 *v = bpf_map_lookup_elem(&lru, &k);
    if (v) sum += *v;
  }
  return sum & 0xff;
}

// New keys every run (skb->mark advances): each update evicts.
SEC("tc")
int lru_update_evict(struct __sk_buff *skb) {
  __u32 base = skb->mark;
  for (__u32 i = 0; i < OPS; i++) {
    __u32 k = base + i;
    __u64 v = i;
    bpf_map_update_elem(&lru, &k, &v, BPF_ANY);
  }
  skb->mark = base + OPS;
  return 0;
}

// IPv4 prefixes (struct bpf_lpm_trie_key_u8 with 4 data bytes): the
// benchmark stores 10.0.0.0/8, the 256 prefixes 10.x.0.0/16 and 767 of the
// 10.x.y.0/24 (lpm_prefix() in bench/prog_benchmark.cc).
struct lpm_key {
  __u32 prefixlen;
  __u8 addr[4];
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, ENTRIES);
  __type(key, struct lpm_key);
  __type(value, __u64);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} lpm SEC(".maps");

// Longest-prefix matches of /32 addresses in 10.0.0.0/8: each finds a /24
// or falls back to its /16, as a firewall's lookups of packet addresses.
SEC("tc")
int lpm_lookup(struct __sk_buff *skb) {
  __u64 sum = 0;
  for (__u32 i = 0; i < OPS; i++) {
    struct lpm_key k = {32, {10, (i * 37) & 0xff, (i * 101) & 0xff, i}};
    __u64 *v = bpf_map_lookup_elem(&lpm, &k);
    if (v) sum += *v;
  }
  return sum & 0xff;
}

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} chain SEC(".maps");

// The benchmark puts this program in chain[0]: it tail-calls itself until
// the budget is spent, 1 + 33 runs per test run (33 tail calls).
SEC("tc")
int tail_chain(struct __sk_buff *skb) {
  bpf_tail_call(skb, &chain, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
