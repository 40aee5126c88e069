// SPDX-License-Identifier: Apache-2.0
// The two sides task_work_compare_test and wq_compare_test drive alike:
// the syscall program `steps` of tests/examples/task_work.bpf.c and
// wq.bpf.c (elem_steps.h), its result array `res` (the steps' returns) and
// its element maps `arr` (which 0) and `h` (which 1), on the kernel and on
// bpfemu. Args is the program's context, Elem the maps' value.

#ifndef BPFEMU_TESTS_EXAMPLES_ELEM_STEPS_SIDE_H_
#define BPFEMU_TESTS_EXAMPLES_ELEM_STEPS_SIDE_H_

#include <cstdint>
#include <functional>

#include "emu/syscall.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"

namespace bpfemu::examples {

template <typename Args, typename Elem>
struct ElemStepsSide {
  // Runs `steps` on *a; true with the 8 returns in ret[] when the run and
  // the read of `res` succeed.
  std::function<bool(Args* a, int64_t* ret)> run;
  std::function<int(uint32_t which, uint32_t key, Elem*)> lookup;
  std::function<int(uint32_t which, uint32_t key, const Elem*)> update;
  std::function<int(uint32_t which, uint32_t key)> del;
};

inline constexpr const char* kElemStepsMaps[] = {"arr", "h"};

// The kernel's side: BPF_PROG_TEST_RUN of the loaded object's `steps` and
// the map commands through KernelBackend.
template <typename Args, typename Elem>
void SetKernelSide(const KernelObject* kernel, ElemStepsSide<Args, Elem>* s) {
  KernelBackend* k = &KernelBackend::Get();
  s->run = [kernel, k](Args* a, int64_t* ret) {
    const uint32_t zero = 0;
    const KernelObject::Result r =
        KernelObject::RunSyscall(kernel->ProgFd("steps"), a, sizeof(*a));
    return r.err == 0 && r.retval == 0 &&
           k->Lookup(kernel->MapFd("res"), &zero, ret, 0) == 0;
  };
  s->lookup = [kernel, k](uint32_t which, uint32_t key, Elem* e) {
    return k->Lookup(kernel->MapFd(kElemStepsMaps[which]), &key, e, 0);
  };
  s->update = [kernel, k](uint32_t which, uint32_t key, const Elem* e) {
    return k->Update(kernel->MapFd(kElemStepsMaps[which]), &key, e, 0);
  };
  s->del = [kernel, k](uint32_t which, uint32_t key) {
    return k->Delete(kernel->MapFd(kElemStepsMaps[which]), &key);
  };
}

// bpfemu's side: `prog` (the object's `steps`) run in place and the
// emulated map commands on the object's maps.
template <typename Args, typename Elem>
void SetEmuSide(const native::Object* o, const native::Program* prog,
                ElemStepsSide<Args, Elem>* s) {
  s->run = [o, prog](Args* a, int64_t* ret) {
    const uint32_t zero = 0;
    return prog->Run(a) == 0 && MapLookupElem(o->MapFd("res"), &zero, ret) == 0;
  };
  s->lookup = [o](uint32_t which, uint32_t key, Elem* e) {
    return MapLookupElem(o->MapFd(kElemStepsMaps[which]), &key, e);
  };
  s->update = [o](uint32_t which, uint32_t key, const Elem* e) {
    return MapUpdateElem(o->MapFd(kElemStepsMaps[which]), &key, e, 0);
  };
  s->del = [o](uint32_t which, uint32_t key) {
    return MapDeleteElem(o->MapFd(kElemStepsMaps[which]), &key);
  };
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_ELEM_STEPS_SIDE_H_
