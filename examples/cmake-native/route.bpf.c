// SPDX-License-Identifier: GPL-2.0
// An XDP router, unaware of bpfemu: the IPv4 destination is looked up in an
// LPM trie of routes whose value is the verdict (XDP_DROP, XDP_PASS, ...);
// packets without a route get XDP_TX. Each verdict is counted in a hash map.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct route_key {
  __u32 prefixlen;
  __u32 addr;  // network byte order
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 16);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct route_key);
  __type(value, __u32);
} routes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} verdicts SEC(".maps");

SEC("xdp")
int route(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_ABORTED;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return XDP_ABORTED;
  struct route_key key = {32, ip->daddr};
  __u32 *v = bpf_map_lookup_elem(&routes, &key);
  __u32 verdict = v ? *v : XDP_TX;
  __u64 one = 1, *n = bpf_map_lookup_elem(&verdicts, &verdict);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&verdicts, &verdict, &one, BPF_NOEXIST);
  return verdict;
}

char LICENSE[] SEC("license") = "GPL";
