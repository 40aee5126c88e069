// SPDX-License-Identifier: Apache-2.0
// BPF_BTF_LOAD and the BTF object commands (btf.h). The verifier below
// follows kernel/bpf/btf.c btf_parse() step by step, in its order, so that
// the first failing check, and with it the errno, is the kernel's.

#include "emu/btf.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "emu/bpffs.h"
#include "emu/errno.h"
#include "emu/local_mutex.h"
#include "emu/object_table.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

constexpr uint32_t kInfoMask = 0x9f1fffff;    // BTF_INFO_MASK
constexpr uint32_t kIntMask = 0x0fffffff;     // BTF_INT_MASK
constexpr uint32_t kKindMax = 19;             // BTF_KIND_ENUM64
constexpr int kMaxResolveDepth = 32;          // MAX_RESOLVE_DEPTH
constexpr size_t kKsymNameLen = 512;          // KSYM_NAME_LEN
constexpr uint32_t kLogMask = 1 | 2 | 4 | 8;  // BPF_LOG_MASK
constexpr uint32_t kLogFixed = 8;             // BPF_LOG_FIXED
constexpr int kEnotsupp = 524;                // ENOTSUPP

uint32_t Kind(const btf_type* t) { return (t->info >> 24) & 0x1f; }
uint16_t Vlen(const btf_type* t) { return t->info & 0xffff; }
bool Kflag(const btf_type* t) { return t->info >> 31; }
uint32_t IntData(const btf_type* t) {
  uint32_t v;
  std::memcpy(&v, t + 1, sizeof(v));
  return v;
}
uint32_t IntBits(uint32_t d) { return d & 0xff; }
uint32_t IntOffset(uint32_t d) { return (d >> 16) & 0xff; }
uint32_t IntEncoding(uint32_t d) { return (d >> 24) & 0x0f; }
uint32_t RoundupBytes(uint32_t bits) { return (bits + 7) / 8; }

// include/linux/ctype.h: the kernel's table classes Latin-1 too.
bool KAlpha(unsigned char c) {
  if (c < 0x80) return std::isalpha(c);
  return c >= 192 && c != 215 && c != 247;
}
bool KAlnum(unsigned char c) { return KAlpha(c) || (c >= '0' && c <= '9'); }
bool KPrint(unsigned char c) {
  if (c < 0x80) return std::isprint(c);
  return c >= 160;
}

// The verifier's log (kernel/bpf/log.c, reduced: see btf.h).
class Log {
 public:
  // `rotate`: 6.4+ without BPF_LOG_FIXED keeps the log's tail.
  Log(uint32_t level, char* buf, uint32_t size, bool rotate = false)
      : level_(level), buf_(buf), size_(size), rotate_(rotate) {}
  void Printf(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    if (level_ == 0) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0) text_.append(line, std::min<size_t>(n, sizeof(line) - 1));
  }
  // bpf_vlog_finalize(): the buffer gets the log's head (fixed mode) or
  // tail (rotating mode) and a NUL; -ENOSPC when it did not fit.
  int Finalize(uint32_t* true_size) {
    *true_size = 0;
    if (level_ == 0) return 0;
    *true_size = static_cast<uint32_t>(text_.size() + 1);
    if (buf_ == nullptr) return 0;
    const size_t n = std::min<size_t>(text_.size(), size_ - 1);
    std::memcpy(buf_, text_.data() + (rotate_ ? text_.size() - n : 0), n);
    buf_[n] = '\0';
    return text_.size() + 1 > size_ ? -ENOSPC : 0;
  }

 private:
  uint32_t level_;
  char* buf_;
  uint32_t size_;
  bool rotate_;
  std::string text_;
};

const btf_type kVoid = {};

enum VisitState : uint8_t { kNotVisited, kVisited, kResolved };
enum ResolveMode { kTbd, kPtr, kStructOrArray };

struct Vertex {
  const btf_type* t;
  uint32_t id;
  uint16_t next_member;
};

// One btf_verifier_env with its struct btf.
class Verifier {
 public:
  Verifier(const uint8_t* data, uint32_t size, Log* log)
      : data_(data), size_(size), log_(log) {}

  int Parse() {
    if (int err = ParseHdr(); err != 0) return err;
    nohdr_ = data_ + hdr_.hdr_len;
    if (int err = ParseStrSec(); err != 0) return err;
    if (int err = ParseTypeSec(); err != 0) return err;
    return CheckTypeTags();
  }

 private:
  // --- types -------------------------------------------------------------
  const btf_type* ById(uint32_t id) const {
    if (id >= types_.size()) return nullptr;
    return types_[id];
  }
  static bool IsVoid(const btf_type* t) { return t == &kVoid; }
  static bool IsModifier(const btf_type* t) {
    switch (Kind(t)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        return !IsVoid(t);
    }
    return false;
  }
  static bool Is(const btf_type* t, uint32_t kind) {
    return !IsVoid(t) && Kind(t) == kind;
  }
  static bool IsStruct(const btf_type* t) {
    return Is(t, BTF_KIND_STRUCT) || Is(t, BTF_KIND_UNION);
  }
  static bool NoSize(const btf_type* t) {
    return IsVoid(t) || Is(t, BTF_KIND_FWD) || Is(t, BTF_KIND_FUNC) ||
           Is(t, BTF_KIND_FUNC_PROTO);
  }
  static bool NoSizeOrNull(const btf_type* t) {
    return t == nullptr || NoSize(t);
  }
  static bool SourceOnly(const btf_type* t) {
    return Is(t, BTF_KIND_VAR) || Is(t, BTF_KIND_DECL_TAG) ||
           Is(t, BTF_KIND_DATASEC);
  }
  static bool NeedsResolve(const btf_type* t) {
    return IsModifier(t) || Is(t, BTF_KIND_PTR) || IsStruct(t) ||
           Is(t, BTF_KIND_ARRAY) || Is(t, BTF_KIND_VAR) ||
           Is(t, BTF_KIND_FUNC) || Is(t, BTF_KIND_DECL_TAG) ||
           Is(t, BTF_KIND_DATASEC);
  }
  static bool HasSize(const btf_type* t) {
    if (IsVoid(t)) return false;
    switch (Kind(t)) {
      case BTF_KIND_INT:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_DATASEC:
      case BTF_KIND_FLOAT:
      case BTF_KIND_ENUM64:
        return true;
    }
    return false;
  }
  static bool IntRegular(const btf_type* t) {
    const uint32_t d = IntData(t);
    const uint32_t bits = IntBits(d), bytes = RoundupBytes(bits);
    return (bits & 7) == 0 && IntOffset(d) == 0 &&
           (bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8 ||
            bytes == 16);
  }

  // --- strings -----------------------------------------------------------
  bool NameOffsetValid(uint32_t off) const {
    return off <= BTF_MAX_NAME_OFFSET && off < hdr_.str_len;
  }
  const char* Str(uint32_t off) const {
    return off < hdr_.str_len ? strings_ + off : nullptr;
  }
  bool ValidIdentifier(uint32_t off) const {
    const char* s = Str(off);
    if (!KAlpha(*s) && *s != '_' && *s != '.') return false;
    const char* limit = s + kKsymNameLen;
    ++s;
    while (*s && s < limit) {
      if (!KAlnum(*s) && *s != '_' && *s != '.') return false;
      ++s;
    }
    return !*s;
  }
  bool ValidSection(uint32_t off) const {
    const char* s = Str(off);
    if (!*s) return false;
    const char* limit = s + kKsymNameLen;
    while (*s && s < limit) {
      if (!KPrint(*s)) return false;
      ++s;
    }
    return !*s;
  }

  int Fail(int err, const char* msg) {
    log_->Printf("[%u] %s\n", log_type_id_, msg);
    return err;
  }

  // --- header and sections -----------------------------------------------
  int ParseHdr() {
    if (size_ < offsetof(btf_header, hdr_len) + sizeof(uint32_t)) {
      log_->Printf("hdr_len not found\n");
      return -EINVAL;
    }
    uint32_t hdr_len;
    std::memcpy(&hdr_len, data_ + offsetof(btf_header, hdr_len),
                sizeof(hdr_len));
    if (size_ < hdr_len) {
      log_->Printf("btf_header not found\n");
      return -EINVAL;
    }
    for (uint32_t i = sizeof(btf_header); i < hdr_len; ++i) {
      if (data_[i] != 0) {
        log_->Printf("Unsupported btf_header\n");
        return -E2BIG;
      }
    }
    hdr_ = {};
    std::memcpy(&hdr_, data_, std::min<uint32_t>(hdr_len, sizeof(hdr_)));
    log_->Printf(
        "magic: 0x%x\nversion: %u\nflags: 0x%x\nhdr_len: %u\ntype_off: "
        "%u\ntype_len: %u\nstr_off: %u\nstr_len: %u\nbtf_total_size: %u\n",
        hdr_.magic, hdr_.version, hdr_.flags, hdr_.hdr_len, hdr_.type_off,
        hdr_.type_len, hdr_.str_off, hdr_.str_len, size_);
    if (hdr_.magic != BTF_MAGIC) {
      log_->Printf("Invalid magic\n");
      return -EINVAL;
    }
    if (hdr_.version != BTF_VERSION) {
      log_->Printf("Unsupported version\n");
      return -kEnotsupp;
    }
    if (hdr_.flags != 0) {
      log_->Printf("Unsupported flags\n");
      return -kEnotsupp;
    }
    if (size_ == hdr_.hdr_len) {
      log_->Printf("No data\n");
      return -EINVAL;
    }
    return CheckSecInfo();
  }

  // btf_check_sec_info(): the type and string sections, sorted by offset,
  // tile the data after the header exactly.
  int CheckSecInfo() {
    struct Sec {
      uint32_t off, len;
    } secs[2] = {{hdr_.type_off, hdr_.type_len}, {hdr_.str_off, hdr_.str_len}};
    // btf_sec_info_cmp() compares the differences as ints.
    auto less = [](const Sec& a, const Sec& b) {
      int d = static_cast<int>(a.off - b.off);
      if (d == 0) d = static_cast<int>(a.len - b.len);
      return d < 0;
    };
    if (less(secs[1], secs[0])) std::swap(secs[0], secs[1]);
    uint32_t total = 0;
    const uint32_t expected = size_ - hdr_.hdr_len;
    for (const Sec& s : secs) {
      if (expected < s.off) {
        log_->Printf("Invalid section offset\n");
        return -EINVAL;
      }
      if (total < s.off) {
        log_->Printf("Unsupported section found\n");
        return -EINVAL;
      }
      if (total > s.off) {
        log_->Printf("Section overlap found\n");
        return -EINVAL;
      }
      if (expected - total < s.len) {
        log_->Printf("Total section length too long\n");
        return -EINVAL;
      }
      total += s.len;
    }
    if (expected != total) {
      log_->Printf("Unsupported section found\n");
      return -EINVAL;
    }
    return 0;
  }

  int ParseStrSec() {
    const char* start = reinterpret_cast<const char*>(nohdr_) + hdr_.str_off;
    const char* end = start + hdr_.str_len;
    if (end != reinterpret_cast<const char*>(data_) + size_) {
      log_->Printf("String section is not at the end\n");
      return -EINVAL;
    }
    strings_ = start;
    if (hdr_.str_len == 0 || hdr_.str_len - 1 > BTF_MAX_NAME_OFFSET ||
        end[-1] != 0 || start[0] != 0) {
      log_->Printf("Invalid string section\n");
      return -EINVAL;
    }
    return 0;
  }

  int ParseTypeSec() {
    if (hdr_.type_off & 3) {
      log_->Printf("Unaligned type_off\n");
      return -EINVAL;
    }
    if (hdr_.type_len == 0) {
      log_->Printf("No type found\n");
      return -EINVAL;
    }
    if (int err = CheckAllMetas(); err != 0) return err;
    return CheckAllTypes();
  }

  // --- check_meta ----------------------------------------------------------
  int CheckAllMetas() {
    const uint8_t* cur = nohdr_ + hdr_.type_off;
    const uint8_t* end = cur + hdr_.type_len;
    types_.assign(1, &kVoid);
    log_type_id_ = 1;
    while (cur < end) {
      const auto* t = reinterpret_cast<const btf_type*>(cur);
      const int64_t n = CheckMeta(t, static_cast<uint32_t>(end - cur));
      if (n < 0) return static_cast<int>(n);
      // btf_add_type(): ids beyond BTF_MAX_TYPE do not fit.
      if (types_.size() > BTF_MAX_TYPE) return Fail(-E2BIG, "Exceeded max");
      types_.push_back(t);
      cur += n;
      ++log_type_id_;
    }
    return 0;
  }

  int64_t CheckMeta(const btf_type* t, uint32_t meta_left) {
    if (meta_left < sizeof(btf_type)) return Fail(-EINVAL, "meta_left");
    meta_left -= sizeof(btf_type);
    if (t->info & ~kInfoMask) return Fail(-EINVAL, "Invalid btf_info");
    if (Kind(t) > kKindMax || Kind(t) == BTF_KIND_UNKN) {
      return Fail(-EINVAL, "Invalid kind");
    }
    if (!NameOffsetValid(t->name_off)) {
      return Fail(-EINVAL, "Invalid name_offset");
    }
    const int64_t var = KindMeta(t, meta_left);
    if (var < 0) return var;
    return sizeof(btf_type) + var;
  }

  int64_t KindMeta(const btf_type* t, uint32_t left) {
    switch (Kind(t)) {
      case BTF_KIND_INT:
        return IntMeta(t, left);
      case BTF_KIND_PTR:
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        return RefMeta(t);
      case BTF_KIND_ARRAY:
        return ArrayMeta(t, left);
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        return StructMeta(t, left);
      case BTF_KIND_ENUM:
        return EnumMeta(t, left, sizeof(btf_enum));
      case BTF_KIND_ENUM64:
        return EnumMeta(t, left, sizeof(btf_enum64));
      case BTF_KIND_FWD:
        if (Vlen(t)) return Fail(-EINVAL, "vlen != 0");
        if (t->type) return Fail(-EINVAL, "type != 0");
        if (!t->name_off || !ValidIdentifier(t->name_off)) {
          return Fail(-EINVAL, "Invalid name");
        }
        return 0;
      case BTF_KIND_FUNC:
        if (!t->name_off || !ValidIdentifier(t->name_off)) {
          return Fail(-EINVAL, "Invalid name");
        }
        if (Vlen(t) > BTF_FUNC_GLOBAL) {
          return Fail(-EINVAL, "Invalid func linkage");
        }
        if (Kflag(t)) return Fail(-EINVAL, "Invalid btf_info kind_flag");
        return 0;
      case BTF_KIND_FUNC_PROTO: {
        const uint32_t need = Vlen(t) * sizeof(btf_param);
        if (left < need) return Fail(-EINVAL, "meta_left");
        if (t->name_off) return Fail(-EINVAL, "Invalid name");
        if (Kflag(t)) return Fail(-EINVAL, "Invalid btf_info kind_flag");
        return need;
      }
      case BTF_KIND_VAR:
        return VarMeta(t, left);
      case BTF_KIND_DATASEC:
        return DatasecMeta(t, left);
      case BTF_KIND_FLOAT:
        if (Vlen(t)) return Fail(-EINVAL, "vlen != 0");
        if (Kflag(t)) return Fail(-EINVAL, "Invalid btf_info kind_flag");
        if (t->size != 2 && t->size != 4 && t->size != 8 && t->size != 12 &&
            t->size != 16) {
          return Fail(-EINVAL, "Invalid type_size");
        }
        return 0;
      case BTF_KIND_DECL_TAG: {
        if (left < sizeof(btf_decl_tag)) return Fail(-EINVAL, "meta_left");
        const char* v = Str(t->name_off);
        if (v == nullptr || !v[0]) return Fail(-EINVAL, "Invalid value");
        if (Vlen(t)) return Fail(-EINVAL, "vlen != 0");
        if (Kflag(t)) return Fail(-EINVAL, "Invalid btf_info kind_flag");
        int32_t idx;
        std::memcpy(&idx, t + 1, sizeof(idx));
        if (idx < -1) return Fail(-EINVAL, "Invalid component_idx");
        return sizeof(btf_decl_tag);
      }
    }
    return Fail(-EINVAL, "Invalid kind");
  }

  int64_t IntMeta(const btf_type* t, uint32_t left) {
    if (left < sizeof(uint32_t)) return Fail(-EINVAL, "meta_left");
    if (Vlen(t)) return Fail(-EINVAL, "vlen != 0");
    if (Kflag(t)) return Fail(-EINVAL, "Invalid btf_info kind_flag");
    const uint32_t d = IntData(t);
    if (d & ~kIntMask) return Fail(-EINVAL, "Invalid int_data");
    const uint32_t bits = IntBits(d) + IntOffset(d);
    if (bits > 128) return Fail(-EINVAL, "nr_bits exceeds 128");
    if (RoundupBytes(bits) > t->size) {
      return Fail(-EINVAL, "nr_bits exceeds type_size");
    }
    const uint32_t enc = IntEncoding(d);
    if (enc && enc != BTF_INT_SIGNED && enc != BTF_INT_CHAR &&
        enc != BTF_INT_BOOL) {
      return Fail(-kEnotsupp, "Unsupported encoding");
    }
    return sizeof(uint32_t);
  }

  int64_t RefMeta(const btf_type* t) {
    if (Vlen(t)) return Fail(-EINVAL, "vlen != 0");
    if (Kflag(t)) return Fail(-EINVAL, "Invalid btf_info kind_flag");
    if (t->type > BTF_MAX_TYPE) return Fail(-EINVAL, "Invalid type_id");
    if (Kind(t) == BTF_KIND_TYPEDEF) {
      if (!t->name_off || !ValidIdentifier(t->name_off)) {
        return Fail(-EINVAL, "Invalid name");
      }
    } else if (Kind(t) == BTF_KIND_TYPE_TAG) {
      const char* v = Str(t->name_off);
      if (v == nullptr || !v[0]) return Fail(-EINVAL, "Invalid name");
    } else if (t->name_off) {
      return Fail(-EINVAL, "Invalid name");
    }
    return 0;
  }

  int64_t ArrayMeta(const btf_type* t, uint32_t left) {
    if (left < sizeof(btf_array)) return Fail(-EINVAL, "meta_left");
    if (t->name_off) return Fail(-EINVAL, "Invalid name");
    if (Vlen(t)) return Fail(-EINVAL, "vlen != 0");
    if (Kflag(t)) return Fail(-EINVAL, "Invalid btf_info kind_flag");
    if (t->size) return Fail(-EINVAL, "size != 0");
    btf_array a;
    std::memcpy(&a, t + 1, sizeof(a));
    if (!a.type || a.type > BTF_MAX_TYPE) return Fail(-EINVAL, "Invalid elem");
    if (!a.index_type || a.index_type > BTF_MAX_TYPE) {
      return Fail(-EINVAL, "Invalid index");
    }
    return sizeof(btf_array);
  }

  static uint32_t MemberBitOffset(const btf_type* t, const btf_member& m) {
    return Kflag(t) ? BTF_MEMBER_BIT_OFFSET(m.offset) : m.offset;
  }

  int64_t StructMeta(const btf_type* t, uint32_t left) {
    const bool is_union = Kind(t) == BTF_KIND_UNION;
    const uint32_t need = Vlen(t) * sizeof(btf_member);
    if (left < need) return Fail(-EINVAL, "meta_left");
    if (t->name_off && !ValidIdentifier(t->name_off)) {
      return Fail(-EINVAL, "Invalid name");
    }
    uint32_t last = 0;
    const auto* members = reinterpret_cast<const btf_member*>(t + 1);
    for (uint16_t i = 0; i < Vlen(t); ++i) {
      btf_member m;
      std::memcpy(&m, members + i, sizeof(m));
      if (!NameOffsetValid(m.name_off)) {
        return Fail(-EINVAL, "Invalid member name_offset");
      }
      if (m.name_off && !ValidIdentifier(m.name_off)) {
        return Fail(-EINVAL, "Invalid name");
      }
      if (!m.type || m.type > BTF_MAX_TYPE) {
        return Fail(-EINVAL, "Invalid type_id");
      }
      const uint32_t off = MemberBitOffset(t, m);
      if (is_union && off) return Fail(-EINVAL, "Invalid member bits_offset");
      if (last > off) return Fail(-EINVAL, "Invalid member bits_offset");
      if (RoundupBytes(off) > t->size) {
        return Fail(-EINVAL, "Member bits_offset exceeds its struct size");
      }
      last = off;
    }
    return need;
  }

  int64_t EnumMeta(const btf_type* t, uint32_t left, uint32_t elem) {
    const uint32_t need = Vlen(t) * elem;
    if (left < need) return Fail(-EINVAL, "meta_left");
    if (t->size > 8 || t->size == 0 || (t->size & (t->size - 1))) {
      return Fail(-EINVAL, "Unexpected size");
    }
    if (t->name_off && !ValidIdentifier(t->name_off)) {
      return Fail(-EINVAL, "Invalid name");
    }
    const auto* p = reinterpret_cast<const uint8_t*>(t + 1);
    for (uint16_t i = 0; i < Vlen(t); ++i) {
      uint32_t name_off;
      std::memcpy(&name_off, p + i * elem, sizeof(name_off));
      if (!NameOffsetValid(name_off)) {
        return Fail(-EINVAL, "Invalid name_offset");
      }
      if (!name_off || !ValidIdentifier(name_off)) {
        return Fail(-EINVAL, "Invalid name");
      }
    }
    return need;
  }

  int64_t VarMeta(const btf_type* t, uint32_t left) {
    if (left < sizeof(btf_var)) return Fail(-EINVAL, "meta_left");
    if (Vlen(t)) return Fail(-EINVAL, "vlen != 0");
    if (Kflag(t)) return Fail(-EINVAL, "Invalid btf_info kind_flag");
    if (!t->name_off || !ValidIdentifier(t->name_off)) {
      return Fail(-EINVAL, "Invalid name");
    }
    if (!t->type || t->type > BTF_MAX_TYPE) {
      return Fail(-EINVAL, "Invalid type_id");
    }
    btf_var v;
    std::memcpy(&v, t + 1, sizeof(v));
    if (v.linkage != BTF_VAR_STATIC && v.linkage != BTF_VAR_GLOBAL_ALLOCATED) {
      return Fail(-EINVAL, "Linkage not supported");
    }
    return sizeof(btf_var);
  }

  int64_t DatasecMeta(const btf_type* t, uint32_t left) {
    const uint32_t need = Vlen(t) * sizeof(btf_var_secinfo);
    if (left < need) return Fail(-EINVAL, "meta_left");
    if (!t->size) return Fail(-EINVAL, "size == 0");
    if (Kflag(t)) return Fail(-EINVAL, "Invalid btf_info kind_flag");
    if (!t->name_off || !ValidSection(t->name_off)) {
      return Fail(-EINVAL, "Invalid name");
    }
    uint64_t last_end = 0, sum = 0;
    const auto* vsis = reinterpret_cast<const btf_var_secinfo*>(t + 1);
    for (uint16_t i = 0; i < Vlen(t); ++i) {
      btf_var_secinfo v;
      std::memcpy(&v, vsis + i, sizeof(v));
      if (!v.type || v.type > BTF_MAX_TYPE) {
        return Fail(-EINVAL, "Invalid type_id");
      }
      if (v.offset < last_end || v.offset >= t->size) {
        return Fail(-EINVAL, "Invalid offset");
      }
      if (!v.size || v.size > t->size) return Fail(-EINVAL, "Invalid size");
      // The kernel adds in u32 before storing the u64.
      last_end = static_cast<uint32_t>(v.offset + v.size);
      if (last_end > t->size) return Fail(-EINVAL, "Invalid offset+size");
      sum += v.size;
    }
    if (t->size < sum) return Fail(-EINVAL, "Invalid btf_info size");
    return need;
  }

  // --- resolve -------------------------------------------------------------
  bool Resolved(uint32_t id) const { return visit_[id] == kResolved; }

  bool IsSink(const btf_type* next) const {
    switch (mode_) {
      case kTbd:
        return !NeedsResolve(next);
      case kPtr:
        return !IsModifier(next) && !Is(next, BTF_KIND_PTR);
      case kStructOrArray:
        return !IsModifier(next) && !Is(next, BTF_KIND_ARRAY) &&
               !IsStruct(next);
    }
    return false;
  }

  int Push(const btf_type* t, uint32_t id) {
    if (top_ == kMaxResolveDepth) return -E2BIG;
    if (visit_[id] != kNotVisited) return -EEXIST;
    visit_[id] = kVisited;
    stack_[top_++] = Vertex{t, id, 0};
    if (mode_ == kTbd) {
      if (Is(t, BTF_KIND_PTR)) {
        mode_ = kPtr;
      } else if (IsStruct(t) || Is(t, BTF_KIND_ARRAY)) {
        mode_ = kStructOrArray;
      }
    }
    return 0;
  }
  void PopResolved(uint32_t rid, uint32_t rsize) {
    const uint32_t id = stack_[--top_].id;
    resolved_size_[id] = rsize;
    resolved_id_[id] = rid;
    visit_[id] = kResolved;
  }

  const btf_type* IdResolve(uint32_t* id) const {
    *id = resolved_id_[*id];
    return ById(*id);
  }

  // btf_type_id_size().
  // The size of a type that has one of its own: a sized kind, an array
  // (its resolved size) or a pointer; false for any other kind.
  bool OwnSize(const btf_type* t, uint32_t id, uint32_t* size) const {
    if (HasSize(t)) {
      *size = t->size;
    } else if (Is(t, BTF_KIND_ARRAY)) {
      *size = resolved_size_[id];
    } else if (Is(t, BTF_KIND_PTR)) {
      *size = sizeof(void*);
    } else {
      return false;
    }
    return true;
  }

  // btf_type_id_size(): the type `*id` names, or the type its modifier or
  // variable resolves to (then *id becomes that type's id), with its size.
  const btf_type* IdSize(uint32_t* id, uint32_t* ret_size) const {
    uint32_t sid = *id, size = 0;
    const btf_type* st = ById(sid);
    if (NoSizeOrNull(st)) return nullptr;
    if (!OwnSize(st, sid, &size)) {
      if (!IsModifier(st) && !Is(st, BTF_KIND_VAR)) return nullptr;
      sid = resolved_id_[sid];
      st = ById(sid);
      if (NoSizeOrNull(st) || !OwnSize(st, sid, &size)) return nullptr;
    }
    *id = sid;
    if (ret_size != nullptr) *ret_size = size;
    return st;
  }

  int CheckAllTypes() {
    const size_t n = types_.size();
    visit_.assign(n, kNotVisited);
    resolved_id_.assign(n, 0);
    resolved_size_.assign(n, 0);
    for (uint32_t id = 1; id < n; ++id) {
      const btf_type* t = types_[id];
      log_type_id_ = id;
      if (NeedsResolve(t) && !Resolved(id)) {
        if (int err = Resolve(t, id); err != 0) return err;
      }
      if (Is(t, BTF_KIND_FUNC_PROTO)) {
        if (int err = FuncProtoCheck(t); err != 0) return err;
      }
    }
    return 0;
  }

  int Resolve(const btf_type* t, uint32_t id) {
    const uint32_t saved = log_type_id_;
    mode_ = kTbd;
    int err = Push(t, id);
    while (err == 0 && top_ > 0) {
      const Vertex v = stack_[top_ - 1];
      log_type_id_ = v.id;
      err = ResolveOne(v);
    }
    log_type_id_ = id;
    if (err == -E2BIG) {
      Fail(err, "Exceeded max resolving depth");
    } else if (err == -EEXIST) {
      Fail(err, "Loop detected");
    }
    if (err == 0 && !ResolveValid(t, id)) {
      err = Fail(-EINVAL, "Invalid resolve state");
    }
    // A failed resolve leaves the stack as it is; the load is over.
    top_ = 0;
    log_type_id_ = saved;
    return err;
  }

  bool ResolveValid(const btf_type* t, uint32_t id) const {
    if (!Resolved(id)) return false;
    if (IsStruct(t) || Is(t, BTF_KIND_DATASEC)) {
      return !resolved_id_[id] && !resolved_size_[id];
    }
    if (Is(t, BTF_KIND_DECL_TAG) || Is(t, BTF_KIND_FUNC)) {
      return resolved_id_[id] && !resolved_size_[id];
    }
    if (IsModifier(t) || Is(t, BTF_KIND_PTR) || Is(t, BTF_KIND_VAR)) {
      uint32_t rid = id;
      const btf_type* r = IdResolve(&rid);
      return r != nullptr && !IsModifier(r) && !Is(r, BTF_KIND_VAR) &&
             !Is(r, BTF_KIND_DATASEC);
    }
    if (Is(t, BTF_KIND_ARRAY)) {
      btf_array a;
      std::memcpy(&a, t + 1, sizeof(a));
      uint32_t eid = a.type, esize = 0;
      const btf_type* e = IdSize(&eid, &esize);
      return e != nullptr && !IsModifier(e) &&
             a.nelems * esize == resolved_size_[id];
    }
    return false;
  }

  int ResolveOne(const Vertex& v) {
    const btf_type* t = v.t;
    switch (Kind(t)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
      case BTF_KIND_PTR:
      case BTF_KIND_VAR:
        return ResolveRef(v);
      case BTF_KIND_ARRAY:
        return ResolveArray(v);
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        return ResolveStruct(v);
      case BTF_KIND_DATASEC:
        return ResolveDatasec(v);
      case BTF_KIND_FUNC:
        if (int err = FuncCheck(t); err != 0) return err;
        PopResolved(t->type, 0);
        return 0;
      case BTF_KIND_DECL_TAG:
        return ResolveDeclTag(v);
    }
    return Fail(-EINVAL, "Unsupported resolve");
  }

  // btf_modifier_resolve(), btf_ptr_resolve() and btf_var_resolve(): they
  // differ in two steps, marked.
  int ResolveRef(const Vertex& v) {
    const bool is_var = Is(v.t, BTF_KIND_VAR);
    uint32_t next_id = v.t->type;
    const btf_type* next = ById(next_id);
    if (next == nullptr || SourceOnly(next)) {
      return Fail(-EINVAL, "Invalid type_id");
    }
    if (!IsSink(next) && !Resolved(next_id)) return Push(next, next_id);
    // Pointers and vars: continue from a modifier's last-resolved pointer.
    if ((is_var || Is(v.t, BTF_KIND_PTR)) && IsModifier(next)) {
      uint32_t rid = next_id;
      const btf_type* r = IdResolve(&rid);
      if (Is(r, BTF_KIND_PTR) && !IsSink(r) && !Resolved(rid)) {
        return Push(r, rid);
      }
    }
    if (IdSize(&next_id, nullptr) == nullptr) {
      // Vars need a sized type; the others may end at void, a forward
      // declaration or a function prototype.
      if (is_var) return Fail(-EINVAL, "Invalid type_id");
      if (Resolved(next_id)) next = IdResolve(&next_id);
      if (!IsVoid(next) && !Is(next, BTF_KIND_FWD) &&
          !Is(next, BTF_KIND_FUNC_PROTO)) {
        return Fail(-EINVAL, "Invalid type_id");
      }
    }
    PopResolved(next_id, 0);
    return 0;
  }

  int ResolveArray(const Vertex& v) {
    btf_array a;
    std::memcpy(&a, v.t + 1, sizeof(a));
    uint32_t index_id = a.index_type;
    const btf_type* index = ById(index_id);
    if (NoSizeOrNull(index) || SourceOnly(index)) {
      return Fail(-EINVAL, "Invalid index");
    }
    if (!IsSink(index) && !Resolved(index_id)) return Push(index, index_id);
    index = IdSize(&index_id, nullptr);
    if (index == nullptr || !Is(index, BTF_KIND_INT) || !IntRegular(index)) {
      return Fail(-EINVAL, "Invalid index");
    }
    uint32_t elem_id = a.type, elem_size = 0;
    const btf_type* elem = ById(elem_id);
    if (NoSizeOrNull(elem) || SourceOnly(elem)) {
      return Fail(-EINVAL, "Invalid elem");
    }
    if (!IsSink(elem) && !Resolved(elem_id)) return Push(elem, elem_id);
    elem = IdSize(&elem_id, &elem_size);
    if (elem == nullptr) return Fail(-EINVAL, "Invalid elem");
    if (Is(elem, BTF_KIND_INT) && !IntRegular(elem)) {
      return Fail(-EINVAL, "Invalid array of int");
    }
    if (a.nelems && elem_size > UINT32_MAX / a.nelems) {
      return Fail(-EINVAL, "Array size overflows U32_MAX");
    }
    PopResolved(elem_id, elem_size * a.nelems);
    return 0;
  }

  int ResolveStruct(const Vertex& v) {
    const auto* members = reinterpret_cast<const btf_member*>(v.t + 1);
    if (v.next_member) {
      btf_member last;
      std::memcpy(&last, members + v.next_member - 1, sizeof(last));
      if (!Resolved(last.type)) return -EINVAL;
      const btf_type* lt = ById(last.type);
      if (int err = CheckMember(v.t, last, lt, Kflag(v.t)); err != 0) {
        return err;
      }
    }
    for (uint16_t i = v.next_member; i < Vlen(v.t); ++i) {
      btf_member m;
      std::memcpy(&m, members + i, sizeof(m));
      const btf_type* mt = ById(m.type);
      if (NoSizeOrNull(mt) || SourceOnly(mt)) {
        return Fail(-EINVAL, "Invalid member");
      }
      if (!IsSink(mt) && !Resolved(m.type)) {
        stack_[top_ - 1].next_member = i + 1;
        return Push(mt, m.type);
      }
      if (int err = CheckMember(v.t, m, mt, Kflag(v.t)); err != 0) {
        return err;
      }
    }
    PopResolved(0, 0);
    return 0;
  }

  int ResolveDatasec(const Vertex& v) {
    mode_ = kTbd;
    const auto* vsis = reinterpret_cast<const btf_var_secinfo*>(v.t + 1);
    for (uint16_t i = v.next_member; i < Vlen(v.t); ++i) {
      btf_var_secinfo s;
      std::memcpy(&s, vsis + i, sizeof(s));
      const btf_type* vt = ById(s.type);
      if (vt == nullptr || !Is(vt, BTF_KIND_VAR)) {
        return Fail(-EINVAL, "Not a VAR kind member");
      }
      if (!IsSink(vt) && !Resolved(s.type)) {
        stack_[top_ - 1].next_member = i + 1;
        return Push(vt, s.type);
      }
      uint32_t tid = vt->type, tsize = 0;
      if (IdSize(&tid, &tsize) == nullptr) {
        return Fail(-EINVAL, "Invalid type");
      }
      if (s.size < tsize) return Fail(-EINVAL, "Invalid size");
    }
    PopResolved(0, 0);
    return 0;
  }

  int ResolveDeclTag(const Vertex& v) {
    const uint32_t next_id = v.t->type;
    const btf_type* next = ById(next_id);
    if (next == nullptr ||
        !(Is(next, BTF_KIND_FUNC) || IsStruct(next) || Is(next, BTF_KIND_VAR) ||
          Is(next, BTF_KIND_TYPEDEF))) {
      return Fail(-EINVAL, "Invalid type_id");
    }
    if (!IsSink(next) && !Resolved(next_id)) return Push(next, next_id);
    int32_t idx;
    std::memcpy(&idx, v.t + 1, sizeof(idx));
    if (idx != -1) {
      if (Is(next, BTF_KIND_VAR) || Is(next, BTF_KIND_TYPEDEF)) {
        return Fail(-EINVAL, "Invalid component_idx");
      }
      uint32_t vlen;
      if (IsStruct(next)) {
        vlen = Vlen(next);
      } else {
        const btf_type* proto = ById(next->type);
        vlen = proto != nullptr ? Vlen(proto) : 0;
      }
      if (static_cast<uint32_t>(idx) >= vlen) {
        return Fail(-EINVAL, "Invalid component_idx");
      }
    }
    PopResolved(next_id, 0);
    return 0;
  }

  // --- check_member / check_kflag_member ---------------------------------
  int CheckMember(const btf_type* st, btf_member m, const btf_type* mt,
                  bool kflag) {
    switch (Kind(mt)) {
      case BTF_KIND_INT:
        return kflag ? IntKflagMember(st, m, mt) : IntMember(st, m, mt);
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        return kflag ? EnumKflagMember(st, m) : SizedMember(st, m, mt->size);
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG: {
        uint32_t rid = m.type;
        const btf_type* r = IdSize(&rid, nullptr);
        if (r == nullptr) return Fail(-EINVAL, "Invalid member");
        m.type = rid;
        return CheckMember(st, m, r, kflag);
      }
      case BTF_KIND_PTR:
      case BTF_KIND_ARRAY:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_FLOAT:
        if (kflag) {
          // btf_generic_check_kflag_member().
          if (BTF_MEMBER_BITFIELD_SIZE(m.offset)) {
            return Fail(-EINVAL, "Invalid member bitfield_size");
          }
        }
        return PlainMember(st, m, mt);
    }
    return Fail(-EINVAL, "Unsupported check_member");
  }

  int PlainMember(const btf_type* st, const btf_member& m, const btf_type* mt) {
    const uint32_t off = m.offset;
    if (Is(mt, BTF_KIND_FLOAT)) {
      const uint64_t align = std::min<uint64_t>(sizeof(void*), mt->size) * 8;
      if (m.offset % align) {
        return Fail(-EINVAL, "Member is not properly aligned");
      }
      if (uint64_t{m.offset} / 8 + mt->size > st->size) {
        return Fail(-EINVAL, "Member exceeds struct_size");
      }
      return 0;
    }
    if (off & 7) return Fail(-EINVAL, "Member is not byte aligned");
    uint32_t size;
    if (Is(mt, BTF_KIND_PTR)) {
      size = sizeof(void*);
    } else if (Is(mt, BTF_KIND_ARRAY)) {
      uint32_t aid = m.type;
      size = 0;
      IdSize(&aid, &size);
    } else {
      size = mt->size;
    }
    // u32 arithmetic, as the kernel's.
    if (st->size - off / 8 < size) {
      return Fail(-EINVAL, "Member exceeds struct_size");
    }
    return 0;
  }

  int SizedMember(const btf_type* st, const btf_member& m, uint32_t size) {
    if (m.offset & 7) return Fail(-EINVAL, "Member is not byte aligned");
    if (st->size - m.offset / 8 < size) {
      return Fail(-EINVAL, "Member exceeds struct_size");
    }
    return 0;
  }

  int IntMember(const btf_type* st, const btf_member& m, const btf_type* mt) {
    const uint32_t d = IntData(mt);
    uint32_t off = m.offset;
    if (UINT32_MAX - off < IntOffset(d)) {
      return Fail(-EINVAL, "bits_offset exceeds U32_MAX");
    }
    off += IntOffset(d);
    const uint32_t bytes = off / 8;
    const uint32_t copy_bits = IntBits(d) + (off & 7);
    if (copy_bits > 128) return Fail(-EINVAL, "nr_copy_bits exceeds 128");
    if (st->size < bytes || st->size - bytes < RoundupBytes(copy_bits)) {
      return Fail(-EINVAL, "Member exceeds struct_size");
    }
    return 0;
  }

  int IntKflagMember(const btf_type* st, const btf_member& m,
                     const btf_type* mt) {
    if (!IntRegular(mt)) return Fail(-EINVAL, "Invalid member base type");
    uint32_t bits = BTF_MEMBER_BITFIELD_SIZE(m.offset);
    const uint32_t off = BTF_MEMBER_BIT_OFFSET(m.offset);
    const uint32_t int_bits = IntBits(IntData(mt));
    if (!bits) {
      if (off & 7) return Fail(-EINVAL, "Invalid member offset");
      bits = int_bits;
    } else if (bits > int_bits) {
      return Fail(-EINVAL, "Invalid member bitfield_size");
    }
    const uint32_t bytes = off / 8;
    const uint32_t copy_bits = bits + (off & 7);
    if (copy_bits > 128) return Fail(-EINVAL, "nr_copy_bits exceeds 128");
    if (st->size < bytes || st->size - bytes < RoundupBytes(copy_bits)) {
      return Fail(-EINVAL, "Member exceeds struct_size");
    }
    return 0;
  }

  int EnumKflagMember(const btf_type* st, const btf_member& m) {
    const uint32_t off = BTF_MEMBER_BIT_OFFSET(m.offset);
    uint32_t bits = BTF_MEMBER_BITFIELD_SIZE(m.offset);
    if (!bits) {
      if (off & 7) return Fail(-EINVAL, "Member is not byte aligned");
      bits = 32;
    } else if (bits > 32) {
      return Fail(-EINVAL, "Invalid member bitfield_size");
    }
    if (st->size < RoundupBytes(off + bits)) {
      return Fail(-EINVAL, "Member exceeds struct_size");
    }
    return 0;
  }

  // --- functions -------------------------------------------------------------
  int FuncCheck(const btf_type* t) {
    const btf_type* proto = ById(t->type);
    if (proto == nullptr || !Is(proto, BTF_KIND_FUNC_PROTO)) {
      return Fail(-EINVAL, "Invalid type_id");
    }
    const auto* args = reinterpret_cast<const btf_param*>(proto + 1);
    for (uint16_t i = 0; i < Vlen(proto); ++i) {
      btf_param p;
      std::memcpy(&p, args + i, sizeof(p));
      if (!p.name_off && p.type) return Fail(-EINVAL, "Invalid arg");
    }
    return 0;
  }

  int FuncProtoCheck(const btf_type* t) {
    if (t->type) {
      uint32_t rid = t->type;
      const btf_type* r = ById(rid);
      if (r == nullptr || SourceOnly(r)) {
        return Fail(-EINVAL, "Invalid return type");
      }
      if (NeedsResolve(r) && !Resolved(rid)) {
        if (int err = Resolve(r, rid); err != 0) return err;
      }
      if (IdSize(&rid, nullptr) == nullptr) {
        return Fail(-EINVAL, "Invalid return type");
      }
    }
    uint16_t n = Vlen(t);
    if (n == 0) return 0;
    const auto* args = reinterpret_cast<const btf_param*>(t + 1);
    btf_param last;
    std::memcpy(&last, args + n - 1, sizeof(last));
    if (!last.type) {
      if (last.name_off) return Fail(-EINVAL, "Invalid arg");
      --n;
    }
    for (uint16_t i = 0; i < n; ++i) {
      btf_param p;
      std::memcpy(&p, args + i, sizeof(p));
      uint32_t aid = p.type;
      const btf_type* a = ById(aid);
      if (a == nullptr || SourceOnly(a)) return Fail(-EINVAL, "Invalid arg");
      if (p.name_off &&
          (!NameOffsetValid(p.name_off) || !ValidIdentifier(p.name_off))) {
        return Fail(-EINVAL, "Invalid arg");
      }
      if (NeedsResolve(a) && !Resolved(aid)) {
        if (int err = Resolve(a, aid); err != 0) return err;
      }
      if (IdSize(&aid, nullptr) == nullptr) {
        return Fail(-EINVAL, "Invalid arg");
      }
    }
    return 0;
  }

  // btf_check_type_tags(): type tags come first in a modifier chain, and no
  // chain is longer than 32.
  int CheckTypeTags() {
    const uint32_t n = static_cast<uint32_t>(types_.size());
    uint32_t good = 0;
    for (uint32_t i = 1; i < n; ++i) {
      const btf_type* t = types_[i];
      if (!IsModifier(t)) continue;
      int limit = 32;
      uint32_t cur = i;
      bool in_tags = Is(t, BTF_KIND_TYPE_TAG);
      while (t != nullptr && IsModifier(t)) {
        if (!limit--) {
          log_->Printf("Max chain length or cycle detected\n");
          return -ELOOP;
        }
        if (Is(t, BTF_KIND_TYPE_TAG)) {
          if (!in_tags) {
            log_->Printf("Type tags don't precede modifiers\n");
            return -EINVAL;
          }
        } else {
          in_tags = false;
        }
        if (cur <= good) break;
        cur = t->type;
        t = ById(cur);
        if (t == nullptr) return -EINVAL;
      }
      good = i;
    }
    return 0;
  }

  const uint8_t* data_;
  uint32_t size_;
  Log* log_;
  btf_header hdr_ = {};
  const uint8_t* nohdr_ = nullptr;
  const char* strings_ = nullptr;
  std::vector<const btf_type*> types_;
  std::vector<uint8_t> visit_;
  std::vector<uint32_t> resolved_id_, resolved_size_;
  Vertex stack_[kMaxResolveDepth];
  int top_ = 0;
  ResolveMode mode_ = kTbd;
  uint32_t log_type_id_ = 0;

 public:
  // For map_check_btf, after a successful Parse().
  const btf_type* TypeById(uint32_t id) const { return ById(id); }
  const btf_type* TypeIdSize(uint32_t* id, uint32_t* size) const {
    return IdSize(id, size);
  }
  const char* Name(uint32_t off) const { return Str(off); }
};

// A loaded BTF object (struct btf): the blob, verified once more on demand.
struct BtfObject {
  uint32_t id = 0;
  std::vector<uint8_t> data;
};

class BtfTable {
 public:
  static BtfTable& Get() {
    static auto* table = new BtfTable;
    return *table;
  }
  ObjectTable<BtfObject>& objects() { return objects_; }
  int Add(std::shared_ptr<BtfObject> obj) {
    const int fd = NewFd(*obj);
    if (fd < 0) return fd;
    obj->id = NextObjectId(IdKind::kBtf);
    objects_.Add(fd, std::move(obj));
    return fd;
  }
  // A new file for the live object `id` (BPF_BTF_GET_FD_BY_ID), or -ENOENT.
  int FdForId(uint32_t id) {
    std::shared_ptr<const BtfObject> obj = objects_.ById(id);
    if (obj == nullptr) return -ENOENT;
    const int fd = NewFd(*obj);
    if (fd < 0) return fd;
    objects_.Install(fd, std::move(obj));
    return fd;
  }
  void HoldForMap(uint32_t map_id, std::shared_ptr<const BtfObject> obj,
                  uint32_t key_id, uint32_t value_id) {
    LocalMutexLock l(&maps_mu_);
    maps_[map_id] = MapEntry{std::move(obj), key_id, value_id};
  }
  bool MapBtf(uint32_t map_id, MapBtfIdsOut* ids, std::vector<uint8_t>* blob) {
    LocalMutexLock l(&maps_mu_);
    auto it = maps_.find(map_id);
    if (it == maps_.end()) return false;
    ids->btf_id = it->second.btf->id;
    ids->key_type_id = it->second.key_id;
    ids->value_type_id = it->second.value_id;
    if (blob != nullptr) *blob = it->second.btf->data;
    return true;
  }

 private:
  struct MapEntry {
    std::shared_ptr<const BtfObject> btf;
    uint32_t key_id, value_id;
  };
  // A memfd holding the blob: the fd is a real descriptor, and whoever
  // inherits it can read the BTF back.
  static int NewFd(const BtfObject& obj) {
    const int fd = memfd_create("bpfemu-btf", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    size_t done = 0;
    while (done < obj.data.size()) {
      const ssize_t n =
          write(fd, obj.data.data() + done, obj.data.size() - done);
      if (n <= 0) {
        const int err = n < 0 ? -errno : -EIO;
        close(fd);
        return err;
      }
      done += static_cast<size_t>(n);
    }
    return fd;
  }
  ObjectTable<BtfObject> objects_;
  LocalMutex maps_mu_;
  // Maps created with BTF hold their object (map->btf). Entries stay for
  // the process's lifetime: a map id is never reused.
  absl::flat_hash_map<uint32_t, MapEntry> maps_ ABSL_GUARDED_BY(maps_mu_);
};

// btf_get_by_fd(): -EBADF for a closed fd, -EINVAL for one that is not BTF.
int BtfFromFd(int fd, std::shared_ptr<const BtfObject>* out) {
  *out = BtfTable::Get().objects().ByFd(fd);
  if (*out != nullptr) return 0;
  return fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

}  // namespace

int BtfLoad(const BtfLoadAttr& attr, uint32_t* log_true_size) {
  const bool v61 = TargetKernel() == KernelVersion::k6_1;
  // CHECK_ATTR: 6.1 ends the BTF_BTF_LOAD attributes at btf_log_level.
  if (v61 && (attr.log_true_size != 0 || attr.btf_flags != 0 ||
              attr.btf_token_fd != 0)) {
    return -EINVAL;
  }
  if (!v61) {
    if (attr.btf_flags & ~kBpfFTokenFd) return -EINVAL;
    if (attr.btf_flags & kBpfFTokenFd) {
      // No BPF tokens here: bpf_token_get_from_fd() fails on any fd.
      return fcntl(attr.btf_token_fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
    }
  }
  if (!CallerPrivileged()) return -EPERM;
  if (attr.btf_size > kBtfMaxSize) return -E2BIG;
  // The log attributes (bpf_vlog_init / 6.1's bpf_verifier_log_attr_valid).
  const bool has_buf = attr.log_buf != nullptr;
  if (v61) {
    if ((attr.log_level || has_buf || attr.log_size) &&
        !(attr.log_size >= 128 && attr.log_size <= (UINT32_MAX >> 2) &&
          attr.log_level && has_buf && !(attr.log_level & ~kLogMask))) {
      return -EINVAL;
    }
  } else if (has_buf != (attr.log_size != 0) ||
             (has_buf && attr.log_level == 0) || (attr.log_level & ~kLogMask) ||
             attr.log_size > (UINT32_MAX >> 2)) {
    return -EINVAL;
  }
  if (attr.btf == nullptr && attr.btf_size > 0) return -EFAULT;
  auto obj = std::make_shared<BtfObject>();
  const auto* p = static_cast<const uint8_t*>(attr.btf);
  obj->data.assign(p, p + attr.btf_size);
  Log log(attr.log_level, attr.log_buf, attr.log_size,
          !v61 && !(attr.log_level & kLogFixed));
  Verifier v(obj->data.data(), attr.btf_size, &log);
  int err = v.Parse();
  uint32_t true_size = 0;
  const int log_err = log.Finalize(&true_size);
  if (log_true_size != nullptr && !v61) *log_true_size = true_size;
  if (err != 0) return log_err != 0 ? log_err : err;
  if (log_err != 0) return log_err;
  return BtfTable::Get().Add(std::move(obj));
}

int BtfGetFdById(uint32_t id) {
  if (!CallerPrivileged()) return -EPERM;
  return BtfTable::Get().FdForId(id);
}

int BtfGetNextId(uint32_t start_id, uint32_t* next_id) {
  if (start_id >= INT32_MAX) return -EINVAL;
  if (!CallerPrivileged()) return -EPERM;
  const uint32_t id = BtfTable::Get().objects().NextId(start_id);
  if (id == 0) return -ENOENT;
  if (next_id == nullptr) return -EFAULT;
  *next_id = id;
  return 0;
}

int BtfGetInfoByFd(int fd, void* info, uint32_t* info_len) {
  std::shared_ptr<const BtfObject> obj = BtfTable::Get().objects().ByFd(fd);
  if (obj == nullptr) return fcntl(fd, F_GETFD) < 0 ? -EBADFD : -EINVAL;
  if (info == nullptr || info_len == nullptr) return -EFAULT;
  const uint32_t len = *info_len;
  // bpf_check_uarg_tail_zero().
  for (uint32_t i = sizeof(BpfBtfInfo); i < len; ++i) {
    if (static_cast<const uint8_t*>(info)[i] != 0) return -E2BIG;
  }
  const uint32_t n = std::min<uint32_t>(len, sizeof(BpfBtfInfo));
  BpfBtfInfo in = {};
  std::memcpy(&in, info, n);
  in.id = obj->id;
  const uint32_t copy =
      std::min<uint32_t>(static_cast<uint32_t>(obj->data.size()), in.btf_size);
  if (copy > 0) {
    if (in.btf == 0) return -EFAULT;
    std::memcpy(reinterpret_cast<void*>(in.btf), obj->data.data(), copy);
  }
  in.btf_size = static_cast<uint32_t>(obj->data.size());
  in.kernel_btf = 0;
  char* uname = reinterpret_cast<char*>(in.name);
  const uint32_t uname_len = in.name_len;
  if ((uname == nullptr) != (uname_len == 0)) return -EINVAL;
  in.name_len = 0;  // loaded BTF has no name
  int ret = 0;
  if (uname != nullptr) uname[0] = '\0';
  std::memcpy(info, &in, n);
  *info_len = n;
  return ret;
}

bool IsBtfFd(int fd) { return BtfTable::Get().objects().ByFd(fd) != nullptr; }

bool ForgetBtfFd(int fd) { return BtfTable::Get().objects().EraseFd(fd); }

int DupBtfFd(int fd, int min_fd) {
  std::shared_ptr<const BtfObject> obj;
  if (int err = BtfFromFd(fd, &obj); err != 0) return err;
  return BtfTable::Get().objects().Dup(fd, min_fd, std::move(obj));
}

int BtfRawFromFd(int fd, std::vector<uint8_t>* raw, uint32_t* id) {
  std::shared_ptr<const BtfObject> obj;
  if (int err = BtfFromFd(fd, &obj); err != 0) return err;
  *raw = obj->data;
  *id = obj->id;
  return 0;
}

namespace {

// A verified view of a BTF object's blob, for map_check_btf.
struct ParsedBtf {
  Log quiet{0, nullptr, 0};
  std::unique_ptr<Verifier> v;
  int Parse(const BtfObject& obj) {
    v = std::make_unique<Verifier>(
        obj.data.data(), static_cast<uint32_t>(obj.data.size()), &quiet);
    return v->Parse() != 0 ? -EINVAL : 0;
  }
};

// Calls f(member type, bit offset) for each member of a struct value whose
// type is a struct named `name` (btf_get_field_type's match by name); the
// first non-zero answer of f is returned.
template <typename F>
int ForEachFieldNamed(const Verifier& v, const btf_type* value_type,
                      const char* name, F f) {
  if (value_type == &kVoid || Kind(value_type) != BTF_KIND_STRUCT) return 0;
  const auto* members = reinterpret_cast<const btf_member*>(value_type + 1);
  for (uint16_t i = 0; i < Vlen(value_type); ++i) {
    btf_member m;
    std::memcpy(&m, members + i, sizeof(m));
    const btf_type* mt = v.TypeById(m.type);
    if (mt == nullptr || mt == &kVoid || Kind(mt) != BTF_KIND_STRUCT) continue;
    const char* n = v.Name(mt->name_off);
    if (n == nullptr || std::strcmp(n, name) != 0) continue;
    const uint32_t bits =
        Kflag(value_type) ? BTF_MEMBER_BIT_OFFSET(m.offset) : m.offset;
    if (int err = f(mt, bits); err != 0) return err;
  }
  return 0;
}

// btf_parse_fields() for struct bpf_spin_lock: the offset of a member of a
// struct value, or -1; -EINVAL for two.
int SpinLockOff(const Verifier& v, const btf_type* value_type, int32_t* off) {
  *off = -1;
  return ForEachFieldNamed(v, value_type, "bpf_spin_lock",
                           [&](const btf_type*, uint32_t bits) {
                             if (*off >= 0 || bits % 32 != 0) return -EINVAL;
                             *off = static_cast<int32_t>(bits / 8);
                             return 0;
                           });
}

// btf_parse_fields() for struct bpf_timer (kernel/bpf/btf.c
// btf_get_field_type, btf_find_field_one): the offset of a bpf_timer member
// of a struct value, or -1. A second one is -E2BIG (the seen mask), which
// map_check_btf takes as no record at all: the map is created with no
// special field (a spin lock included); one that is not 16 bytes or not
// 8-aligned is no field.
int TimerOff(const Verifier& v, const btf_type* value_type, int32_t* off) {
  *off = -1;
  bool seen = false;
  return ForEachFieldNamed(v, value_type, "bpf_timer",
                           [&](const btf_type* mt, uint32_t bits) {
                             if (seen) return -E2BIG;
                             seen = true;
                             if (bits % 64 == 0 && mt->size == 16) {
                               *off = static_cast<int32_t>(bits / 8);
                             }
                             return 0;
                           });
}

// btf_find_kptr() for each member of a struct value (kernel/bpf/btf.c): a
// pointer (perhaps volatile) to one type tag, "kptr", "kptr_untrusted" or
// "percpu_kptr", over a struct. Fills `out` (nkptrs, kptr_off, kptr_percpu);
// -EINVAL for a second tag, another tag name or a pointee that is no
// struct, -E2BIG for more than kMaxKptrs (bpfemu's bound; the kernel's is
// its BTF_FIELDS_MAX of every special field together).
int KptrOffs(const Verifier& v, const btf_type* value_type, MapAttr* out) {
  out->nkptrs = 0;
  out->kptr_percpu = 0;
  if (value_type == &kVoid || Kind(value_type) != BTF_KIND_STRUCT) return 0;
  const auto* members = reinterpret_cast<const btf_member*>(value_type + 1);
  for (uint16_t i = 0; i < Vlen(value_type); ++i) {
    btf_member m;
    std::memcpy(&m, members + i, sizeof(m));
    const btf_type* t = v.TypeById(m.type);
    if (t != nullptr && t != &kVoid && Kind(t) == BTF_KIND_VOLATILE) {
      t = v.TypeById(t->type);
    }
    if (t == nullptr || t == &kVoid || Kind(t) != BTF_KIND_PTR) continue;
    const btf_type* tag = v.TypeById(t->type);
    if (tag == nullptr || tag == &kVoid || Kind(tag) != BTF_KIND_TYPE_TAG) {
      continue;
    }
    const btf_type* next = v.TypeById(tag->type);
    if (next != nullptr && next != &kVoid && Kind(next) == BTF_KIND_TYPE_TAG) {
      return -EINVAL;
    }
    const char* name = v.Name(tag->name_off);
    if (name == nullptr) return -EINVAL;
    const bool percpu = std::strcmp(name, "percpu_kptr") == 0;
    if (!percpu && std::strcmp(name, "kptr") != 0 &&
        std::strcmp(name, "kptr_untrusted") != 0) {
      return -EINVAL;
    }
    // The base type, past modifiers, must be a struct.
    const btf_type* base = next;
    while (base != nullptr && base != &kVoid &&
           (Kind(base) == BTF_KIND_TYPEDEF || Kind(base) == BTF_KIND_CONST ||
            Kind(base) == BTF_KIND_VOLATILE ||
            Kind(base) == BTF_KIND_RESTRICT ||
            Kind(base) == BTF_KIND_TYPE_TAG)) {
      base = v.TypeById(base->type);
    }
    if (base == nullptr || base == &kVoid || Kind(base) != BTF_KIND_STRUCT) {
      return -EINVAL;
    }
    const uint32_t bits =
        Kflag(value_type) ? BTF_MEMBER_BIT_OFFSET(m.offset) : m.offset;
    // btf_find_struct_field(): a field off its alignment is refused.
    if (bits % 64 != 0) return -EINVAL;
    if (out->nkptrs == kMaxKptrs) return -E2BIG;
    if (percpu) out->kptr_percpu |= 1u << out->nkptrs;
    out->kptr_off[out->nkptrs++] = static_cast<int32_t>(bits / 8);
  }
  return 0;
}

}  // namespace

int CheckKptrFields(const MapAttr& attr) {
  if (attr.nkptrs == 0) return 0;
  if (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EACCES;
  switch (attr.map_type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_SK_STORAGE:
    case BPF_MAP_TYPE_INODE_STORAGE:
    case BPF_MAP_TYPE_TASK_STORAGE:
    case 32:  // BPF_MAP_TYPE_CGRP_STORAGE (6.2)
      return 0;
    default:
      return -EOPNOTSUPP;
  }
}

// map_check_btf()'s rules for a struct bpf_timer field (kernel/bpf/syscall.c):
// no BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG, and only ARRAY, HASH and
// LRU_HASH values may hold one (the per-CPU types may not).
int CheckTimerField(const MapAttr& attr, int32_t timer_off) {
  if (timer_off < 0) return 0;
  if (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EACCES;
  if (attr.map_type != BPF_MAP_TYPE_HASH &&
      attr.map_type != BPF_MAP_TYPE_LRU_HASH &&
      attr.map_type != BPF_MAP_TYPE_ARRAY) {
    return -EOPNOTSUPP;
  }
  return 0;
}

namespace {

// tw50: btf_parse_fields()'s BPF_TASK_WORK (kernel/bpf/btf.c, 6.18), as
// TimerOff: the struct bpf_task_work member (8 bytes, 8-aligned) of
// `value_type`, at *off (-1: none). A second one is -E2BIG (the seen mask),
// which map_check_btf takes as no record at all (measured on 6.18: the map
// is created); one off its alignment is no field (6.18 creates the map).
int TaskWorkOff(const Verifier& v, const btf_type* value_type, int32_t* off) {
  *off = -1;
  bool seen = false;
  return ForEachFieldNamed(v, value_type, "bpf_task_work",
                           [&](const btf_type* mt, uint32_t bits) {
                             if (seen) return -E2BIG;
                             seen = true;
                             if (bits % 64 == 0 && mt->size == 8) {
                               *off = static_cast<int32_t>(bits / 8);
                             }
                             return 0;
                           });
}

}  // namespace

namespace {

// The spin lock's and the timer's offsets in a value with BTF, or -1.
void BtfValueFieldOffs(const MapAttr& attr, int32_t* lock, int32_t* timer) {
  *lock = *timer = -1;
  if (!attr.btf_value_type_id) return;
  std::shared_ptr<const BtfObject> obj;
  if (BtfFromFd(static_cast<int>(attr.btf_fd), &obj) != 0) return;
  ParsedBtf p;
  if (p.Parse(*obj) != 0) return;
  uint32_t vid = attr.btf_value_type_id, vsize = 0;
  const btf_type* value_type = p.v->TypeIdSize(&vid, &vsize);
  if (value_type == nullptr || vsize != attr.value_size) return;
  int32_t off, timer_off;
  if (SpinLockOff(*p.v, value_type, &off) != 0) return;
  if (TimerOff(*p.v, value_type, &timer_off) != 0) return;
  // tw50: two struct bpf_task_work leave no record either.
  if (int32_t tw; TaskWorkOff(*p.v, value_type, &tw) != 0) return;
  *lock = off;
  *timer = timer_off;
}

}  // namespace

int32_t BtfValueSpinLockOff(const MapAttr& attr) {
  int32_t lock, timer;
  BtfValueFieldOffs(attr, &lock, &timer);
  return lock;
}

int32_t BtfValueWqOff(const MapAttr& attr) {
  if (!attr.btf_value_type_id) return -1;
  std::shared_ptr<const BtfObject> obj;
  if (BtfFromFd(static_cast<int>(attr.btf_fd), &obj) != 0) return -1;
  ParsedBtf p;
  if (p.Parse(*obj) != 0) return -1;
  uint32_t vid = attr.btf_value_type_id, vsize = 0;
  const btf_type* value_type = p.v->TypeIdSize(&vid, &vsize);
  if (value_type == nullptr || vsize != attr.value_size) return -1;
  // As TimerOff for "bpf_timer": one 16-byte, 8-aligned member.
  int32_t off = -1;
  bool seen = false;
  if (ForEachFieldNamed(*p.v, value_type, "bpf_wq",
                        [&](const btf_type* mt, uint32_t bits) {
                          if (seen) return -E2BIG;
                          seen = true;
                          if (bits % 64 == 0 && mt->size == 16) {
                            off = static_cast<int32_t>(bits / 8);
                          }
                          return 0;
                        }) != 0) {
    return -1;
  }
  return off;
}

int32_t BtfValueTaskWorkOff(const MapAttr& attr) {
  if (!attr.btf_value_type_id) return -1;
  std::shared_ptr<const BtfObject> obj;
  if (BtfFromFd(static_cast<int>(attr.btf_fd), &obj) != 0) return -1;
  ParsedBtf p;
  if (p.Parse(*obj) != 0) return -1;
  uint32_t vid = attr.btf_value_type_id, vsize = 0;
  const btf_type* value_type = p.v->TypeIdSize(&vid, &vsize);
  if (value_type == nullptr || vsize != attr.value_size) return -1;
  int32_t off;
  if (TaskWorkOff(*p.v, value_type, &off) != 0) return -1;
  return off;
}

int32_t BtfValueTimerOff(const MapAttr& attr) {
  int32_t lock, timer;
  BtfValueFieldOffs(attr, &lock, &timer);
  return timer;
}

void BtfValueKptrs(MapAttr* attr) {
  attr->nkptrs = 0;
  if (!attr->btf_value_type_id) return;
  std::shared_ptr<const BtfObject> obj;
  if (BtfFromFd(static_cast<int>(attr->btf_fd), &obj) != 0) return;
  ParsedBtf p;
  if (p.Parse(*obj) != 0) return;
  uint32_t vid = attr->btf_value_type_id, vsize = 0;
  const btf_type* value_type = p.v->TypeIdSize(&vid, &vsize);
  if (value_type == nullptr || vsize != attr->value_size) return;
  if (KptrOffs(*p.v, value_type, attr) != 0) attr->nkptrs = 0;
}

int MapCheckBtf(const MapAttr& attr, uint32_t* btf_id,
                const std::function<int(int32_t)>& check_fields) {
  *btf_id = 0;
  if (!attr.btf_key_type_id && !attr.btf_value_type_id &&
      !attr.btf_vmlinux_value_type_id) {
    return check_fields(-1);
  }
  std::shared_ptr<const BtfObject> obj;
  if (int err = BtfFromFd(static_cast<int>(attr.btf_fd), &obj); err != 0) {
    return err;
  }
  if (attr.btf_value_type_id) {
    // The object passed verification at load; parse it again for its
    // tables (cheap next to a map allocation).
    ParsedBtf p;
    if (p.Parse(*obj) != 0) return -EINVAL;
    const Verifier& v = *p.v;
    // Which map types have a map_check_btf op, and which refuse BTF.
    enum { kNone, kNoBtf, kArray, kHash, kBloom, kTrie, kStorage, kCgroup };
    int op = kNone;
    switch (attr.map_type) {
      case BPF_MAP_TYPE_ARRAY:
      case BPF_MAP_TYPE_PERCPU_ARRAY:
        op = kArray;
        break;
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_LRU_HASH:
      case BPF_MAP_TYPE_PERCPU_HASH:
      case BPF_MAP_TYPE_LRU_PERCPU_HASH:
        op = kHash;
        break;
      case BPF_MAP_TYPE_BLOOM_FILTER:
        op = kBloom;
        break;
      case BPF_MAP_TYPE_LPM_TRIE:
        op = kTrie;
        break;
      case BPF_MAP_TYPE_SK_STORAGE:
      case BPF_MAP_TYPE_INODE_STORAGE:
      case BPF_MAP_TYPE_TASK_STORAGE:
      case 32:  // BPF_MAP_TYPE_CGRP_STORAGE (6.2)
        op = kStorage;
        break;
      case BPF_MAP_TYPE_CGROUP_STORAGE:
      case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
        op = kCgroup;
        break;
      case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      case BPF_MAP_TYPE_CGROUP_ARRAY:
      case BPF_MAP_TYPE_ARRAY_OF_MAPS:
      case BPF_MAP_TYPE_HASH_OF_MAPS:
      case BPF_MAP_TYPE_CPUMAP:
      case BPF_MAP_TYPE_DEVMAP:
      case BPF_MAP_TYPE_DEVMAP_HASH:
      case BPF_MAP_TYPE_STACK_TRACE:
      case BPF_MAP_TYPE_SOCKMAP:
      case BPF_MAP_TYPE_SOCKHASH:
      case BPF_MAP_TYPE_XSKMAP:
        op = kNoBtf;
        break;
      default:
        if (attr.map_type == kBpfMapTypeArena) op = kNoBtf;
        break;
    }
    const btf_type* key_type;
    if (attr.btf_key_type_id) {
      uint32_t kid = attr.btf_key_type_id, ksize = 0;
      key_type = v.TypeIdSize(&kid, &ksize);
      if (key_type == nullptr || ksize != attr.key_size) return -EINVAL;
    } else {
      key_type = v.TypeById(0);
      if (op == kNone) return -EINVAL;
    }
    uint32_t vid = attr.btf_value_type_id, vsize = 0;
    const btf_type* value_type = v.TypeIdSize(&vid, &vsize);
    if (value_type == nullptr || vsize != attr.value_size) return -EINVAL;
    int32_t lock_off;
    if (int err = SpinLockOff(v, value_type, &lock_off); err != 0) return err;
    int32_t timer_off;
    if (TimerOff(v, value_type, &timer_off) != 0) lock_off = timer_off = -1;
    // tw50: a struct bpf_task_work, as a timer (map_check_btf's
    // BPF_TASK_WORK case, 6.18): ARRAY, HASH and LRU_HASH only; two of
    // them leave no record at all.
    int32_t task_work_off;
    if (TaskWorkOff(v, value_type, &task_work_off) != 0) {
      lock_off = timer_off = task_work_off = -1;
    }
    if (int err = check_fields(lock_off); err != 0) return err;
    if (int err = CheckTimerField(attr, timer_off); err != 0) return err;
    if (int err = CheckTimerField(attr, task_work_off); err != 0) return err;
    MapAttr kptrs = attr;
    if (int err = KptrOffs(v, value_type, &kptrs); err != 0) return err;
    if (int err = CheckKptrFields(kptrs); err != 0) return err;
    const bool key_void = key_type == &kVoid;
    switch (op) {
      case kNoBtf:
        return -kEnotsupp;
      case kArray:
        if (key_void) {
          if (attr.map_type != BPF_MAP_TYPE_ARRAY || attr.max_entries != 1 ||
              Kind(value_type) != BTF_KIND_DATASEC) {
            return -EINVAL;
          }
          break;
        }
        [[fallthrough]];
      case kStorage:
        if (key_void || Kind(key_type) != BTF_KIND_INT ||
            IntBits(IntData(key_type)) != 32 ||
            IntOffset(IntData(key_type)) != 0) {
          return -EINVAL;
        }
        break;
      case kHash:
        if (key_void) return -EINVAL;
        break;
      case kBloom:
        if (!key_void) return -EINVAL;
        break;
      case kTrie:
        if (key_void || Kind(key_type) != BTF_KIND_STRUCT) return -EINVAL;
        break;
      default:
        break;
    }
  } else if (int err = check_fields(-1); err != 0) {
    return err;
  }
  *btf_id = obj->id;
  return 0;
}

namespace {

// The attribute: a fixed header, then the blob. Extended attribute values
// stop at XATTR_SIZE_MAX (64 KiB), so a larger blob continues in
// "user.bpfemu.btf.1", ".2", ... of at most kXattrChunk bytes each.
constexpr char kMapBtfXattr[] = "user.bpfemu.btf";
constexpr size_t kXattrChunk = 65536;
struct MapBtfXattrHeader {
  char magic[8];  // "BPFEMUB1"
  uint32_t btf_id, key_type_id, value_type_id;
  uint32_t blob_len;
};
constexpr char kMapBtfMagic[8] = {'B', 'P', 'F', 'E', 'M', 'U', 'B', '1'};

std::string ChunkName(size_t i) {
  return std::string(kMapBtfXattr) + "." + std::to_string(i);
}

void WriteMapBtfXattr(int fd, const MapBtfXattrHeader& h,
                      const std::vector<uint8_t>& blob) {
  // The blob goes first, so that a reader never finds a header whose
  // chunks are not all there yet.
  const size_t first = std::min(blob.size(), kXattrChunk - sizeof(h));
  for (size_t off = first, i = 1; off < blob.size(); off += kXattrChunk, ++i) {
    const size_t n = std::min(kXattrChunk, blob.size() - off);
    if (fsetxattr(fd, ChunkName(i).c_str(), blob.data() + off, n, 0) != 0) {
      return;
    }
  }
  std::vector<uint8_t> head(sizeof(h) + first);
  std::memcpy(head.data(), &h, sizeof(h));
  std::memcpy(head.data() + sizeof(h), blob.data(), first);
  (void)fsetxattr(fd, kMapBtfXattr, head.data(), head.size(), 0);
}

bool ReadMapBtfXattr(int fd, MapBtfIdsOut* ids, std::vector<uint8_t>* blob) {
  std::vector<uint8_t> head(kXattrChunk);
  const ssize_t n = fgetxattr(fd, kMapBtfXattr, head.data(), head.size());
  MapBtfXattrHeader h;
  if (n < static_cast<ssize_t>(sizeof(h))) return false;
  std::memcpy(&h, head.data(), sizeof(h));
  if (std::memcmp(h.magic, kMapBtfMagic, sizeof(h.magic)) != 0 ||
      h.btf_id == 0 || h.blob_len > kMapBtfMaxBlob) {
    return false;
  }
  const size_t first = std::min<size_t>(h.blob_len, kXattrChunk - sizeof(h));
  if (static_cast<size_t>(n) != sizeof(h) + first) return false;
  ids->btf_id = h.btf_id;
  ids->key_type_id = h.key_type_id;
  ids->value_type_id = h.value_type_id;
  if (blob == nullptr) return true;
  blob->assign(head.begin() + sizeof(h), head.begin() + n);
  blob->resize(h.blob_len);
  for (size_t off = first, i = 1; off < h.blob_len; off += kXattrChunk, ++i) {
    const size_t want = std::min<size_t>(kXattrChunk, h.blob_len - off);
    const ssize_t got =
        fgetxattr(fd, ChunkName(i).c_str(), blob->data() + off, want);
    if (got != static_cast<ssize_t>(want)) {
      blob->clear();  // ids without a readable blob
      return true;
    }
  }
  return true;
}

}  // namespace

void RecordMapBtf(int map_fd, uint32_t map_id, uint32_t btf_id,
                  uint32_t key_type_id, uint32_t value_type_id) {
  std::shared_ptr<const BtfObject> obj = BtfTable::Get().objects().ById(btf_id);
  if (obj == nullptr) return;
  if (obj->data.size() <= kMapBtfMaxBlob) {
    MapBtfXattrHeader h = {};
    std::memcpy(h.magic, kMapBtfMagic, sizeof(h.magic));
    h.btf_id = btf_id;
    h.key_type_id = key_type_id;
    h.value_type_id = value_type_id;
    h.blob_len = static_cast<uint32_t>(obj->data.size());
    WriteMapBtfXattr(map_fd, h, obj->data);
  }
  BtfTable::Get().HoldForMap(map_id, std::move(obj), key_type_id,
                             value_type_id);
}

bool MapBtf(int map_fd, uint32_t map_id, MapBtfIdsOut* ids,
            std::vector<uint8_t>* blob) {
  if (BtfTable::Get().MapBtf(map_id, ids, blob)) return true;
  return ReadMapBtfXattr(map_fd, ids, blob);
}

}  // namespace bpfemu
