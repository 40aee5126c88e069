// SPDX-License-Identifier: Apache-2.0
// One ring-buffer step per BPF_PROG_TEST_RUN, chosen by user space through
// the `step` array: the kernel side of kernel_compare/ringbuf_compare_test.
// The program's return value is the helper's result.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

enum op {
  OP_RESERVE_SUBMIT = 0,   // reserve_dynptr, fill, submit (flags)
  OP_RESERVE_DISCARD = 1,  // reserve_dynptr, discard (flags)
  OP_OUTPUT = 2,           // bpf_ringbuf_output (flags)
  OP_QUERY = 3,            // bpf_ringbuf_query (flags)
};

struct step {
  __u32 op;
  __u32 size;
  __u64 flags;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16384);
} rb SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct step);
} step SEC(".maps");

// 8 KiB of payload source: byte i is (i * 7 + 3) & 0xff, filled by user
// space.
struct payload {
  __u8 bytes[8192];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct payload);
} source SEC(".maps");

SEC("xdp")
long run_step(struct xdp_md *ctx) {
  __u32 zero = 0;
  struct step *s = bpf_map_lookup_elem(&step, &zero);
  struct payload *src = bpf_map_lookup_elem(&source, &zero);
  if (!s || !src) return -1;
  __u32 size = s->size;
  __u64 flags = s->flags;
  struct bpf_dynptr d;
  long err;
  switch (s->op) {
    case OP_RESERVE_SUBMIT:
      err = bpf_ringbuf_reserve_dynptr(&rb, size, 0, &d);
      if (err == 0 && size <= 8192) {
        err = bpf_dynptr_write(&d, 0, src->bytes, size & 8191, 0);
        if (size == 8192) err = 0;
      }
      bpf_ringbuf_submit_dynptr(&d, flags);
      return err;
    case OP_RESERVE_DISCARD:
      err = bpf_ringbuf_reserve_dynptr(&rb, size, 0, &d);
      bpf_ringbuf_discard_dynptr(&d, flags);
      return err;
    case OP_OUTPUT:
      if (size > 8192) return -7;
      return bpf_ringbuf_output(&rb, src->bytes, size & 8191, flags);
    case OP_QUERY:
      return (long)bpf_ringbuf_query(&rb, flags);
  }
  return -1;
}

char LICENSE[] SEC("license") = "GPL";
