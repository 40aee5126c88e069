// SPDX-License-Identifier: Apache-2.0
// Kfunc tests without a kernel: a hand-made BTF naming the kfuncs a test
// calls, the linker that resolves BPF_PSEUDO_KFUNC_CALL against it as the
// kernel's check_kfunc_call does against vmlinux BTF (emu/kfunc.h
// ResolveKfuncCall), and a test run of a syscall program.
#ifndef BPFEMU_EMU_KFUNC_TESTING_H_
#define BPFEMU_EMU_KFUNC_TESTING_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "emu/interp.h"
#include "emu/kernel_btf.h"

namespace bpfemu::kfunctest {

// A BTF of `int` (id 1), one FUNC_PROTO returning it (id 2) and a FUNC per
// name, ids 3, 4, ... in the order given: a call's imm is 3 + its index.
std::unique_ptr<KernelBtf> FuncBtf(const std::vector<const char*>& names);

// Kfuncs from `btf` (the program's type, license, sleepable flag and
// fd_array go into the call as the kernel reads them); no helpers, no maps.
class Linker : public interp::Linker {
 public:
  explicit Linker(const KernelBtf* btf) : btf_(btf) {}
  interp::HelperFn Helper(int32_t, uint32_t, bool*) override { return nullptr; }
  int Kfunc(int32_t imm, int16_t off, const interp::LoadAttr& attr,
            interp::HelperFn* fn) override;
  int MapHandle(int, uint64_t*) override;
  int MapValue(int, uint32_t, uint64_t*, uint64_t*, uint64_t*, bool*) override;

 private:
  const KernelBtf* btf_;
};

// Loads `p` as a sleepable syscall program linked against `btf` (the load
// must succeed) and runs it on a zeroed 32-byte context: its 32-bit return
// value, and in *faulted whether the run stopped.
int32_t RunSyscallProg(const KernelBtf* btf,
                       const std::vector<interp::RawInsn>& p, bool* faulted);

}  // namespace bpfemu::kfunctest

#endif  // BPFEMU_EMU_KFUNC_TESTING_H_
