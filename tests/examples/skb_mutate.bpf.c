// SPDX-License-Identifier: GPL-2.0
// Example: the helpers that change a socket buffer's shape (issue 24).
// `mutate` (tc) runs up to four steps from the `cmd` map, each one helper
// call: bpf_skb_change_tail / _change_head (grow and shrink, the limits,
// the flags), bpf_skb_pull_data, bpf_skb_change_type, bpf_set_hash /
// bpf_set_hash_invalid / bpf_get_hash_recalc, bpf_skb_vlan_push / _pop,
// bpf_skb_change_proto, bpf_skb_adjust_room, or a direct write at an offset
// (which shows the new packet bounds). Each step's result goes to `results`,
// then the context fields the helpers change (len, data_end - data, protocol,
// pkt_type, vlan_*, hash when it is comparable, gso_*).
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

enum op {
  OP_NONE = 0,
  OP_CHANGE_TAIL = 1,  // a: new length, b: flags
  OP_CHANGE_HEAD = 2,  // a: head room, b: flags
  OP_PULL_DATA = 3,    // a: length
  OP_CHANGE_TYPE = 4,  // a: packet type
  OP_SET_HASH = 5,     // a: hash
  OP_SET_HASH_INVALID = 6,
  OP_GET_HASH = 7,        // records the hash
  OP_GET_HASH_SHAPE = 8,  // records (hash != 0) | (hash == skb->hash) << 1
  OP_VLAN_PUSH = 9,       // a: protocol (network order), b: TCI
  OP_VLAN_POP = 10,
  OP_WRITE = 11,         // a: offset, b: byte; -1 when out of bounds
  OP_CHANGE_PROTO = 12,  // a: protocol (network order), b: flags
  OP_ADJUST_ROOM = 13,   // a: len_diff, b: flags, c: mode
};

struct step {
  __u32 op;
  __u32 a;
  __u64 b;
  __u64 c;
};

struct cmd {
  __u32 hash_comparable;  // the final skb->hash is recorded when set
  __u32 pad;
  struct step steps[4];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cmd);
} cmd SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __s64);
} results SEC(".maps");

static __always_inline void record(__u32 slot, __s64 value) {
  bpf_map_update_elem(&results, &slot, &value, BPF_ANY);
}

static __always_inline __s64 run_step(struct __sk_buff *skb,
                                      const struct step *s) {
  switch (s->op) {
    case OP_CHANGE_TAIL:
      return bpf_skb_change_tail(skb, s->a, s->b);
    case OP_CHANGE_HEAD:
      return bpf_skb_change_head(skb, s->a, s->b);
    case OP_PULL_DATA:
      return bpf_skb_pull_data(skb, s->a);
    case OP_CHANGE_TYPE:
      return bpf_skb_change_type(skb, s->a);
    case OP_SET_HASH:
      return bpf_set_hash(skb, s->a);
    case OP_SET_HASH_INVALID:
      bpf_set_hash_invalid(skb);
      return 0;
    case OP_GET_HASH:
      return bpf_get_hash_recalc(skb);
    case OP_GET_HASH_SHAPE: {
      const __u32 h = bpf_get_hash_recalc(skb);
      return (h != 0) | (h == skb->hash) << 1;
    }
    case OP_VLAN_PUSH:
      return bpf_skb_vlan_push(skb, (__be16)s->a, (__u16)s->b);
    case OP_VLAN_POP:
      return bpf_skb_vlan_pop(skb);
    case OP_CHANGE_PROTO:
      return bpf_skb_change_proto(skb, (__be16)s->a, s->b);
    case OP_ADJUST_ROOM:
      return bpf_skb_adjust_room(skb, (__s32)s->a, (__u32)s->c, s->b);
    case OP_WRITE: {
      __u8 *data = (void *)(long)skb->data;
      __u8 *data_end = (void *)(long)skb->data_end;
      const __u32 off = s->a & 0x7fff;
      if (data + off + 1 > data_end) return -1;
      data[off] = (__u8)s->b;
      return 0;
    }
    default:
      return 0;
  }
}

SEC("tc")
int mutate(struct __sk_buff *skb) {
  __u32 zero = 0;
  const struct cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  if (!c) return TC_ACT_SHOT;
#pragma unroll
  for (int i = 0; i < 4; ++i) record(i, run_step(skb, &c->steps[i]));
  record(4, skb->len);
  record(5, (long)skb->data_end - (long)skb->data);
  record(6, skb->protocol);
  record(7, skb->pkt_type);
  record(8, skb->vlan_present);
  record(9, skb->vlan_tci);
  record(10, skb->vlan_proto);
  record(11, c->hash_comparable ? skb->hash : 0);
  record(12, skb->gso_segs);
  record(13, skb->gso_size);
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
