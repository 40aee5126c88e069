// SPDX-License-Identifier: GPL-2.0
// Global data (.rodata set before load, .data, .bss), a .text subprogram,
// a bpf_loop callback and a hash map: the program behind the skeleton test.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

const volatile __u32 scale = 3; /* .rodata: set before load */
__u64 total = 0;                /* .bss */
__u64 calls = 7;                /* .data */
char last_comm[16] = {};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} by_arg SEC(".maps");

static __noinline __u64 weigh(__u64 x) { return x * scale + 1; }

struct loop_ctx {
  __u64 sum;
  __u64 n;
};
static long add_one(__u32 i, void *data) {
  struct loop_ctx *c = data;
  c->sum += weigh(i);
  return c->sum > c->n * 100 ? 1 : 0;
}

SEC("raw_tp/sys_enter")
int count(__u64 *ctx) {
  __u32 key = (__u32)ctx[1];
  __u64 one = 1, *v;
  struct loop_ctx lc = {0, ctx[1]};
  bpf_loop(ctx[1] & 31, add_one, &lc, 0);
  __sync_fetch_and_add(&total, weigh(ctx[1]));
  calls++;
  v = bpf_map_lookup_elem(&by_arg, &key);
  if (v)
    __sync_fetch_and_add(v, lc.sum);
  else
    bpf_map_update_elem(&by_arg, &key, &one, BPF_NOEXIST);
  bpf_get_current_comm(last_comm, sizeof(last_comm));
  return (int)lc.sum;
}

char LICENSE[] SEC("license") = "GPL";
