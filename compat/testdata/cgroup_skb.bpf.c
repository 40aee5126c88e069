// SPDX-License-Identifier: Apache-2.0
// Two cgroup_skb egress programs that let every packet through, for
// bpf_program__attach_cgroup in compat/cgroup_attach_program.c; written out
// without bpf_helpers.h.
struct __sk_buff;

__attribute__((section("cgroup_skb/egress"), used)) int pass_one(
    struct __sk_buff* skb) {
  (void)skb;
  return 1;
}

__attribute__((section("cgroup_skb/egress"), used)) int pass_two(
    struct __sk_buff* skb) {
  (void)skb;
  return 1;
}

char LICENSE[] __attribute__((section("license"), used)) = "GPL";
