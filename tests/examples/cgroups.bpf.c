// SPDX-License-Identifier: GPL-2.0
// Cgroup membership from a tracing program: bpf_current_task_under_cgroup
// over a CGROUP_ARRAY that userspace fills with cgroup2 directory fds, and
// bpf_get_current_cgroup_id. Each run records what the helpers answered
// for slot args[0] (and an out-of-range slot) in `out`.
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
  __uint(max_entries, 4);
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
  return r == 1;
}

char LICENSE[] SEC("license") = "GPL";
