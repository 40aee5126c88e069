// SPDX-License-Identifier: Apache-2.0
// File: core_relo.cc
//
// CO-RE relocations (core_relo.h). Mirrors libbpf 1.1:
// tools/lib/bpf/btf.c (btf_ext__new, btf_ext_parse_hdr,
// btf_ext_setup_info), tools/lib/bpf/relo_core.c (bpf_core_parse_spec,
// bpf_core_fields_are_compat, bpf_core_match_member, bpf_core_spec_match,
// bpf_core_calc_*_relo, bpf_core_calc_relo_insn, __bpf_core_types_match,
// bpf_core_patch_insn, bpf_core_poison_insn) and tools/lib/bpf/libbpf.c
// (bpf_core_essential_name_len, bpf_core_add_cands, bpf_core_find_cands,
// bpf_object__relocate_core).

#include "loader/core_relo.h"

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "emu/interp_asm.h"
#include "loader/ksym.h"

namespace bpfemu::native {

namespace {

constexpr int kSpecMaxLen = 64;    // BPF_CORE_SPEC_MAX_LEN
constexpr int kMaxModHops = 1024;  // hostile BTF: modifier loops end here

const btf_type kVoid = {};

template <typename T>
bool Read(absl::Span<const uint8_t> d, uint64_t off, T* out) {
  if (off > d.size() || d.size() - off < sizeof(T)) return false;
  std::memcpy(out, d.data() + off, sizeof(T));
  return true;
}

// One BTF, the object's or the kernel's, as relo_core.c reads both.
class View {
 public:
  explicit View(const BtfData& b) : local_(&b) {}
  explicit View(const KernelBtf& k) : kern_(&k) {}
  // The type `id` (void for 0), or nullptr.
  const btf_type* Type(uint32_t id) const {
    if (id == 0) return &kVoid;
    return local_ != nullptr ? local_->Type(id) : kern_->Type(id);
  }
  // The string at `off`, or nullptr.
  const char* Str(uint32_t off) const {
    if (local_ != nullptr) return local_->Str(off);
    return kern_->Str(off).data();
  }
  uint32_t TypeCnt() const {
    return local_ != nullptr ? local_->TypeCnt() : kern_->TypeCount();
  }

 private:
  const BtfData* local_ = nullptr;
  const KernelBtf* kern_ = nullptr;
};

uint32_t Kind(const btf_type* t) { return BTF_INFO_KIND(t->info); }
uint16_t Vlen(const btf_type* t) { return BTF_INFO_VLEN(t->info); }
bool Kflag(const btf_type* t) { return BTF_INFO_KFLAG(t->info); }
bool IsComposite(const btf_type* t) {
  return Kind(t) == BTF_KIND_STRUCT || Kind(t) == BTF_KIND_UNION;
}
bool IsAnyEnum(const btf_type* t) {
  return Kind(t) == BTF_KIND_ENUM || Kind(t) == BTF_KIND_ENUM64;
}
bool StrEmpty(const char* s) { return s == nullptr || *s == '\0'; }
uint32_t IntWord(const btf_type* t) {
  uint32_t w;
  std::memcpy(&w, t + 1, sizeof(w));
  return w;
}
btf_array ArrayOf(const btf_type* t) {
  btf_array a;
  std::memcpy(&a, t + 1, sizeof(a));
  return a;
}
const btf_member* Members(const btf_type* t) {
  return reinterpret_cast<const btf_member*>(t + 1);
}
uint32_t MemberBitOffset(const btf_type* t, uint32_t i) {
  const uint32_t off = Members(t)[i].offset;
  return Kflag(t) ? BTF_MEMBER_BIT_OFFSET(off) : off;
}
uint32_t MemberBitfieldSize(const btf_type* t, uint32_t i) {
  return Kflag(t) ? BTF_MEMBER_BITFIELD_SIZE(Members(t)[i].offset) : 0;
}
// The name offset of enumerator i of an enum or enum64.
uint32_t EnumNameOff(const btf_type* t, uint32_t i) {
  if (Kind(t) == BTF_KIND_ENUM) {
    return reinterpret_cast<const btf_enum*>(t + 1)[i].name_off;
  }
  return reinterpret_cast<const btf_enum64*>(t + 1)[i].name_off;
}
uint64_t EnumValue(const btf_type* t, uint32_t i) {
  if (Kind(t) == BTF_KIND_ENUM) {
    // btf_enum.val is __s32, widened as libbpf widens it.
    return static_cast<uint64_t>(
        static_cast<int64_t>(reinterpret_cast<const btf_enum*>(t + 1)[i].val));
  }
  const btf_enum64& e = reinterpret_cast<const btf_enum64*>(t + 1)[i];
  return (uint64_t{e.val_hi32} << 32) | e.val_lo32;
}

// btf_kind_core_compat(): the same kind, or enum and enum64.
bool KindsCompat(const btf_type* a, const btf_type* b) {
  return Kind(a) == Kind(b) || (IsAnyEnum(a) && IsAnyEnum(b));
}

// skip_mods_and_typedefs(): the first type that is not a modifier or a
// typedef, its id in *out; nullptr for a bad id.
const btf_type* SkipMods(const View& v, uint32_t id, uint32_t* out) {
  for (int hops = 0; hops < kMaxModHops; ++hops) {
    const btf_type* t = v.Type(id);
    if (t == nullptr) return nullptr;
    switch (Kind(t)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        id = t->type;
        continue;
      default:
        if (out != nullptr) *out = id;
        return t;
    }
  }
  return nullptr;
}

// btf__resolve_size() (loader/btf.h), 8-byte pointers as on BPF.
int64_t ResolveSize(const View& v, uint32_t id) {
  return ResolveBtfSize([&v](uint32_t i) { return v.Type(i); }, id, 8);
}

// bpf_core_essential_name_len(): the name up to its last "___flavor".
size_t EssentialLen(const char* name) {
  const size_t n = std::strlen(name);
  for (int i = static_cast<int>(n) - 5; i >= 0; --i) {
    const char* s = name + i;
    if (s[0] != '_' && s[1] == '_' && s[2] == '_' && s[3] == '_' &&
        s[4] != '_') {
      return static_cast<size_t>(i) + 1;
    }
  }
  return n;
}

bool SameEssential(const char* a, const char* b) {
  const size_t la = EssentialLen(a), lb = EssentialLen(b);
  return la == lb && std::strncmp(a, b, la) == 0;
}

bool IsFieldKind(uint32_t k) { return k <= kCoreFieldRshiftU64; }
bool IsTypeKind(uint32_t k) {
  return (k >= kCoreTypeIdLocal && k <= kCoreTypeSize) || k == kCoreTypeMatches;
}
bool IsEnumvalKind(uint32_t k) {
  return k == kCoreEnumvalExists || k == kCoreEnumvalValue;
}

const char* KindName(uint32_t k) {
  static const char* const kNames[] = {
      "byte_off",    "byte_sz",    "field_exists",   "signed",
      "lshift_u64",  "rshift_u64", "local_type_id",  "target_type_id",
      "type_exists", "type_size",  "enumval_exists", "enumval_value",
      "type_matches"};
  return k < sizeof(kNames) / sizeof(kNames[0]) ? kNames[k] : "unknown";
}

struct Accessor {
  uint32_t type_id = 0;
  uint32_t idx = 0;
  const char* name = nullptr;
};

// struct bpf_core_spec.
struct Spec {
  const View* btf = nullptr;
  uint32_t root_type_id = 0;
  uint32_t kind = 0;
  Accessor spec[kSpecMaxLen];
  int len = 0;
  int raw_spec[kSpecMaxLen] = {};
  int raw_len = 0;
  uint32_t bit_offset = 0;
};

// is_flex_arr(): an array of 0 elements that is a struct's last member.
bool IsFlexArr(const View& v, const Accessor& acc, const btf_array& a) {
  if (acc.name == nullptr || a.nelems > 0) return false;
  const btf_type* t = v.Type(acc.type_id);
  return t != nullptr && acc.idx + 1 == Vlen(t);
}

// bpf_core_parse_spec().
int ParseSpec(const View& v, const CoreRelo& relo, Spec* spec) {
  const char* s = v.Str(relo.access_str_off);
  if (StrEmpty(s) || *s == ':') return -EINVAL;
  *spec = Spec();
  spec->btf = &v;
  spec->root_type_id = relo.type_id;
  spec->kind = relo.kind;
  if (IsTypeKind(relo.kind)) return std::strcmp(s, "0") == 0 ? 0 : -EINVAL;
  while (*s != '\0') {
    if (*s == ':') ++s;
    char* end = nullptr;
    errno = 0;
    const long idx = std::strtol(s, &end, 10);
    if (end == s) return -EINVAL;
    if (idx < 0 || idx > INT_MAX) return -EINVAL;
    if (spec->raw_len == kSpecMaxLen) return -E2BIG;
    s = end;
    spec->raw_spec[spec->raw_len++] = static_cast<int>(idx);
  }
  if (spec->raw_len == 0) return -EINVAL;
  uint32_t id;
  const btf_type* t = SkipMods(v, relo.type_id, &id);
  if (t == nullptr) return -EINVAL;
  uint32_t access = static_cast<uint32_t>(spec->raw_spec[0]);
  Accessor* acc = &spec->spec[0];
  acc->type_id = id;
  acc->idx = access;
  spec->len++;
  if (IsEnumvalKind(relo.kind)) {
    if (!IsAnyEnum(t) || spec->raw_len > 1 || access >= Vlen(t)) {
      return -EINVAL;
    }
    acc->name = v.Str(EnumNameOff(t, access));
    return 0;
  }
  if (!IsFieldKind(relo.kind)) return -EINVAL;
  int64_t sz = ResolveSize(v, id);
  if (sz < 0) return static_cast<int>(sz);
  spec->bit_offset = static_cast<uint32_t>(access * sz * 8);
  for (int i = 1; i < spec->raw_len; ++i) {
    t = SkipMods(v, id, &id);
    if (t == nullptr) return -EINVAL;
    access = static_cast<uint32_t>(spec->raw_spec[i]);
    acc = &spec->spec[spec->len];
    if (IsComposite(t)) {
      if (access >= Vlen(t)) return -EINVAL;
      spec->bit_offset += MemberBitOffset(t, access);
      const btf_member& m = Members(t)[access];
      if (m.name_off != 0) {
        const char* name = v.Str(m.name_off);
        if (StrEmpty(name)) return -EINVAL;
        acc->type_id = id;
        acc->idx = access;
        acc->name = name;
        spec->len++;
      }
      id = m.type;
    } else if (Kind(t) == BTF_KIND_ARRAY) {
      const btf_array a = ArrayOf(t);
      if (SkipMods(v, a.type, &id) == nullptr) return -EINVAL;
      const bool flex = IsFlexArr(v, *(acc - 1), a);
      if (!flex && access >= a.nelems) return -EINVAL;
      spec->spec[spec->len].type_id = id;
      spec->spec[spec->len].idx = access;
      spec->len++;
      sz = ResolveSize(v, id);
      if (sz < 0) return static_cast<int>(sz);
      spec->bit_offset += static_cast<uint32_t>(access * sz * 8);
    } else {
      return -EINVAL;
    }
  }
  return 0;
}

// bpf_core_fields_are_compat().
int FieldsCompat(const View& l, uint32_t lid, const View& k, uint32_t kid) {
  for (int depth = 0; depth < kMaxModHops; ++depth) {
    const btf_type* lt = SkipMods(l, lid, &lid);
    const btf_type* kt = SkipMods(k, kid, &kid);
    if (lt == nullptr || kt == nullptr) return -EINVAL;
    if (IsComposite(lt) && IsComposite(kt)) return 1;
    if (!KindsCompat(lt, kt)) return 0;
    switch (Kind(lt)) {
      case BTF_KIND_PTR:
      case BTF_KIND_FLOAT:
        return 1;
      case BTF_KIND_FWD:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64: {
        const char* ln = l.Str(lt->name_off);
        const char* kn = k.Str(kt->name_off);
        if (ln == nullptr || kn == nullptr) return -EINVAL;
        return EssentialLen(ln) == 0 || EssentialLen(kn) == 0 ||
               SameEssential(ln, kn);
      }
      case BTF_KIND_INT:
        return BTF_INT_OFFSET(IntWord(lt)) == 0 &&
               BTF_INT_OFFSET(IntWord(kt)) == 0;
      case BTF_KIND_ARRAY:
        lid = ArrayOf(lt).type;
        kid = ArrayOf(kt).type;
        continue;
      default:
        return 0;
    }
  }
  return -EINVAL;
}

// bpf_core_match_member(): the named member of the local accessor in the
// target composite `targ_id` (searching anonymous members), extending
// *spec. 1 found, 0 not, <0 error.
int MatchMember(const View& l, const Accessor& lacc, const View& k,
                uint32_t targ_id, Spec* spec, uint32_t* next_targ_id) {
  const btf_type* tt = SkipMods(k, targ_id, &targ_id);
  if (tt == nullptr) return -EINVAL;
  if (!IsComposite(tt)) return 0;
  const btf_type* lt = l.Type(lacc.type_id);
  const btf_member& lm = Members(lt)[lacc.idx];
  const char* lname = l.Str(lm.name_off);
  const uint16_t n = Vlen(tt);
  for (uint16_t i = 0; i < n; ++i) {
    if (spec->raw_len == kSpecMaxLen) return -E2BIG;
    const uint32_t bit_offset = MemberBitOffset(tt, i);
    spec->bit_offset += bit_offset;
    spec->raw_spec[spec->raw_len++] = i;
    const btf_member& m = Members(tt)[i];
    const char* tname = k.Str(m.name_off);
    if (StrEmpty(tname)) {
      const int found = MatchMember(l, lacc, k, m.type, spec, next_targ_id);
      if (found != 0) return found;
    } else if (lname != nullptr && std::strcmp(lname, tname) == 0) {
      Accessor& tacc = spec->spec[spec->len++];
      tacc.type_id = targ_id;
      tacc.idx = i;
      tacc.name = tname;
      *next_targ_id = m.type;
      const int found = FieldsCompat(l, lm.type, k, m.type);
      if (found == 0) spec->len--;
      return found;
    }
    spec->bit_offset -= bit_offset;
    spec->raw_len--;
  }
  return 0;
}

int TypesMatch(const View& l, uint32_t lid, const View& k, uint32_t kid,
               bool behind_ptr, int level);

// bpf_core_names_match(): an anonymous target matches only an anonymous
// local; otherwise the essential names must be equal.
bool NamesMatch(const View& l, uint32_t loff, const View& k, uint32_t koff) {
  const char* ln = l.Str(loff);
  const char* kn = k.Str(koff);
  if (StrEmpty(kn)) return StrEmpty(ln);
  if (ln == nullptr) return false;
  return SameEssential(ln, kn);
}

// bpf_core_enums_match().
int EnumsMatch(const View& l, const btf_type* lt, const View& k,
               const btf_type* kt) {
  if (lt->size != kt->size || Vlen(lt) > Vlen(kt)) return 0;
  for (uint16_t i = 0; i < Vlen(lt); ++i) {
    bool matched = false;
    for (uint16_t j = 0; j < Vlen(kt) && !matched; ++j) {
      matched = NamesMatch(l, EnumNameOff(lt, i), k, EnumNameOff(kt, j));
    }
    if (!matched) return 0;
  }
  return 1;
}

// bpf_core_composites_match().
int CompositesMatch(const View& l, const btf_type* lt, const View& k,
                    const btf_type* kt, bool behind_ptr, int level) {
  if (Vlen(lt) > Vlen(kt)) return 0;
  for (uint16_t i = 0; i < Vlen(lt); ++i) {
    const btf_member& lm = Members(lt)[i];
    bool matched = false;
    for (uint16_t j = 0; j < Vlen(kt) && !matched; ++j) {
      const btf_member& km = Members(kt)[j];
      if (!NamesMatch(l, lm.name_off, k, km.name_off)) continue;
      const int err = TypesMatch(l, lm.type, k, km.type, behind_ptr, level - 1);
      if (err < 0) return err;
      matched = err > 0;
    }
    if (!matched) return 0;
  }
  return 1;
}

// __bpf_core_types_match() (TYPE_MATCHES).
int TypesMatch(const View& l, uint32_t lid, const View& k, uint32_t kid,
               bool behind_ptr, int level) {
  if (level <= 0) return -EINVAL;
  for (int depth = 32; depth > 0; --depth) {
    const btf_type* lt = SkipMods(l, lid, &lid);
    const btf_type* kt = SkipMods(k, kid, &kid);
    if (lt == nullptr || kt == nullptr) return -EINVAL;
    if (!NamesMatch(l, lt->name_off, k, kt->name_off)) return 0;
    const uint32_t lk = Kind(lt), kk = Kind(kt);
    switch (lk) {
      case BTF_KIND_UNKN:
        return lk == kk;
      case BTF_KIND_FWD:
        if (behind_ptr && lk != kk) {
          return (kk == BTF_KIND_STRUCT && !Kflag(lt)) ||
                 (kk == BTF_KIND_UNION && Kflag(lt));
        }
        return lk == kk && Kflag(lt) == Kflag(kt);
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        if (!IsAnyEnum(kt)) return 0;
        return EnumsMatch(l, lt, k, kt);
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        if (behind_ptr) {
          if (lk == kk) return 1;
          if (kk != BTF_KIND_FWD) return 0;
          return (lk == BTF_KIND_UNION) == Kflag(kt);
        }
        if (lk != kk) return 0;
        return CompositesMatch(l, lt, k, kt, behind_ptr, level);
      case BTF_KIND_INT:
        if (lk != kk) return 0;
        return lt->size == kt->size &&
               (BTF_INT_ENCODING(IntWord(lt)) & BTF_INT_SIGNED) ==
                   (BTF_INT_ENCODING(IntWord(kt)) & BTF_INT_SIGNED);
      case BTF_KIND_PTR:
        if (lk != kk) return 0;
        behind_ptr = true;
        lid = lt->type;
        kid = kt->type;
        continue;
      case BTF_KIND_ARRAY: {
        if (lk != kk) return 0;
        const btf_array la = ArrayOf(lt), ka = ArrayOf(kt);
        if (la.nelems != ka.nelems) return 0;
        lid = la.type;
        kid = ka.type;
        continue;
      }
      case BTF_KIND_FUNC_PROTO: {
        if (lk != kk || Vlen(lt) != Vlen(kt)) return 0;
        const auto* lp = reinterpret_cast<const btf_param*>(lt + 1);
        const auto* kp = reinterpret_cast<const btf_param*>(kt + 1);
        for (uint16_t i = 0; i < Vlen(lt); ++i) {
          const int err =
              TypesMatch(l, lp[i].type, k, kp[i].type, behind_ptr, level - 1);
          if (err <= 0) return err;
        }
        lid = lt->type;
        kid = kt->type;
        continue;
      }
      default:
        return 0;
    }
  }
  return -EINVAL;
}

// bpf_core_spec_match(): 1 when the local spec resolves in the candidate
// `targ_id` (filling *ts), 0 when not, <0 on error.
int SpecMatch(const Spec& ls, const BtfData& local, const View& k,
              const KernelBtf& kern, uint32_t targ_id, Spec* ts) {
  *ts = Spec();
  ts->btf = &k;
  ts->root_type_id = targ_id;
  ts->kind = ls.kind;
  if (IsTypeKind(ls.kind)) {
    if (ls.kind == kCoreTypeMatches) {
      return TypesMatch(*ls.btf, ls.root_type_id, k, targ_id, false, 32);
    }
    return KsymTypesCompatible(local, ls.root_type_id, kern, targ_id);
  }
  const Accessor* lacc = &ls.spec[0];
  Accessor* tacc = &ts->spec[0];
  if (IsEnumvalKind(ls.kind)) {
    const btf_type* tt = SkipMods(k, targ_id, &targ_id);
    if (tt == nullptr || !IsAnyEnum(tt)) return 0;
    if (lacc->name == nullptr) return 0;
    for (uint16_t i = 0; i < Vlen(tt); ++i) {
      const char* tname = k.Str(EnumNameOff(tt, i));
      if (tname == nullptr || !SameEssential(lacc->name, tname)) continue;
      tacc->type_id = targ_id;
      tacc->idx = i;
      tacc->name = tname;
      ts->len++;
      ts->raw_spec[ts->raw_len++] = i;
      return 1;
    }
    return 0;
  }
  if (!IsFieldKind(ls.kind)) return -EINVAL;
  for (int i = 0; i < ls.len; ++i, ++lacc, ++tacc) {
    const btf_type* tt = SkipMods(k, targ_id, &targ_id);
    if (tt == nullptr) return -EINVAL;
    if (lacc->name != nullptr) {
      const int matched = MatchMember(*ls.btf, *lacc, k, targ_id, ts, &targ_id);
      if (matched <= 0) return matched;
      continue;
    }
    if (i > 0) {
      if (Kind(tt) != BTF_KIND_ARRAY) return 0;
      const btf_array a = ArrayOf(tt);
      const bool flex = IsFlexArr(k, *(tacc - 1), a);
      if (!flex && lacc->idx >= a.nelems) return 0;
      if (SkipMods(k, a.type, &targ_id) == nullptr) return -EINVAL;
    }
    if (ts->raw_len == kSpecMaxLen) return -E2BIG;
    tacc->type_id = targ_id;
    tacc->idx = lacc->idx;
    tacc->name = nullptr;
    ts->len++;
    ts->raw_spec[ts->raw_len++] = static_cast<int>(lacc->idx);
    const int64_t sz = ResolveSize(k, targ_id);
    if (sz < 0) return static_cast<int>(sz);
    ts->bit_offset += static_cast<uint32_t>(lacc->idx * sz * 8);
  }
  return 1;
}

// bpf_core_calc_field_relo(); -EUCLEAN asks for poisoning.
int CalcFieldRelo(const std::string& prog, const CoreRelo& relo,
                  const Spec* spec, uint64_t* val, uint32_t* field_sz,
                  uint32_t* type_id, bool* validate, std::string* log) {
  *field_sz = 0;
  if (relo.kind == kCoreFieldExists) {
    *val = spec != nullptr ? 1 : 0;
    return 0;
  }
  if (spec == nullptr) return -EUCLEAN;
  const View& v = *spec->btf;
  const Accessor& acc = spec->spec[spec->len - 1];
  const btf_type* t = v.Type(acc.type_id);
  if (t == nullptr) return -EINVAL;
  if (acc.name == nullptr) {
    // An a[n] accessor.
    const int64_t sz = ResolveSize(v, acc.type_id);
    if (relo.kind == kCoreFieldByteOffset) {
      *val = spec->bit_offset / 8;
      if (sz < 0) return -EINVAL;
      *field_sz = static_cast<uint32_t>(sz);
      *type_id = acc.type_id;
    } else if (relo.kind == kCoreFieldByteSize) {
      if (sz < 0) return -EINVAL;
      *val = static_cast<uint64_t>(sz);
    } else {
      absl::StrAppendFormat(log,
                            "prog '%s': relo %d at insn #%d can't be applied "
                            "to array access\n",
                            prog, relo.kind, relo.insn_off / 8);
      return -EINVAL;
    }
    if (validate != nullptr) *validate = true;
    return 0;
  }
  const btf_member& m = Members(t)[acc.idx];
  uint32_t field_type_id = 0;
  const btf_type* mt = SkipMods(v, m.type, &field_type_id);
  if (mt == nullptr) return -EINVAL;
  const uint32_t bit_off = spec->bit_offset;
  uint32_t bit_sz = MemberBitfieldSize(t, acc.idx);
  const bool bitfield = bit_sz > 0;
  uint32_t byte_sz, byte_off;
  if (bitfield) {
    byte_sz = mt->size;
    if (byte_sz == 0) return -EINVAL;
    byte_off = bit_off / 8 / byte_sz * byte_sz;
    // The smallest load that covers the bit-field.
    while (uint64_t{bit_off} + bit_sz - uint64_t{byte_off} * 8 >
           uint64_t{byte_sz} * 8) {
      if (byte_sz >= 8) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo %d at insn #%d can't be "
                              "satisfied for bitfield\n",
                              prog, relo.kind, relo.insn_off / 8);
        return -E2BIG;
      }
      byte_sz *= 2;
      byte_off = bit_off / 8 / byte_sz * byte_sz;
    }
  } else {
    const int64_t sz = ResolveSize(v, field_type_id);
    if (sz < 0) return -EINVAL;
    byte_sz = static_cast<uint32_t>(sz);
    byte_off = spec->bit_offset / 8;
    bit_sz = byte_sz * 8;
  }
  if (validate != nullptr) *validate = !bitfield;
  switch (relo.kind) {
    case kCoreFieldByteOffset:
      *val = byte_off;
      if (!bitfield) {
        *field_sz = byte_sz;
        *type_id = field_type_id;
      }
      break;
    case kCoreFieldByteSize:
      *val = byte_sz;
      break;
    case kCoreFieldSigned:
      *val = (IsAnyEnum(mt) && Kflag(mt)) ||
             (Kind(mt) == BTF_KIND_INT &&
              (BTF_INT_ENCODING(IntWord(mt)) & BTF_INT_SIGNED));
      if (validate != nullptr) *validate = true;
      break;
    case kCoreFieldLshiftU64:
      *val = 64 - (bit_off + bit_sz - byte_off * 8);
      break;
    case kCoreFieldRshiftU64:
      *val = 64 - bit_sz;
      if (validate != nullptr) *validate = true;
      break;
    default:
      return -EOPNOTSUPP;
  }
  return 0;
}

// bpf_core_calc_type_relo().
int CalcTypeRelo(const CoreRelo& relo, const Spec* spec, uint64_t* val,
                 bool* validate) {
  if (validate != nullptr) *validate = true;
  if (spec == nullptr) {
    *val = 0;
    return 0;
  }
  switch (relo.kind) {
    case kCoreTypeIdTarget:
      *val = spec->root_type_id;
      if (validate != nullptr) *validate = false;
      return 0;
    case kCoreTypeExists:
    case kCoreTypeMatches:
      *val = 1;
      return 0;
    case kCoreTypeSize: {
      const int64_t sz = ResolveSize(*spec->btf, spec->root_type_id);
      if (sz < 0) return -EINVAL;
      *val = static_cast<uint64_t>(sz);
      return 0;
    }
    default:
      return -EOPNOTSUPP;
  }
}

// bpf_core_calc_enumval_relo().
int CalcEnumvalRelo(const CoreRelo& relo, const Spec* spec, uint64_t* val) {
  switch (relo.kind) {
    case kCoreEnumvalExists:
      *val = spec != nullptr ? 1 : 0;
      return 0;
    case kCoreEnumvalValue: {
      if (spec == nullptr) return -EUCLEAN;
      const btf_type* t = spec->btf->Type(spec->spec[0].type_id);
      if (t == nullptr) return -EINVAL;
      *val = EnumValue(t, spec->spec[0].idx);
      return 0;
    }
    default:
      return -EOPNOTSUPP;
  }
}

bool IsPtr(const btf_type* t) {
  return t != nullptr && Kind(t) == BTF_KIND_PTR;
}
bool IsUnsignedInt(const btf_type* t) {
  return t != nullptr && Kind(t) == BTF_KIND_INT &&
         BTF_INT_ENCODING(IntWord(t)) != BTF_INT_SIGNED;
}

// bpf_core_calc_relo(): the original and new values for one candidate
// (`ts` nullptr: none matched).
int CalcRelo(const std::string& prog, const CoreRelo& relo, int relo_idx,
             const Spec& ls, const Spec* ts, CoreReloRes* res,
             std::string* log) {
  *res = CoreReloRes();
  int err = -EOPNOTSUPP;
  if (IsFieldKind(relo.kind)) {
    err = CalcFieldRelo(prog, relo, &ls, &res->orig_val, &res->orig_sz,
                        &res->orig_type_id, &res->validate, log);
    if (err == 0) {
      err = CalcFieldRelo(prog, relo, ts, &res->new_val, &res->new_sz,
                          &res->new_type_id, nullptr, log);
    }
    if (err == 0 && res->orig_sz != res->new_sz) {
      // Only a pointer or an unsigned integer may be read with another
      // size; any other access is poisoned at LDX/ST/STX.
      const btf_type* ot = ls.btf->Type(res->orig_type_id);
      const btf_type* nt = ts->btf->Type(res->new_type_id);
      const bool ok =
          (IsPtr(ot) && IsPtr(nt)) || (IsUnsignedInt(ot) && IsUnsignedInt(nt));
      res->fail_memsz_adjust = !ok;
    }
  } else if (IsTypeKind(relo.kind)) {
    err = CalcTypeRelo(relo, &ls, &res->orig_val, &res->validate);
    if (err == 0) err = CalcTypeRelo(relo, ts, &res->new_val, nullptr);
  } else if (IsEnumvalKind(relo.kind)) {
    err = CalcEnumvalRelo(relo, &ls, &res->orig_val);
    if (err == 0) err = CalcEnumvalRelo(relo, ts, &res->new_val);
  }
  if (err == -EUCLEAN) {
    res->poison = true;
    return 0;
  }
  if (err == -EOPNOTSUPP) {
    absl::StrAppendFormat(log,
                          "prog '%s': relo #%d: unrecognized CO-RE "
                          "relocation %s (%d) at insn #%d\n",
                          prog, relo_idx, KindName(relo.kind), relo.kind,
                          relo.insn_off / 8);
  }
  return err;
}

// bpf_core_find_cands(): the target types of the same kind (enum and enum64
// alike) and essential name, vmlinux only.
int FindCands(const BtfData& local, uint32_t local_id, const View& k,
              std::vector<uint32_t>* out) {
  const btf_type* lt = local.Type(local_id);
  if (lt == nullptr) return -EINVAL;
  const char* lname = local.Str(lt->name_off);
  if (StrEmpty(lname)) return -EINVAL;
  const size_t llen = EssentialLen(lname);
  out->clear();
  for (uint32_t id = 1; id < k.TypeCnt(); ++id) {
    const btf_type* t = k.Type(id);
    if (t == nullptr || !KindsCompat(t, lt)) continue;
    const char* name = k.Str(t->name_off);
    if (StrEmpty(name)) continue;
    if (EssentialLen(name) != llen || std::strncmp(lname, name, llen) != 0) {
      continue;
    }
    out->push_back(id);
  }
  return 0;
}

bool IsLdImm64(const interp::RawInsn& in) {
  return in.code == (BPF_LD | BPF_IMM | BPF_DW);
}

int SizeBytes(uint8_t code) {
  switch (BPF_SIZE(code)) {
    case BPF_DW:
      return 8;
    case BPF_W:
      return 4;
    case BPF_H:
      return 2;
    case BPF_B:
      return 1;
  }
  return -1;
}

// bpf_core_poison_insn(): a call of helper 0xbad2310 in place of the
// instruction (both halves of an LD_IMM64).
int Poison(interp::RawInsn* insn, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    insn[i].code = BPF_JMP | BPF_CALL;
    insn[i].dst = 0;
    insn[i].src = 0;
    insn[i].off = 0;
    insn[i].imm = kCorePoisonHelper;
  }
  return 0;
}

}  // namespace

std::vector<uint32_t>* CoreCandCache::Find(uint32_t local_id) {
  for (auto& [id, ids] : cands_) {
    if (id == local_id) return &ids;
  }
  return nullptr;
}

std::vector<uint32_t>* CoreCandCache::Add(uint32_t local_id,
                                          std::vector<uint32_t> ids) {
  cands_.emplace_back(local_id, std::move(ids));
  return &cands_.back().second;
}

int ParseBtfExt(absl::Span<const uint8_t> data, BtfExt* out) {
  *out = BtfExt();
  // btf_ext_parse_hdr().
  uint16_t magic;
  uint8_t version, flags;
  uint32_t hdr_len;
  if (!Read(data, 0, &magic) || !Read(data, 2, &version) ||
      !Read(data, 3, &flags) || !Read(data, 4, &hdr_len) ||
      data.size() < hdr_len) {
    return -EINVAL;
  }
  if (magic == __builtin_bswap16(BTF_MAGIC)) return -ENOTSUP;
  if (magic != BTF_MAGIC) return -EINVAL;
  if (version != BTF_VERSION) return -ENOTSUP;
  if (flags != 0) return -ENOTSUP;
  if (data.size() == hdr_len) return -EINVAL;
  // func_info and line_info are mandatory, core_relo optional.
  if (hdr_len < 24) return -EINVAL;
  uint32_t h[6] = {};
  for (int i = 0; i < 4; ++i) Read(data, 8 + 4 * i, &h[i]);
  const bool has_core = hdr_len >= 32;
  if (has_core) {
    Read(data, 24, &h[4]);
    Read(data, 28, &h[5]);
  }
  // btf_ext_setup_info(): one subsection of per-section record lists.
  auto setup = [&](uint32_t off, uint32_t len, uint32_t min_rec,
                   uint32_t* rec_size_out, uint32_t* secs,
                   std::vector<CoreReloSection>* relos) -> int {
    if (len == 0) return 0;
    if (off & 3) return -EINVAL;
    const uint64_t start = uint64_t{hdr_len} + off;
    if (start + len > data.size()) return -EINVAL;
    if (len < sizeof(uint32_t)) return -EINVAL;
    uint32_t rec_size;
    Read(data, start, &rec_size);
    if (rec_size < min_rec || (rec_size & 3)) return -EINVAL;
    uint64_t p = start + 4;
    uint64_t left = len - 4;
    if (left == 0) return -EINVAL;  // no records
    uint32_t count = 0;
    while (left > 0) {
      uint32_t name_off, num;
      if (left < 8) return -EINVAL;
      Read(data, p, &name_off);
      Read(data, p + 4, &num);
      if (num == 0) return -EINVAL;
      const uint64_t total = 8 + uint64_t{num} * rec_size;
      if (left < total) return -EINVAL;
      if (relos != nullptr) {
        CoreReloSection sec;
        sec.sec_name_off = name_off;
        sec.relos.resize(num);
        for (uint32_t i = 0; i < num; ++i) {
          const uint64_t r = p + 8 + uint64_t{i} * rec_size;
          CoreRelo& c = sec.relos[i];
          Read(data, r, &c.insn_off);
          Read(data, r + 4, &c.type_id);
          Read(data, r + 8, &c.access_str_off);
          Read(data, r + 12, &c.kind);
        }
        relos->push_back(std::move(sec));
      }
      left -= total;
      p += total;
      ++count;
    }
    *rec_size_out = rec_size;
    *secs = count;
    return 0;
  };
  BtfExt e;
  uint32_t core_rec = 0, core_secs = 0;
  if (int err = setup(h[0], h[1], 8, &e.func_info_rec_size, &e.func_info_secs,
                      nullptr);
      err != 0) {
    return err;
  }
  if (int err = setup(h[2], h[3], 16, &e.line_info_rec_size, &e.line_info_secs,
                      nullptr);
      err != 0) {
    return err;
  }
  if (has_core) {
    if (int err = setup(h[4], h[5], sizeof(CoreRelo), &core_rec, &core_secs,
                        &e.core_relos);
        err != 0) {
      return err;
    }
  }
  *out = std::move(e);
  return 0;
}

int CoreCalcRelo(const std::string& prog, const CoreRelo& relo, int relo_idx,
                 const BtfData& local, const KernelBtf& targ,
                 CoreCandCache* cache, CoreReloRes* res, std::string* log) {
  const View l(local), k(targ);
  // bpf_core_resolve_relo(): the local type and its candidates.
  const btf_type* lt = local.Type(relo.type_id);
  if (lt == nullptr) return -EINVAL;
  const char* lname = local.Str(lt->name_off);
  if (lname == nullptr) return -EINVAL;
  std::vector<uint32_t>* cands = nullptr;
  if (relo.kind != kCoreTypeIdLocal) {
    cands = cache->Find(relo.type_id);
    if (cands == nullptr) {
      std::vector<uint32_t> found;
      if (int err = FindCands(local, relo.type_id, k, &found); err != 0) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: target candidate search "
                              "failed for [%u] %s: %d\n",
                              prog, relo_idx, relo.type_id, lname, err);
        return err;
      }
      cands = cache->Add(relo.type_id, std::move(found));
    }
  }
  // bpf_core_calc_relo_insn().
  auto ls = std::make_unique<Spec>();
  if (int err = ParseSpec(l, relo, ls.get()); err != 0) {
    const char* spec_str = local.Str(relo.access_str_off);
    absl::StrAppendFormat(
        log, "prog '%s': relo #%d: parsing [%u] %s + %s failed: %d\n", prog,
        relo_idx, relo.type_id, StrEmpty(lname) ? "<anon>" : lname,
        spec_str != nullptr ? spec_str : "<?>", err);
    return -EINVAL;
  }
  if (relo.kind == kCoreTypeIdLocal) {
    *res = CoreReloRes();
    res->validate = false;
    res->orig_val = res->new_val = ls->root_type_id;
    return 0;
  }
  if (StrEmpty(lname)) {
    absl::StrAppendFormat(log,
                          "prog '%s': relo #%d: <%s> (%d) relocation doesn't "
                          "support anonymous types\n",
                          prog, relo_idx, KindName(relo.kind), relo.kind);
    return -EOPNOTSUPP;
  }
  auto cs = std::make_unique<Spec>();
  auto ts = std::make_unique<Spec>();
  size_t j = 0;
  for (size_t i = 0; i < cands->size(); ++i) {
    int err = SpecMatch(*ls, local, k, targ, (*cands)[i], cs.get());
    if (err < 0) {
      absl::StrAppendFormat(log,
                            "prog '%s': relo #%d: error matching candidate "
                            "#%d: %d\n",
                            prog, relo_idx, i, err);
      return err;
    }
    if (err == 0) continue;
    CoreReloRes cres;
    err = CalcRelo(prog, relo, relo_idx, *ls, cs.get(), &cres, log);
    if (err != 0) return err;
    if (j == 0) {
      *res = cres;
      *ts = *cs;
    } else if (cs->bit_offset != ts->bit_offset) {
      absl::StrAppendFormat(log,
                            "prog '%s': relo #%d: field offset ambiguity: %u "
                            "!= %u\n",
                            prog, relo_idx, cs->bit_offset, ts->bit_offset);
      return -EINVAL;
    } else if (cres.poison != res->poison || cres.new_val != res->new_val) {
      absl::StrAppendFormat(
          log,
          "prog '%s': relo #%d: relocation decision ambiguity: %s %u != %s "
          "%u\n",
          prog, relo_idx, cres.poison ? "failure" : "success", cres.new_val,
          res->poison ? "failure" : "success", res->new_val);
      return -EINVAL;
    }
    (*cands)[j++] = (*cands)[i];
  }
  // Candidates that did not match are dropped for the later records of
  // the same type (unless none matched).
  if (j > 0) {
    cands->resize(j);
    return 0;
  }
  return CalcRelo(prog, relo, relo_idx, *ls, nullptr, res, log);
}

int CorePatchInsn(const std::string& prog, interp::RawInsn* insns, size_t n,
                  uint32_t idx, int relo_idx, const CoreReloRes& res,
                  std::string* log) {
  if (idx >= n) return -EINVAL;
  interp::RawInsn* insn = &insns[idx];
  const uint64_t orig = res.orig_val, val = res.new_val;
  auto bad = [&]() {
    absl::StrAppendFormat(log,
                          "prog '%s': relo #%d: trying to relocate "
                          "unrecognized insn #%d, code:0x%x, src:0x%x, "
                          "dst:0x%x, off:0x%x, imm:0x%x\n",
                          prog, relo_idx, idx, insn->code, insn->src, insn->dst,
                          static_cast<uint16_t>(insn->off),
                          static_cast<uint32_t>(insn->imm));
    return -EINVAL;
  };
  switch (BPF_CLASS(insn->code)) {
    case BPF_ALU:
    case BPF_ALU64:
      if (BPF_SRC(insn->code) != BPF_K) return bad();
      if (res.poison) return Poison(insn, 1);
      if (res.validate &&
          static_cast<uint64_t>(static_cast<uint32_t>(insn->imm)) != orig) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: unexpected insn #%d "
                              "(ALU/ALU64) value: got %u, exp %u -> %u\n",
                              prog, relo_idx, idx,
                              static_cast<uint32_t>(insn->imm), orig, val);
        return -EINVAL;
      }
      insn->imm = static_cast<int32_t>(val);
      return 0;
    case BPF_LDX:
    case BPF_ST:
    case BPF_STX: {
      if (res.poison) return Poison(insn, 1);
      // insn->off, a __s16, compared as libbpf's %u promotion does.
      if (res.validate &&
          static_cast<uint64_t>(static_cast<int64_t>(insn->off)) != orig) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: unexpected insn #%d "
                              "(LDX/ST/STX) value: got %d, exp %u -> %u\n",
                              prog, relo_idx, idx, insn->off, orig, val);
        return -EINVAL;
      }
      if (val > SHRT_MAX) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: insn #%d (LDX/ST/STX) "
                              "value too big: %u\n",
                              prog, relo_idx, idx, val);
        return -ERANGE;
      }
      if (res.fail_memsz_adjust) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: insn #%d (LDX/ST/STX) "
                              "accesses field incorrectly.\n",
                              prog, relo_idx, idx);
        return Poison(insn, 1);
      }
      insn->off = static_cast<int16_t>(val);
      if (res.new_sz != res.orig_sz) {
        const int bytes = SizeBytes(insn->code);
        if (bytes != static_cast<int>(res.orig_sz)) {
          absl::StrAppendFormat(log,
                                "prog '%s': relo #%d: insn #%d (LDX/ST/STX) "
                                "unexpected mem size: got %d, exp %u\n",
                                prog, relo_idx, idx, bytes, res.orig_sz);
          return -EINVAL;
        }
        const int size = interp::asm_::SizeCode(res.new_sz);
        if (size < 0) {
          absl::StrAppendFormat(log,
                                "prog '%s': relo #%d: insn #%d (LDX/ST/STX) "
                                "invalid new mem size: %u\n",
                                prog, relo_idx, idx, res.new_sz);
          return -EINVAL;
        }
        insn->code = static_cast<uint8_t>(BPF_MODE(insn->code) | size |
                                          BPF_CLASS(insn->code));
      }
      return 0;
    }
    case BPF_LD: {
      if (!IsLdImm64(*insn) || idx + 1 >= n || insn[0].src != 0 ||
          insn[0].off != 0 || insn[1].code != 0 || insn[1].dst != 0 ||
          insn[1].src != 0 || insn[1].off != 0) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: insn #%d (LDIMM64) has "
                              "unexpected form\n",
                              prog, relo_idx, idx);
        return -EINVAL;
      }
      if (res.poison) return Poison(insn, 2);
      const uint64_t imm = static_cast<uint32_t>(insn[0].imm) |
                           (uint64_t{static_cast<uint32_t>(insn[1].imm)} << 32);
      if (res.validate && imm != orig) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: unexpected insn #%d "
                              "(LDIMM64) value: got %u, exp %u -> %u\n",
                              prog, relo_idx, idx, imm, orig, val);
        return -EINVAL;
      }
      insn[0].imm = static_cast<int32_t>(static_cast<uint32_t>(val));
      insn[1].imm = static_cast<int32_t>(static_cast<uint32_t>(val >> 32));
      return 0;
    }
    default:
      return bad();
  }
}

bool HasCoreRelos(const ElfObject& elf) {
  if (elf.btf.empty() || elf.btf_ext.empty()) return false;
  BtfExt ext;
  return ParseBtfExt(elf.btf_ext, &ext) == 0 && !ext.core_relos.empty();
}

int ApplyCoreRelos(const ElfObject& elf, const KernelBtf* targ,
                   const std::vector<bool>& autoload,
                   std::vector<std::vector<interp::RawInsn>>* insns,
                   std::string* log) {
  insns->clear();
  for (const ElfProgram& p : elf.programs) insns->push_back(p.insns);
  if (elf.btf.empty() || elf.btf_ext.empty()) return 0;
  // libbpf 1.1 ignores a .BTF.ext that does not parse, and with it the
  // relocations; an object whose .BTF does not parse has no BTF at all.
  BtfExt ext;
  if (ParseBtfExt(elf.btf_ext, &ext) != 0 || ext.core_relos.empty()) return 0;
  std::unique_ptr<BtfData> local;
  if (BtfData::Parse(elf.btf, nullptr, &local) != 0) return 0;
  if (targ == nullptr) {
    absl::StrAppend(log, "failed to find valid kernel BTF\n");
    return -ESRCH;
  }
  CoreCandCache cache;
  std::vector<interp::RawInsn> text = elf.text;  // .text's own frame
  for (const CoreReloSection& sec : ext.core_relos) {
    const char* name = local->Str(sec.sec_name_off);
    if (StrEmpty(name)) return -EINVAL;
    const std::string sec_name = name;
    const bool is_text = sec_name == ".text";
    bool found = is_text && !text.empty();
    for (const ElfProgram& p : elf.programs) found |= p.section == sec_name;
    if (!found) {
      absl::StrAppendFormat(log, "sec '%s': failed to find a BPF program\n",
                            sec_name);
      return -ENOENT;
    }
    for (size_t ri = 0; ri < sec.relos.size(); ++ri) {
      const CoreRelo& rec = sec.relos[ri];
      const int relo_idx = static_cast<int>(ri);
      if (rec.insn_off % 8 != 0) return -EINVAL;
      const uint32_t idx = rec.insn_off / 8;
      // The function holding the instruction, in its own frame: .text (all
      // of it, appended to every program that calls into it), or one
      // program of the section. Records outside every function are
      // skipped, as for an eliminated weak subprogram.
      std::vector<interp::RawInsn>* own = nullptr;
      uint32_t own_idx = 0;
      std::string prog_name = ".text";
      size_t prog_i = 0;
      if (is_text) {
        if (idx >= text.size()) continue;
        own = &text;
        own_idx = idx;
      } else {
        for (size_t i = 0; i < elf.programs.size(); ++i) {
          const ElfProgram& p = elf.programs[i];
          if (p.section == sec_name && idx >= p.sec_insn_off &&
              idx - p.sec_insn_off < p.sec_insn_cnt) {
            prog_i = i;
            own = &(*insns)[i];
            own_idx = idx - p.sec_insn_off;
            prog_name = p.name;
            break;
          }
        }
        if (own == nullptr) continue;
        if (prog_i < autoload.size() && !autoload[prog_i]) continue;
      }
      const uint32_t own_cnt = is_text ? static_cast<uint32_t>(text.size())
                                       : elf.programs[prog_i].sec_insn_cnt;
      if (IsLdImm64((*own)[own_idx]) && own_idx + 1 >= own_cnt) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: insn #%d (LDIMM64) is "
                              "truncated\n",
                              prog_name, relo_idx, own_idx);
        return -EINVAL;
      }
      CoreReloRes res;
      if (int err = CoreCalcRelo(prog_name, rec, relo_idx, *local, *targ,
                                 &cache, &res, log);
          err != 0) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: failed to relocate: %d\n",
                              prog_name, relo_idx, err);
        return err;
      }
      if (int err = CorePatchInsn(prog_name, own->data(), own_cnt, own_idx,
                                  relo_idx, res, log);
          err != 0) {
        absl::StrAppendFormat(log,
                              "prog '%s': relo #%d: failed to patch insn "
                              "#%u: %d\n",
                              prog_name, relo_idx, own_idx, err);
        return err;
      }
      if (!is_text) continue;
      // The same patch in every program's copy of .text.
      for (size_t i = 0; i < elf.programs.size(); ++i) {
        const ElfProgram& p = elf.programs[i];
        if (p.text_base < 0 || (i < autoload.size() && !autoload[i])) continue;
        std::vector<interp::RawInsn>& copy = (*insns)[i];
        const uint64_t at = static_cast<uint64_t>(p.text_base) + idx;
        if (at >= copy.size()) continue;
        std::string ignored;
        (void)CorePatchInsn(p.name, copy.data(), copy.size(),
                            static_cast<uint32_t>(at), relo_idx, res, &ignored);
      }
    }
  }
  return 0;
}

}  // namespace bpfemu::native
