// SPDX-License-Identifier: Apache-2.0
// Differential tests of the bytecode interpreter (emu/interp.h) at the
// instruction level: the same hand-assembled programs are loaded into the
// kernel (bpf(BPF_PROG_LOAD) and bpf_prog_test_run_opts) and into bpfemu
// (native::ProgLoadBytecode and the same test-run context).
//
// * Random ALU / ALU32 / JMP / JMP32 / sign-extending load / atomic cases
//   with edge-case operands, each result stored into an array map value:
//   the values must be equal bit for bit.
// * Malformed programs: the load errno must be equal.
// * The kernel's LRU test trick (tools/testing/selftests/bpf/test_lru_map.c):
//   a program looks keys up to set their reference bits; which keys survive
//   the next evictions must be equal.

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "emu/cpu.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_test.h"
#include "testing/raw_prog_load.h"

namespace bpfemu {
namespace {

using interp::RawInsn;
namespace a = interp::asm_;
using Insns = std::vector<RawInsn>;

int KernelProgLoad(uint32_t type, const Insns& insns, const char* license) {
  return KernelLoadRaw({.type = type,
                        .license = license,
                        .insns = insns,
                        .with_log = false})
      .fd;
}

int EmuProgLoad(uint32_t type, const Insns& insns, const char* license) {
  return EmuLoadRaw({.type = type,
                     .license = license,
                     .insns = insns,
                     .with_log = false})
      .fd;
}

// Programs with a name for the comparison's lines.
struct NamedInsns {
  const char* name;
  Insns insns;
};

// Each program loaded as each of `types` on both sides: the errno and the
// verifier's last log line must be equal.
void ExpectTheKernelsVerdicts(const std::vector<NamedInsns>& progs,
                              std::initializer_list<uint32_t> types) {
  for (const uint32_t type : types) {
    std::vector<std::string> kernel_side, emu_side;
    for (const NamedInsns& p : progs) {
      const RawProg raw{.type = type, .insns = p.insns};
      kernel_side.push_back(absl::StrCat(p.name, ": ", KernelLoadVerdict(raw)));
      emu_side.push_back(absl::StrCat(p.name, ": ", EmuLoadVerdict(raw)));
    }
    EXPECT_EQ(kernel_side, emu_side) << "program type " << type;
  }
}

std::vector<uint8_t> Frame() {
  std::vector<uint8_t> f(64, 0);
  f[12] = 0x08;  // IPv4
  return f;
}

uint32_t KernelRunXdp(int fd) {
  std::vector<uint8_t> in = Frame(), out(in.size());
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(),
              .data_out = out.data(), .data_size_in = (uint32_t)in.size(),
              .data_size_out = (uint32_t)out.size());
  EXPECT_EQ(bpf_prog_test_run_opts(fd, &opts), 0);
  return opts.retval;
}

uint32_t EmuRunXdp(int fd) {
  std::shared_ptr<const Prog> prog;
  EXPECT_EQ(ProgFromFd(fd, &prog), 0);
  native::PacketResult r = native::RunXdp(*prog, Frame());
  EXPECT_EQ(r.err, 0);
  EXPECT_FALSE(ProgFaulted()) << interp::LastFault();
  return r.retval;
}

// Operand values that find the corners.
uint64_t Operand(std::mt19937_64& rng) {
  static constexpr uint64_t kEdges[] = {0,
                                        1,
                                        2,
                                        3,
                                        7,
                                        31,
                                        32,
                                        63,
                                        64,
                                        uint64_t(-1),
                                        uint64_t(-2),
                                        uint64_t(INT64_MIN),
                                        uint64_t(INT64_MAX),
                                        0x7fffffff,
                                        0x80000000,
                                        0xffffffff,
                                        0x100000000,
                                        0xffffffff80000000,
                                        0x8000,
                                        0x80,
                                        0xff,
                                        0xffff};
  switch (rng() % 4) {
    case 0:
      return kEdges[rng() % std::size(kEdges)];
    case 1:
      return rng() % 1000;
    case 2:
      return uint64_t(-int64_t(rng() % 1000));
    default:
      return rng();
  }
}

// One random case: appends its instructions, which leave the result(s) in
// the map value slots `slot` (and `slot + 1`), and describes itself.
std::string RandomCase(std::mt19937_64& rng, Insns* p, int slot) {
  const uint64_t x = Operand(rng), y = Operand(rng);
  a::LdImm64(p, BPF_REG_1, x);
  a::LdImm64(p, BPF_REG_2, y);
  const bool is64 = rng() % 2;
  const int16_t off = static_cast<int16_t>(8 * slot);
  std::string what;
  switch (rng() % 6) {
    case 0:
    case 1: {  // ALU
      struct Alu {
        uint8_t op;
        int16_t off;
        const char* name;
      };
      static constexpr Alu kOps[] = {
          {BPF_ADD, 0, "add"},      {BPF_SUB, 0, "sub"},
          {BPF_MUL, 0, "mul"},      {BPF_DIV, 0, "div"},
          {BPF_DIV, 1, "sdiv"},     {BPF_MOD, 0, "mod"},
          {BPF_MOD, 1, "smod"},     {BPF_OR, 0, "or"},
          {BPF_AND, 0, "and"},      {BPF_XOR, 0, "xor"},
          {BPF_LSH, 0, "lsh"},      {BPF_RSH, 0, "rsh"},
          {BPF_ARSH, 0, "arsh"},    {BPF_MOV, 0, "mov"},
          {BPF_MOV, 8, "movsx8"},   {BPF_MOV, 16, "movsx16"},
          {BPF_MOV, 32, "movsx32"}, {BPF_NEG, 0, "neg"}};
      const Alu& op = kOps[rng() % std::size(kOps)];
      bool reg = rng() % 2;
      if (op.op == BPF_NEG) reg = false;
      if (op.op == BPF_MOV && op.off != 0) reg = true;
      const bool w64 = (op.op == BPF_MOV && op.off == 32) ? true : is64;
      int32_t imm = static_cast<int32_t>(y);
      if (op.op == BPF_NEG) imm = 0;
      if (!reg && (op.op == BPF_DIV || op.op == BPF_MOD) && imm == 0) imm = 3;
      if (!reg && (op.op == BPF_LSH || op.op == BPF_RSH || op.op == BPF_ARSH)) {
        imm = static_cast<int32_t>(y % (w64 ? 64 : 32));
      }
      p->push_back(reg ? a::AluReg(op.op, BPF_REG_1, BPF_REG_2, w64, op.off)
                       : a::AluImm(op.op, BPF_REG_1, imm, w64, op.off));
      p->push_back(a::Stx(BPF_DW, BPF_REG_6, BPF_REG_1, off));
      what = absl::StrFormat(
          "%s%s %s 0x%x, %s", w64 ? "alu64 " : "alu32 ", op.name,
          reg ? "reg" : "imm", x,
          reg ? absl::StrFormat("0x%x", y) : absl::StrFormat("%d", imm));
      break;
    }
    case 2: {  // byte order
      const int32_t bits = (16 << (rng() % 3));
      const int kind = rng() % 3;  // le, be, bswap
      p->push_back(a::Endian(BPF_REG_1, bits, kind == 1, kind == 2));
      p->push_back(a::Stx(BPF_DW, BPF_REG_6, BPF_REG_1, off));
      what = absl::StrFormat("%s%d 0x%x",
                             kind == 0   ? "le"
                             : kind == 1 ? "be"
                                         : "bswap",
                             bits, x);
      break;
    }
    case 3: {  // conditional jumps
      static constexpr uint8_t kJmps[] = {
          BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
          BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
      const uint8_t op = kJmps[rng() % std::size(kJmps)];
      const bool reg = rng() % 2;
      p->push_back(a::MovImm(BPF_REG_3, 1));
      p->push_back(
          reg ? a::JmpReg(op, BPF_REG_1, BPF_REG_2, 1, is64)
              : a::JmpImm(op, BPF_REG_1, static_cast<int32_t>(y), 1, is64));
      p->push_back(a::MovImm(BPF_REG_3, 0));
      p->push_back(a::Stx(BPF_DW, BPF_REG_6, BPF_REG_3, off));
      what = absl::StrFormat("jmp%s op 0x%x %s 0x%x, 0x%x", is64 ? "" : "32",
                             op, reg ? "reg" : "imm", x, y);
      break;
    }
    case 4: {  // loads, sign-extending and not
      static constexpr uint8_t kSizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
      const uint8_t size = kSizes[rng() % 4];
      const bool sx = size != BPF_DW && rng() % 2;
      const int16_t at =
          static_cast<int16_t>(-16 + (rng() % 2) * (size == BPF_B ? 1 : 0));
      p->push_back(a::Stx(BPF_DW, BPF_REG_10, BPF_REG_1, -16));
      p->push_back(a::Ldx(size, BPF_REG_1, BPF_REG_10, at, sx));
      p->push_back(a::Stx(BPF_DW, BPF_REG_6, BPF_REG_1, off));
      what =
          absl::StrFormat("ldx%s size 0x%x of 0x%x", sx ? "sx" : "", size, x);
      break;
    }
    default: {  // atomics
      static constexpr int32_t kAtomics[] = {
          BPF_ADD,     BPF_ADD | 1, BPF_OR,      BPF_OR | 1, BPF_AND,
          BPF_AND | 1, BPF_XOR,     BPF_XOR | 1, 0xe1,       0xf1};
      const int32_t op = kAtomics[rng() % std::size(kAtomics)];
      const uint8_t size = is64 ? BPF_DW : BPF_W;
      p->push_back(a::Stx(BPF_DW, BPF_REG_6, BPF_REG_1, off));
      a::LdImm64(p, BPF_REG_0, rng() % 2 ? x : Operand(rng));
      p->push_back(a::Atomic(size, BPF_REG_6, BPF_REG_2, off, op));
      p->push_back(a::Stx(BPF_DW, BPF_REG_6, op == 0xf1 ? BPF_REG_0 : BPF_REG_2,
                          static_cast<int16_t>(off + 8)));
      what = absl::StrFormat("atomic%s op 0x%x mem 0x%x src 0x%x",
                             is64 ? "64" : "32", op, x, y);
      break;
    }
  }
  return what;
}

constexpr int kCases = 48;

// A program: look up key 0 of `map_fd`, run the cases on its value, return
// XDP_PASS.
Insns CaseProgram(uint64_t seed, int map_fd, std::vector<std::string>* what) {
  std::mt19937_64 rng(seed);
  Insns p;
  p.push_back(a::St(BPF_W, BPF_REG_10, -4, 0));
  p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
  a::LdMapFd(&p, BPF_REG_1, map_fd);
  p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
  p.push_back(a::JmpImm(BPF_JNE, BPF_REG_0, 0, 2));
  p.push_back(a::MovImm(BPF_REG_0, 0));
  p.push_back(a::Exit());
  p.push_back(a::MovReg(BPF_REG_6, BPF_REG_0));
  what->assign(2 * kCases, "");
  for (int i = 0; i < kCases; ++i) {
    (*what)[2 * i] = (*what)[2 * i + 1] = RandomCase(rng, &p, 2 * i);
  }
  p.push_back(a::MovImm(BPF_REG_0, XDP_PASS));
  p.push_back(a::Exit());
  return p;
}

class InterpCompareTest : public KernelTest<> {
 protected:
  MapAttr ValueMap() {
    MapAttr attr;
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 8 * 2 * kCases;
    attr.max_entries = 1;
    return attr;
  }
};

TEST_F(InterpCompareTest, RandomInstructionsGiveTheKernelsResults) {
  const int kmap = KernelBackend::Get().CreateMap(ValueMap());
  const int emap = MapCreate(ValueMap());
  ASSERT_GE(kmap, 0);
  ASSERT_GE(emap, 0);
  int checked = 0;
  for (uint64_t seed = 1; seed <= 64; ++seed) {
    std::vector<std::string> what, what2;
    const Insns kp = CaseProgram(seed, kmap, &what);
    const Insns ep = CaseProgram(seed, emap, &what2);
    const int kfd = KernelProgLoad(BPF_PROG_TYPE_XDP, kp, "GPL");
    ASSERT_GE(kfd, 0) << "seed " << seed << ": the kernel refused, errno "
                      << -kfd;
    const int efd = EmuProgLoad(BPF_PROG_TYPE_XDP, ep, "GPL");
    ASSERT_GE(efd, 0) << "seed " << seed;
    // interp_jit_compare_test (BPFEMU_JIT=1): every case is the JIT's.
    std::shared_ptr<const Prog> loaded;
    ASSERT_EQ(ProgFromFd(efd, &loaded), 0);
    EXPECT_EQ(loaded->code->jitted(), interp::JitEnabled()) << "seed " << seed;
    EXPECT_EQ(KernelRunXdp(kfd), EmuRunXdp(efd));
    std::vector<uint64_t> kv(2 * kCases), ev(2 * kCases);
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_lookup_elem(kmap, &zero, kv.data()), 0);
    ASSERT_EQ(MapLookupElem(emap, &zero, ev.data()), 0);
    for (int i = 0; i < 2 * kCases; ++i) {
      EXPECT_EQ(kv[i], ev[i])
          << "seed " << seed << " slot " << i << ": " << what[i];
      ++checked;
    }
    close(kfd);
    CloseFd(efd);
  }
  EXPECT_EQ(checked, 64 * 2 * kCases);
  KernelBackend::Get().Close(kmap);
  CloseFd(emap);
}

// Programs the kernel refuses at load, and the errno it gives.
TEST_F(InterpCompareTest, MalformedProgramsGetTheKernelsErrno) {
  const int emap = MapCreate(ValueMap());
  const int kmap = KernelBackend::Get().CreateMap(ValueMap());
  ASSERT_GE(emap, 0);
  ASSERT_GE(kmap, 0);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  struct Case {
    const char* name;
    std::function<Insns(int map_fd)> build;
    uint32_t type = BPF_PROG_TYPE_XDP;
    const char* license = "GPL";
  };
  const auto ret0 = [](Insns p) {
    p.push_back(a::MovImm(BPF_REG_0, 0));
    p.push_back(a::Exit());
    return p;
  };
  const std::vector<Case> cases = {
      {"unknown opcode",
       [&](int) { return ret0({a::Insn(0xff, 0, 0, 0, 0)}); }},
      {"unknown ALU op",
       [&](int) { return ret0({a::Insn(BPF_ALU64 | 0xe0, 1, 0, 0, 0)}); }},
      {"jump out of range", [&](int) { return ret0({a::Ja(5)}); }},
      {"jump before start", [&](int) { return ret0({a::Ja(-3)}); }},
      {"dst register 11", [&](int) { return ret0({a::MovImm(11, 1)}); }},
      {"src register 12",
       [&](int) { return ret0({a::MovReg(BPF_REG_1, 12)}); }},
      {"write to r10", [&](int) { return ret0({a::MovImm(BPF_REG_10, 1)}); }},
      {"load into r10",
       [&](int) { return ret0({a::Ldx(BPF_DW, BPF_REG_10, BPF_REG_10, -8)}); }},
      {"last insn not exit",
       [&](int) { return Insns{a::MovImm(BPF_REG_0, 0)}; }},
      {"truncated ld_imm64",
       [&](int) {
         Insns p = ret0({});
         p.push_back(a::Insn(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 1));
         return p;
       }},
      {"ld_imm64 second half used",
       [&](int) {
         Insns p;
         a::LdImm64(&p, BPF_REG_1, 5);
         p[1].code = BPF_ALU64 | BPF_ADD;
         return ret0(p);
       }},
      {"jump into ld_imm64",
       [&](int) {
         Insns p = {a::Ja(1)};
         a::LdImm64(&p, BPF_REG_1, 5);
         return ret0(p);
       }},
      {"map fd not open",
       [&](int) {
         Insns p;
         a::LdMapFd(&p, BPF_REG_1, 999);
         return ret0(p);
       }},
      {"map fd not a map",
       [&](int) {
         Insns p;
         a::LdMapFd(&p, BPF_REG_1, pipe_fds[0]);
         return ret0(p);
       }},
      {"unknown helper", [&](int) { return ret0({a::Call(100000)}); }},
      {"GPL-only helper, MIT license",
       [&](int) {
         return ret0({a::MovReg(BPF_REG_1, BPF_REG_10),
                      a::AluImm(BPF_ADD, BPF_REG_1, -8),
                      a::St(BPF_DW, BPF_REG_10, -8, 0x0a),
                      a::MovImm(BPF_REG_2, 8), a::Call(BPF_FUNC_trace_printk)});
       },
       BPF_PROG_TYPE_XDP, "MIT"},
      {"division by immediate 0",
       [&](int) {
         return ret0(
             {a::MovImm(BPF_REG_1, 1), a::AluImm(BPF_DIV, BPF_REG_1, 0)});
       }},
      {"modulo by immediate 0 (alu32)",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1),
                      a::AluImm(BPF_MOD, BPF_REG_1, 0, false)});
       }},
      {"shift by 64",
       [&](int) {
         return ret0(
             {a::MovImm(BPF_REG_1, 1), a::AluImm(BPF_LSH, BPF_REG_1, 64)});
       }},
      {"alu32 shift by 32",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1),
                      a::AluImm(BPF_RSH, BPF_REG_1, 32, false)});
       }},
      {"ALU K with a source register",
       [&](int) {
         return ret0({a::Insn(BPF_ALU64 | BPF_ADD | BPF_K, 1, 2, 0, 1)});
       }},
      {"ALU X with an immediate",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1), a::MovImm(BPF_REG_2, 1),
                      a::Insn(BPF_ALU64 | BPF_ADD | BPF_X, 1, 2, 0, 7)});
       }},
      {"neg with a source register",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1),
                      a::Insn(BPF_ALU64 | BPF_NEG | BPF_K, 1, 2, 0, 0)});
       }},
      {"byte swap of 8 bits",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1), a::Endian(BPF_REG_1, 8, true)});
       }},
      {"exit with an immediate",
       [&](int) {
         return Insns{a::MovImm(BPF_REG_0, 0),
                      a::Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 1)};
       }},
      {"LD_ABS in XDP",
       [&](int) {
         return ret0({a::MovReg(BPF_REG_6, BPF_REG_1),
                      a::Insn(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 0)});
       }},
      {"LDX with an immediate",
       [&](int) {
         return ret0({a::Insn(BPF_LDX | BPF_MEM | BPF_DW, 1, 10, -8, 3)});
       }},
      {"atomic on a byte",
       [&](int) {
         return ret0({a::St(BPF_DW, BPF_REG_10, -8, 0), a::MovImm(BPF_REG_1, 1),
                      a::Atomic(BPF_B, BPF_REG_10, BPF_REG_1, -8, BPF_ADD)});
       }},
      {"unknown atomic op",
       [&](int) {
         return ret0({a::St(BPF_DW, BPF_REG_10, -8, 0), a::MovImm(BPF_REG_1, 1),
                      a::Atomic(BPF_DW, BPF_REG_10, BPF_REG_1, -8, 0x30)});
       }},
      {"call out of range", [&](int) { return ret0({a::CallLocal(100)}); }},
      {"JMP32 call",
       [&](int) { return ret0({a::Insn(BPF_JMP32 | BPF_CALL, 0, 0, 0, 1)}); }},
      {"empty program", [&](int) { return Insns{}; }},
      // addr_space_cast (BPF_ALU64 | BPF_MOV | BPF_X, off 1): refused
      // without an arena (this host's kernel creates none: docs/semantics.md
      // ARENA) and for any imm but 1 and 1 << 16.
      {"addr_space_cast to as(0) without an arena",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1),
                      a::Insn(BPF_ALU64 | BPF_MOV | BPF_X, 2, 1, 1, 1)});
       }},
      {"addr_space_cast to as(1) without an arena",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1),
                      a::Insn(BPF_ALU64 | BPF_MOV | BPF_X, 2, 1, 1, 1 << 16)});
       }},
      {"addr_space_cast between as(2) and as(0)",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1),
                      a::Insn(BPF_ALU64 | BPF_MOV | BPF_X, 2, 1, 1, 2)});
       }},
      {"addr_space_cast into r10 without an arena",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1),
                      a::Insn(BPF_ALU64 | BPF_MOV | BPF_X, 10, 1, 1, 1)});
       }},
      {"alu32 mov with off 1",
       [&](int) {
         return ret0({a::MovImm(BPF_REG_1, 1),
                      a::Insn(BPF_ALU | BPF_MOV | BPF_X, 2, 1, 1, 1)});
       }},
      {"addr_space_cast as a map load's neighbour, no arena",
       [&](int map) {
         Insns p;
         a::LdMapFd(&p, BPF_REG_1, map);
         p.push_back(a::Insn(BPF_ALU64 | BPF_MOV | BPF_X, 2, 1, 1, 1));
         return ret0(p);
       }},
  };
  std::vector<std::string> kernel_side, emu_side;
  for (const Case& c : cases) {
    const Insns kp = c.build(kmap), ep = c.build(emap);
    const int kfd = KernelProgLoad(c.type, kp, c.license);
    const int efd = EmuProgLoad(c.type, ep, c.license);
    kernel_side.push_back(absl::StrFormat("%s: %d", c.name, kfd < 0 ? kfd : 0));
    emu_side.push_back(absl::StrFormat("%s: %d", c.name, efd < 0 ? efd : 0));
    EXPECT_LT(kfd, 0) << c.name << ": the kernel loaded it (weak case)";
    if (kfd >= 0) close(kfd);
    if (efd >= 0) CloseFd(efd);
  }
  EXPECT_EQ(kernel_side, emu_side);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  KernelBackend::Get().Close(kmap);
  CloseFd(emap);
}

// Accesses through a context pointer that arithmetic moved
// (__check_ptr_off_reg, check_atomic): the errno and the verifier's last
// log line must be equal. Loads of the unmoved context and moves that
// come back to offset 0 load on both.
TEST_F(InterpCompareTest, ModifiedContextPointersGetTheKernelsRefusal) {
  const auto ret = [](Insns p) {
    p.push_back(a::Exit());
    return p;
  };
  const std::vector<NamedInsns> cases = {
      {"ctx += 4, load",
       ret({a::AluImm(BPF_ADD, 1, 4), a::Ldx(BPF_W, 0, 1, 0)})},
      {"ctx += -4, load",
       ret({a::AluImm(BPF_ADD, 1, -4), a::Ldx(BPF_W, 0, 1, 4)})},
      {"ctx += 8 through a register",
       ret({a::MovImm(2, 8), a::AluReg(BPF_ADD, 1, 2),
            a::Ldx(BPF_B, 0, 1, 0)})},
      {"ctx += a masked field",
       ret({a::Ldx(BPF_W, 2, 1, 12), a::AluImm(BPF_AND, 2, 0xc),
            a::AluReg(BPF_ADD, 1, 2), a::Ldx(BPF_B, 0, 1, 0)})},
      {"ctx += a byte << 2",
       ret({a::Ldx(BPF_W, 2, 1, 12), a::AluImm(BPF_AND, 2, 0xff),
            a::AluImm(BPF_LSH, 2, 2), a::AluReg(BPF_ADD, 1, 2),
            a::Ldx(BPF_W, 0, 1, 0)})},
      {"ctx += 4 - 4, load",
       ret({a::AluImm(BPF_ADD, 1, 4), a::AluImm(BPF_SUB, 1, 4),
            a::Ldx(BPF_W, 0, 1, 0)})},
      {"moved ctx spilled and filled",
       ret({a::AluImm(BPF_ADD, 1, 4), a::Stx(BPF_DW, 10, 1, -8),
            a::Ldx(BPF_DW, 3, 10, -8), a::Ldx(BPF_W, 0, 3, 0)})},
      {"moved ctx copied",
       ret({a::MovReg(3, 1), a::AluImm(BPF_ADD, 3, 16), a::Ldx(BPF_W, 0, 1, 0),
            a::Ldx(BPF_W, 0, 3, 0)})},
      {"store through moved ctx",
       ret({a::AluImm(BPF_ADD, 1, 4), a::St(BPF_W, 1, 0, 1), a::MovImm(0, 0)})},
      {"atomic add on ctx",
       ret({a::MovImm(2, 1), a::Atomic(BPF_W, 1, 2, 0, BPF_ADD),
            a::MovImm(0, 0)})},
      {"atomic add on moved ctx",
       ret({a::AluImm(BPF_ADD, 1, 4), a::MovImm(2, 1),
            a::Atomic(BPF_W, 1, 2, 0, BPF_ADD), a::MovImm(0, 0)})},
      {"moved ctx on one branch only",
       ret({a::Ldx(BPF_W, 2, 1, 12), a::JmpImm(BPF_JEQ, 2, 0, 1),
            a::AluImm(BPF_ADD, 1, 8), a::Ldx(BPF_W, 0, 1, 0)})},
      // Branches the known constants rule out are never walked: the
      // verifier loads these (one walk follows constants and the context).
      {"moved ctx on a dead branch",
       ret({a::MovImm(2, 3), a::AluImm(BPF_XOR, 2, 3),
            a::JmpImm(BPF_JEQ, 2, 0, 2), a::AluImm(BPF_ADD, 1, 8),
            a::Ldx(BPF_W, 0, 1, 0), a::MovImm(0, 0)})},
      {"moved ctx behind a spilled constant",
       ret({a::St(BPF_DW, 10, -16, 5), a::Ldx(BPF_DW, 3, 10, -16),
            a::JmpImm(BPF_JNE, 3, 6, 2), a::AluImm(BPF_ADD, 1, 8),
            a::Ldx(BPF_W, 0, 1, 0), a::MovImm(0, 0)})},
      {"moved ctx behind a constant made unknown",
       ret({a::MovImm(2, 3), a::Ldx(BPF_W, 3, 1, 12), a::AluReg(BPF_ADD, 2, 3),
            a::JmpImm(BPF_JEQ, 2, 3, 2), a::AluImm(BPF_ADD, 1, 8),
            a::Ldx(BPF_W, 0, 1, 0), a::MovImm(0, 0)})},
  };
  ExpectTheKernelsVerdicts(cases, {BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_XDP,
                                   BPF_PROG_TYPE_RAW_TRACEPOINT});
}

// Registers read before anything wrote them (check_reg_arg: "R%d
// !read_ok"): the errno and the verifier's last log line must be equal.
// cilium/ebpf's TestProgramVerifierOutputOnError and
// TestIncompleteLoadAndAssign load a lone exit and expect this refusal.
TEST_F(InterpCompareTest, UninitializedRegistersGetTheKernelsRefusal) {
  const std::vector<NamedInsns> cases = {
      {"exit alone", {a::Exit()}},
      {"r0 = 0, exit", {a::MovImm(0, 0), a::Exit()}},
      {"r0 += 1 first", {a::AluImm(BPF_ADD, 0, 1), a::Exit()}},
      {"32-bit r0 += 1 first",
       {a::Insn(BPF_ALU | BPF_ADD | BPF_K, 0, 0, 0, 1), a::Exit()}},
      {"r0 = r2", {a::MovReg(0, 2), a::Exit()}},
      {"r0 = -r0", {a::Insn(BPF_ALU64 | BPF_NEG, 0, 0, 0, 0), a::Exit()}},
      {"r0 += r3", {a::MovImm(0, 0), a::AluReg(BPF_ADD, 0, 3), a::Exit()}},
      {"a call writes r0", {a::Call(BPF_FUNC_get_prandom_u32), a::Exit()}},
      {"r1 after a call",
       {a::Call(BPF_FUNC_get_prandom_u32), a::MovReg(0, 1), a::Exit()}},
      {"r6 kept across a call",
       {a::MovImm(6, 1), a::Call(BPF_FUNC_get_prandom_u32), a::MovReg(0, 6),
        a::Exit()}},
      {"store of r3", {a::MovImm(0, 0), a::Stx(BPF_DW, 10, 3, -8), a::Exit()}},
      {"store through r4", {a::MovImm(0, 0), a::St(BPF_W, 4, 0, 1), a::Exit()}},
      {"load through r5", {a::Ldx(BPF_W, 0, 5, 0), a::Exit()}},
      {"jump on r4", {a::MovImm(0, 0), a::JmpImm(BPF_JEQ, 4, 0, 0), a::Exit()}},
      {"jump on r0 against r7",
       {a::MovImm(0, 0), a::Insn(BPF_JMP | BPF_JGT | BPF_X, 0, 7, 0, 0),
        a::Exit()}},
      {"r0 written on both branches",
       {a::Ldx(BPF_W, 2, 1, 0), a::JmpImm(BPF_JEQ, 2, 0, 2), a::MovImm(0, 1),
        a::Exit(), a::MovImm(0, 2), a::Exit()}},
      {"an unread r0 in dead code",
       {a::MovImm(0, 0), a::MovImm(2, 0), a::JmpImm(BPF_JEQ, 2, 0, 1),
        a::MovReg(0, 8), a::Exit()}},
  };
  ExpectTheKernelsVerdicts(cases, {BPF_PROG_TYPE_SOCKET_FILTER,
                                   BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_XDP});
}

// check_map_prog_compatibility(): a sleepable program (SYSCALL) that
// loads a map of each of these types: the load's errno and the verifier's
// last line must be equal.
TEST_F(InterpCompareTest, SleepableProgramsUseTheKernelsMapTypes) {
  struct Kind {
    uint32_t type, key_size, value_size, max_entries, flags;
  };
  const std::vector<Kind> kinds = {
      {BPF_MAP_TYPE_HASH, 4, 8, 4, 0},
      {BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0},
      {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, 0},
      {BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, 0},
      {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0},
      {BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0},
      {BPF_MAP_TYPE_STACK, 0, 8, 4, 0},
      {BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, 0},
      {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0},
      {BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC},
      {BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0},
      {BPF_MAP_TYPE_DEVMAP, 4, 4, 4, 0},
      {BPF_MAP_TYPE_CPUMAP, 4, 4, 2, 0},
      {BPF_MAP_TYPE_SOCKMAP, 4, 4, 4, 0},
  };
  std::vector<std::string> kernel_side, emu_side;
  for (const Kind& k : kinds) {
    MapAttr m;
    m.map_type = k.type;
    m.key_size = k.key_size;
    m.value_size = k.value_size;
    m.max_entries = k.max_entries;
    m.map_flags = k.flags;
    const int kmap = KernelBackend::Get().CreateMap(m);
    const int emap = MapCreate(m);
    ASSERT_GE(kmap, 0) << k.type;
    ASSERT_GE(emap, 0) << k.type;
    const auto program = [](int map) {
      Insns p;
      a::LdMapFd(&p, BPF_REG_1, map);
      p.push_back(a::MovImm(BPF_REG_0, 0));
      p.push_back(a::Exit());
      return p;
    };
    const std::string what = absl::StrFormat("map type %u: ", k.type);
    kernel_side.push_back(what + KernelLoadVerdict({
                                     .type = BPF_PROG_TYPE_SYSCALL,
                                     .prog_flags = BPF_F_SLEEPABLE,
                                     .insns = program(kmap),
                                 }));
    emu_side.push_back(what + EmuLoadVerdict({
                                  .type = BPF_PROG_TYPE_SYSCALL,
                                  .prog_flags = BPF_F_SLEEPABLE,
                                  .insns = program(emap),
                              }));
    KernelBackend::Get().Close(kmap);
    CloseFd(emap);
  }
  // And a SYSCALL program without BPF_F_SLEEPABLE (check_attach_btf_id).
  const RawProg not_sleepable{.type = BPF_PROG_TYPE_SYSCALL,
                              .insns = {a::MovImm(BPF_REG_0, 0), a::Exit()}};
  kernel_side.push_back("not sleepable: " + KernelLoadVerdict(not_sleepable));
  emu_side.push_back("not sleepable: " + EmuLoadVerdict(not_sleepable));
  EXPECT_EQ(kernel_side, emu_side);
}

// The legacy packet loads (LD_ABS / LD_IND, bpf_gen_ld_abs): offsets from
// skb->data, which is the network header for socket filters and the frame
// for tc; out of the packet, the program returns 0.
TEST_F(InterpCompareTest, LegacyPacketLoadsGiveTheKernelsResults) {
  std::vector<uint8_t> frame(64);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = uint8_t(i * 7 + 3);
  frame[12] = 0x08;
  frame[13] = 0x00;
  std::vector<std::string> kernel_side, emu_side;
  for (uint32_t type : {BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_SCHED_CLS}) {
    for (uint8_t size : {BPF_B, BPF_H, BPF_W}) {
      for (int32_t off : {0, 1, 12, 13, 14, 30, 46, 47, 48, 49, 50, 60, 61, 62,
                          63, 64, 1000, -1}) {
        for (bool ind : {false, true}) {
          Insns p = {a::MovReg(BPF_REG_6, BPF_REG_1), a::MovImm(BPF_REG_7, 5)};
          p.push_back(
              ind ? a::Insn(BPF_LD | BPF_IND | size, 0, BPF_REG_7, 0, off - 5)
                  : a::Insn(BPF_LD | BPF_ABS | size, 0, 0, 0, off));
          p.push_back(a::Exit());
          const int kfd = KernelProgLoad(type, p, "GPL");
          const int efd = EmuProgLoad(type, p, "GPL");
          ASSERT_GE(kfd, 0) << "errno " << -kfd;
          ASSERT_GE(efd, 0);
          std::vector<uint8_t> out(frame.size());
          LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                      .data_out = out.data(),
                      .data_size_in = (uint32_t)frame.size(),
                      .data_size_out = (uint32_t)out.size());
          const int kerr = bpf_prog_test_run_opts(kfd, &opts);
          std::shared_ptr<const Prog> prog;
          ASSERT_EQ(ProgFromFd(efd, &prog), 0);
          native::PacketResult r = native::RunSkb(*prog, frame);
          const std::string what =
              absl::StrFormat("type %d size 0x%x %s off %d: ", type, size,
                              ind ? "ind" : "abs", off);
          kernel_side.push_back(
              absl::StrFormat("%s%d %x", what, kerr, opts.retval));
          emu_side.push_back(absl::StrFormat("%s%d %x", what, r.err, r.retval));
          EXPECT_FALSE(ProgFaulted());
          close(kfd);
          CloseFd(efd);
        }
      }
    }
  }
  EXPECT_EQ(kernel_side, emu_side);
}

// test_lru_map.c's trick: only a program's lookup sets an LRU element's
// reference bit (a syscall lookup does not), and referenced elements survive
// the next shrink. The same raw program on both sides; then the same
// inserts; the surviving keys must match.
TEST_F(InterpCompareTest, ProgramLookupsSetTheLruReferenceBit) {
  MapAttr lru;
  lru.map_type = BPF_MAP_TYPE_LRU_HASH;
  lru.key_size = 8;
  lru.value_size = 8;
  lru.max_entries = 256;
  MapAttr out;
  out.map_type = BPF_MAP_TYPE_ARRAY;
  out.key_size = 4;
  out.value_size = 8;
  out.max_entries = 1;
  struct Side {
    bool kernel;
    int lru, out;
  };
  Side sides[2] = {{true, KernelBackend::Get().CreateMap(lru),
                    KernelBackend::Get().CreateMap(out)},
                   {false, MapCreate(lru), MapCreate(out)}};
  std::vector<std::vector<uint64_t>> survivors(2);
  for (Side& s : sides) {
    ASSERT_GE(s.lru, 0);
    ASSERT_GE(s.out, 0);
    auto update = [&](uint64_t k) {
      return s.kernel ? bpf_map_update_elem(s.lru, &k, &k, BPF_NOEXIST)
                      : MapUpdateElem(s.lru, &k, &k, BPF_NOEXIST);
    };
    // bpf_map_lookup_elem_with_ref_bit(): key on the stack, lookup, store
    // the value into the output array.
    auto lookup_prog = [&](uint64_t key) {
      Insns p;
      a::LdImm64(&p, BPF_REG_9, key);
      p.push_back(a::Stx(BPF_DW, BPF_REG_10, BPF_REG_9, -8));
      p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
      p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -8));
      a::LdMapFd(&p, BPF_REG_1, s.lru);
      p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
      const size_t branch = p.size();
      p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_0, 0, 0));  // to the exit
      p.push_back(a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_0, 0));
      p.push_back(a::Stx(BPF_DW, BPF_REG_10, BPF_REG_1, -16));
      p.push_back(a::St(BPF_W, BPF_REG_10, -20, 0));
      p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
      p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -20));
      p.push_back(a::MovReg(BPF_REG_3, BPF_REG_10));
      p.push_back(a::AluImm(BPF_ADD, BPF_REG_3, -16));
      a::LdMapFd(&p, BPF_REG_1, s.out);
      p.push_back(a::MovImm(BPF_REG_4, BPF_ANY));
      p.push_back(a::Call(BPF_FUNC_map_update_elem));
      p[branch].off = static_cast<int16_t>(p.size() - branch - 1);
      p.push_back(a::MovImm(BPF_REG_0, 0));
      p.push_back(a::Exit());
      return p;
    };
    ASSERT_EQ(KernelBackend::Get().PinCpu(0), 0);
    ScopedCpu on(0);
    for (uint64_t k = 1; k <= 256; ++k) ASSERT_EQ(update(k), 0);
    // Reference every fourth key from a program.
    for (uint64_t k = 4; k <= 256; k += 4) {
      const Insns p = lookup_prog(k);
      const int fd = s.kernel ? KernelProgLoad(BPF_PROG_TYPE_XDP, p, "GPL")
                              : EmuProgLoad(BPF_PROG_TYPE_XDP, p, "GPL");
      ASSERT_GE(fd, 0) << "errno " << -fd;
      if (s.kernel) {
        KernelRunXdp(fd);
        close(fd);
      } else {
        EmuRunXdp(fd);
        CloseFd(fd);
      }
      uint64_t v = 0;
      const uint32_t zero = 0;
      ASSERT_EQ(s.kernel ? bpf_map_lookup_elem(s.out, &zero, &v)
                         : MapLookupElem(s.out, &zero, &v),
                0);
      ASSERT_EQ(v, k);
    }
    // 64 new keys force evictions.
    for (uint64_t k = 1001; k <= 1064; ++k) ASSERT_EQ(update(k), 0);
    for (uint64_t k = 1; k <= 256; ++k) {
      uint64_t v;
      const int err = s.kernel ? bpf_map_lookup_elem(s.lru, &k, &v)
                               : MapLookupElem(s.lru, &k, &v);
      if (err == 0) survivors[s.kernel ? 0 : 1].push_back(k);
    }
    KernelBackend::Get().PinCpu(-1);
  }
  EXPECT_EQ(survivors[0], survivors[1]);
  // Every referenced key survived; some unreferenced ones did not.
  for (uint64_t k = 4; k <= 256; k += 4) {
    EXPECT_NE(std::find(survivors[0].begin(), survivors[0].end(), k),
              survivors[0].end())
        << k;
  }
  EXPECT_LT(survivors[0].size(), 256u);
  KernelBackend::Get().Close(sides[0].lru);
  KernelBackend::Get().Close(sides[0].out);
  CloseFd(sides[1].lru);
  CloseFd(sides[1].out);
}

// kprobe_prog_is_valid_access() (kernel/trace/bpf_trace.c): a kprobe reads
// struct pt_regs only, at a multiple of the access size, inside the
// struct; emu/ctx_access_rules.h checks it at load. The errno and the
// verifier's last line must be equal.
TEST_F(InterpCompareTest, KprobeContextAccessesGetTheKernelsRefusal) {
  struct Access {
    const char* name;
    bool write;
    int16_t off;
    uint32_t size;
  };
  constexpr int16_t kEnd = 21 * 8;  // sizeof(struct pt_regs), x86-64
  const Access accesses[] = {
      {"r15, 8 bytes", false, 0, 8},
      {"r14, low 4", false, 8, 4},
      {"r14, high 4", false, 12, 4},
      {"r13, bytes 6-7", false, 22, 2},
      {"r13, byte 5", false, 21, 1},
      {"misaligned 8", false, 4, 8},
      {"misaligned 4", false, 2, 4},
      {"misaligned 2", false, 7, 2},
      {"ss, 8 bytes", false, kEnd - 8, 8},
      {"ss, high 4", false, kEnd - 4, 4},
      {"last byte", false, kEnd - 1, 1},
      {"past the end, 1 byte", false, kEnd, 1},
      {"past the end, 8 bytes", false, kEnd, 8},
      {"far past the end", false, 4096, 8},
      {"negative offset", false, -8, 8},
      {"write rax, 8 bytes", true, 80, 8},
      {"write r15, 1 byte", true, 0, 1},
  };
  std::vector<std::string> kernel_side, emu_side;
  int refused = 0;
  for (const Access& acc : accesses) {
    const uint8_t size = static_cast<uint8_t>(a::SizeCode(acc.size));
    const RawProg raw{
        .type = BPF_PROG_TYPE_KPROBE,
        .insns = {acc.write ? a::St(size, BPF_REG_1, acc.off, 0)
                            : a::Ldx(size, BPF_REG_0, BPF_REG_1, acc.off),
                  a::MovImm(BPF_REG_0, 0), a::Exit()}};
    kernel_side.push_back(absl::StrCat(acc.name, ": ", KernelLoadVerdict(raw)));
    emu_side.push_back(absl::StrCat(acc.name, ": ", EmuLoadVerdict(raw)));
    if (!kernel_side.back().ends_with(": 0 ")) ++refused;
  }
  EXPECT_EQ(emu_side, kernel_side);
  for (const std::string& line : kernel_side) std::printf("%s\n", line.c_str());
  std::printf("kprobe context accesses: %zu compared, %d refused\n",
              kernel_side.size(), refused);
  EXPECT_EQ(refused, 9);
}

// BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE (resolve_pseudo_ldimm64):
// the map is attr.fd_array[imm], read when the instruction is. Each side
// gets its own fds at the same indexes; the program reads the first u32 of
// the value of the map at index 1 and returns it, so a test run shows that
// the entry, not the index, chose the map. A bad fd in the array, and an
// index without an array, get the kernel's errno and line.
TEST_F(InterpCompareTest, FdArrayEntriesChooseTheMaps) {
  MapAttr m;
  m.map_type = BPF_MAP_TYPE_ARRAY;
  m.key_size = 4;
  m.value_size = 8;
  m.max_entries = 1;
  const uint32_t key = 0;
  const uint64_t value = XDP_TX;
  const int kmap[2] = {KernelBackend::Get().CreateMap(m),
                       KernelBackend::Get().CreateMap(m)};
  const int emap[2] = {MapCreate(m), MapCreate(m)};
  for (int i = 0; i < 2; ++i) {
    ASSERT_GE(kmap[i], 0);
    ASSERT_GE(emap[i], 0);
  }
  ASSERT_EQ(bpf_map_update_elem(kmap[1], &key, &value, BPF_ANY), 0);
  ASSERT_EQ(MapUpdateElem(emap[1], &key, &value, BPF_ANY), 0);
  const int32_t kfds[] = {kmap[0], kmap[1], -1};
  const int32_t efds[] = {emap[0], emap[1], -1};
  const auto program = [](uint32_t index, uint8_t pseudo) {
    Insns p;
    a::LdImm64(&p, BPF_REG_1, index, pseudo);
    if (pseudo == BPF_PSEUDO_MAP_IDX_VALUE) {
      p.push_back(a::Ldx(BPF_W, BPF_REG_0, BPF_REG_1, 0));
    } else {
      p.push_back(a::MovImm(BPF_REG_0, XDP_PASS));
    }
    p.push_back(a::Exit());
    return p;
  };
  struct Case {
    const char* name;
    uint32_t index;
    uint8_t pseudo;
    bool with_array;
  };
  const Case cases[] = {
      {"map at index 0", 0, BPF_PSEUDO_MAP_IDX, true},
      {"value of the map at index 1", 1, BPF_PSEUDO_MAP_IDX_VALUE, true},
      {"fd -1 at index 2", 2, BPF_PSEUDO_MAP_IDX, true},
      {"value, fd -1 at index 2", 2, BPF_PSEUDO_MAP_IDX_VALUE, true},
      {"index without an array", 0, BPF_PSEUDO_MAP_IDX, false},
  };
  std::vector<std::string> kernel_side, emu_side;
  for (const Case& c : cases) {
    RawProg raw{.type = BPF_PROG_TYPE_XDP, .insns = program(c.index, c.pseudo)};
    raw.fd_array = c.with_array ? kfds : nullptr;
    const RawLoaded k = KernelLoadRaw(raw);
    raw.fd_array = c.with_array ? efds : nullptr;
    const RawLoaded e = EmuLoadRaw(raw);
    std::string kline = absl::StrCat(c.name, ": ", k.fd < 0 ? k.fd : 0, " ",
                                     k.fd < 0 ? VerifierReason(k.log) : "");
    std::string eline = absl::StrCat(c.name, ": ", e.fd < 0 ? e.fd : 0, " ",
                                     e.fd < 0 ? VerifierReason(e.log) : "");
    if (k.fd >= 0) {
      absl::StrAppend(&kline, "retval ", KernelRunXdp(k.fd));
      close(k.fd);
    }
    if (e.fd >= 0) {
      absl::StrAppend(&eline, "retval ", EmuRunXdp(e.fd));
      CloseFd(e.fd);
    }
    kernel_side.push_back(kline);
    emu_side.push_back(eline);
  }
  EXPECT_EQ(emu_side, kernel_side);
  for (const std::string& line : kernel_side) std::printf("%s\n", line.c_str());
  EXPECT_EQ(kernel_side[1], "value of the map at index 1: 0 retval 3");
  for (int i = 0; i < 2; ++i) {
    KernelBackend::Get().Close(kmap[i]);
    CloseFd(emap[i]);
  }
}

// add_kfunc_call() -> btf_distill_func_proto() (kernel/bpf/btf.c): a call
// of a vmlinux FUNC that has no call model is EINVAL with the function's
// line before the program type's kfunc sets are asked; one that has a
// model (a struct of 9 to 16 bytes by value among its parameters) goes on
// to "is not allowed". Each function is one the host's BTF and kallsyms
// hold; the ids are the host's, read by both sides from
// /sys/kernel/btf/vmlinux (emu/kernel_btf.h).
TEST_F(InterpCompareTest, KfuncCallModelsGetTheKernelsRefusal) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF";
  const char* const funcs[] = {
      "bpf_trace_run12",             // 13 parameters
      "_printk",                     // variadic
      "ns_to_timespec64",            // returns a struct
      "secure_tcp_seq_and_ts_off",   // returns a union
      "ZSTD_checkCParams",           // arg0: a struct of 28 bytes
      "do_pages_move",               // arg1: a struct of 128 bytes
      "adjust_scalar_min_max_vals",  // arg3: a struct of 112 bytes
      "__io_run_local_work",         // an empty struct by value
      "ZSTD_CCtx_setFParams",        // arg1: a struct of 12 bytes: a model
  };
  std::vector<std::string> kernel_side, emu_side;
  int modelled = 0;
  for (const char* f : funcs) {
    const int32_t id = btf->FindByNameKind(f, BTF_KIND_FUNC);
    if (id <= 0) {
      std::printf("%s: not in this kernel's BTF, skipped\n", f);
      continue;
    }
    const RawProg raw{
        .type = BPF_PROG_TYPE_SCHED_CLS,
        .insns = {a::CallKfunc(id), a::MovImm(BPF_REG_0, 0), a::Exit()}};
    kernel_side.push_back(absl::StrCat(f, ": ", KernelLoadVerdict(raw)));
    emu_side.push_back(absl::StrCat(f, ": ", EmuLoadVerdict(raw)));
    if (absl::StrContains(kernel_side.back(), "is not allowed")) ++modelled;
  }
  EXPECT_EQ(emu_side, kernel_side);
  for (const std::string& line : kernel_side) std::printf("%s\n", line.c_str());
  std::printf("kfunc call models: %zu compared, %d with a model\n",
              kernel_side.size(), modelled);
}

}  // namespace
}  // namespace bpfemu
