// SPDX-License-Identifier: GPL-2.0
// Example: the probe-read helpers and bpf_ringbuf_discard from raw
// tracepoint programs (issue 26). `probe` calls one of the six probe reads
// (kernel/trace/bpf_trace.c) on an address the test chooses, or on this
// object's own memory (a global or the stack: "kernel" memory), and stores
// the helper's return value and the whole destination buffer (filled with
// 0xaa before the call) in a slot of `out`. `ring` reserves a record and
// submits or discards it (kernel/bpf/ringbuf.c) with the given flags.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#define BUF 24

struct slot {
  __s64 ret;
  __u8 buf[BUF];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, struct slot);
} out SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

// A string longer than the buffer and an empty one, in the object's data,
// each large enough that a read of BUF bytes stays inside it (what lies
// past an object is the kernel's business).
char text[64] = "the quick brown fox jumps over";
char empty[32] = "";

enum source {
  SRC_ADDRESS = 0,  // args[0]
  SRC_TEXT = 1,     // &text[args[0]]
  SRC_EMPTY = 2,    // empty
  SRC_STACK = 3,    // a string on the stack
};

enum helper {
  H_KERNEL = 0,
  H_USER = 1,
  H_COMPAT = 2,
  H_KERNEL_STR = 3,
  H_USER_STR = 4,
  H_COMPAT_STR = 5,
};

// args: [0] address (or offset into text), [1] size, [2] helper,
// [3] source, [4] slot.
SEC("raw_tp/sys_enter")
int probe(struct bpf_raw_tracepoint_args *ctx) {
  struct slot s;
  char local[32] = "on the stack";
  __u32 n = ctx->args[1] & 31;
  if (n > BUF) n = BUF;
  __builtin_memset(s.buf, 0xaa, BUF);
  const void *src = (const void *)ctx->args[0];
  switch (ctx->args[3]) {
    case SRC_TEXT:
      src = &text[ctx->args[0] & 31];
      break;
    case SRC_EMPTY:
      src = empty;
      break;
    case SRC_STACK:
      src = local;
      break;
  }
  switch (ctx->args[2]) {
    case H_KERNEL:
      s.ret = bpf_probe_read_kernel(s.buf, n, src);
      break;
    case H_USER:
      s.ret = bpf_probe_read_user(s.buf, n, src);
      break;
    case H_COMPAT:
      s.ret = bpf_probe_read(s.buf, n, src);
      break;
    case H_KERNEL_STR:
      s.ret = bpf_probe_read_kernel_str(s.buf, n, src);
      break;
    case H_USER_STR:
      s.ret = bpf_probe_read_user_str(s.buf, n, src);
      break;
    case H_COMPAT_STR:
      s.ret = bpf_probe_read_str(s.buf, n, src);
      break;
    default:
      return 1;
  }
  __u32 key = ctx->args[4] & 63;
  bpf_map_update_elem(&out, &key, &s, BPF_ANY);
  return 0;
}

// args: [0] value to write into the record, [1] discard (1) or submit (0),
// [2] flags. Records are 64 bytes. Returns 1 when the ring is full.
SEC("raw_tp/sys_enter")
int ring(struct bpf_raw_tracepoint_args *ctx) {
  __u64 *rec = bpf_ringbuf_reserve(&events, 64, 0);
  if (!rec) return 1;
  rec[0] = ctx->args[0];
  rec[1] = ctx->args[1];
  for (int i = 2; i < 8; ++i) rec[i] = ctx->args[0] + i;
  if (ctx->args[1])
    bpf_ringbuf_discard(rec, ctx->args[2]);
  else
    bpf_ringbuf_submit(rec, ctx->args[2]);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
