// SPDX-License-Identifier: GPL-2.0
// Map slots set in the object (`.values = { [i] = &target }`), which libbpf
// fills at load: a program array's programs once every program is loaded,
// and a map-in-map's inner maps once every map exists. libbpf also freezes
// .rodata after filling it.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct inner {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
};

struct inner first SEC(".maps"), second SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct inner);
} outer SEC(".maps") = {.values = {[0] = &first, [2] = &second}};

SEC("xdp")
int drop_it(struct xdp_md *ctx) { return XDP_DROP; }

SEC("xdp")
int bounce_it(struct xdp_md *ctx) { return XDP_TX; }

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __uint(key_size, sizeof(__u32));
  __array(values, int(void *));
} jumps SEC(".maps") = {
    .values = {[1] = (void *)&drop_it, [3] = (void *)&bounce_it}};

// The verdict of an empty slot: .rodata, frozen at load.
const volatile __u32 fallthrough = XDP_PASS;

// Tail-calls the slot named by the packet's first byte; an empty slot
// falls through to `fallthrough`.
SEC("xdp")
int dispatch(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  if ((void *)(data + 1) > (void *)(long)ctx->data_end) return XDP_ABORTED;
  bpf_tail_call(ctx, &jumps, *data);
  return fallthrough;
}

char LICENSE[] SEC("license") = "GPL";
