// SPDX-License-Identifier: GPL-2.0
// Example: the cast kfuncs (kernel/bpf/helpers.c bpf_cast_to_kern_ctx,
// bpf_rdonly_cast). `kern_ctx` (tc) sets a few fields through its struct
// __sk_buff, then reads the kernel's struct sk_buff behind it (CO-RE
// relocated against the running kernel's BTF) and the same fields through
// __sk_buff, and reads a packet header copied into a map value through
// bpf_rdonly_cast to the kernel's struct iphdr. Bytecode only: the host
// compiler has no CO-RE.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

// The kernel's types, by name; CO-RE finds the members' offsets.
struct sk_buff {
  unsigned int len;
  unsigned int data_len;
  __u16 mac_len;
  __u16 hdr_len;
  __u16 queue_mapping;
  __u32 priority;
  __u32 mark;
  __u32 hash;
  __be16 protocol;
  __u16 vlan_tci;
  __u16 tc_index;
  int skb_iif;
  __u16 mac_header;
  __u16 network_header;
  __u16 transport_header;
} __attribute__((preserve_access_index));

struct iphdr {
  __u8 tos;
  __be16 tot_len;
  __u8 ttl;
  __u8 protocol;
  __be32 saddr;
  __be32 daddr;
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym;

#define NVALS 32

struct vals {
  __s64 v[NVALS];
};

struct hdr {
  __u8 b[20];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vals);
} out SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct hdr);
} hdrs SEC(".maps");

SEC("tc")
int kern_ctx(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct vals *o = bpf_map_lookup_elem(&out, &zero);
  struct hdr *h = bpf_map_lookup_elem(&hdrs, &zero);
  if (!o || !h) return 2;
  skb->mark = 0x12345;
  skb->priority = 7;
  skb->tc_index = 3;
  struct sk_buff *k = bpf_cast_to_kern_ctx(skb);
  o->v[0] = k->len;
  o->v[1] = k->data_len;
  o->v[2] = k->mac_len;
  o->v[3] = k->queue_mapping;
  o->v[4] = k->priority;
  o->v[5] = k->mark;
  o->v[6] = k->hash;
  o->v[7] = k->protocol;
  o->v[8] = k->vlan_tci;
  o->v[9] = k->tc_index;
  o->v[10] = k->skb_iif;
  o->v[11] = k->network_header - k->mac_header;
  o->v[12] = k->hdr_len;
  o->v[16] = skb->len;
  o->v[17] = skb->mark;
  o->v[18] = skb->priority;
  o->v[19] = skb->protocol;
  o->v[20] = skb->ingress_ifindex;
  o->v[21] = skb->queue_mapping;
  o->v[22] = skb->tc_index;
  o->v[23] = skb->hash;
  o->v[24] = skb->vlan_tci;
  // The same sk_buff, read-only.
  struct sk_buff *r =
      bpf_rdonly_cast(k, bpf_core_type_id_kernel(struct sk_buff));
  o->v[25] = r->len;
  o->v[26] = r->mark;
  // A header the program copied, seen as the kernel's struct iphdr.
  if (bpf_skb_load_bytes(skb, 14, h->b, sizeof(h->b)) != 0) return 3;
  struct iphdr *ip =
      bpf_rdonly_cast(h->b, bpf_core_type_id_kernel(struct iphdr));
  o->v[27] = ip->ttl;
  o->v[28] = ip->protocol;
  o->v[29] = ip->saddr;
  o->v[30] = ip->daddr;
  o->v[31] = ip->tot_len;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
