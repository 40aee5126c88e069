// SPDX-License-Identifier: Apache-2.0
// A third file for the linker_c / linker_d pair: a .kconfig extern (a BTF
// DATASEC with no ELF section, which the static linker keeps as an
// ephemeral section) and another call of the strong pick(). libbpfemu's
// loader does not resolve __kconfig externs, so the linked result runs on
// the kernel only (linker_diff_test).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int pick(int x);

SEC("tc")
int prog_k(struct __sk_buff* skb) {
  return pick((int)(skb->len & 1)) + (LINUX_KERNEL_VERSION > 0 ? 1000 : 0);
}

char LICENSE[] SEC("license") = "GPL";
