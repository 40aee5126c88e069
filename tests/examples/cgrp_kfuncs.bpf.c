// SPDX-License-Identifier: GPL-2.0
// Example: cgroup local storage reached from a cgroup id (issue 24;
// kernel/bpf/bpf_cgrp_storage.c bpf_cgrp_storage_get / _delete,
// kernel/bpf/helpers.c bpf_cgroup_from_id, bpf_cgroup_acquire,
// bpf_cgroup_release; the kernel's selftests cgrp_ls_*.c use them so).
//
// `cfg` holds the input: cfg[0] a cgroup id, cfg[1] the storage flags,
// cfg[2] an amount. cg_get adds the amount to the cgroup's element of `cgs`
// and returns the sum (-101: no element and none made); cg_del deletes the
// element (the helper's return value); cg_acquire takes and releases a
// second reference (1). All return -100 for an id that is no cgroup.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

/* Opaque: the kfuncs' prototypes must name a struct (libbpf refuses a
 * forward declaration against the kernel's struct cgroup). */
struct cgroup {
  __u64 __opaque;
};

extern struct cgroup *bpf_cgroup_from_id(__u64 cgid) __ksym;
extern struct cgroup *bpf_cgroup_acquire(struct cgroup *cgrp) __ksym;
extern void bpf_cgroup_release(struct cgroup *cgrp) __ksym;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __s64);
} cfg SEC(".maps");

struct {
  __uint(type, 32); /* BPF_MAP_TYPE_CGRP_STORAGE (6.2) */
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, __s64);
} cgs SEC(".maps");

static __s64 cfg_at(__u32 i) {
  __s64 *v = bpf_map_lookup_elem(&cfg, &i);
  return v ? *v : 0;
}

SEC("tc")
int cg_get(struct __sk_buff *skb) {
  struct cgroup *cg = bpf_cgroup_from_id(cfg_at(0));
  __s64 *v;
  int ret;
  if (!cg) return -100;
  v = bpf_cgrp_storage_get(&cgs, cg, 0, cfg_at(1));
  if (v) {
    *v += cfg_at(2);
    ret = *v;
  } else {
    ret = -101;
  }
  bpf_cgroup_release(cg);
  return ret;
}

SEC("tc")
int cg_del(struct __sk_buff *skb) {
  struct cgroup *cg = bpf_cgroup_from_id(cfg_at(0));
  int ret;
  if (!cg) return -100;
  ret = bpf_cgrp_storage_delete(&cgs, cg);
  bpf_cgroup_release(cg);
  return ret;
}

SEC("tc")
int cg_acquire(struct __sk_buff *skb) {
  struct cgroup *cg = bpf_cgroup_from_id(cfg_at(0));
  struct cgroup *a;
  int ret = 0;
  if (!cg) return -100;
  a = bpf_cgroup_acquire(cg);
  if (a) {
    ret = 1;
    bpf_cgroup_release(a);
  }
  bpf_cgroup_release(cg);
  return ret;
}

char LICENSE[] SEC("license") = "GPL";
