// SPDX-License-Identifier: GPL-2.0
// An XDP program the kernel's verifier refuses (a packet read without a
// bounds check), which the emulator loads and whose run its interpreter
// stops: bpfemu compare must report the stopped run as a difference, even
// when both sides are the emulator.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

SEC("xdp")
int unchecked_read(struct xdp_md *ctx) {
  unsigned char *data = (unsigned char *)(long)ctx->data;
  return data[100000];
}

char LICENSE[] SEC("license") = "GPL";
