// SPDX-License-Identifier: GPL-2.0
// Every way of writing a map definition that the readers understand:
// __type(key/value), __uint(key_size/value_size), map_flags, a value with a
// struct bpf_spin_lock, an __array(values, struct) map-in-map template, a
// keyless ring buffer. gen_native_test builds it natively and as bytecode
// and requires the two faces to create the same maps.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct pair {
  __u32 a;
  __u64 b;
};

struct locked {
  __u64 before;
  struct bpf_spin_lock lock;
  __u64 after;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, struct pair);
  __type(value, __u64);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} typed SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __uint(key_size, 4);
  __uint(value_size, 24);
} sized SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct locked);
} with_lock SEC(".maps");

struct inner {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __u32);
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner);
} outer SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} ring SEC(".maps");

SEC("xdp")
int pass(struct xdp_md *ctx) { return XDP_PASS; }

SEC("raw_tp/sys_enter")
int count(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
