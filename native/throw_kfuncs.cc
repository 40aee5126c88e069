// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c bpf_throw and __bpf_trap
// (emu/throw_kfuncs.h): a natively built program's `extern ... __ksym`
// declarations (weak) resolve to these definitions. bpf_throw ends the
// innermost running program with the cookie as its return value, as the
// verifier's default exception callback does; what the verifier refuses
// around it (a lock or region held, a callback subprogram) is not checked
// natively, as for bpf_spin_lock (docs/semantics.md), and a native object
// has no "exception_callback:" decl tag to follow. __bpf_trap stops the run
// as a fault does.

#include <cstdint>

#include "emu/throw_kfuncs.h"

extern "C" {

void bpf_throw(uint64_t cookie) { bpfemu::throwk::Throw(cookie); }

void __bpf_trap(void) { bpfemu::throwk::Trap(); }

}  // extern "C"
