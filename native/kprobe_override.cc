// SPDX-License-Identifier: Apache-2.0
// bpf_override_return and the kprobe it runs from (kprobe_override.h):
// kernel/trace/bpf_trace.c bpf_override_return and
// perf_event_attach_bpf_prog, arch/x86/lib/error-inject.c
// override_function_with_return, lib/error-inject.c
// within_error_injection_list.

#include "native/kprobe_override.h"

#include <asm/ptrace.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "bpfemu/native_abi.h"

namespace bpfemu::native {
namespace {

std::atomic<bool> override_built{false};

// The registers of the hit being run, and whether the program overrode
// the function (override_function_with_return moved ip to the return).
thread_local struct pt_regs* hit_regs = nullptr;
thread_local bool hit_overridden = false;

}  // namespace

void SetKprobeOverrideBuilt(bool built) { override_built = built; }
bool KprobeOverrideBuilt() { return override_built; }

bool ErrorInjectable(std::string_view function) {
  static constexpr std::string_view kList[] = {
      "should_failslab", "should_fail_alloc_page", "should_fail_bio",
      "__filemap_add_folio", "open_ctree"};
  for (std::string_view f : kList) {
    if (f == function) return true;
  }
  return false;
}

int KprobeOverrideAttach(bool overrides, std::string_view function,
                         uint64_t offset) {
  if (!overrides) return 0;
  // trace_kprobe_on_func_entry and trace_kprobe_error_injectable.
  if (offset != 0 || !ErrorInjectable(function)) return -EINVAL;
  return 0;
}

KprobeHitResult KprobeHit(const Prog& prog, absl::Span<const uint64_t> args,
                          absl::FunctionRef<uint64_t(const uint64_t*)> call) {
  struct pt_regs regs;
  std::memset(&regs, 0, sizeof(regs));
  uint64_t a[6] = {};
  for (size_t i = 0; i < args.size() && i < 6; ++i) a[i] = args[i];
  regs.rdi = a[0];
  regs.rsi = a[1];
  regs.rdx = a[2];
  regs.rcx = a[3];
  regs.r8 = a[4];
  regs.r9 = a[5];
  struct pt_regs* const outer_regs = hit_regs;
  const bool outer_overridden = hit_overridden;
  hit_regs = &regs;
  hit_overridden = false;
  KprobeHitResult r;
  r.prog_ret = ProgRun(prog, &regs);
  r.overridden = hit_overridden;
  hit_regs = outer_regs;
  hit_overridden = outer_overridden;
  r.ret = r.overridden ? regs.rax : call(a);
  return r;
}

}  // namespace bpfemu::native

// bpf_override_return(): regs_set_return_value(), then
// override_function_with_return(); always 0. On registers that are not a
// modelled hit's (a program run some other way), only the return value is
// set.
long bpfemu_override_return(void* regs, __u64 rc) {
  static_cast<struct pt_regs*>(regs)->rax = rc;
  if (regs == bpfemu::native::hit_regs) bpfemu::native::hit_overridden = true;
  return 0;
}
