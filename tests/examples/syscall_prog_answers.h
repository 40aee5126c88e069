// SPDX-License-Identifier: Apache-2.0
// tests/examples/syscall_prog.bpf.c's answers as text, one line each, for
// syscall_prog_compare_test (bpfemu against the kernel) and syscall_prog_test
// (bpfemu against testdata/syscall_prog.expected, recorded on 6.18). Values
// that must differ between runs or kernels are written as their property:
// a new fd as "fd", a kernel BTF id as "id", %p's hash as "<hash>"; the
// kernel symbol lookups that depend on privilege are left out (compared
// apart).

#ifndef BPFEMU_TESTS_EXAMPLES_SYSCALL_PROG_ANSWERS_H_
#define BPFEMU_TESTS_EXAMPLES_SYSCALL_PROG_ANSWERS_H_

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "emu/interp.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/syscall_helpers.h"
#include "tests/examples/syscall_prog_cases.h"

namespace bpfemu::examples {

// bpf_snprintf's format grammar, case by case: `fmt` with data_len bytes
// of arguments (each 0x41), and what the kernel answers: -EINVAL where its
// verifier refuses the program (check_bpf_snprintf_call), else the
// helper's return into a 64-byte buffer. Measured on 6.18 by
// syscall_prog_compare_test (FormatGrammar).
struct FormatCase {
  const char* fmt;
  uint32_t data_len;
  int64_t want;
};
inline constexpr FormatCase kFormatCases[] = {
    {"%d", 24, 3},
    {"%5d", 24, 6},
    {"%-05d|", 24, 7},
    {"%#x", 24, -22},
    {"%.2d", 24, -22},
    {"%hd", 24, -22},
    {"%lc", 24, -22},
    {"%llld", 24, -22},
    {"%lli", 24, 3},
    {"%z", 24, -22},
    {"ab%", 24, -22},
    {"%%", 24, 2},
    {"%d%d%d%d", 24, -22},
    {"%s|", 24, 2},
    {"%sa", 24, -22},
    {"%s.", 24, 2},
    {"%pK", 24, 17},
    {"%px", 24, 17},
    {"%pxz", 24, 17},
    {"%pA", 24, -22},
    {"%pi4", 24, 16},
    {"%pI5", 24, -22},
    {"%pks", 24, 1},
    {"%pus", 24, 1},
    {"%pk", 24, -22},
    {"%pB", 24, 5},
    {"%p", 24, 17},
    {"%pS", 24, 5},
    {"a\x01"
     "b",
     24, -22},
    {"tab\there", 24, 9},
    {"%\xc3", 24, -22},
    {"%s\xc3", 24, -22},
    {"%pI4abc|", 24, 9},
    {"%c", 24, 2},
    {"%05s|", 24, 7},
    {"%+u", 24, 3},
    {"% x", 24, 3},
    {"%ld", 24, 3},
    {"%lX", 24, 3},
    {"%20px", 24, 21},
    {"x", 0, 2},
    {"%d", 0, -22},
    {"%-3c|", 24, 5},
    {"%pI6", 24, 40},
    {"%ps%", 24, -22},
    {"%d", 12, -22},
    {"%5%", 24, -22},
    {"%pi6 ", 24, 34},
};

// bpfemu's answer to a FormatCase: the verifier's check, then the helper.
inline int64_t EmuFormatCase(const FormatCase& c) {
  if (c.data_len % 8 != 0 ||
      native::Bprintf(c.fmt, UINT32_MAX, nullptr, c.data_len / 8, nullptr,
                      nullptr) < 0) {
    return -22;
  }
  uint64_t args[12];
  for (uint64_t& a : args) a = 0x41;
  char out[64];
  return native::Snprintf(out, sizeof(out), c.fmt,
                          c.data_len != 0 ? args : nullptr, c.data_len,
                          nullptr);
}

// A SYSCALL program calling bpf_snprintf(out, 64, fmt, args, data_len): out
// is 64 zeroed stack bytes, args 12 stack u64s of `arg` (NULL for data_len
// 0), fmt the value of `map_fd` (BPF_PSEUDO_MAP_VALUE); it returns what the
// helper returns. Its layout is struct bpf_insn's.
inline std::vector<interp::RawInsn> SnprintfInsns(int map_fd, uint32_t data_len,
                                                  int32_t arg) {
  std::vector<interp::RawInsn> p;
  auto ins = [&](uint8_t code, uint8_t dst, uint8_t src, int16_t off,
                 int32_t imm) {
    interp::RawInsn i = {};
    i.code = code;
    i.dst = dst;
    i.src = src;
    i.off = off;
    i.imm = imm;
    p.push_back(i);
  };
  for (int i = 1; i <= 20; ++i) {
    ins(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -8 * i, i <= 8 ? 0 : arg);
  }
  ins(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_3, BPF_PSEUDO_MAP_VALUE, 0, map_fd);
  ins(0, 0, 0, 0, 0);
  ins(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_10, 0, 0);
  ins(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, -64);
  ins(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 64);
  if (data_len != 0) {
    ins(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_10, 0, 0);
    ins(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, -160);
  } else {
    ins(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0);
  }
  ins(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_5, 0, 0,
      static_cast<int32_t>(data_len));
  ins(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_snprintf);
  ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return p;
}

// The SYSCALL-only helpers (syscall_prog_func_proto): a program of another
// type that calls one is refused at load with EINVAL, on the kernel as in
// the bytecode face. `load` loads `call id; exit` as `prog_type`.
inline constexpr int32_t kSyscallOnlyHelpers[] = {
    BPF_FUNC_sys_bpf, BPF_FUNC_btf_find_by_name_kind, BPF_FUNC_sys_close,
    BPF_FUNC_kallsyms_lookup_name};
template <typename Load>
void ExpectSyscallOnly(Load load) {
  for (uint32_t type : {BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_XDP,
                        BPF_PROG_TYPE_TRACEPOINT}) {
    for (int32_t id : kSyscallOnlyHelpers) {
      EXPECT_EQ(load(type, id), -EINVAL) << "type " << type << " helper " << id;
    }
  }
}

// The caller's 16 bytes make_maps copies (ctx->user_src).
inline constexpr uint8_t kUserBytes[16] = {
    'u', 's', 'e', 'r', 0, 0xff, 1, 2, 3, 4, 0x80, 0x7f, 'e', 'n', 'd', '!'};

inline std::string Hex(const uint8_t* p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    char b[4];
    std::snprintf(b, sizeof(b), "%02x", p[i]);
    out += b;
  }
  return out;
}

// One face's run of make_maps then format.
struct SyscallProgRun {
  int make_err = 0, format_err = 0;
  uint32_t make_retval = 0, format_retval = 0;
  syscall_ctx maps = {};        // make_maps's context after the run
  syscall_ctx fmt = {};         // format's
  std::vector<uint64_t> array;  // the array map through its fd, keys 0..4
  int array_key4 = 0;           // the lookup of key 4
  std::vector<std::pair<uint32_t, uint64_t>> hash;  // in key order
  str_out strs[NR_STRS] = {};
};

inline bool IsFdCase(int i) {
  return i == R_CREATE_ARRAY || i == R_CREATE_HASH || i == R_CREATE_THIRD ||
         i == R_SIZE_ZERO_TAIL || i == R_SIZE_PAGE || i == R_BTF_LOAD ||
         i == R_PROG_LOAD;
}
inline bool IsBtfIdCase(int i) {
  return i == R_BTF_STRUCT || i == R_BTF_TYPEDEF || i == R_BTF_FUNC ||
         i == R_BTF_JUNK || i == R_BTF_KIND_WIDE;
}

// A string of 16 hex digits: "<hash>".
inline std::string HashToken(const std::string& t) {
  if (t.size() != 16) return t;
  for (char c : t) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return t;
  }
  return "<hash>";
}

inline std::string Escaped(const str_out& s) {
  std::string out;
  for (int i = 0; i < STR_LEN; ++i) {
    const unsigned char c = static_cast<unsigned char>(s.s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02x", c);
      out += b;
    }
  }
  while (out.size() >= 4 && out.compare(out.size() - 4, 4, "\\x00") == 0) {
    out.resize(out.size() - 4);
  }
  return out;
}

inline std::vector<std::string> SyscallProgAnswers(const SyscallProgRun& r) {
  std::vector<std::string> lines;
  auto add = [&](const std::string& k, const std::string& v) {
    lines.push_back(k + " " + v);
  };
  add("make_maps",
      std::to_string(r.make_err) + " " + std::to_string(r.make_retval));
  add("format",
      std::to_string(r.format_err) + " " + std::to_string(r.format_retval));
  for (int i = 0; i < R_FMT; ++i) {
    if (i == R_KSYM || i == R_KSYM_MISSING) continue;
    const int64_t v = r.maps.ret[i];
    add("ret" + std::to_string(i), IsFdCase(i) && v >= 0 ? "fd"
                                   : IsBtfIdCase(i) && v > 0
                                       ? "id"
                                       : std::to_string(v));
  }
  for (int i = 0; i < NR_CMDS; ++i) {
    add("cmd" + std::to_string(i), std::to_string(r.maps.cmd_ret[i]));
  }
  add("ksym_bad", std::to_string(r.maps.ksym_bad));
  for (size_t k = 0; k < r.array.size(); ++k) {
    add("array" + std::to_string(k), std::to_string(r.array[k]));
  }
  add("array_key4", std::to_string(r.array_key4));
  for (const auto& [k, v] : r.hash) {
    add("hash" + std::to_string(k), std::to_string(v));
  }
  for (int i = 0; i < NR_STRS; ++i) {
    add("fmt" + std::to_string(i), std::to_string(r.fmt.ret[R_FMT + i]));
    std::string s = Escaped(r.strs[i]);
    if (i == 5) {  // "%px %pK %20px": %pK hashes (kptr_restrict 0)
      const size_t a = s.find(' '), b = s.find(' ', a + 1);
      if (a != std::string::npos && b != std::string::npos) {
        s = s.substr(0, a + 1) + HashToken(s.substr(a + 1, b - a - 1)) +
            s.substr(b);
      }
    } else if (i == 9) {  // "%p|%p"
      const size_t a = s.find('|');
      if (a != std::string::npos) s = HashToken(s.substr(0, a)) + s.substr(a);
    }
    add("str" + std::to_string(i), s);
  }
  for (int i = R_COPY; i < R_END; ++i) {
    add("ret" + std::to_string(i), std::to_string(r.maps.ret[i]));
  }
  add("copied", Hex(r.maps.copied, sizeof(r.maps.copied)));
  add("copied_bad", Hex(r.maps.copied_bad, sizeof(r.maps.copied_bad)));
  return lines;
}

// Reads the maps make_maps created through the fds it returned, with
// `lookup` / `next_key` (the kernel's or bpfemu's), then closes them.
template <typename Lookup, typename NextKey>
void ReadCreatedMaps(SyscallProgRun* r, Lookup lookup, NextKey next_key) {
  for (uint32_t k = 0; k < 4; ++k) {
    uint64_t v = 0;
    EXPECT_EQ(lookup(r->maps.array_fd, &k, &v), 0);
    r->array.push_back(v);
  }
  uint32_t k4 = 4;
  uint64_t v4 = 0;
  r->array_key4 = lookup(r->maps.array_fd, &k4, &v4);
  uint32_t key = 0, next = 0;
  const void* prev = nullptr;
  while (next_key(r->maps.hash_fd, prev, &next) == 0 && r->hash.size() < 16) {
    uint64_t v = 0;
    EXPECT_EQ(lookup(r->maps.hash_fd, &next, &v), 0);
    r->hash.emplace_back(next, v);
    key = next;
    prev = &key;
  }
  std::sort(r->hash.begin(), r->hash.end());
}

// make_maps and format on bpfemu, as native code or as bytecode.
inline void RunSyscallProgOnEmu(bool bytecode, SyscallProgRun* r) {
  auto obj =
      bytecode
          ? native::Object::OpenBytecode("tests/examples/syscall_prog.bpf.o")
          : native::Object::Open("syscall_prog");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* make = (*obj)->FindProgram("make_maps");
  const native::Program* format = (*obj)->FindProgram("format");
  ASSERT_NE(make, nullptr);
  ASSERT_NE(format, nullptr);
  EXPECT_EQ(make->type(), BPF_PROG_TYPE_SYSCALL);
  // The run's context: the program may reach U16_MAX bytes.
  std::vector<uint8_t> ctx(65535, 0);
  reinterpret_cast<syscall_ctx*>(ctx.data())->user_src =
      reinterpret_cast<uint64_t>(kUserBytes);
  r->make_retval = make->Run(ctx.data());
  EXPECT_FALSE(ProgFaulted()) << interp::LastFault();
  std::memcpy(&r->maps, ctx.data(), sizeof(r->maps));
  std::fill(ctx.begin(), ctx.end(), 0);
  r->format_retval = format->Run(ctx.data());
  EXPECT_FALSE(ProgFaulted()) << interp::LastFault();
  std::memcpy(&r->fmt, ctx.data(), sizeof(r->fmt));
  for (uint32_t i = 0; i < NR_STRS; ++i) {
    EXPECT_EQ(MapLookupElem((*obj)->MapFd("strs"), &i, &r->strs[i]), 0);
  }
  ReadCreatedMaps(
      r, [](int fd, const void* k, void* v) { return MapLookupElem(fd, k, v); },
      [](int fd, const void* k, void* n) { return MapGetNextKey(fd, k, n); });
  EXPECT_EQ(CloseFd(r->maps.array_fd), 0);
  EXPECT_EQ(CloseFd(r->maps.hash_fd), 0);
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_SYSCALL_PROG_ANSWERS_H_
