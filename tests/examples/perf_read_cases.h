// SPDX-License-Identifier: Apache-2.0
// The record of tests/examples/perf_read.bpf.c's program (its `res` map),
// shared
// by the BPF C and the C++ tests (perf_read_compare_test.cc,
// perf_read_test.cc): the test names PR_N flags, the program answers
// bpf_perf_event_read and bpf_perf_event_read_value for each, and once
// bpf_perf_event_read_value with a buffer of the wrong size.

#ifndef BPFEMU_TESTS_EXAMPLES_PERF_READ_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_PERF_READ_CASES_H_

#include <linux/types.h>

#define PR_N 12
#define PR_SLOTS 8

struct pr_value {
  __u64 counter;
  __u64 enabled;
  __u64 running;
};

struct pr_ctx {
  __u64 flags[PR_N];
  __s64 ret[PR_N];   // bpf_perf_event_read
  __s64 vret[PR_N];  // bpf_perf_event_read_value
  struct pr_value v[PR_N];
  __s64 short_ret;     // bpf_perf_event_read_value(flags[0], 16 bytes)
  __u8 short_buf[16];  // those 16 bytes, 0xaa before
};

#endif  // BPFEMU_TESTS_EXAMPLES_PERF_READ_CASES_H_
