// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/cpumask.c's kfuncs (bpf_cpumask_create ...
// bpf_cpumask_populate): a natively built program's `extern ... __ksym`
// declarations (weak) resolve to these definitions. The work is
// emu/cpumask.h's, which the interpreter's bindings (emu/kfunc.cc) call
// too. What the interpreter stops a run for (a mask argument that is no
// live bpf_cpumask, which the verifier would refuse) is not checked here.

#include <linux/types.h>

#include "emu/cpumask.h"

namespace cm = bpfemu::cpumask;

extern "C" {

struct bpf_cpumask;
struct cpumask;

struct bpf_cpumask* bpf_cpumask_create(void) {
  return static_cast<struct bpf_cpumask*>(cm::Create());
}
struct bpf_cpumask* bpf_cpumask_acquire(struct bpf_cpumask* m) {
  return static_cast<struct bpf_cpumask*>(cm::Acquire(m));
}
void bpf_cpumask_release(struct bpf_cpumask* m) { cm::Release(m); }
__u32 bpf_cpumask_first(const struct cpumask* m) { return cm::First(m); }
__u32 bpf_cpumask_first_zero(const struct cpumask* m) {
  return cm::FirstZero(m);
}
__u32 bpf_cpumask_first_and(const struct cpumask* a, const struct cpumask* b) {
  return cm::FirstAnd(a, b);
}
void bpf_cpumask_set_cpu(__u32 cpu, struct bpf_cpumask* m) {
  cm::SetCpu(cpu, m);
}
void bpf_cpumask_clear_cpu(__u32 cpu, struct bpf_cpumask* m) {
  cm::ClearCpu(cpu, m);
}
bool bpf_cpumask_test_cpu(__u32 cpu, const struct cpumask* m) {
  return cm::TestCpu(cpu, m);
}
bool bpf_cpumask_test_and_set_cpu(__u32 cpu, struct bpf_cpumask* m) {
  return cm::TestAndSetCpu(cpu, m);
}
bool bpf_cpumask_test_and_clear_cpu(__u32 cpu, struct bpf_cpumask* m) {
  return cm::TestAndClearCpu(cpu, m);
}
void bpf_cpumask_setall(struct bpf_cpumask* m) { cm::SetAll(m); }
void bpf_cpumask_clear(struct bpf_cpumask* m) { cm::Clear(m); }
bool bpf_cpumask_and(struct bpf_cpumask* d, const struct cpumask* a,
                     const struct cpumask* b) {
  return cm::And(d, a, b);
}
void bpf_cpumask_or(struct bpf_cpumask* d, const struct cpumask* a,
                    const struct cpumask* b) {
  cm::Or(d, a, b);
}
void bpf_cpumask_xor(struct bpf_cpumask* d, const struct cpumask* a,
                     const struct cpumask* b) {
  cm::Xor(d, a, b);
}
bool bpf_cpumask_equal(const struct cpumask* a, const struct cpumask* b) {
  return cm::Equal(a, b);
}
bool bpf_cpumask_intersects(const struct cpumask* a, const struct cpumask* b) {
  return cm::Intersects(a, b);
}
bool bpf_cpumask_subset(const struct cpumask* a, const struct cpumask* b) {
  return cm::Subset(a, b);
}
bool bpf_cpumask_empty(const struct cpumask* m) { return cm::Empty(m); }
bool bpf_cpumask_full(const struct cpumask* m) { return cm::Full(m); }
void bpf_cpumask_copy(struct bpf_cpumask* d, const struct cpumask* s) {
  cm::Copy(d, s);
}
__u32 bpf_cpumask_any_distribute(const struct cpumask* m) {
  return cm::AnyDistribute(m);
}
__u32 bpf_cpumask_any_and_distribute(const struct cpumask* a,
                                     const struct cpumask* b) {
  return cm::AnyAndDistribute(a, b);
}
__u32 bpf_cpumask_weight(const struct cpumask* m) { return cm::Weight(m); }
int bpf_cpumask_populate(struct cpumask* m, void* src, __u64 size) {
  return cm::Populate(m, src, size);
}

}  // extern "C"
