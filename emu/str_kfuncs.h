// SPDX-License-Identifier: Apache-2.0
// File: str_kfuncs.h
//
// The read-only string kfuncs of Linux 6.18 (kernel/bpf/helpers.c, "Kfuncs
// for string operations": bpf_strcmp, bpf_strcasecmp, bpf_strchr,
// bpf_strchrnul, bpf_strnchr, bpf_strrchr, bpf_strlen, bpf_strnlen,
// bpf_strspn, bpf_strcspn, bpf_strstr, bpf_strnstr), shared by the
// interpreter (emu/kfunc.cc) and the native face (native/string_kfuncs.cc).
//
// Their arguments are `__ign`: the verifier takes any value, and the
// function checks the address itself. Each string's start must pass
// copy_from_kernel_nofault_allowed (else -ERANGE: the NULL page and every
// other user-half address, the vsyscall page, non-canonical addresses);
// each byte is then read without faulting (a byte that cannot be read:
// -EFAULT). Every walk stops after XATTR_SIZE_MAX (65536) bytes with
// -E2BIG. Characters are the kernel's `char`, unsigned (the kernel is
// built with -funsigned-char since 6.2, on every architecture).

#ifndef BPFEMU_EMU_STR_KFUNCS_H_
#define BPFEMU_EMU_STR_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::strk {

// Where a string kfunc reads: the face's idea of kernel memory.
struct ByteReader {
  // copy_from_kernel_nofault_allowed(addr, 1).
  bool (*allowed)(const void* ctx, uint64_t addr);
  // __get_kernel_nofault: false when the byte cannot be read.
  bool (*read)(const void* ctx, uint64_t addr, char* out);
  const void* ctx;
};

// include/uapi/linux/limits.h XATTR_SIZE_MAX: the longest walk.
inline constexpr int kStrMax = 65536;

// x86-64, 4-level paging (arch/x86/mm/maccess.c
// copy_from_kernel_nofault_allowed): whether a kernel-half address passes
// the check (canonical, not the vsyscall page, at or above
// TASK_SIZE_MAX + PAGE_SIZE).
bool KernelHalfAllowed(uint64_t addr);

// bpf_strcmp / bpf_strcasecmp: -1, 0, 1 or an error.
int Strcmp(const ByteReader& r, uint64_t s1, uint64_t s2, bool ignore_case);
// bpf_strnchr (bpf_strchr: count XATTR_SIZE_MAX): the index of the first
// `c` within `count` bytes (the NUL itself when c is 0), -ENOENT.
int Strnchr(const ByteReader& r, uint64_t s, uint64_t count, uint8_t c);
// bpf_strchrnul: the index of the first `c` or of the NUL.
int Strchrnul(const ByteReader& r, uint64_t s, uint8_t c);
// bpf_strrchr: the index of the last `c` (an int compared with each
// unsigned char), -ENOENT.
int Strrchr(const ByteReader& r, uint64_t s, int32_t c);
// bpf_strnlen (bpf_strlen: count XATTR_SIZE_MAX).
int Strnlen(const ByteReader& r, uint64_t s, uint64_t count);
// bpf_strspn (`reject` false: the span of bytes in `set`) and bpf_strcspn
// (`reject` true: the span of bytes not in `set`).
int Strspn(const ByteReader& r, uint64_t s, uint64_t set, bool reject);
// bpf_strnstr (bpf_strstr: len XATTR_SIZE_MAX): the index of the first
// occurrence of s2 within the first `len` bytes of s1, -ENOENT.
int Strnstr(const ByteReader& r, uint64_t s1, uint64_t s2, uint64_t len,
            bool ignore_case);

// The interpreter's bindings (emu/kfunc.cc's table): the run's memory
// (interp::Vm::Readable) is kernel memory, any other kernel-half address
// faults.
uint64_t InterpStrcmp(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);
uint64_t InterpStrcasecmp(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t r4, uint64_t r5);
uint64_t InterpStrchr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);
uint64_t InterpStrchrnul(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5);
uint64_t InterpStrnchr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5);
uint64_t InterpStrrchr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5);
uint64_t InterpStrlen(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);
uint64_t InterpStrnlen(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5);
uint64_t InterpStrspn(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);
uint64_t InterpStrcspn(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5);
uint64_t InterpStrstr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);
uint64_t InterpStrnstr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5);

}  // namespace bpfemu::strk

#endif  // BPFEMU_EMU_STR_KFUNCS_H_
