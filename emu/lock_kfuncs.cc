// SPDX-License-Identifier: Apache-2.0
// File: lock_kfuncs.cc
//
// kernel/bpf/helpers.c bpf_preempt_disable / _enable, bpf_local_irq_save /
// _restore and kernel/bpf/rqspinlock.c bpf_res_spin_lock / _unlock (and
// the _irqsave / _irqrestore forms), with the verifier's pairing rules of
// kernel/bpf/verifier.c (check_kfunc_call, mark_stack_slot_irq_flag /
// unmark_stack_slot_irq_flag, process_spin_lock, check_resource_leak) as
// run-time checks (lock_kfuncs.h).

#include "emu/lock_kfuncs.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "emu/graph_obj.h"
#include "emu/version.h"

namespace bpfemu::lockk {

namespace {

// kernel/locking/rqspinlock.c rqspinlock_held_locks: the locks this thread
// holds, in the order taken (RES_NR_HELD entries at most are remembered).
constexpr size_t kMaxHeld = 31;
thread_local std::vector<uint32_t*> held;

void NoteHeld(uint32_t* lock) {
  if (held.size() < kMaxHeld) held.push_back(lock);
}

void ForgetHeld(uint32_t* lock) {
  for (size_t i = held.size(); i-- > 0;) {
    if (held[i] == lock) {
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
}

bool Holds(const uint32_t* lock) {
  for (const uint32_t* h : held) {
    if (h == lock) return true;
  }
  return false;
}

bool TryTake(uint32_t* lock) {
  uint32_t expected = 0;
  return __atomic_compare_exchange_n(lock, &expected, 1u, false,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

// What the verifier tracks for one run (kernel/bpf/verifier.c
// bpf_verifier_state: active_preempt_locks, the irq flag references in
// order, active_locks), kept per run of the interpreter.
enum class IrqKind : uint8_t { kLocal, kResLock };
struct IrqSlot {
  uint64_t addr;  // the flags word on the program's stack
  IrqKind kind;
};
struct RunState {
  const interp::Vm* vm = nullptr;
  int preempt = 0;
  std::vector<IrqSlot> irqs;
  std::vector<uint32_t*> locks;
};
// One entry per run in progress on this thread (a run may start another:
// BPF_PROG_TEST_RUN through bpf_sys_bpf).
thread_local std::vector<RunState> runs;

RunState& StateOf(const interp::Vm& vm) {
  for (RunState& s : runs) {
    if (s.vm == &vm) return s;
  }
  runs.push_back(RunState{});
  runs.back().vm = &vm;
  vm.MarkRunHooked();  // RunEnd then runs at the run's end
  return runs.back();
}

// Drops the state of `vm`'s run, releasing the locks it still holds.
void DropRun(const interp::Vm& vm) {
  for (size_t i = runs.size(); i-- > 0;) {
    if (runs[i].vm != &vm) continue;
    for (uint32_t* lock : runs[i].locks) ResUnlock(lock);
    runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
}

const RunState* FindRun(const interp::Vm& vm) {
  for (const RunState& r : runs) {
    if (r.vm == &vm) return &r;
  }
  return nullptr;
}

const char* RegionOf(const RunState& s) {
  if (!s.locks.empty()) return "bpf_spin_lock";
  if (!s.irqs.empty()) return "bpf_local_irq_save";
  if (s.preempt != 0) return "bpf_preempt_disable";
  return nullptr;
}

// check_resource_leak() at the main program's BPF_EXIT, in its order.
void RunEnd(interp::Vm& vm) {
  if (runs.empty()) return;
  const RunState* s = FindRun(vm);
  if (s == nullptr) return;
  const char* region = RegionOf(*s);
  const int preempt = s->preempt;
  DropRun(vm);
  // 6.12's process_bpf_exit counts the missing enables instead.
  if (region != nullptr && preempt != 0 &&
      TargetKernel() < KernelVersion::k6_18) {
    vm.Fault("%d bpf_preempt_enable%s missing", preempt,
             preempt == 1 ? " is" : "(s) are");
  }
  if (region != nullptr) {
    vm.Fault(
        "BPF_EXIT instruction in main prog cannot be used inside %s-ed "
        "region",
        region);
  }
}

void RunFault(const interp::Vm& vm) {
  if (!runs.empty()) DropRun(vm);
}

constexpr interp::RunHooks kHooks = {RunEnd, RunFault};
[[maybe_unused]] const bool kHooksSet = (interp::SetRunHooks(&kHooks), true);

void NeedFlags(interp::Vm& vm, uint64_t p, const char* name, int reg) {
  if (!vm.Writable(p, sizeof(uint64_t))) {
    vm.Fault("%s: R%d is not an 8-byte irq flag on the stack", name, reg);
  }
}

// process_spin_lock(): the lock lives in a map value or an allocated
// object (the verifier refuses a stack or context pointer).
void NeedLock(interp::Vm& vm, uint64_t p, const char* name) {
  if (!vm.Writable(p, sizeof(uint32_t)) || p % alignof(uint32_t) != 0 ||
      (!vm.InMapValue(p, sizeof(uint32_t)) &&
       !graph::InObject(p, sizeof(uint32_t)))) {
    vm.Fault("arg#0 doesn't point to map value or allocated object (%s)", name);
  }
}

// unmark_stack_slot_irq_flag(): the flag must be the newest one saved, by
// the same family of kfuncs.
void RestoreIrq(interp::Vm& vm, RunState& s, uint64_t flags, IrqKind kind,
                const char* name) {
  bool found = false;
  for (const IrqSlot& slot : s.irqs) found |= slot.addr == flags;
  if (!found) {
    vm.Fault("expected an initialized irq flag as arg#%d",
             kind == IrqKind::kLocal ? 0 : 1);
  }
  const IrqSlot top = s.irqs.back();
  if (top.addr != flags) {
    vm.Fault("cannot restore irq state out of order (%s)", name);
  }
  if (top.kind != kind) {
    vm.Fault(kind == IrqKind::kLocal
                 ? "irq flag acquired by bpf_res_spin_lock_irqsave kfuncs "
                   "cannot be restored with bpf_local_irq_restore"
                 : "irq flag acquired by bpf_local_irq_save cannot be "
                   "restored with bpf_res_spin_unlock_irqrestore");
  }
  s.irqs.pop_back();
}

// process_spin_lock() for an unlock: the lock must be one the run holds.
void UnlockHeld(interp::Vm& vm, RunState& s, uint64_t lock, const char* name) {
  auto* l = reinterpret_cast<uint32_t*>(lock);
  for (size_t i = s.locks.size(); i-- > 0;) {
    if (s.locks[i] == l) {
      s.locks.erase(s.locks.begin() + static_cast<std::ptrdiff_t>(i));
      ResUnlock(l);
      return;
    }
  }
  vm.Fault("%s without taking a lock", name);
}

}  // namespace

int ResLock(uint32_t* lock) {
  if (TryTake(lock)) {
    NoteHeld(lock);
    return 0;
  }
  // The slow path: a lock this thread holds is an AA deadlock; another
  // holder is waited for until the timeout.
  if (Holds(lock)) return -EDEADLK;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::nanoseconds(kResLockTimeoutNs);
  while (!TryTake(lock)) {
    if (std::chrono::steady_clock::now() >= deadline) return -ETIMEDOUT;
    std::this_thread::yield();
  }
  NoteHeld(lock);
  return 0;
}

void ResUnlock(uint32_t* lock) {
  if (!Holds(lock)) return;
  ForgetHeld(lock);
  __atomic_store_n(lock, 0u, __ATOMIC_RELEASE);
}

const char* OpenRegion(const interp::Vm& vm) {
  if (runs.empty()) return nullptr;
  const RunState* s = FindRun(vm);
  return s != nullptr ? RegionOf(*s) : nullptr;
}

uint64_t IrqFlags() {
#if defined(__x86_64__)
  return __builtin_ia32_readeflags_u64();
#else
  return 0;
#endif
}

uint64_t InterpPreemptDisable(interp::Vm& vm, uint64_t, uint64_t, uint64_t,
                              uint64_t, uint64_t) {
  ++StateOf(vm).preempt;
  return 0;
}

uint64_t InterpPreemptEnable(interp::Vm& vm, uint64_t, uint64_t, uint64_t,
                             uint64_t, uint64_t) {
  RunState& s = StateOf(vm);
  if (s.preempt == 0) {
    vm.Fault(
        "unmatched attempt to enable preemption (kernel function "
        "bpf_preempt_enable)");
  }
  --s.preempt;
  return 0;
}

uint64_t InterpIrqSave(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  NeedFlags(vm, r1, "bpf_local_irq_save", 1);
  RunState& s = StateOf(vm);
  const uint64_t flags = IrqFlags();
  std::memcpy(reinterpret_cast<void*>(r1), &flags, sizeof(flags));
  s.irqs.push_back({r1, IrqKind::kLocal});
  return 0;
}

uint64_t InterpIrqRestore(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                          uint64_t, uint64_t) {
  NeedFlags(vm, r1, "bpf_local_irq_restore", 1);
  RestoreIrq(vm, StateOf(vm), r1, IrqKind::kLocal, "bpf_local_irq_restore");
  return 0;
}

uint64_t InterpResLock(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  NeedLock(vm, r1, "bpf_res_spin_lock");
  RunState& s = StateOf(vm);
  const int ret = ResLock(reinterpret_cast<uint32_t*>(r1));
  if (ret == 0) s.locks.push_back(reinterpret_cast<uint32_t*>(r1));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpResUnlock(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                         uint64_t, uint64_t) {
  NeedLock(vm, r1, "bpf_res_spin_unlock");
  UnlockHeld(vm, StateOf(vm), r1, "bpf_res_spin_unlock");
  return 0;
}

uint64_t InterpResLockIrqsave(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t, uint64_t, uint64_t) {
  NeedLock(vm, r1, "bpf_res_spin_lock_irqsave");
  NeedFlags(vm, r2, "bpf_res_spin_lock_irqsave", 2);
  RunState& s = StateOf(vm);
  const uint64_t flags = IrqFlags();
  std::memcpy(reinterpret_cast<void*>(r2), &flags, sizeof(flags));
  const int ret = ResLock(reinterpret_cast<uint32_t*>(r1));
  // On failure the kernel restores the interrupt state before returning.
  if (ret == 0) {
    s.locks.push_back(reinterpret_cast<uint32_t*>(r1));
    s.irqs.push_back({r2, IrqKind::kResLock});
  }
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpResUnlockIrqrestore(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                   uint64_t, uint64_t, uint64_t) {
  NeedLock(vm, r1, "bpf_res_spin_unlock_irqrestore");
  NeedFlags(vm, r2, "bpf_res_spin_unlock_irqrestore", 2);
  RunState& s = StateOf(vm);
  UnlockHeld(vm, s, r1, "bpf_res_spin_unlock_irqrestore");
  RestoreIrq(vm, s, r2, IrqKind::kResLock, "bpf_res_spin_unlock_irqrestore");
  return 0;
}

}  // namespace bpfemu::lockk
