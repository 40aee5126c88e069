// SPDX-License-Identifier: Apache-2.0
// File: bytecode.h
//
// BPF_PROG_LOAD for bytecode (kernel/bpf/syscall.c bpf_prog_load): raw
// instructions checked and decoded by the interpreter (emu/interp.h), linked
// to the same helper implementations as natively built programs
// (native/helpers.cc) and to emulated maps by fd, then registered as a
// program with an fd and an id (emu/prog.h).
//
// The helpers check their pointer arguments against the memory the run may
// touch (interp::Vm) where the kernel's verifier would have checked them at
// load time; a bad argument stops the run (ProgFaulted()).

#ifndef BPFEMU_LOADER_BYTECODE_H_
#define BPFEMU_LOADER_BYTECODE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/prog.h"
#include "native/helpers.h"

struct bpf_prog_info;

namespace bpfemu::native {

// A linker resolving helpers by id and maps by fd of this process.
std::unique_ptr<interp::Linker> MakeBytecodeLinker();

// license_is_gpl_compatible() (include/linux/license.h).
bool LicenseIsGplCompatible(const char* license);

// BPF_PROG_LOAD attributes beyond the program itself.
struct ProgLoadFlags {
  uint32_t prog_flags = 0;
  uint32_t prog_ifindex = 0;  // bpf_program__set_ifindex()
  bool has_fd_array = false;  // attr.fd_array set (kfunc calls' off > 0)
  // Receives the verifier-log lines of a refusal (kfunc calls), or nullptr.
  std::string* log = nullptr;
  // prog_btf_fd's object and the func_info / line_info records (8 and 16
  // bytes each), kept for bpf_prog_info (emu/prog.h ProgLoadRecord).
  uint32_t btf_id = 0;
  std::vector<uint8_t> func_info, line_info;
  uint32_t nr_func_info = 0, nr_line_info = 0;
  // prog_btf_fd's raw BTF (empty: none): the struct sizes bpf_obj_new
  // allocates (interp::LoadAttr::local_type_size).
  std::vector<uint8_t> btf_raw;
  // attr.attach_btf_id: a tracing program's kernel BTF target (an
  // iterator's bpf_iter_<target>, emu/bpf_iter.h IterProgCheck).
  uint32_t attach_btf_id = 0;
  // fd_array[index] for BPF_PSEUDO_MAP_IDX(_VALUE) (interp::LoadAttr).
  std::function<int(uint32_t index, int* fd)> fd_array_entry;
};

// ProgLoadFlags::fd_array_entry for an fd_array at `fd_array` in this
// process, read as `space` reads it (a caller's user pointer, or the
// kernel pointer bpf_sys_bpf passes): 0, or -EFAULT.
std::function<int(uint32_t index, int* fd)> FdArrayInMemory(uint64_t fd_array,
                                                            ProbeSpace space);

// Loads `insn_cnt` instructions as a program of `prog_type`: a new program
// fd, or -errno (E2BIG, EINVAL, EACCES, EBADF as the kernel's checks answer;
// EPERM for an unprivileged caller; unknown prog_flags and a device binding
// as emu/prog.h ProgFlagsKnown and ProgDevBoundInit answer).
int ProgLoadBytecode(uint32_t prog_type, uint32_t expected_attach_type,
                     const std::string& name, const interp::RawInsn* insns,
                     uint32_t insn_cnt, const char* license,
                     const ProgLoadFlags& flags = {});

// bpf_prog_get_info_by_fd() (kernel/bpf/syscall.c) for `p` on the caller's
// struct, already copied in: fills each field the kernel fills and copies
// the arrays the caller asked for (map_ids, xlated_prog_insns, func_info,
// line_info, prog_tags: up to the caller's count, which then becomes the
// program's) through `write(ptr, data, bytes)` (0, or -EFAULT). 0 or
// -errno (-EINVAL for a wrong record size, -EFAULT). An unprivileged caller
// gets no instructions or BTF records, as bpf_capable() decides. There is
// no JIT image: jited lengths are 0.
int ProgFillInfo(
    const Prog& p, bpf_prog_info* info,
    const std::function<int(uint64_t, const void*, size_t)>& write);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_BYTECODE_H_
