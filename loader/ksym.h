// SPDX-License-Identifier: Apache-2.0
// File: ksym.h
//
// Extern functions of a .bpf.o (`extern ... __ksym`, a BTF FUNC with
// extern linkage in the ".ksyms" DATASEC, called with relocated
// BPF_PSEUDO_KFUNC_CALL instructions) resolved by name against the
// emulated kernel's BTF (emu/kernel_btf.h), as libbpf 1.1 does it:
// tools/lib/bpf/libbpf.c bpf_object__resolve_ksym_func_btf_id (vmlinux
// only: bpfemu has no module BTF) and tools/lib/bpf/relo_core.c
// __bpf_core_types_are_compat for the prototypes. A resolved call gets
// imm = the kernel's BTF id and off = 0; an unresolved `__weak` one keeps
// imm 0 and off 0 (libbpf 1.1's rule), which the interpreter then refuses
// as the kernel does a call its dead-code pass did not remove.

#ifndef BPFEMU_LOADER_KSYM_H_
#define BPFEMU_LOADER_KSYM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/kernel_btf.h"
#include "loader/btf.h"
#include "loader/elf_object.h"

namespace bpfemu::native {

// bpf_core_types_are_compat(): whether the object's type `local_id` (in
// `local`) and the kernel's `kern_id` have compatible shapes: the same
// kinds after modifiers and typedefs (enum and enum64 alike), any two
// structs, unions, enums or forward declarations, non-bitfield integers of
// any size, pointers and arrays to compatible types, and prototypes with
// the same number of compatible parameters and a compatible return type.
// 1, 0, or -EINVAL (a broken id, or nesting deeper than libbpf allows).
int KsymTypesCompatible(const BtfData& local, uint32_t local_id,
                        const KernelBtf& kern, uint32_t kern_id);

// Resolves each of obj.ksym_funcs against `kern` (nullptr: the kernel has
// no BTF): (*ids)[i] is the kernel BTF id of ksym_funcs[i], or 0 for an
// unresolved weak one. 0, or -errno with *error saying which extern:
//   no kernel BTF                           -ESRCH
//   the object's BTF has no FUNC of the name -ENOENT
//   not in the kernel BTF (and not weak)    -ESRCH
//   prototype incompatible                  -EINVAL
int ResolveKsymFuncs(const ElfObject& obj, const KernelBtf* kern,
                     std::vector<int32_t>* ids, std::string* error);

// Writes the resolved ids into a program's kfunc calls (imm = id, off 0).
void ApplyKfuncRelocs(const ElfProgram& prog, const std::vector<int32_t>& ids,
                      std::vector<interp::RawInsn>* insns);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_KSYM_H_
