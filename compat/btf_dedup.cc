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
// libbpf's recursive walks (reference types, graph equivalence, identical
// structs) are loops over explicit stacks here, so deep chains need no
// deep native stack (libbpf 1.1.2 overflows its stack on a chain of a
// million pointers).
//
// Differences from libbpf, for input libbpf does not survive: a type id
// past the last type (libbpf reads out of bounds) or a string offset
// outside the section (it dereferences NULL) gives -EINVAL; two structs
// holding each other by value (its identical-struct check recurses without
// end) compare as identical once the walk comes back to a pair it has
// seen. On error the BTF is left unchanged (libbpf leaves it half
// rewritten).

#include "compat/btf_dedup.h"

#include <linux/btf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
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

// The kinds btf_dedup_ref_type() settles.
bool IsRefKind(uint32_t kind) {
  switch (kind) {
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_FUNC:
    case BTF_KIND_TYPE_TAG:
    case BTF_KIND_DECL_TAG:
    case BTF_KIND_ARRAY:
    case BTF_KIND_FUNC_PROTO:
      return true;
    default:
      return false;
  }
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
  // The first candidate with hash `h` equal to type `id`, or `id`.
  uint32_t FirstEqual(uint64_t h, uint32_t id,
                      bool (*equal)(const btf_type*, const btf_type*)) {
    const btf_type* t = T(id);
    uint32_t found = id;
    table_.Find(h, [&](uint32_t c) {
      if (!equal(t, T(c))) return false;
      found = c;
      return true;
    });
    return found;
  }
  int StructType(uint32_t id);
  int IsEquiv(uint32_t cand_id, uint32_t canon_id);
  int EquivStep(uint32_t cand_id, uint32_t canon_id);
  bool IdenticalArrays(uint32_t a, uint32_t b);
  bool IdenticalStructs(uint32_t a, uint32_t b);
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
  int RefType(uint32_t root);
  uint32_t RefCanonical(uint32_t id);
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
  std::vector<std::pair<uint32_t, uint32_t>> pairs_;  // IsEquiv's to do
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
  const uint32_t kind = BtfKind(t);
  if (IsRefKind(kind) || IsStructOrUnion(kind) || kind == BTF_KIND_VAR ||
      kind == BTF_KIND_DATASEC) {
    return 0;  // the later passes' work
  }
  switch (kind) {
    case BTF_KIND_INT:
      h = HashWord(t);
      new_id = FirstEqual(h, id, EqualWord);
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
      new_id = FirstEqual(h, id, EqualCommon);
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
// compared alike). Walked with a list rather than recursion; a pair seen
// before is not walked again, which changes nothing for valid BTF and ends
// the walk for structs holding each other by value.
bool Dedup::IdenticalStructs(uint32_t a, uint32_t b) {
  std::vector<std::pair<uint32_t, uint32_t>> todo = {{a, b}};
  absl::flat_hash_set<uint64_t> seen;
  while (!todo.empty()) {
    const auto [x, y] = todo.back();
    todo.pop_back();
    if (!seen.insert(uint64_t{x} << 32 | y).second) continue;
    const btf_type* tx = T(x);
    const btf_type* ty = T(y);
    if (!IsStructOrUnion(BtfKind(tx)) || BtfKind(tx) != BtfKind(ty) ||
        !ShallowEqualStruct(tx, ty)) {
      return false;
    }
    const auto* mx = Extra<btf_member>(tx);
    const auto* my = Extra<btf_member>(ty);
    for (uint16_t i = 0; i < BtfVlen(tx); ++i) {
      if (mx[i].type != my[i].type &&
          !IdenticalArrays(mx[i].type, my[i].type)) {
        todo.emplace_back(mx[i].type, my[i].type);
      }
    }
  }
  return true;
}

// btf_dedup_is_equiv(): 1 when the graph from cand_id maps onto the graph
// from canon_id (recording the mapping), 0 when not, -errno. libbpf
// recurses depth first and any pair answering 0 or -errno is the answer;
// here the pairs wait on a stack in the same order.
int Dedup::IsEquiv(uint32_t cand_id, uint32_t canon_id) {
  pairs_.assign(1, {cand_id, canon_id});
  while (!pairs_.empty()) {
    const auto [cand, canon] = pairs_.back();
    pairs_.pop_back();
    if (int eq = EquivStep(cand, canon); eq <= 0) return eq;
  }
  return 1;
}

// One pair: 0 or -errno, or 1 with the pairs it depends on pushed (first
// one on top).
int Dedup::EquivStep(uint32_t cand_id, uint32_t canon_id) {
  if (Resolve(cand_id) == Resolve(canon_id)) return 1;
  canon_id = ResolveFwd(canon_id);
  const uint32_t hypot = hypot_map_[canon_id];
  if (hypot <= kMaxTypes) {
    return hypot == cand_id || IdenticalArrays(hypot, cand_id) ||
           IdenticalStructs(hypot, cand_id);
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
      pairs_.emplace_back(cand->type, canon->type);
      return 1;
    case BTF_KIND_ARRAY: {
      if (!CompatArray(cand, canon)) return 0;
      const auto* a = Extra<struct btf_array>(cand);
      const auto* b = Extra<struct btf_array>(canon);
      pairs_.emplace_back(a->type, b->type);
      pairs_.emplace_back(a->index_type, b->index_type);
      return 1;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      if (!ShallowEqualStruct(cand, canon)) return 0;
      const auto* a = Extra<btf_member>(cand);
      const auto* b = Extra<btf_member>(canon);
      for (int i = BtfVlen(cand) - 1; i >= 0; --i) {
        pairs_.emplace_back(a[i].type, b[i].type);
      }
      return 1;
    }
    case BTF_KIND_FUNC_PROTO: {
      if (!CompatProto(cand, canon)) return 0;
      const auto* a = Extra<btf_param>(cand);
      const auto* b = Extra<btf_param>(canon);
      for (int i = BtfVlen(cand) - 1; i >= 0; --i) {
        pairs_.emplace_back(a[i].type, b[i].type);
      }
      pairs_.emplace_back(cand->type, canon->type);
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

// The type id fields of a reference type, in the order libbpf settles
// them: the k-th, or nullptr past the last.
__u32* RefField(btf_type* t, uint32_t k) {
  switch (BtfKind(t)) {
    case BTF_KIND_ARRAY: {
      auto* a = Extra<struct btf_array>(t);
      return k == 0 ? &a->type : k == 1 ? &a->index_type : nullptr;
    }
    case BTF_KIND_FUNC_PROTO:
      if (k == 0) return &t->type;
      return k <= BtfVlen(t) ? &Extra<btf_param>(t)[k - 1].type : nullptr;
    default:
      return k == 0 ? &t->type : nullptr;
  }
}

// The end of btf_dedup_ref_type() for a type whose fields are canonical:
// an equal candidate, or the type itself as a new one.
uint32_t Dedup::RefCanonical(uint32_t id) {
  const btf_type* t = T(id);
  uint64_t h;
  bool (*equal)(const btf_type*, const btf_type*);
  switch (BtfKind(t)) {
    case BTF_KIND_DECL_TAG:
      h = HashWord(t);
      equal = EqualWord;
      break;
    case BTF_KIND_ARRAY:
      h = HashArray(t);
      equal = EqualArray;
      break;
    case BTF_KIND_FUNC_PROTO:
      h = HashProto(t);
      equal = EqualProto;
      break;
    default:
      h = HashCommon(t);
      equal = EqualCommon;
  }
  const uint32_t new_id = FirstEqual(h, id, equal);
  map_[id] = new_id;
  if (new_id == id) table_.Append(h, id);
  return new_id;
}

// btf_dedup_ref_type(): the new id, or -ELOOP for a cycle of reference
// types, -EINVAL. libbpf recurses into each field; here the types being
// settled wait on a stack (a chain of 100,000 pointers needs no deep
// native stack).
int Dedup::RefType(uint32_t root) {
  struct Frame {
    uint32_t id;
    uint32_t next;  // the field to settle next
  };
  std::vector<Frame> stack;
  constexpr int64_t kPushed = int64_t{1} << 40;
  // The settled id of `id`, or kPushed when it has to be settled first.
  auto enter = [&](uint32_t id) -> int64_t {
    if (map_[id] == kInProgress) return -ELOOP;
    if (Mapped(id)) return Resolve(id);
    if (!IsRefKind(BtfKind(T(id)))) return -EINVAL;
    map_[id] = kInProgress;
    stack.push_back({id, 0});
    return kPushed;
  };
  int64_t r = enter(root);
  while (r == kPushed || (r >= 0 && !stack.empty())) {
    const Frame top = stack.back();
    if (__u32* field = RefField(T(top.id), top.next)) {
      r = enter(*field);
      if (r >= 0 && r != kPushed) {
        *field = static_cast<uint32_t>(r);
        ++stack.back().next;
      }
      continue;
    }
    r = RefCanonical(top.id);
    stack.pop_back();
    if (!stack.empty()) {
      *RefField(T(stack.back().id), stack.back().next) =
          static_cast<uint32_t>(r);
      ++stack.back().next;
    }
  }
  return static_cast<int>(r);
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
