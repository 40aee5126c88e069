// SPDX-License-Identifier: Apache-2.0
// File: elf_object.h
//
// Reads a `clang -target bpf` object file the way libbpf's
// bpf_object__open does (tools/lib/bpf/libbpf.c, libbpf 1.1): programs from
// executable sections other than .text (one per global function symbol),
// subprograms from .text appended to each program that calls them, maps
// from the BTF of the ".maps" section (`__uint`, `__type`, `__array`), global
// data sections (.data*, .rodata*, .bss) as one-element array maps named as
// libbpf names them, and the relocations that must be filled with map fds at
// load. No libbpf, libelf or kernel dependency.

#ifndef BPFEMU_LOADER_ELF_OBJECT_H_
#define BPFEMU_LOADER_ELF_OBJECT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "emu/interp.h"
#include "loader/kconfig.h"

namespace bpfemu::native {

struct ElfMap {
  std::string name;       // the kernel map name libbpf uses
  std::string real_name;  // the variable, or the section (".bss")
  uint32_t type = 0, key_size = 0, value_size = 0, max_entries = 0;
  uint32_t map_flags = 0, numa_node = 0, pinning = 0;
  uint64_t map_extra = 0;
  int32_t spin_lock_off = -1;  // struct bpf_spin_lock in the value, or -1
  // The .BTF ids libbpf gives the map (map->btf_key_type_id / value):
  // the `__type(key/value, T)` targets, or a global-data map's DATASEC as
  // the value; 0 where there is none.
  uint32_t btf_key_type_id = 0, btf_value_type_id = 0;
  // Map-in-map: the `__array(values, ...)` template.
  uint32_t inner_type = 0, inner_key_size = 0, inner_value_size = 0;
  uint32_t inner_max_entries = 0, inner_map_flags = 0;
  uint32_t inner_btf_key_type_id = 0, inner_btf_value_type_id = 0;
  // Global data: the section's initial bytes (zeros for .bss).
  bool internal = false;
  std::vector<uint8_t> initial;
  // How the definition was written, for the native build's generator
  // (loader/gen_native.cc), which re-derives each attribute with the host
  // compiler: the definition's field names in order ("type", "key",
  // "value_size", ...), the value's struct bpf_spin_lock member, and the
  // field names of an `__array(values, struct inner)` template (absent for
  // a program array's function prototypes).
  std::vector<std::string> def_fields;
  std::string spin_lock_member;
  // The value's struct bpf_timer member and its offset (none: -1).
  std::string timer_member;
  int32_t timer_off = -1;
  // kfuncB47: a struct bpf_wq member of the value (one), or -1.
  std::string wq_member;
  int32_t wq_off = -1;
  // tw50: a struct bpf_task_work member of the value (one), or -1.
  std::string task_work_member;
  int32_t task_work_off = -1;
  // The value's kptr members (btf_find_kptr), their offsets, and which are
  // `__percpu_kptr`s.
  std::vector<std::string> kptr_members;
  std::vector<int32_t> kptr_offs;
  std::vector<bool> kptr_percpu;
  bool has_inner_def = false;
  std::vector<std::string> inner_def_fields;
  // The `values` member's byte offset in the definition, or -1.
  int32_t values_offset = -1;
  // `.values = { [i] = &target }`: the slots libbpf fills at load
  // (bpf_object__collect_map_relos): a program array's programs (by
  // function name), a map-in-map's inner maps (by variable name).
  struct InitSlot {
    uint32_t index;
    std::string target;
  };
  std::vector<InitSlot> init_slots;
  // A map of .struct_ops / .struct_ops.link (libbpf 1.1's map->st_ops:
  // init_struct_ops_maps, bpf_object__collect_st_ops_relos): the struct's
  // name (non-empty only for these maps), the variable's bytes, and each
  // member of the object's struct with the program a relocation put there.
  struct StMember {
    std::string name;
    uint32_t offset = 0;  // bytes into the struct
    uint32_t kind = 0;    // BTF kind after typedefs and modifiers
    int64_t size = -1;    // resolved size, -1 if none
    bool bitfield = false;
    bool func_ptr = false;  // a pointer to a function prototype
    std::string prog;       // the program a relocation put here, or ""
  };
  std::string st_type;
  std::vector<uint8_t> st_data;
  std::vector<StMember> st_members;
};

// An instruction that needs a map fd: LD_IMM64 of a map (BPF_PSEUDO_MAP_FD)
// or of a byte inside a global-data map (BPF_PSEUDO_MAP_VALUE, `offset`).
struct ElfMapReloc {
  uint32_t insn;
  uint32_t map;  // index into ElfObject::maps
  bool value;
  uint32_t offset;
};

// A call of an extern function (`extern ... __ksym`): a kfunc, resolved by
// name against the kernel's BTF at load (loader/ksym.h). The instruction
// is already a BPF_PSEUDO_KFUNC_CALL with imm 0.
struct ElfKfuncReloc {
  uint32_t insn;
  uint32_t ksym;  // index into ElfObject::ksym_funcs
};

// An extern function the object calls, as libbpf's extern_desc of type
// EXT_KSYM for a BTF FUNC.
struct ElfKsymFunc {
  std::string name;
  bool weak = false;  // `__weak`: may stay unresolved
};

struct ElfProgram {
  std::string name;
  std::string section;
  // The ELF index of that section (libbpf's prog->sec_idx): two sections
  // may share a name.
  uint32_t sec_idx = 0;
  uint32_t prog_type = 0, expected_attach_type = 0;
  std::vector<interp::RawInsn> insns;  // with .text subprograms appended
  std::vector<ElfMapReloc> relocs;
  std::vector<ElfKfuncReloc> kfunc_relocs;
  // Where the function sits in its section (instructions), how many of
  // insns are its own, and where the appended .text starts (-1: none):
  // CO-RE records (loader/core_relo.h) are in section frames.
  uint32_t sec_insn_off = 0, sec_insn_cnt = 0;
  int64_t text_base = -1;
};

struct ElfObject {
  std::string name;  // libbpf's object name: the file name up to its first '.'
  std::string license;
  uint32_t kern_version = 0;
  std::vector<ElfMap> maps;  // .maps definitions, then global data
  std::vector<ElfProgram> programs;
  // Global and weak symbols defined in the object (maps, programs, data).
  std::vector<std::string> globals;
  // The object's .BTF as libbpf loads it into the kernel: DATASEC sizes and
  // variable offsets filled in from the ELF sections and symbols, each
  // DATASEC's variables sorted by offset (btf_fixup_datasec). Empty
  // without a .BTF section.
  std::vector<uint8_t> btf;
  // Extern functions the programs call (kfuncs), each once.
  std::vector<ElfKsymFunc> ksym_funcs;
  // `extern ... __kconfig` variables, laid out in the map `kconfig_map`
  // (".kconfig", an index into `maps`; -1 without such externs), whose
  // value the load fills (loader/kconfig.h).
  std::vector<KconfigExtern> kconfig;
  int32_t kconfig_map = -1;
  // The .BTF.ext section as it is (empty without one), and .text's
  // instructions before any relocation (empty without .text).
  std::vector<uint8_t> btf_ext;
  std::vector<interp::RawInsn> text;
  // How many functions (STT_FUNC symbols) .text holds: libbpf makes each a
  // subprogram of its own and counts it in obj->nr_programs (the loader
  // generator sizes its stack by that count).
  uint32_t text_funcs = 0;
};

// Parses `data` (a whole ELF file). `name` becomes the object name.
absl::StatusOr<ElfObject> ParseElfObject(absl::Span<const uint8_t> data,
                                         std::string_view name);

// What the native build's generator needs and nothing that could fail on
// instructions: the object's .maps definitions (no global data), its
// programs' names and sections (no instructions), license and globals.
// The same reader as ParseElfObject's, so the two cannot drift apart.
absl::StatusOr<ElfObject> ParseElfObjectOutline(absl::Span<const uint8_t> data,
                                                std::string_view name);

// libbpf's object name for a path: "dir/counter.bpf.o" -> "counter".
std::string ObjectNameFromPath(std::string_view path);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_ELF_OBJECT_H_
