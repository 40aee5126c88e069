// SPDX-License-Identifier: GPL-2.0
// Example: a userspace-to-BPF command channel. Userspace submits commands
// into a BPF_MAP_TYPE_USER_RINGBUF (libbpf's user_ring_buffer__reserve /
// __submit); `apply` drains them with bpf_user_ringbuf_drain() and applies
// each to the `table` hash. The first packet byte picks the drain flags.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

// One command: 16 bytes. A shorter sample is malformed.
struct command {
  __u32 op;  // 1 set, 2 add, 3 delete, 4 stop draining, 5 set via data ptr
  __u32 key;
  __u64 value;
};

struct {
  __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
  __uint(max_entries, 4096);
} commands SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} table SEC(".maps");

// [0] the last drain's result, [1] commands applied, [2] malformed or
// unknown commands, [3] failed map updates/deletes, [4] drains run.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 5);
  __type(key, __u32);
  __type(value, __s64);
} stats SEC(".maps");

struct tally {
  __s64 applied;
  __s64 bad;
  __s64 failed;
};

static long apply_one(struct bpf_dynptr *dynptr, void *ctx) {
  struct tally *t = ctx;
  struct command c;
  if (bpf_dynptr_read(&c, sizeof(c), dynptr, 0, 0) != 0) {
    t->bad++;
    return 0;
  }
  long err = 0;
  if (c.op == 1) {
    err = bpf_map_update_elem(&table, &c.key, &c.value, BPF_ANY);
  } else if (c.op == 2) {
    __u64 *v = bpf_map_lookup_elem(&table, &c.key);
    if (v)
      __sync_fetch_and_add(v, c.value);
    else
      err = bpf_map_update_elem(&table, &c.key, &c.value, BPF_NOEXIST);
  } else if (c.op == 3) {
    err = bpf_map_delete_elem(&table, &c.key);
  } else if (c.op == 4) {
    t->applied++;
    return 1;
  } else if (c.op == 5) {
    __u64 *value = bpf_dynptr_data(dynptr, 8, 8);
    if (!value) {
      t->bad++;
      return 0;
    }
    __u64 copy = *value;
    err = bpf_map_update_elem(&table, &c.key, &copy, BPF_ANY);
  } else {
    t->bad++;
    return 0;
  }
  if (err)
    t->failed++;
  else
    t->applied++;
  return 0;
}

static void add_stat(__u32 slot, __s64 v, int set) {
  __s64 *s = bpf_map_lookup_elem(&stats, &slot);
  if (!s) return;
  if (set)
    *s = v;
  else
    *s += v;
}

SEC("xdp")
int apply(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u8 *first = data;
  if ((void *)(first + 1) > data_end) return XDP_ABORTED;
  __u64 flags = 0;
  if (*first == 1) flags = BPF_RB_NO_WAKEUP;
  if (*first == 2) flags = BPF_RB_FORCE_WAKEUP;
  if (*first == 3) flags = 4;  // not a drain flag: -EINVAL
  struct tally t = {};
  long ret = bpf_user_ringbuf_drain(&commands, apply_one, &t, flags);
  add_stat(0, ret, 1);
  add_stat(1, t.applied, 0);
  add_stat(2, t.bad, 0);
  add_stat(3, t.failed, 0);
  add_stat(4, 1, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
