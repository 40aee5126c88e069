// SPDX-License-Identifier: GPL-2.0
// Example: a flow table in an LRU hash. IPv4 TCP/UDP packets are counted
// per 5-tuple; when the table is full the least recently used flow is
// evicted to make room for a new one.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct flow {
  __u32 saddr;
  __u32 daddr;
  __u16 sport;
  __u16 dport;
  __u8 proto;
  __u8 pad[3];
};

struct flow_stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16);
  __type(key, struct flow);
  __type(value, struct flow_stats);
} flows SEC(".maps");

SEC("xdp")
int track_flows(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return XDP_PASS;
  if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
    return XDP_PASS;
  // Both TCP and UDP start with the two ports.
  struct udphdr *l4 = (void *)(ip + 1);
  if ((void *)(l4 + 1) > data_end) return XDP_PASS;

  struct flow key = {};
  key.saddr = ip->saddr;
  key.daddr = ip->daddr;
  key.sport = bpf_ntohs(l4->source);
  key.dport = bpf_ntohs(l4->dest);
  key.proto = ip->protocol;
  __u64 len = data_end - data;
  struct flow_stats *st = bpf_map_lookup_elem(&flows, &key);
  if (st) {
    __sync_fetch_and_add(&st->packets, 1);
    __sync_fetch_and_add(&st->bytes, len);
    return XDP_PASS;
  }
  struct flow_stats init = {1, len};
  bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
  return XDP_TX;  // first packet of a flow
}

char LICENSE[] SEC("license") = "GPL";
