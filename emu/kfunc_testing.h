// SPDX-License-Identifier: Apache-2.0
// Kfunc tests without a kernel: a hand-made BTF naming the kfuncs a test
// calls, the linker that resolves BPF_PSEUDO_KFUNC_CALL against it as the
// kernel's check_kfunc_call does against vmlinux BTF (emu/kfunc.h
// ResolveKfuncCall), and a test run of a syscall program. Header-only: it
// uses GoogleTest, and fuzz/fuzz_test.sh compiles every emu/*.cc but tests.
#ifndef BPFEMU_EMU_KFUNC_TESTING_H_
#define BPFEMU_EMU_KFUNC_TESTING_H_

#include <cstdint>
#include <memory>
#include <vector>

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>

#include "emu/btf_blobs.h"
#include "emu/interp.h"
#include "emu/kernel_btf.h"
#include "emu/kfunc.h"
#include "emu/prog.h"
#include "gtest/gtest.h"

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

// Loads `p` as a program of `prog_type` linked against `btf` (the load
// must succeed; a SYSCALL program is sleepable, as the kernel requires)
// and runs it on a zeroed 256-byte context: its 32-bit return value, and
// in *faulted whether the run stopped.
int32_t RunProg(const KernelBtf* btf, uint32_t prog_type,
                const std::vector<interp::RawInsn>& p, bool* faulted);

// RunProg of a sleepable BPF_PROG_TYPE_SYSCALL program.
int32_t RunSyscallProg(const KernelBtf* btf,
                       const std::vector<interp::RawInsn>& p, bool* faulted);

// Definitions.

inline std::unique_ptr<KernelBtf> FuncBtf(
    const std::vector<const char*>& names) {
  btftest::Blob b;
  b.Int("int", 4, 32);
  const uint32_t proto = b.Ref(BTF_KIND_FUNC_PROTO, 1);
  EXPECT_EQ(proto, 2u);
  for (const char* f : names) {
    b.Type(b.Str(f), btftest::Info(BTF_KIND_FUNC, 1), proto);
  }
  return KernelBtf::Parse(b.Build());
}

inline int Linker::Kfunc(int32_t imm, int16_t off, const interp::LoadAttr& attr,
                         interp::HelperFn* fn) {
  KfuncCall c;
  c.imm = imm;
  c.off = off;
  c.prog_type = attr.prog_type;
  c.gpl_compatible = attr.gpl_compatible;
  c.sleepable = attr.sleepable;
  c.has_fd_array = attr.has_fd_array;
  c.arg_regs = attr.kfunc_arg_regs;
  const bpfemu::Kfunc* k = nullptr;
  if (int err = ResolveKfuncCall(btf_, c, &k, attr.log); err != 0) return err;
  *fn = k->fn;
  return 0;
}

inline int Linker::MapHandle(int, uint64_t*) { return -EBADF; }

inline int Linker::MapValue(int, uint32_t, uint64_t*, uint64_t*, uint64_t*,
                            bool*) {
  return -EBADF;
}

inline int32_t RunProg(const KernelBtf* btf, uint32_t prog_type,
                       const std::vector<interp::RawInsn>& p, bool* faulted) {
  Linker linker(btf);
  interp::LoadAttr attr;
  attr.prog_type = prog_type;
  attr.sleepable = prog_type == BPF_PROG_TYPE_SYSCALL;
  attr.insns = p.data();
  attr.insn_cnt = static_cast<uint32_t>(p.size());
  attr.gpl_compatible = true;
  std::shared_ptr<const interp::Program> prog;
  EXPECT_EQ(interp::Program::Load(attr, linker, &prog), 0);
  *faulted = true;
  if (prog == nullptr) return -1;
  Prog desc;
  desc.type = prog_type;
  desc.code = prog;
  alignas(8) uint8_t ctx[256] = {};
  const uint64_t r = ProgRun(desc, ctx);
  *faulted = ProgFaulted();
  return static_cast<int32_t>(r);
}

inline int32_t RunSyscallProg(const KernelBtf* btf,
                              const std::vector<interp::RawInsn>& p,
                              bool* faulted) {
  return RunProg(btf, BPF_PROG_TYPE_SYSCALL, p, faulted);
}

}  // namespace bpfemu::kfunctest

#endif  // BPFEMU_EMU_KFUNC_TESTING_H_
