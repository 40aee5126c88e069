// SPDX-License-Identifier: Apache-2.0
#include "cli/btf_value.h"

#include <linux/btf.h>

#include <cctype>
#include <cstring>

#include "absl/strings/str_format.h"

namespace bpfemu::cli {

void JsonWriter::Separator() {
  if (sep_) *out_ += ',';
  sep_ = true;
}

void JsonWriter::LineBreak() {
  if (!pretty_) return;
  *out_ += '\n';
  out_->append(4 * depth_, ' ');
}

void JsonWriter::Begin(char c) {
  Separator();
  *out_ += c;
  ++depth_;
  sep_ = false;
}

void JsonWriter::End(char c) {
  --depth_;
  if (sep_) LineBreak();
  *out_ += c;
  sep_ = true;
}

void JsonWriter::Name(const std::string& name) {
  Separator();
  LineBreak();
  sep_ = false;
  String(name);
  sep_ = false;
  *out_ += pretty_ ? ": " : ":";
}

void JsonWriter::QuotedName(const std::string& token) {
  Separator();
  LineBreak();
  *out_ += token;
  sep_ = false;
  *out_ += pretty_ ? ": " : ":";
}

void JsonWriter::Raw(const std::string& text) {
  Separator();
  *out_ += text;
}

void JsonWriter::String(const std::string& s) {
  Separator();
  *out_ += '"';
  for (const char c : s) {
    switch (c) {
      case '\t':
        *out_ += "\\t";
        break;
      case '\n':
        *out_ += "\\n";
        break;
      case '\r':
        *out_ += "\\r";
        break;
      case '\f':
        *out_ += "\\f";
        break;
      case '\b':
        *out_ += "\\b";
        break;
      case '\\':
        *out_ += "\\\\";
        break;
      case '"':
        *out_ += "\\\"";
        break;
      default:
        *out_ += c;
    }
  }
  *out_ += '"';
}

void JsonWriter::IntField(const char* name, long long v) {
  Name(name);
  Raw(absl::StrFormat("%lld", v));
}

// The compact document is replayed through a pretty JsonWriter: strings
// are copied whole (a string followed by ':' is a name), brackets open and
// close levels, and any other run of characters is one value.
std::string PrettyJson(const std::string& compact) {
  std::string out;
  JsonWriter w(&out, true);
  size_t i = 0;
  unsigned depth = 0;
  while (i < compact.size()) {
    const char c = compact[i];
    if (c == '{' || c == '[') {
      c == '{' ? w.StartObject() : w.StartArray();
      ++depth;
      ++i;
    } else if (c == '}' || c == ']') {
      if (depth == 0) {  // not JSON: copied
        out += c;
        ++i;
        continue;
      }
      c == '}' ? w.EndObject() : w.EndArray();
      --depth;
      ++i;
    } else if (c == ',') {
      ++i;  // the writer places its own separators
    } else if (c == '"') {
      size_t j = i + 1;
      while (j < compact.size() && compact[j] != '"') {
        j += compact[j] == '\\' ? 2 : 1;
      }
      j = std::min(j + 1, compact.size());
      const std::string token = compact.substr(i, j - i);
      if (j < compact.size() && compact[j] == ':') {
        w.QuotedName(token);
        j += 1;
      } else {
        w.Raw(token);
      }
      i = j;
    } else if (depth == 0 && (c == '\n' || c == ' ')) {
      out += c;  // between documents
      ++i;
      w = JsonWriter(&out, true);
    } else {
      size_t j = i;
      while (j < compact.size() && !std::strchr("{}[],\"\n", compact[j])) ++j;
      w.Raw(compact.substr(i, j - i));
      i = j;
    }
  }
  return out;
}

namespace {

constexpr int kMaxDepth = 64;

// One btf_dumper walk over a value of `end - base` bytes.
class Dumper {
 public:
  Dumper(JsonWriter& w, const native::BtfData& btf, bool plain)
      : w_(w), btf_(btf), plain_(plain) {}

  // btf_dumper_do_type(); false where bpftool's returns an error.
  bool Type(uint32_t id, uint8_t bit_offset, const uint8_t* data,
            const uint8_t* end, int depth) {
    const btf_type* t = btf_.Type(id);
    if (t == nullptr || depth > kMaxDepth) return Invalid();
    switch (native::BtfKind(t)) {
      case BTF_KIND_INT:
        return Int(t, bit_offset, data, end);
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        return Struct(t, data, end, depth);
      case BTF_KIND_ARRAY:
        return Array(t, data, end, depth);
      case BTF_KIND_ENUM:
        return Enum(t, data, end);
      case BTF_KIND_ENUM64:
        return Enum64(t, data, end);
      case BTF_KIND_PTR: {
        uint64_t v;
        if (!Read(data, end, 8, &v)) return Invalid();
        // bpftool 7.1 prints "%p" bare in plain text (later versions quote
        // it).
        w_.Raw(plain_ ? (v == 0 ? "(nil)" : absl::StrFormat("0x%x", v))
                      : absl::StrFormat("%u", v));
        return true;
      }
      case BTF_KIND_UNKN:
        w_.Raw("(unknown)");
        return true;
      case BTF_KIND_FWD:
        w_.Raw("(fwd-kind-invalid)");
        return false;
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT: {
        const int real = btf_.ResolveType(id);
        if (real < 0) return false;
        return Type(static_cast<uint32_t>(real), bit_offset, data, end,
                    depth + 1);
      }
      case BTF_KIND_VAR:
        w_.StartObject();
        w_.Name(Name(t->name_off));
        {
          const bool ok = Type(t->type, bit_offset, data, end, depth + 1);
          w_.EndObject();
          return ok;
        }
      case BTF_KIND_DATASEC:
        return Datasec(t, data, end, depth);
      default:
        w_.Raw("(unsupported-kind");
        return false;
    }
  }

 private:
  bool Invalid() {
    w_.Raw("(invalid)");
    return false;
  }
  std::string Name(uint32_t off) const {
    const char* s = btf_.Str(off);
    return s == nullptr ? "" : s;
  }
  static bool Read(const uint8_t* data, const uint8_t* end, size_t n,
                   void* out) {
    if (data > end || static_cast<size_t>(end - data) < n) return false;
    std::memcpy(out, data, n);
    return true;
  }

  // btf_int128_print(): bare hex in plain text, a string in JSON.
  void Int128(uint64_t lo, uint64_t hi) {
    const std::string hex = hi == 0 ? absl::StrFormat("0x%x", lo)
                                    : absl::StrFormat("0x%x%016x", hi, lo);
    w_.Raw(plain_ ? hex : "\"" + hex + "\"");
  }

  // btf_dumper_bitfield(): `nr_bits` bits from `bit_offset` of `data`,
  // shifted out of a 128-bit little-endian number.
  bool Bitfield(uint32_t nr_bits, uint32_t bit_offset, const uint8_t* data,
                const uint8_t* end) {
    const uint32_t bits = bit_offset + nr_bits;
    if (nr_bits == 0 || bits > 128) return Invalid();
    unsigned __int128 v = 0;
    if (!Read(data, end, (bits + 7) / 8, &v)) return Invalid();
    v <<= 128 - bits;
    v >>= 128 - nr_bits;
    Int128(static_cast<uint64_t>(v), static_cast<uint64_t>(v >> 64));
    return true;
  }

  bool Int(const btf_type* t, uint8_t bit_offset, const uint8_t* data,
           const uint8_t* end) {
    const uint32_t enc = *reinterpret_cast<const uint32_t*>(t + 1);
    const uint32_t nr_bits = BTF_INT_BITS(enc);
    const auto bits = [&] {
      const uint32_t total = bit_offset + BTF_INT_OFFSET(enc);
      return Bitfield(nr_bits, total % 8, data + total / 8, end);
    };
    if (bit_offset != 0 || BTF_INT_OFFSET(enc) != 0 || nr_bits % 8 != 0) {
      return bits();
    }
    if (nr_bits == 128) {
      uint64_t v[2];
      if (!Read(data, end, 16, v)) return Invalid();
      Int128(v[0], v[1]);
      return true;
    }
    uint64_t raw = 0;
    switch (BTF_INT_ENCODING(enc)) {
      case 0:
      case BTF_INT_SIGNED: {
        const bool sign = BTF_INT_ENCODING(enc) == BTF_INT_SIGNED;
        const size_t n = nr_bits / 8;
        if (n != 1 && n != 2 && n != 4 && n != 8) return bits();
        if (!Read(data, end, n, &raw)) return Invalid();
        if (!sign) {
          w_.Raw(absl::StrFormat("%u", raw));
        } else {
          const int shift = 64 - static_cast<int>(nr_bits);
          w_.Raw(absl::StrFormat("%d",
                                 static_cast<int64_t>(raw << shift) >> shift));
        }
        return true;
      }
      case BTF_INT_CHAR: {
        char c;
        if (!Read(data, end, 1, &c)) return Invalid();
        if (std::isprint(static_cast<unsigned char>(c))) {
          w_.Raw(absl::StrFormat("\"%c\"", c));
        } else {
          w_.Raw(plain_ ? absl::StrFormat("0x%x", static_cast<uint8_t>(c))
                        : absl::StrFormat("\"\\u00%02x\"",
                                          static_cast<uint8_t>(c)));
        }
        return true;
      }
      case BTF_INT_BOOL: {
        uint8_t b;
        if (!Read(data, end, 1, &b)) return Invalid();
        w_.Raw(b ? "true" : "false");
        return true;
      }
      default:
        return false;
    }
  }

  bool Struct(const btf_type* t, const uint8_t* data, const uint8_t* end,
              int depth) {
    const bool kflag = native::BtfKflag(t);
    const auto* m = reinterpret_cast<const btf_member*>(t + 1);
    bool ok = true;
    w_.StartObject();
    for (uint16_t i = 0; i < native::BtfVlen(t) && ok; ++i) {
      uint32_t bit_offset = m[i].offset, bitfield_size = 0;
      if (kflag) {
        bitfield_size = BTF_MEMBER_BITFIELD_SIZE(bit_offset);
        bit_offset = BTF_MEMBER_BIT_OFFSET(bit_offset);
      }
      w_.Name(Name(m[i].name_off));
      const uint8_t* at = data + bit_offset / 8;
      if (bit_offset / 8 > static_cast<size_t>(end - data)) {
        ok = Invalid();
      } else if (bitfield_size != 0) {
        ok = Bitfield(bitfield_size, bit_offset % 8, at, end);
      } else {
        ok = Type(m[i].type, bit_offset % 8, at, end, depth + 1);
      }
    }
    w_.EndObject();
    return ok;
  }

  // is_str_array(): an array of 1-byte chars (modifiers skipped, typedefs
  // not) holding a printable string that ends inside it.
  bool IsString(const btf_array* a, const uint8_t* data,
                const uint8_t* end) const {
    if (a->nelems == 0) return false;
    const btf_type* e = btf_.Type(a->type);
    for (int n = 0; e != nullptr && n < kMaxDepth; ++n) {
      const uint32_t k = native::BtfKind(e);
      if (k != BTF_KIND_VOLATILE && k != BTF_KIND_CONST &&
          k != BTF_KIND_RESTRICT && k != BTF_KIND_TYPE_TAG) {
        break;
      }
      e = btf_.Type(e->type);
    }
    if (e == nullptr || native::BtfKind(e) != BTF_KIND_INT || e->size != 1) {
      return false;
    }
    const uint32_t enc = *reinterpret_cast<const uint32_t*>(e + 1);
    if (BTF_INT_ENCODING(enc) != BTF_INT_CHAR && Name(e->name_off) != "char") {
      return false;
    }
    for (uint32_t i = 0; i < a->nelems && data + i < end; ++i) {
      const auto c = static_cast<signed char>(data[i]);
      if (c == 0) return true;
      if (c <= 0x1f || c >= 0x7f) return false;
    }
    return false;
  }

  bool Array(const btf_type* t, const uint8_t* data, const uint8_t* end,
             int depth) {
    const auto* a = reinterpret_cast<const btf_array*>(t + 1);
    if (IsString(a, data, end)) {
      w_.String(reinterpret_cast<const char*>(data));
      return true;
    }
    const int64_t elem = btf_.ResolveSize(a->type);
    if (elem < 0) return false;
    bool ok = true;
    w_.StartArray();
    for (uint32_t i = 0; i < a->nelems && ok; ++i) {
      const uint64_t off = static_cast<uint64_t>(elem) * i;
      if (off > static_cast<uint64_t>(end - data)) {
        ok = Invalid();
        break;
      }
      ok = Type(a->type, 0, data + off, end, depth + 1);
    }
    w_.EndArray();
    return ok;
  }

  bool Enum(const btf_type* t, const uint8_t* data, const uint8_t* end) {
    int64_t v;
    switch (t->size) {
      case 1: {
        int8_t x;
        if (!Read(data, end, 1, &x)) return Invalid();
        v = x;
        break;
      }
      case 2: {
        int16_t x;
        if (!Read(data, end, 2, &x)) return Invalid();
        v = x;
        break;
      }
      case 4: {
        int32_t x;
        if (!Read(data, end, 4, &x)) return Invalid();
        v = x;
        break;
      }
      case 8:
        if (!Read(data, end, 8, &v)) return Invalid();
        break;
      default:
        return false;
    }
    const auto* e = reinterpret_cast<const btf_enum*>(t + 1);
    for (uint16_t i = 0; i < native::BtfVlen(t); ++i) {
      if (v == e[i].val) {
        w_.String(Name(e[i].name_off));
        return true;
      }
    }
    w_.Raw(absl::StrFormat("%d", v));
    return true;
  }

  bool Enum64(const btf_type* t, const uint8_t* data, const uint8_t* end) {
    uint64_t v;
    if (!Read(data, end, 8, &v)) return Invalid();
    const auto* e = reinterpret_cast<const btf_enum64*>(t + 1);
    for (uint16_t i = 0; i < native::BtfVlen(t); ++i) {
      if (static_cast<uint32_t>(v) == e[i].val_lo32 &&
          static_cast<uint32_t>(v >> 32) == e[i].val_hi32) {
        w_.String(Name(e[i].name_off));
        return true;
      }
    }
    w_.Raw(absl::StrFormat("%d", static_cast<int64_t>(v)));
    return true;
  }

  bool Datasec(const btf_type* t, const uint8_t* data, const uint8_t* end,
               int depth) {
    const auto* v = reinterpret_cast<const btf_var_secinfo*>(t + 1);
    bool ok = true;
    w_.StartObject();
    w_.Name(Name(t->name_off));
    w_.StartArray();
    for (uint16_t i = 0; i < native::BtfVlen(t) && ok; ++i) {
      if (v[i].offset > static_cast<size_t>(end - data)) {
        ok = Invalid();
        break;
      }
      ok = Type(v[i].type, 0, data + v[i].offset, end, depth + 1);
    }
    w_.EndArray();
    w_.EndObject();
    return ok;
  }

  JsonWriter& w_;
  const native::BtfData& btf_;
  bool plain_;
};

}  // namespace

bool BtfElemFits(const BtfElem& e) {
  if (e.btf == nullptr || e.value_type_id == 0) return false;
  if (e.key_type_id != 0 &&
      e.btf->ResolveSize(e.key_type_id) != static_cast<int64_t>(e.key_size)) {
    return false;
  }
  return e.btf->ResolveSize(e.value_type_id) ==
         static_cast<int64_t>(e.value_size);
}

void DumpBtfElem(JsonWriter& w, const BtfElem& e, const uint8_t* key,
                 const uint8_t* value, bool percpu, int ncpus, size_t stride,
                 bool plain) {
  Dumper d(w, *e.btf, plain);
  w.StartObject();
  bool ok = true;
  if (e.key_type_id != 0) {
    w.Name("key");
    ok = d.Type(e.key_type_id, 0, key, key + e.key_size, 0);
  }
  if (ok && !percpu) {
    w.Name("value");
    d.Type(e.value_type_id, 0, value, value + e.value_size, 0);
  } else if (ok) {
    w.Name("values");
    w.StartArray();
    for (int c = 0; c < ncpus; ++c) {
      const uint8_t* v = value + static_cast<size_t>(c) * stride;
      w.StartObject();
      w.IntField("cpu", c);
      w.Name("value");
      const bool cpu_ok = d.Type(e.value_type_id, 0, v, v + e.value_size, 0);
      w.EndObject();
      if (!cpu_ok) break;
    }
    w.EndArray();
  }
  w.EndObject();
}

}  // namespace bpfemu::cli
