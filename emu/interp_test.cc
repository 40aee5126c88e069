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
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
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

// resolve_pseudo_ldimm64(): BPF_PSEUDO_MAP_IDX(_VALUE) name a map by its
// index in fd_array; the fd found there resolves as BPF_PSEUDO_MAP_FD /
// _VALUE would.
class FdArrayLinker : public TestLinker {
 public:
  int MapHandle(int fd, uint64_t* handle) override {
    fds.push_back(fd);
    if (fd != 42) return -EBADF;
    *handle = 0x4200;
    return 0;
  }
  int MapValue(int fd, uint32_t off, uint64_t* addr, uint64_t* lo, uint64_t* hi,
               bool* writable) override {
    fds.push_back(fd);
    if (fd != 42) return -EBADF;
    *lo = reinterpret_cast<uint64_t>(value);
    *hi = *lo + sizeof(value);
    *addr = *lo + off;
    *writable = true;
    return 0;
  }
  std::vector<int> fds;
  uint64_t value[2] = {7, 9};
};

TEST(InterpTest, MapIndexesResolveThroughFdArray) {
  const int table[] = {-1, 42};
  auto load = [&](uint8_t pseudo, int32_t idx, int32_t hi, bool has_array,
                  FdArrayLinker* linker) {
    Insns p;
    a::LdImm64(&p, 1,
               static_cast<uint32_t>(idx) |
                   (uint64_t{static_cast<uint32_t>(hi)} << 32),
               pseudo);
    p.push_back(a::Ldx(BPF_DW, 0, 1, 0));
    p.push_back(a::Exit());
    LoadAttr attr;
    attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
    attr.insns = p.data();
    attr.insn_cnt = static_cast<uint32_t>(p.size());
    attr.has_fd_array = has_array;
    attr.fd_array_entry = [&](uint32_t index, int* fd) {
      if (index >= 2) return -EFAULT;
      *fd = table[index];
      return 0;
    };
    std::shared_ptr<const Program> prog;
    return Program::Load(attr, *linker, &prog);
  };
  FdArrayLinker l;
  // "fd_idx without fd_array is invalid".
  EXPECT_EQ(load(BPF_PSEUDO_MAP_IDX, 1, 0, false, &l), -EPROTO);
  EXPECT_EQ(load(BPF_PSEUDO_MAP_IDX_VALUE, 1, 0, false, &l), -EPROTO);
  // A map index with a non-zero upper half is no instruction at all.
  EXPECT_EQ(load(BPF_PSEUDO_MAP_IDX, 1, 1, false, &l), -EINVAL);
  // An entry past the readable array, and one that is no map.
  EXPECT_EQ(load(BPF_PSEUDO_MAP_IDX, 5, 0, true, &l), -EFAULT);
  EXPECT_EQ(load(BPF_PSEUDO_MAP_IDX, -1, 0, true, &l), -EFAULT);
  EXPECT_EQ(load(BPF_PSEUDO_MAP_IDX, 0, 0, true, &l), -EBADF);
  EXPECT_EQ(l.fds, std::vector<int>({-1}));
  l.fds.clear();
  // fd_array[1] is map fd 42: by handle and by value (offset 8).
  EXPECT_EQ(load(BPF_PSEUDO_MAP_IDX, 1, 0, true, &l), 0);
  EXPECT_EQ(load(BPF_PSEUDO_MAP_IDX_VALUE, 1, 8, true, &l), 0);
  ASSERT_FALSE(l.fds.empty());
  for (int fd : l.fds) EXPECT_EQ(fd, 42);
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

// The verifier's answers to accesses through a moved context pointer
// (__check_ptr_off_reg, check_atomic), as Linux 6.18 gave them
// (kernel_compare/interp_compare_test.cc compares them with the kernel).
TEST(InterpTest, ModifiedContextPointersAreRefused) {
  const auto refusal = [](const Insns& p) {
    TestLinker linker;
    LoadAttr attr;
    attr.prog_type = BPF_PROG_TYPE_SCHED_CLS;
    attr.insns = p.data();
    attr.insn_cnt = static_cast<uint32_t>(p.size());
    std::string log;
    attr.log = &log;
    std::shared_ptr<const Program> prog;
    const int err = Program::Load(attr, linker, &prog);
    return std::to_string(err) + " " + log;
  };
  EXPECT_EQ(refusal(Ret({a::AluImm(BPF_ADD, 1, 4), a::Ldx(BPF_W, 0, 1, 0)})),
            "-13 dereference of modified ctx ptr R1 off=4 disallowed\n");
  EXPECT_EQ(refusal(Ret({a::AluImm(BPF_ADD, 1, -4), a::Ldx(BPF_W, 0, 1, 4)})),
            "-13 negative offset ctx ptr R1 off=-4 disallowed\n");
  EXPECT_EQ(refusal(Ret({a::Ldx(BPF_W, 2, 1, 0), a::AluImm(BPF_AND, 2, 0xc),
                         a::AluReg(BPF_ADD, 1, 2), a::Ldx(BPF_B, 0, 1, 0)})),
            "-13 variable ctx access var_off=(0x0; 0xc) disallowed\n");
  EXPECT_EQ(refusal(Ret({a::MovImm(2, 8), a::AluReg(BPF_ADD, 1, 2),
                         a::Ldx(BPF_B, 0, 1, 0)})),
            "-13 dereference of modified ctx ptr R1 off=8 disallowed\n");
  EXPECT_EQ(refusal(Ret({a::AluImm(BPF_ADD, 1, 4), a::St(BPF_W, 1, 0, 1),
                         a::MovImm(0, 0)})),
            "-13 dereference of modified ctx ptr R1 off=4 disallowed\n");
  EXPECT_EQ(refusal(Ret({a::MovImm(2, 1), a::Atomic(BPF_W, 1, 2, 0, BPF_ADD),
                         a::MovImm(0, 0)})),
            "-13 BPF_ATOMIC stores into R1 ctx is not allowed\n");
  // Back at offset 0: loads.
  EXPECT_EQ(refusal(Ret({a::AluImm(BPF_ADD, 1, 4), a::AluImm(BPF_SUB, 1, 4),
                         a::Ldx(BPF_W, 0, 1, 0)})),
            "0 ");
}

// addr_space_cast and arena accesses against a fake arena: four pages at
// user address kStart (window offsets 0x10000..0x14000), `present` saying
// which exist. emu/arena_test.cc runs the same paths on a real ARENA map.
constexpr uint64_t kStart = 0x00007f5600010000ULL;
constexpr uint64_t kWin = kStart & 0xffffffffULL;  // page 0's window offset
constexpr uint64_t kPage = 4096;

class FakeArena : public ArenaWindow {
 public:
  explicit FakeArena(uint64_t start) : start_(start) {}
  uint64_t user_vm_start() const override { return start_; }
  uint64_t user_vm_end() const override {
    return start_ == 0 ? 0 : start_ + sizeof(mem);
  }
  bool no_user_conv() const override { return no_conv; }
  uint8_t* At(uint64_t off, uint64_t len) const override {
    const uint64_t lo = static_cast<uint32_t>(start_);
    if (off < lo || off + len > lo + sizeof(mem)) return nullptr;
    const uint64_t first = (off - lo) / kPage,
                   last = (off - lo + len - 1) / kPage;
    if (!present[first] || !present[last]) return nullptr;
    return const_cast<uint8_t*>(mem) + (off - lo);
  }
  // The kfuncs' side is emu/arena_test.cc's; here it records its calls.
  uint64_t AllocPages(uint64_t uaddr, uint32_t page_cnt, int32_t node_id,
                      uint64_t flags) override {
    last_call = {uaddr, page_cnt, uint64_t(int64_t{node_id}), flags};
    return start_ + kPage;
  }
  void FreePages(uint64_t uaddr, uint32_t page_cnt) override {
    last_call = {uaddr, page_cnt, 0, 0};
  }
  uint64_t U64(uint64_t off) const {
    uint64_t v;
    std::memcpy(&v, mem + off, 8);
    return v;
  }

  bool present[4] = {true, false, true, true};
  bool no_conv = false;
  std::vector<uint64_t> last_call;
  alignas(8) uint8_t mem[4 * kPage] = {};

 private:
  uint64_t start_;
};

// Map fds 7 and 8: two arenas; 9: an arena whose user range is unset.
class ArenaLinker : public Linker {
 public:
  HelperFn Helper(int32_t, uint32_t, bool*) override { return nullptr; }
  int MapHandle(int fd, uint64_t* handle) override {
    if (fd < 7 || fd > 9) return -EBADF;
    *handle = 0x1000 + fd;
    return 0;
  }
  int MapValue(int, uint32_t, uint64_t*, uint64_t*, uint64_t*, bool*) override {
    return -EINVAL;
  }
  ArenaWindow* MapArena(uint64_t handle) override {
    if (handle == 0x1007) return &a;
    if (handle == 0x1008) return &b;
    if (handle == 0x1009) return &unset;
    return nullptr;
  }
  FakeArena a{kStart}, b{kStart + (uint64_t{1} << 32)}, unset{0};
};

RawInsn Cast(uint8_t dst, uint8_t src, int32_t imm) {
  return a::Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 1, imm);
}

int LoadArena(ArenaLinker& linker, const Insns& p,
              std::shared_ptr<const Program>* out) {
  LoadAttr attr;
  attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
  attr.insns = p.data();
  attr.insn_cnt = static_cast<uint32_t>(p.size());
  return Program::Load(attr, linker, out);
}

uint64_t RunArena(ArenaLinker& linker, const Insns& p, bool* faulted) {
  std::shared_ptr<const Program> prog;
  EXPECT_EQ(LoadArena(linker, p, &prog), 0);
  if (prog == nullptr) return ~0ull;
  Prog desc;
  desc.type = BPF_PROG_TYPE_RAW_TRACEPOINT;
  desc.code = prog;
  uint64_t ctx[12] = {};
  const uint64_t r = ProgRun(desc, ctx);
  *faulted = ProgFaulted();
  return r;
}

// R9 = the arena map (fd 7), as the program's first instructions.
Insns WithArena(Insns body, int fd = 7) {
  Insns p;
  a::LdMapFd(&p, 9, fd);
  p.insert(p.end(), body.begin(), body.end());
  p.push_back(a::Exit());
  return p;
}

TEST(InterpArenaTest, AddrSpaceCastLoadChecks) {
  ArenaLinker linker;
  std::shared_ptr<const Program> prog;
  // Only the casts between address spaces 1 and 0.
  for (int32_t imm : {0, 2, (1 << 16) | 1, 2 << 16, -1}) {
    EXPECT_EQ(
        LoadArena(linker, WithArena({Cast(1, 1, imm), a::MovImm(0, 0)}), &prog),
        -EINVAL)
        << imm;
  }
  // Only in a program with an arena, wherever its map load is.
  EXPECT_EQ(LoadArena(linker, Ret({Cast(1, 1, 1), a::MovImm(0, 0)}), &prog),
            -EINVAL);
  Insns late = {Cast(1, 1, 1), a::MovImm(0, 0)};
  a::LdMapFd(&late, 9, 7);
  late.push_back(a::Exit());
  EXPECT_EQ(LoadArena(linker, late, &prog), 0);
  // A 32-bit move has no cast; the frame pointer stays read-only.
  EXPECT_EQ(LoadArena(linker,
                      WithArena({a::Insn(BPF_ALU | BPF_MOV | BPF_X, 1, 1, 1, 1),
                                 a::MovImm(0, 0)}),
                      &prog),
            -EINVAL);
  EXPECT_EQ(
      LoadArena(linker, WithArena({Cast(10, 1, 1), a::MovImm(0, 0)}), &prog),
      -EACCES);
  // Without an arena that is EINVAL first.
  EXPECT_EQ(LoadArena(linker, Ret({Cast(10, 1, 1), a::MovImm(0, 0)}), &prog),
            -EINVAL);
  // resolve_pseudo_ldimm64(): one arena per program (the same one twice is
  // fine), and its user range must be set.
  Insns two = WithArena({a::MovImm(0, 0)});
  two.pop_back();
  a::LdMapFd(&two, 8, 8);
  two.push_back(a::Exit());
  EXPECT_EQ(LoadArena(linker, two, &prog), -EBUSY);
  Insns same = WithArena({a::MovImm(0, 0)});
  same.pop_back();
  a::LdMapFd(&same, 8, 7);
  same.push_back(a::Exit());
  EXPECT_EQ(LoadArena(linker, same, &prog), 0);
  EXPECT_EQ(LoadArena(linker, WithArena({a::MovImm(0, 0)}, 9), &prog), -EINVAL);
}

TEST(InterpArenaTest, AddrSpaceCastFollowsTheJit) {
  ArenaLinker linker;
  Insns p = WithArena({});
  p.pop_back();
  a::LdImm64(&p, 1, kStart + 0x1234);  // a user pointer
  p.push_back(Cast(2, 1, 1));          // to as(0)
  p.push_back(Cast(3, 2, 1 << 16));    // and back
  p.push_back(a::MovImm(4, 0));
  p.push_back(Cast(5, 4, 1 << 16));  // NULL stays NULL
  a::LdImm64(&p, 6, 0xdeadbeef00000010ULL);
  p.push_back(Cast(7, 6, 1 << 16));  // upper bits replaced
  p.push_back(Cast(6, 6, 1));        // in place
  a::LdImm64(&p, 8, kWin);           // page 0
  p.push_back(a::Stx(BPF_DW, 8, 2, 0));
  p.push_back(a::Stx(BPF_DW, 8, 3, 8));
  p.push_back(a::Stx(BPF_DW, 8, 5, 16));
  p.push_back(a::Stx(BPF_DW, 8, 7, 24));
  p.push_back(a::Stx(BPF_DW, 8, 6, 32));
  p.push_back(a::MovImm(0, 0));
  p.push_back(a::Exit());
  bool faulted = true;
  RunArena(linker, p, &faulted);
  EXPECT_FALSE(faulted) << LastFault();
  EXPECT_EQ(linker.a.U64(0), 0x00011234u);
  EXPECT_EQ(linker.a.U64(8), kStart + 0x1234);
  EXPECT_EQ(linker.a.U64(16), 0u);
  EXPECT_EQ(linker.a.U64(24), (kStart & ~0xffffffffULL) | 0x10);
  EXPECT_EQ(linker.a.U64(32), 0x10u);
  // BPF_F_NO_USER_CONV: both casts are 32-bit moves.
  linker.a.no_conv = true;
  RunArena(linker, p, &faulted);
  EXPECT_FALSE(faulted) << LastFault();
  EXPECT_EQ(linker.a.U64(8), 0x00011234u);
  EXPECT_EQ(linker.a.U64(24), 0x10u);
}

TEST(InterpArenaTest, DirectValueOfAnArenaIsItsUserRange) {
  ArenaLinker linker;
  std::shared_ptr<const Program> prog;
  // arena_map_direct_value_addr(): user_vm_start + off, off up to the
  // range's length; beyond it ERANGE.
  auto value = [](int fd, uint32_t off) {
    Insns p;
    p.push_back(
        a::Insn(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_VALUE, 0, fd));
    p.push_back(a::Insn(0, 0, 0, 0, static_cast<int32_t>(off)));
    p.push_back(Cast(2, 1, 1));
    a::LdImm64(&p, 8, kWin);
    p.push_back(a::Stx(BPF_DW, 8, 1, 0));
    p.push_back(a::Stx(BPF_DW, 8, 2, 8));
    p.push_back(a::MovImm(0, 0));
    p.push_back(a::Exit());
    return p;
  };
  EXPECT_EQ(LoadArena(linker, value(7, 4 * kPage + 1), &prog), -ERANGE);
  EXPECT_EQ(LoadArena(linker, value(9, 0), &prog), -EINVAL);
  bool faulted = true;
  RunArena(linker, value(7, 0x48), &faulted);
  EXPECT_FALSE(faulted) << LastFault();
  EXPECT_EQ(linker.a.U64(0), kStart + 0x48);
  EXPECT_EQ(linker.a.U64(8), kWin + 0x48);
  RunArena(linker, value(7, 4 * kPage), &faulted);
  EXPECT_FALSE(faulted) << LastFault();
  EXPECT_EQ(linker.a.U64(0), kStart + 4 * kPage);
}

TEST(InterpArenaTest, MissingPagesReadZeroAndDropStores) {
  ArenaLinker linker;
  FakeArena& ar = linker.a;
  Insns p = WithArena({});
  p.pop_back();
  a::LdImm64(&p, 8, kWin);          // page 0, present
  a::LdImm64(&p, 7, kWin + kPage);  // page 1, missing
  // Present: a store and a load.
  p.push_back(a::St(BPF_DW, 8, 64, 42));
  p.push_back(a::Ldx(BPF_DW, 1, 8, 64));
  p.push_back(a::Stx(BPF_DW, 8, 1, 72));
  // Missing: the load gives 0 whatever the register held, the store and
  // the atomic do nothing (a fetch leaves its register).
  p.push_back(a::MovImm(1, 99));
  p.push_back(a::Ldx(BPF_DW, 1, 7, 8));
  p.push_back(a::Stx(BPF_DW, 8, 1, 80));
  p.push_back(a::St(BPF_W, 7, 0, 5));
  p.push_back(a::MovImm(2, 7));
  p.push_back(a::Atomic(BPF_DW, 7, 2, 16, BPF_ADD | BPF_FETCH));
  p.push_back(a::Stx(BPF_DW, 8, 2, 88));
  // Straddling pages 0 and 1: the whole access faults.
  p.push_back(a::MovImm(1, 99));
  p.push_back(a::Ldx(BPF_DW, 1, 7, -4));
  p.push_back(a::Stx(BPF_DW, 8, 1, 96));
  // The guard below the window and past its 4 GiB.
  p.push_back(a::MovImm(3, 0));
  p.push_back(a::MovImm(1, 99));
  p.push_back(a::Ldx(BPF_DW, 1, 3, -8));
  p.push_back(a::Stx(BPF_DW, 8, 1, 104));
  a::LdImm64(&p, 3, 0xfffffff8ULL);
  p.push_back(a::MovImm(1, 99));
  p.push_back(a::Ldx(BPF_DW, 1, 3, 16));
  p.push_back(a::Stx(BPF_DW, 8, 1, 112));
  // Page 2 through a negative offset from page 3.
  a::LdImm64(&p, 4, kWin + 3 * kPage);
  p.push_back(a::St(BPF_B, 4, -1, 0x5a));
  p.push_back(a::MovImm(0, 0));
  p.push_back(a::Exit());
  bool faulted = true;
  RunArena(linker, p, &faulted);
  EXPECT_FALSE(faulted) << LastFault();
  EXPECT_EQ(ar.U64(64), 42u);
  EXPECT_EQ(ar.U64(72), 42u);
  EXPECT_EQ(ar.U64(80), 0u);
  EXPECT_EQ(ar.U64(88), 7u);
  EXPECT_EQ(ar.U64(96), 0u);
  EXPECT_EQ(ar.U64(104), 0u);
  EXPECT_EQ(ar.U64(112), 0u);
  EXPECT_EQ(ar.mem[3 * kPage - 1], 0x5a);
  for (uint64_t i = kPage; i < 2 * kPage; ++i) ASSERT_EQ(ar.mem[i], 0) << i;
}

TEST(InterpArenaTest, AccessesTheVerifierRefusesStopTheRun) {
  ArenaLinker linker;
  bool faulted = false;
  // A sign-extending load from the arena (EOPNOTSUPP at load).
  Insns sx = WithArena({});
  sx.pop_back();
  a::LdImm64(&sx, 8, kWin);
  sx.push_back(a::Insn(BPF_LDX | 0x80 | BPF_W, 0, 8, 0, 0));
  sx.push_back(a::Exit());
  RunArena(linker, sx, &faulted);
  EXPECT_TRUE(faulted);
  // A 64-bit value is no arena pointer (PTR_TO_ARENA is 32-bit).
  Insns wide = WithArena({});
  wide.pop_back();
  a::LdImm64(&wide, 8, kStart);
  wide.push_back(a::Ldx(BPF_DW, 0, 8, 0));
  wide.push_back(a::Exit());
  RunArena(linker, wide, &faulted);
  EXPECT_TRUE(faulted);
  // Without an arena, a small address is just invalid memory.
  EXPECT_EQ(
      Exec(Ret({a::MovImm(8, 0x10000), a::Ldx(BPF_DW, 0, 8, 0)}), &faulted),
      0u);
  EXPECT_TRUE(faulted);
}

// The exception callback (LoadAttr::exception_cb) is checked at load as
// the verifier checks it, a subprogram presumed called: a helper no kernel
// has is refused there (EINVAL), where the same dead code elsewhere loads.
TEST(InterpTest, ExceptionCallbackIsWalkedAtLoad) {
  const Insns p = {a::MovImm(0, 0), a::Exit(),
                   // insn 2: the callback
                   a::Call(9999), a::MovImm(0, 0), a::Exit()};
  TestLinker linker;
  LoadAttr attr;
  attr.prog_type = BPF_PROG_TYPE_SCHED_CLS;
  attr.insns = p.data();
  attr.insn_cnt = static_cast<uint32_t>(p.size());
  std::string log;
  attr.log = &log;
  std::shared_ptr<const Program> prog;
  EXPECT_EQ(Program::Load(attr, linker, &prog), 0) << log;
  attr.exception_cb = 2;
  EXPECT_EQ(Program::Load(attr, linker, &prog), -EINVAL);
  EXPECT_EQ(log, "invalid func unknown#9999\n");
}

// A dynptr's 16 bytes (Vm::SealDynptr) are the program's stack: once the
// program changes one of them, HasRegion(addr, kDynptrTag) is false (the
// verifier's destroy_if_dynptr_stack_slot), whether the store came from
// the interpreter or the JIT. Helper 1 (Sum) stands in for any call; the
// helpers below seal the dynptr at R1 and answer whether it still is one.
uint64_t SealAt(Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t) {
  vm.SealDynptr(r1);
  return 0;
}
uint64_t IsDynptrAt(Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                    uint64_t) {
  return vm.HasRegion(r1, Vm::kDynptrTag) ? 1 : 0;
}
class DynptrLinker : public TestLinker {
 public:
  HelperFn Helper(int32_t id, uint32_t type, bool* gpl_only) override {
    if (id == 2) return SealAt;
    if (id == 3) return IsDynptrAt;
    return TestLinker::Helper(id, type, gpl_only);
  }
};

TEST(InterpTest, ADynptrTheProgramOverwroteIsNone) {
  // fp-16: 16 bytes, sealed; `store` (or nothing); R0 = still a dynptr.
  auto run = [](std::optional<RawInsn> store) {
    Insns p = {a::St(BPF_DW, 10, -16, 7),
               a::St(BPF_DW, 10, -8, 9),
               a::MovReg(1, 10),
               a::AluImm(BPF_ADD, 1, -16),
               a::Call(2),
               a::MovImm(2, 1),
               a::Call(1)};
    if (store) p.push_back(*store);
    p.push_back(a::Call(3));
    p.push_back(a::Exit());
    DynptrLinker linker;
    LoadAttr attr;
    attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
    attr.insns = p.data();
    attr.insn_cnt = static_cast<uint32_t>(p.size());
    std::shared_ptr<const Program> prog;
    EXPECT_EQ(Program::Load(attr, linker, &prog), 0);
    if (prog == nullptr) return ~uint64_t{0};
    Prog desc;
    desc.type = BPF_PROG_TYPE_RAW_TRACEPOINT;
    desc.code = prog;
    uint64_t ctx[4] = {};
    const uint64_t r = ProgRun(desc, ctx);
    EXPECT_FALSE(ProgFaulted()) << LastFault();
    return r;
  };
  EXPECT_EQ(run(std::nullopt), 1u);
  // Writing the bytes it holds keeps it; any other byte does not.
  EXPECT_EQ(run(a::St(BPF_DW, 10, -16, 7)), 1u);
  EXPECT_EQ(run(a::St(BPF_DW, 10, -16, 8)), 0u);
  EXPECT_EQ(run(a::St(BPF_B, 10, -1, 1)), 0u);
  EXPECT_EQ(run(a::Stx(BPF_W, 10, 10, -12)), 0u);
  // A store next to it leaves it alone.
  EXPECT_EQ(run(a::St(BPF_DW, 10, -24, 1)), 1u);
}

// interp_test runs this file with BPFEMU_JIT=0 (the interpreter),
// interp_jit_test with BPFEMU_JIT=1: its programs are then the JIT's
// (emu/jit_x86.h), and the results above must not change. Unset, the JIT
// is on.
TEST(InterpTest, TheJitRunsTheseTestsUnlessBpfemuJitIsZero) {
  const char* env = std::getenv("BPFEMU_JIT");
  std::shared_ptr<const Program> prog;
  ASSERT_EQ(Load(Ret({a::MovImm(0, 1)}), &prog), 0);
  EXPECT_EQ(prog->jitted(), env == nullptr || std::strcmp(env, "0") != 0);
}

}  // namespace
}  // namespace bpfemu::interp
