// SPDX-License-Identifier: Apache-2.0
// File: test_run_kfuncs.h
//
// The release kfuncs of net/bpf/test_run.c's bpf_prog_test_kfunc_set
// (SCHED_CLS, the tracing types and SYSCALL): bpf_kfunc_call_test_release
// and bpf_kfunc_call_memb_release, KF_RELEASE on a struct
// prog_test_ref_kfunc. Their acquiring counterparts live in the
// bpf_testmod module, which a kernel without it (the 6.18 host) lacks: the
// only pointer a program may pass is one taken from a __kptr field of that
// type, which nothing can have stored, so every call the verifier lets
// through is on a NULL-checked pointer that is NULL at run time. What the
// verifier refuses (measured on 6.18) stops a bytecode run with its line:
// NULL ("Possibly NULL pointer passed to trusted arg0", EACCES), any other
// pointer or scalar (test_release: "arg#0 pointer type STRUCT
// prog_test_ref_kfunc must point to scalar, or struct with scalar";
// memb_release: "R1 must be referenced or trusted"; EINVAL). Natively the
// run stops as a fault does.
//
// And kernel/bpf/helpers.c common_btf_ids' bpf_modify_return_test_tp
// (net/bpf/test_run.c; every program type, flags 0): it fires the
// bpf_trigger_tp tracepoint with its nonce and answers the nonce. bpfemu
// runs no program on that tracepoint (docs/semantics.md: a program
// attached to a kernel function or tracepoint never runs), so the answer
// is all a program sees, as on a kernel where nothing is attached there.

#ifndef BPFEMU_EMU_TEST_RUN_KFUNCS_H_
#define BPFEMU_EMU_TEST_RUN_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::testk {

// The verifier's line for a call of `kfunc` (bpf_kfunc_call_test_release
// or bpf_kfunc_call_memb_release) with R1 = `r1`.
const char* RefusalLine(const char* kfunc, uint64_t r1);

// bpf_modify_return_test_tp(nonce).
int ModifyReturnTestTp(int nonce);

uint64_t InterpTestRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t);
uint64_t InterpMembRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t);

uint64_t InterpModifyReturnTestTp(interp::Vm& vm, uint64_t r1, uint64_t,
                                  uint64_t, uint64_t, uint64_t);

}  // namespace bpfemu::testk

#endif  // BPFEMU_EMU_TEST_RUN_KFUNCS_H_
