// SPDX-License-Identifier: Apache-2.0
// The command and answer of tests/examples/lwt_encap.bpf.c, shared by the
// BPF C and the C++ tests (lwt_encap_compare_test.cc, lwt_encap_test.cc):
// the test writes the encapsulation type, the header length and the header
// bytes to `cmd`; the program answers in `out`.

#ifndef BPFEMU_TESTS_EXAMPLES_LWT_ENCAP_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_LWT_ENCAP_CASES_H_

#include <linux/types.h>

#define LWT_ENCAP_HDR_MAX 272
// What the egress program answers for a header it does not pass on: one
// the kernel would push, which on a test run's route-less skb dereferences
// a NULL dst (lwt_encap.bpf.c).
#define LWT_ENCAP_NOT_CALLED 0x7fff

struct lwt_cmd {
  __u32 type;
  __u32 len;
  __u8 hdr[LWT_ENCAP_HDR_MAX];
};

struct lwt_out {
  __s64 ret;
  __u32 protocol;  // skb->protocol after the call
  __u32 hash;      // skb->hash after the call (bpf_get_hash_recalc before)
  __u32 len;       // skb->len after the call
  __u32 pad;
};

#endif  // BPFEMU_TESTS_EXAMPLES_LWT_ENCAP_CASES_H_
