// SPDX-License-Identifier: GPL-2.0
// Example: the XDP metadata kfuncs (net/core/xdp.c
// bpf_xdp_metadata_rx_timestamp / _rx_hash / _rx_vlan_tag) from an XDP
// program that is not bound to a device: the generic kfuncs answer
// -EOPNOTSUPP and leave the outputs as they were. The answers and the
// outputs go to `out`.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx,
                                         __u64 *timestamp) __ksym;
// include/net/xdp.h (6.3), absent from older uapi headers.
enum xdp_rss_hash_type {
  XDP_RSS_TYPE_NONE = 0,
};
extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash,
                                    enum xdp_rss_hash_type *rss_type) __ksym;
extern int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md *ctx,
                                        __be16 *vlan_proto,
                                        __u16 *vlan_tci) __ksym;

struct answers {
  __s64 r[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct answers);
} out SEC(".maps");

SEC("xdp")
int xdp_meta(struct xdp_md *ctx) {
  __u32 zero = 0;
  struct answers *a = bpf_map_lookup_elem(&out, &zero);
  if (!a) return XDP_ABORTED;
  __u64 ts = 0x1111;
  __u32 hash = 0x2222;
  enum xdp_rss_hash_type type = (enum xdp_rss_hash_type)0x3333;
  __be16 proto = 0x4444;
  __u16 tci = 0x5555;
  a->r[0] = bpf_xdp_metadata_rx_timestamp(ctx, &ts);
  a->r[1] = bpf_xdp_metadata_rx_hash(ctx, &hash, &type);
  a->r[2] = bpf_xdp_metadata_rx_vlan_tag(ctx, &proto, &tci);
  a->r[3] = ts;
  a->r[4] = hash;
  a->r[5] = type;
  a->r[6] = proto;
  a->r[7] = tci;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
