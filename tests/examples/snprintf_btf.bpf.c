// SPDX-License-Identifier: GPL-2.0
// bpf_snprintf_btf from a SYSCALL program (issue 24): the test names a
// kernel BTF type (its id in the running kernel's BTF, which bpfemu's
// kernel BTF shares), the value's bytes, the flags and the output size in
// the context (snprintf_btf_cases.h); the program shows the value into the
// `buf` map's value (the helper writes no context), which the test reads,
// and returns the helper's answer in the context.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "snprintf_btf_cases.h"

struct text {
  char out[SB_OUT];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct text);
} buf SEC(".maps");

SEC("syscall")
int show(struct sb_ctx *c) {
  __u32 zero = 0;
  struct text *t = bpf_map_lookup_elem(&buf, &zero);
  if (!t) return 1;
  struct btf_ptr p = {};
  p.ptr = c->null_ptr ? 0 : c->data;
  p.type_id = c->type_id;
  __u32 n = c->str_size;
  if (n < 1 || n > SB_OUT) n = SB_OUT;
  __u32 psize = c->btf_ptr_size == 8 ? 8 : sizeof(p);
  c->ret = bpf_snprintf_btf(t->out, n, &p, psize, c->flags);
  return 0;
}

char _license[] SEC("license") = "GPL";
