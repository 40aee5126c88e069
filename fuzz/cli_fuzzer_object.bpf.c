// SPDX-License-Identifier: GPL-2.0
// The object cli_fuzzer.cc runs `prog run` and `btf dump file` on.
// Built into cli_fuzzer_object.h by:
//   clang -O2 -g -target bpf -c cli_fuzzer_object.bpf.c -o o.bpf.o
//   llvm-strip --strip-debug o.bpf.o   (keeps .BTF)
//   xxd -i o.bpf.o
#include <bpf/bpf_helpers.h>
#include <linux/bpf.h>
SEC("xdp")
int pass(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp")
int drop_short(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  unsigned char *p = data;
  if ((void *)(p + 20) > end) return XDP_DROP;
  p[0] ^= p[19];
  return XDP_TX;
}
SEC("socket")
int sock_len(struct __sk_buff *skb) { return skb->len + skb->mark; }
char _license[] SEC("license") = "GPL";
