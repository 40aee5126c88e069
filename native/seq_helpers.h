// SPDX-License-Identifier: Apache-2.0
// File: seq_helpers.h
//
// The helpers of BPF iterator programs (kernel/trace/bpf_trace.c
// bpf_seq_printf, bpf_seq_write, bpf_seq_printf_btf) on the seq_file of the
// iterator run (emu/bpf_iter.h IterSeq), for both faces: a native program calls
// the bpfemu_seq_* entry points (bpfemu/native_abi.h), the interpreter's table
// (loader/bytecode.cc) these functions after its argument checks.

#ifndef BPFEMU_NATIVE_SEQ_HELPERS_H_
#define BPFEMU_NATIVE_SEQ_HELPERS_H_

#include <cstdint>

#include "emu/bpf_iter.h"
#include "native/btf_show.h"
#include "native/helpers.h"

namespace bpfemu::native {

// bpf_seq_printf(): syscall_helpers.h BprintfData's errors (data_len, the
// format pass); else the text goes to `seq` as seq_bprintf
// writes it: 0, or -EOVERFLOW once the buffer has overflowed.
long SeqPrintf(IterSeq* seq, const char* fmt, uint32_t fmt_size,
               const uint64_t* data, uint32_t data_len,
               const OwnedMemory* owned);

// bpf_seq_write(): 0, or -EOVERFLOW when `len` bytes do not fit.
long SeqWrite(IterSeq* seq, const void* data, uint32_t len);

// bpf_seq_printf_btf(): btf_show.h ShowBtf's errors; else the text goes to
// `seq` (btf_type_seq_show_flags, through seq_vprintf) and the answer is the
// show's status, 0: unlike bpf_seq_printf, a full buffer is not reported.
long SeqPrintfBtf(IterSeq* seq, const void* ptr, uint32_t btf_ptr_size,
                  uint64_t flags, const ReadableFn* readable);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_SEQ_HELPERS_H_
