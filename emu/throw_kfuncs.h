// SPDX-License-Identifier: Apache-2.0
// File: throw_kfuncs.h
//
// BPF exceptions and the trap kfunc: kernel/bpf/helpers.c bpf_throw (6.7)
// and __bpf_trap (6.16), with what kernel/bpf/verifier.c proves about them
// at load (check_kfunc_call, check_max_stack_depth_subprog,
// check_resource_leak at an exception exit, do_misc_fixups'
// add_hidden_subprog), shared by the interpreter (emu/kfunc.cc's table) and
// the native face (native/throw_kfuncs.cc).
//
// bpf_throw(cookie) never returns: the kernel walks the stack to the frame
// of the innermost main program (a tail call's target, whose frame replaced
// its caller's) and calls the program's exception callback on it. The
// verifier gives a program without one (no "exception_callback:" decl tag)
// a hidden subprogram that returns R1, so the cookie becomes the program's
// return value; a test run's retval is its low 32 bits. A bytecode program
// loaded with BTF and func_info naming a callback (loader/exception_cb.h,
// interp::LoadAttr::exception_cb) gets the callback's return value
// instead: the callback runs with R1 = cookie once the throwing frames are
// given up, and a throw inside it stops the run as the verifier refuses
// one. Programs from a .bpf.o never have one: like libbpf 1.1.2, bpfemu's
// loader appends only the subprograms a program calls, and passes no
// func_info. Here the run ends
// through emu/prog.h TailCallReturn(), which lands in the ProgRun() of the
// innermost program: the whole run, or the frame a tail call from a
// subprogram replaced (prog.h TailCallInFrame). What the run wrote before
// the throw stays written.
//
// What the verifier refuses at load stops a bytecode run with its line
// (as emu/lock_kfuncs.h does), measured on 6.18: a throw with a
// bpf_spin_lock or a resilient lock held (any call but the lock and graph
// kfuncs is refused there), inside an irq-save or a preempt-disable region,
// and a throw from a callback subprogram (bpf_loop's,
// bpf_for_each_map_elem's, a timer's). The kernel's line for the last names
// the instruction and the subprogram; the interpreter's does not. A throw
// with a reference held ("Unreleased reference") is not detected: the run
// ends and the reference is dropped as at any other end of a run.
// __bpf_trap is what clang emits for unreachable code: the 6.18 verifier
// refuses any program that reaches it (EFAULT, "unexpected __bpf_trap() due
// to uninitialized variable?"); a run that reaches it stops with that line,
// natively too.

#ifndef BPFEMU_EMU_THROW_KFUNCS_H_
#define BPFEMU_EMU_THROW_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::throwk {

// The verifier's line for a program that reaches __bpf_trap.
inline constexpr const char* kTrapLine =
    "unexpected __bpf_trap() due to uninitialized variable?";

// The native face's bpf_throw: ends the innermost running program with the
// default exception callback's result, the cookie (emu/prog.h
// TailCallReturn). Outside a program run it aborts, as a fault would.
[[noreturn]] void Throw(uint64_t cookie);
// The native face's __bpf_trap: the run stops as a fault stops it
// (emu/prog.h ProgAbortRun; ProgFaulted() tells). The interpreter's stop
// gives kTrapLine as the reason.
[[noreturn]] void Trap();

// The interpreter's bindings.
uint64_t InterpThrow(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                     uint64_t);
uint64_t InterpTrap(interp::Vm& vm, uint64_t, uint64_t, uint64_t, uint64_t,
                    uint64_t);

}  // namespace bpfemu::throwk

#endif  // BPFEMU_EMU_THROW_KFUNCS_H_
