// SPDX-License-Identifier: Apache-2.0
// The context of tests/examples/tracing_misc.bpf.c's SYSCALL programs,
// shared by the BPF C and the C++ tests (tracing_misc_compare_test.cc,
// tracing_misc_test.cc). The test passes user addresses of its own memory
// in `addr`; the programs answer in `ret` and copy the bytes a helper
// left in their stack buffers to `buf` and `buf2`.

#ifndef BPFEMU_TESTS_EXAMPLES_TRACING_MISC_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_TRACING_MISC_CASES_H_

#include <linux/types.h>

#define MISC_NR_RET 8
#define MISC_KERNEL_ADDR 0xffff888000000000ULL

struct misc_ctx {
  // [0] a writable, touched buffer; [1] a read-only page; [2] 4 bytes
  // before a PROT_NONE page; [3] a writable page never touched.
  __u64 addr[4];
  __u64 sig;     // send_signal: the signal
  __u64 thread;  // send_signal: 1 for bpf_send_signal_thread
  __s64 ret[MISC_NR_RET];
  __u8 buf[64];
  __u8 buf2[16];
};

// find_vma.bpf.c's context: four addresses (the test's anonymous mapping,
// its read-only page, code of the test binary, its stack); per address the
// helper's return and what the callback read: vm_start, vm_end, vm_flags,
// vm_pgoff, whether vm_file is set, whether the task is the one passed.
#define VMA_NR 4
#define VMA_FIELDS 6
struct vma_ctx {
  __u64 addr[VMA_NR];
  __s64 ret[VMA_NR];
  __u64 info[VMA_NR][VMA_FIELDS];
};

#endif  // BPFEMU_TESTS_EXAMPLES_TRACING_MISC_CASES_H_
