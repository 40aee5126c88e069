// SPDX-License-Identifier: Apache-2.0
// File: interp_ops.h
//
// The interpreter's decoded instructions and internal opcodes (emu/interp.cc
// decodes each eBPF instruction into one at load), shared with the x86-64
// JIT (emu/jit_x86.h), which compiles the decoded program. Internal to
// emu/: not an API.

#ifndef BPFEMU_EMU_INTERP_OPS_H_
#define BPFEMU_EMU_INTERP_OPS_H_

#include <cstdint>

namespace bpfemu::interp {

// One decoded instruction (interp.h Program::Insn).
struct DecodedInsn {
  uint8_t op;  // an ops::Op
  uint8_t dst;
  uint8_t src;
  uint8_t size;  // memory access bytes
  int32_t off;   // memory offset, or absolute jump / call target
  int64_t imm;   // sign-extended immediate, the LD_IMM64 value, or helper
};

}  // namespace bpfemu::interp

namespace bpfemu::interp::ops {

// The internal opcodes. ALU ops come in four flavours: 64-bit register (X),
// 64-bit immediate (K), and the 32-bit pair.
// clang-format off
#define BPFEMU_ALU_OPS(X)                                                   \
  X(ADD) X(SUB) X(MUL) X(DIV) X(SDIV) X(MOD) X(SMOD) X(OR) X(AND) X(XOR)   \
  X(LSH) X(RSH) X(ARSH) X(MOV) X(MOVSX8) X(MOVSX16) X(MOVSX32)
#define BPFEMU_JMP_OPS(X)                                                   \
  X(JEQ) X(JNE) X(JGT) X(JGE) X(JLT) X(JLE) X(JSGT) X(JSGE) X(JSLT)        \
  X(JSLE) X(JSET)
#define BPFEMU_OPS(X)                                                       \
  BPFEMU_ALU_OPS(X##_ALU)                                                   \
  BPFEMU_JMP_OPS(X##_JMP)                                                   \
  X##_PLAIN(NEG64) X##_PLAIN(NEG32) X##_PLAIN(LE16) X##_PLAIN(LE32)         \
  X##_PLAIN(SWAP16) X##_PLAIN(SWAP32) X##_PLAIN(SWAP64) X##_PLAIN(NOP)      \
  X##_PLAIN(JA) X##_PLAIN(CALL) X##_PLAIN(CALL_LOCAL) X##_PLAIN(EXIT)       \
  X##_PLAIN(LDX8) X##_PLAIN(LDX16) X##_PLAIN(LDX32) X##_PLAIN(LDX64)        \
  X##_PLAIN(LDXS8) X##_PLAIN(LDXS16) X##_PLAIN(LDXS32)                      \
  X##_PLAIN(ST8) X##_PLAIN(ST16) X##_PLAIN(ST32) X##_PLAIN(ST64)            \
  X##_PLAIN(STX8) X##_PLAIN(STX16) X##_PLAIN(STX32) X##_PLAIN(STX64)        \
  X##_PLAIN(ATOMIC32) X##_PLAIN(ATOMIC64) X##_PLAIN(LDDW)                   \
  X##_PLAIN(LDABS) X##_PLAIN(LDIND) X##_PLAIN(CAST_KERN) X##_PLAIN(CAST_USER)

// clang-format on
#define BPFEMU_ENUM_ALU(name) name##64X, name##64K, name##32X, name##32K,
#define BPFEMU_ENUM_JMP(name) name##64X, name##64K, name##32X, name##32K,
#define BPFEMU_ENUM_PLAIN(name) name,
enum Op : uint8_t { BPFEMU_OPS(BPFEMU_ENUM) kNumOps };
#undef BPFEMU_ENUM_ALU
#undef BPFEMU_ENUM_JMP
#undef BPFEMU_ENUM_PLAIN
static_assert(kNumOps < 256);

}  // namespace bpfemu::interp::ops

#endif  // BPFEMU_EMU_INTERP_OPS_H_
