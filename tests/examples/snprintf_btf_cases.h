// SPDX-License-Identifier: Apache-2.0
// The context of tests/examples/snprintf_btf.bpf.c's SYSCALL program,
// shared by the BPF C and the C++ test (snprintf_btf_compare_test.cc): a
// kernel BTF type id, the bytes of a value of that type, the flags, the
// output size; the program answers bpf_snprintf_btf's return and text.

#ifndef BPFEMU_TESTS_EXAMPLES_SNPRINTF_BTF_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SNPRINTF_BTF_CASES_H_

#include <linux/types.h>

#define SB_DATA 512
#define SB_OUT 2048

struct sb_ctx {
  __u32 type_id;
  __u32 str_size;  // 1..SB_OUT
  __u64 flags;
  __u32 null_ptr;      // show NULL instead of `data`
  __u32 btf_ptr_size;  // 16, or 8 for the refusal
  __s64 ret;
  __u8 data[SB_DATA];
  char out[SB_OUT];  // the `buf` map's value, read back by the test
};

#endif  // BPFEMU_TESTS_EXAMPLES_SNPRINTF_BTF_CASES_H_
