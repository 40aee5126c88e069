// SPDX-License-Identifier: Apache-2.0
// File: dynptr_kfuncs.h
//
// The dynptr kfuncs that move bytes between dynptrs, or fill one (Linux
// 6.18, kernel/bpf/helpers.c bpf_dynptr_copy and bpf_dynptr_memset), shared
// by the interpreter (the table in emu/kfunc.cc) and the native face
// (native/dynptr_ops_kfuncs.cc).
//
// Both take the kernel's path through a dynptr: first a direct slice of the
// memory (bpf_dynptr_slice / bpf_dynptr_slice_rdwr with no buffer: local
// and ring buffer memory, a linear packet), else the dynptr read / write
// (__bpf_dynptr_read / __bpf_dynptr_write) through a 256-byte buffer, after
// the range check (bpf_dynptr_check_off_len, -E2BIG). The dynptr work of
// each type (the packet's bytes, the read-only bit) is the face's, which it
// registers here (SetDynptrIo); without it both kfuncs answer -EINVAL.

#ifndef BPFEMU_EMU_DYNPTR_KFUNCS_H_
#define BPFEMU_EMU_DYNPTR_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::dynk {

// What the kfuncs need of a dynptr (struct bpf_dynptr_kern, 16 bytes).
struct DynptrIo {
  // bpf_dynptr_slice (rdwr false) / bpf_dynptr_slice_rdwr (true) with a
  // NULL buffer: a pointer to `len` contiguous bytes at `off`, or nullptr.
  void* (*slice)(const void* ptr, uint32_t off, uint32_t len, bool rdwr);
  // __bpf_dynptr_read(dst, len, src, off, 0): 0 or -errno.
  long (*read)(void* dst, uint32_t len, const void* src, uint32_t off);
  // __bpf_dynptr_write(dst, off, src, len, 0): 0 or -errno.
  long (*write)(const void* dst, uint32_t off, const void* src, uint32_t len);
};
void SetDynptrIo(const DynptrIo* io);

// bpf_dynptr_copy(dst, dst_off, src, src_off, size).
int Copy(void* dst, uint32_t dst_off, const void* src, uint32_t src_off,
         uint32_t size);
// bpf_dynptr_memset(p, offset, size, val).
int Memset(void* p, uint32_t offset, uint32_t size, uint8_t val);

// The interpreter's bindings: each dynptr argument must be one a helper or
// kfunc initialized (the verifier's is_dynptr_reg_valid_init), else the run
// stops.
uint64_t InterpCopy(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                    uint64_t r4, uint64_t r5);
uint64_t InterpMemset(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);

}  // namespace bpfemu::dynk

#endif  // BPFEMU_EMU_DYNPTR_KFUNCS_H_
