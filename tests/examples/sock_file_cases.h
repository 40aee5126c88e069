// SPDX-License-Identifier: Apache-2.0
// The context of tests/examples/sock_file.bpf.c's SYSCALL program, shared
// by the BPF C and the C++ test (sock_file_compare_test.cc): the test
// names SF_NR addresses of its own memory; for each, the program answers
// bpf_find_vma's return and what its callback saw of the vma's file
// through bpf_sock_from_file.

#ifndef BPFEMU_TESTS_EXAMPLES_SOCK_FILE_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SOCK_FILE_CASES_H_

#include <linux/types.h>

#define SF_NR 4

struct sf_seen {
  __u64 has_file;   // vma->vm_file is not NULL
  __u64 is_socket;  // bpf_sock_from_file answered a socket
  __s64 type;       // its type
  __s64 state;      // its state
  __u64 file_back;  // its file is the vma's file
};

struct sf_ctx {
  __u64 addr[SF_NR];
  __s64 ret[SF_NR];
  struct sf_seen seen[SF_NR];
};

#endif  // BPFEMU_TESTS_EXAMPLES_SOCK_FILE_CASES_H_
