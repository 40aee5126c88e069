// SPDX-License-Identifier: Apache-2.0
// The interpreter on its own (no maps, no kernel): instruction semantics the
// verifier's fixups define, frames of bpf-to-bpf calls, and the run-time
// checks that stop programs the kernel's verifier would have refused.
// Instruction-by-instruction equality with the kernel is
// kernel_compare/interp_compare_test.cc.

#include "emu/interp.h"

#include <linux/bpf.h>

#include <climits>
#include <cstdint>
#include <vector>

#include "emu/interp_asm.h"
#include "emu/prog.h"
#include "gtest/gtest.h"

namespace bpfemu::interp {
namespace {

namespace a = asm_;
using Insns = std::vector<RawInsn>;

// Helper 1 returns R1 + R2; nothing else exists.
uint64_t Sum(Vm&, uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t) {
  return r1 + r2;
}

class TestLinker : public Linker {
 public:
  HelperFn Helper(int32_t id, uint32_t, bool* gpl_only) override {
    *gpl_only = false;
    return id == 1 ? Sum : nullptr;
  }
  int MapHandle(int, uint64_t*) override { return -EBADF; }
  int MapValue(int, uint32_t, uint64_t*, uint64_t*, uint64_t*, bool*) override {
    return -EBADF;
  }
};

int Load(const Insns& p, std::shared_ptr<const Program>* out,
         uint32_t type = BPF_PROG_TYPE_RAW_TRACEPOINT) {
  TestLinker linker;
  LoadAttr attr;
  attr.prog_type = type;
  attr.insns = p.data();
  attr.insn_cnt = static_cast<uint32_t>(p.size());
  return Program::Load(attr, linker, out);
}

// Runs `p` as ProgRun() does (R0's low 32 bits); *faulted tells whether it
// was stopped.
uint64_t Exec(const Insns& p, bool* faulted = nullptr,
              uint32_t type = BPF_PROG_TYPE_RAW_TRACEPOINT) {
  std::shared_ptr<const Program> prog;
  EXPECT_EQ(Load(p, &prog, type), 0);
  if (prog == nullptr) return ~0ull;
  Prog desc;
  desc.type = type;
  desc.code = prog;
  uint64_t ctx[12] = {11, 22, 33};
  const uint64_t r = ProgRun(desc, ctx);
  if (faulted != nullptr) *faulted = ProgFaulted();
  return r;
}

Insns Ret(Insns body) {
  body.push_back(a::Exit());
  return body;
}

TEST(InterpTest, DivisionAndModuloByZeroFollowTheVerifiersFixups) {
  // 64-bit: x / 0 = 0, x % 0 = x.
  EXPECT_EQ(
      Exec(Ret({a::MovImm(0, 7), a::MovImm(1, 0), a::AluReg(BPF_DIV, 0, 1)})),
      0u);
  EXPECT_EQ(
      Exec(Ret({a::MovImm(0, 7), a::MovImm(1, 0), a::AluReg(BPF_MOD, 0, 1)})),
      7u);
  // Signed: INT_MIN / -1 does not trap, it negates (and wraps).
  EXPECT_EQ(Exec(Ret({a::MovImm(0, INT32_MIN), a::MovImm(1, -1),
                      a::AluReg(BPF_DIV, 0, 1, false, 1)})),
            0x80000000u);
  EXPECT_EQ(Exec(Ret({a::MovImm(0, -7), a::MovImm(1, -1),
                      a::AluReg(BPF_MOD, 0, 1, true, 1)})),
            0u);
  EXPECT_EQ(Exec(Ret({a::MovImm(0, -7), a::AluImm(BPF_MOD, 0, 2, true, 1)})),
            0xffffffffu);  // R0 as test_run reports it: 32 bits
}

TEST(InterpTest, Alu32ZeroExtendsAndShiftsMask) {
  EXPECT_EQ(Exec(Ret({a::MovImm(0, -1), a::AluImm(BPF_ADD, 0, 1, false)})), 0u);
  EXPECT_EQ(
      Exec(Ret({a::MovImm(0, 1), a::MovImm(1, 65), a::AluReg(BPF_LSH, 0, 1)})),
      2u);
  EXPECT_EQ(
      Exec(Ret({a::MovImm(0, INT32_MIN), a::AluImm(BPF_ARSH, 0, 4, false)})),
      0xf8000000u);
  // Sign-extending moves.
  EXPECT_EQ(Exec(Ret({a::MovImm(1, 0x80), a::AluReg(BPF_MOV, 0, 1, true, 8)})),
            0xffffff80u);
  EXPECT_EQ(
      Exec(Ret({a::MovImm(1, 0x8000), a::AluReg(BPF_MOV, 0, 1, false, 16)})),
      0xffff8000u);
}

TEST(InterpTest, ByteOrder) {
  Insns p;
  a::LdImm64(&p, 0, 0x0102030405060708ull);
  p.push_back(a::Endian(0, 16, /*to_be=*/true));
  EXPECT_EQ(Exec(Ret(p)), 0x0807u);
  p.back() = a::Endian(0, 32, false);
  EXPECT_EQ(Exec(Ret(p)), 0x05060708u);
  p.back() = a::Endian(0, 64, false, /*alu64 bswap=*/true);
  p.push_back(a::AluImm(BPF_RSH, 0, 32));  // the high half of the swap
  EXPECT_EQ(Exec(Ret(p)), 0x08070605u);
}

TEST(InterpTest, CallsGetTheirOwnFramesAndKeepCalleeSavedRegisters) {
  const Insns p = {
      a::MovImm(6, 100),
      a::St(BPF_DW, 10, -8, 5),
      a::MovImm(1, 3),
      a::CallLocal(3),
      a::Ldx(BPF_DW, 1, 10, -8),  // our slot survived the callee's store
      a::AluReg(BPF_ADD, 0, 1),
      a::Ja(4),
      // subprogram: r0 = r1 * 10 + its own stack slot; clobbers r6
      a::St(BPF_DW, 10, -8, 1000),
      a::Ldx(BPF_DW, 0, 10, -8),
      a::MovImm(6, 0),
      a::Exit(),
      a::AluReg(BPF_ADD, 0, 6),  // + r6, restored to 100
      a::Exit(),
  };
  EXPECT_EQ(Exec(p), 1000u + 5 + 100);
}

TEST(InterpTest, HelpersTakeR1ToR5) {
  EXPECT_EQ(Exec(Ret({a::MovImm(1, 40), a::MovImm(2, 2), a::Call(1)})), 42u);
}

TEST(InterpTest, ContextIsReadableButNotWritable) {
  EXPECT_EQ(Exec(Ret({a::Ldx(BPF_DW, 0, 1, 8)})), 22u);
  bool faulted = false;
  Exec(Ret({a::St(BPF_DW, 1, 0, 1), a::MovImm(0, 0)}), &faulted);
  EXPECT_TRUE(faulted);
  EXPECT_NE(LastFault().find("invalid memory write"), std::string::npos);
}

TEST(InterpTest, StrayMemoryAccessesStopTheProgram) {
  bool faulted = false;
  // Past the context, below the stack, an arbitrary address.
  Exec(Ret({a::Ldx(BPF_DW, 0, 1, 12 * 8)}), &faulted);
  EXPECT_TRUE(faulted);
  Exec(Ret({a::Ldx(BPF_DW, 0, 10, -8 * 512 - 8)}), &faulted);
  EXPECT_TRUE(faulted);
  Insns p;
  a::LdImm64(&p, 1, 0x1000);
  p.push_back(a::Ldx(BPF_B, 0, 1, 0));
  EXPECT_EQ(Exec(Ret(p), &faulted), 0u);
  EXPECT_TRUE(faulted);
  // A misaligned atomic.
  Exec(Ret({a::St(BPF_DW, 10, -16, 0), a::MovImm(1, 1),
            a::Atomic(BPF_W, 10, 1, -14, BPF_ADD), a::MovImm(0, 0)}),
       &faulted);
  EXPECT_TRUE(faulted);
}

TEST(InterpTest, EndlessLoopsAndRecursionAreStopped) {
  SetInstructionBudget(1000);
  bool faulted = false;
  Exec({a::MovImm(0, 0), a::Ja(-1), a::Exit()}, &faulted);
  EXPECT_TRUE(faulted);
  EXPECT_NE(LastFault().find("budget"), std::string::npos);
  // A subprogram calling itself: the 9th frame is refused.
  Exec({a::CallLocal(1), a::Exit(), a::CallLocal(-1), a::Exit()}, &faulted);
  EXPECT_TRUE(faulted);
  SetInstructionBudget(uint64_t{1} << 28);
}

TEST(InterpTest, LoadChecks) {
  std::shared_ptr<const Program> prog;
  EXPECT_EQ(Load({}, &prog), -E2BIG);
  EXPECT_EQ(Load({a::MovImm(0, 0)}, &prog), -EINVAL);  // no exit
  EXPECT_EQ(Load(Ret({a::Call(2)}), &prog), -EINVAL);  // unknown helper
  EXPECT_EQ(Load(Ret({a::MovImm(10, 0)}), &prog), -EACCES);
  Insns p;
  a::LdMapFd(&p, 1, 3);
  EXPECT_EQ(Load(Ret(p), &prog), -EBADF);  // the linker's answer
  // LD_ABS only for socket-buffer programs.
  EXPECT_EQ(Load(Ret({a::Insn(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 0)}), &prog,
                 BPF_PROG_TYPE_XDP),
            -EINVAL);
}

}  // namespace
}  // namespace bpfemu::interp
