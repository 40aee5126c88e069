// SPDX-License-Identifier: Apache-2.0
// The x86-64 JIT (emu/jit_x86.h) against the interpreter it must equal:
// random ALU / ALU32 / JMP / JMP32 / load / store / helper-call programs
// run both ways and must leave the same R0, the same context bytes and the
// same fault; wild pointers, the instruction budget and the fallback of
// instructions the emitter leaves to the interpreter. The interpreter's
// own unit tests also run with the JIT on (BUILD: interp_jit_test), and so
// does the kernel comparison (kernel_compare: interp_jit_compare_test).

#include "emu/jit_x86.h"

#include <linux/bpf.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/prog.h"
#include "gtest/gtest.h"

namespace bpfemu::interp {
namespace {

namespace a = asm_;
using Insns = std::vector<RawInsn>;

// Helper 1 returns R1 * 3 + R2 ^ R5.
uint64_t Mix(Vm&, uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t r5) {
  return (r1 * 3 + r2) ^ r5;
}

// Memory the helpers below hand out as map values do (Vm::AddRegion).
alignas(8) uint8_t values[2048];

// Helper 2 hands out values[R1, R1 + R2) as a region, writable if R3.
uint64_t HandOut(Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t,
                 uint64_t) {
  const auto addr = reinterpret_cast<uint64_t>(&values[r1 % 1024]);
  vm.AddRegion(addr, r2 % 1024, r3 != 0);
  return addr;
}
// Helper 3 reserves values[R1, R1 + R2) as a ring buffer record (a tagged
// region); helper 4 submits the record at R1 (Vm::RemoveRegion).
uint64_t Reserve(Vm& vm, uint64_t r1, uint64_t r2, uint64_t, uint64_t,
                 uint64_t) {
  const auto addr = reinterpret_cast<uint64_t>(&values[r1 % 1024]);
  vm.AddRegion(addr, r2 % 1024, true, /*tag=*/1);
  return addr;
}
uint64_t Submit(Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t) {
  vm.RemoveRegion(r1);
  return 0;
}

class TestLinker : public Linker {
 public:
  HelperFn Helper(int32_t id, uint32_t, bool* gpl_only) override {
    *gpl_only = false;
    static constexpr HelperFn kHelpers[] = {nullptr, Mix, HandOut, Reserve,
                                            Submit};
    return id > 0 && id < 5 ? kHelpers[id] : nullptr;
  }
  int MapHandle(int, uint64_t*) override { return -EBADF; }
  int MapValue(int, uint32_t, uint64_t*, uint64_t*, uint64_t*, bool*) override {
    return -EBADF;
  }
};

// Loads and stores of `n` bytes.
RawInsn Ldx(uint32_t n, uint8_t dst, uint8_t src, int16_t off,
            bool sx = false) {
  return a::Ldx(static_cast<uint8_t>(a::SizeCode(n)), dst, src, off, sx);
}
RawInsn Stx(uint32_t n, uint8_t dst, uint8_t src, int16_t off) {
  return a::Stx(static_cast<uint8_t>(a::SizeCode(n)), dst, src, off);
}
RawInsn St(uint32_t n, uint8_t dst, int16_t off, int32_t imm) {
  return a::St(static_cast<uint8_t>(a::SizeCode(n)), dst, off, imm);
}

// The context of a BPF_PROG_TYPE_SYSCALL program: readable and writable.
constexpr size_t kCtxSize = 65536;

struct Outcome {
  uint64_t r0 = 0;
  bool faulted = false;
  std::string fault;
  std::vector<uint8_t> ctx;
};

// Loads `p` with the JIT on or off and runs it as ProgRun() does on a copy
// of `ctx`.
Outcome RunOnce(const Insns& p, bool jit, const std::vector<uint8_t>& ctx,
                bool expect_jitted = true) {
  SetJit(jit);
  TestLinker linker;
  LoadAttr attr;
  attr.prog_type = BPF_PROG_TYPE_SYSCALL;
  attr.sleepable = true;  // as the kernel requires of SYSCALL programs
  attr.insns = p.data();
  attr.insn_cnt = static_cast<uint32_t>(p.size());
  // Random programs read registers nothing wrote, and R1-R5 after calls.
  attr.reads_unwritten_registers = true;
  std::shared_ptr<const Program> prog;
  const int err = Program::Load(attr, linker, &prog);
  SetJit(false);
  EXPECT_EQ(err, 0);
  Outcome o;
  if (err != 0) return o;
  EXPECT_EQ(prog->jitted(), jit && expect_jitted);
  Prog desc;
  desc.type = BPF_PROG_TYPE_SYSCALL;
  desc.code = prog;
  // One buffer for every run: a fault's message names the address.
  static std::vector<uint8_t>* const buf = new std::vector<uint8_t>(kCtxSize);
  std::memcpy(buf->data(), ctx.data(), kCtxSize);
  std::memset(values, 0, sizeof(values));
  SetJit(jit);
  o.r0 = ProgRun(desc, buf->data());
  SetJit(false);
  o.ctx = *buf;
  o.faulted = ProgFaulted();
  o.fault = LastFault();
  return o;
}

void ExpectSame(const Insns& p, const std::vector<uint8_t>& ctx,
                const std::string& what, bool expect_jitted = true) {
  const Outcome i = RunOnce(p, false, ctx);
  const Outcome j = RunOnce(p, true, ctx, expect_jitted);
  EXPECT_EQ(i.r0, j.r0) << what;
  EXPECT_EQ(i.faulted, j.faulted) << what;
  EXPECT_EQ(i.fault, j.fault) << what;
  EXPECT_TRUE(i.ctx == j.ctx) << what;
}

// Operands that find the edges: 0, +-1, the 8/16/32/64-bit limits.
uint64_t EdgeValue(std::mt19937_64& rng) {
  static constexpr uint64_t kEdges[] = {0,
                                        1,
                                        ~0ull,
                                        0x7f,
                                        0x80,
                                        0xff,
                                        0x7fff,
                                        0x8000,
                                        0xffff,
                                        0x7fffffff,
                                        0x80000000,
                                        0xffffffff,
                                        0x100000000ull,
                                        0x7fffffffffffffffull,
                                        0x8000000000000000ull};
  return rng() % 3 == 0 ? rng() : kEdges[rng() % std::size(kEdges)];
}

// R9 holds the context; R0-R8 take part. The stack's top 128 bytes are
// zeroed first, so loads never see another run's bytes.
Insns RandomProgram(std::mt19937_64& rng, int body) {
  Insns p;
  p.push_back(a::MovReg(9, 1));
  for (int s = 1; s <= 16; ++s) p.push_back(St(8, 10, -8 * s, 0));
  for (uint8_t r = 0; r <= 8; ++r) a::LdImm64(&p, r, EdgeValue(rng));
  const size_t body_start = p.size();
  const size_t body_end = body_start + static_cast<size_t>(body);
  static constexpr uint8_t kAlu[] = {BPF_ADD, BPF_SUB, BPF_MUL,  BPF_DIV,
                                     BPF_MOD, BPF_OR,  BPF_AND,  BPF_XOR,
                                     BPF_LSH, BPF_RSH, BPF_ARSH, BPF_MOV};
  static constexpr uint8_t kJmp[] = {BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,
                                     BPF_JLT,  BPF_JLE,  BPF_JSGT, BPF_JSGE,
                                     BPF_JSLT, BPF_JSLE, BPF_JSET};
  static constexpr uint32_t kSizes[] = {1, 2, 4, 8};
  auto reg = [&] { return static_cast<uint8_t>(rng() % 9); };
  while (p.size() < body_end) {
    const int kind = static_cast<int>(rng() % 100);
    const bool is64 = rng() % 2 == 0;
    const uint8_t dst = reg(), src = reg();
    if (kind < 45) {
      const uint8_t op = kAlu[rng() % std::size(kAlu)];
      const bool x = rng() % 2 == 0;
      int16_t off = 0;
      if ((op == BPF_DIV || op == BPF_MOD) && rng() % 2 == 0) off = 1;
      if (op == BPF_MOV && x && rng() % 3 == 0) {
        static constexpr int16_t kSx[] = {8, 16, 32};
        off = kSx[rng() % (is64 ? 3 : 2)];
      }
      if (x) {
        p.push_back(a::AluReg(op, dst, src, is64, off));
      } else {
        int32_t imm = static_cast<int32_t>(EdgeValue(rng));
        if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) {
          imm = static_cast<int32_t>(rng() % (is64 ? 64 : 32));
        }
        if ((op == BPF_DIV || op == BPF_MOD) && imm == 0) imm = -1;
        p.push_back(a::AluImm(op, dst, imm, is64, off));
      }
    } else if (kind < 50) {
      p.push_back(
          a::Insn((is64 ? BPF_ALU64 : BPF_ALU) | BPF_NEG, dst, 0, 0, 0));
    } else if (kind < 55) {
      static constexpr int32_t kBits[] = {16, 32, 64};
      const bool bswap64 = rng() % 3 == 0;
      p.push_back(
          a::Endian(dst, kBits[rng() % 3], rng() % 2 == 0, /*is64=*/bswap64));
    } else if (kind < 70) {
      // A forward jump that stays in the body (or lands on its end).
      const int16_t off = static_cast<int16_t>(
          rng() % std::min<size_t>(4, body_end - p.size()));
      const uint8_t op = kJmp[rng() % std::size(kJmp)];
      if (rng() % 2 == 0) {
        p.push_back(a::JmpReg(op, dst, src, off, is64));
      } else {
        p.push_back(a::JmpImm(op, dst, static_cast<int32_t>(EdgeValue(rng)),
                              off, is64));
      }
    } else if (kind < 85) {
      // The zeroed stack slots, any size and alignment.
      const uint32_t n = kSizes[rng() % 4];
      const int16_t off = static_cast<int16_t>(-1 - rng() % (128 - n + 1) -
                                               static_cast<int>(n) + 1);
      const int what = static_cast<int>(rng() % 3);
      if (what == 0) {
        p.push_back(Ldx(n, dst, 10, off, n < 8 && rng() % 3 == 0));
      } else if (what == 1) {
        p.push_back(Stx(n, 10, src, off));
      } else {
        p.push_back(St(n, 10, off, static_cast<int32_t>(EdgeValue(rng))));
      }
    } else if (kind < 90) {
      // Atomics on the stack's zeroed slots, now and then misaligned.
      static constexpr int32_t kAtomics[] = {
          BPF_ADD,     BPF_ADD | 1, BPF_OR,      BPF_OR | 1, BPF_AND,
          BPF_AND | 1, BPF_XOR,     BPF_XOR | 1, 0xe1,       0xf1};
      const uint32_t n = is64 ? 8 : 4;
      int16_t off = static_cast<int16_t>(-8 * (1 + rng() % 16));
      if (rng() % 40 == 0) off = static_cast<int16_t>(off + 2);
      p.push_back(a::Atomic(static_cast<uint8_t>(a::SizeCode(n)), 10, src, off,
                            kAtomics[rng() % std::size(kAtomics)]));
    } else if (kind < 95) {
      // The context (the checked slow path).
      const uint32_t n = kSizes[rng() % 4];
      const int16_t off = static_cast<int16_t>(rng() % 1024);
      const int what = static_cast<int>(rng() % 3);
      if (what == 0) {
        p.push_back(Ldx(n, dst, 9, off, n < 8 && rng() % 3 == 0));
      } else if (what == 1) {
        p.push_back(Stx(n, 9, src, off));
      } else {
        p.push_back(St(n, 9, off, static_cast<int32_t>(EdgeValue(rng))));
      }
    } else {
      p.push_back(a::Call(1));
    }
  }
  // Every register into the context, then exit.
  for (uint8_t r = 0; r <= 8; ++r) {
    p.push_back(Stx(8, 9, r, static_cast<int16_t>(2048 + 8 * r)));
  }
  p.push_back(a::Exit());
  return p;
}

std::vector<uint8_t> RandomCtx(std::mt19937_64& rng) {
  std::vector<uint8_t> ctx(kCtxSize);
  for (size_t i = 0; i < 4096; ++i) ctx[i] = static_cast<uint8_t>(rng());
  return ctx;
}

TEST(JitTest, RandomProgramsEqualTheInterpreter) {
  std::mt19937_64 rng(4242);
  for (int seed = 0; seed < 600; ++seed) {
    const Insns p = RandomProgram(rng, 20 + static_cast<int>(rng() % 80));
    ExpectSame(p, RandomCtx(rng), "program " + std::to_string(seed));
    if (HasFailure()) return;
  }
}

// Every register as every operand: the mapping's awkward pairs (rax/rdx for
// division, rcx for shifts) in both roles.
TEST(JitTest, EveryRegisterPairForDivisionAndShifts) {
  std::mt19937_64 rng(7);
  for (uint8_t dst = 0; dst <= 9; ++dst) {
    for (uint8_t src = 0; src <= 9; ++src) {
      for (uint8_t op : {BPF_DIV, BPF_MOD, BPF_LSH, BPF_RSH, BPF_ARSH}) {
        for (int16_t off : {0, 1}) {
          if (off == 1 && (op != BPF_DIV && op != BPF_MOD)) continue;
          for (bool is64 : {true, false}) {
            Insns p;
            p.push_back(a::MovReg(9, 1));
            for (uint8_t r = 0; r <= 8; ++r) a::LdImm64(&p, r, EdgeValue(rng));
            if (dst != 9 && src != 9) {
              p.push_back(a::AluReg(op, dst, src, is64, off));
            }
            for (uint8_t r = 0; r <= 8; ++r) {
              p.push_back(Stx(8, 9, r, static_cast<int16_t>(8 * r)));
            }
            p.push_back(a::Exit());
            ExpectSame(p, std::vector<uint8_t>(kCtxSize),
                       "op " + std::to_string(op) + " r" + std::to_string(dst) +
                           " r" + std::to_string(src));
          }
        }
      }
    }
  }
}

TEST(JitTest, WildPointersFaultAsInTheInterpreter) {
  const std::vector<uint8_t> ctx(kCtxSize);
  Insns load;
  a::LdImm64(&load, 1, 0xdead0000beefull);
  load.push_back(Ldx(8, 0, 1, 16));
  load.push_back(a::Exit());
  ExpectSame(load, ctx, "load");
  const Outcome o = RunOnce(load, true, ctx);
  EXPECT_TRUE(o.faulted);
  EXPECT_NE(o.fault.find("invalid memory read of 8 bytes"), std::string::npos)
      << o.fault;
  // Just past the stack's top, and a store below the context.
  ExpectSame({a::MovImm(0, 0), Ldx(4, 0, 10, 0), a::Exit()}, ctx,
             "above the stack");
  ExpectSame({a::MovImm(0, 1), St(4, 1, -4, 7), a::Exit()}, ctx,
             "below the context");
  // (OR 0 hides the context from the load checks, which refuse a moved
  // context pointer as the verifier does: the run-time check is tested.)
  ExpectSame({a::MovImm(0, 1), a::AluImm(BPF_OR, 1, 0),
              a::AluImm(BPF_ADD, 1, 65528), Stx(8, 1, 1, 0), a::Exit()},
             ctx, "past the context");
  // The lowest byte of the run's stack is fine, one below is not.
  ExpectSame(
      {a::MovImm(0, 1), St(1, 10, -4096, 9), Ldx(1, 0, 10, -4096), a::Exit()},
      ctx, "stack bottom");
  ExpectSame({St(1, 10, -4097, 9), a::MovImm(0, 1), a::Exit()}, ctx,
             "below the stack");
}

TEST(JitTest, EndlessLoopsStopOnTheBudget) {
  SetInstructionBudget(1000);
  const std::vector<uint8_t> ctx(kCtxSize);
  ExpectSame({a::MovImm(0, 0), a::AluImm(BPF_ADD, 0, 1), a::Ja(-2), a::Exit()},
             ctx, "ja");
  const Outcome o =
      RunOnce({a::MovImm(0, 0), a::AluImm(BPF_ADD, 0, 1), a::Ja(-2), a::Exit()},
              true, ctx);
  EXPECT_TRUE(o.faulted);
  EXPECT_NE(o.fault.find("instruction budget exhausted"), std::string::npos);
  // A loop that ends within the budget counts the same back-edges: one
  // more iteration than the budget allows faults, as interpreted.
  for (int32_t n : {998, 999, 1000, 1001}) {
    ExpectSame({a::MovImm(0, 0), a::AluImm(BPF_ADD, 0, 1),
                a::JmpImm(BPF_JLT, 0, n, -2), a::Exit()},
               ctx, "loop of " + std::to_string(n));
  }
  SetInstructionBudget(uint64_t{1} << 28);
}

TEST(JitTest, HelperCallsKeepR1ToR5) {
  const std::vector<uint8_t> ctx(kCtxSize);
  Insns p = {a::MovReg(9, 1),  a::MovImm(1, 5),  a::MovImm(2, 7),
             a::MovImm(3, 9),  a::MovImm(4, 11), a::MovImm(5, 13),
             a::Call(1),       Stx(8, 9, 0, 0),  Stx(8, 9, 1, 8),
             Stx(8, 9, 2, 16), Stx(8, 9, 3, 24), Stx(8, 9, 4, 32),
             Stx(8, 9, 5, 40), a::Exit()};
  ExpectSame(p, ctx, "call");
  EXPECT_EQ(RunOnce(p, true, ctx).r0, (5u * 3 + 7) ^ 13);
}

TEST(JitTest, BpfToBpfCallsAreCompiled) {
  const std::vector<uint8_t> ctx(kCtxSize);
  ExpectSame({a::MovImm(1, 20), a::CallLocal(1), a::Exit(),
              a::AluImm(BPF_ADD, 1, 22), a::MovReg(0, 1), a::Exit()},
             ctx, "bpf-to-bpf");
  // The caller's R1-R10 survive a callee that changes them all; the callee
  // starts with R0 and R6-R9 zero, and its own 512 bytes of stack, where a
  // helper call and the caller's stack (through R1) work too.
  Insns p = {a::MovReg(9, 1), St(8, 10, -8, 111)};
  for (uint8_t r = 1; r <= 8; ++r) p.push_back(a::MovImm(r, 100 + r));
  p.push_back(a::MovReg(1, 10));
  p.push_back(a::AluImm(BPF_ADD, 1, -8));
  p.push_back(a::CallLocal(static_cast<int32_t>(12 + 1)));
  p.push_back(Stx(8, 9, 0, 0));
  for (uint8_t r = 1; r <= 8; ++r) {
    p.push_back(Stx(8, 9, r, static_cast<int16_t>(8 * r)));
  }
  p.push_back(Ldx(8, 0, 10, -8));  // the caller's slot, as the callee left it
  p.push_back(a::Exit());
  const size_t callee = p.size();
  // Callee: R0 + R6..R9 (all zero) into its R2, its own slot, the
  // caller's slot through R1, a helper call, everything clobbered.
  p.push_back(a::MovReg(2, 0));
  for (uint8_t r = 6; r <= 9; ++r) p.push_back(a::AluReg(BPF_ADD, 2, r));
  p.push_back(St(8, 10, -8, 222));
  p.push_back(Ldx(8, 3, 1, 0));  // 111
  p.push_back(Stx(8, 1, 2, 0));  // the caller's slot = 0
  p.push_back(a::AluReg(BPF_ADD, 3, 2));
  p.push_back(Ldx(8, 5, 10, -8));
  p.push_back(a::Call(1));  // Mix(R1, R2, R5 = 222)
  for (uint8_t r = 1; r <= 9; ++r) p.push_back(a::MovImm(r, -1));
  p.push_back(a::AluImm(BPF_ADD, 0, 1));
  p.push_back(a::Exit());
  ASSERT_EQ(p[12].code, BPF_JMP | BPF_CALL);  // the CallLocal above
  p[12].imm = static_cast<int32_t>(callee - 13);
  ExpectSame(p, ctx, "frames");
  EXPECT_FALSE(RunOnce(p, true, ctx).faulted);
}

// sub(R1): R1 == 0 ? R2 : sub(R1 - 1) + 1, with a frame per level.
Insns Recursive(int32_t n) {
  return {a::MovImm(1, n),  a::MovImm(2, 1000),          a::CallLocal(1),
          a::Exit(),        a::JmpImm(BPF_JNE, 1, 0, 2), a::MovReg(0, 2),
          a::Exit(),        a::AluImm(BPF_ADD, 1, -1),   St(8, 10, -8, n),
          a::CallLocal(-6), a::AluImm(BPF_ADD, 0, 1),    a::Exit()};
}

TEST(JitTest, DeepRecursionStopsAsInTheInterpreter) {
  const std::vector<uint8_t> ctx(kCtxSize);
  // Seven frames below the main program are allowed, the eighth is not.
  for (int32_t n : {0, 1, 5, 6, 7, 8, 20}) {
    ExpectSame(Recursive(n), ctx, "depth " + std::to_string(n));
  }
  EXPECT_EQ(RunOnce(Recursive(6), true, ctx).r0, 1006u);
  const Outcome deep = RunOnce(Recursive(7), true, ctx);
  EXPECT_TRUE(deep.faulted);
  EXPECT_EQ(deep.fault, "call stack deeper than 8 frames");
  // Each call spends one unit of the budget.
  SetInstructionBudget(4);
  for (int32_t n : {1, 2, 3, 4}) {
    ExpectSame(Recursive(n), ctx, "budget, depth " + std::to_string(n));
  }
  const Outcome spent = RunOnce(Recursive(3), true, ctx);
  EXPECT_TRUE(spent.faulted);
  EXPECT_EQ(spent.fault, "instruction budget exhausted (endless recursion?)");
  SetInstructionBudget(uint64_t{1} << 28);
}

TEST(JitTest, TheSettingChoosesAtLoadAndRun) {
  const std::vector<uint8_t> ctx(kCtxSize);
  const Insns p = {a::MovImm(0, 3), a::Exit()};
  EXPECT_EQ(RunOnce(p, true, ctx).r0, 3u);   // jitted
  EXPECT_EQ(RunOnce(p, false, ctx).r0, 3u);  // interpreted
  EXPECT_FALSE(JitEnabled());
}

// Helper 2's region of `size` bytes at values[off] into R6.
void HandOutInto6(Insns* p, int32_t off, int32_t size, bool writable) {
  p->push_back(a::MovImm(1, off));
  p->push_back(a::MovImm(2, size));
  p->push_back(a::MovImm(3, writable ? 1 : 0));
  p->push_back(a::Call(2));
  p->push_back(a::MovReg(6, 0));
}

// Loads and stores that hit an object the code checks inline (the context,
// the last region handed out or hit) and then step just outside it, or into
// an object that has gone or refuses stores: the same results and faults as
// interpreted.
TEST(JitTest, InlineRangesRefuseAsTheInterpreter) {
  const std::vector<uint8_t> ctx(kCtxSize);
  // A 16-byte writable value: read and written inside (inline hits), then
  // each access named by `last`.
  const auto value_then = [&](RawInsn last, const std::string& what) {
    Insns p;
    HandOutInto6(&p, 0, 16, true);
    p.push_back(Ldx(8, 0, 6, 8));
    p.push_back(Stx(8, 6, 0, 0));
    p.push_back(Ldx(4, 0, 6, 12));
    p.push_back(last);
    p.push_back(a::Exit());
    ExpectSame(p, ctx, what);
  };
  value_then(Ldx(8, 0, 6, 0), "inside");
  value_then(St(4, 6, 12, 5), "the last word");
  value_then(Ldx(8, 0, 6, 9), "one byte past the end");
  value_then(Ldx(1, 0, 6, -1), "one byte before");
  value_then(St(1, 6, 16, 1), "a store just past the end");
  value_then(Ldx(8, 0, 6, 0x7ff8), "far past");
  value_then(Ldx(8, 0, 6, -0x8000), "far before");
  // A read-only value: loads hit, a store faults.
  Insns ro;
  HandOutInto6(&ro, 32, 16, false);
  ro.push_back(Ldx(8, 0, 6, 0));
  ro.push_back(St(8, 6, 0, 1));
  ro.push_back(a::Exit());
  ExpectSame(ro, ctx, "a store into a read-only value");
  EXPECT_TRUE(RunOnce(ro, true, ctx).faulted);
  // The same value handed out again read-only: the store that hit before
  // faults now.
  Insns again;
  HandOutInto6(&again, 64, 16, true);
  again.push_back(St(8, 6, 0, 1));
  HandOutInto6(&again, 64, 16, false);
  again.push_back(St(8, 6, 0, 2));
  again.push_back(a::Exit());
  ExpectSame(again, ctx, "a value handed out again read-only");
  EXPECT_TRUE(RunOnce(again, true, ctx).faulted);
  // A read-only region inside a writable one, handed out after it: stores
  // in the writable part and across the border are allowed, into the
  // read-only part not, also after a store that hit the writable one.
  for (int16_t off : {0, 4, 8, 12}) {
    Insns nested;
    HandOutInto6(&nested, 128, 16, true);
    nested.push_back(St(8, 6, 0, 1));
    nested.push_back(a::MovReg(7, 6));
    HandOutInto6(&nested, 136, 8, false);
    nested.push_back(St(8, 7, 0, 2));  // the outer value's part
    nested.push_back(Stx(4, 7, 7, off));
    nested.push_back(a::MovImm(0, 0));
    nested.push_back(a::Exit());
    ExpectSame(nested, ctx, "nested, store at " + std::to_string(off));
  }
  // The first region of 65: the 65th evicts it (Vm::kMaxRegions), so a
  // load that hit it before faults after.
  Insns evict;
  HandOutInto6(&evict, 256, 8, true);
  evict.push_back(a::MovReg(7, 6));
  evict.push_back(Ldx(8, 0, 7, 0));
  evict.push_back(a::MovImm(8, 0));
  const size_t loop = evict.size();
  evict.push_back(a::MovReg(1, 8));
  evict.push_back(a::AluImm(BPF_MUL, 1, 8));
  evict.push_back(a::AluImm(BPF_ADD, 1, 264));
  evict.push_back(a::MovImm(2, 8));
  evict.push_back(a::MovImm(3, 1));
  evict.push_back(a::Call(2));
  evict.push_back(a::AluImm(BPF_ADD, 8, 1));
  evict.push_back(
      a::JmpImm(BPF_JLT, 8, 64, static_cast<int16_t>(loop - evict.size() - 1)));
  evict.push_back(Ldx(8, 0, 7, 0));
  evict.push_back(a::Exit());
  ExpectSame(evict, ctx, "an evicted region");
  EXPECT_TRUE(RunOnce(evict, true, ctx).faulted);
  // A ring buffer record: written, submitted, then written again.
  Insns record = {a::MovImm(1, 512), a::MovImm(2, 32), a::Call(3),
                  a::MovReg(6, 0),   St(8, 6, 24, 7),  a::MovReg(1, 6),
                  a::Call(4),        St(8, 6, 24, 8),  a::Exit()};
  ExpectSame(record, ctx, "a submitted record");
  EXPECT_TRUE(RunOnce(record, true, ctx).faulted);
  // The context: the last bytes read inline, one past faults.
  // (OR 0: as in WildPointersFaultAsInTheInterpreter.)
  ExpectSame({a::MovReg(6, 1), Ldx(8, 0, 6, 0), Ldx(8, 0, 6, 0x7ff8),
              a::AluImm(BPF_OR, 6, 0), a::AluImm(BPF_ADD, 6, 65528),
              Ldx(8, 0, 6, 0), Ldx(8, 0, 6, 1), a::Exit()},
             ctx, "past the context's end");
}

}  // namespace
}  // namespace bpfemu::interp
