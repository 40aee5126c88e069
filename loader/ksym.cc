// SPDX-License-Identifier: Apache-2.0
// File: ksym.cc
//
// Extern function (kfunc) resolution for the bytecode loader (ksym.h).
// Mirrors libbpf 1.1: tools/lib/bpf/libbpf.c
// (bpf_object__resolve_ksym_func_btf_id, the RELO_EXTERN_CALL case of
// bpf_object__relocate_data) and tools/lib/bpf/relo_core.c
// (__bpf_core_types_are_compat).

#include "loader/ksym.h"

#include <linux/btf.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace bpfemu::native {

namespace {

// libbpf's recursion limits: 32 pointer/array/prototype hops per level,
// and as many nested prototype levels.
constexpr int kMaxDepth = 32;
constexpr int kMaxLevel = 32;

const btf_type kVoid = {};

// One side of the comparison: a type by id (void for 0), nullptr for a
// bad id.
struct Side {
  const BtfData* local = nullptr;
  const KernelBtf* kern = nullptr;

  const btf_type* Type(uint32_t id) const {
    if (id == 0) return &kVoid;
    return local != nullptr ? local->Type(id) : kern->Type(id);
  }
  // Follows typedefs and qualifiers (skip_mods_and_typedefs): the type and
  // its id in *id, or nullptr.
  const btf_type* Skip(uint32_t* id) const {
    for (int hops = 0; hops < 256; ++hops) {
      const btf_type* t = Type(*id);
      if (t == nullptr) return nullptr;
      switch (BTF_INFO_KIND(t->info)) {
        case BTF_KIND_TYPEDEF:
        case BTF_KIND_VOLATILE:
        case BTF_KIND_CONST:
        case BTF_KIND_RESTRICT:
        case BTF_KIND_TYPE_TAG:
          *id = t->type;
          continue;
        default:
          return t;
      }
    }
    return nullptr;
  }
};

// btf_kind_core_compat(): the same kind, or enum and enum64.
bool KindsCompatible(const btf_type* a, const btf_type* b) {
  const uint32_t ka = BTF_INFO_KIND(a->info), kb = BTF_INFO_KIND(b->info);
  auto any_enum = [](uint32_t k) {
    return k == BTF_KIND_ENUM || k == BTF_KIND_ENUM64;
  };
  return ka == kb || (any_enum(ka) && any_enum(kb));
}

int Compatible(const Side& l, uint32_t lid, const Side& k, uint32_t kid,
               int level) {
  const btf_type* lt = l.Type(lid);
  const btf_type* kt = k.Type(kid);
  if (lt == nullptr || kt == nullptr) return -EINVAL;
  if (!KindsCompatible(lt, kt)) return 0;
  for (int depth = kMaxDepth; depth > 0; --depth) {
    lt = l.Skip(&lid);
    kt = k.Skip(&kid);
    if (lt == nullptr || kt == nullptr) return -EINVAL;
    if (!KindsCompatible(lt, kt)) return 0;
    switch (BTF_INFO_KIND(lt->info)) {
      case BTF_KIND_UNKN:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_FWD:
        return 1;
      case BTF_KIND_INT: {
        // Integers of any size match; old bitfield-style ones (a bit
        // offset in the encoding) match nothing.
        uint32_t le, ke;
        std::memcpy(&le, lt + 1, 4);
        std::memcpy(&ke, kt + 1, 4);
        return BTF_INT_OFFSET(le) == 0 && BTF_INT_OFFSET(ke) == 0;
      }
      case BTF_KIND_PTR:
        lid = lt->type;
        kid = kt->type;
        continue;
      case BTF_KIND_ARRAY: {
        btf_array la, ka;
        std::memcpy(&la, lt + 1, sizeof(la));
        std::memcpy(&ka, kt + 1, sizeof(ka));
        lid = la.type;
        kid = ka.type;
        continue;
      }
      case BTF_KIND_FUNC_PROTO: {
        const uint16_t n = BTF_INFO_VLEN(lt->info);
        if (n != BTF_INFO_VLEN(kt->info)) return 0;
        const auto* lp = reinterpret_cast<const btf_param*>(lt + 1);
        const auto* kp = reinterpret_cast<const btf_param*>(kt + 1);
        for (uint16_t i = 0; i < n; ++i) {
          if (level <= 0) return -EINVAL;
          uint32_t a = lp[i].type, b = kp[i].type;
          l.Skip(&a);
          k.Skip(&b);
          if (int r = Compatible(l, a, k, b, level - 1); r <= 0) return r;
        }
        // Then the return types.
        lid = lt->type;
        kid = kt->type;
        l.Skip(&lid);
        k.Skip(&kid);
        continue;
      }
      default:
        return 0;
    }
  }
  return -EINVAL;
}

}  // namespace

int KsymTypesCompatible(const BtfData& local, uint32_t local_id,
                        const KernelBtf& kern, uint32_t kern_id) {
  return Compatible(Side{&local, nullptr}, local_id, Side{nullptr, &kern},
                    kern_id, kMaxLevel);
}

int ResolveKsymFuncs(const ElfObject& obj, const KernelBtf* kern,
                     std::vector<int32_t>* ids, std::string* error) {
  ids->assign(obj.ksym_funcs.size(), 0);
  if (obj.ksym_funcs.empty()) return 0;
  // bpf_object__load_vmlinux_btf(): the externs need the kernel's BTF.
  if (kern == nullptr) {
    *error = "failed to find valid kernel BTF";
    return -ESRCH;
  }
  // bpf_object__collect_externs(): every extern has its BTF in the
  // object.
  std::unique_ptr<BtfData> local;
  if (obj.btf.empty() || BtfData::Parse(obj.btf, nullptr, &local) != 0) {
    *error = absl::StrCat("failed to find BTF for extern '",
                          obj.ksym_funcs[0].name, "'");
    return -ENOENT;
  }
  for (size_t i = 0; i < obj.ksym_funcs.size(); ++i) {
    const ElfKsymFunc& f = obj.ksym_funcs[i];
    const int local_func = local->FindByNameKind(f.name, BTF_KIND_FUNC);
    const btf_type* lt = local_func > 0
                             ? local->Type(static_cast<uint32_t>(local_func))
                             : nullptr;
    if (lt == nullptr) {
      *error = absl::StrCat("failed to find BTF for extern '", f.name, "'");
      return -ENOENT;
    }
    const int32_t kfunc = kern->FindByNameKind(f.name, BTF_KIND_FUNC);
    if (kfunc < 0) {
      if (f.weak) continue;  // unresolved weak: imm 0
      *error = absl::StrCat("extern (func ksym) '", f.name,
                            "': not found in kernel or module BTFs");
      return -ESRCH;
    }
    const uint32_t kern_proto = kern->Type(static_cast<uint32_t>(kfunc))->type;
    if (KsymTypesCompatible(*local, lt->type, *kern, kern_proto) <= 0) {
      *error = absl::StrCat("extern (func ksym) '", f.name, "': func_proto [",
                            lt->type, "] incompatible with kernel [",
                            kern_proto, "]");
      return -EINVAL;
    }
    (*ids)[i] = kfunc;
  }
  return 0;
}

void ApplyKfuncRelocs(const ElfProgram& prog, const std::vector<int32_t>& ids,
                      std::vector<interp::RawInsn>* insns) {
  for (const ElfKfuncReloc& r : prog.kfunc_relocs) {
    if (r.insn >= insns->size() || r.ksym >= ids.size()) continue;
    (*insns)[r.insn].imm = ids[r.ksym];
    (*insns)[r.insn].off = 0;
  }
}

}  // namespace bpfemu::native
