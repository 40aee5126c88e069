// SPDX-License-Identifier: Apache-2.0
// File: cpumask.h
//
// The cpumask kfuncs (kernel/bpf/cpumask.c, over include/linux/cpumask.h
// and lib/bitmap.c), shared by the interpreter (emu/kfunc.cc's table) and
// the native face (native/cpumask_kfuncs.cc). A struct bpf_cpumask is, as
// the kernel's, a cpumask of NR_CPUS bits (HostNrCpus(), emu/cpu.h) at
// offset 0 followed by its reference count; nr_cpu_ids is the emulated
// possible-CPU count (NumPossibleCpus()). As the kernel built with NR_CPUS
// above 64 bits, the queries look at nr_cpu_ids bits, bpf_cpumask_clear and
// _copy at all NR_CPUS, and _setall / _or / _xor write whole words (bits
// past nr_cpu_ids in the last word are set or kept, and never read back).

#ifndef BPFEMU_EMU_CPUMASK_H_
#define BPFEMU_EMU_CPUMASK_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::cpumask {

// bpf_cpumask_create: a zeroed mask holding one reference (nullptr if
// memory runs out). _acquire takes one more, _release drops one and frees
// the mask with the last.
void* Create();
void* Acquire(void* m);
void Release(void* m);
// Whether `m` is a bpf_cpumask that Create() made and that is not freed
// (the interpreter's check of the verifier's trusted / RCU pointers).
bool IsLive(const void* m);
// The live masks (tests: what a run left allocated).
uint64_t LiveMasks();

uint32_t First(const void* m);
uint32_t FirstZero(const void* m);
uint32_t FirstAnd(const void* a, const void* b);
void SetCpu(uint32_t cpu, void* m);
void ClearCpu(uint32_t cpu, void* m);
bool TestCpu(uint32_t cpu, const void* m);
bool TestAndSetCpu(uint32_t cpu, void* m);
bool TestAndClearCpu(uint32_t cpu, void* m);
void SetAll(void* m);
void Clear(void* m);
bool And(void* dst, const void* a, const void* b);
void Or(void* dst, const void* a, const void* b);
void Xor(void* dst, const void* a, const void* b);
bool Equal(const void* a, const void* b);
bool Intersects(const void* a, const void* b);
bool Subset(const void* a, const void* b);
bool Empty(const void* m);
bool Full(const void* m);
void Copy(void* dst, const void* src);
// lib/cpumask.c cpumask_any_distribute / _and_distribute: the next set CPU
// after the one this emulated CPU picked last (per-CPU, starting at 0, so
// the first pick skips CPU 0), wrapping; nr_cpu_ids when none.
uint32_t AnyDistribute(const void* m);
uint32_t AnyAndDistribute(const void* a, const void* b);
uint32_t Weight(const void* m);
// bpf_cpumask_populate (6.16): -EACCES when `size` is less than the words
// nr_cpu_ids bits take, else those words copied from `src`.
int Populate(void* m, const void* src, uint64_t size);

// The interpreter's bindings: every mask argument must be a live
// bpf_cpumask (the verifier's trusted / RCU pointers; other struct cpumask
// pointers the kernel hands out, such as a task's cpus_ptr, are not
// modelled and stop the run).
#define BPFEMU_CPUMASK_BINDING(name)                                   \
  uint64_t name(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3, \
                uint64_t r4, uint64_t r5)
BPFEMU_CPUMASK_BINDING(InterpCreate);
BPFEMU_CPUMASK_BINDING(InterpAcquire);
BPFEMU_CPUMASK_BINDING(InterpRelease);
BPFEMU_CPUMASK_BINDING(InterpFirst);
BPFEMU_CPUMASK_BINDING(InterpFirstZero);
BPFEMU_CPUMASK_BINDING(InterpFirstAnd);
BPFEMU_CPUMASK_BINDING(InterpSetCpu);
BPFEMU_CPUMASK_BINDING(InterpClearCpu);
BPFEMU_CPUMASK_BINDING(InterpTestCpu);
BPFEMU_CPUMASK_BINDING(InterpTestAndSetCpu);
BPFEMU_CPUMASK_BINDING(InterpTestAndClearCpu);
BPFEMU_CPUMASK_BINDING(InterpSetAll);
BPFEMU_CPUMASK_BINDING(InterpClear);
BPFEMU_CPUMASK_BINDING(InterpAnd);
BPFEMU_CPUMASK_BINDING(InterpOr);
BPFEMU_CPUMASK_BINDING(InterpXor);
BPFEMU_CPUMASK_BINDING(InterpEqual);
BPFEMU_CPUMASK_BINDING(InterpIntersects);
BPFEMU_CPUMASK_BINDING(InterpSubset);
BPFEMU_CPUMASK_BINDING(InterpEmpty);
BPFEMU_CPUMASK_BINDING(InterpFull);
BPFEMU_CPUMASK_BINDING(InterpCopy);
BPFEMU_CPUMASK_BINDING(InterpAnyDistribute);
BPFEMU_CPUMASK_BINDING(InterpAnyAndDistribute);
BPFEMU_CPUMASK_BINDING(InterpWeight);
BPFEMU_CPUMASK_BINDING(InterpPopulate);
#undef BPFEMU_CPUMASK_BINDING

}  // namespace bpfemu::cpumask

#endif  // BPFEMU_EMU_CPUMASK_H_
