// SPDX-License-Identifier: GPL-2.0
// Programs for `bpfemu prog run` against `bpftool prog run`
// (tests/cli/prog_run_test.sh): XDP, tc and socket filter programs whose
// return value, output packet and output context depend on the input.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} seen SEC(".maps");

SEC("xdp")
int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }

// Swaps the Ethernet addresses and sends the frame back (XDP_TX); frames
// shorter than a header are aborted.
SEC("xdp")
int xdp_swap_mac(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_ABORTED;
  unsigned char tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
  return XDP_TX;
}

// IPv4: decrements the TTL (drops at 1) and returns 1000 + protocol;
// anything else passes.
SEC("xdp")
int xdp_ttl(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return XDP_PASS;
  if (ip->ttl <= 1) return XDP_DROP;
  ip->ttl--;
  return 1000 + ip->protocol;
}

// The frame's length and its ingress interface and queue.
SEC("xdp")
int xdp_len(struct xdp_md *ctx) {
  return (ctx->data_end - ctx->data) * 100 + ctx->ingress_ifindex * 10 +
         ctx->rx_queue_index;
}

// Counts runs in `seen`; returns the count (repeat N gives N).
SEC("xdp")
int xdp_count(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *n = bpf_map_lookup_elem(&seen, &k);
  if (!n) return XDP_ABORTED;
  return ++*n;
}

// Sets mark, priority and cb[0] from the packet, and returns the length.
SEC("tc")
int tc_mark(struct __sk_buff *skb) {
  skb->mark = skb->len * 3;
  skb->priority = skb->protocol;
  skb->cb[0] = skb->mark + skb->cb[1];
  return skb->len;
}

// Writes the sum of the first 14 bytes into the last byte of the frame;
// TC_ACT_SHOT for frames with an odd first byte.
SEC("tc")
int tc_rewrite(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  unsigned char *p = data;
  if ((void *)(p + 15) > data_end) return TC_ACT_UNSPEC;
  if (p[0] & 1) return TC_ACT_SHOT;
  unsigned char sum = 0;
  for (int i = 0; i < 14; i++) sum += p[i];
  p[14] = sum;
  return TC_ACT_OK;
}

// The EtherType, pkt_type and the mark a context gave.
SEC("tc")
int tc_fields(struct __sk_buff *skb) {
  return bpf_ntohs(skb->protocol) + (skb->pkt_type << 20) + skb->mark;
}

// Socket filter: keeps the first len % 64 bytes (0 drops).
SEC("socket")
int sock_trim(struct __sk_buff *skb) { return skb->len % 64; }

// Socket filter: the IPv4 protocol byte read with bpf_skb_load_bytes (the
// program sees the frame from the network header), else 0xffff.
SEC("socket")
int sock_proto(struct __sk_buff *skb) {
  __u8 proto;
  if (bpf_skb_load_bytes(skb, 9, &proto, 1) < 0) return 0xffff;
  return proto;
}

char _license[] SEC("license") = "GPL";
