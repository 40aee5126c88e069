// SPDX-License-Identifier: Apache-2.0
// The native face of the preemption, interrupt and resilient-lock kfuncs
// (kernel/bpf/helpers.c bpf_preempt_disable / _enable, bpf_local_irq_save /
// _restore; kernel/bpf/rqspinlock.c bpf_res_spin_lock / _unlock,
// _irqsave / _irqrestore): a natively built program's `extern ... __ksym`
// declarations (weak) resolve to these definitions. The lock is
// emu/lock_kfuncs.h's, which the interpreter's bindings (emu/kfunc.cc)
// call too. What the verifier refuses (a region open at exit, an unlock of
// a lock not held) is not checked natively, as for bpf_spin_lock
// (docs/semantics.md); an unlock of a lock not held does nothing.

#include <cstdint>

#include "emu/lock_kfuncs.h"

namespace lockk = bpfemu::lockk;

extern "C" {

void bpf_preempt_disable(void) {}

void bpf_preempt_enable(void) {}

void bpf_local_irq_save(unsigned long* flags) { *flags = lockk::IrqFlags(); }

void bpf_local_irq_restore(unsigned long* flags) { (void)flags; }

int bpf_res_spin_lock(void* lock) {
  return lockk::ResLock(static_cast<uint32_t*>(lock));
}

void bpf_res_spin_unlock(void* lock) {
  lockk::ResUnlock(static_cast<uint32_t*>(lock));
}

int bpf_res_spin_lock_irqsave(void* lock, unsigned long* flags) {
  *flags = lockk::IrqFlags();
  return lockk::ResLock(static_cast<uint32_t*>(lock));
}

void bpf_res_spin_unlock_irqrestore(void* lock, unsigned long* flags) {
  (void)flags;
  lockk::ResUnlock(static_cast<uint32_t*>(lock));
}

}  // extern "C"
