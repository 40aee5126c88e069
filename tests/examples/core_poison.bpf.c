// SPDX-License-Identifier: GPL-2.0
// Example: a CO-RE relocation that cannot be resolved on a reachable path.
// libbpf poisons the instruction (a call of helper 0xbad2310) and the
// verifier refuses the load ("invalid func unknown#195896080", EINVAL);
// bpfemu's loader and interpreter must refuse it the same way
// (core_compare_test.cc, core_test.cc).
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

enum bpf_map_type___p {
  BPF_MAP_TYPE_NOPE___p = 7,
};

SEC("tc")
int poisoned(struct __sk_buff *ctx) {
  return bpf_core_enum_value(enum bpf_map_type___p, BPF_MAP_TYPE_NOPE___p);
}

char _license[] SEC("license") = "GPL";
