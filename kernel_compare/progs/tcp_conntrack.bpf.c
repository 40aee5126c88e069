// SPDX-License-Identifier: GPL-2.0
// A third-party style XDP connection tracker, written the way such programs
// usually are (not for bpfemu's tests): it parses Ethernet (with one
// optional 802.1Q tag), IPv4 with options and TCP/UDP, tracks connections
// in an LRU hash, counts IP protocols per CPU, counts destination ports in a
// small hash, and reports new TCP connections (SYN without ACK) through a
// ring buffer. `bpfemu compare` drives it with kernel_compare/testdata/
// conntrack.pcap (docs/differential.md, "Comparing your own program").
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define MAX_CONNS 64
#define ETH_P_8021Q_ 0x8100

struct vlan_hdr_ {
  __be16 tci;
  __be16 encap_proto;
};

struct conn_key {
  __u32 saddr, daddr;
  __u16 sport, dport;
  __u8 proto, pad[3];
};

struct conn_val {
  __u64 packets, bytes;
  __u8 tcp_flags_seen;  // OR of every segment's flags
  __u8 closed;          // FIN or RST seen
  __u16 vlan;
  __u32 first_len;
};

struct syn_event {
  __u32 saddr, daddr;
  __u16 sport, dport;
  __u32 seq;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, MAX_CONNS);
  __type(key, struct conn_key);
  __type(value, struct conn_val);
} conns SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} proto_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u16);
  __type(value, __u64);
} dports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} syn_events SEC(".maps");

static __always_inline void count_proto(__u32 proto) {
  __u64 *c = bpf_map_lookup_elem(&proto_stats, &proto);
  if (c) *c += 1;
}

static __always_inline void count_dport(__u16 port) {
  __u64 *c = bpf_map_lookup_elem(&dports, &port);
  if (c) {
    __sync_fetch_and_add(c, 1);
    return;
  }
  __u64 one = 1;
  bpf_map_update_elem(&dports, &port, &one, BPF_NOEXIST);  // E2BIG when full
}

SEC("xdp")
int conntrack(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  void *cur = eth + 1;
  if (cur > data_end) return XDP_ABORTED;
  __u16 proto = eth->h_proto;
  __u16 vlan = 0;
  if (proto == bpf_htons(ETH_P_8021Q_)) {
    struct vlan_hdr_ *vh = cur;
    if ((void *)(vh + 1) > data_end) return XDP_ABORTED;
    vlan = bpf_ntohs(vh->tci) & 0xfff;
    proto = vh->encap_proto;
    cur = vh + 1;
  }
  if (proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = cur;
  if ((void *)(ip + 1) > data_end) return XDP_ABORTED;
  if (ip->ihl < 5) return XDP_ABORTED;
  count_proto(ip->protocol);
  void *l4 = (void *)ip + ip->ihl * 4;

  struct conn_key key = {};
  key.saddr = ip->saddr;
  key.daddr = ip->daddr;
  key.proto = ip->protocol;
  __u8 flags = 0;
  __u32 seq = 0;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr *th = l4;
    if ((void *)(th + 1) > data_end) return XDP_ABORTED;
    key.sport = bpf_ntohs(th->source);
    key.dport = bpf_ntohs(th->dest);
    flags = ((__u8 *)th)[13];
    seq = bpf_ntohl(th->seq);
  } else if (ip->protocol == IPPROTO_UDP) {
    struct udphdr *uh = l4;
    if ((void *)(uh + 1) > data_end) return XDP_ABORTED;
    key.sport = bpf_ntohs(uh->source);
    key.dport = bpf_ntohs(uh->dest);
  } else {
    return XDP_PASS;
  }
  count_dport(key.dport);

  __u32 len = data_end - data;
  struct conn_val *v = bpf_map_lookup_elem(&conns, &key);
  if (!v) {
    struct conn_val init = {.vlan = vlan, .first_len = len};
    if (bpf_map_update_elem(&conns, &key, &init, BPF_NOEXIST)) return XDP_PASS;
    v = bpf_map_lookup_elem(&conns, &key);
    if (!v) return XDP_PASS;
  }
  __sync_fetch_and_add(&v->packets, 1);
  __sync_fetch_and_add(&v->bytes, len);
  v->tcp_flags_seen |= flags;
  if (flags & 0x05) v->closed = 1;  // FIN or RST

  if ((flags & 0x12) == 0x02) {  // SYN without ACK: a new connection
    struct syn_event *e = bpf_ringbuf_reserve(&syn_events, sizeof(*e), 0);
    if (e) {
      e->saddr = key.saddr;
      e->daddr = key.daddr;
      e->sport = key.sport;
      e->dport = key.dport;
      e->seq = seq;
      bpf_ringbuf_submit(e, 0);
    }
  }
  return (flags & 0x04) ? XDP_DROP : XDP_PASS;  // drop resets
}

char LICENSE[] SEC("license") = "GPL";
