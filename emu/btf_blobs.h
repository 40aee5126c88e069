// SPDX-License-Identifier: Apache-2.0
// File: btf_blobs.h
//
// Test support: a raw BTF blob writer (include/uapi/linux/btf.h layout, no
// checks, so it can write every malformed shape) and the table of BTF_LOAD
// cases, valid and each class of invalid, with the errno Linux 6.18
// answers, shared by emu/btf_test.cc (the emulator alone) and
// kernel_compare/btf_compare_test.cc (the emulator against the kernel).

#ifndef BPFEMU_EMU_BTF_BLOBS_H_
#define BPFEMU_EMU_BTF_BLOBS_H_

#include <linux/btf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace bpfemu::btftest {

inline uint32_t Info(uint32_t kind, uint32_t vlen = 0, bool kflag = false) {
  return (kflag ? 1u << 31 : 0) | (kind << 24) | vlen;
}

class Blob {
 public:
  Blob() { strs_.push_back('\0'); }
  // A string's offset (appended each time).
  uint32_t Str(const std::string& s) {
    const uint32_t off = static_cast<uint32_t>(strs_.size());
    strs_.insert(strs_.end(), s.begin(), s.end());
    strs_.push_back('\0');
    return off;
  }
  void Word(uint32_t w) { types_.push_back(w); }
  // A struct btf_type; returns the new type's id.
  uint32_t Type(uint32_t name_off, uint32_t info, uint32_t size_or_type) {
    Word(name_off);
    Word(info);
    Word(size_or_type);
    return ++n_;
  }
  uint32_t Int(const std::string& name, uint32_t size, uint32_t bits,
               uint32_t enc = 0) {
    const uint32_t id = Type(Str(name), Info(BTF_KIND_INT), size);
    Word((enc << 24) | bits);
    return id;
  }
  uint32_t Ref(uint32_t kind, uint32_t type, const std::string& name = "") {
    return Type(name.empty() ? 0 : Str(name), Info(kind), type);
  }
  uint32_t Array(uint32_t elem, uint32_t index, uint32_t nelems) {
    const uint32_t id = Type(0, Info(BTF_KIND_ARRAY), 0);
    Word(elem);
    Word(index);
    Word(nelems);
    return id;
  }
  struct Member {
    std::string name;
    uint32_t type, bit_off;
  };
  uint32_t Struct(const std::string& name, uint32_t size,
                  const std::vector<Member>& ms, bool is_union = false) {
    const uint32_t id = Type(name.empty() ? 0 : Str(name),
                             Info(is_union ? BTF_KIND_UNION : BTF_KIND_STRUCT,
                                  static_cast<uint32_t>(ms.size())),
                             size);
    for (const Member& m : ms) {
      Word(m.name.empty() ? 0 : Str(m.name));
      Word(m.type);
      Word(m.bit_off);
    }
    return id;
  }
  uint32_t count() const { return n_; }

  // The blob: header, types, strings (or in another order with `strs_first`).
  std::vector<uint8_t> Build(bool strs_first = false) const {
    btf_header h = {};
    h.magic = BTF_MAGIC;
    h.version = BTF_VERSION;
    h.hdr_len = sizeof(h);
    const uint32_t tlen = static_cast<uint32_t>(types_.size() * 4);
    const uint32_t slen = static_cast<uint32_t>(strs_.size());
    h.type_len = tlen;
    h.str_len = slen;
    h.type_off = strs_first ? slen : 0;
    h.str_off = strs_first ? 0 : tlen;
    std::vector<uint8_t> out(sizeof(h) + tlen + slen);
    std::memcpy(out.data(), &h, sizeof(h));
    uint8_t* body = out.data() + sizeof(h);
    std::memcpy(body + h.type_off, types_.data(), tlen);
    std::memcpy(body + h.str_off, strs_.data(), slen);
    return out;
  }

 private:
  std::vector<uint32_t> types_;
  std::vector<char> strs_;
  uint32_t n_ = 0;
};

// Header field access on a built blob.
inline btf_header* Hdr(std::vector<uint8_t>* b) {
  return reinterpret_cast<btf_header*>(b->data());
}

struct LoadCase {
  std::string name;
  std::vector<uint8_t> blob;
  int want;  // -errno on Linux 6.18, or 0
};

// A blob with one int: the base of most header and section cases.
inline std::vector<uint8_t> OneInt() {
  Blob b;
  b.Int("int", 4, 32, BTF_INT_SIGNED);
  return b.Build();
}

// For map creation: u32 (1), u64 (2), struct pair { u32 a, b; } (3), a
// u32 var (4) in a .bss DATASEC (5), struct bpf_spin_lock (6),
// struct locked { struct bpf_spin_lock lock; u64 v; } (7), struct bpf_timer
// (8), struct timed { struct bpf_timer t; u64 v; } (9), struct two_timers
// { struct bpf_timer a, b; } (10), and struct lock_timer { struct
// bpf_spin_lock lock; u32 pad; struct bpf_timer t; } (11), struct
// lock_two_timers { struct bpf_spin_lock lock; u32 pad; struct bpf_timer a,
// b; } (12).
inline std::vector<uint8_t> MapBtf() {
  Blob b;
  const uint32_t u32 = b.Int("unsigned int", 4, 32);
  const uint32_t u64 = b.Int("unsigned long", 8, 64);
  b.Struct("pair", 8, {{"a", u32, 0}, {"b", u32, 32}});
  const uint32_t var = b.Type(b.Str("x"), Info(BTF_KIND_VAR), u32);
  b.Word(BTF_VAR_GLOBAL_ALLOCATED);
  b.Type(b.Str(".bss"), Info(BTF_KIND_DATASEC, 1), 4);
  b.Word(var);
  b.Word(0);
  b.Word(4);
  const uint32_t lock = b.Struct("bpf_spin_lock", 4, {{"val", u32, 0}});
  b.Struct("locked", 16, {{"lock", lock, 0}, {"v", u64, 64}});
  const uint32_t timer =
      b.Struct("bpf_timer", 16, {{"a", u64, 0}, {"b", u64, 64}});
  b.Struct("timed", 24, {{"t", timer, 0}, {"v", u64, 128}});
  b.Struct("two_timers", 32, {{"a", timer, 0}, {"b", timer, 128}});
  b.Struct("lock_timer", 24,
           {{"lock", lock, 0}, {"pad", u32, 32}, {"t", timer, 64}});
  b.Struct("lock_two_timers", 40,
           {{"lock", lock, 0},
            {"pad", u32, 32},
            {"a", timer, 64},
            {"b", timer, 192}});
  // tw50: struct bpf_task_work (6.18, 8 bytes) values: 13 the field, 14 a
  // value holding it, 15 two of them, 16 one at byte 4, 17 with a timer,
  // 18 two of them after a spin lock.
  const uint32_t tw = b.Struct("bpf_task_work", 8, {{"__opaque", u64, 0}});
  b.Struct("tw_elem", 24,
           {{"runs", u64, 0}, {"key", u64, 64}, {"tw", tw, 128}});
  b.Struct("two_tw", 16, {{"a", tw, 0}, {"b", tw, 64}});
  b.Struct("tw_at_4", 12, {{"pad", u32, 0}, {"tw", tw, 32}});
  b.Struct("tw_timer", 24, {{"t", timer, 0}, {"tw", tw, 128}});
  b.Struct(
      "lock_two_tw", 24,
      {{"lock", lock, 0}, {"pad", u32, 32}, {"a", tw, 64}, {"b", tw, 128}});
  return b.Build();
}

inline std::vector<LoadCase> LoadCases() {
  constexpr int kEnotsupp = 524;
  std::vector<LoadCase> cs;
  auto add = [&](std::string name, std::vector<uint8_t> blob, int want) {
    cs.push_back({std::move(name), std::move(blob), want});
  };
  auto with = [](std::vector<uint8_t> b,
                 const std::function<void(std::vector<uint8_t>*)>& f) {
    f(&b);
    return b;
  };
  auto one = [&](const std::function<void(Blob*)>& f) {
    Blob b;
    f(&b);
    return b.Build();
  };

  // --- valid ------------------------------------------------------------
  add("valid_int", OneInt(), 0);
  add("valid_rich", one([](Blob* b) {
        const uint32_t i = b->Int("int", 4, 32, BTF_INT_SIGNED);  // 1
        const uint32_t u8 = b->Int("unsigned char", 1, 8);        // 2
        const uint32_t node =
            b->Type(b->Str("node"), Info(BTF_KIND_STRUCT, 3), 24);  // 3
        const uint32_t ptr = 4;  // forward reference to the pointer below
        b->Word(b->Str("val"));
        b->Word(i);
        b->Word(0);
        b->Word(b->Str("next"));
        b->Word(ptr);
        b->Word(64);
        b->Word(b->Str("name"));
        b->Word(6);  // the array below
        b->Word(128);
        b->Ref(BTF_KIND_PTR, node);            // 4
        b->Ref(BTF_KIND_TYPEDEF, i, "myint");  // 5
        b->Array(u8, i, 8);                    // 6
        b->Ref(BTF_KIND_CONST, 5);             // 7
        b->Ref(BTF_KIND_VOLATILE, 7);          // 8
        const uint32_t e = b->Type(b->Str("color"), Info(BTF_KIND_ENUM, 2), 4);
        b->Word(b->Str("RED"));
        b->Word(0);
        b->Word(b->Str("BLUE"));
        b->Word(1);
        (void)e;                                              // 9
        b->Type(b->Str("big"), Info(BTF_KIND_ENUM64, 1), 8);  // 10
        b->Word(b->Str("HUGE"));
        b->Word(1);
        b->Word(2);
        b->Type(b->Str("double"), Info(BTF_KIND_FLOAT), 8);  // 11
        const uint32_t proto = b->Type(0, Info(BTF_KIND_FUNC_PROTO, 2), i);
        b->Word(b->Str("a"));
        b->Word(i);
        b->Word(b->Str("b"));
        b->Word(4);  // 12
        const uint32_t fn =
            b->Type(b->Str("f"), Info(BTF_KIND_FUNC, BTF_FUNC_GLOBAL), proto);
        const uint32_t var = b->Type(b->Str("counter"), Info(BTF_KIND_VAR), i);
        b->Word(BTF_VAR_GLOBAL_ALLOCATED);                       // 14
        b->Type(b->Str(".data"), Info(BTF_KIND_DATASEC, 1), 4);  // 15
        b->Word(var);
        b->Word(0);
        b->Word(4);
        b->Type(b->Str("tag"), Info(BTF_KIND_DECL_TAG), fn);  // 16
        b->Word(static_cast<uint32_t>(-1));
        const uint32_t tt = b->Ref(BTF_KIND_TYPE_TAG, i, "user");  // 17
        b->Ref(BTF_KIND_PTR, tt);                                  // 18
        b->Ref(BTF_KIND_FWD, 0, "opaque");                         // 19
        b->Struct("bits", 4, {{"a", i, 0}});                       // 20
      }),
      0);
  add("valid_long_header_zero_tail",
      with(OneInt(),
           [](std::vector<uint8_t>* b) {
             b->insert(b->begin() + sizeof(btf_header), 8, 0);
             Hdr(b)->hdr_len = sizeof(btf_header) + 8;
           }),
      0);
  // --- header ---------------------------------------------------------------
  add("hdr_len_not_found", std::vector<uint8_t>(6, 0), -EINVAL);
  add("empty_blob", {}, -EINVAL);
  add("hdr_len_beyond_size",
      with(OneInt(),
           [](std::vector<uint8_t>* b) {
             Hdr(b)->hdr_len = static_cast<uint32_t>(b->size() + 1);
           }),
      -EINVAL);
  add("hdr_nonzero_tail",
      with(OneInt(),
           [](std::vector<uint8_t>* b) {
             b->insert(b->begin() + sizeof(btf_header), 8, 0);
             (*b)[sizeof(btf_header) + 3] = 1;
             Hdr(b)->hdr_len = sizeof(btf_header) + 8;
           }),
      -E2BIG);
  add("bad_magic",
      with(OneInt(), [](std::vector<uint8_t>* b) { Hdr(b)->magic = 0x9feb; }),
      -EINVAL);
  add("bad_version",
      with(OneInt(), [](std::vector<uint8_t>* b) { Hdr(b)->version = 2; }),
      -kEnotsupp);
  add("bad_flags",
      with(OneInt(), [](std::vector<uint8_t>* b) { Hdr(b)->flags = 1; }),
      -kEnotsupp);
  add("no_data",
      with(OneInt(),
           [](std::vector<uint8_t>* b) { b->resize(sizeof(btf_header)); }),
      -EINVAL);

  // --- sections -------------------------------------------------------------
  add("type_off_beyond",
      with(OneInt(), [](std::vector<uint8_t>* b) { Hdr(b)->type_off = 4096; }),
      -EINVAL);
  add("sections_overlap",
      with(OneInt(),
           [](std::vector<uint8_t>* b) {
             Hdr(b)->str_off -= 4;
             Hdr(b)->str_len += 4;
             Hdr(b)->type_len -= 0;
           }),
      -EINVAL);
  add("sections_gap",
      with(OneInt(),
           [](std::vector<uint8_t>* b) {
             b->insert(b->begin() + sizeof(btf_header) + Hdr(b)->type_len, 4,
                       0);
             Hdr(b)->str_off += 4;
           }),
      -EINVAL);
  add("trailing_data",
      with(OneInt(),
           [](std::vector<uint8_t>* b) { b->insert(b->end(), 4, 0); }),
      -EINVAL);
  add("section_too_long",
      with(OneInt(), [](std::vector<uint8_t>* b) { Hdr(b)->str_len += 100; }),
      -EINVAL);
  add("type_len_zero",
      with(OneInt(),
           [](std::vector<uint8_t>* b) {
             const uint32_t tlen = Hdr(b)->type_len;
             b->erase(b->begin() + sizeof(btf_header),
                      b->begin() + sizeof(btf_header) + tlen);
             Hdr(b)->type_len = 0;
             Hdr(b)->str_off = 0;
           }),
      -EINVAL);
  add(
      "strings_not_at_end",
      [] {
        Blob b;
        b.Str("abc");  // "\0abc\0int\0": 9 bytes, padded below
        b.Int("int", 4, 32);
        std::vector<uint8_t> v = b.Build(/*strs_first=*/true);
        return v;
      }(),
      -EINVAL);

  // --- strings --------------------------------------------------------------
  add("str_len_zero",
      with(OneInt(),
           [](std::vector<uint8_t>* b) {
             b->resize(b->size() - Hdr(b)->str_len);
             Hdr(b)->str_len = 0;
           }),
      -EINVAL);
  add("strings_unterminated",
      with(OneInt(), [](std::vector<uint8_t>* b) { b->back() = 'x'; }),
      -EINVAL);
  add("first_string_not_empty",
      with(OneInt(),
           [](std::vector<uint8_t>* b) {
             (*b)[sizeof(btf_header) + Hdr(b)->str_off] = 'x';
           }),
      -EINVAL);

  // --- type metadata --------------------------------------------------------
  add("kind_unknown_0", one([](Blob* b) { b->Type(0, Info(0), 0); }), -EINVAL);
  add("kind_20", one([](Blob* b) { b->Type(0, Info(20), 0); }), -EINVAL);
  add("info_reserved_bits",
      one([](Blob* b) { b->Type(0, Info(BTF_KIND_PTR) | (1u << 23), 0); }),
      -EINVAL);
  add("name_off_out_of_range", one([](Blob* b) {
        b->Type(1000, Info(BTF_KIND_INT), 4);
        b->Word(32);
      }),
      -EINVAL);
  add("truncated_type", one([](Blob* b) {
        b->Type(b->Str("int"), Info(BTF_KIND_INT), 4);  // no int data word
      }),
      -EINVAL);
  add("int_vlen", one([](Blob* b) {
        b->Type(b->Str("int"), Info(BTF_KIND_INT, 1), 4);
        b->Word(32);
      }),
      -EINVAL);
  add("int_kflag", one([](Blob* b) {
        b->Type(b->Str("int"), Info(BTF_KIND_INT, 0, true), 4);
        b->Word(32);
      }),
      -EINVAL);
  add("int_bits_exceed_size", one([](Blob* b) { b->Int("int", 4, 33); }),
      -EINVAL);
  add("int_bits_129", one([](Blob* b) { b->Int("int", 16, 129); }), -EINVAL);
  add("int_bad_int_data", one([](Blob* b) {
        b->Type(b->Str("int"), Info(BTF_KIND_INT), 4);
        b->Word(0x10000020);
      }),
      -EINVAL);
  add("int_two_encodings",
      one([](Blob* b) { b->Int("int", 4, 32, BTF_INT_SIGNED | BTF_INT_CHAR); }),
      -kEnotsupp);
  add("ptr_with_name", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Ref(BTF_KIND_PTR, 1, "p");
      }),
      -EINVAL);
  add("typedef_without_name", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Ref(BTF_KIND_TYPEDEF, 1);
      }),
      -EINVAL);
  add("typedef_bad_identifier", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Ref(BTF_KIND_TYPEDEF, 1, "1abc");
      }),
      -EINVAL);
  add("struct_bad_name", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Struct("a-b", 4, {{"x", 1, 0}});
      }),
      -EINVAL);
  add("struct_member_void", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Struct("s", 4, {{"x", 0, 0}});
      }),
      -EINVAL);
  add("struct_member_beyond_size", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Struct("s", 4, {{"x", 1, 64}});
      }),
      -EINVAL);
  add("struct_member_exceeds_size", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Struct("s", 4, {{"x", 1, 0}, {"y", 1, 32}});
      }),
      -EINVAL);
  add("struct_members_out_of_order", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Struct("s", 8, {{"x", 1, 32}, {"y", 1, 0}});
      }),
      -EINVAL);
  add("union_member_offset", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Struct("u", 8, {{"x", 1, 32}}, /*is_union=*/true);
      }),
      -EINVAL);
  add("struct_member_unaligned", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Ref(BTF_KIND_PTR, 1);
        b->Struct("s", 16, {{"p", 2, 4}});
      }),
      -EINVAL);
  add("enum_size_3", one([](Blob* b) {
        b->Type(b->Str("e"), Info(BTF_KIND_ENUM, 1), 3);
        b->Word(b->Str("A"));
        b->Word(0);
      }),
      -EINVAL);
  add("enum_value_without_name", one([](Blob* b) {
        b->Type(b->Str("e"), Info(BTF_KIND_ENUM, 1), 4);
        b->Word(0);
        b->Word(0);
      }),
      -EINVAL);
  add("array_with_name", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Type(b->Str("a"), Info(BTF_KIND_ARRAY), 0);
        b->Word(1);
        b->Word(1);
        b->Word(2);
      }),
      -EINVAL);
  add("array_index_void", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Array(1, 0, 2);
      }),
      -EINVAL);
  add("array_index_not_int", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Ref(BTF_KIND_PTR, 1);
        b->Array(1, 2, 2);
      }),
      -EINVAL);
  add("array_size_overflow", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Array(1, 1, 0x80000000u);
      }),
      -EINVAL);
  add("fwd_with_type",
      one([](Blob* b) { b->Type(b->Str("f"), Info(BTF_KIND_FWD), 1); }),
      -EINVAL);
  add("float_size_3",
      one([](Blob* b) { b->Type(b->Str("f"), Info(BTF_KIND_FLOAT), 3); }),
      -EINVAL);
  add("var_bad_linkage", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Type(b->Str("v"), Info(BTF_KIND_VAR), 1);
        b->Word(7);
      }),
      -EINVAL);
  add("datasec_size_zero",
      one([](Blob* b) { b->Type(b->Str(".data"), Info(BTF_KIND_DATASEC), 0); }),
      -EINVAL);
  add("datasec_not_var", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Type(b->Str(".data"), Info(BTF_KIND_DATASEC, 1), 4);
        b->Word(1);
        b->Word(0);
        b->Word(4);
      }),
      -EINVAL);
  add("func_linkage_3", one([](Blob* b) {
        b->Type(0, Info(BTF_KIND_FUNC_PROTO), 0);
        b->Type(b->Str("f"), Info(BTF_KIND_FUNC, 3), 1);
      }),
      -EINVAL);
  add("func_not_proto", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Type(b->Str("f"), Info(BTF_KIND_FUNC), 1);
      }),
      -EINVAL);
  add("func_unnamed_arg", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Type(0, Info(BTF_KIND_FUNC_PROTO, 1), 1);
        b->Word(0);
        b->Word(1);
        b->Type(b->Str("f"), Info(BTF_KIND_FUNC), 2);
      }),
      -EINVAL);
  add("proto_return_var", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Type(b->Str("v"), Info(BTF_KIND_VAR), 1);
        b->Word(0);
        b->Type(0, Info(BTF_KIND_FUNC_PROTO), 2);
      }),
      -EINVAL);
  add("decl_tag_bad_component", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Struct("s", 4, {{"x", 1, 0}});
        b->Type(b->Str("tag"), Info(BTF_KIND_DECL_TAG), 2);
        b->Word(1);
      }),
      -EINVAL);
  add("decl_tag_on_int", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Type(b->Str("tag"), Info(BTF_KIND_DECL_TAG), 1);
        b->Word(static_cast<uint32_t>(-1));
      }),
      -EINVAL);

  // --- resolution -----------------------------------------------------------
  add("ptr_to_missing_id", one([](Blob* b) { b->Ref(BTF_KIND_PTR, 100); }),
      -EINVAL);
  add("member_missing_type", one([](Blob* b) {
        b->Struct("s", 4, {{"x", 100, 0}});
      }),
      -EINVAL);
  add("modifier_loop", one([](Blob* b) {
        b->Ref(BTF_KIND_CONST, 2);
        b->Ref(BTF_KIND_VOLATILE, 1);
      }),
      -EEXIST);
  add("struct_loop", one([](Blob* b) {
        b->Struct("a", 4, {{"b", 2, 0}});
        b->Struct("b", 4, {{"a", 1, 0}});
      }),
      -EEXIST);
  add("ptr_loop", one([](Blob* b) {
        b->Ref(BTF_KIND_PTR, 2);
        b->Ref(BTF_KIND_PTR, 1);
      }),
      -EEXIST);
  add("typedef_chain_40", one([](Blob* b) {
        for (uint32_t i = 1; i < 40; ++i) {
          b->Ref(BTF_KIND_TYPEDEF, i + 1, "t" + std::to_string(i));
        }
        b->Int("int", 4, 32);
      }),
      -E2BIG);
  add("type_tag_after_const", one([](Blob* b) {
        b->Int("int", 4, 32);
        b->Ref(BTF_KIND_TYPE_TAG, 1, "user");
        b->Ref(BTF_KIND_CONST, 2);
      }),
      -EINVAL);
  add("const_void", one([](Blob* b) { b->Ref(BTF_KIND_CONST, 0); }), 0);
  add("var_of_void_fwd", one([](Blob* b) {
        b->Ref(BTF_KIND_FWD, 0, "opaque");
        b->Type(b->Str("v"), Info(BTF_KIND_VAR), 1);
        b->Word(0);
      }),
      -EINVAL);
  add("member_func_proto", one([](Blob* b) {
        b->Type(0, Info(BTF_KIND_FUNC_PROTO), 0);
        b->Struct("s", 8, {{"f", 1, 0}});
      }),
      -EINVAL);
  return cs;
}

}  // namespace bpfemu::btftest

#endif  // BPFEMU_EMU_BTF_BLOBS_H_
