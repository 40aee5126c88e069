// SPDX-License-Identifier: Apache-2.0
// File: interp_asm.h
//
// Builders for raw BPF instructions, in the spirit of the kernel's
// include/linux/filter.h macros (BPF_MOV64_IMM, BPF_LD_MAP_FD, ...), for
// tests, fuzzers and benchmarks that hand-assemble programs:
//
//   std::vector<bpfemu::interp::RawInsn> p = {
//       asm_::MovImm(BPF_REG_0, 7),
//       asm_::Exit(),
//   };

#ifndef BPFEMU_EMU_INTERP_ASM_H_
#define BPFEMU_EMU_INTERP_ASM_H_

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "emu/interp.h"

namespace bpfemu::interp::asm_ {

inline RawInsn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off,
                    int32_t imm) {
  RawInsn i;
  i.code = code;
  i.dst = dst & 0xf;
  i.src = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// ALU. `op` is BPF_ADD, BPF_MOV, ...; `off` selects the v4 variants
// (1: signed div/mod; 8/16/32: sign-extending move).
inline RawInsn AluImm(uint8_t op, uint8_t dst, int32_t imm, bool is64 = true,
                      int16_t off = 0) {
  return Insn((is64 ? BPF_ALU64 : BPF_ALU) | op | BPF_K, dst, 0, off, imm);
}
inline RawInsn AluReg(uint8_t op, uint8_t dst, uint8_t src, bool is64 = true,
                      int16_t off = 0) {
  return Insn((is64 ? BPF_ALU64 : BPF_ALU) | op | BPF_X, dst, src, off, 0);
}
inline RawInsn MovImm(uint8_t dst, int32_t imm) {
  return AluImm(BPF_MOV, dst, imm);
}
inline RawInsn MovReg(uint8_t dst, uint8_t src) {
  return AluReg(BPF_MOV, dst, src);
}
// Byte order: BPF_TO_LE / BPF_TO_BE (class ALU) or the v4 swap (ALU64).
inline RawInsn Endian(uint8_t dst, int32_t bits, bool to_be,
                      bool alu64 = false) {
  return Insn((alu64 ? BPF_ALU64 : BPF_ALU) | BPF_END |
                  (to_be && !alu64 ? BPF_X : BPF_K),
              dst, 0, 0, bits);
}

// Two instructions: dst = imm64 (src_reg as the pseudo source).
inline void LdImm64(std::vector<RawInsn>* p, uint8_t dst, uint64_t imm,
                    uint8_t pseudo = 0) {
  p->push_back(Insn(BPF_LD | BPF_IMM | BPF_DW, dst, pseudo, 0,
                    static_cast<int32_t>(imm & 0xffffffff)));
  p->push_back(Insn(0, 0, 0, 0, static_cast<int32_t>(imm >> 32)));
}
inline void LdMapFd(std::vector<RawInsn>* p, uint8_t dst, int fd) {
  LdImm64(p, dst, static_cast<uint32_t>(fd), BPF_PSEUDO_MAP_FD);
}

// The size code of a `bytes`-wide access (BPF_B / BPF_H / BPF_W / BPF_DW),
// or -1 for another width.
inline int SizeCode(uint32_t bytes) {
  switch (bytes) {
    case 8:
      return BPF_DW;
    case 4:
      return BPF_W;
    case 2:
      return BPF_H;
    case 1:
      return BPF_B;
  }
  return -1;
}

// Memory. `size` is BPF_B / BPF_H / BPF_W / BPF_DW.
inline RawInsn Ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off,
                   bool sign_extend = false) {
  return Insn(BPF_LDX | size | (sign_extend ? 0x80 : BPF_MEM), dst, src, off,
              0);
}
inline RawInsn Stx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) {
  return Insn(BPF_STX | size | BPF_MEM, dst, src, off, 0);
}
inline RawInsn St(uint8_t size, uint8_t dst, int16_t off, int32_t imm) {
  return Insn(BPF_ST | size | BPF_MEM, dst, 0, off, imm);
}
// `op`: BPF_ADD / BPF_OR / BPF_AND / BPF_XOR, optionally | BPF_FETCH (1),
// or 0xe1 (xchg), 0xf1 (cmpxchg).
inline RawInsn Atomic(uint8_t size, uint8_t dst, uint8_t src, int16_t off,
                      int32_t op) {
  return Insn(BPF_STX | size | BPF_ATOMIC, dst, src, off, op);
}

// Jumps: `op` is BPF_JEQ, ...; off counts instructions after this one.
inline RawInsn JmpImm(uint8_t op, uint8_t dst, int32_t imm, int16_t off,
                      bool is64 = true) {
  return Insn((is64 ? BPF_JMP : BPF_JMP32) | op | BPF_K, dst, 0, off, imm);
}
inline RawInsn JmpReg(uint8_t op, uint8_t dst, uint8_t src, int16_t off,
                      bool is64 = true) {
  return Insn((is64 ? BPF_JMP : BPF_JMP32) | op | BPF_X, dst, src, off, 0);
}
inline RawInsn Ja(int16_t off) { return Insn(BPF_JMP | BPF_JA, 0, 0, off, 0); }
inline RawInsn Call(int32_t helper) {
  return Insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper);
}
// A kfunc call: `btf_id` in the kernel's BTF (off 0) or, with off > 0, in
// the module BTF that fd_array[off] names.
inline RawInsn CallKfunc(int32_t btf_id, int16_t off = 0) {
  return Insn(BPF_JMP | BPF_CALL, 0, 2, off, btf_id);
}
// A bpf-to-bpf call `off` instructions after this one.
inline RawInsn CallLocal(int32_t off) {
  return Insn(BPF_JMP | BPF_CALL, 0, 1, 0, off);
}
inline RawInsn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

}  // namespace bpfemu::interp::asm_

#endif  // BPFEMU_EMU_INTERP_ASM_H_
