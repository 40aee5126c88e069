// SPDX-License-Identifier: Apache-2.0
// bpf_throw and __bpf_trap (kernel/bpf/helpers.c; the verifier's rules in
// kernel/bpf/verifier.c check_kfunc_call, check_max_stack_depth_subprog
// and check_resource_leak): emu/throw_kfuncs.h.

#include "emu/throw_kfuncs.h"

#include <cstdint>
#include <cstring>

#include "emu/lock_kfuncs.h"
#include "emu/prog.h"

namespace bpfemu::throwk {

void Throw(uint64_t cookie) {
  // The hidden default callback returns R1: the program's R0 is the
  // cookie, and ProgRun() returns its low 32 bits.
  TailCallReturn(static_cast<uint32_t>(cookie));
}

void Trap() { ProgAbortRun(); }

uint64_t InterpThrow(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  // check_max_stack_depth_subprog: no bpf_throw in a callback subprogram
  // or anything it calls (the kernel names the instruction and the
  // subprogram; the interpreter knows neither at a kfunc call).
  if (vm.InCallback()) {
    vm.Fault("bpf_throw kfunc cannot be called from callback subprog");
  }
  // With a bpf_spin_lock or a resilient lock held the call itself is
  // refused (check_kfunc_call allows only the graph kfuncs and the lock
  // kfuncs there; measured on 6.18), before check_resource_leak(env,
  // exception_exit = true, ...) names the other regions.
  const char* region = lockk::OpenRegion(vm);
  if (vm.held_lock() != 0 ||
      (region != nullptr && std::strcmp(region, "bpf_spin_lock") == 0)) {
    vm.Fault("function calls are not allowed while holding a lock");
  }
  if (region != nullptr) {
    vm.Fault("bpf_throw cannot be used inside %s-ed region", region);
  }
  // The program's exception callback decides the return value; without
  // one the verifier's hidden callback returns the cookie.
  const uint64_t ret =
      vm.HasExceptionCallback() ? vm.CallExceptionCallback(r1) : r1;
  // Nothing is held: the unwinding only drops the run's bookkeeping.
  vm.Unwind();
  Throw(ret);
}

uint64_t InterpTrap(interp::Vm& vm, uint64_t, uint64_t, uint64_t, uint64_t,
                    uint64_t) {
  vm.Fault("%s", kTrapLine);
}

}  // namespace bpfemu::throwk
