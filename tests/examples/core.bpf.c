// SPDX-License-Identifier: GPL-2.0
// Example: CO-RE relocations (libbpf's relo_core.c; issue 24). `record` (tc)
// writes the value of every kind of relocation against the kernel's BTF
// into `out` (one u64 per slot, the slot numbers below), and reads and
// writes its context through a reordered local view of struct __sk_buff
// whose offsets and load sizes only relocation makes right. The local
// types are `___a` flavors of kernel types, each with fields the kernel
// lacks; the kernel structs' layouts differ from the local ones. Loaded by
// real libbpf on the kernel and by bpfemu's loader (bytecode only: the
// native face compiles BPF C as C++, which has no
// __builtin_preserve_access_index), then compared
// (core_compare_test.cc); core_test.cc checks it against a small hand-made
// kernel BTF.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#define PAI __attribute__((preserve_access_index))

struct sk_buff___a {
  unsigned int no_such_field;
  __u16 protocol;
  __u32 mark;
  unsigned int len;
  unsigned char *head;
} PAI;

struct task_struct___a {
  long missing_x;
  unsigned int flags;
  char comm[16];
  int tgid;
  int pid;
} PAI;

struct iphdr___a {
  __u8 version : 4, ihl : 4;
  __u8 ttl;
  __u8 tos;
  __u32 saddr;
  __u16 tot_len;
} PAI;

// The leading members of the kernel's struct ethhdr, same types: a
// TYPE_MATCHES for it holds (core_compare_test turns the type relocations
// into TYPE_MATCHES, which clang 14 cannot emit).
struct ethhdr___a {
  unsigned char h_dest[6];
  unsigned char h_source[6];
} PAI;

struct no_such_struct___a {
  int x;
} PAI;

enum bpf_map_type___a {
  BPF_MAP_TYPE_HASH___a = 100,
  BPF_MAP_TYPE_ARRAY___a = 200,
  BPF_MAP_TYPE_RINGBUF___a = 5,
  BPF_MAP_TYPE_NOPE___a = 7,
};

// struct __sk_buff reordered, `priority` widened to 64 bits (an unsigned
// integer: libbpf narrows the load to the kernel's 32).
struct __sk_buff___a {
  __u32 protocol;
  __u32 mark;
  __u64 priority;
  __u32 len;
} PAI;

#define NSLOTS 64

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NSLOTS);
  __type(key, __u32);
  __type(value, __u64);
} out SEC(".maps");

static __always_inline void put(__u32 slot, __u64 v) {
  bpf_map_update_elem(&out, &slot, &v, BPF_ANY);
}

SEC("tc")
int record(struct __sk_buff *ctx) {
  struct sk_buff___a *skb = 0;
  struct task_struct___a *task = 0;
  struct iphdr___a *ip = 0;
  struct __sk_buff___a *s = (void *)ctx;

  // Fields: offsets, sizes, existence (slots 0-19).
  put(0, bpf_core_field_offset(skb->len));
  put(1, bpf_core_field_offset(skb->mark));
  put(2, bpf_core_field_offset(skb->protocol));
  put(3, bpf_core_field_offset(skb->head));
  put(4, bpf_core_field_size(skb->len));
  put(5, bpf_core_field_size(skb->protocol));
  put(6, bpf_core_field_exists(skb->len));
  put(7, bpf_core_field_exists(skb->no_such_field));
  put(8, bpf_core_field_offset(task->pid));
  put(9, bpf_core_field_offset(task->tgid));
  put(10, bpf_core_field_offset(task->comm));
  put(11, bpf_core_field_size(task->comm));
  put(12, __builtin_preserve_field_info(task->comm[3], BPF_FIELD_BYTE_OFFSET));
  put(13, bpf_core_field_exists(task->missing_x));
  put(14, __builtin_preserve_field_info(task->pid, BPF_FIELD_SIGNED));
  put(15, __builtin_preserve_field_info(task->flags, BPF_FIELD_SIGNED));
  put(16, bpf_core_field_offset(ip->ttl));
  put(17, bpf_core_field_offset(ip->saddr));  // inside an anonymous union
  put(18, bpf_core_field_size(ip->tot_len));
  put(19, bpf_core_field_exists(ip->tos));
  // Bit-fields (slots 20-29).
  put(20, __builtin_preserve_field_info(ip->ihl, BPF_FIELD_BYTE_OFFSET));
  put(21, __builtin_preserve_field_info(ip->ihl, BPF_FIELD_BYTE_SIZE));
  put(22, __builtin_preserve_field_info(ip->ihl, BPF_FIELD_LSHIFT_U64));
  put(23, __builtin_preserve_field_info(ip->ihl, BPF_FIELD_RSHIFT_U64));
  put(24, __builtin_preserve_field_info(ip->version, BPF_FIELD_LSHIFT_U64));
  put(25, __builtin_preserve_field_info(ip->version, BPF_FIELD_RSHIFT_U64));
  put(26, __builtin_preserve_field_info(ip->ihl, BPF_FIELD_SIGNED));
  // Types (slots 30-39).
  put(30, bpf_core_type_exists(struct task_struct___a));
  put(31, bpf_core_type_exists(struct no_such_struct___a));
  put(32, bpf_core_type_size(struct sk_buff___a));
  put(33, bpf_core_type_size(struct iphdr___a));
  put(34, bpf_core_type_id_kernel(struct task_struct___a));
  put(35, bpf_core_type_id_kernel(struct no_such_struct___a));
  put(36, bpf_core_type_id_local(struct task_struct___a));
  put(37, bpf_core_type_size(enum bpf_map_type___a));
  put(38, bpf_core_type_exists(struct ethhdr___a));
  // Enum values (slots 40-49).
  put(40,
      bpf_core_enum_value_exists(enum bpf_map_type___a, BPF_MAP_TYPE_HASH___a));
  put(41,
      bpf_core_enum_value_exists(enum bpf_map_type___a, BPF_MAP_TYPE_NOPE___a));
  put(42, bpf_core_enum_value(enum bpf_map_type___a, BPF_MAP_TYPE_HASH___a));
  put(43, bpf_core_enum_value(enum bpf_map_type___a, BPF_MAP_TYPE_ARRAY___a));
  put(44, bpf_core_enum_value(enum bpf_map_type___a, BPF_MAP_TYPE_RINGBUF___a));
  // Poisoned relocations behind a relocated existence test: dead code
  // that the verifier (and bpfemu's load) drops (slots 45-46).
  if (bpf_core_enum_value_exists(enum bpf_map_type___a, BPF_MAP_TYPE_NOPE___a))
    put(45, bpf_core_enum_value(enum bpf_map_type___a, BPF_MAP_TYPE_NOPE___a));
  else
    put(45, 888);
  if (bpf_core_field_exists(skb->no_such_field))
    put(46, bpf_core_field_offset(skb->no_such_field));
  else
    put(46, 999);
  // The context through relocated loads and a store (slots 50-54).
  s->mark = 0x5eed;
  put(50, s->len);
  put(51, s->mark);
  put(52, s->protocol);
  put(53, s->priority);
  put(54, bpf_core_field_size(s->priority));
  return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
