// SPDX-License-Identifier: GPL-2.0
// An sk_reuseport program (issue 24) attached to a group of UDP sockets
// (SO_ATTACH_REUSEPORT_EBPF): for each datagram the group receives it
// records the context and what bpf_sk_select_reuseport answers for the
// slots the datagram names (after its 8-byte UDP header: key, a second key
// or ~0, flags, verdict), then passes or drops it.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} socks SEC(".maps");

struct reuseport_seen {
  __u32 runs;
  __u32 len;
  __u32 eth_protocol;
  __u32 ip_protocol;
  __u32 bind_inany;
  __u32 key;
  __s64 ret;
  __s64 ret2;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct reuseport_seen);
} seen SEC(".maps");

struct request {
  __u8 udp[8];
  __u32 key;
  __u32 key2;
  __u32 flags;
  __u32 verdict;
};

SEC("sk_reuseport")
int select_sock(struct sk_reuseport_md* ctx) {
  __u32 zero = 0;
  struct reuseport_seen* s = bpf_map_lookup_elem(&seen, &zero);
  if (!s) return SK_DROP;
  s->runs++;
  s->len = ctx->len;
  s->eth_protocol = ctx->eth_protocol;
  s->ip_protocol = ctx->ip_protocol;
  s->bind_inany = ctx->bind_inany;
  struct request* r = ctx->data;
  if ((void*)(r + 1) > ctx->data_end) {
    s->ret = -1000;
    return SK_PASS;
  }
  __u32 key = r->key, key2 = r->key2;
  s->key = key;
  s->ret = bpf_sk_select_reuseport(ctx, &socks, &key, r->flags);
  if (key2 != 0xffffffff) {
    s->ret2 = bpf_sk_select_reuseport(ctx, &socks, &key2, 0);
  }
  return r->verdict ? SK_PASS : SK_DROP;
}

char LICENSE[] SEC("license") = "GPL";
