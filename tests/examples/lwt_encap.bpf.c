// SPDX-License-Identifier: GPL-2.0
// bpf_lwt_push_encap from LWT_IN and LWT_XMIT programs (issue 24): the
// encapsulation type, length and header bytes come from the `cmd` map
// (lwt_encap_cases.h); the return value, skb->protocol, skb->hash (after a
// bpf_get_hash_recalc before the call) and skb->len afterwards go to
// `out`, and the test run's output packet shows the pushed header.
//
// The egress program calls the helper only with a header the kernel
// refuses before it looks at the route (a type other than
// BPF_LWT_ENCAP_IP, a length outside [20, 256], a version other than 4 or
// 6, a header shorter than its IPv4 ihl or than an IPv6 header, or a UDP
// header that does not fit): bpf_lwt_push_ip_encap's egress push reads
// skb_dst(skb)->dev, and a test run's skb has no dst.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "lwt_encap_cases.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lwt_cmd);
} cmd SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lwt_out);
} out SEC(".maps");

static __always_inline int push(struct __sk_buff *skb, int egress) {
  __u32 zero = 0;
  struct lwt_cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct lwt_out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return 1;
  __u32 len = c->len;
  if (len == 0 || len > LWT_ENCAP_HDR_MAX) return 2;
  if (egress && c->type == BPF_LWT_ENCAP_IP && len >= 20 && len <= 256) {
    __u8 v = c->hdr[0] >> 4;
    int refused = 0;
    if (v == 4) {
      __u32 ihl = (c->hdr[0] & 0xf) * 4;
      refused = len < ihl || (c->hdr[9] == 17 && len < ihl + 8);
    } else if (v == 6) {
      refused = len < 40 || (c->hdr[6] == 17 && len < 48);
    } else {
      refused = 1;
    }
    if (!refused) return LWT_ENCAP_NOT_CALLED;
  }
  bpf_get_hash_recalc(skb);
  o->ret = bpf_lwt_push_encap(skb, c->type, c->hdr, len);
  o->protocol = skb->protocol;
  o->hash = skb->hash;
  o->len = skb->len;
  return 0;
}

SEC("lwt_in")
int encap_in(struct __sk_buff *skb) { return push(skb, 0); }

SEC("lwt_xmit")
int encap_xmit(struct __sk_buff *skb) { return push(skb, 1); }

char _license[] SEC("license") = "GPL";
