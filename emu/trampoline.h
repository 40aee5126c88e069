// SPDX-License-Identifier: Apache-2.0
// File: trampoline.h
//
// fentry, fexit and fmod_ret programs (BPF_PROG_TYPE_TRACING with
// BPF_TRACE_FENTRY, BPF_TRACE_FEXIT, BPF_MODIFY_RETURN) attached to the
// kernel functions that a TRACING test run calls, and that test run.
// Mirrors kernel/bpf/syscall.c (link_create, bpf_tracing_prog_attach,
// bpf_raw_tp_link_attach), kernel/bpf/trampoline.c
// (__bpf_trampoline_link_prog, the order programs run in),
// arch/x86/net/bpf_jit_comp.c arch_prepare_bpf_trampoline (the context:
// the arguments as u64, the return value after them, fmod_ret skipping
// the function on a non-zero return) and net/bpf/test_run.c
// (bpf_fentry_test1..10, bpf_modify_return_test/_test2 and
// bpf_prog_test_run_tracing, 6.18).
//
// The emulated kernel runs no other kernel code: a program attached to any
// other function of the kernel BTF attaches (a link, a cookie, the same
// EBUSY rules) but never runs (docs/semantics.md).

#ifndef BPFEMU_EMU_TRAMPOLINE_H_
#define BPFEMU_EMU_TRAMPOLINE_H_

#include <cstdint>

#include "emu/prog.h"

namespace bpfemu {

// Whether a TRACING program of `attach_type` runs from a trampoline
// (bpf_prog_has_trampoline): BPF_TRACE_FENTRY, _FEXIT, BPF_MODIFY_RETURN.
bool HasTrampoline(uint32_t attach_type);

// The trampoline frame a program attached to a function runs in: what the
// kernel's trampoline stores below the context (nr_args at ctx[-1], the
// function's address at ctx[-2]) and the link's cookie (bpf_trace_run_ctx).
struct TrampolineFrame {
  const uint64_t* ctx = nullptr;  // the arguments, then the return value
  uint64_t nr_args = 0;
  const char* func = "";  // the function's name (its address: kallsyms)
  uint64_t cookie = 0;
  uint32_t attach_type = 0;  // the running program's
};
// The frame of the program running on this thread, or nullptr outside a
// trampoline (a program run directly).
const TrampolineFrame* CurrentTrampolineFrame();

// The load-time check of a fentry/fexit/fmod_ret program (kernel/bpf/
// verifier.c check_attach_btf_id, bpf_check_attach_target): attach_btf_id
// must be a FUNC of the kernel BTF whose prototype has at most
// MAX_BPF_FUNC_ARGS parameters. 0 or -EINVAL.
int TracingProgCheck(uint32_t attach_type, uint32_t attach_btf_id);

// BPF_LINK_CREATE for a TRACING program of one of those attach types
// (link_create, bpf_tracing_prog_attach): -EINVAL for an attach type other
// than the program's, a target_fd or target_btf_id; -EBUSY while the
// program is attached; -E2BIG past BPF_MAX_TRAMP_LINKS (38) programs on
// one function. A new link fd (O_CLOEXEC), or -errno. Closing its last fd
// detaches the program.
int TracingLinkCreate(int prog_fd, uint32_t attach_type, uint32_t target_fd,
                      uint32_t target_btf_id, uint64_t cookie);
// BPF_RAW_TRACEPOINT_OPEN for those programs (bpf_raw_tp_link_attach): a
// name is -EINVAL; else as TracingLinkCreate with the program's type and
// cookie 0.
int TracingRawTpOpen(int prog_fd, const char* name);
// Whether `fd` is such a link of this process.
bool IsTracingLinkFd(int fd);
// Forgets the link fd (on close), detaching its program; false if none.
bool ForgetTracingLinkFd(int fd);

// bpf_prog_test_run_tracing() for `prog`: calls the test functions of its
// attach type, running the programs attached to them. 0 with *retval, or
// -EINVAL (flags, cpu, batch_size: checked by the caller) / -EFAULT (an
// attach type without test functions, or a function that answered other
// than the test expects).
int TracingTestRun(const Prog& prog, uint32_t* retval);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_TRAMPOLINE_H_
