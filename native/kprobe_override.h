// SPDX-License-Identifier: Apache-2.0
// File: kprobe_override.h
//
// bpf_override_return from a kprobe on an error-injectable function:
// kernel/trace/bpf_trace.c (bpf_override_return: the return value set in
// pt_regs, the function skipped; kprobe_prog_func_proto offers it only
// with CONFIG_BPF_KPROBE_OVERRIDE; perf_event_attach_bpf_prog refuses a
// program that calls it unless the kprobe is at the entry of a function on
// the error injection list), kernel/bpf/verifier.c (a call marks the
// program kprobe_override), lib/error-inject.c and the
// ALLOW_ERROR_INJECTION() marks, arch/x86/lib/error-inject.c
// (override_function_with_return: the probed function returns at once).
//
// No kernel bpfemu is compared with builds CONFIG_BPF_KPROBE_OVERRIDE (the
// 6.18 host, Debian's 6.1 and 6.12), so by default the helper is offered
// to no program type, as there; SetKprobeOverrideBuilt(true) models a
// kernel that has it. The kprobe is modelled as a call of a C++ function
// standing for the probed one (KprobeHit); checked against the kernel
// source only (tests/examples/kprobe_override_test.cc).

#ifndef BPFEMU_NATIVE_KPROBE_OVERRIDE_H_
#define BPFEMU_NATIVE_KPROBE_OVERRIDE_H_

#include <cstdint>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "emu/prog.h"

namespace bpfemu::native {

// Whether the modelled kernel has CONFIG_BPF_KPROBE_OVERRIDE (false unless
// set: no kernel bpfemu models has it).
void SetKprobeOverrideBuilt(bool built);
bool KprobeOverrideBuilt();

// The error injection list: a few functions the kernel marks with
// ALLOW_ERROR_INJECTION (mm/failslab.c should_failslab, ERRNO;
// mm/fail_page_alloc.c should_fail_alloc_page, TRUE; block/blk-core.c
// should_fail_bio, ERRNO; mm/filemap.c __filemap_add_folio, ERRNO;
// fs/btrfs/disk-io.c open_ctree, ERRNO).
bool ErrorInjectable(std::string_view function);

// perf_event_attach_bpf_prog()'s check for a program that calls
// bpf_override_return (`overrides`): a kprobe at offset 0 of an injectable
// function, else -EINVAL; 0 otherwise.
int KprobeOverrideAttach(bool overrides, std::string_view function,
                         uint64_t offset);

// One hit of the kprobe at `function`'s entry: its arguments in the
// registers of the x86-64 calling convention (struct pt_regs: di, si, dx,
// cx, r8, r9), the program run on them. When it called
// bpf_override_return, the function does not run and returns the value it
// set; otherwise `call` runs with the arguments.
struct KprobeHitResult {
  bool overridden = false;
  uint64_t ret = 0;       // what the caller of `function` gets
  uint32_t prog_ret = 0;  // the program's own return value
};
KprobeHitResult KprobeHit(const Prog& prog, absl::Span<const uint64_t> args,
                          absl::FunctionRef<uint64_t(const uint64_t*)> call);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_KPROBE_OVERRIDE_H_
