// SPDX-License-Identifier: GPL-2.0
// Global variables (.bss, .data) read and written by an XDP program, for
// tests/exec/libbpf_globals.c: libbpf maps them with mmap().
#include <linux/bpf.h>
// After linux/bpf.h, whose types it uses.
#include <bpf/bpf_helpers.h>

__u64 seen;       // .bss: what the program read from `input`
__u64 input = 7;  // .data: written by the loader through its mapping
__u32 runs;       // .bss: incremented by each run

SEC("xdp")
int globals(struct xdp_md* ctx) {
  seen = input;
  runs += 1;
  return (int)(input & 0xff) + 1;
}

char LICENSE[] SEC("license") = "GPL";
