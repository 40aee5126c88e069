// SPDX-License-Identifier: GPL-2.0
// Example: a per-process syscall counter. The first event of a process
// inserts its counter with BPF_NOEXIST (so a racing insert from another CPU
// is not overwritten); later events add to it atomically in place.
#include <linux/bpf.h>
#include <linux/errno.h>

#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

// Returns 0, or the failed insert's errno (E2BIG once 4 processes counted).
SEC("raw_tp/sys_enter")
int count_syscalls(struct bpf_raw_tracepoint_args *ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  __u64 *count = bpf_map_lookup_elem(&counts, &tgid);
  if (count) {
    __sync_fetch_and_add(count, 1);
    return 0;
  }
  __u64 one = 1;
  long err = bpf_map_update_elem(&counts, &tgid, &one, BPF_NOEXIST);
  if (err == -EEXIST) {
    count = bpf_map_lookup_elem(&counts, &tgid);
    if (count) __sync_fetch_and_add(count, 1);
    return 0;
  }
  return -err;
}

char LICENSE[] SEC("license") = "GPL";
