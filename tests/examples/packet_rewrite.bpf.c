// SPDX-License-Identifier: GPL-2.0
// Example: packet rewriting. `encap` wraps an IPv4 packet in an outer IPv4
// header (IPIP) with bpf_xdp_adjust_head, trims padding past the inner
// packet with bpf_xdp_adjust_tail and sums the new header with
// bpf_csum_diff; `decap` removes that header again and decrements the
// inner TTL, patching the checksum with bpf_csum_diff. `adjust` applies
// the move a command in the frame asks for (head, tail or metadata) and
// records the helper's result and the new lengths, for the limits, or
// loads / stores 8 bytes with bpf_xdp_load_bytes / bpf_xdp_store_bytes.
// `rewrite` (tc) redirects UDP/TCP to port 8080 on 10.9.9.9 with
// bpf_skb_store_bytes and bpf_l3/l4_csum_replace; `errors` records the
// helpers' argument errors.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 40);
  __type(key, __u32);
  __type(value, __s64);
} results SEC(".maps");

static __always_inline void record(__u32 slot, __s64 value) {
  bpf_map_update_elem(&results, &slot, &value, BPF_ANY);
}

static __always_inline __u16 fold(__s64 sum) {
  __u32 c = (__u32)sum;
  c = (c & 0xffff) + (c >> 16);
  c = (c & 0xffff) + (c >> 16);
  return (__u16)~c;
}

SEC("xdp")
int encap(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) + sizeof(struct iphdr) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  long err = bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr));
  record(0, err);
  if (err) return XDP_ABORTED;
  // Now: 20 new bytes, the Ethernet header, the inner packet. The header
  // moves to the front; the outer IP header takes its old place.
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  struct ethhdr *neth = data;
  struct iphdr *outer = (void *)(neth + 1);
  struct iphdr *inner = (void *)(outer + 1);
  if ((void *)(inner + 1) > data_end) return XDP_ABORTED;
  __builtin_memcpy(neth, data + sizeof(struct iphdr), sizeof(*neth));
  const __u16 inner_len = bpf_ntohs(inner->tot_len);
  __builtin_memset(outer, 0, sizeof(*outer));
  outer->version = 4;
  outer->ihl = 5;
  outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
  outer->ttl = 64;
  outer->protocol = IPPROTO_IPIP;
  outer->saddr = bpf_htonl(0x0a000001);
  outer->daddr = bpf_htonl(0x0a000002);
  __s64 sum = bpf_csum_diff(0, 0, (__be32 *)outer, sizeof(*outer), 0);
  record(1, sum);
  outer->check = fold(sum);
  // Padding past the inner packet goes.
  long have = (long)(data_end - data);
  long want = ETH_HLEN + sizeof(struct iphdr) + inner_len;
  if (have > want) {
    err = bpf_xdp_adjust_tail(ctx, -(int)(have - want));
    record(2, err);
    if (err) return XDP_ABORTED;
  }
  return XDP_TX;
}

SEC("xdp")
int decap(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *outer = (void *)(eth + 1);
  struct iphdr *inner = (void *)(outer + 1);
  if ((void *)(inner + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP) || outer->protocol != IPPROTO_IPIP)
    return XDP_PASS;
  // The Ethernet header moves forward over the outer IP header.
  struct ethhdr copy;
  __builtin_memcpy(&copy, eth, sizeof(copy));
  long err = bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr));
  record(3, err);
  if (err) return XDP_ABORTED;
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  eth = data;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return XDP_ABORTED;
  __builtin_memcpy(eth, &copy, sizeof(copy));
  // TTL - 1, checksum patched per RFC 1624 over the (ttl, protocol) word.
  __be32 from = *(__u16 *)&ip->ttl;
  ip->ttl--;
  __be32 to = *(__u16 *)&ip->ttl;
  __s64 sum = bpf_csum_diff(&from, 4, &to, 4, (__u16)~ip->check);
  record(4, sum);
  ip->check = fold(sum);
  return XDP_PASS;
}

struct adjust_cmd {
  __u8 op;  // 1 head, 2 tail, 3 meta, 4 load, 5 store
  __u8 pad[3];
  __s32 delta;
};

SEC("xdp")
int adjust(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct adjust_cmd *cmd = data + ETH_HLEN;
  if ((void *)(cmd + 1) > data_end) return XDP_ABORTED;
  const __u8 op = cmd->op;
  const int delta = cmd->delta;
  long err;
  if (op == 1) {
    err = bpf_xdp_adjust_head(ctx, delta);
  } else if (op == 2) {
    err = bpf_xdp_adjust_tail(ctx, delta);
  } else if (op == 4) {
    __u64 v = 0;
    err = bpf_xdp_load_bytes(ctx, delta, &v, sizeof(v));
    record(37, v);
  } else if (op == 5) {
    __u64 v = 0x1122334455667788ULL;
    err = bpf_xdp_store_bytes(ctx, delta, &v, sizeof(v));
  } else {
    return XDP_DROP;
  }
  record(5, err);
  record(6, (long)ctx->data_end - (long)ctx->data);
  record(7, (long)ctx->data - (long)ctx->data_meta);
  return XDP_PASS;
}

// Op 3 of the same command: bpf_xdp_adjust_meta, in a program of its own
// because some kernel builds refuse the helper to XDP programs (measured on
// the 6.18.44 host: see docs/semantics.md), which then fail to load.
SEC("xdp")
int adjust_meta(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct adjust_cmd *cmd = data + ETH_HLEN;
  if ((void *)(cmd + 1) > data_end) return XDP_ABORTED;
  if (cmd->op != 3) return XDP_DROP;
  long err = bpf_xdp_adjust_meta(ctx, cmd->delta);
  record(5, err);
  record(6, (long)ctx->data_end - (long)ctx->data);
  record(7, (long)ctx->data - (long)ctx->data_meta);
  // Metadata the program wrote is part of the test run's output.
  if (!err) {
    __u8 *meta = (void *)(long)ctx->data_meta;
    if ((void *)(meta + 4) <= (void *)(long)ctx->data) {
      meta[0] = 0xaa;
      meta[3] = 0x55;
    }
  }
  return XDP_PASS;
}

// UDP and TCP: destination 10.9.9.9:8080, checksums updated incrementally.
SEC("tc")
int rewrite(struct __sk_buff *skb) {
  const __u32 ip_off = ETH_HLEN;
  struct iphdr ip;
  if (bpf_skb_load_bytes(skb, ip_off, &ip, sizeof(ip))) return TC_ACT_OK;
  if (ip.protocol != IPPROTO_UDP && ip.protocol != IPPROTO_TCP)
    return TC_ACT_OK;
  const __u32 l4_off = ip_off + sizeof(ip);
  const __u32 csum_off =
      l4_off + (ip.protocol == IPPROTO_UDP ? 6 : 16);  // udp/tcp check
  const __u64 mangle = ip.protocol == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
  __be16 old_port;
  if (bpf_skb_load_bytes(skb, l4_off + 2, &old_port, 2)) return TC_ACT_SHOT;
  __be16 new_port = bpf_htons(8080);
  long err = bpf_skb_store_bytes(skb, l4_off + 2, &new_port, 2, 0);
  record(8, err);
  err = bpf_l4_csum_replace(skb, csum_off, old_port, new_port,
                            mangle | sizeof(new_port));
  record(9, err);
  __be32 old_addr = ip.daddr;
  __be32 new_addr = bpf_htonl(0x0a090909);
  err = bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, daddr),
                            &new_addr, 4, BPF_F_RECOMPUTE_CSUM);
  record(10, err);
  err = bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check),
                            old_addr, new_addr, sizeof(new_addr));
  record(11, err);
  err = bpf_l4_csum_replace(skb, csum_off, old_addr, new_addr,
                            mangle | BPF_F_PSEUDO_HDR | sizeof(new_addr));
  record(12, err);
  // The TOS byte through a csum_diff result (size 0).
  __be32 from = *(__be32 *)&ip;  // version/ihl, tos, tot_len
  __be32 to = from ^ bpf_htonl(0x00100000);
  __s64 diff = bpf_csum_diff(&from, 4, &to, 4, 0);
  record(13, diff);
  err = bpf_skb_store_bytes(skb, ip_off, &to, 4, BPF_F_INVALIDATE_HASH);
  record(14, err);
  err = bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check), 0,
                            diff, 0);
  record(15, err);
  return TC_ACT_OK;
}

// Argument errors, each in its own slot.
SEC("tc")
int errors(struct __sk_buff *skb) {
  __u8 buf[260] = {};
  const __u32 len = skb->len;
  record(16, bpf_skb_store_bytes(skb, 0, buf, 4, 1ULL << 2));
  record(17, bpf_skb_store_bytes(skb, len - 3, buf, 4, 0));
  record(18, bpf_skb_store_bytes(skb, 0x80000000u, buf, 4, 0));
  record(19, bpf_skb_store_bytes(skb, len - 4, buf + 1, 4, 0));
  record(20, bpf_l3_csum_replace(skb, 25, 1, 2, 2));
  record(21, bpf_l3_csum_replace(skb, 24, 1, 2, 3));
  record(22, bpf_l3_csum_replace(skb, 24, 1, 2, 0));
  record(23, bpf_l3_csum_replace(skb, 24, 1, 2, 1ULL << 4));
  record(24, bpf_l3_csum_replace(skb, 0x10000, 1, 2, 2));
  record(25, bpf_l4_csum_replace(skb, len - 1, 1, 2, 2));
  record(26, bpf_l4_csum_replace(skb, len, 1, 2, 2));
  record(27, bpf_l4_csum_replace(skb, 40, 1, 2, 1ULL << 8));
  record(28, bpf_l4_csum_replace(skb, 40, 1, 2, 8));
  record(29, bpf_csum_diff((__be32 *)buf, 3, 0, 0, 0));
  record(30, bpf_csum_diff((__be32 *)buf, 260, (__be32 *)buf, 256, 0));
  record(31, bpf_csum_diff(0, 0, (__be32 *)buf, 256, 0xfffffffe));
  // Seed only; one side only, odd sizes.
  __builtin_memset(buf, 0xa5, 12);
  buf[1] = 0x3c;
  record(32, bpf_csum_diff(0, 0, 0, 0, 0x12345678));
  record(33, bpf_csum_diff((__be32 *)buf, 8, 0, 0, 0x9abcdef0));
  record(34, bpf_csum_diff((__be32 *)buf, 5, 0, 0, 0));
  record(35, bpf_csum_diff(0, 0, (__be32 *)buf, 7, 0xffff0000));
  record(36, bpf_csum_diff((__be32 *)buf, 12, (__be32 *)(buf + 4), 8, 7));
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
