// SPDX-License-Identifier: Apache-2.0
// tests/examples/snprintf_btf.bpf.c's scenario, shared by
// snprintf_btf_compare_test (the kernel against bpfemu's two faces) and
// snprintf_btf_test (bpfemu alone, against the record): kernel BTF types of
// every kind bpf_snprintf_btf shows (ints of each size and sign, chars,
// bools, typedefs, enums, structs with bitfields and anonymous unions,
// unions, byte arrays holding strings, pointers, a function), each under
// every combination of the four flags (pointers that are not NULL only
// with BTF_F_PTR_RAW: otherwise the kernel hashes them with its own secret
// key), some cut short by a small output, and the refusals.

#ifndef BPFEMU_TESTS_EXAMPLES_SNPRINTF_BTF_SCENARIO_H_
#define BPFEMU_TESTS_EXAMPLES_SNPRINTF_BTF_SCENARIO_H_

#include <bpf/btf.h>
#include <linux/btf.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "tests/examples/snprintf_btf_cases.h"
}

namespace bpfemu::examples::snprintf_btf {

struct Value {
  const char* name;
  uint32_t kind;
  std::vector<uint8_t> bytes;
  bool raw_only = false;  // holds pointers that are not NULL
};

template <typename T>
inline std::vector<uint8_t> Bytes(const T& v) {
  std::vector<uint8_t> b(sizeof(v));
  std::memcpy(b.data(), &v, sizeof(v));
  return b;
}

inline std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 37);
  return b;
}

inline std::vector<Value> Values() {
  std::vector<Value> v;
  v.push_back({"int", BTF_KIND_INT, Bytes(int32_t{-5})});
  v.push_back({"unsigned int", BTF_KIND_INT, Bytes(uint32_t{0})});
  v.push_back({"long int", BTF_KIND_INT, Bytes(int64_t{-1234567890123})});
  v.push_back({"short unsigned int", BTF_KIND_INT, Bytes(uint16_t{65535})});
  v.push_back({"char", BTF_KIND_INT, Bytes(char{'A'})});
  v.push_back({"unsigned char", BTF_KIND_INT, Bytes(uint8_t{7})});
  v.push_back({"_Bool", BTF_KIND_INT, Bytes(uint8_t{1})});
  v.push_back({"u64", BTF_KIND_TYPEDEF, Bytes(uint64_t{0xfedcba9876543210})});
  v.push_back({"__be16", BTF_KIND_TYPEDEF, Bytes(uint16_t{0x0008})});
  v.push_back({"bpf_map_type", BTF_KIND_ENUM, Bytes(uint32_t{2})});
  v.push_back({"bpf_map_type", BTF_KIND_ENUM, Bytes(uint32_t{999})});
  v.push_back({"bpf_map_type", BTF_KIND_ENUM, Bytes(uint32_t{0})});
  v.push_back({"ethhdr",
               BTF_KIND_STRUCT,
               {0x02, 'A', 'B', 0, 'C', 0x90, 'x', 0x01, 0xe9, 0x85, 0x7f, 0x20,
                0x08, 0x00}});
  v.push_back({"iphdr",
               BTF_KIND_STRUCT,
               {0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
                0xab, 0xcd, 10,   0,    0,    1,    10,   0,    0,    2}});
  v.push_back({"tcphdr",
               BTF_KIND_STRUCT,
               {0x04, 0xd2, 0x00, 0x50, 0,    0,    0, 1, 0, 0,
                0,    0,    0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0}});
  v.push_back({"timespec64", BTF_KIND_STRUCT,
               Bytes(std::pair<int64_t, int64_t>{1700000000, 123})});
  v.push_back({"list_head", BTF_KIND_STRUCT,
               Bytes(std::pair<uint64_t, uint64_t>{0xffff888012345678, 0}),
               true});
  v.push_back({"list_head", BTF_KIND_STRUCT,
               Bytes(std::pair<uint64_t, uint64_t>{0, 0})});
  v.push_back({"nf_inet_addr", BTF_KIND_UNION, Pattern(16, 3)});
  v.push_back({"cpumask", BTF_KIND_STRUCT, Pattern(8, 9)});
  std::vector<uint8_t> uts(6 * 65, 0);
  const char* fields[] = {"Linux",  "h\xe9st\x85", "6.18.44",
                          "#1 SMP", "x86_64",      ""};
  for (int i = 0; i < 6; ++i) {
    std::memcpy(uts.data() + i * 65, fields[i], std::strlen(fields[i]));
  }
  v.push_back({"new_utsname", BTF_KIND_STRUCT, uts});
  v.push_back({"sk_buff", BTF_KIND_STRUCT, std::vector<uint8_t>(SB_DATA, 0)});
  v.push_back({"schedule", BTF_KIND_FUNC, {}});
  return v;
}

using Run = std::function<int(sb_ctx*)>;

// The text with newlines, tabs, backslashes and bytes outside printable
// ASCII escaped, so that a record is one line.
inline std::string Escape(const char* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<uint8_t>(p[i]);
    if (c == '\n') {
      s += "\\n";
    } else if (c == '\\') {
      s += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02x", c);
      s += b;
    } else {
      s += static_cast<char>(c);
    }
  }
  return s;
}

inline std::string Line(const sb_ctx& c) {
  std::string s = "ret=" + std::to_string(c.ret) + " out=";
  size_t end = 0;
  while (end < sizeof(c.out) && c.out[end] != '\0') ++end;
  s += Escape(c.out, end);
  for (size_t i = end; i < sizeof(c.out); ++i) {
    if (c.out[i] != '\0') {
      s += " [bytes after the NUL]";
      break;
    }
  }
  return s;
}

// Every run's line: "NAME\tanswers", NAME naming the value (its index and
// type), the flags or the output size.
inline std::vector<std::string> Scenario(const struct btf* vmlinux,
                                         const Run& run, int* shown) {
  std::vector<std::string> out;
  auto one = [&](const std::string& key, uint32_t id,
                 const std::vector<uint8_t>& data, uint64_t flags,
                 uint32_t size, uint32_t null_ptr = 0, uint32_t psize = 16) {
    sb_ctx c = {};
    c.type_id = id;
    c.str_size = size;
    c.flags = flags;
    c.null_ptr = null_ptr;
    c.btf_ptr_size = psize;
    std::memcpy(c.data, data.data(), std::min<size_t>(data.size(), SB_DATA));
    const int err = run(&c);
    out.push_back(key + "\terr=" + std::to_string(err) + " " + Line(c));
  };
  const std::vector<Value> values = Values();
  for (size_t vi = 0; vi < values.size(); ++vi) {
    const Value& v = values[vi];
    const std::string name = std::to_string(vi) + "." + v.name;
    const int32_t id = btf__find_by_name_kind(vmlinux, v.name, v.kind);
    if (id <= 0) {
      out.push_back(name + "\tnot in the kernel BTF");
      continue;
    }
    for (uint64_t flags = 0; flags < 16; ++flags) {
      if (v.raw_only && !(flags & BTF_F_PTR_RAW)) continue;
      one(name + ".flags=" + std::to_string(flags), static_cast<uint32_t>(id),
          v.bytes, flags, SB_OUT);
      ++*shown;
    }
    for (uint32_t size : {1u, 7u, 30u}) {
      one(name + ".size=" + std::to_string(size), static_cast<uint32_t>(id),
          v.bytes, BTF_F_PTR_RAW, size);
    }
  }
  const int32_t int_id = btf__find_by_name_kind(vmlinux, "int", BTF_KIND_INT);
  one("type_0", 0, {}, 0, SB_OUT);
  one("type_past_the_end", 0x7fffffff, {}, 0, SB_OUT);
  one("flags_16", static_cast<uint32_t>(int_id), {}, 16, SB_OUT);
  one("btf_ptr_size_8", static_cast<uint32_t>(int_id), {}, 0, SB_OUT, 0, 8);
  one("null_value", static_cast<uint32_t>(int_id), {}, 0, SB_OUT, 1);
  return out;
}

}  // namespace bpfemu::examples::snprintf_btf

#endif  // BPFEMU_TESTS_EXAMPLES_SNPRINTF_BTF_SCENARIO_H_
