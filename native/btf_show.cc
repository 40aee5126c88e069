// SPDX-License-Identifier: Apache-2.0
// kernel/bpf/btf.c btf_type_show / btf_type_snprintf_show and
// kernel/trace/bpf_trace.c bpf_snprintf_btf (native/btf_show.h), written
// against emu/kernel_btf.h: each kind's show function, the name and layout
// helpers and the zero-suppression pass (depth_check) follow the kernel's.
#include "native/btf_show.h"

#include <linux/bpf.h>
#include <linux/btf.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "emu/kernel_btf.h"

namespace bpfemu::native {
namespace {

constexpr uint64_t kShowCompact = BTF_F_COMPACT;
constexpr uint64_t kShowNoName = BTF_F_NONAME;
constexpr uint64_t kShowPtrRaw = BTF_F_PTR_RAW;
constexpr uint64_t kShowZero = BTF_F_ZERO;
constexpr uint64_t kShowAll =
    BTF_F_COMPACT | BTF_F_NONAME | BTF_F_PTR_RAW | BTF_F_ZERO;
constexpr int kMaxIter = 10;      // BTF_SHOW_MAX_ITER
constexpr size_t kNameSize = 80;  // BTF_SHOW_NAME_SIZE

uint32_t KindOf(const btf_type* t) { return BTF_INFO_KIND(t->info); }
uint32_t VlenOf(const btf_type* t) { return BTF_INFO_VLEN(t->info); }
bool KflagOf(const btf_type* t) { return BTF_INFO_KFLAG(t->info) != 0; }

// The kernel's isprint (lib/ctype.c): ASCII 32..126 and Latin-1 160..255.
bool KernelIsPrint(uint8_t c) { return (c >= 32 && c <= 126) || c >= 160; }

struct Show {
  const KernelBtf* btf = nullptr;
  uint64_t flags = 0;
  std::string text;
  int status = 0;
  // show->state
  uint8_t depth = 0, depth_to_show = 0, depth_check = 0;
  bool array_member = false, array_terminated = false;
  uint16_t array_encoding = 0;
  uint32_t type_id = 0;
  const btf_type* type = nullptr;
  const btf_member* member = nullptr;
  std::string name;
};

void Emit(Show& s, const std::string& piece) {
  if (s.depth_check == 0) s.text += piece;
}

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0) return "";
  if (static_cast<size_t>(n) < sizeof(buf)) return std::string(buf, n);
  std::string big(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(static_cast<size_t>(n));
  return big;
}

const btf_type* TypeById(const Show& s, uint32_t id) { return s.btf->Type(id); }

// btf_type_skip_qualifiers(): past volatile, const, restrict, type tags.
const btf_type* SkipQualifiers(const Show& s, uint32_t id) {
  const btf_type* t = TypeById(s, id);
  while (t != nullptr &&
         (KindOf(t) == BTF_KIND_VOLATILE || KindOf(t) == BTF_KIND_CONST ||
          KindOf(t) == BTF_KIND_RESTRICT || KindOf(t) == BTF_KIND_TYPE_TAG)) {
    t = TypeById(s, t->type);
  }
  return t;
}

// btf_show_name(): "[.member = ](type)" with the struct/union/enum word,
// '*' and "[]" suffixes and the opening parenthesis of an aggregate.
const std::string& Name(Show& s) {
  s.name.clear();
  if (s.array_member) return s.name;
  uint32_t id = s.type_id;
  std::string member;
  bool show_member = false;
  if (s.member != nullptr) {
    member = std::string(s.btf->Str(s.member->name_off));
    show_member = !member.empty();
    id = s.member->type;
  }
  const btf_type* t = TypeById(s, id);
  if (t == nullptr) return s.name;
  int ptrs = 0, arrays = 0;
  bool is_typedef = false, is_array = false, is_ptr = false;
  std::string name;
  bool have_name = false;
  const char* parens = "";
  int i = 0;
  for (; i < kMaxIter; ++i) {
    switch (KindOf(t)) {
      case BTF_KIND_TYPEDEF:
        if (!have_name) {
          name = std::string(s.btf->Str(t->name_off));
          have_name = true;
        }
        is_typedef = true;
        id = t->type;
        break;
      case BTF_KIND_ARRAY:
        is_array = true;
        parens = "[";
        if (arrays < kMaxIter) ++arrays;
        id = reinterpret_cast<const btf_array*>(t + 1)->type;
        break;
      case BTF_KIND_PTR:
        is_ptr = true;
        if (ptrs < kMaxIter) ++ptrs;
        id = t->type;
        break;
      default:
        id = 0;
        break;
    }
    if (id == 0) break;
    t = SkipQualifiers(s, id);
    if (t == nullptr) return s.name;
  }
  if (i == kMaxIter) return s.name;
  if (!have_name) name = std::string(s.btf->Str(t->name_off));
  const char* prefix = "";
  switch (KindOf(t)) {
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
      prefix = KindOf(t) == BTF_KIND_STRUCT ? "struct" : "union";
      if (!is_array) parens = "{";
      break;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
      prefix = "enum";
      break;
    default:
      break;
  }
  if (is_ptr) parens = "";
  if (is_typedef) prefix = "";
  std::string out;
  if (s.flags & kShowNoName) {
    out = parens;
  } else {
    if (show_member) out += "." + member + " = ";
    out += "(";
    out += prefix;
    if (*prefix != '\0' && !name.empty()) out += " ";
    out += name;
    if (ptrs > 0) out += " " + std::string(static_cast<size_t>(ptrs), '*');
    for (int a = 0; a < arrays; ++a) out += "[]";
    out += ")";
    out += parens;
  }
  if (out.size() > kNameSize - 1) out.resize(kNameSize - 1);
  s.name = out;
  return s.name;
}

std::string Indent(const Show& s) {
  if (s.flags & kShowCompact) return "";
  return std::string(std::min<size_t>(s.depth, 32), ' ');
}
const char* Newline(const Show& s) {
  return (s.flags & kShowCompact) ? "" : "\n";
}
const char* Delim(const Show& s) {
  if (s.depth == 0) return "";
  if ((s.flags & kShowCompact) && s.type != nullptr &&
      KindOf(s.type) == BTF_KIND_UNION) {
    return "|";
  }
  return ",";
}

// btf_show_type_value(): the value, unless it is zero below the top
// without BTF_F_ZERO.
void TypeValue(Show& s, bool nonzero, const std::string& value) {
  if (nonzero || (s.flags & kShowZero) || s.depth == 0) {
    const std::string indent = Indent(s);
    const std::string name = Name(s);
    Emit(s, indent + name + value + Delim(s) + Newline(s));
    if (s.depth > s.depth_to_show) s.depth_to_show = s.depth;
  }
}
// btf_show_type_values(): always shown.
void TypeValues(Show& s, const std::string& value) {
  const std::string indent = Indent(s);
  const std::string name = Name(s);
  Emit(s, indent + name + value + Delim(s) + Newline(s));
  if (s.depth > s.depth_to_show) s.depth_to_show = s.depth;
}

void StartType(Show& s, const btf_type* t, uint32_t type_id) {
  s.type = t;
  s.type_id = type_id;
  s.name.clear();
}
void EndType(Show& s) {
  s.type = nullptr;
  s.type_id = 0;
  s.name.clear();
}
void StartAggr(Show& s, const btf_type* t, uint32_t type_id) {
  StartType(s, t, type_id);
  const std::string indent = Indent(s);
  const std::string name = Name(s);
  Emit(s, indent + name + Newline(s));
  ++s.depth;
}
void EndAggr(Show& s, const char* suffix) {
  --s.depth;
  Emit(s, Indent(s) + suffix + Delim(s) + Newline(s));
  EndType(s);
}

void ShowType(Show& s, const btf_type* t, uint32_t type_id, const uint8_t* data,
              uint8_t bits_offset);

// btf_df_show().
void DefaultShow(Show& s, const btf_type* t) {
  Emit(s, Format("<unsupported kind:%u>", t != nullptr ? KindOf(t) : 0));
}

// btf_int128_print() of the 128-bit value lo | hi << 64.
void Int128Print(Show& s, uint64_t lo, uint64_t hi) {
  if (hi == 0) {
    TypeValue(s, lo != 0, Format("0x%" PRIx64, lo));
  } else {
    TypeValues(s, Format("0x%" PRIx64 "%016" PRIx64, hi, lo));
  }
}

// btf_bitfield_show(): nr_bits bits from bit bits_offset of data.
void BitfieldShow(Show& s, const uint8_t* data, uint8_t bits_offset,
                  uint8_t nr_bits) {
  const unsigned nr_copy_bits = unsigned{nr_bits} + bits_offset;
  const unsigned nr_copy_bytes = (nr_copy_bits + 7) / 8;
  uint8_t bytes[16] = {};
  std::memcpy(bytes, data, std::min(nr_copy_bytes, 16u));
  unsigned __int128 v = 0;
  std::memcpy(&v, bytes, sizeof(v));
  v >>= bits_offset;
  if (nr_bits < 128) v &= (static_cast<unsigned __int128>(1) << nr_bits) - 1;
  Int128Print(s, static_cast<uint64_t>(v), static_cast<uint64_t>(v >> 64));
}

void IntBitsShow(Show& s, const btf_type* t, const uint8_t* data,
                 uint8_t bits_offset) {
  const uint32_t info = *reinterpret_cast<const uint32_t*>(t + 1);
  const uint8_t nr_bits = static_cast<uint8_t>(BTF_INT_BITS(info));
  const unsigned total = unsigned{bits_offset} + BTF_INT_OFFSET(info);
  BitfieldShow(s, data + total / 8, static_cast<uint8_t>(total % 8), nr_bits);
}

void IntShow(Show& s, const btf_type* t, uint32_t type_id, const uint8_t* data,
             uint8_t bits_offset) {
  const uint32_t info = *reinterpret_cast<const uint32_t*>(t + 1);
  const bool sign = (BTF_INT_ENCODING(info) & BTF_INT_SIGNED) != 0;
  const uint32_t nr_bits = BTF_INT_BITS(info);
  StartType(s, t, type_id);
  if (bits_offset != 0 || BTF_INT_OFFSET(info) != 0 || nr_bits % 8 != 0) {
    IntBitsShow(s, t, data, bits_offset);
    EndType(s);
    return;
  }
  switch (nr_bits) {
    case 128: {
      uint64_t lo, hi;
      std::memcpy(&lo, data, 8);
      std::memcpy(&hi, data + 8, 8);
      Int128Print(s, lo, hi);
      break;
    }
    case 64: {
      uint64_t v;
      std::memcpy(&v, data, 8);
      TypeValue(s, v != 0,
                sign ? Format("%" PRId64, static_cast<int64_t>(v))
                     : Format("%" PRIu64, v));
      break;
    }
    case 32: {
      uint32_t v;
      std::memcpy(&v, data, 4);
      TypeValue(s, v != 0,
                sign ? Format("%d", static_cast<int32_t>(v)) : Format("%u", v));
      break;
    }
    case 16: {
      uint16_t v;
      std::memcpy(&v, data, 2);
      TypeValue(s, v != 0,
                sign ? Format("%d", static_cast<int16_t>(v)) : Format("%u", v));
      break;
    }
    case 8: {
      const uint8_t v = data[0];
      if (s.array_encoding == BTF_INT_CHAR) {
        if (s.array_terminated) break;
        if (v == 0) {
          s.array_terminated = true;
          break;
        }
        if (KernelIsPrint(v)) {
          TypeValue(s, true, std::string("'") + static_cast<char>(v) + "'");
          break;
        }
      }
      TypeValue(s, v != 0,
                sign ? Format("%d", static_cast<int8_t>(v)) : Format("%u", v));
      break;
    }
    default:
      IntBitsShow(s, t, data, bits_offset);
      break;
  }
  EndType(s);
}

// The %p hash of a pointer: 32 bits of a keyed hash, printed as 16 hex
// digits (lib/vsprintf.c ptr_to_id); the key is this process's.
uint64_t HashPointer(uint64_t p) {
  static const uint64_t key = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) | rd();
  }();
  uint64_t x = p ^ key;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x & 0xffffffffu;
}

void PtrShow(Show& s, const btf_type* t, uint32_t type_id,
             const uint8_t* data) {
  StartType(s, t, type_id);
  uint64_t p;
  std::memcpy(&p, data, 8);
  if (s.flags & kShowPtrRaw) {
    TypeValue(s, p != 0, Format("0x%016" PRIx64, p));
  } else if (p == 0) {
    TypeValue(s, false, "0x0000000000000000");  // NULL is not hashed
  } else {
    TypeValue(s, true, Format("0x%016" PRIx64, HashPointer(p)));
  }
  EndType(s);
}

// btf_modifier_show(): the type behind typedefs and qualifiers, named by
// the id it was reached by.
void ModifierShow(Show& s, uint32_t type_id, const uint8_t* data,
                  uint8_t bits_offset) {
  const uint32_t id = s.btf->SkipModifiers(type_id);
  const btf_type* t = id != 0 ? TypeById(s, id) : nullptr;
  if (t == nullptr) {
    Emit(s, "<unsupported kind:0>");
    return;
  }
  ShowType(s, t, type_id, data, bits_offset);
}

void ArrayBody(Show& s, const btf_type* t, uint32_t type_id,
               const uint8_t* data, uint8_t bits_offset) {
  const auto* array = reinterpret_cast<const btf_array*>(t + 1);
  const uint32_t elem_id = array->type;
  const uint32_t resolved = s.btf->SkipModifiers(elem_id);
  const btf_type* elem = resolved != 0 ? TypeById(s, resolved) : nullptr;
  uint32_t elem_size = 0;
  uint16_t encoding = 0;
  if (elem != nullptr) {
    const uint32_t k = KindOf(elem);
    if (k == BTF_KIND_INT || k == BTF_KIND_ENUM || k == BTF_KIND_ENUM64 ||
        k == BTF_KIND_STRUCT || k == BTF_KIND_UNION || k == BTF_KIND_DATASEC ||
        k == BTF_KIND_FLOAT) {
      elem_size = elem->size;
    }
    if (k == BTF_KIND_INT) {
      encoding = static_cast<uint16_t>(
          BTF_INT_ENCODING(*reinterpret_cast<const uint32_t*>(elem + 1)));
      if (elem_size == 1) encoding = BTF_INT_CHAR;
    }
  }
  s.array_encoding = encoding;
  s.array_terminated = false;
  StartAggr(s, t, type_id);
  if (elem != nullptr) {
    for (uint32_t i = 0; i < array->nelems; ++i) {
      s.array_member = true;
      s.member = nullptr;
      ShowType(s, elem, elem_id, data, bits_offset);
      data += elem_size;
      s.array_member = false;
      s.member = nullptr;
      if (s.array_terminated) break;
    }
  }
  s.array_encoding = 0;
  s.array_terminated = false;
  EndAggr(s, "]");
}

void StructBody(Show& s, const btf_type* t, uint32_t type_id,
                const uint8_t* data) {
  StartAggr(s, t, type_id);
  const auto* members = reinterpret_cast<const btf_member*>(t + 1);
  for (uint32_t i = 0; i < VlenOf(t); ++i) {
    const btf_member* m = &members[i];
    const btf_type* mt = TypeById(s, m->type);
    s.member = m;
    const uint32_t bit_off =
        KflagOf(t) ? BTF_MEMBER_BIT_OFFSET(m->offset) : m->offset;
    const uint32_t bitfield =
        KflagOf(t) ? BTF_MEMBER_BITFIELD_SIZE(m->offset) : 0;
    const uint8_t* at = data + bit_off / 8;
    const auto bits8 = static_cast<uint8_t>(bit_off % 8);
    if (bitfield != 0) {
      StartType(s, mt, m->type);
      BitfieldShow(s, at, bits8, static_cast<uint8_t>(bitfield));
      EndType(s);
    } else if (mt == nullptr) {
      DefaultShow(s, mt);
    } else {
      ShowType(s, mt, m->type, at, bits8);
    }
    s.member = nullptr;
  }
  EndAggr(s, "}");
}

// btf_struct_show() / btf_array_show(): below the top and without
// BTF_F_ZERO, a silent pass first finds whether anything inside would be
// shown.
template <typename Body>
void AggrShow(Show& s, Body body) {
  const btf_member* m = s.member;
  if (s.depth > 0 && !(s.flags & kShowZero)) {
    if (s.depth_check == 0) {
      s.depth_check = static_cast<uint8_t>(s.depth + 1);
      s.depth_to_show = 0;
    }
    body();
    s.member = m;
    if (s.depth_check != s.depth + 1) return;
    s.depth_check = 0;
    if (s.depth_to_show <= s.depth) return;
  }
  body();
}

void EnumShow(Show& s, const btf_type* t, uint32_t type_id,
              const uint8_t* data) {
  StartType(s, t, type_id);
  int32_t v;
  std::memcpy(&v, data, 4);
  const auto* e = reinterpret_cast<const btf_enum*>(t + 1);
  for (uint32_t i = 0; i < VlenOf(t); ++i) {
    if (v != e[i].val) continue;
    TypeValue(s, true, std::string(s.btf->Str(e[i].name_off)));
    EndType(s);
    return;
  }
  TypeValue(
      s, v != 0,
      KflagOf(t) ? Format("%d", v) : Format("%u", static_cast<uint32_t>(v)));
  EndType(s);
}

void Enum64Show(Show& s, const btf_type* t, uint32_t type_id,
                const uint8_t* data) {
  StartType(s, t, type_id);
  uint64_t v;
  std::memcpy(&v, data, 8);
  const auto* e = reinterpret_cast<const btf_enum64*>(t + 1);
  for (uint32_t i = 0; i < VlenOf(t); ++i) {
    const uint64_t ev = (uint64_t{e[i].val_hi32} << 32) | e[i].val_lo32;
    if (v != ev) continue;
    TypeValue(s, true, std::string(s.btf->Str(e[i].name_off)));
    EndType(s);
    return;
  }
  TypeValue(s, v != 0,
            KflagOf(t) ? Format("%" PRId64, static_cast<int64_t>(v))
                       : Format("%" PRIu64, v));
  EndType(s);
}

void DatasecShow(Show& s, const btf_type* t, uint32_t type_id,
                 const uint8_t* data, uint8_t bits_offset) {
  StartType(s, t, type_id);
  TypeValue(s, true,
            Format("section (\"%s\") = {",
                   std::string(s.btf->Str(t->name_off)).c_str()));
  const auto* vsi = reinterpret_cast<const btf_var_secinfo*>(t + 1);
  for (uint32_t i = 0; i < VlenOf(t); ++i) {
    const btf_type* var = TypeById(s, vsi[i].type);
    if (i != 0) Emit(s, ",");
    if (var == nullptr) continue;
    ShowType(s, var, vsi[i].type, data + vsi[i].offset, bits_offset);
  }
  EndType(s);
}

// btf_type_ops(t)->show.
void ShowType(Show& s, const btf_type* t, uint32_t type_id, const uint8_t* data,
              uint8_t bits_offset) {
  switch (KindOf(t)) {
    case BTF_KIND_INT:
      IntShow(s, t, type_id, data, bits_offset);
      return;
    case BTF_KIND_PTR:
      PtrShow(s, t, type_id, data);
      return;
    case BTF_KIND_ARRAY:
      AggrShow(s, [&] { ArrayBody(s, t, type_id, data, bits_offset); });
      return;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
      AggrShow(s, [&] { StructBody(s, t, type_id, data); });
      return;
    case BTF_KIND_ENUM:
      EnumShow(s, t, type_id, data);
      return;
    case BTF_KIND_ENUM64:
      Enum64Show(s, t, type_id, data);
      return;
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      ModifierShow(s, type_id, data, bits_offset);
      return;
    case BTF_KIND_VAR: {
      // btf_var_show() on a base BTF: the var's type past modifiers,
      // named by that type's id.
      const uint32_t id = s.btf->SkipModifiers(t->type);
      const btf_type* vt = id != 0 ? TypeById(s, id) : nullptr;
      if (vt == nullptr) {
        DefaultShow(s, vt);
        return;
      }
      ShowType(s, vt, id, data, bits_offset);
      return;
    }
    case BTF_KIND_DATASEC:
      DatasecShow(s, t, type_id, data, bits_offset);
      return;
    default:  // fwd, func, func_proto, float, decl_tag
      DefaultShow(s, t);
      return;
  }
}

}  // namespace

long ShowBtf(const void* ptr, uint32_t btf_ptr_size, uint64_t flags,
             const ReadableFn* readable, std::string* text) {
  if (flags & ~kShowAll) return -EINVAL;
  if (btf_ptr_size != sizeof(struct btf_ptr)) return -EINVAL;
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return -EINVAL;
  struct btf_ptr bp;
  std::memcpy(&bp, ptr, sizeof(bp));
  if (bp.type_id == 0) return -EINVAL;
  const btf_type* t = btf->Type(bp.type_id);
  if (t == nullptr) return -ENOENT;
  const auto* data = static_cast<const uint8_t*>(bp.ptr);
  // btf_show_obj_safe(): the top-level object is copied in (at most 32
  // bytes at a time) before anything is shown, and a failed copy is the
  // answer. A type without a size (a function) shows its placeholder
  // without reading.
  const int64_t size = btf->Size(bp.type_id);
  const uint64_t need = size > 0 ? static_cast<uint64_t>(size) : 1;
  const uint64_t addr = reinterpret_cast<uint64_t>(data);
  if (size > 0) {
    // copy_from_kernel_nofault: a user-half address is refused (-ERANGE),
    // an unmapped kernel one faults (-EFAULT). The interpreter's kernel
    // memory is the program's own; natively every address but the NULL
    // page is.
    constexpr uint64_t kUserEnd = (uint64_t{1} << 47);  // TASK_SIZE_MAX + page
    const bool ok =
        readable != nullptr ? (*readable)(addr, need) : addr >= 4096;
    if (!ok) return addr < kUserEnd ? -ERANGE : -EFAULT;
  }
  Show s;
  s.btf = btf;
  s.flags = flags;
  ShowType(s, t, bp.type_id, data, 0);
  if (s.status != 0) return s.status;
  *text = std::move(s.text);
  return 0;
}

long SnprintfBtf(char* str, uint32_t str_size, const void* ptr,
                 uint32_t btf_ptr_size, uint64_t flags,
                 const ReadableFn* readable) {
  std::string text;
  if (long err = ShowBtf(ptr, btf_ptr_size, flags, readable, &text); err) {
    return err;
  }
  // btf_snprintf_show(): vsnprintf piece by piece, the first piece that
  // does not fit cut with a NUL and nothing written after it.
  if (str_size != 0) {
    const size_t n = std::min<size_t>(text.size(), str_size - 1);
    std::memcpy(str, text.data(), n);
    str[n] = '\0';
  }
  return static_cast<long>(text.size());
}

}  // namespace bpfemu::native
