// SPDX-License-Identifier: GPL-2.0
// The BPF side of user_ringbuf_compare_test: one bpf_user_ringbuf_drain()
// per run, with the flags and the stop rule the `config` map gives, writing
// a transcript of every sample the callback saw (its size as far as
// bpf_dynptr_read reaches, a checksum of its bytes, whether bpf_dynptr_data
// gave its first 8 bytes) and the drain's result.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#define MAX_SEEN 256

struct {
  __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
  __uint(max_entries, 16384);
} ring SEC(".maps");

// 2 MiB: room for more than BPF_MAX_USER_RINGBUF_SAMPLES empty samples.
struct {
  __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
  __uint(max_entries, 2 << 20);
} big SEC(".maps");

// [0] drain flags, [1] stop after this many samples (0: never), [2] 1:
// drain `big` without reading the samples, [3] 0.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} config SEC(".maps");

struct seen {
  __u32 size;
  __u32 data_ok;
  __u64 sum;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_SEEN);
  __type(key, __u32);
  __type(value, struct seen);
} transcript SEC(".maps");

// [0] the drain's result, [1] samples seen by the callback (all runs).
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __s64);
} result SEC(".maps");

struct run {
  __u64 stop_after;
  __u64 seen;
  __u64 sum;
};

static __u64 get_config(__u32 i) {
  __u64 *v = bpf_map_lookup_elem(&config, &i);
  return v ? *v : 0;
}

// The dynptr may not be spilled to the stack (the verifier's
// is_spillable_regtype), so the callback keeps few values live: the
// running checksum lives in the context. The size is the number of bytes
// the reads reached (samples are at most 300 bytes here).
static long on_sample(struct bpf_dynptr *d, void *ctx) {
  struct run *r = ctx;
  __u64 w;
  __u8 b;
  __u32 off = 0;
  r->sum = 0;
  for (int i = 0; i < 38; i++) {
    if (bpf_dynptr_read(&w, 8, d, off, 0) != 0) break;
    r->sum = r->sum * 31 + w;
    off += 8;
  }
  for (int i = 0; i < 8; i++) {
    if (bpf_dynptr_read(&b, 1, d, off, 0) != 0) break;
    r->sum = r->sum * 31 + b;
    off++;
  }
  struct seen s = {
      .size = off, .data_ok = bpf_dynptr_data(d, 0, 8) != 0, .sum = r->sum};
  __u32 slot = r->seen;
  if (slot < MAX_SEEN) bpf_map_update_elem(&transcript, &slot, &s, BPF_ANY);
  r->seen++;
  if (r->stop_after != 0 && r->seen >= r->stop_after) return 1;
  return 0;
}

static long count_only(struct bpf_dynptr *d, void *ctx) {
  struct run *r = ctx;
  r->seen++;
  return 0;
}

SEC("xdp")
int drain(struct xdp_md *ctx) {
  // `seen` starts from a map value (always 0), not a constant: a counter
  // the verifier knows exactly would make it explore the callback once per
  // possible count instead of converging.
  struct run r = {.stop_after = get_config(1), .seen = get_config(3)};
  long ret;
  if (get_config(2))
    ret = bpf_user_ringbuf_drain(&big, count_only, &r, get_config(0));
  else
    ret = bpf_user_ringbuf_drain(&ring, on_sample, &r, get_config(0));
  __u32 k = 0;
  __s64 *v = bpf_map_lookup_elem(&result, &k);
  if (v) *v = ret;
  k = 1;
  v = bpf_map_lookup_elem(&result, &k);
  if (v) *v += r.seen;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
