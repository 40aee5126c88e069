// SPDX-License-Identifier: Apache-2.0
// The userspace BTF model (btf.h), after tools/lib/bpf/btf.c.

#include "loader/btf.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bpfemu::native {
namespace {

const btf_type kVoidType = {};

template <typename T>
bool Get(absl::Span<const uint8_t> d, uint64_t off, T* out) {
  if (off > d.size() || d.size() - off < sizeof(T)) return false;
  std::memcpy(out, d.data() + off, sizeof(T));
  return true;
}

bool IsModifierKind(uint32_t k) {
  return k == BTF_KIND_TYPEDEF || k == BTF_KIND_VOLATILE ||
         k == BTF_KIND_CONST || k == BTF_KIND_RESTRICT ||
         k == BTF_KIND_TYPE_TAG;
}

constexpr int kMaxDepth = 32;

}  // namespace

BtfData::BtfData(const BtfData* base)
    : base_(base),
      start_id_(base != nullptr ? base->TypeCnt() : 1),
      start_str_off_(base != nullptr ? base->StrEnd() : 0) {
  if (base == nullptr) strs_.push_back('\0');
  if (base != nullptr) ptr_size_ = base->ptr_size_;
}

size_t BtfData::TypeSize(const btf_type* t) {
  const size_t vlen = BtfVlen(t);
  switch (BtfKind(t)) {
    case BTF_KIND_FWD:
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_FUNC:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPE_TAG:
      return sizeof(btf_type);
    case BTF_KIND_INT:
      return sizeof(btf_type) + sizeof(uint32_t);
    case BTF_KIND_ENUM:
      return sizeof(btf_type) + vlen * sizeof(btf_enum);
    case BTF_KIND_ENUM64:
      return sizeof(btf_type) + vlen * sizeof(btf_enum64);
    case BTF_KIND_ARRAY:
      return sizeof(btf_type) + sizeof(btf_array);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
      return sizeof(btf_type) + vlen * sizeof(btf_member);
    case BTF_KIND_FUNC_PROTO:
      return sizeof(btf_type) + vlen * sizeof(btf_param);
    case BTF_KIND_VAR:
      return sizeof(btf_type) + sizeof(btf_var);
    case BTF_KIND_DATASEC:
      return sizeof(btf_type) + vlen * sizeof(btf_var_secinfo);
    case BTF_KIND_DECL_TAG:
      return sizeof(btf_type) + sizeof(btf_decl_tag);
  }
  return 0;
}

int BtfData::Parse(absl::Span<const uint8_t> raw, const BtfData* base,
                   std::unique_ptr<BtfData>* out) {
  btf_header h;
  if (!Get(raw, 0, &h.magic)) return -EINVAL;
  if (h.magic != BTF_MAGIC) return -EPROTO;  // (byte-swapped BTF too)
  if (!Get(raw, 0, &h)) return -EINVAL;
  if (h.hdr_len < sizeof(h) || h.hdr_len > raw.size()) return -EINVAL;
  const uint64_t body = raw.size() - h.hdr_len;
  if (uint64_t{h.type_off} + h.type_len > body ||
      uint64_t{h.str_off} + h.str_len > body || (h.type_off & 3)) {
    return -EINVAL;
  }
  auto b = std::make_unique<BtfData>(base);
  const uint8_t* p = raw.data() + h.hdr_len;
  // Strings: NUL-terminated; the first is "" unless split.
  if (h.str_len == 0 && base == nullptr) return -EINVAL;
  if (h.str_len > 0) {
    const char* s = reinterpret_cast<const char*>(p + h.str_off);
    if (s[h.str_len - 1] != '\0') return -EINVAL;
    if (base == nullptr && s[0] != '\0') return -EINVAL;
    b->strs_.assign(s, h.str_len);
  } else {
    b->strs_.clear();
  }
  // Types.
  const uint8_t* t = p + h.type_off;
  const uint8_t* end = t + h.type_len;
  while (t < end) {
    if (end - t < static_cast<ptrdiff_t>(sizeof(btf_type))) return -EINVAL;
    btf_type bt;
    std::memcpy(&bt, t, sizeof(bt));
    const size_t size = TypeSize(&bt);
    if (size == 0 || BtfKind(&bt) == BTF_KIND_UNKN ||
        static_cast<size_t>(end - t) < size) {
      return -EINVAL;
    }
    if (b->Str(bt.name_off) == nullptr) return -EINVAL;
    b->AddType(t, size);
    t += size;
  }
  *out = std::move(b);
  return 0;
}

bool BtfData::ElfSection(absl::Span<const uint8_t> elf, std::string_view name,
                         absl::Span<const uint8_t>* out) {
  // ELF64 little-endian: e_shoff at 0x28, e_shentsize 0x3a, e_shnum 0x3c,
  // e_shstrndx 0x3e; section header: sh_name 0, sh_type 4, sh_offset 0x18,
  // sh_size 0x20.
  if (elf.size() < 0x40 ||
      std::memcmp(elf.data(),
                  "\x7f"
                  "ELF",
                  4) != 0 ||
      elf[4] != 2 || elf[5] != 1) {
    return false;
  }
  uint64_t shoff;
  uint16_t shentsize, shnum, shstrndx;
  if (!Get(elf, 0x28, &shoff) || !Get(elf, 0x3a, &shentsize) ||
      !Get(elf, 0x3c, &shnum) || !Get(elf, 0x3e, &shstrndx) ||
      shentsize < 0x40 || shstrndx >= shnum) {
    return false;
  }
  auto section = [&](uint16_t i, uint32_t* name_off, uint32_t* type,
                     uint64_t* off, uint64_t* size) {
    const uint64_t h = shoff + uint64_t{i} * shentsize;
    return Get(elf, h, name_off) && Get(elf, h + 4, type) &&
           Get(elf, h + 0x18, off) && Get(elf, h + 0x20, size) &&
           *off <= elf.size() && elf.size() - *off >= *size;
  };
  uint32_t sn, st;
  uint64_t stroff, strsize;
  if (!section(shstrndx, &sn, &st, &stroff, &strsize)) return false;
  for (uint16_t i = 0; i < shnum; ++i) {
    uint32_t name_off, type;
    uint64_t off, size;
    if (!section(i, &name_off, &type, &off, &size)) continue;
    if (name_off >= strsize || type == 8 /* SHT_NOBITS */) continue;
    const char* n =
        reinterpret_cast<const char*>(elf.data() + stroff + name_off);
    const size_t max = strsize - name_off;
    if (strnlen(n, max) == max || name != n) continue;
    *out = elf.subspan(off, size);
    return true;
  }
  return false;
}

const btf_type* BtfData::Type(uint32_t id) const {
  if (id == 0) return &kVoidType;
  if (id < start_id_) return base_ != nullptr ? base_->Type(id) : nullptr;
  const uint32_t i = id - start_id_;
  if (i >= offs_.size()) return nullptr;
  return reinterpret_cast<const btf_type*>(types_.data() + offs_[i]);
}

btf_type* BtfData::MutableType(uint32_t id) {
  if (id < start_id_ || id - start_id_ >= offs_.size()) return nullptr;
  return reinterpret_cast<btf_type*>(types_.data() + offs_[id - start_id_]);
}

const char* BtfData::Str(uint32_t off) const {
  if (off < start_str_off_) return base_ != nullptr ? base_->Str(off) : nullptr;
  off -= start_str_off_;
  if (off >= strs_.size()) return nullptr;
  return strs_.data() + off;
}

void BtfData::IndexStrings() {
  if (indexed_) return;
  for (size_t i = 0; i < strs_.size();) {
    const size_t n = std::strlen(strs_.data() + i);
    str_index_.emplace(std::string(strs_.data() + i, n),
                       static_cast<uint32_t>(start_str_off_ + i));
    i += n + 1;
  }
  indexed_ = true;
}

int BtfData::FindStr(std::string_view s) const {
  if (base_ != nullptr) {
    if (int off = base_->FindStr(s); off >= 0) return off;
  }
  for (size_t i = 0; i < strs_.size();) {
    const size_t n = std::strlen(strs_.data() + i);
    if (std::string_view(strs_.data() + i, n) == s) {
      return static_cast<int>(start_str_off_ + i);
    }
    i += n + 1;
  }
  return -ENOENT;
}

int BtfData::AddStr(std::string_view s) {
  if (base_ != nullptr) {
    if (int off = base_->FindStr(s); off >= 0) return off;
  }
  IndexStrings();
  if (auto it = str_index_.find(std::string(s)); it != str_index_.end()) {
    return static_cast<int>(it->second);
  }
  const uint32_t off = StrEnd();
  strs_.append(s.data(), s.size());
  strs_.push_back('\0');
  str_index_.emplace(std::string(s), off);
  return static_cast<int>(off);
}

uint32_t BtfData::AddType(const void* bytes, size_t size) {
  offs_.push_back(static_cast<uint32_t>(types_.size()));
  const auto* p = static_cast<const uint8_t*>(bytes);
  types_.insert(types_.end(), p, p + size);
  return TypeCnt() - 1;
}

void BtfData::AppendToLast(const void* bytes, size_t size) {
  const auto* p = static_cast<const uint8_t*>(bytes);
  types_.insert(types_.end(), p, p + size);
}

std::vector<uint8_t> BtfData::Raw() const {
  btf_header h = {};
  h.magic = BTF_MAGIC;
  h.version = BTF_VERSION;
  h.hdr_len = sizeof(h);
  h.type_off = 0;
  h.type_len = static_cast<uint32_t>(types_.size());
  h.str_off = h.type_len;
  h.str_len = static_cast<uint32_t>(strs_.size());
  std::vector<uint8_t> out(sizeof(h) + types_.size() + strs_.size());
  std::memcpy(out.data(), &h, sizeof(h));
  if (!types_.empty()) {
    std::memcpy(out.data() + sizeof(h), types_.data(), types_.size());
  }
  std::memcpy(out.data() + sizeof(h) + types_.size(), strs_.data(),
              strs_.size());
  return out;
}

int64_t BtfData::ResolveSize(uint32_t id) const {
  return ResolveBtfSize([this](uint32_t i) { return Type(i); }, id, ptr_size_);
}

int64_t ResolveBtfSize(const std::function<const btf_type*(uint32_t)>& type,
                       uint32_t id, size_t ptr_size) {
  uint64_t nelems = 1;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    const btf_type* t = type(id);
    if (t == nullptr) return -EINVAL;
    uint64_t size;
    switch (BtfKind(t)) {
      case BTF_KIND_INT:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_DATASEC:
      case BTF_KIND_FLOAT:
        size = t->size;
        break;
      case BTF_KIND_PTR:
        size = ptr_size;
        break;
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_VAR:
      case BTF_KIND_DECL_TAG:
      case BTF_KIND_TYPE_TAG:
        id = t->type;
        continue;
      case BTF_KIND_ARRAY: {
        btf_array a;
        std::memcpy(&a, t + 1, sizeof(a));
        if (nelems && a.nelems > UINT32_MAX / nelems) return -E2BIG;
        nelems *= a.nelems;
        id = a.type;
        continue;
      }
      default:
        return -EINVAL;
    }
    if (nelems && size > UINT32_MAX / nelems) return -E2BIG;
    return static_cast<int64_t>(nelems * size);
  }
  return -EINVAL;
}

// libbpf's btf__resolve_type(): through modifiers, typedefs and vars; void
// and forward declarations (btf_type_is_void_or_null) are -EINVAL.
int BtfData::ResolveType(uint32_t id) const {
  const btf_type* t = Type(id);
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (t == nullptr || id == 0 || BtfKind(t) == BTF_KIND_FWD) return -EINVAL;
    const uint32_t k = BtfKind(t);
    if (!IsModifierKind(k) && k != BTF_KIND_VAR) return static_cast<int>(id);
    id = t->type;
    t = Type(id);
  }
  return -EINVAL;
}

int BtfData::AlignOf(uint32_t id, int* err) const {
  *err = 0;
  const btf_type* t = Type(id);
  if (t == nullptr) {
    *err = -EINVAL;
    return 0;
  }
  switch (BtfKind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
    case BTF_KIND_FLOAT:
      return static_cast<int>(std::min<size_t>(ptr_size_, t->size));
    case BTF_KIND_PTR:
      return static_cast<int>(ptr_size_);
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      return AlignOf(t->type, err);
    case BTF_KIND_ARRAY: {
      btf_array a;
      std::memcpy(&a, t + 1, sizeof(a));
      return AlignOf(a.type, err);
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      const auto* m = reinterpret_cast<const btf_member*>(t + 1);
      int max_align = 1;
      for (uint16_t i = 0; i < BtfVlen(t); ++i) {
        const int align = AlignOf(m[i].type, err);
        // btf__align_of(): a member without an alignment (an error, or a
        // zero-sized int) leaves the struct without one.
        if (*err != 0 || align <= 0) {
          if (*err == 0) *err = -EINVAL;
          return 0;
        }
        const uint32_t off =
            BtfKflag(t) ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
        const uint32_t bits =
            BtfKflag(t) ? BTF_MEMBER_BITFIELD_SIZE(m[i].offset) : 0;
        // A (non-bit-field) member off its natural alignment: the struct
        // is packed. Bit-fields sit at any bit.
        if (bits == 0 && off % (8 * align) != 0) return 1;
        max_align = std::max(max_align, align);
      }
      if (t->size % max_align != 0) return 1;
      return max_align;
    }
  }
  *err = -EINVAL;
  return 0;
}

int BtfData::FindByName(std::string_view name) const {
  if (name == "void") return 0;
  for (uint32_t id = 1; id < TypeCnt(); ++id) {
    const char* n = Str(Type(id)->name_off);
    if (n != nullptr && name == n) return static_cast<int>(id);
  }
  return -ENOENT;
}

int BtfData::FindByNameKind(std::string_view name, uint32_t kind) const {
  if (kind == BTF_KIND_UNKN || name == "void") return 0;
  for (uint32_t id = 1; id < TypeCnt(); ++id) {
    const btf_type* t = Type(id);
    if (BtfKind(t) != kind) continue;
    const char* n = Str(t->name_off);
    if (n != nullptr && name == n) return static_cast<int>(id);
  }
  return -ENOENT;
}

}  // namespace bpfemu::native
