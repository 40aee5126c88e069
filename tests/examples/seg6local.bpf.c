// SPDX-License-Identifier: GPL-2.0
// The segment routing helpers of an LWT_SEG6LOCAL program (issue 24):
// bpf_lwt_seg6_store_bytes, bpf_lwt_seg6_adjust_srh and
// bpf_lwt_seg6_action, called in the order and with the arguments the
// `cmd` map gives (seg6local_cases.h); each return value and skb->len
// after it go to `out`, and the program returns the verdict `cmd` names.
// Run by BPF_PROG_TEST_RUN (6.1; seg6local_compare_test.cc) and by
// bpfemu's End.BPF model (seg6local_test.cc).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "seg6local_cases.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct seg6_cmd);
} cmd SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct seg6_out);
} out SEC(".maps");

SEC("lwt_seg6local")
int seg6_steps(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct seg6_cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct seg6_out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return BPF_DROP;
#pragma unroll
  for (int i = 0; i < SEG6_STEPS; i++) {
    struct seg6_step *s = &c->steps[i];
    __u32 n = s->data_len;
    long r;
    if (s->op == SEG6_OP_NONE) break;
    if (s->op == SEG6_OP_ADJUST) {
      r = bpf_lwt_seg6_adjust_srh(skb, s->arg, s->len);
    } else if (n == 0 || n > SEG6_DATA_MAX) {
      r = SEG6_BAD_LEN;
    } else {
      // n again, in a form whose bounds the verifier keeps whatever
      // clang does with the checks above: [1, SEG6_DATA_MAX].
      __u32 m = ((n - 1) & (SEG6_DATA_MAX - 1)) + 1;
      if (s->op == SEG6_OP_STORE) {
        r = bpf_lwt_seg6_store_bytes(skb, s->arg, s->data, m);
      } else {
        r = bpf_lwt_seg6_action(skb, s->arg, s->data, m);
      }
    }
    o->ret[i] = r;
    o->len[i] = skb->len;
    o->steps = i + 1;
  }
  o->protocol = skb->protocol;
  o->head_ret = bpf_skb_load_bytes(skb, 0, o->head, SEG6_HEAD);
  return c->verdict;
}

char _license[] SEC("license") = "GPL";
