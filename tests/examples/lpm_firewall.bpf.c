// SPDX-License-Identifier: GPL-2.0
// Example: an IPv4 firewall over an LPM trie of CIDR rules. `filter` looks
// up each packet's source address (a /32 key) in `rules`; the longest
// matching prefix decides XDP_DROP or XDP_PASS and counts the hit in the
// rule's value, and the verdict for unmatched sources is counted in `stats`.
// `learn` changes the rules from the program side: a UDP packet to port 1
// blocks its source's /24 (BPF_NOEXIST: an existing rule is kept), one to
// port 2 removes that /24 rule again.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct cidr {
  __u32 prefixlen;
  __u8 addr[4];
};

struct rule {
  __u32 action;  // XDP_DROP or XDP_PASS
  __u32 id;
  __u64 hits;
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 16);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct cidr);
  __type(value, struct rule);
} rules SEC(".maps");

// [0]: packets no rule matched, [1]: learn updates that failed (their last
// errno in [2]), [3]: learn deletes that failed.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __s64);
} stats SEC(".maps");

static void bump(__u32 slot, __s64 by) {
  __s64 *v = bpf_map_lookup_elem(&stats, &slot);
  if (v) __sync_fetch_and_add(v, by);
}

static struct iphdr *ipv4(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return 0;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return 0;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return 0;
  return ip;
}

SEC("xdp")
int filter(struct xdp_md *ctx) {
  struct iphdr *ip = ipv4(ctx);
  if (!ip) return XDP_PASS;
  struct cidr key = {.prefixlen = 32};
  __builtin_memcpy(key.addr, &ip->saddr, 4);
  struct rule *r = bpf_map_lookup_elem(&rules, &key);
  if (!r) {
    bump(0, 1);
    return XDP_PASS;
  }
  __sync_fetch_and_add(&r->hits, 1);
  return r->action == XDP_DROP ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int learn(struct xdp_md *ctx) {
  void *data_end = (void *)(long)ctx->data_end;
  struct iphdr *ip = ipv4(ctx);
  if (!ip || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr *udp = (void *)(ip + 1);
  if ((void *)(udp + 1) > data_end) return XDP_PASS;
  struct cidr key = {.prefixlen = 24};
  __builtin_memcpy(key.addr, &ip->saddr, 4);
  key.addr[3] = 0;
  long err = 0;
  if (udp->dest == bpf_htons(1)) {
    struct rule r = {.action = XDP_DROP, .id = 100 + key.addr[2]};
    err = bpf_map_update_elem(&rules, &key, &r, BPF_NOEXIST);
    if (err) {
      bump(1, 1);
      __u32 slot = 2;
      __s64 *last = bpf_map_lookup_elem(&stats, &slot);
      if (last) *last = err;
    }
  } else if (udp->dest == bpf_htons(2)) {
    err = bpf_map_delete_elem(&rules, &key);
    if (err) bump(3, 1);
  }
  return err ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
