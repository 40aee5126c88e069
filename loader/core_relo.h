// SPDX-License-Identifier: Apache-2.0
// File: core_relo.h
//
// BPF CO-RE relocations for the bytecode loader, as libbpf 1.1 applies them
// at bpf_object__load: the .BTF.ext section's records
// (tools/lib/bpf/btf.c btf_ext__new, btf_ext_setup_info), the relocation
// of one record against the target BTF (tools/lib/bpf/relo_core.c
// bpf_core_parse_spec, bpf_core_spec_match, bpf_core_calc_relo,
// __bpf_core_types_are_compat, __bpf_core_types_match; libbpf.c
// bpf_core_find_cands, bpf_core_essential_name_len) and the patching of the
// instruction (relo_core.c bpf_core_patch_insn, bpf_core_poison_insn), for
// every program of an object (libbpf.c bpf_object__relocate_core).
//
// The local BTF is the object's .BTF (loader/btf.h); the target BTF is the
// emulated kernel's (emu/kernel_btf.h: /sys/kernel/btf/vmlinux or
// BPFEMU_VMLINUX_BTF). bpfemu has no kernel modules, so no module BTF is
// searched for candidates.

#ifndef BPFEMU_LOADER_CORE_RELO_H_
#define BPFEMU_LOADER_CORE_RELO_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "emu/interp.h"
#include "emu/kernel_btf.h"
#include "loader/btf.h"
#include "loader/elf_object.h"

namespace bpfemu::native {

// enum bpf_core_relo_kind (include/uapi/linux/bpf.h).
enum CoreReloKind : uint32_t {
  kCoreFieldByteOffset = 0,
  kCoreFieldByteSize = 1,
  kCoreFieldExists = 2,
  kCoreFieldSigned = 3,
  kCoreFieldLshiftU64 = 4,
  kCoreFieldRshiftU64 = 5,
  kCoreTypeIdLocal = 6,
  kCoreTypeIdTarget = 7,
  kCoreTypeExists = 8,
  kCoreTypeSize = 9,
  kCoreEnumvalExists = 10,
  kCoreEnumvalValue = 11,
  kCoreTypeMatches = 12,
};

// The helper id libbpf writes into a poisoned instruction (0xbad2310, "bad
// relo"); the verifier refuses it only where it is reachable.
constexpr int32_t kCorePoisonHelper = 195896080;

// struct bpf_core_relo.
struct CoreRelo {
  uint32_t insn_off = 0;
  uint32_t type_id = 0;
  uint32_t access_str_off = 0;
  uint32_t kind = 0;
};

// One section's records of the core_relo subsection.
struct CoreReloSection {
  uint32_t sec_name_off = 0;
  std::vector<CoreRelo> relos;
};

// What bpfemu keeps of a .BTF.ext: the record sizes and section counts of
// func_info and line_info (checked, not used), and the CO-RE relocations.
struct BtfExt {
  uint32_t func_info_rec_size = 0, line_info_rec_size = 0;
  uint32_t func_info_secs = 0, line_info_secs = 0;
  std::vector<CoreReloSection> core_relos;
};

// btf_ext__new(): 0, or libbpf's error: -EINVAL for a short or malformed
// header, subsection or record size, -ENOTSUP for byte-swapped data, a
// version other than 1 or flags. libbpf 1.1 then ignores the whole
// .BTF.ext (the object loads without CO-RE relocations).
int ParseBtfExt(absl::Span<const uint8_t> data, BtfExt* out);

// The result of relocating one record (struct bpf_core_relo_res).
struct CoreReloRes {
  uint64_t orig_val = 0, new_val = 0;
  bool poison = false, validate = true, fail_memsz_adjust = false;
  uint32_t orig_sz = 0, new_sz = 0;
  uint32_t orig_type_id = 0, new_type_id = 0;
};

// Relocates `relo` of the object's BTF `local` against `targ`
// (bpf_core_resolve_relo + bpf_core_calc_relo_insn). `cands` caches the
// candidates per local type id across the records of one object, pruned as
// libbpf prunes them. 0, or -EINVAL (bad record, ambiguous candidates),
// -E2BIG, -EOPNOTSUPP, with libbpf's warning appended to *log.
class CoreCandCache {
 public:
  // The candidates of `local_id` (target ids), or nullptr if not searched.
  std::vector<uint32_t>* Find(uint32_t local_id);
  std::vector<uint32_t>* Add(uint32_t local_id, std::vector<uint32_t> ids);

 private:
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> cands_;
};
int CoreCalcRelo(const std::string& prog, const CoreRelo& relo, int relo_idx,
                 const BtfData& local, const KernelBtf& targ,
                 CoreCandCache* cands, CoreReloRes* res, std::string* log);

// bpf_core_patch_insn(): writes `res` into insns[idx] (an ALU immediate,
// an LDX/ST/STX offset and size, or an LD_IMM64), or poisons it. 0,
// -EINVAL (unexpected instruction or value) or -ERANGE.
int CorePatchInsn(const std::string& prog, interp::RawInsn* insns, size_t n,
                  uint32_t idx, int relo_idx, const CoreReloRes& res,
                  std::string* log);

// bpf_object__relocate_core() for a whole object: every record of the
// object's .BTF.ext resolved against `targ` and patched into the
// instructions of the programs that contain it (those with autoload[i]
// set), (*insns)[i] starting as elf.programs[i].insns. A program's .text
// records apply to its appended copy of .text. An object without BTF,
// .BTF.ext or records is left as it is. 0, or -errno with the warnings in
// *log:
//   no target BTF (kernel without BTF)            -ESRCH
//   empty section name, misaligned or out-of-range
//   record, unresolvable record                   -EINVAL (or the above)
//   records for a section without programs        -ENOENT
int ApplyCoreRelos(const ElfObject& elf, const KernelBtf* targ,
                   const std::vector<bool>& autoload,
                   std::vector<std::vector<interp::RawInsn>>* insns,
                   std::string* log);

// Whether an object has CO-RE records (and so needs the kernel's BTF).
bool HasCoreRelos(const ElfObject& elf);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_CORE_RELO_H_
