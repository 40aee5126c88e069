// SPDX-License-Identifier: GPL-2.0
// Helper coverage beyond the examples: spin locks in map values, reading
// another CPU's per-CPU slot, bpf_loop, and the task/time/random/printk
// helpers whose inputs tests control natively.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

struct locked_value {
  struct bpf_spin_lock lock;
  __u32 pad;
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct locked_value);
} locked SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} pcpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} samples SEC(".maps");

// Map-in-map: per-slot counter arrays, inserted from userspace.
struct counters {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct counters);
} tables SEC(".maps");

// Counts the packet in tables[skb->mark & 1][len % 4]; returns 1 if that
// outer slot is empty, else the new count.
SEC("tc")
int count_in_table(struct __sk_buff *skb) {
  __u32 slot = skb->mark & 1;
  void *inner = bpf_map_lookup_elem(&tables, &slot);
  if (!inner) return 1000;
  __u32 k = skb->len % 4;
  __u64 *n = bpf_map_lookup_elem(inner, &k);
  if (!n) return 2000;
  return (int)__sync_add_and_fetch(n, 1);
}

// Adds the packet to key 0 under the value's spin lock; returns the count.
SEC("tc")
int lock_add(struct __sk_buff *skb) {
  __u32 key = 0;
  struct locked_value *v = bpf_map_lookup_elem(&locked, &key);
  if (!v) {
    struct locked_value init = {};
    bpf_map_update_elem(&locked, &key, &init, BPF_NOEXIST);
    v = bpf_map_lookup_elem(&locked, &key);
    if (!v) return TC_ACT_SHOT;
  }
  bpf_spin_lock(&v->lock);
  v->packets++;
  v->bytes += skb->len;
  __u64 n = v->packets;
  bpf_spin_unlock(&v->lock);
  return (int)n;
}

// Adds 1 to this CPU's slot; returns 100 * cpu + CPU 1's slot, or 999 when a
// CPU beyond the possible ones does not answer NULL.
SEC("tc")
int percpu_peek(struct __sk_buff *skb) {
  __u32 zero = 0;
  __u64 *mine = bpf_map_lookup_elem(&pcpu, &zero);
  if (mine) *mine += 1;
  if (bpf_map_lookup_percpu_elem(&pcpu, &zero, 4096)) return 999;
  __u64 *other = bpf_map_lookup_percpu_elem(&pcpu, &zero, 1);
  return 100 * bpf_get_smp_processor_id() + (other ? (int)*other : 50);
}

struct loop_ctx {
  __u64 sum;
  __u32 stop_at;
};

static long add_index(__u32 i, void *data) {
  struct loop_ctx *c = data;
  c->sum += i;
  return i == c->stop_at;
}

// Returns sum * 1000 + iterations of a loop stopped early; samples[0..1] get
// the result of bpf_loop with bad flags and too many iterations.
SEC("tc")
int loop_sum(struct __sk_buff *skb) {
  struct loop_ctx c = {0, 6};
  long iterations = bpf_loop(10, add_index, &c, 0);
  __u32 k = 0;
  __u64 bad_flags = bpf_loop(1, add_index, &c, 1);
  bpf_map_update_elem(&samples, &k, &bad_flags, BPF_ANY);
  k = 1;
  __u64 too_many = bpf_loop((1 << 23) + 1, add_index, &c, 0);
  bpf_map_update_elem(&samples, &k, &too_many, BPF_ANY);
  return c.sum * 1000 + iterations;
}

// Stores the task and time helpers' answers in samples[2..7].
SEC("raw_tp/sys_enter")
int task_info(void *ctx) {
  char comm[16];
  bpf_get_current_comm(comm, sizeof(comm));
  __u64 v[6] = {
      bpf_get_current_pid_tgid(), bpf_get_current_uid_gid(), bpf_ktime_get_ns(),
      bpf_ktime_get_ns(),         bpf_get_prandom_u32(),     comm[0],
  };
  for (__u32 i = 0; i < 6; i++) {
    __u32 k = i + 2;
    bpf_map_update_elem(&samples, &k, &v[i], BPF_ANY);
  }
  bpf_printk("task %d comm %s", (int)(v[0] >> 32), comm);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
