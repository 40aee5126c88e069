// SPDX-License-Identifier: GPL-2.0
// Example: bpf_for_each_map_elem over an array, a hash, a per-CPU array and
// an LRU hash. `fill` adds the packet's length as a key; `walk` records the
// keys each walk visits, in order, with the values' sums and the counts the
// helper returns, in `out`; `prune` deletes the odd-valued hash elements
// from inside the walk. The hashes are zero-seeded, so the kernel's bucket
// order is reproducible.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} arr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 32);
  __uint(map_flags, BPF_F_ZERO_SEED);
  __type(key, __u32);
  __type(value, __u64);
} hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} pcpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 64);
  __uint(map_flags, BPF_F_ZERO_SEED);
  __type(key, __u32);
  __type(value, __u64);
} lru SEC(".maps");

// Slots of `out`: per walk, kSlots entries from its base: the visited keys,
// then (at base + kSlots - 3) the count, the sum and the helper's result.
#define SLOTS 32
#define OUT_ENTRIES (5 * SLOTS)

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, OUT_ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} out SEC(".maps");

struct walk_ctx {
  __u32 base;
  __u32 pos;
  __u64 sum;
  __u32 stop_key;  // stop after this key (0: never)
  __u32 prune;     // delete elements with odd values
};

static void put(__u32 slot, __u64 v) {
  __u64 *p = bpf_map_lookup_elem(&out, &slot);
  if (p) *p = v;
}

static long record(void *map, __u32 *key, __u64 *val, struct walk_ctx *c) {
  if (c->pos < SLOTS - 3) {
    put(c->base + c->pos, *key);
    c->pos++;
  }
  c->sum += *val;
  if (c->prune && (*val & 1)) bpf_map_delete_elem(map, key);
  return c->stop_key != 0 && *key == c->stop_key;
}

static void finish(struct walk_ctx *c, long ret) {
  put(c->base + SLOTS - 3, c->pos);
  put(c->base + SLOTS - 2, c->sum);
  put(c->base + SLOTS - 1, (__u64)ret);
}

SEC("xdp")
int fill(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  __u64 v = len;
  __u32 idx = len % 8;
  __u64 *a = bpf_map_lookup_elem(&arr, &idx);
  if (a) *a += len;
  __u32 zero = 0;
  __u64 *p = bpf_map_lookup_elem(&pcpu, &zero);
  if (p) *p += len;
  idx = len % 4;
  p = bpf_map_lookup_elem(&pcpu, &idx);
  if (p) *p += 1;
  bpf_map_update_elem(&hash, &len, &v, BPF_ANY);
  __u64 *l = bpf_map_lookup_elem(&lru, &len);
  if (l) {
    *l += len;
  } else {
    bpf_map_update_elem(&lru, &len, &v, BPF_NOEXIST);
  }
  return XDP_PASS;
}

// The packet's length picks the array walk's stop key (len % 8, 0 = none).
SEC("xdp")
int walk(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  struct walk_ctx c = {.base = 0, .stop_key = len % 8};
  finish(&c, bpf_for_each_map_elem(&arr, record, &c, 0));

  struct walk_ctx h = {.base = SLOTS};
  finish(&h, bpf_for_each_map_elem(&hash, record, &h, 0));

  struct walk_ctx pc = {.base = 2 * SLOTS};
  finish(&pc, bpf_for_each_map_elem(&pcpu, record, &pc, 0));

  struct walk_ctx lr = {.base = 3 * SLOTS};
  finish(&lr, bpf_for_each_map_elem(&lru, record, &lr, 0));

  // Flags other than 0: -EINVAL, no callback.
  struct walk_ctx bad = {.base = 4 * SLOTS};
  finish(&bad, bpf_for_each_map_elem(&hash, record, &bad, 1));
  return XDP_PASS;
}

SEC("xdp")
int prune(struct xdp_md *ctx) {
  struct walk_ctx c = {.base = 4 * SLOTS, .prune = 1};
  finish(&c, bpf_for_each_map_elem(&hash, record, &c, 0));
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
