// SPDX-License-Identifier: GPL-2.0
// Example: socket redirects. A stream verdict program sends each skb to the
// socket in slot skb->mark of a SOCKMAP (flags from skb->priority); a
// message verdict program sends messages by key through a SOCKHASH. The
// other pairing too (issue 26): a stream verdict program through the
// SOCKHASH (key skb->mark, flags skb->priority) and a message verdict
// program through the SOCKMAP (slot local_port & 0xff, flags local_port >> 8).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_SOCKMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} socks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} socks_by_port SEC(".maps");

SEC("sk_skb/stream_verdict")
int redirect_skb(struct __sk_buff *skb) {
  return bpf_sk_redirect_map(skb, &socks, skb->mark, skb->priority);
}

SEC("sk_msg")
int redirect_msg(struct sk_msg_md *msg) {
  __u32 port = msg->local_port;
  return bpf_msg_redirect_hash(msg, &socks_by_port, &port, BPF_F_INGRESS);
}

SEC("sk_skb/stream_verdict")
int redirect_skb_hash(struct __sk_buff *skb) {
  __u32 key = skb->mark;
  return bpf_sk_redirect_hash(skb, &socks_by_port, &key, skb->priority);
}

SEC("sk_msg")
int redirect_msg_map(struct sk_msg_md *msg) {
  return bpf_msg_redirect_map(msg, &socks, msg->local_port & 0xff,
                              msg->local_port >> 8);
}

char LICENSE[] SEC("license") = "GPL";
