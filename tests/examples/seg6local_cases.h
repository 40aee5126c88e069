// SPDX-License-Identifier: Apache-2.0
// The command and answer of tests/examples/seg6local.bpf.c, shared by the
// BPF C and the C++ tests (seg6local_compare_test.cc, seg6local_test.cc):
// the test writes up to SEG6_STEPS helper calls and the verdict to `cmd`;
// the program makes the calls in order and answers in `out`.

#ifndef BPFEMU_TESTS_EXAMPLES_SEG6LOCAL_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SEG6LOCAL_CASES_H_

#include <linux/types.h>

#define SEG6_STEPS 4
#define SEG6_DATA_MAX 64  // a power of two (seg6local.bpf.c masks with it)
// The bytes of the packet the program copies out after its calls.
#define SEG6_HEAD 96
// What a step with a data length outside [1, SEG6_DATA_MAX] answers (the
// program makes no call).
#define SEG6_BAD_LEN 0x7fff

enum {
  SEG6_OP_NONE = 0,    // the end of the steps
  SEG6_OP_STORE = 1,   // bpf_lwt_seg6_store_bytes(skb, arg, data, data_len)
  SEG6_OP_ADJUST = 2,  // bpf_lwt_seg6_adjust_srh(skb, arg, len)
  SEG6_OP_ACTION = 3,  // bpf_lwt_seg6_action(skb, arg, data, data_len)
};

struct seg6_step {
  __u32 op;
  __u32 arg;  // the offset, or the action
  __s32 len;  // adjust_srh's length change
  __u32 data_len;
  __u8 data[SEG6_DATA_MAX];
};

struct seg6_cmd {
  __u32 verdict;  // the program's return value
  __u32 pad;
  struct seg6_step steps[SEG6_STEPS];
};

struct seg6_out {
  __s64 ret[SEG6_STEPS];  // each call's return value
  __u32 len[SEG6_STEPS];  // skb->len after each call
  __u32 protocol;         // skb->protocol at the end
  __u32 steps;            // the calls made
  __s64 head_ret;         // bpf_skb_load_bytes of the packet's head
  __u8 head[SEG6_HEAD];   // the first SEG6_HEAD bytes after the calls
};

#endif  // BPFEMU_TESTS_EXAMPLES_SEG6LOCAL_CASES_H_
