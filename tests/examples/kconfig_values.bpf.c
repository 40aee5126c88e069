// SPDX-License-Identifier: GPL-2.0
// Example: `extern ... __kconfig` variables (issue 24) of each kind libbpf
// resolves, copied by `copy` into the `values` array so that a test reads
// what the loader gave them: the virtual LINUX_KERNEL_VERSION, a bool, a
// tristate, a char, ints of several sizes and signs, strings (one of them
// const, which a native build must still be able to fill), and a weak one
// that no Kconfig sets.
#include <linux/bpf.h>
#include <stdbool.h>

#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern char CONFIG_BPFEMU_CHAR __kconfig __weak;
extern int CONFIG_BPFEMU_INT __kconfig __weak;
extern unsigned short CONFIG_BPFEMU_U16 __kconfig __weak;
extern unsigned long long CONFIG_BPFEMU_U64 __kconfig __weak;
extern signed char CONFIG_BPFEMU_S8 __kconfig __weak;
extern const char CONFIG_BPFEMU_STR[8] __kconfig __weak;
extern int CONFIG_BPFEMU_NOT_SET __kconfig __weak;

struct kconfig_values {
  __u64 version, bpf, jit, chr, i, u16, u64, s8, not_set;
  char str[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct kconfig_values);
} values SEC(".maps");

SEC("xdp")
int copy(struct xdp_md *ctx) {
  __u32 zero = 0;
  struct kconfig_values *v = bpf_map_lookup_elem(&values, &zero);
  if (!v) return XDP_ABORTED;
  v->version = LINUX_KERNEL_VERSION;
  v->bpf = CONFIG_BPF;
  v->jit = CONFIG_BPF_JIT;
  v->chr = CONFIG_BPFEMU_CHAR;
  v->i = CONFIG_BPFEMU_INT;
  v->u16 = CONFIG_BPFEMU_U16;
  v->u64 = CONFIG_BPFEMU_U64;
  v->s8 = CONFIG_BPFEMU_S8;
  v->not_set = CONFIG_BPFEMU_NOT_SET;
  for (int i = 0; i < 8; i++) v->str[i] = CONFIG_BPFEMU_STR[i];
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
