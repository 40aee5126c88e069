// SPDX-License-Identifier: Apache-2.0
// File: btf_dedup.cc
//
// BTF deduplication as libbpf 1.1.2 does it (tools/lib/bpf/btf.c
// btf__dedup and its btf_dedup_* passes), so that the output is the same
// bytes:
//  1. strings: unless the set is already unique, a new string section
//     holding the strings the types (then .BTF.ext) use, in the order of
//     first use;
//  2. INT, ENUM/ENUM64 (an enum forward joins its full enum), FWD, FLOAT
//     by equality;
//  3. STRUCT/UNION: a candidate with the same shallow signature is equal
//     when the two type graphs map onto each other (the hypothetical map),
//     a FWD matching a struct or union of its kind and name;
//  4. a FWD still alone resolves to the only struct/union of its name;
//  5. reference types (modifiers, typedef, pointer, array, func, proto,
//     tags) bottom-up once what they point at is canonical;
//  6. the canonical types are kept in order and every type id (and the
//     .BTF.ext's) renumbered.
// Candidates live in a table that behaves like libbpf's hashmap (same
// bucket function, growth and chain order), because the order in which
// candidates are tried decides ties.
//
// Differences from libbpf, for input libbpf does not survive: a type id
// past the last type, a string offset outside the section, or two structs
// holding each other by value (libbpf reads out of bounds, dereferences
// NULL or recurses without end) give -EINVAL here or, for the last, a
// comparison that stops at depth 1000; on error the BTF is left unchanged
// (libbpf leaves it half rewritten).

#include "compat/btf_dedup.h"

#include <linux/btf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "compat/btf_fields.h"

namespace bpfemu::compat {
namespace {

using native::BtfData;
using native::BtfKflag;

constexpr uint32_t kMaxTypes = 0x7fffffff;  // BTF_MAX_NR_TYPES
constexpr uint32_t kUnprocessed = 0xffffffff;
constexpr uint32_t kInProgress = 0xfffffffe;

// libbpf's hashmap (tools/lib/bpf/hashmap.c) reduced to what the dedup
// table needs: append, and the entries with one key in chain order.
class CandTable {
 public:
  explicit CandTable(bool collide) : collide_(collide) {}

  void Append(uint64_t key, uint32_t value) {
    if (heads_.empty() || (entries_.size() + 1) * 4 / 3 > heads_.size()) {
      Grow();
    }
    const size_t b = Bucket(key);
    entries_.push_back({key, value, heads_[b]});
    heads_[b] = static_cast<int32_t>(entries_.size() - 1);
  }

  // Calls f(value) for each entry with `key` until f returns true.
  template <typename F>
  void Find(uint64_t key, F f) const {
    if (heads_.empty()) return;
    for (int32_t i = heads_[Bucket(key)]; i >= 0; i = entries_[i].next) {
      if (entries_[i].key == key && f(entries_[i].value)) return;
    }
  }

 private:
  struct Entry {
    uint64_t key;
    uint32_t value;
    int32_t next;
  };

  size_t Bucket(uint64_t key) const {
    if (bits_ == 0) return 0;
    const uint64_t h = collide_ ? 0 : key;
    return (h * 11400714819323198485ull) >> (64 - bits_);
  }

  // hashmap_grow(): every chain, bucket by bucket, pushed onto the front
  // of its new bucket.
  void Grow() {
    bits_ = bits_ + 1 < 2 ? 2 : bits_ + 1;
    std::vector<int32_t> heads(size_t{1} << bits_, -1);
    for (int32_t head : heads_) {
      for (int32_t i = head, next; i >= 0; i = next) {
        next = entries_[i].next;
        const size_t b = Bucket(entries_[i].key);
        entries_[i].next = heads[b];
        heads[b] = i;
      }
    }
    heads_ = std::move(heads);
  }

  bool collide_;
  int bits_ = 0;
  std::vector<int32_t> heads_;
  std::vector<Entry> entries_;
};

uint64_t Combine(uint64_t h, uint32_t v) { return h * 31 + v; }

template <typename T>
T* Extra(const btf_type* t) {
  return reinterpret_cast<T*>(const_cast<btf_type*>(t) + 1);
}

uint64_t HashCommon(const btf_type* t) {
  return Combine(Combine(Combine(0, t->name_off), t->info), t->size);
}

bool EqualCommon(const btf_type* a, const btf_type* b) {
  return a->name_off == b->name_off && a->info == b->info && a->size == b->size;
}

// INT and DECL_TAG: the common part and the word after it.
uint64_t HashWord(const btf_type* t) {
  return Combine(HashCommon(t), *Extra<uint32_t>(t));
}

bool EqualWord(const btf_type* a, const btf_type* b) {
  return EqualCommon(a, b) && *Extra<uint32_t>(a) == *Extra<uint32_t>(b);
}

// Only the name: an enum forward and its full enum share a bucket.
uint64_t HashEnum(const btf_type* t) { return Combine(0, t->name_off); }

bool IsAnyEnum(const btf_type* t) {
  return BtfKind(t) == BTF_KIND_ENUM || BtfKind(t) == BTF_KIND_ENUM64;
}

bool IsEnumFwd(const btf_type* t) { return IsAnyEnum(t) && BtfVlen(t) == 0; }

bool EqualEnum(const btf_type* a, const btf_type* b) {
  if (!EqualCommon(a, b)) return false;
  const size_t n =
      BtfVlen(a) * (BtfKind(a) == BTF_KIND_ENUM ? sizeof(struct btf_enum)
                                                : sizeof(struct btf_enum64));
  return std::memcmp(a + 1, b + 1, n) == 0;
}

bool CompatEnum(const btf_type* a, const btf_type* b) {
  if (!IsEnumFwd(a) && !IsEnumFwd(b)) return EqualEnum(a, b);
  return a->name_off == b->name_off && IsAnyEnum(a) && IsAnyEnum(b);
}

// The words at byte offsets 0 (a name) and `second` of each of a type's
// vlen records of `stride` bytes: hashed after the common part, or
// compared.
uint64_t HashRecords(const btf_type* t, size_t stride, size_t second) {
  uint64_t h = HashCommon(t);
  const auto* r = Extra<uint8_t>(t);
  for (uint16_t i = 0; i < BtfVlen(t); ++i, r += stride) {
    uint32_t name, other;
    std::memcpy(&name, r, 4);
    std::memcpy(&other, r + second, 4);
    h = Combine(Combine(h, name), other);
  }
  return h;
}

bool EqualRecords(const btf_type* a, const btf_type* b, size_t stride,
                  size_t second) {
  const auto* x = Extra<uint8_t>(a);
  const auto* y = Extra<uint8_t>(b);
  for (uint16_t i = 0; i < BtfVlen(a); ++i, x += stride, y += stride) {
    if (std::memcmp(x, y, 4) != 0 || std::memcmp(x + second, y + second, 4)) {
      return false;
    }
  }
  return true;
}

// Members: name and bit offset (the type may not be canonical yet).
uint64_t HashStruct(const btf_type* t) {
  return HashRecords(t, sizeof(btf_member), offsetof(btf_member, offset));
}

bool ShallowEqualStruct(const btf_type* a, const btf_type* b) {
  return EqualCommon(a, b) &&
         EqualRecords(a, b, sizeof(btf_member), offsetof(btf_member, offset));
}

uint64_t HashArray(const btf_type* t) {
  const auto* a = Extra<struct btf_array>(t);
  return Combine(Combine(Combine(HashCommon(t), a->type), a->index_type),
                 a->nelems);
}

bool EqualArray(const btf_type* a, const btf_type* b) {
  const auto* x = Extra<struct btf_array>(a);
  const auto* y = Extra<struct btf_array>(b);
  return EqualCommon(a, b) && x->type == y->type &&
         x->index_type == y->index_type && x->nelems == y->nelems;
}

bool CompatArray(const btf_type* a, const btf_type* b) {
  return EqualCommon(a, b) && Extra<struct btf_array>(a)->nelems ==
                                  Extra<struct btf_array>(b)->nelems;
}

// Params: name and type.
uint64_t HashProto(const btf_type* t) {
  return HashRecords(t, sizeof(btf_param), offsetof(btf_param, type));
}

bool EqualProto(const btf_type* a, const btf_type* b) {
  return EqualCommon(a, b) &&
         std::memcmp(a + 1, b + 1, BtfVlen(a) * sizeof(btf_param)) == 0;
}

// The return type and the param types are not compared.
bool CompatProto(const btf_type* a, const btf_type* b) {
  return a->name_off == b->name_off && a->info == b->info &&
         EqualRecords(a, b, sizeof(btf_param), 0);
}

// The kind a FWD stands for.
uint32_t FwdKind(const btf_type* t) {
  return BtfKflag(t) ? BTF_KIND_UNION : BTF_KIND_STRUCT;
}

bool IsStructOrUnion(uint32_t kind) {
  return kind == BTF_KIND_STRUCT || kind == BTF_KIND_UNION;
}

class Dedup {
 public:
  Dedup(const BtfData& in, bool force_collisions)
      : in_(in),
        start_(in.start_id()),
        cnt_(in.TypeCnt()),
        table_(force_collisions) {}

  int Run(bool strs_deduped, std::vector<uint8_t>* ext,
          std::unique_ptr<BtfData>* out);

 private:
  btf_type* T(uint32_t id) {
    if (id >= start_)
      return reinterpret_cast<btf_type*>(&types_[offs_[id - start_]]);
    return const_cast<btf_type*>(in_.Type(id));
  }
  bool Mapped(uint32_t id) const { return map_[id] <= kMaxTypes; }
  uint32_t Resolve(uint32_t id) const {
    while (Mapped(id) && map_[id] != id) id = map_[id];
    return id;
  }
  uint32_t ResolveFwd(uint32_t id) {
    if (BtfKind(T(id)) != BTF_KIND_FWD) return id;
    const uint32_t r = Resolve(id);
    return BtfKind(T(r)) != BTF_KIND_FWD ? r : id;
  }

  int Copy();
  int Strings(std::vector<uint8_t>* ext);
  int Prep();
  int PrimType(uint32_t id);
  int StructType(uint32_t id);
  int IsEquiv(uint32_t cand_id, uint32_t canon_id);
  bool IdenticalArrays(uint32_t a, uint32_t b);
  bool IdenticalStructs(uint32_t a, uint32_t b, int depth);
  void HypotAdd(uint32_t from, uint32_t to) {
    hypot_list_.push_back(from);
    hypot_map_[from] = to;
  }
  void ClearHypot() {
    for (uint32_t id : hypot_list_) hypot_map_[id] = kUnprocessed;
    hypot_list_.clear();
    hypot_adjust_canon_ = false;
  }
  void MergeHypot();
  void ResolveFwds();
  int RefType(uint32_t id);
  int Remap(uint32_t* id) const {
    if (*id >= cnt_) return -EINVAL;
    const uint32_t n = hypot_map_[Resolve(*id)];
    if (n > kMaxTypes) return -EINVAL;
    *id = n;
    return 0;
  }

  const BtfData& in_;
  const uint32_t start_, cnt_;
  std::vector<uint8_t> types_;  // our types, rewritten as the passes go
  std::vector<uint32_t> offs_;
  std::string strs_;  // the new string section (when strings are deduped)
  std::vector<uint32_t> map_, hypot_map_, hypot_list_;
  bool hypot_adjust_canon_ = false;
  CandTable table_;
};

// Our types into a work area, every type id they hold checked to name a
// type (libbpf assumes it).
int Dedup::Copy() {
  for (uint32_t id = start_; id < cnt_; ++id) {
    const btf_type* t = in_.Type(id);
    const size_t size = t != nullptr ? BtfData::TypeSize(t) : 0;
    if (size == 0) return -EINVAL;
    offs_.push_back(static_cast<uint32_t>(types_.size()));
    const auto* p = reinterpret_cast<const uint8_t*>(t);
    types_.insert(types_.end(), p, p + size);
  }
  for (uint32_t id = start_; id < cnt_; ++id) {
    bool bad = false;
    ForEachTypeId(T(id), [&](__u32* tid) { bad |= *tid >= cnt_; });
    if (bad) return -EINVAL;
  }
  return 0;
}

// btf_dedup_strings(): each string offset of our types, then of the
// .BTF.ext, moves to the string's place in a new set (the base's offset
// when the base has it); the empty string stays at 0.
int Dedup::Strings(std::vector<uint8_t>* ext) {
  const BtfData* base = in_.base();
  const uint32_t start_off = in_.StrEnd() - in_.own_strings().size();
  absl::flat_hash_map<std::string_view, uint32_t> index;
  if (base == nullptr) {
    strs_.push_back('\0');
    index.emplace(std::string_view(), 0);
  }
  int err = 0;
  auto remap = [&](__u32* off) {
    if (err != 0 || *off == 0 || *off < start_off) return;
    const char* s = in_.Str(*off);
    if (s == nullptr) {
      err = -EINVAL;
      return;
    }
    if (base != nullptr) {
      if (int b = base->FindStr(s); b >= 0) {
        *off = static_cast<uint32_t>(b);
        return;
      }
    }
    auto [it, added] =
        index.emplace(s, start_off + static_cast<uint32_t>(strs_.size()));
    if (added) strs_.append(s, std::strlen(s) + 1);
    *off = it->second;
  };
  for (uint32_t id = start_; id < cnt_; ++id) ForEachStrOff(T(id), remap);
  if (ext == nullptr) return err;
  auto recs = [&](BtfExtInfo kind, size_t first, size_t count) {
    return ForEachBtfExtSec(
        ext->data(), ext->size(), kind,
        [&](uint32_t* name, uint8_t* rec, uint32_t num, uint32_t rec_size) {
          remap(name);
          for (uint32_t i = 0; i < num; ++i) {
            for (size_t f = 0; f < count; ++f) {
              remap(reinterpret_cast<uint32_t*>(rec + i * rec_size + first) +
                    f);
            }
          }
        });
  };
  // func_info: the section names; line_info: file and line; core_relo:
  // the access string.
  if (!recs(BtfExtInfo::kFunc, 0, 0) || !recs(BtfExtInfo::kLine, 4, 2) ||
      !recs(BtfExtInfo::kCoreRelo, 8, 1)) {
    return -EINVAL;
  }
  return err;
}

// btf_dedup_new() and btf_dedup_prep(): VAR and DATASEC are their own
// canonical types, as are all of a base's, which enter the table.
int Dedup::Prep() {
  map_.assign(cnt_, kUnprocessed);
  hypot_map_.assign(cnt_, kUnprocessed);
  map_[0] = 0;
  for (uint32_t id = 1; id < cnt_; ++id) {
    const btf_type* t = T(id);
    if (BtfKind(t) == BTF_KIND_VAR || BtfKind(t) == BTF_KIND_DATASEC) {
      map_[id] = id;
    }
  }
  for (uint32_t id = 1; id < start_; ++id) {
    const btf_type* t = T(id);
    map_[id] = id;
    uint64_t h;
    switch (BtfKind(t)) {
      case BTF_KIND_VAR:
      case BTF_KIND_DATASEC:
        continue;
      case BTF_KIND_INT:
      case BTF_KIND_DECL_TAG:
        h = HashWord(t);
        break;
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        h = HashEnum(t);
        break;
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        h = HashStruct(t);
        break;
      case BTF_KIND_ARRAY:
        h = HashArray(t);
        break;
      case BTF_KIND_FUNC_PROTO:
        h = HashProto(t);
        break;
      case BTF_KIND_CONST:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_PTR:
      case BTF_KIND_FWD:
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_FUNC:
      case BTF_KIND_FLOAT:
      case BTF_KIND_TYPE_TAG:
        h = HashCommon(t);
        break;
      default:
        return -EINVAL;
    }
    table_.Append(h, id);
  }
  return 0;
}

// btf_dedup_prim_type().
int Dedup::PrimType(uint32_t id) {
  btf_type* t = T(id);
  uint32_t new_id = id;
  uint64_t h;
  switch (BtfKind(t)) {
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_ARRAY:
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
    case BTF_KIND_FUNC:
    case BTF_KIND_FUNC_PROTO:
    case BTF_KIND_VAR:
    case BTF_KIND_DATASEC:
    case BTF_KIND_DECL_TAG:
    case BTF_KIND_TYPE_TAG:
      return 0;
    case BTF_KIND_INT:
      h = HashWord(t);
      table_.Find(h, [&](uint32_t c) {
        if (!EqualWord(t, T(c))) return false;
        new_id = c;
        return true;
      });
      break;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
      h = HashEnum(t);
      table_.Find(h, [&](uint32_t c) {
        const btf_type* ct = T(c);
        if (EqualEnum(t, ct)) {
          new_id = c;
          return true;
        }
        if (CompatEnum(t, ct)) {
          if (IsEnumFwd(t)) {
            new_id = c;
            return true;
          }
          map_[c] = id;  // a canonical enum forward joins this full enum
        }
        return false;
      });
      break;
    case BTF_KIND_FWD:
    case BTF_KIND_FLOAT:
      h = HashCommon(t);
      table_.Find(h, [&](uint32_t c) {
        if (!EqualCommon(t, T(c))) return false;
        new_id = c;
        return true;
      });
      break;
    default:
      return -EINVAL;
  }
  map_[id] = new_id;
  if (new_id == id) table_.Append(h, id);
  return 0;
}

bool Dedup::IdenticalArrays(uint32_t a, uint32_t b) {
  const btf_type* x = T(a);
  const btf_type* y = T(b);
  return BtfKind(x) == BTF_KIND_ARRAY && BtfKind(y) == BTF_KIND_ARRAY &&
         EqualArray(x, y);
}

// Same members down to the referenced ids (nested arrays and structs
// compared alike).
bool Dedup::IdenticalStructs(uint32_t a, uint32_t b, int depth) {
  const btf_type* x = T(a);
  const btf_type* y = T(b);
  if (!IsStructOrUnion(BtfKind(x)) || BtfKind(x) != BtfKind(y)) return false;
  if (!ShallowEqualStruct(x, y) || depth > 1000) return false;
  const auto* mx = Extra<btf_member>(x);
  const auto* my = Extra<btf_member>(y);
  for (uint16_t i = 0; i < BtfVlen(x); ++i) {
    if (mx[i].type != my[i].type && !IdenticalArrays(mx[i].type, my[i].type) &&
        !IdenticalStructs(mx[i].type, my[i].type, depth + 1)) {
      return false;
    }
  }
  return true;
}

// btf_dedup_is_equiv(): 1 when the graph from cand_id maps onto the graph
// from canon_id (recording the mapping), 0 when not, -errno.
int Dedup::IsEquiv(uint32_t cand_id, uint32_t canon_id) {
  if (Resolve(cand_id) == Resolve(canon_id)) return 1;
  canon_id = ResolveFwd(canon_id);
  const uint32_t hypot = hypot_map_[canon_id];
  if (hypot <= kMaxTypes) {
    return hypot == cand_id || IdenticalArrays(hypot, cand_id) ||
           IdenticalStructs(hypot, cand_id, 0);
  }
  HypotAdd(canon_id, cand_id);
  const btf_type* cand = T(cand_id);
  const btf_type* canon = T(canon_id);
  const uint32_t cand_kind = BtfKind(cand);
  const uint32_t canon_kind = BtfKind(canon);
  if (cand->name_off != canon->name_off) return 0;
  if ((cand_kind == BTF_KIND_FWD || canon_kind == BTF_KIND_FWD) &&
      cand_kind != canon_kind) {
    if (cand_kind == BTF_KIND_FWD) return FwdKind(cand) == canon_kind;
    const uint32_t fwd_kind = FwdKind(canon);
    // A base FWD would have to become this struct.
    if (fwd_kind == cand_kind && canon_id < start_) hypot_adjust_canon_ = true;
    return fwd_kind == cand_kind;
  }
  if (cand_kind != canon_kind) return 0;
  switch (cand_kind) {
    case BTF_KIND_INT:
      return EqualWord(cand, canon);
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
      return CompatEnum(cand, canon);
    case BTF_KIND_FWD:
    case BTF_KIND_FLOAT:
      return EqualCommon(cand, canon);
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_FUNC:
    case BTF_KIND_TYPE_TAG:
      if (cand->info != canon->info) return 0;
      return IsEquiv(cand->type, canon->type);
    case BTF_KIND_ARRAY: {
      if (!CompatArray(cand, canon)) return 0;
      const auto* a = Extra<struct btf_array>(cand);
      const auto* b = Extra<struct btf_array>(canon);
      const int eq = IsEquiv(a->index_type, b->index_type);
      if (eq <= 0) return eq;
      return IsEquiv(a->type, b->type);
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      if (!ShallowEqualStruct(cand, canon)) return 0;
      const auto* a = Extra<btf_member>(cand);
      const auto* b = Extra<btf_member>(canon);
      for (uint16_t i = 0; i < BtfVlen(cand); ++i) {
        const int eq = IsEquiv(a[i].type, b[i].type);
        if (eq <= 0) return eq;
      }
      return 1;
    }
    case BTF_KIND_FUNC_PROTO: {
      if (!CompatProto(cand, canon)) return 0;
      int eq = IsEquiv(cand->type, canon->type);
      if (eq <= 0) return eq;
      const auto* a = Extra<btf_param>(cand);
      const auto* b = Extra<btf_param>(canon);
      for (uint16_t i = 0; i < BtfVlen(cand); ++i) {
        eq = IsEquiv(a[i].type, b[i].type);
        if (eq <= 0) return eq;
      }
      return 1;
    }
    default:
      return -EINVAL;
  }
}

// btf_dedup_merge_hypot_map(): FWDs of an equivalent graph resolve to
// their structs/unions, and structs/unions not yet mapped join canonical
// ones.
void Dedup::MergeHypot() {
  for (uint32_t canon : hypot_list_) {
    const uint32_t t_id = Resolve(hypot_map_[canon]);
    const uint32_t c_id = Resolve(canon);
    const uint32_t t_kind = BtfKind(T(t_id));
    const uint32_t c_kind = BtfKind(T(c_id));
    if (t_kind != BTF_KIND_FWD && c_kind == BTF_KIND_FWD) map_[c_id] = t_id;
    if (hypot_adjust_canon_) continue;
    if (t_kind == BTF_KIND_FWD && c_kind != BTF_KIND_FWD) map_[t_id] = c_id;
    if (IsStructOrUnion(t_kind) && c_kind != BTF_KIND_FWD && Mapped(c_id) &&
        !Mapped(t_id)) {
      map_[t_id] = c_id;
    }
  }
}

// btf_dedup_struct_type().
int Dedup::StructType(uint32_t id) {
  if (Mapped(id)) return 0;
  btf_type* t = T(id);
  if (!IsStructOrUnion(BtfKind(t))) return 0;
  const uint64_t h = HashStruct(t);
  uint32_t new_id = id;
  int err = 0;
  table_.Find(h, [&](uint32_t c) {
    // A FWD colliding here must not be taken: it would loop with its
    // struct.
    if (!ShallowEqualStruct(t, T(c))) return false;
    ClearHypot();
    const int eq = IsEquiv(id, c);
    if (eq < 0) {
      err = eq;
      return true;
    }
    if (eq == 0) return false;
    MergeHypot();
    if (hypot_adjust_canon_) return false;
    new_id = c;
    return true;
  });
  if (err != 0) return err;
  map_[id] = new_id;
  if (new_id == id) table_.Append(h, id);
  return 0;
}

// btf_dedup_resolve_fwds(): a FWD still its own canonical type becomes the
// struct/union of its kind when exactly one canonical one has its name.
void Dedup::ResolveFwds() {
  absl::flat_hash_map<uint32_t, uint32_t> unique;  // name -> id, 0: several
  for (uint32_t id = 1; id < cnt_; ++id) {
    const btf_type* t = T(id);
    if (!IsStructOrUnion(BtfKind(t)) || map_[id] != id) continue;
    auto [it, added] = unique.emplace(t->name_off, id);
    if (!added) it->second = 0;
  }
  for (uint32_t id = start_; id < cnt_; ++id) {
    const btf_type* t = T(id);
    if (BtfKind(t) != BTF_KIND_FWD || map_[id] != id) continue;
    auto it = unique.find(t->name_off);
    if (it == unique.end() || it->second == 0) continue;
    if (BtfKind(T(it->second)) != FwdKind(t)) continue;
    map_[id] = it->second;
  }
}

// btf_dedup_ref_type(): the new id, or -ELOOP for a cycle of reference
// types, -EINVAL.
int Dedup::RefType(uint32_t id) {
  if (map_[id] == kInProgress) return -ELOOP;
  if (Mapped(id)) return static_cast<int>(Resolve(id));
  btf_type* t = T(id);
  map_[id] = kInProgress;
  uint32_t new_id = id;
  uint64_t h;
  auto ref = [&](__u32* field) {
    const int r = RefType(*field);
    if (r >= 0) *field = static_cast<uint32_t>(r);
    return r;
  };
  auto find = [&](bool (*equal)(const btf_type*, const btf_type*)) {
    table_.Find(h, [&](uint32_t c) {
      if (!equal(t, T(c))) return false;
      new_id = c;
      return true;
    });
  };
  switch (BtfKind(t)) {
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_FUNC:
    case BTF_KIND_TYPE_TAG:
      if (int r = ref(&t->type); r < 0) return r;
      h = HashCommon(t);
      find(EqualCommon);
      break;
    case BTF_KIND_DECL_TAG:
      if (int r = ref(&t->type); r < 0) return r;
      h = HashWord(t);
      find(EqualWord);
      break;
    case BTF_KIND_ARRAY: {
      auto* a = Extra<struct btf_array>(t);
      if (int r = ref(&a->type); r < 0) return r;
      if (int r = ref(&a->index_type); r < 0) return r;
      h = HashArray(t);
      find(EqualArray);
      break;
    }
    case BTF_KIND_FUNC_PROTO: {
      if (int r = ref(&t->type); r < 0) return r;
      auto* p = Extra<btf_param>(t);
      for (uint16_t i = 0; i < BtfVlen(t); ++i) {
        if (int r = ref(&p[i].type); r < 0) return r;
      }
      h = HashProto(t);
      find(EqualProto);
      break;
    }
    default:
      return -EINVAL;
  }
  map_[id] = new_id;
  if (new_id == id) table_.Append(h, id);
  return static_cast<int>(new_id);
}

int Dedup::Run(bool strs_deduped, std::vector<uint8_t>* ext_out,
               std::unique_ptr<BtfData>* out) {
  if (int err = Copy(); err != 0) return err;
  std::vector<uint8_t> ext;
  if (ext_out != nullptr) ext = *ext_out;
  if (!strs_deduped) {
    if (int err = Strings(ext_out != nullptr ? &ext : nullptr); err != 0) {
      return err;
    }
  }
  if (int err = Prep(); err != 0) return err;
  for (uint32_t id = start_; id < cnt_; ++id) {
    if (int err = PrimType(id); err != 0) return err;
  }
  for (uint32_t id = start_; id < cnt_; ++id) {
    if (int err = StructType(id); err != 0) return err;
  }
  ResolveFwds();
  for (uint32_t id = start_; id < cnt_; ++id) {
    if (int r = RefType(id); r < 0) return r;
  }
  // btf_dedup_compact_types(): hypot_map_ now holds the new ids.
  for (uint32_t id = 0; id < start_; ++id) hypot_map_[id] = id;
  uint32_t next = start_;
  for (uint32_t id = start_; id < cnt_; ++id) {
    hypot_map_[id] = map_[id] == id ? next++ : kUnprocessed;
  }
  // btf_dedup_remap_types().
  auto result = std::make_unique<BtfData>(in_.base());
  result->set_ptr_size(in_.ptr_size());
  result->SetStrings(strs_deduped ? in_.own_strings() : std::move(strs_));
  int err = 0;
  for (uint32_t id = start_; id < cnt_; ++id) {
    if (map_[id] != id) continue;
    btf_type* t = T(id);
    ForEachTypeId(t, [&](__u32* tid) {
      if (err == 0) err = Remap(tid);
    });
    if (err != 0) return err;
    result->AddType(t, BtfData::TypeSize(t));
  }
  if (ext_out != nullptr) {
    for (BtfExtInfo kind : {BtfExtInfo::kFunc, BtfExtInfo::kCoreRelo}) {
      const bool ok = ForEachBtfExtRecord(
          ext.data(), ext.size(), kind, [&](uint32_t, uint8_t* rec, uint32_t) {
            if (err == 0) err = Remap(BtfExtRecordTypeId(rec));
          });
      if (!ok) return -EINVAL;
      if (err != 0) return err;
    }
    *ext_out = std::move(ext);
  }
  *out = std::move(result);
  return 0;
}

}  // namespace

int DedupBtf(const BtfData& in, bool strs_deduped, bool force_collisions,
             std::vector<uint8_t>* ext, std::unique_ptr<BtfData>* out) {
  Dedup d(in, force_collisions);
  return d.Run(strs_deduped, ext, out);
}

}  // namespace bpfemu::compat
