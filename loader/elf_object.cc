// SPDX-License-Identifier: Apache-2.0
// The .bpf.o reader (elf_object.h). Every read is bounds-checked: a
// malformed file gives an error, never a crash.

#include "loader/elf_object.h"

#include <linux/bpf.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "loader/btf.h"
#include "loader/section_names.h"

namespace bpfemu::native {
namespace {

using absl::InvalidArgumentError;

constexpr uint32_t kShtProgbits = 1, kShtSymtab = 2, kShtNobits = 8,
                   kShtRel = 9;
constexpr uint64_t kShfExecinstr = 0x4;
constexpr uint8_t kSttSection = 3, kSttFunc = 2;
constexpr uint8_t kStbGlobal = 1, kStbWeak = 2;
constexpr uint16_t kShnUndef = 0, kShnLoreserve = 0xff00;
constexpr uint32_t kRBpf64_64 = 1, kRBpf64_32 = 10;
constexpr uint32_t kBpfFLinkFlag = 1U << 13;  // BPF_F_LINK (6.4)

// BTF (include/uapi/linux/btf.h).
enum BtfKindId : uint32_t {
  kInt = 1,
  kPtr = 2,
  kArray = 3,
  kStruct = 4,
  kUnion = 5,
  kEnum = 6,
  kFwd = 7,
  kTypedef = 8,
  kVolatile = 9,
  kConst = 10,
  kRestrict = 11,
  kFunc = 12,
  kFuncProto = 13,
  kVar = 14,
  kDatasec = 15,
  kFloat = 16,
  kDeclTag = 17,
  kTypeTag = 18,
  kEnum64 = 19,
};

class Bytes {
 public:
  explicit Bytes(absl::Span<const uint8_t> d) : d_(d) {}
  template <typename T>
  bool Get(uint64_t off, T* out) const {
    if (off > d_.size() || d_.size() - off < sizeof(T)) return false;
    std::memcpy(out, d_.data() + off, sizeof(T));
    return true;
  }
  bool Has(uint64_t off, uint64_t size) const {
    return off <= d_.size() && d_.size() - off >= size;
  }
  // A NUL-terminated string at `off` within [lo, hi).
  std::optional<std::string> Str(uint64_t lo, uint64_t hi, uint64_t off) const {
    if (hi > d_.size() || lo + off >= hi) return std::nullopt;
    const uint8_t* s = d_.data() + lo + off;
    const uint8_t* end = d_.data() + hi;
    const uint8_t* nul = std::find(s, end, 0);
    if (nul == end) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(s), nul - s);
  }
  const uint8_t* data() const { return d_.data(); }

 private:
  absl::Span<const uint8_t> d_;
};

struct Section {
  std::string name;
  uint32_t type;
  uint64_t flags, off, size;
  uint32_t link, info;
};

struct Symbol {
  std::string name;
  uint8_t bind, type;
  uint8_t other = 0;  // st_other: the visibility in its low 2 bits
  uint16_t shndx;
  uint64_t value, size;
};

// One type of the object's .BTF, as the map-definition reader uses it; the
// parsing and the queries are the shared BTF model's (loader/btf.h).
struct BtfType {
  std::string name;
  uint32_t kind, vlen;
  bool kflag;
  uint32_t size_or_type;
  const btf_type* raw;  // the record in the model
};

class Btf {
 public:
  absl::Status Parse(const Bytes& b, uint64_t off, uint64_t size) {
    if (!b.Has(off, size)) {
      return InvalidArgumentError(".BTF sections out of range");
    }
    std::unique_ptr<BtfData> d;
    if (int err = BtfData::Parse(absl::MakeConstSpan(b.data() + off, size),
                                 nullptr, &d);
        err != 0) {
      return InvalidArgumentError(err == -EPROTO ? "bad .BTF header"
                                                 : "malformed .BTF");
    }
    d_ = std::move(d);
    types_.clear();
    for (uint32_t id = 0; id < d_->TypeCnt(); ++id) {
      const btf_type* t = d_->Type(id);
      const char* name = d_->Str(t->name_off);
      types_.push_back({name != nullptr ? name : "", BtfKind(t), BtfVlen(t),
                        BtfKflag(t), t->size, t});
    }
    return absl::OkStatus();
  }

  const BtfType* Type(uint32_t id) const {
    return id < types_.size() ? &types_[id] : nullptr;
  }
  // Skips typedefs and qualifiers.
  const BtfType* Resolve(uint32_t id, uint32_t* out_id = nullptr) const {
    for (int depth = 0; depth < 32; ++depth) {
      const BtfType* t = Type(id);
      if (t == nullptr) return nullptr;
      if (t->kind != kTypedef && t->kind != kVolatile && t->kind != kConst &&
          t->kind != kRestrict && t->kind != kTypeTag) {
        if (out_id != nullptr) *out_id = id;
        return t;
      }
      id = t->size_or_type;
    }
    return nullptr;
  }
  std::optional<uint64_t> SizeOf(uint32_t id) const {
    const int64_t size = d_->ResolveSize(id);
    if (size < 0) return std::nullopt;
    return static_cast<uint64_t>(size);
  }
  struct Member {
    std::string name;
    uint32_t type;
    uint32_t bit_offset;
  };
  std::vector<Member> Members(const BtfType& t) const {
    std::vector<Member> out;
    const auto* m = reinterpret_cast<const btf_member*>(t.raw + 1);
    for (uint32_t i = 0; i < t.vlen; ++i) {
      const char* name = d_->Str(m[i].name_off);
      out.push_back(
          {name != nullptr ? name : "", m[i].type,
           t.kflag ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset});
    }
    return out;
  }
  // DATASEC entries: (type id of the VAR, offset, size).
  struct SecVar {
    uint32_t type, offset, size;
  };
  std::vector<SecVar> Vars(const BtfType& t) const {
    std::vector<SecVar> out;
    const auto* v = reinterpret_cast<const btf_var_secinfo*>(t.raw + 1);
    for (uint32_t i = 0; i < t.vlen; ++i) {
      out.push_back({v[i].type, v[i].offset, v[i].size});
    }
    return out;
  }
  bool ArrayInfo(const BtfType& t, uint32_t* elem, uint32_t* nelems) const {
    if (t.kind != kArray) return false;
    btf_array a;
    std::memcpy(&a, t.raw + 1, sizeof(a));
    *elem = a.type;
    *nelems = a.nelems;
    return true;
  }
  const std::vector<BtfType>& types() const { return types_; }

 private:
  std::unique_ptr<BtfData> d_;
  std::vector<BtfType> types_;
};

// One map definition struct (`struct { __uint(type, ...); ... }`), as
// libbpf's parse_btf_map_def reads it.
absl::Status ParseMapDef(const Btf& btf, uint32_t struct_id, ElfMap* m,
                         bool inner) {
  const BtfType* st = btf.Resolve(struct_id);
  if (st == nullptr || st->kind != kStruct) {
    return InvalidArgumentError("map definition is not a struct");
  }
  for (const Btf::Member& mem : btf.Members(*st)) {
    const BtfType* mt = btf.Resolve(mem.type);
    if (mt == nullptr) return InvalidArgumentError("bad member type");
    m->def_fields.push_back(mem.name);
    auto uint_value = [&](uint32_t* out) -> absl::Status {
      // __uint(name, val): int (*name)[val]
      const BtfType* arr =
          mt->kind == kPtr ? btf.Resolve(mt->size_or_type) : nullptr;
      uint32_t elem, n;
      if (arr == nullptr || arr->kind != kArray ||
          !btf.ArrayInfo(*arr, &elem, &n)) {
        return InvalidArgumentError(
            absl::StrFormat("map field %s is not __uint()", mem.name));
      }
      *out = n;
      return absl::OkStatus();
    };
    absl::Status s;
    if (mem.name == "type") {
      s = uint_value(&m->type);
    } else if (mem.name == "max_entries") {
      s = uint_value(&m->max_entries);
    } else if (mem.name == "map_flags") {
      s = uint_value(&m->map_flags);
    } else if (mem.name == "numa_node") {
      s = uint_value(&m->numa_node);
    } else if (mem.name == "key_size") {
      s = uint_value(&m->key_size);
    } else if (mem.name == "value_size") {
      s = uint_value(&m->value_size);
    } else if (mem.name == "pinning") {
      s = uint_value(&m->pinning);
    } else if (mem.name == "map_extra") {
      uint32_t v;
      s = uint_value(&v);
      m->map_extra = v;
    } else if (mem.name == "key" || mem.name == "value") {
      if (mt->kind != kPtr) {
        return InvalidArgumentError("__type() field is not a pointer");
      }
      auto size = btf.SizeOf(mt->size_or_type);
      if (!size) return InvalidArgumentError("unsized map key or value");
      (mem.name == "key" ? m->key_size : m->value_size) =
          static_cast<uint32_t>(*size);
      (mem.name == "key" ? m->btf_key_type_id : m->btf_value_type_id) =
          mt->size_or_type;
      if (mem.name == "value") {
        // A struct bpf_spin_lock member at the top level of the value.
        const BtfType* vt = btf.Resolve(mt->size_or_type);
        if (vt != nullptr && vt->kind == kStruct) {
          int timers = 0;
          for (const Btf::Member& f : btf.Members(*vt)) {
            const BtfType* ft = btf.Resolve(f.type);
            if (ft != nullptr && ft->kind == kStruct &&
                ft->name == "bpf_spin_lock") {
              m->spin_lock_off = static_cast<int32_t>(f.bit_offset / 8);
              m->spin_lock_member = f.name;
            }
            if (ft != nullptr && ft->kind == kStruct && ft->name == "bpf_wq" &&
                m->wq_member.empty()) {
              m->wq_off = static_cast<int32_t>(f.bit_offset / 8);
              m->wq_member = f.name;
            }
            if (ft != nullptr && ft->kind == kStruct &&
                ft->name == "bpf_task_work" && m->task_work_member.empty()) {
              m->task_work_off = static_cast<int32_t>(f.bit_offset / 8);
              m->task_work_member = f.name;
            }
            if (ft != nullptr && ft->kind == kStruct &&
                ft->name == "bpf_timer" && ++timers == 1) {
              m->timer_off = static_cast<int32_t>(f.bit_offset / 8);
              m->timer_member = f.name;
            }
            // A kptr: a pointer to a "kptr" / "kptr_untrusted" /
            // "percpu_kptr" type tag (kernel/bpf/btf.c btf_find_kptr).
            const BtfType* pt = btf.Type(f.type);
            if (pt != nullptr && pt->kind == kVolatile) {
              pt = btf.Type(pt->size_or_type);
            }
            const BtfType* tag = pt != nullptr && pt->kind == kPtr
                                     ? btf.Type(pt->size_or_type)
                                     : nullptr;
            if (tag != nullptr && tag->kind == kTypeTag &&
                (tag->name == "kptr" || tag->name == "kptr_untrusted" ||
                 tag->name == "percpu_kptr") &&
                m->kptr_members.size() < 8) {
              m->kptr_members.push_back(f.name);
              m->kptr_offs.push_back(static_cast<int32_t>(f.bit_offset / 8));
              m->kptr_percpu.push_back(tag->name == "percpu_kptr");
            }
          }
          if (timers > 1) {
            // btf_parse_fields() fails: the map has no special field.
            m->timer_off = m->spin_lock_off = -1;
            m->timer_member.clear();
            m->spin_lock_member.clear();
          }
        }
      }
    } else if (mem.name == "values" && !inner) {
      m->values_offset = static_cast<int32_t>(mem.bit_offset / 8);
      // __array(values, struct inner_def): inner map template; for program
      // arrays, function prototypes (nothing to read).
      uint32_t elem, n;
      if (mt->kind != kArray || !btf.ArrayInfo(*mt, &elem, &n)) {
        return InvalidArgumentError("values is not __array()");
      }
      const BtfType* ptr = btf.Resolve(elem);
      if (ptr == nullptr || ptr->kind != kPtr) {
        return InvalidArgumentError("values is not an array of pointers");
      }
      const BtfType* target = btf.Resolve(ptr->size_or_type);
      if (target != nullptr && target->kind == kStruct) {
        ElfMap in;
        if (auto st2 = ParseMapDef(btf, ptr->size_or_type, &in, true);
            !st2.ok()) {
          return st2;
        }
        m->inner_type = in.type;
        m->inner_key_size = in.key_size;
        m->inner_value_size = in.value_size;
        m->inner_max_entries = in.max_entries;
        m->inner_map_flags = in.map_flags;
        m->inner_btf_key_type_id = in.btf_key_type_id;
        m->inner_btf_value_type_id = in.btf_value_type_id;
        m->has_inner_def = true;
        m->inner_def_fields = std::move(in.def_fields);
      }
      if (m->value_size == 0) m->value_size = 4;
      if (m->key_size == 0) m->key_size = 4;
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// internal_map_name(): up to 8 characters of the object name (all of it when
// it fits beside the section name), then the section name; a section with a
// second dot (".rodata.str1.1") keeps its own name only. Characters the
// kernel refuses become '_'.
std::string InternalMapName(const std::string& obj, const std::string& sec) {
  const size_t sfx = std::max<size_t>(7, sec.size());
  size_t pfx = 0;
  if (sec.find('.', 1) == std::string::npos) {
    pfx = std::min<size_t>(BPF_OBJ_NAME_LEN - 1 - std::min<size_t>(sfx, 15),
                           obj.size());
  }
  std::string name = obj.substr(0, pfx) + sec.substr(0, sfx);
  name.resize(std::min<size_t>(name.size(), BPF_OBJ_NAME_LEN - 1));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') {
      c = '_';
    }
  }
  return name;
}

bool IsDataSection(const std::string& n) {
  auto is = [&](std::string_view p) {
    return n == p || (n.size() > p.size() && n.compare(0, p.size(), p) == 0 &&
                      n[p.size()] == '.');
  };
  return is(".data") || is(".rodata") || is(".bss");
}

// The steps of ParseElfObject(), over one file: the section header table,
// the symbols, the BTF-defined and global-data maps, the relocations and
// the programs (libbpf's bpf_object__elf_collect, bpf_object__init_maps and
// bpf_object__collect_relos, in that order).
class ElfReader {
 public:
  ElfReader(absl::Span<const uint8_t> data, std::string_view name)
      : data_(data), b_(data) {
    obj_.name = std::string(name);
  }

  absl::StatusOr<ElfObject> Read() {
    if (auto s = ReadSectionHeaders(); !s.ok()) return s;
    ReadSymbols();
    ReadMetadata();
    if (auto s = ReadBtfMaps(); !s.ok()) return s;
    if (auto s = ReadDataSections(); !s.ok()) return s;
    KeepMmapableWhereExposed(ReadBtf().get());
    ReadRelocations();
    if (auto s = ReadMapSlots(); !s.ok()) return s;
    if (auto s = ReadPrograms(); !s.ok()) return s;
    if (auto s = ReadStructOps(); !s.ok()) return s;
    ReadGlobals();
    ReadCoreInputs();
    return std::move(obj_);
  }

  // ParseElfObjectOutline: the same steps, up to the BTF maps, then the
  // programs' names only, the globals and the __kconfig externs.
  absl::StatusOr<ElfObject> ReadOutline() {
    if (auto s = ReadSectionHeaders(); !s.ok()) return s;
    ReadSymbols();
    ReadMetadata();
    if (auto s = ReadBtfMaps(); !s.ok()) return s;
    ForEachProgramSymbol([&](size_t si, const Symbol& sym) {
      ElfProgram prog;
      prog.name = sym.name;
      prog.section = secs_[si].name;
      prog.sec_idx = static_cast<uint32_t>(si);
      obj_.programs.push_back(std::move(prog));
      return absl::OkStatus();
    }).IgnoreError();
    ReadGlobals();
    ReadBtf();  // the __kconfig externs (ElfObject::kconfig)
    return std::move(obj_);
  }

 private:
  struct Rel {
    uint64_t off;
    uint32_t type;
    uint32_t sym;
  };

  absl::Status ReadSectionHeaders() {
    static constexpr uint8_t kIdent[] = {0x7f, 'E', 'L', 'F', 2, 1};
    uint16_t machine;
    if (!b_.Has(0, 64) || std::memcmp(data_.data(), kIdent, 6) != 0 ||
        !b_.Get(18, &machine) || machine != 247 /* EM_BPF */) {
      return InvalidArgumentError("not a little-endian ELF64 BPF object");
    }
    uint64_t shoff;
    uint16_t shentsize, shnum, shstrndx;
    b_.Get(0x28, &shoff);
    b_.Get(0x3a, &shentsize);
    b_.Get(0x3c, &shnum);
    b_.Get(0x3e, &shstrndx);
    if (shentsize != 64 || shstrndx >= shnum ||
        !b_.Has(shoff, uint64_t{shnum} * 64)) {
      return InvalidArgumentError("bad section header table");
    }
    secs_.resize(shnum);
    std::vector<uint32_t> name_offs(shnum);
    for (uint16_t i = 0; i < shnum; ++i) {
      const uint64_t p = shoff + uint64_t{i} * 64;
      Section& s = secs_[i];
      b_.Get(p, &name_offs[i]);
      b_.Get(p + 4, &s.type);
      b_.Get(p + 8, &s.flags);
      b_.Get(p + 24, &s.off);
      b_.Get(p + 32, &s.size);
      b_.Get(p + 40, &s.link);
      b_.Get(p + 44, &s.info);
      if (s.type != kShtNobits && !b_.Has(s.off, s.size)) {
        return InvalidArgumentError("section out of the file");
      }
    }
    const Section& shstr = secs_[shstrndx];
    for (uint16_t i = 0; i < shnum; ++i) {
      secs_[i].name =
          b_.Str(shstr.off, shstr.off + shstr.size, name_offs[i]).value_or("");
    }
    maps_shndx_ = SectionIndex(".maps");
    text_shndx_ = SectionIndex(".text");
    return absl::OkStatus();
  }

  void ReadSymbols() {
    for (const Section& s : secs_) {
      if (s.type != kShtSymtab || s.link >= secs_.size()) continue;
      const Section& str = secs_[s.link];
      for (uint64_t p = s.off; p + 24 <= s.off + s.size; p += 24) {
        Symbol sym;
        uint32_t name_off;
        uint8_t info;
        b_.Get(p, &name_off);
        b_.Get(p + 4, &info);
        b_.Get(p + 5, &sym.other);
        b_.Get(p + 6, &sym.shndx);
        b_.Get(p + 8, &sym.value);
        b_.Get(p + 16, &sym.size);
        sym.bind = info >> 4;
        sym.type = info & 0xf;
        sym.name = b_.Str(str.off, str.off + str.size, name_off).value_or("");
        syms_.push_back(std::move(sym));
      }
    }
  }

  // The license and version sections.
  void ReadMetadata() {
    if (const Section* lic = SectionNamed("license")) {
      obj_.license = b_.Str(lic->off, lic->off + lic->size, 0).value_or("");
    }
    if (const Section* ver = SectionNamed("version"); ver && ver->size >= 4) {
      b_.Get(ver->off, &obj_.kern_version);
    }
  }

  // Maps from .maps (BTF-defined).
  absl::Status ReadBtfMaps() {
    if (maps_shndx_ < 0) return absl::OkStatus();
    const Section* btf_sec = SectionNamed(".BTF");
    if (btf_sec == nullptr) {
      return InvalidArgumentError(".maps without .BTF (build with -g)");
    }
    Btf btf;
    if (auto s = btf.Parse(b_, btf_sec->off, btf_sec->size); !s.ok()) return s;
    for (const BtfType& t : btf.types()) {
      if (t.kind != kDatasec || t.name != ".maps") continue;
      for (const Btf::SecVar& v : btf.Vars(t)) {
        const BtfType* var = btf.Type(v.type);
        if (var == nullptr || var->kind != kVar) {
          return InvalidArgumentError(".maps entry is not a variable");
        }
        ElfMap m;
        m.name = var->name;
        m.real_name = var->name;
        if (auto s = ParseMapDef(btf, var->size_or_type, &m, false); !s.ok()) {
          return s;
        }
        // clang may leave DATASEC offsets 0 (libbpf's btf_fixup_datasec
        // takes them from the symbols): the symbol's value is the offset.
        uint64_t offset = v.offset;
        for (const Symbol& sym : syms_) {
          if (sym.shndx == maps_shndx_ && sym.name == m.name) {
            offset = sym.value;
          }
        }
        map_at_[maps_shndx_][offset] = static_cast<uint32_t>(obj_.maps.size());
        obj_.maps.push_back(std::move(m));
      }
    }
    return absl::OkStatus();
  }

  // The .BTF for loading (ElfObject::btf), after libbpf's
  // btf_fixup_datasec: a DATASEC of size 0 takes its section's size and its
  // global variables their symbols' values; variables are sorted by offset.
  // Global-data maps get their DATASEC as value type. A .BTF that does not
  // parse is left out (libbpf then loads without BTF).
  std::unique_ptr<BtfData> ReadBtf() {
    const Section* sec = SectionNamed(".BTF");
    if (sec == nullptr || !b_.Has(sec->off, sec->size)) return nullptr;
    std::unique_ptr<BtfData> d;
    if (BtfData::Parse(absl::MakeConstSpan(b_.data() + sec->off, sec->size),
                       nullptr, &d) != 0) {
      return nullptr;
    }
    for (uint32_t id = 1; id < d->TypeCnt(); ++id) {
      btf_type* t = d->MutableType(id);
      if (BtfKind(t) != kDatasec) continue;
      const char* name_str = d->Str(t->name_off);
      if (name_str == nullptr) return nullptr;
      // A copy: FixKsyms adds a string, which may move the string section.
      const std::string name = name_str;
      auto* vsi = reinterpret_cast<btf_var_secinfo*>(t + 1);
      const uint16_t n = BtfVlen(t);
      if (name == ".kconfig") {
        ReadKconfigExterns(d.get(), id);
        continue;
      }
      // The extern-backing .ksyms has no ELF section to size it: libbpf
      // sizes it itself and only sorts it here.
      const bool externs = name == ".ksyms";
      if (externs && !FixKsyms(d.get(), id)) return nullptr;
      t = d->MutableType(id);  // FixKsyms may have added a type
      vsi = reinterpret_cast<btf_var_secinfo*>(t + 1);
      if (t->size == 0 && !externs) {
        const Section* data = SectionNamed(name);
        if (data == nullptr || data->size == 0) return nullptr;
        t->size = static_cast<uint32_t>(data->size);
        for (uint16_t i = 0; i < n; ++i) {
          const btf_type* var = d->Type(vsi[i].type);
          if (var == nullptr || BtfKind(var) != kVar) return nullptr;
          btf_var linkage;
          std::memcpy(&linkage, var + 1, sizeof(linkage));
          if (linkage.linkage == BTF_VAR_STATIC ||
              linkage.linkage == BTF_VAR_GLOBAL_EXTERN) {
            continue;
          }
          const char* var_name = d->Str(var->name_off);
          const Symbol* sym = nullptr;
          for (const Symbol& s : syms_) {
            if (var_name != nullptr && s.name == var_name &&
                s.type == 1 /* STT_OBJECT */ &&
                (s.bind == kStbGlobal || s.bind == kStbWeak)) {
              sym = &s;
            }
          }
          if (sym == nullptr) return nullptr;
          vsi[i].offset = static_cast<uint32_t>(sym->value);
          // A hidden or internal global (`__hidden`) is static to the
          // kernel, as btf_fixup_datasec makes it.
          if ((sym->other & 3) == 1 /* STV_INTERNAL */ ||
              (sym->other & 3) == 2 /* STV_HIDDEN */) {
            const btf_var statik = {BTF_VAR_STATIC};
            std::memcpy(d->MutableType(vsi[i].type) + 1, &statik,
                        sizeof(statik));
          }
        }
      }
      std::stable_sort(vsi, vsi + n,
                       [](const btf_var_secinfo& a, const btf_var_secinfo& b) {
                         return a.offset < b.offset;
                       });
      for (ElfMap& m : obj_.maps) {
        if (m.internal && m.real_name == name) m.btf_value_type_id = id;
      }
    }
    obj_.btf = d->Raw();
    return d;
  }

  // map_is_mmapable (libbpf 1.1.2 tools/lib/bpf/libbpf.c): a global-data map
  // is BPF_F_MMAPABLE only when its DATASEC holds a variable a skeleton can
  // expose, one that is not static. A map without a DATASEC (no BTF, BTF
  // that ReadBtf dropped, or a section such as .rodata.str1.1 that has
  // none) is not.
  void KeepMmapableWhereExposed(const BtfData* d) {
    for (ElfMap& m : obj_.maps) {
      if (!m.internal) continue;
      bool exposed = false;
      const btf_type* t = d != nullptr && m.btf_value_type_id != 0
                              ? d->Type(m.btf_value_type_id)
                              : nullptr;
      if (t != nullptr && BtfKind(t) == kDatasec) {
        const auto* vsi = reinterpret_cast<const btf_var_secinfo*>(t + 1);
        for (uint16_t i = 0; i < BtfVlen(t) && !exposed; ++i) {
          const btf_type* var = d->Type(vsi[i].type);
          if (var == nullptr || BtfKind(var) != kVar) continue;
          btf_var linkage;
          std::memcpy(&linkage, var + 1, sizeof(linkage));
          exposed = linkage.linkage != BTF_VAR_STATIC;
        }
      }
      if (!exposed) m.map_flags &= ~uint32_t{BPF_F_MMAPABLE};
    }
  }

  // find_kcfg_type(): what a __kconfig extern's type can hold.
  static KconfigExtern::Kind KconfigKind(const BtfData& d, uint32_t id,
                                         bool* is_signed) {
    const btf_type* t = d.Type(id);
    for (int n = 0; t != nullptr && n < 32; ++n) {
      const uint32_t k = BtfKind(t);
      if (k != kTypedef && k != kVolatile && k != kConst && k != kRestrict &&
          k != kTypeTag) {
        break;
      }
      t = d.Type(t->type);
    }
    *is_signed = false;
    if (t == nullptr) return KconfigExtern::kUnknown;
    const char* name = d.Str(t->name_off);
    switch (BtfKind(t)) {
      case kInt: {
        uint32_t enc;
        std::memcpy(&enc, t + 1, sizeof(enc));
        const uint32_t bits = enc >> 24;
        if (bits & BTF_INT_BOOL) {
          return t->size == 1 ? KconfigExtern::kBool : KconfigExtern::kUnknown;
        }
        *is_signed = (bits & BTF_INT_SIGNED) != 0;
        if (t->size == 1) return KconfigExtern::kChar;
        if (t->size > 8 || (t->size & (t->size - 1)) != 0) {
          return KconfigExtern::kUnknown;
        }
        return KconfigExtern::kInt;
      }
      case kEnum:
      case kEnum64:
        if ((BtfKind(t) == kEnum && t->size != 4) || name == nullptr ||
            std::string_view(name) != "libbpf_tristate") {
          return KconfigExtern::kUnknown;
        }
        return KconfigExtern::kTristate;
      case kArray: {
        btf_array a;
        std::memcpy(&a, t + 1, sizeof(a));
        bool elem_signed;
        if (a.nelems == 0 ||
            KconfigKind(d, a.type, &elem_signed) != KconfigExtern::kChar) {
          return KconfigExtern::kUnknown;
        }
        return KconfigExtern::kCharArr;
      }
      default:
        return KconfigExtern::kUnknown;
    }
  }

  // bpf_object__collect_externs for the .ksyms DATASEC, as libbpf 1.1.2
  // rewrites it before BPF_BTF_LOAD (the kernel refuses extern FUNCs and
  // unnamed FUNC parameters): a "dummy_ksym" int VAR (add_dummy_ksym_var)
  // stands in for each kfunc, whose linkage becomes global and whose
  // unnamed parameters take the dummy's name; variables become allocated
  // ints; each entry takes 4 bytes, in order (the kernel refuses a
  // DATASEC of size 0). False if there is no 32-bit
  // int to use.
  bool FixKsyms(BtfData* d, uint32_t sec_id) {
    int int_id = -1;
    for (uint32_t id = 1; id < d->TypeCnt() && int_id < 0; ++id) {
      const btf_type* t = d->Type(id);
      if (BtfKind(t) == kInt &&
          (*reinterpret_cast<const uint32_t*>(t + 1) & 0xff) == 32) {
        int_id = static_cast<int>(id);
      }
    }
    bool funcs = false;
    {
      const btf_type* sec = d->Type(sec_id);
      const auto* vsi = reinterpret_cast<const btf_var_secinfo*>(sec + 1);
      for (uint16_t i = 0; i < BtfVlen(sec); ++i) {
        const btf_type* vt = d->Type(vsi[i].type);
        // An entry naming no type: libbpf refuses the object.
        if (vt == nullptr) return false;
        funcs = funcs || BtfKind(vt) == kFunc;
      }
    }
    if (int_id < 0) return !funcs && BtfVlen(d->Type(sec_id)) == 0;
    uint32_t dummy = 0, dummy_name = 0;
    if (funcs) {
      const int name = d->AddStr("dummy_ksym");
      if (name < 0) return false;
      dummy_name = static_cast<uint32_t>(name);
      const uint32_t var[4] = {dummy_name, uint32_t{kVar} << 24,
                               static_cast<uint32_t>(int_id),
                               BTF_VAR_GLOBAL_ALLOCATED};
      dummy = d->AddType(var, sizeof(var));
    }
    btf_type* sec = d->MutableType(sec_id);
    auto* vsi = reinterpret_cast<btf_var_secinfo*>(sec + 1);
    for (uint16_t i = 0; i < BtfVlen(sec); ++i) {
      btf_type* vt = d->MutableType(vsi[i].type);
      if (vt == nullptr) return false;
      if (BtfKind(vt) == kFunc) {
        btf_type* proto = d->MutableType(vt->type);
        if (proto == nullptr || BtfKind(proto) != kFuncProto) return false;
        auto* param = reinterpret_cast<btf_param*>(proto + 1);
        for (uint16_t j = 0; j < BtfVlen(proto); ++j) {
          if (param[j].type != 0 && param[j].name_off == 0) {
            param[j].name_off = dummy_name;
          }
        }
        vsi[i].type = dummy;
        vt->info = (vt->info & ~0xffffu) | BTF_FUNC_GLOBAL;
      } else if (BtfKind(vt) == kVar) {
        const btf_var linkage = {BTF_VAR_GLOBAL_ALLOCATED};
        std::memcpy(vt + 1, &linkage, sizeof(linkage));
        vt->type = static_cast<uint32_t>(int_id);
      }
      vsi[i].offset = i * sizeof(int);
      vsi[i].size = sizeof(int);
    }
    sec->size = BtfVlen(sec) * sizeof(int);
    return true;
  }

  // bpf_object__collect_externs for the .kconfig DATASEC: each extern
  // variable with its size, alignment and kind, laid out as libbpf lays
  // them out; the DATASEC gets their offsets, allocated linkage and the
  // total size, and an internal `.kconfig` map holds them. An extern whose
  // type cannot hold a Kconfig value leaves it out (the load then fails,
  // as libbpf's open does).
  void ReadKconfigExterns(BtfData* d, uint32_t sec_id) {
    btf_type* t = d->MutableType(sec_id);
    auto* vsi = reinterpret_cast<btf_var_secinfo*>(t + 1);
    const uint16_t n = BtfVlen(t);
    std::vector<KconfigExtern> externs;
    for (uint16_t i = 0; i < n; ++i) {
      const btf_type* var = d->Type(vsi[i].type);
      const char* var_name = var != nullptr ? d->Str(var->name_off) : nullptr;
      if (var == nullptr || BtfKind(var) != kVar || var_name == nullptr) {
        return;
      }
      KconfigExtern e;
      e.name = var_name;
      for (const Symbol& sym : syms_) {
        if (sym.shndx == kShnUndef && sym.name == e.name) {
          e.weak = sym.bind == kStbWeak;
        }
      }
      const int64_t size = d->ResolveSize(var->type);
      int err = 0;
      const int align = d->AlignOf(var->type, &err);
      e.kind = KconfigKind(*d, var->type, &e.is_signed);
      if (size <= 0 || align <= 0 || e.kind == KconfigExtern::kUnknown) {
        return;
      }
      e.size = static_cast<uint32_t>(size);
      e.align = static_cast<uint32_t>(align);
      externs.push_back(std::move(e));
    }
    const uint32_t total = LayoutKconfig(&externs);
    for (uint16_t i = 0; i < n; ++i) {
      btf_type* var = d->MutableType(vsi[i].type);
      const std::string var_name = d->Str(var->name_off);
      for (const KconfigExtern& e : externs) {
        if (e.name != var_name) continue;
        vsi[i].offset = e.offset;
        vsi[i].size = e.size;
      }
      btf_var linkage = {BTF_VAR_GLOBAL_ALLOCATED};
      std::memcpy(var + 1, &linkage, sizeof(linkage));
    }
    std::stable_sort(vsi, vsi + n,
                     [](const btf_var_secinfo& a, const btf_var_secinfo& b) {
                       return a.offset < b.offset;
                     });
    t->size = total;
    ElfMap m;
    m.real_name = ".kconfig";
    m.name = InternalMapName(obj_.name, ".kconfig");
    m.type = BPF_MAP_TYPE_ARRAY;
    m.key_size = 4;
    m.value_size = total;
    m.max_entries = 1;
    m.map_flags = BPF_F_MMAPABLE | BPF_F_RDONLY_PROG;
    m.internal = true;
    m.initial.assign(total, 0);
    m.btf_value_type_id = sec_id;
    obj_.kconfig_map = static_cast<int32_t>(obj_.maps.size());
    obj_.kconfig = std::move(externs);
    obj_.maps.push_back(std::move(m));
  }

  // Global data: one array map per section, in section order.
  absl::Status ReadDataSections() {
    for (size_t i = 0; i < secs_.size(); ++i) {
      const Section& s = secs_[i];
      if (!IsDataSection(s.name) || s.size == 0) continue;
      if (s.type != kShtProgbits && s.type != kShtNobits) continue;
      // A NOBITS section's size is not bounded by the file; the kernel
      // bounds an array's value by KMALLOC_MAX_SIZE (array_map_alloc_check:
      // E2BIG).
      constexpr uint64_t kMaxValue = uint64_t{1} << 22;
      if (s.size > kMaxValue) {
        return InvalidArgumentError(absl::StrFormat(
            "%s is %d bytes, beyond an array value's limit", s.name, s.size));
      }
      ElfMap m;
      m.real_name = s.name;
      m.name = InternalMapName(obj_.name, s.name);
      m.type = BPF_MAP_TYPE_ARRAY;
      m.key_size = 4;
      m.value_size = static_cast<uint32_t>(s.size);
      m.max_entries = 1;
      m.map_flags = BPF_F_MMAPABLE;
      if (s.name.compare(0, 7, ".rodata") == 0) {
        m.map_flags |= BPF_F_RDONLY_PROG;
      }
      m.internal = true;
      m.initial.assign(s.size, 0);
      if (s.type == kShtProgbits) {
        std::memcpy(m.initial.data(), b_.data() + s.off, s.size);
      }
      map_at_[static_cast<int>(i)][0] = static_cast<uint32_t>(obj_.maps.size());
      obj_.maps.push_back(std::move(m));
    }
    return absl::OkStatus();
  }

  // Relocations by the section they apply to.
  void ReadRelocations() {
    for (const Section& s : secs_) {
      if (s.type != kShtRel) continue;
      for (uint64_t p = s.off; p + 16 <= s.off + s.size; p += 16) {
        uint64_t off, info;
        b_.Get(p, &off);
        b_.Get(p + 8, &info);
        rels_[s.info].push_back({off, static_cast<uint32_t>(info & 0xffffffff),
                                 static_cast<uint32_t>(info >> 32)});
      }
    }
  }

  // libbpf's bpf_object__collect_map_relos: each relocation in .maps puts
  // a program (into a PROG_ARRAY) or a map (into a map-in-map) at an index
  // of a definition's `values` array.
  absl::Status ReadMapSlots() {
    if (maps_shndx_ < 0) return absl::OkStatus();
    const std::map<uint64_t, uint32_t>& starts = map_at_[maps_shndx_];
    for (const Rel& r : rels_[static_cast<uint32_t>(maps_shndx_)]) {
      auto it = starts.upper_bound(r.off);
      if (it == starts.begin()) {
        return InvalidArgumentError(".maps relocation before any map");
      }
      --it;
      ElfMap& m = obj_.maps[it->second];
      if (m.values_offset < 0 ||
          r.off < it->first + static_cast<uint64_t>(m.values_offset)) {
        return InvalidArgumentError(absl::StrFormat(
            ".maps relocation outside map %s's values", m.name));
      }
      const uint64_t moff = r.off - it->first - m.values_offset;
      if (moff % 8 != 0 || moff / 8 > UINT32_MAX) {
        return InvalidArgumentError("misaligned .maps relocation");
      }
      if (r.sym >= syms_.size()) return InvalidArgumentError("bad symbol");
      const Symbol& sym = syms_[r.sym];
      const bool prog_array = m.type == BPF_MAP_TYPE_PROG_ARRAY;
      const bool map_in_map = m.type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
                              m.type == BPF_MAP_TYPE_HASH_OF_MAPS;
      std::string target;
      if (prog_array && sym.type == kSttFunc &&
          static_cast<int>(sym.shndx) != text_shndx_) {
        target = sym.name;
      } else if (map_in_map && static_cast<int>(sym.shndx) == maps_shndx_) {
        auto inner = starts.find(sym.value);
        if (inner == starts.end()) {
          return InvalidArgumentError("relocation against an unknown map");
        }
        target = obj_.maps[inner->second].real_name;
      } else {
        return InvalidArgumentError(
            absl::StrFormat("map %s: .values entry %s is not a %s", m.name,
                            sym.name, prog_array ? "program" : "map"));
      }
      m.init_slots.push_back({static_cast<uint32_t>(moff / 8), target});
    }
    return absl::OkStatus();
  }

  bool ReadInsns(const Section& s, uint64_t from, uint64_t size,
                 std::vector<interp::RawInsn>* out) const {
    if (size % 8 != 0 || from > s.size || s.size - from < size) return false;
    out->resize(size / 8);
    // An empty range: no copy (memcpy from or to null is undefined even
    // for 0 bytes).
    if (size != 0) std::memcpy(out->data(), b_.data() + s.off + from, size);
    return true;
  }

  // A call or callback address into .text, relocated for .text placed at
  // `text_base` in the program.
  static absl::Status RelocateTextRef(const Rel& r, const Symbol& sym,
                                      uint64_t at, int64_t text_base,
                                      interp::RawInsn* in) {
    if (text_base < 0) return InvalidArgumentError("call without .text");
    const bool ldimm64 = in->code == (BPF_LD | BPF_IMM | BPF_DW);
    int64_t target;
    if (r.type == kRBpf64_32 && in->code == (BPF_JMP | BPF_CALL)) {
      target = int64_t(sym.value / 8) + in->imm + 1;
    } else if (r.type == kRBpf64_64 && ldimm64) {
      target = int64_t((sym.value + uint64_t(int64_t(in->imm))) / 8);
      in->src = BPF_PSEUDO_FUNC;
    } else {
      return InvalidArgumentError("unsupported relocation into .text");
    }
    in->imm = static_cast<int32_t>(text_base + target - int64_t(at) - 1);
    return absl::OkStatus();
  }

  // Applies the relocations of section `shndx` covering instructions
  // [first, first + count) placed at `base` in `prog`; calls into .text are
  // pointed at `text_base`.
  absl::Status Relocate(ElfProgram* prog, int shndx, uint64_t first,
                        uint64_t count, uint64_t base, int64_t text_base) {
    for (const Rel& r : rels_[static_cast<uint32_t>(shndx)]) {
      if (r.off % 8 != 0) return InvalidArgumentError("misaligned relocation");
      const uint64_t idx = r.off / 8;
      if (idx < first || idx >= first + count) continue;
      if (r.sym >= syms_.size()) return InvalidArgumentError("bad symbol");
      const Symbol& sym = syms_[r.sym];
      const uint64_t at = base + (idx - first);
      if (at >= prog->insns.size()) {
        return InvalidArgumentError("relocation out of the program");
      }
      interp::RawInsn& in = prog->insns[at];
      if (sym.shndx == text_shndx_ && text_shndx_ >= 0) {
        if (auto s = RelocateTextRef(r, sym, at, text_base, &in); !s.ok()) {
          return s;
        }
        continue;
      }
      if (sym.shndx == kShnUndef && r.type == kRBpf64_32 &&
          in.code == (BPF_JMP | BPF_CALL)) {
        // libbpf's RELO_EXTERN_CALL: a call of an extern function (a
        // kfunc); its BTF id is filled in at load.
        in.src = BPF_PSEUDO_KFUNC_CALL;
        in.imm = 0;
        in.off = 0;
        prog->kfunc_relocs.push_back(
            {static_cast<uint32_t>(at), KsymIndex(sym)});
        continue;
      }
      const bool ldimm64 = in.code == (BPF_LD | BPF_IMM | BPF_DW);
      if (sym.shndx == kShnUndef && r.type == kRBpf64_64 && ldimm64 &&
          at + 1 < prog->insns.size()) {
        // libbpf's RELO_EXTERN_LD64 of a __kconfig extern: its bytes in the
        // .kconfig map.
        auto e = std::find_if(
            obj_.kconfig.begin(), obj_.kconfig.end(),
            [&](const KconfigExtern& k) { return k.name == sym.name; });
        if (e != obj_.kconfig.end()) {
          prog->relocs.push_back({static_cast<uint32_t>(at),
                                  static_cast<uint32_t>(obj_.kconfig_map), true,
                                  e->offset});
          in.src = BPF_PSEUDO_MAP_VALUE;
          continue;
        }
      }
      if (r.type != kRBpf64_64 || !ldimm64 || at + 1 >= prog->insns.size()) {
        return InvalidArgumentError(
            absl::StrFormat("unsupported relocation against %s", sym.name));
      }
      auto sec_maps = map_at_.find(sym.shndx);
      if (sec_maps == map_at_.end()) {
        return InvalidArgumentError(absl::StrFormat(
            "relocation against %s, which is not a map or global data",
            sym.name));
      }
      if (static_cast<int>(sym.shndx) == maps_shndx_) {
        auto m = sec_maps->second.find(sym.value);
        if (m == sec_maps->second.end()) {
          return InvalidArgumentError("relocation against an unknown map");
        }
        prog->relocs.push_back(
            {static_cast<uint32_t>(at), m->second, false, 0});
        in.src = BPF_PSEUDO_MAP_FD;
      } else {
        const uint64_t off = (sym.type == kSttSection ? 0 : sym.value) +
                             static_cast<uint32_t>(in.imm);
        prog->relocs.push_back({static_cast<uint32_t>(at),
                                sec_maps->second.begin()->second, true,
                                static_cast<uint32_t>(off)});
        in.src = BPF_PSEUDO_MAP_VALUE;
      }
    }
    return absl::OkStatus();
  }

  // The extern function `sym` in ElfObject::ksym_funcs, added on its
  // first call.
  uint32_t KsymIndex(const Symbol& sym) {
    for (size_t i = 0; i < obj_.ksym_funcs.size(); ++i) {
      if (obj_.ksym_funcs[i].name == sym.name) return static_cast<uint32_t>(i);
    }
    obj_.ksym_funcs.push_back({sym.name, sym.bind == kStbWeak});
    return static_cast<uint32_t>(obj_.ksym_funcs.size() - 1);
  }

  // One program: the function's instructions, then all of .text when it
  // refers to .text (libbpf appends only the subprograms it calls), both
  // relocated.
  absl::Status ReadProgram(size_t si, const Symbol& sym) {
    const Section& s = secs_[si];
    ElfProgram prog;
    prog.name = sym.name;
    prog.section = s.name;
    prog.sec_idx = static_cast<uint32_t>(si);
    ProgTypeForSection(s.name, &prog.prog_type, &prog.expected_attach_type);
    const uint64_t size = sym.size != 0 ? sym.size : s.size - sym.value;
    if (!ReadInsns(s, sym.value, size, &prog.insns)) {
      return InvalidArgumentError("program out of its section");
    }
    const uint64_t own = prog.insns.size();
    prog.sec_insn_off = static_cast<uint32_t>(sym.value / 8);
    prog.sec_insn_cnt = static_cast<uint32_t>(own);
    bool uses_text = false;
    for (const Rel& r : rels_[static_cast<uint32_t>(si)]) {
      if (r.sym < syms_.size() && syms_[r.sym].shndx == text_shndx_ &&
          r.off >= sym.value && r.off < sym.value + size) {
        uses_text = true;
      }
    }
    int64_t text_base = -1;
    if (uses_text && text_shndx_ >= 0) {
      const Section& text = secs_[text_shndx_];
      std::vector<interp::RawInsn> sub;
      if (!ReadInsns(text, 0, text.size, &sub)) {
        return InvalidArgumentError("bad .text");
      }
      text_base = static_cast<int64_t>(own);
      prog.text_base = text_base;
      prog.insns.insert(prog.insns.end(), sub.begin(), sub.end());
    }
    if (auto st = Relocate(&prog, static_cast<int>(si), sym.value / 8, own, 0,
                           text_base);
        !st.ok()) {
      return st;
    }
    if (text_base >= 0) {
      const Section& text = secs_[text_shndx_];
      if (auto st = Relocate(&prog, text_shndx_, 0, text.size / 8,
                             static_cast<uint64_t>(text_base), text_base);
          !st.ok()) {
        return st;
      }
    }
    obj_.programs.push_back(std::move(prog));
    return absl::OkStatus();
  }

  // What CO-RE relocation needs besides the programs (loader/core_relo.h):
  // the .BTF.ext bytes and the unrelocated .text.
  void ReadCoreInputs() {
    const Section* ext = SectionNamed(".BTF.ext");
    if (ext != nullptr && b_.Has(ext->off, ext->size)) {
      obj_.btf_ext.assign(b_.data() + ext->off,
                          b_.data() + ext->off + ext->size);
    }
    if (text_shndx_ >= 0) {
      const Section& text = secs_[text_shndx_];
      if (!ReadInsns(text, 0, text.size, &obj_.text)) obj_.text.clear();
      for (const Symbol& sym : syms_) {
        if (static_cast<int>(sym.shndx) == text_shndx_ &&
            sym.type == kSttFunc) {
          ++obj_.text_funcs;
        }
      }
    }
  }

  // Programs: global functions in executable sections other than .text.
  absl::Status ReadPrograms() {
    return ForEachProgramSymbol(
        [&](size_t si, const Symbol& sym) { return ReadProgram(si, sym); });
  }

  // libbpf 1.1's init_struct_ops_maps and bpf_object__collect_st_ops_relos:
  // each variable of .struct_ops (and, as libbpf 1.2 on reads it,
  // .struct_ops.link, whose maps carry BPF_F_LINK) becomes a STRUCT_OPS map
  // named after the variable (key 4, the struct's size, one entry), after
  // every other map; each relocation in the section puts a STRUCT_OPS
  // program into a function-pointer member.
  absl::Status ReadStructOps() {
    for (size_t si = 0; si < secs_.size(); ++si) {
      const Section& sec = secs_[si];
      const bool link = sec.name == ".struct_ops.link";
      if ((sec.name != ".struct_ops" && !link) || sec.type != kShtProgbits) {
        continue;
      }
      const Section* btf_sec = SectionNamed(".BTF");
      if (btf_sec == nullptr) {
        return InvalidArgumentError(sec.name + " without .BTF");
      }
      Btf btf;
      if (auto st = btf.Parse(b_, btf_sec->off, btf_sec->size); !st.ok()) {
        return st;
      }
      const BtfType* datasec = nullptr;
      for (const BtfType& t : btf.types()) {
        if (t.kind == kDatasec && t.name == sec.name) datasec = &t;
      }
      if (datasec == nullptr) {
        return InvalidArgumentError("struct_ops init: DATASEC " + sec.name +
                                    " not found");
      }
      const size_t first = obj_.maps.size();
      std::vector<uint64_t> starts;
      for (const Btf::SecVar& v : btf.Vars(*datasec)) {
        const BtfType* var = btf.Type(v.type);
        uint32_t type_id = 0;
        const BtfType* t =
            var != nullptr ? btf.Resolve(var->size_or_type, &type_id) : nullptr;
        if (var == nullptr || var->kind != kVar || t == nullptr) {
          return InvalidArgumentError("struct_ops init: cannot resolve var");
        }
        if (t->name.empty()) {
          return InvalidArgumentError(
              "struct_ops init: anonymous type is not supported");
        }
        if (t->kind != kStruct) {
          return InvalidArgumentError("struct_ops init: " + t->name +
                                      " is not a struct");
        }
        // The DATASEC variable's offset (libbpf's vsi->offset); clang leaves
        // it 0 and libbpf's btf_fixup_datasec fills it from the symbol's
        // st_value, which is 64 bits here: bound it without overflowing.
        uint64_t offset = v.offset;
        for (const Symbol& sym : syms_) {
          if (sym.shndx == si && sym.name == var->name) offset = sym.value;
        }
        const uint64_t vsize = t->size_or_type;
        if (offset > sec.size || vsize > sec.size - offset) {
          return InvalidArgumentError("struct_ops init: var " + var->name +
                                      " is beyond the end of DATASEC " +
                                      sec.name);
        }
        ElfMap m;
        m.name = var->name;
        m.real_name = var->name;
        m.type = BPF_MAP_TYPE_STRUCT_OPS;
        m.key_size = 4;
        m.value_size = t->size_or_type;
        m.max_entries = 1;
        m.map_flags = link ? kBpfFLinkFlag : 0;
        m.st_type = t->name;
        m.st_data.assign(b_.data() + sec.off + offset,
                         b_.data() + sec.off + offset + t->size_or_type);
        const auto* raw = reinterpret_cast<const btf_member*>(t->raw + 1);
        uint32_t i = 0;
        for (const Btf::Member& mem : btf.Members(*t)) {
          ElfMap::StMember sm;
          sm.name = mem.name;
          sm.offset = mem.bit_offset / 8;
          sm.bitfield = (t->kflag && BTF_MEMBER_BITFIELD_SIZE(raw[i].offset)) ||
                        mem.bit_offset % 8 != 0;
          const BtfType* mt = btf.Resolve(mem.type);
          sm.kind = mt != nullptr ? mt->kind : 0;
          const BtfType* target = mt != nullptr && mt->kind == kPtr
                                      ? btf.Resolve(mt->size_or_type)
                                      : nullptr;
          sm.func_ptr = target != nullptr && target->kind == kFuncProto;
          sm.size = static_cast<int64_t>(btf.SizeOf(mem.type).value_or(-1));
          m.st_members.push_back(std::move(sm));
          ++i;
        }
        starts.push_back(offset);
        obj_.maps.push_back(std::move(m));
      }
      // bpf_object__collect_st_ops_relos().
      for (const Rel& r : rels_[static_cast<uint32_t>(si)]) {
        if (r.sym >= syms_.size()) {
          return InvalidArgumentError("struct_ops reloc: symbol not found");
        }
        const Symbol& sym = syms_[r.sym];
        // A function pointer is 8 bytes inside the section.
        if (r.off > sec.size || sec.size - r.off < 8) {
          return InvalidArgumentError(
              "struct_ops reloc: offset beyond the end of " + sec.name);
        }
        size_t mi = obj_.maps.size();
        for (size_t k = 0; k < starts.size(); ++k) {
          const ElfMap& m = obj_.maps[first + k];
          if (r.off >= starts[k] && r.off - starts[k] < m.value_size) {
            mi = first + k;
          }
        }
        if (mi == obj_.maps.size()) {
          return InvalidArgumentError(
              "struct_ops reloc: cannot find map at the relocation's offset");
        }
        ElfMap& m = obj_.maps[mi];
        const uint64_t moff = r.off - starts[mi - first];
        if (sym.shndx == kShnUndef || sym.shndx >= secs_.size()) {
          return InvalidArgumentError("struct_ops reloc " + m.name +
                                      ": cannot relocate non func ptr " +
                                      sym.name);
        }
        if (sym.value % 8 != 0) {
          return InvalidArgumentError("struct_ops reloc: bad call relo offset");
        }
        ElfMap::StMember* member = nullptr;
        for (ElfMap::StMember& sm : m.st_members) {
          if (sm.offset == moff && !sm.bitfield) member = &sm;
        }
        if (member == nullptr) {
          return InvalidArgumentError(absl::StrFormat(
              "struct_ops reloc %s: cannot find member at moff %d", m.name,
              moff));
        }
        if (!member->func_ptr) {
          return InvalidArgumentError("struct_ops reloc " + m.name +
                                      ": cannot relocate non func ptr " +
                                      member->name);
        }
        const ElfProgram* prog = nullptr;
        for (const ElfProgram& p : obj_.programs) {
          // libbpf's find_prog_by_sec_insn: the section by index.
          if (p.sec_idx == sym.shndx && p.sec_insn_off == sym.value / 8) {
            prog = &p;
          }
        }
        if (prog == nullptr) {
          return InvalidArgumentError("struct_ops reloc " + m.name +
                                      ": cannot find prog to relocate func "
                                      "ptr " +
                                      member->name);
        }
        if (prog->prog_type != BPF_PROG_TYPE_STRUCT_OPS) {
          return InvalidArgumentError("struct_ops reloc " + m.name + ": prog " +
                                      prog->name +
                                      " is not struct_ops BPF program");
        }
        member->prog = prog->name;
      }
    }
    return absl::OkStatus();
  }

  // Calls `fn` for each program's symbol, section by section, until an
  // error.
  template <typename Fn>
  absl::Status ForEachProgramSymbol(Fn fn) const {
    for (size_t si = 0; si < secs_.size(); ++si) {
      const Section& s = secs_[si];
      if (s.type != kShtProgbits || !(s.flags & kShfExecinstr) ||
          static_cast<int>(si) == text_shndx_) {
        continue;
      }
      for (const Symbol& sym : syms_) {
        if (sym.shndx != si || sym.type != kSttFunc ||
            (sym.bind != kStbGlobal && sym.bind != kStbWeak)) {
          continue;
        }
        if (auto st = fn(si, sym); !st.ok()) return st;
      }
    }
    return absl::OkStatus();
  }

  // Global and weak symbols defined in a section of the object.
  void ReadGlobals() {
    for (const Symbol& sym : syms_) {
      if ((sym.bind == kStbGlobal || sym.bind == kStbWeak) &&
          sym.shndx != kShnUndef && sym.shndx < kShnLoreserve) {
        obj_.globals.push_back(sym.name);
      }
    }
  }

  const Section* SectionNamed(std::string_view n) const {
    for (const Section& s : secs_) {
      if (s.name == n) return &s;
    }
    return nullptr;
  }
  int SectionIndex(std::string_view n) const {
    for (size_t i = 0; i < secs_.size(); ++i) {
      if (secs_[i].name == n) return static_cast<int>(i);
    }
    return -1;
  }

  absl::Span<const uint8_t> data_;
  Bytes b_;
  ElfObject obj_;
  std::vector<Section> secs_;
  std::vector<Symbol> syms_;
  std::map<uint32_t, std::vector<Rel>> rels_;
  // The maps a relocation can name: section index -> offset -> map index.
  std::map<int, std::map<uint64_t, uint32_t>> map_at_;
  int maps_shndx_ = -1;
  int text_shndx_ = -1;
};

}  // namespace

std::string ObjectNameFromPath(std::string_view path) {
  if (auto slash = path.rfind('/'); slash != std::string_view::npos) {
    path.remove_prefix(slash + 1);
  }
  if (auto dot = path.find('.'); dot != std::string_view::npos) {
    path = path.substr(0, dot);
  }
  return std::string(path);
}

absl::StatusOr<ElfObject> ParseElfObject(absl::Span<const uint8_t> data,
                                         std::string_view name) {
  return ElfReader(data, name).Read();
}

absl::StatusOr<ElfObject> ParseElfObjectOutline(absl::Span<const uint8_t> data,
                                                std::string_view name) {
  return ElfReader(data, name).ReadOutline();
}

}  // namespace bpfemu::native
