// SPDX-License-Identifier: Apache-2.0
// File: lock_kfuncs.h
//
// The preemption, interrupt and resilient-lock kfuncs of Linux 6.18:
// kernel/bpf/helpers.c bpf_preempt_disable / bpf_preempt_enable (6.10),
// bpf_local_irq_save / bpf_local_irq_restore (6.14), and
// kernel/bpf/rqspinlock.c bpf_res_spin_lock / bpf_res_spin_unlock /
// bpf_res_spin_lock_irqsave / bpf_res_spin_unlock_irqrestore (6.15),
// shared by the interpreter (the table in emu/kfunc.cc) and the native face
// (native/lock_kfuncs.cc).
//
// A userspace run has no preemption or interrupts to switch off: those
// kfuncs keep only what the verifier proves about them, and the interrupt
// flags word gets the process's flags register. The resilient lock is the
// 4-byte struct bpf_res_spin_lock in a map value or object (shared memory,
// so it works across threads and processes): taken with a compare-and-swap
// of 0 to 1 (the queued spinlock's locked byte), it answers -EDEADLK when
// this thread already holds it (rqspinlock's AA check over its table of
// held locks) and -ETIMEDOUT when another holder keeps it past 0.25 s
// (RES_DEF_TIMEOUT). bpfemu does not detect ABBA deadlocks across threads
// (they time out instead).
//
// The interpreter's bindings stop a run where the 6.18 verifier refuses the
// program at load (measured, tests/examples/lock_bad.bpf.c): an enable, a
// restore or an unlock without its opening call, interrupt flags restored
// out of order, and a run that ends inside a region
// ("BPF_EXIT instruction in main prog cannot be used inside ...").

#ifndef BPFEMU_EMU_LOCK_KFUNCS_H_
#define BPFEMU_EMU_LOCK_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::lockk {

// include/asm-generic/rqspinlock.h RES_DEF_TIMEOUT.
inline constexpr uint64_t kResLockTimeoutNs = 250'000'000;

// bpf_res_spin_lock: 0, -EDEADLK or -ETIMEDOUT.
int ResLock(uint32_t* lock);
// bpf_res_spin_unlock: releases a lock this thread holds (another lock is
// left alone).
void ResUnlock(uint32_t* lock);
// The region `vm`'s run is inside, in check_resource_leak()'s order:
// "bpf_spin_lock" (a resilient lock held), "bpf_local_irq_save",
// "bpf_preempt_disable", or nullptr (emu/throw_kfuncs.h: bpf_throw is
// refused inside one).
const char* OpenRegion(const interp::Vm& vm);

// The flags local_irq_save stores.
uint64_t IrqFlags();

// The interpreter's bindings.
uint64_t InterpPreemptDisable(interp::Vm& vm, uint64_t, uint64_t, uint64_t,
                              uint64_t, uint64_t);
uint64_t InterpPreemptEnable(interp::Vm& vm, uint64_t, uint64_t, uint64_t,
                             uint64_t, uint64_t);
uint64_t InterpIrqSave(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t);
uint64_t InterpIrqRestore(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                          uint64_t, uint64_t);
uint64_t InterpResLock(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t);
uint64_t InterpResUnlock(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                         uint64_t, uint64_t);
uint64_t InterpResLockIrqsave(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t, uint64_t, uint64_t);
uint64_t InterpResUnlockIrqrestore(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                   uint64_t, uint64_t, uint64_t);

}  // namespace bpfemu::lockk

#endif  // BPFEMU_EMU_LOCK_KFUNCS_H_
