// SPDX-License-Identifier: Apache-2.0
// The x86-64 JIT of the bytecode face (jit_x86.h). The register mapping
// follows the idea of arch/x86/net/bpf_jit_comp.c (reg2hex): R1-R5 in the
// System V argument registers where a helper call needs few moves, R6-R9
// and the frame pointer in callee-saved registers; the encoder is written
// from the instruction set manual, one function per instruction form.

#include "emu/jit_x86.h"

#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "emu/interp_ops.h"

namespace bpfemu::interp {
namespace {

using namespace ops;  // NOLINT: the opcodes of emu/interp_ops.h

// include/linux/bpf.h MAX_TAIL_CALL_CNT (emu/prog.h kMaxTailCallCnt).
constexpr int kMaxTailCalls = 33;

// x86 register numbers.
enum Reg : int {
  RAX = 0,
  RCX = 1,
  RDX = 2,
  RBX = 3,
  RSP = 4,
  RBP = 5,
  RSI = 6,
  RDI = 7,
  R8 = 8,
  R9 = 9,
  R10 = 10,
  R11 = 11,
  R12 = 12,
  R13 = 13,
  R14 = 14,
  R15 = 15,
};

// BPF R0-R10. R12 holds the Vm, R9 the run's instruction budget (fourth
// piece; Vm::budget_ holds it only across calls out of the code), R10 and
// R11 are scratch.
constexpr int kMap[11] = {RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP};
constexpr int kVm = R12;
constexpr int kBudget = R9;
// What a bpf-to-bpf call saves: R1-R5, R6-R9, R10.
constexpr int kSaved[] = {RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP};
constexpr int kTmp = R10;
constexpr int kAddr = R11;

// x86 condition codes (the low nibble of Jcc).
enum Cond : uint8_t {
  kB = 0x2,
  kAE = 0x3,
  kE = 0x4,
  kNE = 0x5,
  kBE = 0x6,
  kA = 0x7,
  kL = 0xc,
  kGE = 0xd,
  kLE = 0xe,
  kG = 0xf,
};

class Emitter {
 public:
  std::vector<uint8_t> code;

  void Byte(uint8_t b) { code.push_back(b); }
  void Imm16(int16_t v) { Put(&v, 2); }
  void Imm32(int32_t v) { Put(&v, 4); }
  void Imm64(uint64_t v) { Put(&v, 8); }

  // [REX] for reg (ModRM.reg) and rm (ModRM.rm or base); `byte` forces one
  // so that registers 4-7 mean spl..dil rather than ah..bh.
  void Rex(bool w, int reg, int rm, bool byte = false) {
    const uint8_t rex = static_cast<uint8_t>(
        0x40 | (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (rm >= 8 ? 1 : 0));
    if (rex != 0x40 || (byte && ((reg >= 4 && reg < 8) || rm >= 4))) {
      Byte(rex);
    }
  }
  // op reg, rm (register direct). `op2` is a second opcode byte or -1.
  void RR(bool w, int op, int op2, int reg, int rm, bool byte = false) {
    Rex(w, reg, rm, byte);
    Byte(static_cast<uint8_t>(op));
    if (op2 >= 0) Byte(static_cast<uint8_t>(op2));
    Byte(static_cast<uint8_t>(0xc0 | (reg & 7) << 3 | (rm & 7)));
  }
  // op reg, [base + disp32].
  void RM(bool w, int op, int op2, int reg, int base, int32_t disp,
          bool byte = false) {
    Rex(w, reg, base, byte);
    Byte(static_cast<uint8_t>(op));
    if (op2 >= 0) Byte(static_cast<uint8_t>(op2));
    Byte(static_cast<uint8_t>(0x80 | (reg & 7) << 3 | (base & 7)));
    if ((base & 7) == RSP) Byte(0x24);  // SIB: base only
    Imm32(disp);
  }

  // op reg, [base + index * (1 << scale)] (index is never rsp).
  void RMI(bool w, int op, int reg, int base, int index, int scale) {
    const uint8_t rex =
        static_cast<uint8_t>(0x40 | (w ? 8 : 0) | (reg >= 8 ? 4 : 0) |
                             (index >= 8 ? 2 : 0) | (base >= 8 ? 1 : 0));
    if (rex != 0x40) Byte(rex);
    Byte(static_cast<uint8_t>(op));
    Byte(static_cast<uint8_t>(0x84 | (reg & 7) << 3));  // mod 10, rm SIB
    Byte(static_cast<uint8_t>(scale << 6 | (index & 7) << 3 | (base & 7)));
    Imm32(0);
  }

  void Mov(bool w, int dst, int src) { RR(w, 0x89, -1, src, dst); }
  // mov dst, imm: zero-extended 32-bit, sign-extended 32-bit or 64-bit.
  void MovImm(bool w, int dst, int64_t imm) {
    if (!w || (imm >= 0 && imm <= UINT32_MAX)) {
      Rex(false, 0, dst);
      Byte(static_cast<uint8_t>(0xb8 | (dst & 7)));
      Imm32(static_cast<int32_t>(imm));
    } else if (imm >= INT32_MIN && imm <= INT32_MAX) {
      RR(true, 0xc7, -1, 0, dst);
      Imm32(static_cast<int32_t>(imm));
    } else {
      Rex(true, 0, dst);
      Byte(static_cast<uint8_t>(0xb8 | (dst & 7)));
      Imm64(static_cast<uint64_t>(imm));
    }
  }
  // 0x81 /digit with imm32 (sign-extended under REX.W).
  void AluImm(bool w, int digit, int dst, int32_t imm) {
    RR(w, 0x81, -1, digit, dst);
    Imm32(imm);
  }
  void Push(int r) {
    if (r >= 8) Byte(0x41);
    Byte(static_cast<uint8_t>(0x50 | (r & 7)));
  }
  void Pop(int r) {
    if (r >= 8) Byte(0x41);
    Byte(static_cast<uint8_t>(0x58 | (r & 7)));
  }
  void CallAbs(const void* fn) {
    MovImm(true, RAX, static_cast<int64_t>(reinterpret_cast<uintptr_t>(fn)));
    Byte(0xff);
    Byte(0xd0);  // call rax
  }
  // cmp qword [r12 + off], 0.
  void CmpVmZero(int32_t off) {
    RM(true, 0x83, -1, 7, kVm, off);
    Byte(0);
  }

  // Labels: positions bound once, jumps fixed up at the end (rel32).
  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void Bind(int label) { labels_[label] = static_cast<int>(code.size()); }
  void Jcc(uint8_t cc, int label) {
    Byte(0x0f);
    Byte(static_cast<uint8_t>(0x80 | cc));
    Fixup(label);
  }
  void Jmp(int label) {
    Byte(0xe9);
    Fixup(label);
  }
  void CallLabel(int label) {
    Byte(0xe8);
    Fixup(label);
  }
  bool Resolve() {
    for (const auto& [pos, label] : fixups_) {
      if (labels_[label] < 0) return false;
      const int32_t rel = labels_[label] - (pos + 4);
      std::memcpy(&code[pos], &rel, 4);
    }
    return true;
  }

 private:
  void Put(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    code.insert(code.end(), b, b + n);
  }
  void Fixup(int label) {
    fixups_.push_back({static_cast<int>(code.size()), label});
    Imm32(0);
  }
  std::vector<int> labels_;
  std::vector<std::pair<int, int>> fixups_;
};

// The 64X flavour of an ALU or JMP op and its flavour bits.
struct Flavour {
  uint8_t base;
  bool is64, x;
};
Flavour FlavourOf(uint8_t op) {
  const int k = op % 4;  // 64X, 64K, 32X, 32K
  return {static_cast<uint8_t>(op - k), k < 2, k % 2 == 0};
}

bool IsAlu(uint8_t op) { return op < JEQ64X; }
bool IsCondJump(uint8_t op) { return op >= JEQ64X && op <= JSET32K; }

class Compiler {
 public:
  Compiler(const DecodedInsn* insns, size_t n, const JitHelperFn* helpers,
           const JitHooks& hooks, const JitProgramInfo* info,
           bool keep_load_range = true, bool clean_tail_calls = false)
      : in_(insns),
        n_(n),
        helpers_(helpers),
        hooks_(hooks),
        info_(info),
        keep_load_range_(keep_load_range),
        clean_tail_calls_(clean_tail_calls) {}

  bool Run(std::string* why);
  std::vector<uint8_t>& code() { return e_.code; }
  size_t body() const { return body_; }
  bool uses_cpu() const { return uses_cpu_; }
  uint32_t cpu_count() const { return cpu_count_; }
  bool tail_calls() const { return tail_calls_; }
  uint32_t map_lookups() const { return map_lookups_; }
  // Whether the code checks a load against JitRanges' load range, and
  // whether an inline lookup set that range.
  bool checks_loads() const { return checks_loads_; }
  bool sets_load_range() const { return sets_load_range_; }
  // Whether the code calls out (a helper other than an inline tail call's,
  // an out-of-line access check, a bpf-to-bpf call) or sets a range: what
  // may change the per-program state Vm::Enter() zeroes.
  bool sets_state() const { return sets_state_; }
  bool keep_load_range() const { return keep_load_range_; }
  bool clean_tail_calls() const { return clean_tail_calls_; }

 private:
  void Prologue();
  void ZeroLiveAtEntry();
  uint16_t LiveAtEntry() const;
  void Alu(const DecodedInsn& d);
  void DivMod(const DecodedInsn& d, Flavour f);
  void Shift(const DecodedInsn& d, Flavour f, int digit);
  void CondJump(const DecodedInsn& d, uint32_t pc);
  // A taken jump from `pc` to `target`, counting a back-edge.
  void Goto(uint32_t pc, uint32_t target);
  // The checked address of the access at `pc` through `base` into R11;
  // then `access()` emits the access itself.
  void Memory(const DecodedInsn& d, uint32_t pc, bool load,
              const std::function<void()>& access);
  void Call(const DecodedInsn& d, uint32_t pc);
  // The helper call itself (Call() after the lock check); the helper path
  // of an inline tail call says so (it leaves the per-program state to
  // the tail call's own zeroing, see clean_tail_calls_).
  void CallHelper(const DecodedInsn& d, bool tail_call_path = false);
  // The LD_IMM64 value register `reg` surely holds at `pc`: set in the
  // straight-line instructions before it, which no jump enters.
  bool KnownReg(uint32_t pc, uint8_t reg, uint64_t* value) const;
  // bpf_tail_call through the PROG_ARRAY `a` inline (the kernel JIT's
  // emit_bpf_tail_call_direct / _indirect), the helper for what it leaves.
  void InlineTailCall(const DecodedInsn& d, const JitProgArray& a);
  // Vm::Enter()'s zeroing of the per-program state, through `zero`.
  void ZeroOnEnter(int zero);
  // bpf_map_lookup_elem on `a` inline (array_map_gen_lookup), the helper
  // when the key is not in the stack or the CPU's copy is not known.
  void InlineLookup(const DecodedInsn& d, const JitArray& a);
  // bpf_map_lookup_elem on a hash map or LPM trie as a direct call of its
  // lookup (JitMapLookup), the helper when the key is not in the stack.
  void DirectLookup(const DecodedInsn& d, const JitMapLookup& m);
  // A bpf-to-bpf call (the interpreter's CALL_LOCAL and Exec()).
  void CallLocal(const DecodedInsn& d, uint32_t pc);
  // Whether register `reg` + `off` surely addresses `size` bytes inside
  // the current frame: R10, or a register holding R10 plus a constant
  // (Value::stack). R10 is the frame's top and never written, and every
  // frame lies in the run's stack (at most max_frames of frame_size bytes
  // below its top), so such an access needs no check (the verifier's
  // check_stack_access knows the same).
  bool InFrame(uint8_t reg, int64_t off, uint32_t size) const {
    if (reg >= values_.size() || !values_[reg].stack) return false;
    const int64_t at = values_[reg].off + off;
    return at >= -hooks_.frame_size && at + size <= 0 &&
           int64_t{hooks_.frame_size} * hooks_.max_frames <= hooks_.stack_size;
  }
  // Leaves the current function: the machine code from the main program,
  // `ret` from a subprogram (Vm::depth_ above 0), which it decrements.
  void Return();
  // The atomic at [r11] (Memory() has checked it).
  void Atomic(const DecodedInsn& d, uint32_t pc);
  int FaultStub(JitFaultKind kind, uint32_t pc);
  // The budget register to Vm::budget_ before a call out of the code (a
  // helper may run a callback, which counts on it) and back after.
  void SpillBudget() {
    e_.RM(true, 0x89, -1, kBudget, kVm, hooks_.budget_offset);
  }
  void ReloadBudget() {
    e_.RM(true, 0x8b, -1, kBudget, kVm, hooks_.budget_offset);
  }

  // What the code knows of a register holding an array value from an inline
  // lookup (the verifier's PTR_TO_MAP_VALUE, with its bounds): `off`
  // bytes into a value of `size` bytes, not NULL once tested.
  // `stack` instead: the register is R10 + `off` (the verifier's
  // PTR_TO_STACK with a constant offset), R10 itself with `off` 0.
  // `until_call`: a value of a direct lookup (DirectLookup), whose region
  // in the Vm's table only a later call can evict; it is forgotten there.
  struct Value {
    bool valid = false;
    bool nonnull = false;
    bool writable = false;
    bool stack = false;
    bool until_call = false;
    int64_t off = 0;
    uint32_t size = 0;
  };
  using Values = std::array<Value, 11>;
  // What holds where nothing is known: R10 is the frame's top.
  static Values Unknown() {
    Values v;
    v[10].stack = true;
    return v;
  }
  // The registers after instruction `pc` on its fall-through path.
  void TrackValues(const DecodedInsn& d, uint32_t pc);
  Values values_ = Unknown();
  // For a forward jump that is the only way into its target: the registers
  // on the taken path (JitValues at the target).
  std::vector<std::unique_ptr<Values>> taken_;
  std::vector<uint32_t> incoming_;       // jumps landing on each instruction
  const JitArray* looked_up_ = nullptr;  // set by Call() for TrackValues
  JitArray looked_up_array_;
  bool looked_up_until_call_ = false;  // looked_up_ is a direct lookup's

  const DecodedInsn* in_;
  size_t n_;
  const JitHelperFn* helpers_;
  const JitHooks& hooks_;
  const JitProgramInfo* info_;
  std::vector<bool> target_;  // instructions a jump or call lands on
  bool uses_cpu_ = false;
  uint32_t cpu_count_ = 0;  // JitCode::cpu_count
  bool tail_calls_ = false;
  uint32_t map_lookups_ = 0;  // DirectLookup's call sites
  // An inline lookup's value becomes the load range only for code that
  // reads the range (fifth piece): JitCode::Compile compiles again without
  // those stores when no load is checked against it.
  bool keep_load_range_ = true;
  // Sixth piece: the code never changes the per-program state Vm::Enter()
  // zeroes (!sets_state() of a first compile), so every inline tail call
  // finds it zero still, as the code was entered with it, and leaves it
  // as it is; JitCode::Compile compiles such code again with this set.
  bool clean_tail_calls_ = false;
  bool sets_state_ = false;
  bool checks_loads_ = false;
  bool sets_load_range_ = false;
  Emitter e_;
  int epilogue_ = 0;
  int switched_ = 0;        // after a helper that set Vm::switch_to_
  bool has_calls_ = false;  // the program makes bpf-to-bpf calls
  bool may_lock_ = false;   // the program calls bpf_spin_lock (Run)
  size_t body_ = 0;         // where the prologue ends
  std::vector<std::function<void()>> stubs_;
};

void Compiler::Prologue() {
  for (int r : {RBP, RBX, R12, R13, R14, R15}) e_.Push(r);
  e_.AluImm(true, 5, RSP, 8);  // sub rsp, 8: calls see a 16-byte stack
  e_.Mov(true, kVm, RDI);
  e_.Mov(true, RBP, RDX);
  e_.Mov(true, RDI, RSI);
  ReloadBudget();
}

// The interpreter starts a program with R0 and R2-R9 zero. The code zeroes
// those of them it may read before writing (fifth piece): a register the
// program writes first on every path holds a value nobody reads, so
// leaving it is the same run. At the body's start, so that every entry
// (the prologue, a tail call's jump from the helper's path or inline)
// passes through it and the inline tail call zeroes none itself.
void Compiler::ZeroLiveAtEntry() {
  const uint16_t live = LiveAtEntry();
  for (int r = 0; r < 10; ++r) {
    if (r != 1 && (live & (1u << r)) != 0) {
      e_.RR(false, 0x31, -1, kMap[r], kMap[r]);  // xor r32, r32
    }
  }
}

// Backward liveness over the instructions, R0-R9 as bits 0-9: what the
// code may read before writing it from `pc` on. Only the common forms
// are taken apart (a move, a load or store, a call, a jump, an exit);
// anything else reads every register and writes none, which can only
// keep more registers live.
uint16_t Compiler::LiveAtEntry() const {
  constexpr uint16_t kAll = 0x3ff;
  const auto bit = [](uint8_t r) {
    return r < 10 ? static_cast<uint16_t>(1u << r) : uint16_t{0};
  };
  std::vector<uint16_t> live(n_ + 1, 0);
  live[n_] = kAll;  // past the end: nothing is known
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = n_; i-- > 0;) {
      const DecodedInsn& d = in_[i];
      const uint8_t op = d.op;
      uint16_t out = 0, use = 0, def = 0;
      if (op != JA && op != EXIT) out |= live[i + 1];
      if (op == JA || IsCondJump(op)) {
        const auto t = static_cast<uint32_t>(d.off);
        out |= t < n_ ? live[t] : kAll;
      }
      if (op == MOV64K || op == MOV32K || op == LDDW) {
        def = bit(d.dst);
      } else if (op == MOV64X || op == MOV32X || (op >= LDX8 && op <= LDXS32)) {
        use = bit(d.src);
        def = bit(d.dst);
      } else if (op >= ST8 && op <= ST64) {
        use = bit(d.dst);
      } else if (op >= STX8 && op <= STX64) {
        use = bit(d.dst) | bit(d.src);
      } else if (op == CALL || op == CALL_LOCAL) {
        use = 0x3e;  // R1-R5; R0 is the result (R1-R9 are kept)
        def = 1;
      } else if (op == EXIT) {
        use = 1;
      } else if (op == NOP || op == JA) {
      } else if (IsCondJump(op) || IsAlu(op)) {
        use = bit(d.dst) | bit(d.src);
      } else {
        use = kAll;
      }
      const uint16_t in = static_cast<uint16_t>(use | (out & ~def));
      if (in != live[i]) {
        live[i] = in;
        changed = true;
      }
    }
  }
  return n_ == 0 ? kAll : live[0];
}

// x86 ALU opcodes (op r/m, reg) and their 0x81 /digit.
struct AluForm {
  uint8_t base;
  int op, digit;
};
constexpr AluForm kAluForms[] = {
    {ADD64X, 0x01, 0}, {SUB64X, 0x29, 5}, {OR64X, 0x09, 1},
    {AND64X, 0x21, 4}, {XOR64X, 0x31, 6},
};

void Compiler::Alu(const DecodedInsn& d) {
  const int dst = kMap[d.dst], src = kMap[d.src];
  const Flavour f = FlavourOf(d.op);
  const bool w = f.is64;
  const int32_t imm = static_cast<int32_t>(d.imm);
  for (const AluForm& a : kAluForms) {
    if (a.base != f.base) continue;
    if (f.x) {
      e_.RR(w, a.op, -1, src, dst);
    } else {
      e_.AluImm(w, a.digit, dst, imm);
    }
    return;
  }
  switch (f.base) {
    case MUL64X:
      if (f.x) {
        e_.RR(w, 0x0f, 0xaf, dst, src);
      } else {
        e_.RR(w, 0x69, -1, dst, dst);
        e_.Imm32(imm);
      }
      return;
    case DIV64X:
    case MOD64X:
    case SDIV64X:
    case SMOD64X:
      DivMod(d, f);
      return;
    case LSH64X:
      Shift(d, f, 4);
      return;
    case RSH64X:
      Shift(d, f, 5);
      return;
    case ARSH64X:
      Shift(d, f, 7);
      return;
    case MOV64X:
      if (f.x) {
        e_.Mov(w, dst, src);
      } else {
        // 64: the sign-extended immediate; 32: its bits, zero-extended.
        e_.MovImm(w, dst, w ? int64_t{imm} : int64_t{uint32_t(imm)});
      }
      return;
    case MOVSX864X:
    case MOVSX1664X:
    case MOVSX3264X: {
      const int bits = f.base == MOVSX864X ? 8 : f.base == MOVSX1664X ? 16 : 32;
      if (!f.x) {  // never decoded; the constant it would give
        const int64_t v = bits == 8    ? int8_t(imm)
                          : bits == 16 ? int16_t(imm)
                                       : imm;
        e_.MovImm(w, dst, w ? v : int64_t{uint32_t(v)});
      } else if (bits == 32) {
        if (w) {
          e_.RR(true, 0x63, -1, dst, src);  // movsxd
        } else {
          e_.Mov(false, dst, src);
        }
      } else {
        e_.RR(w, 0x0f, bits == 8 ? 0xbe : 0xbf, dst, src, bits == 8);
      }
      return;
    }
    default:
      return;
  }
}

// do_misc_fixups(): division by zero gives 0, modulo by zero keeps the
// dividend (32-bit: zero-extended); signed division by -1 negates, signed
// modulo by -1 gives 0.
void Compiler::DivMod(const DecodedInsn& d, Flavour f) {
  const int dst = kMap[d.dst];
  const bool w = f.is64;
  const bool sgn = f.base == SDIV64X || f.base == SMOD64X;
  const bool div = f.base == DIV64X || f.base == SDIV64X;
  const int zero = e_.NewLabel(), done = e_.NewLabel();
  const int minus1 = e_.NewLabel();
  if (f.x) {
    e_.Mov(w, kAddr, kMap[d.src]);
  } else {
    e_.MovImm(w, kAddr, w ? d.imm : int64_t{uint32_t(d.imm)});
  }
  e_.RR(w, 0x85, -1, kAddr, kAddr);  // test
  e_.Jcc(kE, zero);
  if (sgn) {
    e_.RR(w, 0x83, -1, 7, kAddr);  // cmp r11, -1
    e_.Byte(0xff);
    e_.Jcc(kE, minus1);
  }
  e_.Push(RAX);
  e_.Push(RDX);
  if (dst != RAX) e_.Mov(w, RAX, dst);
  if (sgn) {
    if (w) e_.Byte(0x48);
    e_.Byte(0x99);  // cqo / cdq
  } else {
    e_.RR(false, 0x31, -1, RDX, RDX);
  }
  e_.RR(w, 0xf7, -1, sgn ? 7 : 6, kAddr);  // idiv / div r11
  e_.Mov(w, kAddr, div ? RAX : RDX);
  e_.Pop(RDX);
  e_.Pop(RAX);
  e_.Mov(w, dst, kAddr);
  e_.Jmp(done);
  if (sgn) {
    e_.Bind(minus1);
    if (div) {
      e_.RR(w, 0xf7, -1, 3, dst);  // neg
    } else {
      e_.RR(false, 0x31, -1, dst, dst);
    }
    e_.Jmp(done);
  }
  e_.Bind(zero);
  if (div) {
    e_.RR(false, 0x31, -1, dst, dst);
  } else if (!w) {
    e_.Mov(false, dst, dst);  // the dividend, zero-extended
  }
  e_.Bind(done);
}

// Shifts: x86 masks the count as the interpreter does (& 63, & 31).
void Compiler::Shift(const DecodedInsn& d, Flavour f, int digit) {
  const int dst = kMap[d.dst];
  const bool w = f.is64;
  if (!f.x) {
    e_.RR(w, 0xc1, -1, digit, dst);
    e_.Byte(static_cast<uint8_t>(d.imm & (w ? 63 : 31)));
  } else if (kMap[d.src] == RCX) {
    e_.RR(w, 0xd3, -1, digit, dst);
  } else {
    // The count must be in cl (R4's register): R4 is parked in r11.
    e_.Mov(true, kAddr, RCX);
    e_.Mov(true, RCX, kMap[d.src]);
    e_.RR(w, 0xd3, -1, digit, dst == RCX ? kAddr : dst);
    e_.Mov(dst == RCX ? w : true, RCX, kAddr);
  }
  // A 32-bit shift by 0 leaves the register as it was; ALU32 zero-extends.
  if (!w) e_.Mov(false, dst, dst);
}

constexpr uint8_t kCond[] = {
    kE, kNE, kA, kAE, kB, kBE, kG, kGE, kL, kLE, kNE,
};

void Compiler::CondJump(const DecodedInsn& d, uint32_t pc) {
  const Flavour f = FlavourOf(d.op);
  const int dst = kMap[d.dst];
  const bool test = f.base == JSET64X;
  if (f.x) {
    e_.RR(f.is64, test ? 0x85 : 0x39, -1, kMap[d.src], dst);
  } else if (test) {
    e_.RR(f.is64, 0xf7, -1, 0, dst);
    e_.Imm32(static_cast<int32_t>(d.imm));
  } else {
    e_.AluImm(f.is64, 7, dst, static_cast<int32_t>(d.imm));
  }
  const uint8_t cc = kCond[(f.base - JEQ64X) / 4];
  const uint32_t target = static_cast<uint32_t>(d.off);
  if (target > pc) {
    e_.Jcc(cc, static_cast<int>(target));
    return;
  }
  const int skip = e_.NewLabel();
  e_.Jcc(static_cast<uint8_t>(cc ^ 1), skip);
  Goto(pc, target);
  e_.Bind(skip);
}

void Compiler::Goto(uint32_t pc, uint32_t target) {
  if (target <= pc) {  // a back-edge: the interpreter's --budget_ == 0
    e_.RR(true, 0x83, -1, 5, kBudget);  // sub r9, 1
    e_.Byte(1);
    e_.Jcc(kE, FaultStub(kJitBudget, pc));
  }
  e_.Jmp(static_cast<int>(target));
}

int Compiler::FaultStub(JitFaultKind kind, uint32_t pc) {
  const int label = e_.NewLabel();
  stubs_.push_back([this, label, kind, pc] {
    e_.Bind(label);
    e_.Mov(true, RDI, kVm);
    e_.MovImm(false, RSI, kind);
    e_.MovImm(false, RDX, pc);
    e_.CallAbs(reinterpret_cast<const void*>(hooks_.fault));
    e_.Byte(0x0f);
    e_.Byte(0x0b);  // ud2: fault() does not return
  });
  return label;
}

void Compiler::Memory(const DecodedInsn& d, uint32_t pc, bool load,
                      const std::function<void()>& access) {
  const uint8_t base_reg = load ? d.src : d.dst;
  const int base = kMap[base_reg];
  // r11 = base + off; in the run's stack (every frame's) when r11 - the
  // stack's bottom is at most stack - size (the interpreter's fast path).
  const int32_t stack = hooks_.stack_size;
  e_.RM(true, 0x8d, -1, kAddr, base, d.off);  // lea r11, [base + off]
  // Through R10 within the current frame: R10 is the frame's top and
  // never written, and every frame lies in the run's stack (at most
  // max_frames of frame_size bytes below its top), so the access needs no
  // check (the verifier's check_stack_access knows the same).
  // So is one through a register holding R10 plus a constant (fifth
  // piece): the same address.
  if (InFrame(base_reg, d.off, d.size)) {
    access();
    return;
  }
  // Through an array value an inline lookup returned and the program
  // tested for NULL, inside the value (fourth piece): the value is memory
  // of the program's own map, which Vm::Allowed allows whole (a store only
  // in a writable map), as the verifier knows PTR_TO_MAP_VALUE's bounds.
  if (const Value& v = values_[base_reg];
      v.valid && v.nonnull && (load || v.writable)) {
    const int64_t at = v.off + d.off;
    if (at >= 0 && at + d.size <= int64_t{v.size}) {
      access();
      return;
    }
  }
  if (load) checks_loads_ = true;
  sets_state_ = true;  // hooks_.access sets the ranges
  e_.Mov(true, kTmp, kAddr);
  e_.RM(true, 0x2b, -1, kTmp, kVm, hooks_.stack_lo_offset);  // sub r10, [lo]
  e_.AluImm(true, 7, kTmp, stack - d.size);
  const int slow = e_.NewLabel(), access_at = e_.NewLabel();
  const int next = static_cast<int>(pc + 1);
  e_.Jcc(kA, slow);
  e_.Bind(access_at);
  access();
  stubs_.push_back([this, slow, access_at, next, base, pc, load, &d] {
    e_.Bind(slow);
    // The objects of JitRanges first: r10 = r11 - lo must be below len,
    // and r10 + size at most len (no wrap: len is an object's size).
    const auto in_range = [this, access_at, &d](int32_t lo) {
      const int miss = e_.NewLabel();
      e_.Mov(true, kTmp, kAddr);
      e_.RM(true, 0x2b, -1, kTmp, kVm, lo);      // sub r10, [lo]
      e_.RM(true, 0x3b, -1, kTmp, kVm, lo + 8);  // cmp r10, [len]
      e_.Jcc(kAE, miss);
      e_.AluImm(true, 0, kTmp, static_cast<int32_t>(d.size));
      e_.RM(true, 0x3b, -1, kTmp, kVm, lo + 8);
      e_.Jcc(kBE, access_at);
      e_.Bind(miss);
    };
    const int32_t ranges = hooks_.ranges_offset;
    if (load) {
      // The last object first: loads in a loop mostly go through the
      // value a lookup just handed out; the context is read a few times.
      in_range(ranges + static_cast<int32_t>(offsetof(JitRanges, rd_lo)));
      in_range(ranges + static_cast<int32_t>(offsetof(JitRanges, ctx_lo)));
    } else {
      in_range(ranges + static_cast<int32_t>(offsetof(JitRanges, wr_lo)));
    }
    // Save the caller-saved BPF registers around hooks_.access: six
    // pushes keep the stack 16-byte aligned.
    for (int r : {RAX, RDI, RSI, RDX, RCX, R8}) e_.Push(r);
    SpillBudget();
    e_.Mov(true, RSI, base);
    e_.Mov(true, RDI, kVm);
    e_.MovImm(false, RDX, pc);
    e_.CallAbs(reinterpret_cast<const void*>(hooks_.access));
    e_.Mov(true, kAddr, RAX);
    ReloadBudget();
    for (int r : {R8, RCX, RDX, RSI, RDI, RAX}) e_.Pop(r);
    e_.RR(true, 0x85, -1, kAddr, kAddr);
    e_.Jcc(kNE, access_at);
    // An arena access without effect: a load gives 0, a store nothing.
    if (load) e_.RR(false, 0x31, -1, kMap[d.dst], kMap[d.dst]);
    e_.Jmp(next);
  });
}

void Compiler::Call(const DecodedInsn& d, uint32_t pc) {
  if (d.size == 0 && may_lock_) {  // not callable under a bpf_spin_lock
    e_.CmpVmZero(hooks_.held_lock_offset);
    e_.Jcc(kNE, FaultStub(kJitCallLocked, pc));
  }
  uint64_t handle = 0;
  JitProgArray pa;
  if (info_ != nullptr && info_->helper_ids != nullptr && info_->prog_array &&
      info_->helper_ids[d.imm] == BPF_FUNC_tail_call && info_->prog_type != 0 &&
      (info_->prog_type & kJitUsesCpu) == 0 && KnownReg(pc, 2, &handle) &&
      info_->prog_array(handle, &pa) && pa.ids != 0 && pa.cache != 0) {
    InlineTailCall(d, pa);
    return;
  }
  if (info_ != nullptr && info_->helper_ids != nullptr &&
      info_->helper_ids[d.imm] == BPF_FUNC_map_lookup_elem &&
      KnownReg(pc, 1, &handle)) {
    JitArray a;
    if (info_->array && info_->array(handle, &a) && a.max_entries > 0 &&
        a.slot <= INT32_MAX && a.value_size <= INT32_MAX &&
        (!a.percpu || (a.unit <= INT32_MAX && a.nr_cpus <= INT32_MAX))) {
      InlineLookup(d, a);
      looked_up_array_ = a;
      looked_up_ = &looked_up_array_;
      return;
    }
    JitMapLookup m;
    if (info_->map_lookup && info_->map_lookup(handle, &m) &&
        m.lookup != nullptr && m.key_size > 0 &&
        m.key_size <= static_cast<uint32_t>(hooks_.stack_size) &&
        m.value_size <= INT32_MAX) {
      DirectLookup(d, m);
      looked_up_array_ = JitArray{};
      looked_up_array_.value_size = m.value_size;
      looked_up_array_.writable = m.writable;
      looked_up_ = &looked_up_array_;
      looked_up_until_call_ = true;
      return;
    }
  }
  CallHelper(d);
}

bool Compiler::KnownReg(uint32_t pc, uint8_t reg, uint64_t* value) const {
  for (uint32_t j = pc; j > 0; --j) {
    if (target_[j]) return false;  // the register may come from elsewhere
    const DecodedInsn& d = in_[j - 1];
    const uint8_t op = d.op;
    if (op == LDDW && d.dst == reg) {
      *value = static_cast<uint64_t>(d.imm);
      return true;
    }
    if (op == NOP || IsCondJump(op) || (op >= ST8 && op <= STX64)) {
      continue;  // the register unchanged
    }
    if (op == ATOMIC32 || op == ATOMIC64) {
      if (d.src == reg || d.dst == reg) return false;
      continue;
    }
    // Anything else with another destination keeps the register; calls,
    // jumps and exits end the search.
    if (op == CALL || op == CALL_LOCAL || op == JA || op == EXIT ||
        d.dst == reg) {
      return false;
    }
  }
  return false;
}

// The kernel's JIT takes a tail call in the program's own code: the index
// against max_entries, the count against MAX_TAIL_CALL_CNT, the slot's
// program, then a jump past the target's prologue
// (arch/x86/net/bpf_jit_comp.c emit_bpf_tail_call_indirect). Here the
// count is the run's (JitTailRun, shared with the helper and native
// programs), and the slot's cached program is trusted as the native
// bpf_tail_call (bpf_helper_defs.h) trusts it: announced in the run's
// hazard slot, the cache re-read until it confirms, and the program's id
// compared with the slot's. The target is then entered as Vm::Enter()
// enters it, without a call. The helper takes what this path does not
// (the run's first tail call, which takes the hazard slot; a subprogram;
// a native, interpreted or other-typed target; a CPU not yet read), with
// the budget unit given back first, and so gives the same errnos.
//
// Sixth piece: the path keeps the budget in r9 (it uses rax, r10 and r11
// only until it commits), skips the announcement when the hazard slot
// announces the cached program already (an announcement confirmed once
// protects the program for as long as it stays: hazard.h), leaves the
// Vm's program and context end alone when the target is the running
// program, and zeroes no per-program state when the caller's code cannot
// have set any (clean_tail_calls_: see JitCode::Compile). The cold paths
// are stubs after the code.
void Compiler::InlineTailCall(const DecodedInsn& d, const JitProgArray& a) {
  const int slow = e_.NewLabel(), giveback = e_.NewLabel();
  const int e2big = e_.NewLabel(), enoent = e_.NewLabel();
  const int announce = e_.NewLabel(), confirmed = e_.NewLabel();
  const int other_type = e_.NewLabel(), enter = e_.NewLabel();
  const int other_prog = e_.NewLabel(), same_prog = e_.NewLabel();
  const int done = e_.NewLabel();
  tail_calls_ = true;
  constexpr int32_t kTailCalls = offsetof(JitTailRun, tail_calls);
  constexpr int32_t kHazard = offsetof(JitTailRun, hazard);
  if (has_calls_) {  // a tail call in a subprogram replaces only its frame
    e_.RM(false, 0x83, -1, 7, kVm, hooks_.depth_offset);  // cmp dword, 0
    e_.Byte(0);
    e_.Jcc(kNE, slow);
  }
  // The run, set only with a hazard slot and no need of full fences
  // (Vm::tail_run_).
  e_.RM(true, 0x8b, -1, kAddr, kVm, hooks_.tail_run_offset);  // r11 = run
  e_.RR(true, 0x85, -1, kAddr, kAddr);
  e_.Jcc(kE, slow);
  // The index (R3's low 32 bits), then the count: -E2BIG.
  e_.AluImm(false, 7, RDX, static_cast<int32_t>(a.max_entries));
  e_.Jcc(kAE, e2big);
  e_.RM(false, 0x83, -1, 7, kAddr, kTailCalls);  // cmp dword [r11], 33
  e_.Byte(static_cast<uint8_t>(kMaxTailCalls));
  e_.Jcc(kAE, e2big);
  e_.RM(false, 0x83, -1, 0, kAddr, kTailCalls);  // add dword [r11], 1
  e_.Byte(1);
  // The cached program (r10), announced unless the hazard slot (r11)
  // announces it already; only the owner writes the slot, and every value
  // it leaves there was confirmed by a re-read.
  e_.RM(true, 0x8b, -1, kAddr, kAddr, kHazard);  // r11 = the hazard slot
  e_.Mov(false, RAX, RDX);                       // eax = the index
  e_.MovImm(true, kTmp, static_cast<int64_t>(a.cache));
  e_.RMI(true, 0x8b, kTmp, kTmp, RAX, 3);  // mov r10, [r10 + rax * 8]
  e_.RM(true, 0x3b, -1, kTmp, kAddr, 0);   // cmp r10, [r11]
  e_.Jcc(kNE, announce);
  e_.Bind(confirmed);
  // The slot's id (a plain load is an acquire on x86): 0 is -ENOENT.
  e_.MovImm(true, kAddr, static_cast<int64_t>(a.ids));
  e_.RMI(false, 0x8b, kAddr, kAddr, RAX, 2);  // mov r11d, [r11 + rax * 4]
  e_.RR(false, 0x85, -1, kAddr, kAddr);
  e_.Jcc(kE, enoent);
  // The program the slot's id names, compiled, of the caller's type.
  e_.RR(true, 0x85, -1, kTmp, kTmp);
  e_.Jcc(kE, giveback);
  e_.RM(false, 0x3b, -1, kAddr, kTmp, a.id_offset);  // cmp r11d, [r10 + id]
  e_.Jcc(kNE, giveback);
  // Its JitTarget (in the program, r10 + target_offset + field): compiled
  // and of the caller's type; one that reads the CPU only once the run
  // has read it (an interpreted target's entry_type is 0).
  const auto field = [&a](size_t f) {
    return a.target_offset + static_cast<int32_t>(f);
  };
  const int32_t entry_type = field(offsetof(JitTarget, entry_type));
  e_.RM(false, 0x81, -1, 7, kTmp, entry_type);
  e_.Imm32(static_cast<int32_t>(info_->prog_type));
  e_.Jcc(kNE, other_type);
  e_.Bind(enter);
  // Vm::Enter(): the program and the context's end (the same when the
  // target is the running program), a fresh budget (into r9), and the
  // per-program state zeroed (Vm::JitZeroOnEnter lists it) unless the
  // caller cannot have set it.
  e_.RM(true, 0x8b, -1, RAX, kTmp, field(offsetof(JitTarget, program)));
  e_.RM(true, 0x3b, -1, RAX, kVm, hooks_.prog_offset);  // cmp rax, [prog]
  e_.Jcc(kNE, other_prog);
  e_.Bind(same_prog);
  e_.MovImm(
      true, RAX,
      static_cast<int64_t>(reinterpret_cast<uintptr_t>(hooks_.budget_limit)));
  e_.RM(true, 0x8b, -1, kBudget, RAX, 0);  // r9 = the fresh budget
  if (!clean_tail_calls_) ZeroOnEnter(RAX);
  // Into the target past its prologue: R1 = ctx, R10 and the Vm the same;
  // the target's body zeroes the registers of R0 and R2-R9 it may read
  // before writing (ZeroLiveAtEntry).
  e_.RM(true, 0x8b, -1, kAddr, kTmp, field(offsetof(JitTarget, body)));
  e_.RM(true, 0x8b, -1, RDI, kVm, hooks_.ctx_offset);
  e_.RR(false, 0xff, -1, 4, kAddr);  // jmp r11
  e_.Bind(done);
  // Out of line: the announcement, another program or type, the errnos
  // and the helper.
  const int32_t cpu_count = field(offsetof(JitTarget, cpu_count));
  const int32_t ctx_size = field(offsetof(JitTarget, ctx_size));
  const uint64_t cache = a.cache;
  stubs_.push_back([this, &d, cache, entry_type, cpu_count, ctx_size, slow,
                    giveback, e2big, enoent, announce, confirmed, other_type,
                    enter, other_prog, same_prog, done] {
    // Announce r10 in [r11] until a re-read of the cache slot confirms it
    // (Guard::Protect); r9 addresses the slot meanwhile.
    const int again = e_.NewLabel(), same = e_.NewLabel();
    e_.Bind(announce);
    SpillBudget();
    e_.MovImm(true, kBudget, static_cast<int64_t>(cache));
    e_.RMI(true, 0x8d, kBudget, kBudget, RAX, 3);  // lea r9, [r9 + rax * 8]
    e_.Bind(again);
    e_.RM(true, 0x89, -1, kTmp, kAddr, 0);    // mov [r11], r10: announce
    e_.RM(true, 0x3b, -1, kTmp, kBudget, 0);  // cmp r10, [r9]
    e_.Jcc(kE, same);
    e_.RM(true, 0x8b, -1, kTmp, kBudget, 0);
    e_.Jmp(again);
    e_.Bind(same);
    ReloadBudget();
    e_.Jmp(confirmed);
    // A target that reads the CPU: the CPU read yet (-1 is not) and below
    // the target's count; then its fold is the CPU itself (Vm::Enter).
    e_.Bind(other_type);
    e_.RM(false, 0x81, -1, 7, kTmp, entry_type);
    e_.Imm32(static_cast<int32_t>(info_->prog_type | kJitUsesCpu));
    e_.Jcc(kNE, giveback);
    e_.RM(false, 0x8b, -1, RAX, kVm, info_->cpu_offset);  // mov eax, [cpu]
    e_.RM(false, 0x3b, -1, RAX, kTmp, cpu_count);
    e_.Jcc(kAE, giveback);
    e_.RM(false, 0x89, -1, RAX, kVm, info_->cpu_fold_offset);
    e_.Jmp(enter);
    // Another program: its Program and context end.
    e_.Bind(other_prog);
    e_.RM(true, 0x89, -1, RAX, kVm, hooks_.prog_offset);
    e_.RM(true, 0x8b, -1, RAX, kTmp, ctx_size);
    const int32_t ranges = hooks_.ranges_offset;
    e_.RM(true, 0x89, -1, RAX, kVm,
          ranges + static_cast<int32_t>(offsetof(JitRanges, ctx_len)));
    e_.RM(true, 0x03, -1, RAX, kVm, hooks_.ctx_offset);  // add rax, [ctx_lo]
    e_.RM(true, 0x89, -1, RAX, kVm, hooks_.ctx_hi_offset);
    e_.Jmp(same_prog);
    e_.Bind(giveback);  // the helper spends the unit again
    e_.RM(true, 0x8b, -1, kAddr, kVm, hooks_.tail_run_offset);
    e_.RM(false, 0x83, -1, 5, kAddr, kTailCalls);  // sub dword [r11], 1
    e_.Byte(1);
    e_.Jmp(slow);
    e_.Bind(e2big);
    e_.MovImm(true, RAX, -E2BIG);
    e_.Jmp(done);
    e_.Bind(enoent);
    e_.MovImm(true, RAX, -ENOENT);
    e_.Jmp(done);
    e_.Bind(slow);
    CallHelper(d, /*tail_call_path=*/true);  // reloads the budget
    // The helper fell through (a taken call does not come back): what it
    // may have set (Vm::last_loaded_map_ through its map check) is zeroed
    // again in code that relies on the state staying as Vm::Enter left it.
    if (clean_tail_calls_) ZeroOnEnter(kAddr);
    e_.Jmp(done);
  });
}

// Vm::Enter()'s zeroing of the per-program state (Vm::JitZeroOnEnter lists
// the fields), through register `zero`: fields side by side are zeroed
// together, in the widest stores that stay inside them.
void Compiler::ZeroOnEnter(int zero) {
  std::vector<std::pair<int32_t, int32_t>> runs;  // offset, bytes
  for (const JitHooks::Zero& z : hooks_.zero_on_enter) {
    if (z.size == 0) break;
    // Vm::held_lock_ is 0 here: a program that may lock checked it before
    // the call, and one that may not never sets it.
    if (z.offset == hooks_.held_lock_offset) continue;
    if (!runs.empty() && runs.back().first + runs.back().second == z.offset) {
      runs.back().second += z.size;
    } else {
      runs.push_back({z.offset, z.size});
    }
  }
  e_.RR(false, 0x31, -1, zero, zero);  // xor zero32, zero32
  for (auto [at, left] : runs) {
    while (left > 0) {
      const int n = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
      if (n == 2) e_.Byte(0x66);
      e_.RM(n == 8, n == 1 ? 0x88 : 0x89, -1, zero, kVm, at, n == 1);
      at += n;
      left -= n;
    }
  }
}

void Compiler::InlineLookup(const DecodedInsn& d, const JitArray& a) {
  sets_state_ = true;  // the load range, and the helper's path
  const int slow = e_.NewLabel(), miss = e_.NewLabel(), done = e_.NewLabel();
  // The key (R2, 4 bytes) in the run's stack, as the helper's
  // NeedReadable finds it there; anything else goes to the helper. A key
  // at a constant offset from R10 inside the frame is there (InFrame).
  if (!InFrame(2, 0, 4)) {
    e_.Mov(true, kAddr, RSI);
    e_.RM(true, 0x2b, -1, kAddr, kVm, hooks_.stack_lo_offset);  // sub r11, lo
    e_.AluImm(true, 7, kAddr, hooks_.stack_size - 4);
    e_.Jcc(kA, slow);
  }
  e_.RM(false, 0x8b, -1, kTmp, RSI, 0);  // mov r10d, [rsi]: the index
  e_.AluImm(false, 7, kTmp, static_cast<int32_t>(a.max_entries));
  e_.Jcc(kAE, miss);
  if (a.percpu) {
    // The run's CPU (Vm::Enter); one past the map's copies (or unknown,
    // -1) is folded by the helper.
    uses_cpu_ = true;
    if (cpu_count_ == 0) cpu_count_ = a.nr_cpus;
    if (a.nr_cpus == cpu_count_) {
      // Folded into the map's copies by Vm::Enter as the helper folds it
      // (fifth piece): below nr_cpus, no check.
      e_.RM(false, 0x8b, -1, kAddr, kVm, info_->cpu_fold_offset);
    } else {
      e_.RM(false, 0x8b, -1, kAddr, kVm, info_->cpu_offset);  // r11d = cpu
      e_.AluImm(false, 7, kAddr, static_cast<int32_t>(a.nr_cpus));
      e_.Jcc(kAE, slow);
    }
    e_.RR(true, 0x69, -1, kAddr, kAddr);  // imul r11, r11, unit
    e_.Imm32(static_cast<int32_t>(a.unit));
  }
  e_.RR(true, 0x69, -1, kTmp, kTmp);  // imul r10, r10, slot
  e_.Imm32(static_cast<int32_t>(a.slot));
  e_.MovImm(true, RAX, static_cast<int64_t>(a.values));
  e_.RR(true, 0x01, -1, kTmp, RAX);  // add rax, r10
  if (a.percpu) e_.RR(true, 0x01, -1, kAddr, RAX);
  // The value is the range later loads check first (the map's values are
  // one of the program's areas: Vm::MapMemory allows them), if any load
  // is checked against it: the range is a cache of what Vm::Allowed
  // allows, so leaving an older object in it is as true.
  sets_load_range_ = true;
  if (keep_load_range_) {
    const int32_t rd = hooks_.ranges_offset;
    e_.RM(true, 0x89, -1, RAX, kVm,
          rd + static_cast<int32_t>(offsetof(JitRanges, rd_lo)));
    e_.RM(true, 0xc7, -1, 0, kVm,
          rd + static_cast<int32_t>(offsetof(JitRanges, rd_len)));
    e_.Imm32(static_cast<int32_t>(a.value_size));
  }
  e_.Bind(done);
  // Out of line (fifth piece), so that a hit runs straight through.
  stubs_.push_back([this, miss, slow, done, &d] {
    e_.Bind(miss);
    e_.RR(false, 0x31, -1, RAX, RAX);  // NULL
    e_.Jmp(done);
    e_.Bind(slow);
    CallHelper(d);
    e_.Jmp(done);
  });
}

// The verifier's do_misc_fixups turns a lookup on a hash map or LPM trie
// known at the call site into a direct call (htab_map_gen_lookup,
// htab_lru_map_gen_lookup; ops->map_lookup_elem otherwise). Here the call
// goes to JitMapLookup::lookup, which also records the value as the
// helper does, so what the program may do with it afterwards (loads and
// stores checked against the region table and JitRanges, a store refused
// in a BPF_F_RDONLY_PROG map) is what it may do after the helper. What
// the helper checks first is known here or checked inline: the map is one
// of the program's own (MapArg), the key's bytes lie in the run's stack
// (NeedReadable; anything else takes the helper). R0's value is
// tracked (TrackValues) as an array value is, until the next call: once
// tested for NULL, an access inside the value needs no check, as the
// verifier knows PTR_TO_MAP_VALUE's bounds and the interpreter finds the
// value's region in its table. Only an AddRegion of a later call can drop
// that region (the oldest of kMaxRegions goes), so after a call the
// accesses are checked again, as after the helper, and a value whose
// region the table has dropped is refused alike.
void Compiler::DirectLookup(const DecodedInsn& d, const JitMapLookup& m) {
  sets_state_ = true;  // the region table and ranges, and the helper's path
  ++map_lookups_;
  const int slow = e_.NewLabel(), done = e_.NewLabel();
  if (!InFrame(2, 0, m.key_size)) {
    e_.Mov(true, kAddr, RSI);
    e_.RM(true, 0x2b, -1, kAddr, kVm, hooks_.stack_lo_offset);  // sub r11, lo
    e_.AluImm(true, 7, kAddr,
              hooks_.stack_size - static_cast<int32_t>(m.key_size));
    e_.Jcc(kA, slow);
  }
  // R1-R5 keep their values across the call and the budget stays in r9
  // (the lookup runs no BPF code): six pushes keep the stack aligned.
  for (int r : {RDI, RSI, RDX, RCX, R8, R9}) e_.Push(r);  // r9: the budget
  e_.Mov(true, RDX, RSI);                                 // the key
  e_.MovImm(true, RSI, static_cast<int64_t>(m.map));
  e_.Mov(true, RDI, kVm);
  e_.CallAbs(reinterpret_cast<const void*>(m.lookup));
  for (int r : {R9, R8, RCX, RDX, RSI, RDI}) e_.Pop(r);
  e_.Bind(done);
  stubs_.push_back([this, slow, done, &d] {
    e_.Bind(slow);
    CallHelper(d);
    e_.Jmp(done);
  });
}

void Compiler::CallHelper(const DecodedInsn& d, bool tail_call_path) {
  if (!tail_call_path) sets_state_ = true;
  // R1-R5 keep their values across the call, as in the interpreter.
  for (int r : {RDI, RSI, RDX, RCX, R8}) e_.Push(r);
  e_.AluImm(true, 5, RSP, 8);
  SpillBudget();
  e_.Mov(true, R9, R8);
  e_.Mov(true, R8, RCX);
  e_.Mov(true, RCX, RDX);
  e_.Mov(true, RDX, RSI);
  e_.Mov(true, RSI, RDI);
  e_.Mov(true, RDI, kVm);
  e_.CallAbs(reinterpret_cast<const void*>(helpers_[d.imm]));
  ReloadBudget();
  e_.AluImm(true, 0, RSP, 8);
  for (int r : {R8, RCX, RDX, RSI, RDI}) e_.Pop(r);
  // A tail call (Vm::SwitchTo): the run continues in the target.
  e_.CmpVmZero(hooks_.switch_offset);
  e_.Jcc(kNE, switched_);
}

void Compiler::CallLocal(const DecodedInsn& d, uint32_t pc) {
  sets_state_ = true;  // the callee's helpers, Vm::depth_
  // The interpreter's order: the lock, the budget, then the depth.
  if (may_lock_) {
    e_.CmpVmZero(hooks_.held_lock_offset);
    e_.Jcc(kNE, FaultStub(kJitCallLocked, pc));
  }
  e_.RR(true, 0x83, -1, 5, kBudget);  // sub r9, 1
  e_.Byte(1);
  e_.Jcc(kE, FaultStub(kJitRecursion, pc));
  e_.RM(false, 0x8b, -1, kTmp, kVm, hooks_.depth_offset);  // mov r10d, [..]
  e_.AluImm(false, 0, kTmp, 1);
  e_.AluImm(false, 7, kTmp, hooks_.max_frames);
  e_.Jcc(kAE, FaultStub(kJitDeep, pc));
  e_.RM(false, 0x89, -1, kTmp, kVm, hooks_.depth_offset);  // mov [..], r10d
  // The caller keeps R1-R9 and R10; ten pushes and eight bytes keep the
  // callee's stack 16-byte aligned as the main program's is.
  for (int r : kSaved) e_.Push(r);
  e_.AluImm(true, 5, RSP, 8);
  // The callee's frame: R10 one frame lower, R0 and R6-R9 zero.
  e_.AluImm(true, 5, RBP, hooks_.frame_size);
  for (int r : {RAX, RBX, R13, R14, R15}) e_.RR(false, 0x31, -1, r, r);
  e_.CallLabel(d.off);
  e_.AluImm(true, 0, RSP, 8);
  for (size_t i = std::size(kSaved); i-- > 0;) e_.Pop(kSaved[i]);
}

void Compiler::Return() {
  if (has_calls_) {
    const int sub = e_.NewLabel();
    e_.RM(false, 0x83, -1, 7, kVm, hooks_.depth_offset);  // cmp dword [..], 0
    e_.Byte(0);
    e_.Jcc(kNE, sub);
    e_.Jmp(epilogue_);
    e_.Bind(sub);
    e_.RM(false, 0xff, -1, 1, kVm, hooks_.depth_offset);  // dec dword [..]
    e_.Byte(0xc3);                                        // ret
    return;
  }
  e_.Jmp(epilogue_);
}

// BPF_ATOMIC as the interpreter runs it (AtomicOp): add, or, and, xor with
// and without BPF_FETCH, xchg, cmpxchg; sequentially consistent (lock).
void Compiler::Atomic(const DecodedInsn& d, uint32_t pc) {
  const bool w = d.op == ATOMIC64;
  const int src = kMap[d.src];
  const int32_t op = static_cast<int32_t>(d.imm);
  constexpr int32_t kFetch = 1, kXchg = 0xe1, kCmpXchg = 0xf1;
  // The interpreter's "misaligned atomic" after the access check.
  e_.RR(false, 0xf7, -1, 0, kAddr);  // test r11d, size - 1
  e_.Imm32(w ? 7 : 3);
  e_.Jcc(kNE, FaultStub(kJitMisaligned, pc));
  int alu = -1;  // op [r11], src
  switch (op & ~kFetch) {
    case BPF_ADD:
      alu = 0x01;
      break;
    case BPF_OR:
      alu = 0x09;
      break;
    case BPF_AND:
      alu = 0x21;
      break;
    case BPF_XOR:
      alu = 0x31;
      break;
    default:
      break;
  }
  if (op == kXchg) {
    e_.RM(w, 0x87, -1, src, kAddr, 0);  // xchg: src = old
  } else if (op == kCmpXchg) {
    e_.Byte(0xf0);
    e_.RM(w, 0x0f, 0xb1, src, kAddr, 0);  // lock cmpxchg: R0 = old
    if (!w) e_.Mov(false, RAX, RAX);
  } else if (!(op & kFetch)) {
    e_.Byte(0xf0);
    e_.RM(w, alu, -1, src, kAddr, 0);  // lock op [r11], src
  } else if (alu == 0x01) {
    e_.Byte(0xf0);
    e_.RM(w, 0x0f, 0xc1, src, kAddr, 0);  // lock xadd: src = old
  } else {
    // A fetching or / and / xor: a cmpxchg loop in rax, R0 parked in r9.
    // r9 (the budget) is pushed around it.
    e_.Push(R9);
    const int operand = src == RAX ? R9 : src;
    e_.Mov(true, R9, RAX);
    e_.RM(w, 0x8b, -1, RAX, kAddr, 0);
    const int again = e_.NewLabel();
    e_.Bind(again);
    e_.Mov(w, kTmp, RAX);
    e_.RR(w, alu, -1, operand, kTmp);
    e_.Byte(0xf0);
    e_.RM(w, 0x0f, 0xb1, kTmp, kAddr, 0);
    e_.Jcc(kNE, again);
    if (src == RAX) {
      if (!w) e_.Mov(false, RAX, RAX);
    } else {
      e_.Mov(w, src, RAX);
      e_.Mov(true, RAX, R9);
    }
    e_.Pop(R9);
  }
}

void Compiler::TrackValues(const DecodedInsn& d, uint32_t pc) {
  const uint8_t op = d.op;
  const auto forget = [this](uint8_t r) {
    if (r < values_.size()) values_[r] = Value{};
  };
  if (IsCondJump(op)) {
    // r == 0 falls through when not NULL; r != 0 jumps when not NULL.
    const bool null_test = !FlavourOf(op).x && d.imm == 0 &&
                           FlavourOf(op).is64 && d.dst < values_.size();
    const auto t = static_cast<uint32_t>(d.off);
    if (t > pc && t < n_ && incoming_[t] == 1) {
      auto taken = std::make_unique<Values>(values_);
      if (null_test && FlavourOf(op).base == JNE64X) {
        (*taken)[d.dst].nonnull = true;
      }
      taken_[t] = std::move(taken);
    }
    if (null_test && FlavourOf(op).base == JEQ64X) {
      values_[d.dst].nonnull = true;
    }
    return;
  }
  if (op == JA || op == EXIT) {
    values_ = Unknown();  // the next instruction is reached only by a jump
    return;
  }
  if (op == CALL || op == CALL_LOCAL) {
    values_[0] = Value{};  // R1-R9 are kept (R1-R5 as the interpreter keeps)
    // A call may add regions to the Vm's table and so evict the oldest:
    // a direct lookup's value is checked again after one.
    for (Value& v : values_) {
      if (v.until_call) v = Value{};
    }
    if (op == CALL && looked_up_ != nullptr) {
      values_[0].valid = true;
      values_[0].size = looked_up_->value_size;
      values_[0].writable = looked_up_->writable;
      values_[0].until_call = looked_up_until_call_;
    }
    looked_up_ = nullptr;
    looked_up_until_call_ = false;
    return;
  }
  if (op >= ST8 && op <= STX64) return;  // no register written
  if (op == ATOMIC32 || op == ATOMIC64) {
    forget(d.src);  // a fetch or xchg writes it
    forget(0);      // cmpxchg writes R0
    return;
  }
  if (op == ADD64K && d.dst < values_.size() &&
      (values_[d.dst].valid || values_[d.dst].stack)) {
    Value& v = values_[d.dst];
    v.off += d.imm;
    if (v.off < -(int64_t{1} << 30) || v.off > (int64_t{1} << 30))
      forget(d.dst);
    return;
  }
  if (op == MOV64X && d.dst < values_.size() && d.src < values_.size()) {
    values_[d.dst] = values_[d.src];
    return;
  }
  forget(d.dst);  // anything else writes its destination
}

bool Compiler::Run(std::string* why) {
  // Labels 0..n-1 are the instructions, n the end.
  for (size_t i = 0; i <= n_; ++i) e_.NewLabel();
  epilogue_ = e_.NewLabel();
  for (size_t i = 0; i < n_; ++i) {
    switch (in_[i].op) {
      case LDABS:
      case LDIND:
      case CAST_USER:
        *why = "instruction " + std::to_string(i) +
               " (a legacy packet load or arena cast) is left to the "
               "interpreter";
        return false;
      case CALL_LOCAL:
        has_calls_ = true;
        break;
      case CALL:
        // Only bpf_spin_lock sets Vm::held_lock_ (which Vm::Enter clears),
        // and callbacks run this program's own instructions: without a
        // call of it the run never holds a lock, and the checks below that
        // fault on one are left out, as the verifier knows statically.
        if (info_ == nullptr || info_->helper_ids == nullptr ||
            info_->helper_ids[in_[i].imm] == BPF_FUNC_spin_lock) {
          may_lock_ = true;
        }
        break;
      default:
        break;
    }
  }
  // Where jumps and calls land (KnownR1 stops there).
  target_.assign(n_ + 1, false);
  incoming_.assign(n_ + 1, 0);
  taken_.resize(n_ + 1);
  for (size_t i = 0; i < n_; ++i) {
    const uint8_t op = in_[i].op;
    if (op == JA || op == CALL_LOCAL || IsCondJump(op)) {
      const auto t = static_cast<uint32_t>(in_[i].off);
      if (t <= n_) {
        target_[t] = true;
        ++incoming_[t];
      }
    }
  }
  switched_ = e_.NewLabel();
  Prologue();
  body_ = e_.code.size();
  ZeroLiveAtEntry();
  for (uint32_t pc = 0; pc < n_; ++pc) {
    const DecodedInsn& d = in_[pc];
    e_.Bind(static_cast<int>(pc));
    if (target_[pc]) {
      // A jump lands here: what holds on every way in. Only one forward
      // jump and no fall-through (after an exit or a goto): its state.
      const bool no_fall =
          pc > 0 && (in_[pc - 1].op == EXIT || in_[pc - 1].op == JA);
      values_ = no_fall && incoming_[pc] == 1 && taken_[pc] != nullptr
                    ? *taken_[pc]
                    : Unknown();
    }
    // After the instruction, on its fall-through path (an instruction
    // that `continue`s below has been emitted by then).
    struct AfterInsn {
      Compiler* c;
      const DecodedInsn& d;
      uint32_t pc;
      ~AfterInsn() { c->TrackValues(d, pc); }
    } after{this, d, pc};
    const int dst = kMap[d.dst], src = kMap[d.src];
    const uint8_t op = d.op;
    if (IsAlu(op)) {
      Alu(d);
      continue;
    }
    if (IsCondJump(op)) {
      CondJump(d, pc);
      continue;
    }
    switch (op) {
      case NEG64:
      case NEG32:
        e_.RR(op == NEG64, 0xf7, -1, 3, dst);
        break;
      case LE16:
        e_.RR(false, 0x0f, 0xb7, dst, dst);  // movzx r32, r16
        break;
      case LE32:
      case CAST_KERN:
        e_.Mov(false, dst, op == CAST_KERN ? src : dst);
        break;
      case SWAP16:
        e_.Byte(0x66);
        e_.RR(false, 0xc1, -1, 1, dst);  // ror r16, 8
        e_.Byte(8);
        e_.RR(false, 0x0f, 0xb7, dst, dst);
        break;
      case SWAP32:
      case SWAP64:
        e_.Rex(op == SWAP64, 0, dst);
        e_.Byte(0x0f);
        e_.Byte(static_cast<uint8_t>(0xc8 | (dst & 7)));
        break;
      case NOP:
        break;
      case JA:
        Goto(pc, static_cast<uint32_t>(d.off));
        break;
      case CALL:
        Call(d, pc);
        break;
      case CALL_LOCAL:
        CallLocal(d, pc);
        break;
      case EXIT:
        if (may_lock_) {
          e_.CmpVmZero(hooks_.held_lock_offset);
          e_.Jcc(kNE, FaultStub(kJitExitLocked, pc));
        }
        Return();
        break;
      case LDDW:
        e_.MovImm(true, dst, d.imm);
        break;
      case LDX8:
      case LDX16:
      case LDX32:
      case LDX64:
      case LDXS8:
      case LDXS16:
      case LDXS32:
        Memory(d, pc, true, [this, op, dst] {
          switch (op) {
            case LDX8:
              e_.RM(false, 0x0f, 0xb6, dst, kAddr, 0);
              break;
            case LDX16:
              e_.RM(false, 0x0f, 0xb7, dst, kAddr, 0);
              break;
            case LDX32:
              e_.RM(false, 0x8b, -1, dst, kAddr, 0);
              break;
            case LDX64:
              e_.RM(true, 0x8b, -1, dst, kAddr, 0);
              break;
            case LDXS8:
              e_.RM(true, 0x0f, 0xbe, dst, kAddr, 0);
              break;
            case LDXS16:
              e_.RM(true, 0x0f, 0xbf, dst, kAddr, 0);
              break;
            default:
              e_.RM(true, 0x63, -1, dst, kAddr, 0);  // movsxd
              break;
          }
        });
        break;
      case ST8:
      case ST16:
      case ST32:
      case ST64:
        Memory(d, pc, false, [this, &d] {
          const int32_t imm = static_cast<int32_t>(d.imm);
          if (d.size == 2) e_.Byte(0x66);
          e_.RM(d.size == 8, d.size == 1 ? 0xc6 : 0xc7, -1, 0, kAddr, 0);
          if (d.size == 1) {
            e_.Byte(static_cast<uint8_t>(imm));
          } else if (d.size == 2) {
            e_.Imm16(static_cast<int16_t>(imm));
          } else {
            e_.Imm32(imm);
          }
        });
        break;
      case STX8:
      case STX16:
      case STX32:
      case STX64:
        Memory(d, pc, false, [this, &d, src] {
          if (d.size == 2) e_.Byte(0x66);
          e_.RM(d.size == 8, d.size == 1 ? 0x88 : 0x89, -1, src, kAddr, 0,
                d.size == 1);
        });
        break;
      case ATOMIC32:
      case ATOMIC64:
        Memory(d, pc, false, [this, &d, pc] { Atomic(d, pc); });
        break;
      default:
        *why = "instruction " + std::to_string(pc) + " has no x86 form";
        return false;
    }
  }
  e_.Bind(static_cast<int>(n_));
  e_.Bind(epilogue_);
  SpillBudget();
  e_.AluImm(true, 0, RSP, 8);  // add rsp, 8
  for (int r : {R15, R14, R13, R12, RBX, RBP}) e_.Pop(r);
  e_.Byte(0xc3);
  // A helper set Vm::switch_to_. In a subprogram the target ran in the
  // frame's place (Vm::LeaveFrame), whose value returns to the caller.
  e_.Bind(switched_);
  if (has_calls_) {
    const int main = e_.NewLabel();
    e_.RM(false, 0x83, -1, 7, kVm, hooks_.depth_offset);  // cmp dword [..], 0
    e_.Byte(0);
    e_.Jcc(kE, main);
    e_.RM(true, 0xc7, -1, 0, kVm, hooks_.switch_offset);  // mov qword [..], 0
    e_.Imm32(0);
    e_.RM(false, 0xff, -1, 1, kVm, hooks_.depth_offset);  // dec dword [..]
    e_.Byte(0xc3);
    e_.Bind(main);
  }
  // A tail call from the main program: into the target's code past its
  // prologue, with R1 = ctx and R0, R2-R9 zero (R10 and the Vm are the
  // same); an interpreted target is left to Vm::RunJit.
  e_.Mov(true, RDI, kVm);
  e_.CallAbs(reinterpret_cast<const void*>(hooks_.tail_call));
  e_.RR(true, 0x85, -1, RAX, RAX);  // test rax, rax
  e_.Jcc(kE, epilogue_);
  e_.Mov(true, kAddr, RAX);
  ReloadBudget();  // the target's fresh budget (Vm::Enter)
  e_.RM(true, 0x8b, -1, RDI, kVm, hooks_.ctx_offset);
  for (int r : {RAX, RSI, RDX, RCX, R8, RBX, R13, R14, R15}) {
    e_.RR(false, 0x31, -1, r, r);
  }
  e_.RR(false, 0xff, -1, 4, kAddr);  // jmp r11
  // Out-of-line paths (stubs may add none while running).
  for (size_t i = 0; i < stubs_.size(); ++i) stubs_[i]();
  if (!e_.Resolve()) {
    *why = "an unbound label";
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<JitCode> JitCode::Compile(const DecodedInsn* insns, size_t n,
                                          const JitHelperFn* helpers,
                                          const JitHooks& hooks,
                                          std::string* why,
                                          const JitProgramInfo* info) {
#if !defined(__x86_64__)
  *why = "the JIT emits x86-64 code only";
  return nullptr;
#endif
  auto c = std::make_unique<Compiler>(insns, n, helpers, hooks, info);
  if (!c->Run(why)) return nullptr;
  if (c->sets_load_range() && !c->checks_loads()) {
    // No load reads the range the inline lookups set: again without those
    // stores (the same code otherwise, so it compiles as the first did).
    c = std::make_unique<Compiler>(insns, n, helpers, hooks, info,
                                   /*keep_load_range=*/false);
    if (!c->Run(why)) return nullptr;
  }
  if (c->tail_calls() && !c->sets_state()) {
    // Inline tail calls in code that never changes the per-program state
    // (sixth piece): again without their zeroing. The code is entered
    // only with that state zero (Vm::Enter, or an inline tail call that
    // zeroes it or finds it zero), so it stays zero at every tail call.
    c = std::make_unique<Compiler>(insns, n, helpers, hooks, info,
                                   c->keep_load_range(),
                                   /*clean_tail_calls=*/true);
    if (!c->Run(why)) return nullptr;
  }
  const std::vector<uint8_t>& code = c->code();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t mapped = (code.size() + page - 1) / page * page;
  void* mem = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    *why = "mmap failed";
    return nullptr;
  }
  std::memcpy(mem, code.data(), code.size());
  // W^X: never writable and executable at once.
  if (mprotect(mem, mapped, PROT_READ | PROT_EXEC) != 0) {
    munmap(mem, mapped);
    *why = "mprotect failed";
    return nullptr;
  }
  std::unique_ptr<JitCode> jit(
      new JitCode(mem, mapped, code.size(), c->body()));
  jit->uses_cpu_ = c->uses_cpu();
  jit->cpu_count_ = c->cpu_count();
  jit->tail_calls_ = c->tail_calls();
  jit->map_lookups_ = c->map_lookups();
  jit->clean_tail_calls_ = c->clean_tail_calls();
  return jit;
}

JitCode::JitCode(void* mem, size_t mapped, size_t size, size_t body)
    : mem_(mem),
      mapped_(mapped),
      size_(size),
      body_(body),
      entry_(reinterpret_cast<Entry>(mem)) {}

JitCode::~JitCode() { munmap(mem_, mapped_); }

}  // namespace bpfemu::interp
