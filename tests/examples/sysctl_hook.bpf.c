// SPDX-License-Identifier: GPL-2.0
// Two cgroup/sysctl programs attached to one cgroup (BPF_F_ALLOW_MULTI),
// run by a sysctl access of a process in it (issue 24): each records what
// the sysctl helpers answer (the name in full, by base name and truncated;
// the current value; the new value; setting one, too long included), the
// context (write, file_pos) and the run context's retval before and after
// it acts, then does what its slot of `cfg` says: set the retval, set
// file_pos, set a new value, and return allow (1) or deny (0). A later
// access of the same process is recorded in slot 2 (its current value
// only: what the first access left in the sysctl).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "sysctl_hook_cases.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct sysctl_cfg);
} cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, struct sysctl_seen);
} seen SEC(".maps");

struct big_value {
  char bytes[4096];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct big_value);
} big SEC(".maps");

static __always_inline int probe(struct bpf_sysctl* ctx, __u32 slot) {
  const __u32 later = 2, zero = 0;
  struct sysctl_cfg* c = bpf_map_lookup_elem(&cfg, &slot);
  struct sysctl_seen* s = bpf_map_lookup_elem(&seen, &slot);
  if (!c || !s) return 1;
  if (s->hits++ != 0) {
    // A later access: slot 0 records the sysctl's value then.
    struct sysctl_seen* l = bpf_map_lookup_elem(&seen, &later);
    if (slot == 0 && l) {
      l->hits++;
      l->cur_ret[0] = bpf_sysctl_get_current_value(ctx, l->cur, sizeof(l->cur));
    }
    return 1;
  }
  s->write = ctx->write;
  s->pos_before = ctx->file_pos;
  s->retval_before = bpf_get_retval();

  __builtin_memset(s->name_full, '*', sizeof(s->name_full));
  __builtin_memset(s->name_base, '*', sizeof(s->name_base));
  __builtin_memset(s->name_small, '*', sizeof(s->name_small));
  __builtin_memset(s->name_tiny, '*', sizeof(s->name_tiny));
  __builtin_memset(s->name_base_small, '*', sizeof(s->name_base_small));
  s->name_ret[0] =
      bpf_sysctl_get_name(ctx, s->name_full, sizeof(s->name_full), 0);
  s->name_ret[1] = bpf_sysctl_get_name(ctx, s->name_base, sizeof(s->name_base),
                                       BPF_F_SYSCTL_BASE_NAME);
  s->name_ret[2] =
      bpf_sysctl_get_name(ctx, s->name_small, sizeof(s->name_small), 2);
  s->name_ret[3] = bpf_sysctl_get_name(ctx, s->name_tiny, 3, 0);
  s->name_ret[4] = bpf_sysctl_get_name(ctx, s->name_base_small, 5,
                                       BPF_F_SYSCTL_BASE_NAME | 4);

  __builtin_memset(s->cur, '*', sizeof(s->cur));
  __builtin_memset(s->cur_small, '*', sizeof(s->cur_small));
  s->cur_ret[0] = bpf_sysctl_get_current_value(ctx, s->cur, sizeof(s->cur));
  s->cur_ret[1] = bpf_sysctl_get_current_value(ctx, s->cur_small, 4);

  __builtin_memset(s->new_value, '*', sizeof(s->new_value));
  __builtin_memset(s->new_small, '*', sizeof(s->new_small));
  s->new_ret[0] =
      bpf_sysctl_get_new_value(ctx, s->new_value, sizeof(s->new_value));
  s->new_ret[1] = bpf_sysctl_get_new_value(ctx, s->new_small, 3);

  if (c->action & SYSCTL_SET_BIG) {
    struct big_value* b = bpf_map_lookup_elem(&big, &zero);
    if (b) s->set_big_ret = bpf_sysctl_set_new_value(ctx, b->bytes, 4096);
  }
  if (c->action & SYSCTL_SET_NEW) {
    __u32 n = c->new_len;
    if (n < 1) n = 1;
    if (n > sizeof(c->new_value)) n = sizeof(c->new_value);
    s->set_ret = bpf_sysctl_set_new_value(ctx, c->new_value, n);
    __builtin_memset(s->new_after, '*', sizeof(s->new_after));
    s->new_ret[2] =
        bpf_sysctl_get_new_value(ctx, s->new_after, sizeof(s->new_after));
  }
  if (c->action & SYSCTL_SET_POS) ctx->file_pos = c->file_pos;
  s->pos_after = ctx->file_pos;
  if (c->action & SYSCTL_SET_RETVAL) {
    s->set_retval_ret = bpf_set_retval(c->retval);
  }
  s->retval_after = bpf_get_retval();
  return c->verdict ? 1 : 0;
}

SEC("cgroup/sysctl")
int sysctl_first(struct bpf_sysctl* ctx) { return probe(ctx, 0); }

SEC("cgroup/sysctl")
int sysctl_second(struct bpf_sysctl* ctx) { return probe(ctx, 1); }

char LICENSE[] SEC("license") = "GPL";
