// SPDX-License-Identifier: Apache-2.0
// File: syscall_helpers.h
//
// The helpers of BPF_PROG_TYPE_SYSCALL programs (kernel/bpf/syscall.c
// bpf_sys_bpf, bpf_sys_close, bpf_kallsyms_lookup_name; kernel/bpf/btf.c
// bpf_btf_find_by_name_kind) and bpf_snprintf with the format pass it
// shares with bpf_trace_printk (kernel/bpf/helpers.c bpf_bprintf_prepare,
// lib/vsprintf.c bstr_printf), for both faces: a native program calls the
// bpfemu_* entry points (bpfemu/native_abi.h), the interpreter's table
// (loader/bytecode.cc) these functions after its argument checks.

#ifndef BPFEMU_NATIVE_SYSCALL_HELPERS_H_
#define BPFEMU_NATIVE_SYSCALL_HELPERS_H_

#include <cstdint>
#include <string>

#include "native/helpers.h"

namespace bpfemu::native {

// MAX_BPRINTF_VARARGS: bpf_snprintf's most arguments.
inline constexpr uint32_t kMaxBprintfVarargs = 12;

// bpf_bprintf_prepare() then bstr_printf(): checks `fmt` (NUL-terminated
// within fmt_size) against the kernel's grammar for `num_args` arguments
// and, when `args` is not NULL, formats it into *out (the whole text, not
// cut). Returns 0, -EINVAL for a format the kernel refuses, or -ENOSPC when
// the arguments overflow the kernel's 512-byte argument buffer. With `args`
// NULL this is the verifier's check of a constant format
// (check_bpf_snprintf_call). String and IP arguments are read as the
// kernel reads them (ProbeReadStr / ProbeRead; `owned` as there).
// `out_size` is the size of the buffer the text goes to (bstr_printf
// counts some arguments only while that buffer has room).
int Bprintf(const char* fmt, uint32_t fmt_size, const uint64_t* args,
            uint32_t num_args, const OwnedMemory* owned, std::string* out,
            size_t out_size = SIZE_MAX);

// Bprintf() of `data_len` bytes of arguments, as bpf_snprintf and
// bpf_seq_printf take them: -EINVAL for data_len not a multiple of 8, above
// kMaxBprintfVarargs * 8, or with NULL data; else Bprintf's answer.
int BprintfData(const char* fmt, uint32_t fmt_size, const uint64_t* data,
                uint32_t data_len, const OwnedMemory* owned, std::string* out,
                size_t out_size);

// bpf_snprintf(): -EINVAL for data_len not a multiple of 8, above
// kMaxBprintfVarargs * 8, or with NULL data; Bprintf's errors; else the
// formatted length plus one, with the first str_size - 1 bytes and a NUL
// written to `str` (nothing for str_size 0).
long Snprintf(char* str, uint32_t str_size, const char* fmt,
              const uint64_t* data, uint32_t data_len,
              const OwnedMemory* owned);

// bpf_sys_bpf(): the commands a program may run (BPF_MAP_CREATE,
// _UPDATE_ELEM, _DELETE_ELEM, _FREEZE, _GET_FD_BY_ID, BPF_PROG_LOAD,
// BPF_BTF_LOAD, BPF_LINK_CREATE, BPF_RAW_TRACEPOINT_OPEN; any other:
// -EINVAL) on the emulator, with __sys_bpf's attr size rules. `attr` is
// `size` bytes of program memory; pointers inside it are program memory
// too. New fds are this process's, so userspace uses them after the run.
long SysBpf(uint32_t cmd, const void* attr, uint32_t size);

// What bpf_sys_bpf's BPF_PROG_LOAD hands to the loader (loader/bytecode.cc
// registers it: the program loader sits above this library).
struct SysProgLoad {
  uint32_t prog_type = 0, expected_attach_type = 0, prog_flags = 0;
  const void* insns = nullptr;
  uint32_t insn_cnt = 0;
  const char* license = nullptr;
  uint64_t fd_array = 0;  // attr.fd_array: map fds by BPF_PSEUDO_MAP_IDX
  std::string name;
};
using SysProgLoader = int (*)(const SysProgLoad& load);
void SetSysProgLoader(SysProgLoader loader);

// bpf_sys_close(): close_fd(fd), through CloseFd for map and program fds.
long SysClose(uint32_t fd);

// bpf_btf_find_by_name_kind() over the emulated kernel BTF
// (emu/kernel_btf.h): -EINVAL for flags, name_sz <= 1 or a name not
// NUL-terminated at name_sz - 1, or no kernel BTF; the lowest id of that
// name and kind (the kind's low 8 bits, as btf_find_by_name_kind takes a
// u8), or -ENOENT. Module BTF is not modelled.
long BtfFindByNameKind(const char* name, int32_t name_sz, uint32_t kind,
                       int32_t flags);

// bpf_kallsyms_lookup_name(): *res = 0, then -EINVAL for flags or a bad
// name, -EPERM where /proc/kallsyms hides addresses from this process (the
// kernel's bpf_dump_raw_ok is the same check), else the address of the
// first symbol of that name in /proc/kallsyms or -ENOENT.
long KallsymsLookupName(const char* name, int32_t name_sz, int32_t flags,
                        uint64_t* res);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_SYSCALL_HELPERS_H_
