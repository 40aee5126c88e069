// SPDX-License-Identifier: Apache-2.0
#include "emu/kfunc_testing.h"

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>

#include "emu/btf_blobs.h"
#include "emu/kfunc.h"
#include "emu/prog.h"
#include "gtest/gtest.h"

namespace bpfemu::kfunctest {

std::unique_ptr<KernelBtf> FuncBtf(const std::vector<const char*>& names) {
  btftest::Blob b;
  b.Int("int", 4, 32);
  const uint32_t proto = b.Ref(BTF_KIND_FUNC_PROTO, 1);
  EXPECT_EQ(proto, 2u);
  for (const char* f : names) {
    b.Type(b.Str(f), btftest::Info(BTF_KIND_FUNC, 1), proto);
  }
  return KernelBtf::Parse(b.Build());
}

int Linker::Kfunc(int32_t imm, int16_t off, const interp::LoadAttr& attr,
                  interp::HelperFn* fn) {
  KfuncCall c;
  c.imm = imm;
  c.off = off;
  c.prog_type = attr.prog_type;
  c.gpl_compatible = attr.gpl_compatible;
  c.sleepable = attr.sleepable;
  c.has_fd_array = attr.has_fd_array;
  const bpfemu::Kfunc* k = nullptr;
  if (int err = ResolveKfuncCall(btf_, c, &k, attr.log); err != 0) return err;
  *fn = k->fn;
  return 0;
}

int Linker::MapHandle(int, uint64_t*) { return -EBADF; }

int Linker::MapValue(int, uint32_t, uint64_t*, uint64_t*, uint64_t*, bool*) {
  return -EBADF;
}

int32_t RunSyscallProg(const KernelBtf* btf,
                       const std::vector<interp::RawInsn>& p, bool* faulted) {
  Linker linker(btf);
  interp::LoadAttr attr;
  attr.prog_type = BPF_PROG_TYPE_SYSCALL;
  attr.sleepable = true;  // as the kernel requires of SYSCALL programs
  attr.insns = p.data();
  attr.insn_cnt = static_cast<uint32_t>(p.size());
  attr.gpl_compatible = true;
  std::shared_ptr<const interp::Program> prog;
  EXPECT_EQ(interp::Program::Load(attr, linker, &prog), 0);
  *faulted = true;
  if (prog == nullptr) return -1;
  Prog desc;
  desc.type = BPF_PROG_TYPE_SYSCALL;
  desc.code = prog;
  uint64_t ctx[4] = {};
  const uint64_t r = ProgRun(desc, ctx);
  *faulted = ProgFaulted();
  return static_cast<int32_t>(r);
}

}  // namespace bpfemu::kfunctest
