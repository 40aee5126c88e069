// SPDX-License-Identifier: GPL-2.0
// Example: a work list in a QUEUE and a STACK. `enqueue` pushes each
// packet's length into both (the first payload byte chooses BPF_EXIST, which
// makes room in a full map by dropping the oldest); `dequeue` pops the queue
// and peeks the stack, and records what it got.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 8);
  __type(value, __u32);
} lengths SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK);
  __uint(max_entries, 4);
  __type(value, __u32);
} recent SEC(".maps");

// [0]: the last value popped, [1]: the last value peeked, [2]: failed pushes.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __s64);
} results SEC(".maps");

static void record(__u32 slot, __s64 v) {
  __s64 *r = bpf_map_lookup_elem(&results, &slot);
  if (r) *r = v;
}

// Returns the queue push's result.
SEC("xdp")
int enqueue(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u8 *first = data;
  if ((void *)(first + 1) > data_end) return XDP_ABORTED;
  __u32 len = data_end - data;
  __u64 flags = *first == 1 ? BPF_EXIST : BPF_ANY;
  long q = bpf_map_push_elem(&lengths, &len, flags);
  long s = bpf_map_push_elem(&recent, &len, flags);
  if (q || s) {
    __u32 slot = 2;
    __s64 *failed = bpf_map_lookup_elem(&results, &slot);
    if (failed) __sync_fetch_and_add(failed, 1);
  }
  return q;
}

// Returns the pop's result; the peeked value lands in results[1].
SEC("xdp")
int dequeue(struct xdp_md *ctx) {
  __u32 v = 0xdead;
  long err = bpf_map_pop_elem(&lengths, &v);
  record(0, err ? err : v);
  __u32 top = 0xbeef;
  long perr = bpf_map_peek_elem(&recent, &top);
  record(1, perr ? perr : top);
  return err;
}

char LICENSE[] SEC("license") = "GPL";
