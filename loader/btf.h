// SPDX-License-Identifier: Apache-2.0
// File: btf.h
//
// The userspace BTF model: a BTF blob's types and strings, read from raw
// .BTF data (include/uapi/linux/btf.h) or an ELF object's .BTF section, and
// grown type by type. Mirrors tools/lib/bpf/btf.c (libbpf 1.1): ids count
// from 1 (0 is void); split BTF continues its base's ids and string offsets;
// the raw form writes the header, the (own) types and the (own) strings.
// The kernel-side verifier is emu/btf.h; this model checks only what
// libbpf's btf_parse checks (header, section bounds, string termination,
// known kinds, name offsets), answering -EINVAL, or -EPROTO for data that
// is not BTF at all (wrong magic).
//
// Used by the ELF reader (elf_object.cc, for .maps definitions) and by
// libbpfemu's btf__* API (compat/btf_compat.cc).

#ifndef BPFEMU_LOADER_BTF_H_
#define BPFEMU_LOADER_BTF_H_

#include <linux/btf.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"

namespace bpfemu::native {

class BtfData {
 public:
  // An empty BTF (only void), or an empty split BTF over `base`.
  explicit BtfData(const BtfData* base = nullptr);

  // Parses raw BTF (header first). 0, or -EPROTO (not BTF: bad magic) /
  // -EINVAL (malformed).
  static int Parse(absl::Span<const uint8_t> raw, const BtfData* base,
                   std::unique_ptr<BtfData>* out);
  // The .BTF (or other named) section of a 64-bit little-endian ELF file:
  // true and the section's bytes, or false.
  static bool ElfSection(absl::Span<const uint8_t> elf, std::string_view name,
                         absl::Span<const uint8_t>* out);

  const BtfData* base() const { return base_; }
  // btf__type_cnt(): void, the base's types and ours.
  uint32_t TypeCnt() const {
    return start_id_ + static_cast<uint32_t>(offs_.size());
  }
  uint32_t start_id() const { return start_id_; }
  // The type with `id` (id 0: a zeroed void type), or nullptr. Pointers
  // stay valid until the next type is added.
  const btf_type* Type(uint32_t id) const;
  btf_type* MutableType(uint32_t id);
  // The string at `off` (the base's below its string size), or nullptr.
  const char* Str(uint32_t off) const;
  // Total string bytes including the base's (split offsets start here).
  uint32_t StrEnd() const {
    return start_str_off_ + static_cast<uint32_t>(strs_.size());
  }

  // btf__find_str / btf__add_str: the offset of `s` (in the base or ours),
  // or -ENOENT; AddStr appends it when absent.
  int FindStr(std::string_view s) const;
  int AddStr(std::string_view s);
  // Our string section, and replacing it (a non-split BTF's, starting
  // with "\0"), as btf__dedup keeps every string.
  const std::string& own_strings() const { return strs_; }
  void SetStrings(std::string strs) {
    strs_ = std::move(strs);
    str_index_.clear();
    indexed_ = false;
  }
  // Appends one type's bytes (struct btf_type and its trailing data) as
  // they are: the new id.
  uint32_t AddType(const void* bytes, size_t size);
  // Appends `size` bytes to the last type (a member, a value, a param).
  void AppendToLast(const void* bytes, size_t size);

  // The raw blob of our part (header, types, strings).
  std::vector<uint8_t> Raw() const;

  // Queries, with libbpf's answers: size (-EINVAL, -E2BIG), the id behind
  // modifiers, typedefs and vars (-EINVAL), the alignment (0 with
  // *err = -EINVAL for a kind without one), name lookups (-ENOENT).
  int64_t ResolveSize(uint32_t id) const;
  int ResolveType(uint32_t id) const;
  int AlignOf(uint32_t id, int* err) const;
  int FindByName(std::string_view name) const;
  int FindByNameKind(std::string_view name, uint32_t kind) const;
  const char* Name(const btf_type* t) const { return Str(t->name_off); }

  size_t ptr_size() const { return ptr_size_; }
  void set_ptr_size(size_t s) { ptr_size_ = s; }

  // The size of a type's record, or 0 for an unknown kind.
  static size_t TypeSize(const btf_type* t);

 private:
  void IndexStrings();

  const BtfData* base_;
  uint32_t start_id_;
  uint32_t start_str_off_;
  std::vector<uint8_t> types_;  // our types' records
  std::vector<uint32_t> offs_;  // each type's offset in types_
  std::string strs_;            // our strings (starting "\0" unless split)
  absl::flat_hash_map<std::string, uint32_t> str_index_;
  bool indexed_ = false;
  size_t ptr_size_ = sizeof(void*);
};

// btf__resolve_size() over any BTF whose types `type(id)` gives (nullptr
// for a bad id), pointers `ptr_size` bytes: BtfData's and CO-RE's
// (loader/core_relo.cc, for the kernel's BTF) answers.
int64_t ResolveBtfSize(const std::function<const btf_type*(uint32_t)>& type,
                       uint32_t id, size_t ptr_size);

inline uint32_t BtfKind(const btf_type* t) { return (t->info >> 24) & 0x1f; }
inline uint16_t BtfVlen(const btf_type* t) { return t->info & 0xffff; }
inline bool BtfKflag(const btf_type* t) { return t->info >> 31; }

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_BTF_H_
