// SPDX-License-Identifier: Apache-2.0
// File: btf_show.h
//
// bpf_snprintf_btf (kernel/trace/bpf_trace.c bpf_snprintf_btf and
// bpf_btf_printf_prepare) over kernel/bpf/btf.c btf_type_snprintf_show: a
// value shown as text by its type in the kernel BTF (emu/kernel_btf.h), with
// the kernel's layout rules - "(type){.member = value,...}" names, the
// indentation and newlines BTF_F_COMPACT drops, the type names BTF_F_NONAME
// drops, zero members left out unless BTF_F_ZERO (a nested struct or array
// only when some member inside is not zero), chars of a byte array as 'c'
// up to a NUL, bitfields in hex, enums by name, pointers hashed unless
// BTF_F_PTR_RAW. The text is cut to fit `str_size` with a NUL, as vsnprintf
// does, and the answer is the length the whole text has. bpf_seq_printf_btf
// (native/seq_helpers.h) writes the same text to an iterator's seq_file.
//
// What differs: a pointer other than NULL shown without BTF_F_PTR_RAW is
// hashed with a key of this process (the kernel's siphash key is its own
// secret), so only its form (16 hex digits, the upper 8 zero) matches; and
// the value is read in place, where the kernel copies it with
// copy_from_kernel_nofault: `readable` says whether the top-level object is
// kernel memory (the interpreter's regions), else -ERANGE for a user-half
// address and -EFAULT for a kernel one; natively (nullptr) any address but
// the NULL page is. Only the top-level object is checked, where the kernel
// copies 32 bytes at a time and could fail half way through.

#ifndef BPFEMU_NATIVE_BTF_SHOW_H_
#define BPFEMU_NATIVE_BTF_SHOW_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"

namespace bpfemu::native {

using ReadableFn = absl::FunctionRef<bool(uint64_t addr, uint64_t len)>;

// The text of the value `ptr` (a struct btf_ptr of btf_ptr_size bytes)
// points to, in *text; 0, or the errors below (bpf_btf_printf_prepare and
// the show's status, btf_type_show).
long ShowBtf(const void* ptr, uint32_t btf_ptr_size, uint64_t flags,
             const ReadableFn* readable, std::string* text);

// bpf_snprintf_btf(str, str_size, ptr, btf_ptr_size, flags): -EINVAL for
// flags beyond BTF_F_ALL, a btf_ptr_size other than 16 or type id 0;
// -ENOENT for an id the kernel BTF lacks; -EINVAL without a kernel BTF.
long SnprintfBtf(char* str, uint32_t str_size, const void* ptr,
                 uint32_t btf_ptr_size, uint64_t flags,
                 const ReadableFn* readable);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_BTF_SHOW_H_
