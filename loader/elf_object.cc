// SPDX-License-Identifier: Apache-2.0
// The .bpf.o reader (elf_object.h). Every read is bounds-checked: a
// malformed file gives an error, never a crash.

#include "loader/elf_object.h"

#include <linux/bpf.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "loader/section_names.h"

namespace bpfemu::native {
namespace {

using absl::InvalidArgumentError;

constexpr uint32_t kShtProgbits = 1, kShtSymtab = 2, kShtNobits = 8,
                   kShtRel = 9;
constexpr uint64_t kShfExecinstr = 0x4;
constexpr uint8_t kSttSection = 3, kSttFunc = 2;
constexpr uint8_t kStbGlobal = 1, kStbWeak = 2;
constexpr uint32_t kRBpf64_64 = 1, kRBpf64_32 = 10;

// BTF (include/uapi/linux/btf.h).
enum BtfKind : uint32_t {
  kInt = 1, kPtr = 2, kArray = 3, kStruct = 4, kUnion = 5, kEnum = 6,
  kFwd = 7, kTypedef = 8, kVolatile = 9, kConst = 10, kRestrict = 11,
  kFunc = 12, kFuncProto = 13, kVar = 14, kDatasec = 15, kFloat = 16,
  kDeclTag = 17, kTypeTag = 18, kEnum64 = 19,
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
  uint16_t shndx;
  uint64_t value, size;
};

struct BtfType {
  std::string name;
  uint32_t kind, vlen;
  bool kflag;
  uint32_t size_or_type;
  uint64_t extra;  // offset of the trailing data within the type section
};

class Btf {
 public:
  absl::Status Parse(const Bytes& b, uint64_t off, uint64_t size) {
    uint16_t magic;
    uint32_t hdr_len, type_off, type_len, str_off, str_len;
    if (!b.Get(off, &magic) || magic != 0xeB9F || !b.Get(off + 4, &hdr_len) ||
        !b.Get(off + 8, &type_off) || !b.Get(off + 12, &type_len) ||
        !b.Get(off + 16, &str_off) || !b.Get(off + 20, &str_len)) {
      return InvalidArgumentError("bad .BTF header");
    }
    const uint64_t types = off + hdr_len + type_off;
    str_lo_ = off + hdr_len + str_off;
    str_hi_ = str_lo_ + str_len;
    if (uint64_t{hdr_len} + type_off + type_len > size ||
        uint64_t{hdr_len} + str_off + str_len > size) {
      return InvalidArgumentError(".BTF sections out of range");
    }
    b_ = &b;
    types_.push_back({});  // type 0: void
    for (uint64_t p = types; p < types + type_len;) {
      uint32_t name_off, info, st;
      if (!b.Get(p, &name_off) || !b.Get(p + 4, &info) || !b.Get(p + 8, &st)) {
        return InvalidArgumentError("truncated BTF type");
      }
      BtfType t;
      t.name = b.Str(str_lo_, str_hi_, name_off).value_or("");
      t.kind = (info >> 24) & 0x1f;
      t.vlen = info & 0xffff;
      t.kflag = info >> 31;
      t.size_or_type = st;
      t.extra = p + 12;
      uint64_t trailing = 0;
      switch (t.kind) {
        case kInt: case kVar: case kDeclTag: trailing = 4; break;
        case kArray: trailing = 12; break;
        case kStruct: case kUnion: case kDatasec: case kEnum64:
          trailing = 12ull * t.vlen; break;
        case kEnum: case kFuncProto: trailing = 8ull * t.vlen; break;
        default: break;
      }
      types_.push_back(std::move(t));
      p += 12 + trailing;
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
  std::optional<uint64_t> SizeOf(uint32_t id, int depth = 0) const {
    const BtfType* t = Resolve(id);
    if (t == nullptr || depth > 32) return std::nullopt;
    switch (t->kind) {
      case kInt: case kStruct: case kUnion: case kEnum: case kEnum64:
      case kFloat: case kDatasec:
        return t->size_or_type;
      case kPtr:
        return 8;
      case kArray: {
        uint32_t elem, nelems;
        if (!b_->Get(t->extra, &elem) || !b_->Get(t->extra + 8, &nelems)) {
          return std::nullopt;
        }
        auto es = SizeOf(elem, depth + 1);
        if (!es) return std::nullopt;
        return *es * nelems;
      }
      case kVar:
        return SizeOf(t->size_or_type, depth + 1);
      default:
        return std::nullopt;
    }
  }
  struct Member {
    std::string name;
    uint32_t type;
    uint32_t bit_offset;
  };
  std::vector<Member> Members(const BtfType& t) const {
    std::vector<Member> out;
    for (uint32_t i = 0; i < t.vlen; ++i) {
      uint32_t name_off, type, off;
      const uint64_t p = t.extra + 12ull * i;
      if (!b_->Get(p, &name_off) || !b_->Get(p + 4, &type) ||
          !b_->Get(p + 8, &off)) {
        break;
      }
      out.push_back({b_->Str(str_lo_, str_hi_, name_off).value_or(""), type,
                     t.kflag ? (off & 0xffffff) : off});
    }
    return out;
  }
  // DATASEC entries: (type id of the VAR, offset, size).
  struct SecVar {
    uint32_t type, offset, size;
  };
  std::vector<SecVar> Vars(const BtfType& t) const {
    std::vector<SecVar> out;
    for (uint32_t i = 0; i < t.vlen; ++i) {
      SecVar v;
      const uint64_t p = t.extra + 12ull * i;
      if (!b_->Get(p, &v.type) || !b_->Get(p + 4, &v.offset) ||
          !b_->Get(p + 8, &v.size)) {
        break;
      }
      out.push_back(v);
    }
    return out;
  }
  bool ArrayInfo(const BtfType& t, uint32_t* elem, uint32_t* nelems) const {
    return b_->Get(t.extra, elem) && b_->Get(t.extra + 8, nelems);
  }
  const std::vector<BtfType>& types() const { return types_; }

 private:
  const Bytes* b_ = nullptr;
  uint64_t str_lo_ = 0, str_hi_ = 0;
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
    auto uint_value = [&](uint32_t* out) -> absl::Status {
      // __uint(name, val): int (*name)[val]
      const BtfType* arr = mt->kind == kPtr ? btf.Resolve(mt->size_or_type)
                                            : nullptr;
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
      if (mem.name == "value") {
        // A struct bpf_spin_lock member at the top level of the value.
        const BtfType* vt = btf.Resolve(mt->size_or_type);
        if (vt != nullptr && vt->kind == kStruct) {
          for (const Btf::Member& f : btf.Members(*vt)) {
            const BtfType* ft = btf.Resolve(f.type);
            if (ft != nullptr && ft->kind == kStruct &&
                ft->name == "bpf_spin_lock") {
              m->spin_lock_off = static_cast<int32_t>(f.bit_offset / 8);
            }
          }
        }
      }
    } else if (mem.name == "values" && !inner) {
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
  Bytes b(data);
  static constexpr uint8_t kIdent[] = {0x7f, 'E', 'L', 'F', 2, 1};
  uint16_t machine;
  if (!b.Has(0, 64) || std::memcmp(data.data(), kIdent, 6) != 0 ||
      !b.Get(18, &machine) || machine != 247 /* EM_BPF */) {
    return InvalidArgumentError("not a little-endian ELF64 BPF object");
  }
  uint64_t shoff;
  uint16_t shentsize, shnum, shstrndx;
  b.Get(0x28, &shoff);
  b.Get(0x3a, &shentsize);
  b.Get(0x3c, &shnum);
  b.Get(0x3e, &shstrndx);
  if (shentsize != 64 || shstrndx >= shnum ||
      !b.Has(shoff, uint64_t{shnum} * 64)) {
    return InvalidArgumentError("bad section header table");
  }
  std::vector<Section> secs(shnum);
  std::vector<uint32_t> name_offs(shnum);
  for (uint16_t i = 0; i < shnum; ++i) {
    const uint64_t p = shoff + uint64_t{i} * 64;
    Section& s = secs[i];
    b.Get(p, &name_offs[i]);
    b.Get(p + 4, &s.type);
    b.Get(p + 8, &s.flags);
    b.Get(p + 24, &s.off);
    b.Get(p + 32, &s.size);
    b.Get(p + 40, &s.link);
    b.Get(p + 44, &s.info);
    if (s.type != kShtNobits && !b.Has(s.off, s.size)) {
      return InvalidArgumentError("section out of the file");
    }
  }
  const Section& shstr = secs[shstrndx];
  for (uint16_t i = 0; i < shnum; ++i) {
    secs[i].name =
        b.Str(shstr.off, shstr.off + shstr.size, name_offs[i]).value_or("");
  }

  ElfObject obj;
  obj.name = std::string(name);

  // Symbols.
  std::vector<Symbol> syms;
  for (const Section& s : secs) {
    if (s.type != kShtSymtab || s.link >= shnum) continue;
    const Section& str = secs[s.link];
    for (uint64_t p = s.off; p + 24 <= s.off + s.size; p += 24) {
      Symbol sym;
      uint32_t name_off;
      uint8_t info;
      b.Get(p, &name_off);
      b.Get(p + 4, &info);
      b.Get(p + 6, &sym.shndx);
      b.Get(p + 8, &sym.value);
      b.Get(p + 16, &sym.size);
      sym.bind = info >> 4;
      sym.type = info & 0xf;
      sym.name = b.Str(str.off, str.off + str.size, name_off).value_or("");
      syms.push_back(std::move(sym));
    }
  }
  auto section_named = [&](std::string_view n) -> const Section* {
    for (const Section& s : secs) {
      if (s.name == n) return &s;
    }
    return nullptr;
  };
  auto section_index = [&](std::string_view n) -> int {
    for (size_t i = 0; i < secs.size(); ++i) {
      if (secs[i].name == n) return static_cast<int>(i);
    }
    return -1;
  };

  if (const Section* lic = section_named("license")) {
    obj.license = b.Str(lic->off, lic->off + lic->size, 0).value_or("");
  }
  if (const Section* ver = section_named("version"); ver && ver->size >= 4) {
    b.Get(ver->off, &obj.kern_version);
  }

  // Maps from .maps (BTF-defined).
  std::map<int, std::map<uint64_t, uint32_t>> map_at;  // shndx -> off -> map
  const int maps_shndx = section_index(".maps");
  if (maps_shndx >= 0) {
    const Section* btf_sec = section_named(".BTF");
    if (btf_sec == nullptr) {
      return InvalidArgumentError(".maps without .BTF (build with -g)");
    }
    Btf btf;
    if (auto s = btf.Parse(b, btf_sec->off, btf_sec->size); !s.ok()) return s;
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
        for (const Symbol& sym : syms) {
          if (sym.shndx == maps_shndx && sym.name == m.name) offset = sym.value;
        }
        map_at[maps_shndx][offset] = static_cast<uint32_t>(obj.maps.size());
        obj.maps.push_back(std::move(m));
      }
    }
  }
  // Global data: one array map per section, in section order.
  for (size_t i = 0; i < secs.size(); ++i) {
    const Section& s = secs[i];
    if (!IsDataSection(s.name) || s.size == 0) continue;
    if (s.type != kShtProgbits && s.type != kShtNobits) continue;
    // A NOBITS section's size is not bounded by the file; the kernel bounds
    // an array's value by KMALLOC_MAX_SIZE (array_map_alloc_check: E2BIG).
    constexpr uint64_t kMaxValue = uint64_t{1} << 22;
    if (s.size > kMaxValue) {
      return InvalidArgumentError(absl::StrFormat(
          "%s is %d bytes, beyond an array value's limit", s.name, s.size));
    }
    ElfMap m;
    m.real_name = s.name;
    m.name = InternalMapName(obj.name, s.name);
    m.type = BPF_MAP_TYPE_ARRAY;
    m.key_size = 4;
    m.value_size = static_cast<uint32_t>(s.size);
    m.max_entries = 1;
    m.map_flags = BPF_F_MMAPABLE;
    if (s.name.compare(0, 7, ".rodata") == 0) m.map_flags |= BPF_F_RDONLY_PROG;
    m.internal = true;
    m.initial.assign(s.size, 0);
    if (s.type == kShtProgbits) {
      std::memcpy(m.initial.data(), b.data() + s.off, s.size);
    }
    map_at[static_cast<int>(i)][0] = static_cast<uint32_t>(obj.maps.size());
    obj.maps.push_back(std::move(m));
  }

  // Relocations by the section they apply to.
  struct Rel {
    uint64_t off;
    uint32_t type;
    uint32_t sym;
  };
  std::map<uint32_t, std::vector<Rel>> rels;
  for (const Section& s : secs) {
    if (s.type != kShtRel) continue;
    for (uint64_t p = s.off; p + 16 <= s.off + s.size; p += 16) {
      uint64_t off, info;
      b.Get(p, &off);
      b.Get(p + 8, &info);
      rels[s.info].push_back(
          {off, static_cast<uint32_t>(info & 0xffffffff),
           static_cast<uint32_t>(info >> 32)});
    }
  }

  const int text_shndx = section_index(".text");
  auto read_insns = [&](const Section& s, uint64_t from, uint64_t size,
                        std::vector<interp::RawInsn>* out) -> bool {
    if (size % 8 != 0 || from > s.size || s.size - from < size) return false;
    out->resize(size / 8);
    std::memcpy(out->data(), b.data() + s.off + from, size);
    return true;
  };

  // Applies the relocations of section `shndx` covering instructions
  // [first, first + count) placed at `base` in `prog`; calls into .text are
  // pointed at `text_base`.
  auto relocate = [&](ElfProgram* prog, int shndx, uint64_t first,
                      uint64_t count, uint64_t base,
                      int64_t text_base) -> absl::Status {
    for (const Rel& r : rels[static_cast<uint32_t>(shndx)]) {
      if (r.off % 8 != 0) return InvalidArgumentError("misaligned relocation");
      const uint64_t idx = r.off / 8;
      if (idx < first || idx >= first + count) continue;
      if (r.sym >= syms.size()) return InvalidArgumentError("bad symbol");
      const Symbol& sym = syms[r.sym];
      const uint64_t at = base + (idx - first);
      if (at >= prog->insns.size()) {
        return InvalidArgumentError("relocation out of the program");
      }
      interp::RawInsn& in = prog->insns[at];
      const bool ldimm64 = in.code == (BPF_LD | BPF_IMM | BPF_DW);
      if (sym.shndx == text_shndx && text_shndx >= 0) {
        // Calls and callback addresses into .text.
        if (text_base < 0) return InvalidArgumentError("call without .text");
        int64_t target;
        if (r.type == kRBpf64_32 && in.code == (BPF_JMP | BPF_CALL)) {
          target = int64_t(sym.value / 8) + in.imm + 1;
          in.imm = static_cast<int32_t>(text_base + target - int64_t(at) - 1);
        } else if (r.type == kRBpf64_64 && ldimm64) {
          target = int64_t((sym.value + uint64_t(int64_t(in.imm))) / 8);
          in.src = BPF_PSEUDO_FUNC;
          in.imm = static_cast<int32_t>(text_base + target - int64_t(at) - 1);
        } else {
          return InvalidArgumentError("unsupported relocation into .text");
        }
        continue;
      }
      if (r.type != kRBpf64_64 || !ldimm64 || at + 1 >= prog->insns.size()) {
        return InvalidArgumentError(
            absl::StrFormat("unsupported relocation against %s", sym.name));
      }
      auto sec_maps = map_at.find(sym.shndx);
      if (sec_maps == map_at.end()) {
        return InvalidArgumentError(absl::StrFormat(
            "relocation against %s, which is not a map or global data",
            sym.name));
      }
      if (static_cast<int>(sym.shndx) == maps_shndx) {
        auto m = sec_maps->second.find(sym.value);
        if (m == sec_maps->second.end()) {
          return InvalidArgumentError("relocation against an unknown map");
        }
        prog->relocs.push_back({static_cast<uint32_t>(at), m->second, false, 0});
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
  };

  // Programs: global functions in executable sections other than .text.
  for (size_t si = 0; si < secs.size(); ++si) {
    const Section& s = secs[si];
    if (s.type != kShtProgbits || !(s.flags & kShfExecinstr) ||
        static_cast<int>(si) == text_shndx) {
      continue;
    }
    for (const Symbol& sym : syms) {
      if (sym.shndx != si || sym.type != kSttFunc ||
          (sym.bind != kStbGlobal && sym.bind != kStbWeak)) {
        continue;
      }
      ElfProgram prog;
      prog.name = sym.name;
      prog.section = s.name;
      ProgTypeForSection(s.name, &prog.prog_type, &prog.expected_attach_type);
      const uint64_t size = sym.size != 0 ? sym.size : s.size - sym.value;
      if (!read_insns(s, sym.value, size, &prog.insns)) {
        return InvalidArgumentError("program out of its section");
      }
      const uint64_t own = prog.insns.size();
      // libbpf appends the subprograms a program calls; bpfemu appends all
      // of .text when the program refers to it.
      bool uses_text = false;
      for (const Rel& r : rels[static_cast<uint32_t>(si)]) {
        if (r.sym < syms.size() && syms[r.sym].shndx == text_shndx &&
            r.off >= sym.value && r.off < sym.value + size) {
          uses_text = true;
        }
      }
      int64_t text_base = -1;
      if (uses_text && text_shndx >= 0) {
        const Section& text = secs[text_shndx];
        std::vector<interp::RawInsn> sub;
        if (!read_insns(text, 0, text.size, &sub)) {
          return InvalidArgumentError("bad .text");
        }
        text_base = static_cast<int64_t>(own);
        prog.insns.insert(prog.insns.end(), sub.begin(), sub.end());
      }
      if (auto st = relocate(&prog, static_cast<int>(si), sym.value / 8,
                             own, 0, text_base);
          !st.ok()) {
        return st;
      }
      if (text_base >= 0) {
        const Section& text = secs[text_shndx];
        if (auto st = relocate(&prog, text_shndx, 0, text.size / 8,
                               static_cast<uint64_t>(text_base), text_base);
            !st.ok()) {
          return st;
        }
      }
      obj.programs.push_back(std::move(prog));
    }
  }
  return obj;
}

}  // namespace bpfemu::native
