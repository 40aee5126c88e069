// SPDX-License-Identifier: GPL-2.0
// The BPF side of user_ringbuf_benchmark: one bpf_user_ringbuf_drain() of
// everything userspace produced, reading each sample's first 8 bytes into
// a running sum.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
  __uint(max_entries, 4 << 20);
} ring SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} sum SEC(".maps");

static long add(struct bpf_dynptr *d, void *ctx) {
  __u64 v = 0;
  bpf_dynptr_read(&v, sizeof(v), d, 0, 0);
  *(__u64 *)ctx += v;
  return 0;
}

SEC("tc")
int drain(struct __sk_buff *skb) {
  __u64 total = 0;
  long n = bpf_user_ringbuf_drain(&ring, add, &total, 0);
  __u32 zero = 0;
  __u64 *s = bpf_map_lookup_elem(&sum, &zero);
  if (s) *s += total;
  return n;
}

char LICENSE[] SEC("license") = "GPL";
