// SPDX-License-Identifier: GPL-2.0
// Per-cgroup packet counters in cgroup storage: a cgroup_skb program counts
// the packets and bytes it sees in its CGROUP_STORAGE and, per CPU, in its
// PERCPU_CGROUP_STORAGE (bpf_get_local_storage). Under BPF_PROG_TEST_RUN
// the storages live for one run (all its repeats) and start zeroed, so a
// run of N repeats ends with N packets; `seen` records what the last
// repeat read.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct packet_stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
  __type(key, struct bpf_cgroup_storage_key);
  __type(value, struct packet_stats);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
  __type(key, struct bpf_cgroup_storage_key);
  __type(value, __u64);
} per_cpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __u64);
} seen SEC(".maps");

static void record(__u32 slot, __u64 v) {
  __u64* p = bpf_map_lookup_elem(&seen, &slot);
  if (p) *p = v;
}

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff* skb) {
  struct packet_stats* s = bpf_get_local_storage(&stats, 0);
  __u64* cpu_packets = bpf_get_local_storage(&per_cpu, 0);
  __sync_fetch_and_add(&s->packets, 1);
  s->bytes += skb->len;
  *cpu_packets += 1;
  record(0, s->packets);
  record(1, s->bytes);
  record(2, *cpu_packets);
  // Odd-numbered repeats allow the packet, even ones drop it.
  return s->packets & 1;
}

char LICENSE[] SEC("license") = "GPL";
