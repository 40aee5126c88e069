// SPDX-License-Identifier: GPL-2.0
// Example: a jump table of XDP programs. The dispatcher tail-calls the
// program in the slot named by the byte after the Ethernet header; an empty
// or out-of-range slot falls through to XDP_PASS. Slot 3 holds a program that
// tail-calls itself: it runs 1 + 33 times (MAX_TAIL_CALL_CNT) and counts.
// sub_dispatch makes the same tail call from a subprogram.
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 8);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} jmp_table SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} hits SEC(".maps");

static __always_inline void hit(__u32 slot) {
  __u64 *n = bpf_map_lookup_elem(&hits, &slot);
  if (n) __sync_fetch_and_add(n, 1);
}

SEC("xdp")
int dispatch(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u8 *index = data + ETH_HLEN;
  if ((void *)(index + 1) > data_end) return XDP_ABORTED;
  hit(0);
  bpf_tail_call(ctx, &jmp_table, *index);
  hit(7);  // only when the tail call did not happen
  return XDP_PASS;
}

SEC("xdp")
int drop_it(struct xdp_md *ctx) {
  hit(1);
  return XDP_DROP;
}

SEC("xdp")
int bounce_it(struct xdp_md *ctx) {
  hit(2);
  return XDP_TX;
}

SEC("xdp")
int self_loop(struct xdp_md *ctx) {
  hit(3);
  bpf_tail_call(ctx, &jmp_table, 3);
  return XDP_REDIRECT;  // reached once the chain limit stops the calls
}

// A tail call from a bpf-to-bpf subprogram replaces only that frame: the
// target's verdict returns to the subprogram's caller, which goes on.
static __attribute__((noinline)) int via_subprogram(struct xdp_md *ctx,
                                                    __u32 slot) {
  bpf_tail_call(ctx, &jmp_table, slot);
  return ctx->data_end - ctx->data;  // no tail call: the packet's length
}

SEC("xdp")
int sub_dispatch(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u8 *index = data + ETH_HLEN;
  if ((void *)(index + 1) > data_end) return XDP_ABORTED;
  int verdict = via_subprogram(ctx, *index);
  __u32 slot = 6;  // the caller's own count and the verdicts it saw
  __u64 *n = bpf_map_lookup_elem(&hits, &slot);
  if (n) __sync_fetch_and_add(n, 1000 + verdict);
  return verdict == XDP_DROP ? XDP_TX : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
