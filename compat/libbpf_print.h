// SPDX-License-Identifier: Apache-2.0
// File: libbpf_print.h
//
// libbpf's logging (tools/lib/bpf/libbpf.c libbpf_print, __base_pr): every
// message of the libbpf-compatible layer goes to the callback the program
// installed with libbpf_set_print(); the default prints warnings and info to
// stderr and drops debug messages, as libbpf 1.1 does.

#ifndef BPFEMU_COMPAT_LIBBPF_PRINT_H_
#define BPFEMU_COMPAT_LIBBPF_PRINT_H_

#include <bpf/libbpf.h>

namespace bpfemu::compat {

// Sends one message to the current print callback (none if it is NULL),
// keeping errno as it was.
void Print(enum libbpf_print_level level, const char* format, ...)
    __attribute__((format(printf, 2, 3)));

}  // namespace bpfemu::compat

#endif  // BPFEMU_COMPAT_LIBBPF_PRINT_H_
