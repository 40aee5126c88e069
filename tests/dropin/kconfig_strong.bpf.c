// SPDX-License-Identifier: Apache-2.0
// A strong __kconfig extern that no Kconfig sets: the load fails (ESRCH).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

extern int CONFIG_BPFEMU_STRONG __kconfig;

SEC("xdp")
int strong(struct xdp_md *ctx) { return CONFIG_BPFEMU_STRONG ? XDP_PASS : 1; }

char LICENSE[] SEC("license") = "GPL";
