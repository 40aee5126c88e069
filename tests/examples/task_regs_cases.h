// SPDX-License-Identifier: Apache-2.0
// The context of tests/examples/task_regs.bpf.c's SYSCALL program, shared
// by the BPF C and the C++ tests (task_regs_compare_test.cc,
// task_regs_test.cc): x86-64's struct pt_regs as the program reads it
// (arch/x86/include/asm/ptrace.h: 21 registers, cs and ss read as the
// 64-bit csx / ssx of their unions), and the registers bpf_task_pt_regs
// gave for the current task and for the task `pid`.

#ifndef BPFEMU_TESTS_EXAMPLES_TASK_REGS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_TASK_REGS_CASES_H_

#include <linux/types.h>

struct tr_regs {
  __u64 r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di,
      orig_ax, ip, cs, flags, sp, ss;
};

struct tr_ctx {
  __s32 pid;    // the other task (bpf_task_from_pid)
  __s32 found;  // whether bpf_task_from_pid found it
  struct tr_regs cur;
  struct tr_regs other;
  __u64 same;  // a second call for the current task gave the same pointer
};

#endif  // BPFEMU_TESTS_EXAMPLES_TASK_REGS_CASES_H_
