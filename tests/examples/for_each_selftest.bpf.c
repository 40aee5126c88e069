// SPDX-License-Identifier: GPL-2.0
// The checks of the kernel's prog_tests/for_each.c (subtests hash_map,
// array_map, multi_maps; programs progs/for_each_hash_map_elem.c,
// for_each_array_map_elem.c, for_each_multi_maps.c), written for this
// repository: the same maps, walks and expected values, with the results in
// the `res` array instead of global variables. The userspace half is
// examples_compare_test.cc ForEachSelftestChecks. (write_map_key, a program
// the verifier must refuse, has no counterpart: bpfemu has no verifier.)
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "for_each_selftest.h"

// hash_map: 3 elements k -> k + 1 filled from userspace.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __u64);
} hashmap SEC(".maps");

// hash_map: key 1 holding cpu + 1 in each CPU's slot.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} percpu_hash SEC(".maps");

// array_map: 3 elements i -> i + 1.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __u64);
} arraymap SEC(".maps");

// array_map: index 0 holding cpu + 1 in each CPU's slot.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} percpu_array SEC(".maps");

// multi_maps: 5 elements 100 + i -> i + 1.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 5);
  __type(key, __u32);
  __type(value, __u64);
} multi_hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, kResults);
  __type(key, __u32);
  __type(value, __u64);
} res SEC(".maps");

static void set_res(__u32 slot, __u64 v) {
  __u64 *p = bpf_map_lookup_elem(&res, &slot);
  if (p) *p = v;
}

static __u64 get_res(__u32 slot) {
  __u64 *p = bpf_map_lookup_elem(&res, &slot);
  return p ? *p : 0;
}

struct hash_data {
  struct __sk_buff *skb;  // NULL: the nested walk, which deletes
  int input;
  int output;
};

// With the packet: 4 unless key 10 / value 10 / length 10000 (never).
// Without: output takes the input and the element is deleted.
static long hash_elem(void *map, __u32 *key, __u64 *val, struct hash_data *d) {
  struct __sk_buff *skb = d->skb;
  if (skb) {
    d->output = (skb->len == 10000 && *key == 10 && *val == 10) ? 3 : 4;
  } else {
    d->output = d->input;
    bpf_map_delete_elem(map, key);
  }
  return 0;
}

// The per-CPU hash's one element, whose callback walks `hashmap` again.
static long percpu_hash_elem(void *map, __u32 *key, __u64 *val, void *unused) {
  set_res(kPercpuCalled, get_res(kPercpuCalled) + 1);
  set_res(kPercpuCpu, bpf_get_smp_processor_id());
  set_res(kPercpuKey, *key);
  set_res(kPercpuVal, *val);
  struct hash_data d = {.skb = 0, .input = 100, .output = 0};
  bpf_for_each_map_elem(&hashmap, hash_elem, &d, 0);
  set_res(kPercpuOutput, d.output);
  return 0;
}

SEC("tc")
int hash_map(struct __sk_buff *skb) {
  struct hash_data d = {.skb = skb, .input = 10, .output = 0};
  set_res(kHashElems, bpf_for_each_map_elem(&hashmap, hash_elem, &d, 0));
  set_res(kHashOutput, d.output);
  set_res(kPercpuElems,
          bpf_for_each_map_elem(&percpu_hash, percpu_hash_elem, 0, 0));
  return 0;
}

struct sum_data {
  __u64 output;
};

// Adds the values up to and including key 1, then stops.
static long array_elem(void *map, __u32 *key, __u64 *val, struct sum_data *d) {
  d->output += *val;
  return *key == 1 ? 1 : 0;
}

static long percpu_array_elem(void *map, __u32 *key, __u64 *val, void *unused) {
  set_res(kArrayCpu, bpf_get_smp_processor_id());
  set_res(kArrayPercpuVal, *val);
  return 0;
}

SEC("tc")
int array_map(struct __sk_buff *skb) {
  struct sum_data d = {0};
  bpf_for_each_map_elem(&arraymap, array_elem, &d, 0);
  set_res(kArrayOutput, d.output);
  bpf_for_each_map_elem(&percpu_array, percpu_array_elem, 0, 0);
  return 0;
}

// One callback for an array and a hash.
static long sum_elem(void *map, __u32 *key, __u64 *val, struct sum_data *d) {
  d->output += *val;
  return 0;
}

SEC("tc")
int multi_maps(struct __sk_buff *skb) {
  struct sum_data d = {0};
  if (get_res(kMultiUseArray))
    bpf_for_each_map_elem(&arraymap, sum_elem, &d, 0);
  else
    bpf_for_each_map_elem(&multi_hash, sum_elem, &d, 0);
  set_res(kMultiOutput, d.output);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
