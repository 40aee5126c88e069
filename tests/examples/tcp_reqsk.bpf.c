// SPDX-License-Identifier: GPL-2.0
// Example (kfy48, issue 24): net/core/filter.c bpf_sk_assign_tcp_reqsk from
// a tc program (the kernel's selftest test_tcp_custom_syncookie.c calls it
// the same way, at tc ingress). `reqsk` looks up the TCP listener on
// 127.0.0.1:cfg->port and calls the kfunc with cfg's attributes and size;
// out[0] is its return value (-1000: no listener found).
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

// Opaque here; a complete struct, as libbpf 1.1 does not match a forward
// declaration with the kernel's struct in a kfunc's prototype.
struct sock {
  int opaque;
} __attribute__((preserve_access_index));

// net/core/filter.c struct bpf_tcp_req_attrs.
struct bpf_tcp_req_attrs {
  __u32 rcv_tsval;
  __u32 rcv_tsecr;
  __u16 mss;
  __u8 rcv_wscale;
  __u8 snd_wscale;
  __u8 ecn_ok;
  __u8 wscale_ok;
  __u8 sack_ok;
  __u8 tstamp_ok;
  __u8 usec_ts_ok;
  __u8 reserved[3];
};

extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *s, struct sock *sk,
                                   struct bpf_tcp_req_attrs *attrs,
                                   int attrs__sz) __ksym;

struct cfg {
  __u32 port;  // network order
  __s32 size;
  struct bpf_tcp_req_attrs attrs;
  __u8 pad[4];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cfg);
} cfgs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64);
} out SEC(".maps");

SEC("tc")
int reqsk(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct cfg *c = bpf_map_lookup_elem(&cfgs, &zero);
  __s64 *res = bpf_map_lookup_elem(&out, &zero);
  if (!c || !res) return TC_ACT_SHOT;
  struct bpf_sock_tuple t = {};
  t.ipv4.saddr = __builtin_bswap32(0x7f000001);
  t.ipv4.daddr = __builtin_bswap32(0x7f000001);
  t.ipv4.sport = __builtin_bswap16(40000);
  t.ipv4.dport = (__u16)c->port;
  struct bpf_sock *sk =
      bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
  if (!sk) {
    *res = -1000;
    return TC_ACT_OK;
  }
  struct bpf_tcp_req_attrs a = c->attrs;
  // The verifier takes a size it can bound: 1 to 24 bytes of `a` and the
  // bytes after it.
  __u8 buf[24] = {};
  __builtin_memcpy(buf, &a, sizeof(a));
  __u32 size = (__u32)c->size & 0x1f;
  if (size < 1) size = 1;
  if (size > 24) size = 24;
  *res = bpf_sk_assign_tcp_reqsk(skb, (struct sock *)sk,
                                 (struct bpf_tcp_req_attrs *)buf, size);
  bpf_sk_release(sk);
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
