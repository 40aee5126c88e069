// SPDX-License-Identifier: Apache-2.0
// net/bpf/test_run.c bpf_kfunc_call_test_release and
// bpf_kfunc_call_memb_release; bpf_modify_return_test_tp:
// emu/test_run_kfuncs.h.

#include "emu/test_run_kfuncs.h"

#include <cstring>

namespace bpfemu::testk {

const char* RefusalLine(const char* kfunc, uint64_t r1) {
  if (r1 == 0) return "Possibly NULL pointer passed to trusted arg0";
  if (std::strcmp(kfunc, "bpf_kfunc_call_test_release") == 0) {
    return "arg#0 pointer type STRUCT prog_test_ref_kfunc must point to "
           "scalar, or struct with scalar";
  }
  return "R1 must be referenced or trusted";
}

uint64_t InterpTestRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  vm.Fault("%s", RefusalLine("bpf_kfunc_call_test_release", r1));
}

uint64_t InterpMembRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  vm.Fault("%s", RefusalLine("bpf_kfunc_call_memb_release", r1));
}

int ModifyReturnTestTp(int nonce) {
  // trace_bpf_trigger_tp(nonce): no program runs on the tracepoint.
  return nonce;
}

uint64_t InterpModifyReturnTestTp(interp::Vm&, uint64_t r1, uint64_t, uint64_t,
                                  uint64_t, uint64_t) {
  // An int argument: its low 32 bits; an int answer, sign-extended.
  const int ret = ModifyReturnTestTp(static_cast<int>(r1));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

}  // namespace bpfemu::testk
