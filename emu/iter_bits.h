// SPDX-License-Identifier: Apache-2.0
// File: iter_bits.h
//
// The open-coded bit iterator (kernel/bpf/helpers.c bpf_iter_bits_new /
// _next / _destroy, 6.11+), shared by the interpreter (emu/kfunc.cc's
// table) and the native face (native/bits_kfuncs.cc). struct bpf_iter_bits
// (16 bytes on the program's stack) holds, as the kernel's
// struct bpf_iter_bits_kern, the bits themselves when they are one u64 word
// or else a pointer to a copy, the number of bits and the last bit found.

#ifndef BPFEMU_EMU_ITER_BITS_H_
#define BPFEMU_EMU_ITER_BITS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu {

// bpf_probe_read_kernel_common() as the face sees kernel memory: 0, or
// -ERANGE / -EFAULT with `dst` zeroed.
using KernelRead = int (*)(const void* ctx, void* dst, uint64_t src,
                           uint32_t n);

// kernel/bpf/helpers.c BITS_ITER_NR_WORDS_MAX.
inline constexpr uint32_t kBitsIterMaxWords = 511;

// bpf_iter_bits_new: 0; -EINVAL for a NULL pointer or no words, -E2BIG past
// 511 words; a failed read: -EFAULT for one word, the read's own error
// (-ERANGE / -EFAULT) for more. The iterator is left empty on any error.
int IterBitsNew(void* it, uint64_t ptr, uint32_t nr_words, KernelRead read,
                const void* ctx);
// bpf_iter_bits_next: the next set bit's index (a pointer into the
// iterator), or NULL once they are all found.
int32_t* IterBitsNext(void* it);
// bpf_iter_bits_destroy: frees the copy of a bitmap wider than one word.
void IterBitsDestroy(void* it);

// The interpreter's bindings: the iterator must be 16 writable bytes, the
// bitmap is read from the run's memory (any other address: -ERANGE below
// the kernel half, -EFAULT in it).
uint64_t InterpIterBitsNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterBitsNext(interp::Vm& vm, uint64_t r1, uint64_t r2,
                            uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpIterBitsDestroy(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_ITER_BITS_H_
