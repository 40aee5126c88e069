// SPDX-License-Identifier: GPL-2.0
// Example (kfy48, issue 24): the key kfuncs (kernel/trace/bpf_trace.c
// bpf_lookup_user_key, bpf_lookup_system_key, bpf_key_put) from a sleepable
// syscall program. `lookups` makes up to 8 lookups, each of a user key
// (serial and flags) or a system keyring (id); res[i] is 0 when it found
// none, else 1 + 2 * has_ref (the key is put again at once).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

// kernel/trace/bpf_trace.c struct bpf_key.
struct bpf_key {
  void *key;
  _Bool has_ref;
} __attribute__((preserve_access_index));

extern struct bpf_key *bpf_lookup_user_key(__u32 serial, __u64 flags) __ksym;
extern struct bpf_key *bpf_lookup_system_key(__u64 id) __ksym;
extern void bpf_key_put(struct bpf_key *bkey) __ksym;

struct args {
  __u32 system[8];  // 1: a system keyring (id in `id`)
  __u32 serial[8];
  __u64 flags[8];
  __u64 id[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64[8]);
} res SEC(".maps");

#define STEP(I)                                                               \
  do {                                                                        \
    struct bpf_key *k = system[I] ? bpf_lookup_system_key(id[I])              \
                                  : bpf_lookup_user_key(serial[I], flags[I]); \
    r[I] = 0;                                                                 \
    if (k) {                                                                  \
      r[I] = 1 + 2 * (k->has_ref ? 1 : 0);                                    \
      bpf_key_put(k);                                                         \
    }                                                                         \
  } while (0)

SEC("syscall")
int lookups(struct args *a) {
  __u32 zero = 0;
  __s64 *r = bpf_map_lookup_elem(&res, &zero);
  if (!r) return 1;
  // The verifier takes the context only at constant offsets.
  __u32 system[8], serial[8];
  __u64 flags[8], id[8];
  __builtin_memcpy(system, a->system, sizeof(system));
  __builtin_memcpy(serial, a->serial, sizeof(serial));
  __builtin_memcpy(flags, a->flags, sizeof(flags));
  __builtin_memcpy(id, a->id, sizeof(id));
  STEP(0);
  STEP(1);
  STEP(2);
  STEP(3);
  STEP(4);
  STEP(5);
  STEP(6);
  STEP(7);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
