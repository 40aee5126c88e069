// SPDX-License-Identifier: GPL-2.0
// bpf_override_return from a kprobe on should_failslab (mm/failslab.c,
// ALLOW_ERROR_INJECTION ERRNO), as fault injection uses it: a hit whose
// gfp flags (the second argument) share a bit with `cfg.fail_mask` fails
// with -ENOMEM instead of running the function. No kernel bpfemu is
// compared with builds CONFIG_BPF_KPROBE_OVERRIDE: run on bpfemu's model
// (native/kprobe_override.h) by kprobe_override_test.cc.
#include <asm/ptrace.h>
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct ko_cfg {
  __u64 fail_mask;
};

struct ko_out {
  __u64 hits;
  __u64 overrides;
  __s64 last_ret;  // bpf_override_return's answer
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ko_cfg);
} cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ko_out);
} out SEC(".maps");

SEC("kprobe/should_failslab")
int fail_slab(struct pt_regs *ctx) {
  __u32 zero = 0;
  struct ko_cfg *c = bpf_map_lookup_elem(&cfg, &zero);
  struct ko_out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return 0;
  o->hits++;
  if (ctx->rsi & c->fail_mask) {
    o->last_ret = bpf_override_return(ctx, (unsigned long)-12 /* ENOMEM */);
    o->overrides++;
  }
  return 0;
}

char _license[] SEC("license") = "GPL";
