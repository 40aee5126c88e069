// SPDX-License-Identifier: GPL-2.0
// Example: an XDP load balancer. `lb` picks a backend for each IPv4 UDP
// flow by hashing its addresses and ports over `nr_backends` slots and
// redirects the packet through the DEVMAP_HASH `backends` (a backend that
// is missing falls back to XDP_PASS); TCP flows are steered to a CPU of the
// CPUMAP `cpus` instead (falling back to XDP_DROP), and a frame to the
// broadcast MAC goes to every backend but the ingress device
// (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS). Every decision, the helper's
// return value and the backend's device as a program lookup sees it, is
// counted in `stats`. `bad_flags` passes a flag the CPU map does not take
// (XDP_ABORTED) and a missing key with a fallback. `to_device` (XDP) and
// `tc_to_device` (tc) redirect by ifindex with bpf_redirect.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, struct bpf_devmap_val);
} backends SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_CPUMAP);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

// Slots: 0 the backend count (set by userspace), 1..5 the last return
// value of each path, 6 the last backend key, 7 the looked-up ifindex,
// 8 the number of packets seen, 9 the last CPU key.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 10);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

static __always_inline void put(__u32 slot, __u64 value) {
  bpf_map_update_elem(&stats, &slot, &value, BPF_ANY);
}

static __always_inline __u64 get(__u32 slot) {
  __u64 *v = bpf_map_lookup_elem(&stats, &slot);
  return v ? *v : 0;
}

static __always_inline __u32 flow_hash(__u32 saddr, __u32 daddr, __u16 sport,
                                       __u16 dport) {
  __u32 h = saddr * 2654435761u;
  h ^= daddr + 0x9e3779b9u + (h << 6) + (h >> 2);
  h ^= ((__u32)sport << 16 | dport) * 2246822519u;
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  return h ^ (h >> 16);
}

SEC("xdp")
int lb(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_DROP;
  put(8, get(8) + 1);
  if (eth->h_dest[0] == 0xff && eth->h_dest[1] == 0xff &&
      eth->h_dest[2] == 0xff && eth->h_dest[3] == 0xff &&
      eth->h_dest[4] == 0xff && eth->h_dest[5] == 0xff) {
    long r =
        bpf_redirect_map(&backends, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
    put(1, r);
    return r;
  }
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  struct udphdr *l4 = (void *)(ip + 1);
  if ((void *)(l4 + 1) > data_end) return XDP_DROP;
  const __u32 h = flow_hash(ip->saddr, ip->daddr, bpf_ntohs(l4->source),
                            bpf_ntohs(l4->dest));
  if (ip->protocol == IPPROTO_TCP) {
    const __u32 cpu = h & 1;
    put(9, cpu);
    long r = bpf_redirect_map(&cpus, cpu, XDP_DROP);
    put(2, r);
    return r;
  }
  if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
  const __u64 n = get(0);
  if (n == 0) return XDP_PASS;
  __u32 key = h % (__u32)n;
  put(6, key);
  struct bpf_devmap_val *val = bpf_map_lookup_elem(&backends, &key);
  put(7, val ? val->ifindex : 0);
  long r = bpf_redirect_map(&backends, key, XDP_PASS);
  put(3, r);
  return r;
}

SEC("xdp")
int bad_flags(struct xdp_md *ctx) {
  // A CPU map takes no broadcast: XDP_ABORTED.
  long r = bpf_redirect_map(&cpus, 0, BPF_F_BROADCAST);
  put(4, r);
  // A key past the CPU map with the fallback in the low bits.
  r = bpf_redirect_map(&cpus, 7, XDP_TX);
  put(5, r);
  return XDP_PASS;
}

// bpf_redirect by ifindex: the device in the first payload byte, the flags
// in the second (XDP takes none: XDP_ABORTED). Slot 4 keeps the result.
SEC("xdp")
int to_device(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  unsigned char *p = data;
  if ((void *)(p + ETH_HLEN + 2) > data_end) return XDP_DROP;
  long r = bpf_redirect(p[ETH_HLEN], p[ETH_HLEN + 1]);
  put(4, r);
  return r;
}

// The tc flavour: BPF_F_INGRESS is allowed, other flags give TC_ACT_SHOT.
SEC("tc")
int tc_to_device(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  unsigned char *p = data;
  if ((void *)(p + ETH_HLEN + 2) > data_end) return 2;
  long r = bpf_redirect(p[ETH_HLEN], p[ETH_HLEN + 1]);
  put(5, r);
  return r;
}

char LICENSE[] SEC("license") = "GPL";
