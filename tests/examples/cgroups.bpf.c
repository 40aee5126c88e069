// SPDX-License-Identifier: GPL-2.0
// Cgroup membership from a tracing program: bpf_current_task_under_cgroup
// over a CGROUP_ARRAY that userspace fills with cgroup2 directory fds, and
// bpf_get_current_cgroup_id / bpf_get_current_ancestor_cgroup_id; and
// from tc, the socket a test run gives its skb (in the running task's
// cgroup): bpf_skb_under_cgroup, bpf_skb_cgroup_id,
// bpf_skb_ancestor_cgroup_id. Each run records what the helpers answered
// for slot args[0] or slots 0 and 1 (and an out-of-range slot) in `out`.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
  __uint(max_entries, 2);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} cgroups SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 11);
  __type(key, __u32);
  __type(value, __s64);
} out SEC(".maps");

static void record(__u32 slot, __s64 v) {
  __s64* p = bpf_map_lookup_elem(&out, &slot);
  if (p) *p = v;
}

SEC("raw_tp/sys_enter")
int under_cgroup(__u64* ctx) {
  __u32 idx = (__u32)ctx[0];
  long r = bpf_current_task_under_cgroup(&cgroups, idx);
  record(0, r);
  record(1, bpf_current_task_under_cgroup(&cgroups, 7));
  record(2, (__s64)bpf_get_current_cgroup_id());
  record(3, idx);
  record(4, (__s64)bpf_get_current_ancestor_cgroup_id(0));
  record(5, (__s64)bpf_get_current_ancestor_cgroup_id(1));
  return r == 1;
}

SEC("tc")
int skb_cgroup(struct __sk_buff* skb) {
  long r = bpf_skb_under_cgroup(skb, &cgroups, 0);
  record(6, r);
  record(7, bpf_skb_under_cgroup(skb, &cgroups, 1));
  record(10, bpf_skb_under_cgroup(skb, &cgroups, 9));
  record(8, (__s64)bpf_skb_cgroup_id(skb));
  record(9, (__s64)bpf_skb_ancestor_cgroup_id(skb, 0) +
                (__s64)bpf_skb_ancestor_cgroup_id(skb, 64));
  return r == 1;
}

char LICENSE[] SEC("license") = "GPL";
