// SPDX-License-Identifier: Apache-2.0
// `extern ... __kconfig` variables of each kind libbpf resolves: the
// virtual LINUX_KERNEL_VERSION, a bool, a tristate, a char, ints of several
// sizes and signs, strings, and weak ones that no Kconfig sets.
// kconfig_program.c loads it with several Kconfig texts.
#include <linux/bpf.h>
#include <stdbool.h>

#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern char CONFIG_BPF_SYSCALL __kconfig __weak;
extern int CONFIG_HZ __kconfig __weak;
extern unsigned short CONFIG_NR_CPUS __kconfig __weak;
extern char CONFIG_DEFAULT_HOSTNAME[8] __kconfig __weak;
extern unsigned long long CONFIG_BPFEMU_U64 __kconfig __weak;
extern signed char CONFIG_BPFEMU_S8 __kconfig __weak;
extern char CONFIG_BPFEMU_STR[4] __kconfig __weak;
extern int CONFIG_BPFEMU_NOT_SET __kconfig __weak;

SEC("xdp")
int read_kconfig(struct xdp_md *ctx) {
  unsigned long long sum = LINUX_KERNEL_VERSION + CONFIG_BPF + CONFIG_BPF_JIT +
                           CONFIG_BPF_SYSCALL + CONFIG_HZ + CONFIG_NR_CPUS +
                           CONFIG_DEFAULT_HOSTNAME[0] + CONFIG_BPFEMU_U64 +
                           CONFIG_BPFEMU_S8 + CONFIG_BPFEMU_STR[0] +
                           CONFIG_BPFEMU_NOT_SET;
  return sum & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
