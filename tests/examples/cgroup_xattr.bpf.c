// SPDX-License-Identifier: GPL-2.0
// Example: a cgroup's "user.*" extended attribute read into a dynptr
// (fs/bpf_fs_kfuncs.c bpf_cgroup_read_xattr, 6.17), from a tc program.
// `cfg` holds the input: cfg[0] a cgroup id, cfg[1] which name (0
// "user.kfx", 1 "user.nope", 2 "trusted.kfx"), cfg[2] the dynptr's size
// (3, or 16). The kfunc's answer and the bytes it wrote go to `out`.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

/* Opaque: the kfuncs' prototypes must name a struct (libbpf refuses a
 * forward declaration against the kernel's struct cgroup). */
struct cgroup {
  __u64 __opaque;
};

extern struct cgroup *bpf_cgroup_from_id(__u64 cgid) __ksym;
extern void bpf_cgroup_release(struct cgroup *cgrp) __ksym;
extern int bpf_cgroup_read_xattr(struct cgroup *cgroup, const char *name__str,
                                 struct bpf_dynptr *value_p) __ksym;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __s64);
} cfg SEC(".maps");

struct result {
  __s64 ret;
  char buf[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct result);
} out SEC(".maps");

static __s64 cfg_at(__u32 i) {
  __s64 *v = bpf_map_lookup_elem(&cfg, &i);
  return v ? *v : 0;
}

SEC("tc")
int read_xattr(struct __sk_buff *skb) {
  static const char kfx[] = "user.kfx";
  static const char nope[] = "user.nope";
  static const char trusted[] = "trusted.kfx";
  __u32 zero = 0;
  struct result *r = bpf_map_lookup_elem(&out, &zero);
  if (!r) return -101;
  struct cgroup *cg = bpf_cgroup_from_id(cfg_at(0));
  if (!cg) return -100;
  struct bpf_dynptr d;
  if (cfg_at(2) == 3)
    bpf_dynptr_from_mem(r->buf, 3, 0, &d);
  else
    bpf_dynptr_from_mem(r->buf, sizeof(r->buf), 0, &d);
  __s64 sel = cfg_at(1);
  if (sel == 0)
    r->ret = bpf_cgroup_read_xattr(cg, kfx, &d);
  else if (sel == 1)
    r->ret = bpf_cgroup_read_xattr(cg, nope, &d);
  else
    r->ret = bpf_cgroup_read_xattr(cg, trusted, &d);
  bpf_cgroup_release(cg);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
