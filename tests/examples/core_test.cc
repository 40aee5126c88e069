// SPDX-License-Identifier: Apache-2.0
// CO-RE relocations without root or /sys/kernel/btf: the emulated kernel's
// BTF is a small one made here (BPFEMU_VMLINUX_BTF, emu/btf_blobs.h) with
// the kernel types core.bpf.c relocates against, laid out differently from
// the real kernel's, so every recorded value is the one this BTF implies.
// Then the relocation engine's corners (loader/core_relo.h: ambiguous and
// pruned candidates, TYPE_MATCHES, bad records, instruction patching) and
// malformed .BTF.ext sections, with libbpf 1.1's errno for each.

#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/btf.h"
#include "loader/bytecode.h"
#include "loader/core_relo.h"
#include "loader/elf_object.h"
#include "loader/object.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

using btftest::Blob;
using btftest::Info;
using native::BtfExt;
using native::CoreRelo;
using native::CoreReloRes;

// Type ids of the small kernel BTF.
constexpr uint32_t kTaskStructId = 11;

uint32_t BitMember(uint32_t bits, uint32_t off) { return (bits << 24) | off; }

// int (1), unsigned int (2), unsigned char (3), u16 (4), char (5),
// unsigned char * (6), u64 (7), char[16] (8), struct { u32 mark; } (9),
// struct sk_buff (10), struct task_struct (11), struct iphdr (12..14),
// struct __sk_buff (15) with the uapi offsets, enum bpf_map_type (16).
std::vector<uint8_t> SmallKernelBtf() {
  Blob b;
  const uint32_t i32 = b.Int("int", 4, 32, BTF_INT_SIGNED);
  const uint32_t u32 = b.Int("unsigned int", 4, 32);
  const uint32_t u8 = b.Int("unsigned char", 1, 8);
  const uint32_t u16 = b.Int("short unsigned int", 2, 16);
  const uint32_t chr = b.Int("char", 1, 8);
  const uint32_t ptr = b.Ref(BTF_KIND_PTR, u8);
  b.Int("long long unsigned int", 8, 64);
  const uint32_t comm = b.Array(chr, i32, 16);
  const uint32_t anon = b.Struct("", 4, {{"mark", u32, 0}});
  b.Struct("sk_buff", 24,
           {{"head", ptr, 0},
            {"len", u32, 64},
            {"", anon, 128},
            {"protocol", u16, 160}});
  const uint32_t task = b.Struct("task_struct", 64,
                                 {{"flags", u32, 0},
                                  {"pid", i32, 32},
                                  {"tgid", i32, 64},
                                  {"comm", comm, 128}});
  EXPECT_EQ(task, kTaskStructId);
  const uint32_t addrs =
      b.Struct("", 8, {{"saddr", u32, 0}, {"daddr", u32, 32}});
  const uint32_t u = b.Struct("", 8, {{"", addrs, 0}}, /*is_union=*/true);
  b.Type(b.Str("iphdr"), Info(BTF_KIND_STRUCT, 6, /*kflag=*/true), 20);
  const std::pair<const char*, std::pair<uint32_t, uint32_t>> ip[] = {
      {"ihl", {u8, BitMember(4, 0)}},
      {"version", {u8, BitMember(4, 4)}},
      {"tos", {u8, 8}},
      {"tot_len", {u16, 16}},
      {"ttl", {u8, 64}},
      {"", {u, 96}}};
  for (const auto& [name, tm] : ip) {
    b.Word(*name ? b.Str(name) : 0);
    b.Word(tm.first);
    b.Word(tm.second);
  }
  b.Struct("__sk_buff", 192,
           {{"len", u32, 0},
            {"mark", u32, 64},
            {"protocol", u32, 128},
            {"priority", u32, 256}});
  b.Type(b.Str("bpf_map_type"), Info(BTF_KIND_ENUM, 4), 4);
  const std::pair<const char*, uint32_t> vals[] = {
      {"BPF_MAP_TYPE_UNSPEC", 0},
      {"BPF_MAP_TYPE_HASH", 1},
      {"BPF_MAP_TYPE_ARRAY", 2},
      {"BPF_MAP_TYPE_RINGBUF", 27}};
  for (const auto& [name, v] : vals) {
    b.Word(b.Str(name));
    b.Word(v);
  }
  return b.Build();
}

// The process's kernel BTF is read once: point it at the small one before
// anything asks.
const bool kBtfSet = [] {
  const std::vector<uint8_t> blob = SmallKernelBtf();
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") +
                           "/core_test_vmlinux." + std::to_string(getpid());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(blob.data()),
             static_cast<std::streamsize>(blob.size()));
  setenv("BPFEMU_VMLINUX_BTF", path.c_str(), 1);
  return true;
}();

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

TEST(CoreTest, RelocatesAgainstTheSmallKernelBtf) {
  ASSERT_TRUE(kBtfSet);
  ASSERT_NE(KernelBtf::Get(), nullptr);
  auto obj = native::Object::OpenBytecode("tests/examples/core.bpf.o");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("record");
  ASSERT_NE(prog, nullptr);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const native::PacketResult r = prog->RunSkb(packet);
  ASSERT_EQ(r.err, 0);
  EXPECT_EQ(r.retval, uint32_t{TC_ACT_OK});
  std::vector<uint64_t> v(64);
  for (uint32_t i = 0; i < 64; ++i) {
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &i, &v[i]), 0);
  }
  // The local task_struct___a's id in the object's own BTF.
  auto elf =
      native::ParseElfObject(ReadFile("tests/examples/core.bpf.o"), "core");
  ASSERT_TRUE(elf.ok());
  std::unique_ptr<native::BtfData> local;
  ASSERT_EQ(native::BtfData::Parse(elf->btf, nullptr, &local), 0);
  const int local_task = local->FindByName("task_struct___a");
  ASSERT_GT(local_task, 0);
  const std::pair<uint32_t, uint64_t> want[] = {
      {0, 8},       {1, 16},
      {2, 20},      {3, 0},
      {4, 4},       {5, 2},
      {6, 1},       {7, 0},
      {8, 4},       {9, 8},
      {10, 16},     {11, 16},
      {12, 19},     {13, 0},
      {14, 1},      {15, 0},
      {16, 8},      {17, 12},
      {18, 2},      {19, 1},
      {20, 0},      {21, 1},
      {22, 60},     {23, 60},
      {24, 56},     {25, 60},
      {26, 0},      {30, 1},
      {31, 0},      {32, 24},
      {33, 20},     {34, kTaskStructId},
      {35, 0},      {36, uint64_t(local_task)},
      {37, 4},      {38, 0},
      {40, 1},      {41, 0},
      {42, 1},      {43, 2},
      {44, 27},     {45, 888},
      {46, 999},    {50, packet.size()},
      {51, 0x5eed}, {52, 0x0008},
      {53, 0},      {54, 4}};
  for (const auto& [slot, value] : want) {
    EXPECT_EQ(v[slot], value) << "slot " << slot;
  }
}

TEST(CoreTest, ReachablePoisonIsRefused) {
  ASSERT_NE(KernelBtf::Get(), nullptr);
  auto obj = native::Object::OpenBytecode("tests/examples/core_poison.bpf.o");
  ASSERT_TRUE(obj.ok()) << obj.status();
  EXPECT_EQ((*obj)->Load(), -EINVAL);
}

// The interpreter's load: an unknown helper call is refused only where a
// walk that follows constant branches reaches it.
TEST(CoreTest, UnknownHelperOnlyWhereReachable) {
  const int32_t bad = native::kCorePoisonHelper;
  auto prog = [&](int32_t r0) {
    return std::vector<interp::RawInsn>{
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r0},
        {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1, 0},  // if r0 == 0 skip the call
        {BPF_JMP | BPF_CALL, 0, 0, 0, bad},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  };
  for (int32_t r0 : {0, 1}) {
    SCOPED_TRACE(r0);
    const std::vector<interp::RawInsn> insns = prog(r0);
    std::string log;
    const int fd = native::ProgLoadBytecode(
        BPF_PROG_TYPE_SCHED_CLS, 0, "p", insns.data(),
        static_cast<uint32_t>(insns.size()), "GPL", {0, 0, false, &log});
    if (r0 == 0) {
      EXPECT_GE(fd, 0);
      if (fd >= 0) CloseFd(fd);
    } else {
      EXPECT_EQ(fd, -EINVAL);
      EXPECT_EQ(log, "invalid func unknown#195896080\n");
    }
  }
  // An unknown value (a context load) leaves both branches reachable.
  std::vector<interp::RawInsn> insns = prog(0);
  insns[0] = {BPF_LDX | BPF_MEM | BPF_W, 0, 1, 0, 0};
  EXPECT_EQ(native::ProgLoadBytecode(BPF_PROG_TYPE_SCHED_CLS, 0, "p",
                                     insns.data(), 4, "GPL"),
            -EINVAL);
}

// --- .BTF.ext --------------------------------------------------------------

// A .BTF.ext: header of `hdr_len` bytes (24 or 32), then the func_info,
// line_info and core_relo subsections (words) back to back.
std::vector<uint8_t> Ext(const std::vector<uint32_t>& fi,
                         const std::vector<uint32_t>& li,
                         const std::vector<uint32_t>& cr,
                         uint32_t hdr_len = 32) {
  std::vector<uint32_t> w = {0x0001eB9F, hdr_len};
  uint32_t off = 0;
  for (const auto* s : {&fi, &li, &cr}) {
    if (s == &cr && hdr_len < 32) break;
    w.push_back(off);
    w.push_back(static_cast<uint32_t>(s->size() * 4));
    off += static_cast<uint32_t>(s->size() * 4);
  }
  std::vector<uint8_t> out(hdr_len);
  std::memcpy(out.data(), w.data(), std::min<size_t>(hdr_len, w.size() * 4));
  for (const auto* s : {&fi, &li, &cr}) {
    if (s == &cr && hdr_len < 32) break;
    const auto* p = reinterpret_cast<const uint8_t*>(s->data());
    out.insert(out.end(), p, p + s->size() * 4);
  }
  return out;
}

TEST(CoreTest, BtfExtParsesRecords) {
  // func_info: record size 8, one section of one record; core_relo: record
  // size 20 (larger than struct bpf_core_relo), two sections.
  const std::vector<uint8_t> e =
      Ext({8, 1, 1, 0, 5}, {},
          {20, 7, 1, 8, 2, 3, 0, 99, 9, 2, 16, 3, 4, 6, 99, 24, 5, 6, 10, 99});
  BtfExt ext;
  ASSERT_EQ(native::ParseBtfExt(e, &ext), 0);
  EXPECT_EQ(ext.func_info_rec_size, 8u);
  EXPECT_EQ(ext.func_info_secs, 1u);
  ASSERT_EQ(ext.core_relos.size(), 2u);
  EXPECT_EQ(ext.core_relos[0].sec_name_off, 7u);
  ASSERT_EQ(ext.core_relos[0].relos.size(), 1u);
  EXPECT_EQ(ext.core_relos[0].relos[0].insn_off, 8u);
  EXPECT_EQ(ext.core_relos[0].relos[0].kind, 0u);
  ASSERT_EQ(ext.core_relos[1].relos.size(), 2u);
  EXPECT_EQ(ext.core_relos[1].relos[1].insn_off, 24u);
  EXPECT_EQ(ext.core_relos[1].relos[1].kind, 10u);
  // Without the optional core_relo header fields: no relocations.
  ASSERT_EQ(native::ParseBtfExt(Ext({8, 1, 1, 0, 5}, {}, {}, 24), &ext), 0);
  EXPECT_TRUE(ext.core_relos.empty());
}

TEST(CoreTest, MalformedBtfExtGetsLibbpfErrno) {
  const std::vector<uint8_t> good = Ext({8, 1, 1, 0, 5}, {}, {});
  auto with = [&](size_t at, uint8_t byte) {
    std::vector<uint8_t> e = good;
    e[at] = byte;
    return e;
  };
  auto word = [&](std::vector<uint8_t> e, size_t at, uint32_t v) {
    std::memcpy(e.data() + at, &v, 4);
    return e;
  };
  struct Case {
    const char* name;
    std::vector<uint8_t> blob;
    int want;
  };
  const std::vector<Case> cases = {
      {"empty", {}, -EINVAL},
      {"7 bytes", std::vector<uint8_t>(good.begin(), good.begin() + 7),
       -EINVAL},
      {"hdr_len past the end", word(good, 4, 4096), -EINVAL},
      {"bad magic", with(0, 0), -EINVAL},
      {"byte-swapped magic", word(good, 0, 0x00019FeB), -ENOTSUP},
      {"version 2", with(2, 2), -ENOTSUP},
      {"flags", with(3, 1), -ENOTSUP},
      {"header only", std::vector<uint8_t>(good.begin(), good.begin() + 32),
       -EINVAL},
      {"hdr_len 16", word(good, 4, 16), -EINVAL},
      {"misaligned func_info", word(good, 8, 2), -EINVAL},
      {"func_info past the end", word(good, 12, 24), -EINVAL},
      {"func_info shorter than a record size", word(good, 12, 2), -EINVAL},
      {"record size below the minimum", Ext({4, 1, 1, 0}, {}, {}), -EINVAL},
      {"record size not a multiple of 4", Ext({10, 1, 1, 0, 5, 0}, {}, {}),
       -EINVAL},
      {"no records", Ext({8}, {}, {}), -EINVAL},
      {"truncated section header", Ext({8, 1}, {}, {}), -EINVAL},
      {"num_info 0", Ext({8, 1, 0}, {}, {}), -EINVAL},
      {"num_info past the end", Ext({8, 1, 2, 0, 5}, {}, {}), -EINVAL},
      {"num_info * rec_size beyond 32 bits",
       Ext({}, {}, {16, 1, 0x40000000, 0, 0, 0, 0}), -EINVAL},
      {"line_info record below 16", Ext({}, {8, 1, 1, 0, 0}, {}), -EINVAL},
      {"core_relo record below 16", Ext({}, {}, {12, 1, 1, 0, 0, 0}), -EINVAL},
  };
  for (const Case& c : cases) {
    BtfExt ext;
    EXPECT_EQ(native::ParseBtfExt(c.blob, &ext), c.want) << c.name;
  }
  BtfExt ext;
  EXPECT_EQ(native::ParseBtfExt(good, &ext), 0);
}

// --- the relocation engine -------------------------------------------------

// A kernel BTF with two flavors of struct s and one local BTF, and a
// record against the local type `local_id`.
struct Engine {
  std::unique_ptr<KernelBtf> kern;
  std::unique_ptr<native::BtfData> local;
  native::CoreCandCache cache;
  std::string log;
  int Calc(uint32_t type_id, const char* access, uint32_t kind,
           CoreReloRes* res) {
    const int off = local->AddStr(access);
    CoreRelo r{0, type_id, static_cast<uint32_t>(off), kind};
    return native::CoreCalcRelo("p", r, 0, *local, *kern, &cache, res, &log);
  }
};

std::unique_ptr<native::BtfData> Local(const Blob& b) {
  std::unique_ptr<native::BtfData> d;
  EXPECT_EQ(native::BtfData::Parse(b.Build(), nullptr, &d), 0);
  return d;
}

TEST(CoreTest, CandidatesAmbiguousAndPruned) {
  Engine e;
  {
    Blob k;
    const uint32_t i32 = k.Int("int", 4, 32, BTF_INT_SIGNED);
    k.Struct("s", 4, {{"a", i32, 0}});                      // 2
    k.Struct("s___2", 8, {{"a", i32, 32}, {"b", i32, 0}});  // 3
    e.kern = KernelBtf::Parse(k.Build());
    ASSERT_NE(e.kern, nullptr);
  }
  Blob l;
  const uint32_t i32 = l.Int("int", 4, 32, BTF_INT_SIGNED);
  const uint32_t s = l.Struct("s___l", 8, {{"a", i32, 0}, {"b", i32, 32}});
  const uint32_t anon = l.Struct("", 4, {{"a", i32, 0}});
  e.local = Local(l);
  CoreReloRes res;
  // a alone: two candidates at different offsets.
  {
    Engine fresh{std::move(e.kern), std::move(e.local)};
    EXPECT_EQ(fresh.Calc(s, "0:0", native::kCoreFieldByteOffset, &res),
              -EINVAL);
    EXPECT_NE(fresh.log.find("field offset ambiguity"), std::string::npos);
    e.kern = std::move(fresh.kern);
    e.local = std::move(fresh.local);
  }
  // b first: only s___2 has it, so it is the only candidate left for a.
  ASSERT_EQ(e.Calc(s, "0:1", native::kCoreFieldByteOffset, &res), 0);
  EXPECT_EQ(res.new_val, 0u);
  ASSERT_EQ(e.Calc(s, "0:0", native::kCoreFieldByteOffset, &res), 0);
  EXPECT_EQ(res.new_val, 4u);
  // Bad records: -EINVAL.
  EXPECT_EQ(e.Calc(s, "0:", native::kCoreFieldByteOffset, &res), -EINVAL);
  EXPECT_EQ(e.Calc(s, "x", native::kCoreFieldByteOffset, &res), -EINVAL);
  EXPECT_EQ(e.Calc(s, "0:7", native::kCoreFieldByteOffset, &res), -EINVAL);
  EXPECT_EQ(e.Calc(s, "1", native::kCoreTypeSize, &res), -EINVAL);
  EXPECT_EQ(e.Calc(s, "0", 13, &res), -EINVAL);
  EXPECT_EQ(e.Calc(99, "0", native::kCoreTypeExists, &res), -EINVAL);
  EXPECT_EQ(e.Calc(anon, "0:0", native::kCoreFieldByteOffset, &res), -EINVAL);
  std::string deep = "0";
  for (int i = 0; i < 64; ++i) deep += ":0";
  EXPECT_EQ(e.Calc(s, deep.c_str(), native::kCoreFieldByteOffset, &res),
            -EINVAL);
  // TYPE_ID_LOCAL needs no candidate, even for an anonymous type.
  ASSERT_EQ(e.Calc(anon, "0", native::kCoreTypeIdLocal, &res), 0);
  EXPECT_EQ(res.new_val, anon);
  EXPECT_FALSE(res.validate);
}

TEST(CoreTest, TypeMatchesAndPoison) {
  Engine e;
  {
    Blob k;
    const uint32_t i32 = k.Int("int", 4, 32, BTF_INT_SIGNED);
    const uint32_t i64 = k.Int("long", 8, 64, BTF_INT_SIGNED);
    k.Struct("t", 16, {{"a", i32, 0}, {"b", i64, 64}});
    k.Type(k.Str("e"), Info(BTF_KIND_ENUM, 1), 4);
    k.Word(k.Str("E_ONE"));
    k.Word(1);
    e.kern = KernelBtf::Parse(k.Build());
    ASSERT_NE(e.kern, nullptr);
  }
  Blob l;
  const uint32_t i32 = l.Int("int", 4, 32, BTF_INT_SIGNED);
  const uint32_t i64 = l.Int("long", 8, 64, BTF_INT_SIGNED);
  const uint32_t t_ok = l.Struct("t___ok", 4, {{"a", i32, 0}});
  const uint32_t t_wide = l.Struct("t___wide", 8, {{"a", i64, 0}});
  const uint32_t t_extra = l.Struct("t___extra", 8, {{"c", i32, 0}});
  const uint32_t en = l.Type(l.Str("e"), Info(BTF_KIND_ENUM, 2), 4);
  l.Word(l.Str("E_ONE___x"));
  l.Word(5);
  l.Word(l.Str("E_TWO"));
  l.Word(6);
  e.local = Local(l);
  CoreReloRes res;
  ASSERT_EQ(e.Calc(t_ok, "0", native::kCoreTypeMatches, &res), 0);
  EXPECT_EQ(res.new_val, 1u);
  ASSERT_EQ(e.Calc(t_wide, "0", native::kCoreTypeMatches, &res), 0);
  EXPECT_EQ(res.new_val, 0u);  // int sizes differ
  ASSERT_EQ(e.Calc(t_extra, "0", native::kCoreTypeMatches, &res), 0);
  EXPECT_EQ(res.new_val, 0u);  // no member c
  ASSERT_EQ(e.Calc(t_extra, "0", native::kCoreTypeExists, &res), 0);
  EXPECT_EQ(res.new_val, 1u);  // but compatible for TYPE_EXISTS
  ASSERT_EQ(e.Calc(en, "0", native::kCoreEnumvalValue, &res), 0);
  EXPECT_EQ(res.new_val, 1u);  // E_ONE___x is E_ONE
  EXPECT_EQ(res.orig_val, 5u);
  ASSERT_EQ(e.Calc(en, "1", native::kCoreEnumvalValue, &res), 0);
  EXPECT_TRUE(res.poison);  // no E_TWO in the kernel
  ASSERT_EQ(e.Calc(t_extra, "0:0", native::kCoreFieldByteOffset, &res), 0);
  EXPECT_TRUE(res.poison);
  ASSERT_EQ(e.Calc(t_extra, "0:0", native::kCoreFieldExists, &res), 0);
  EXPECT_FALSE(res.poison);
  EXPECT_EQ(res.new_val, 0u);
}

TEST(CoreTest, PatchInstructions) {
  std::string log;
  auto patch = [&](std::vector<interp::RawInsn> insns, uint32_t idx,
                   const CoreReloRes& res, int* err) {
    *err = native::CorePatchInsn("p", insns.data(), insns.size(), idx, 0, res,
                                 &log);
    return insns;
  };
  int err;
  CoreReloRes res;
  res.orig_val = 12;
  res.new_val = 112;
  const interp::RawInsn mov = {BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 12};
  EXPECT_EQ(patch({mov}, 0, res, &err)[0].imm, 112);
  EXPECT_EQ(err, 0);
  interp::RawInsn movx = mov;
  movx.code = BPF_ALU64 | BPF_MOV | BPF_X;
  patch({movx}, 0, res, &err);
  EXPECT_EQ(err, -EINVAL);
  interp::RawInsn wrong = mov;
  wrong.imm = 13;
  patch({wrong}, 0, res, &err);
  EXPECT_EQ(err, -EINVAL);  // not the value the compiler should have put
  // LDX: offset and, for a pointer or unsigned integer, the size.
  const interp::RawInsn ldx = {BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 12, 0};
  res.orig_sz = 8;
  res.new_sz = 4;
  auto out = patch({ldx}, 0, res, &err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(out[0].off, 112);
  EXPECT_EQ(out[0].code, BPF_LDX | BPF_MEM | BPF_W);
  res.new_val = 40000;
  patch({ldx}, 0, res, &err);
  EXPECT_EQ(err, -ERANGE);
  res.new_val = 112;
  res.fail_memsz_adjust = true;
  out = patch({ldx}, 0, res, &err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(out[0].code, BPF_JMP | BPF_CALL);
  EXPECT_EQ(out[0].imm, native::kCorePoisonHelper);
  // LD_IMM64: both halves, truncated refused, poison on both.
  res = CoreReloRes();
  res.orig_val = 31;
  res.new_val = 0x100000072;
  const interp::RawInsn lo = {BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 31};
  const interp::RawInsn hi = {0, 0, 0, 0, 0};
  out = patch({lo, hi}, 0, res, &err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(out[0].imm, 0x72);
  EXPECT_EQ(out[1].imm, 1);
  patch({lo}, 0, res, &err);
  EXPECT_EQ(err, -EINVAL);
  res.poison = true;
  out = patch({lo, hi}, 0, res, &err);
  EXPECT_EQ(out[1].code, BPF_JMP | BPF_CALL);
  EXPECT_EQ(out[1].imm, native::kCorePoisonHelper);
}

// Whole objects: records that do not fit their section, and a .BTF.ext
// that libbpf would ignore.
TEST(CoreTest, ObjectRecordsCheckedAsLibbpf) {
  auto elf =
      native::ParseElfObject(ReadFile("tests/examples/core.bpf.o"), "core");
  ASSERT_TRUE(elf.ok()) << elf.status();
  BtfExt ext;
  ASSERT_EQ(native::ParseBtfExt(elf->btf_ext, &ext), 0);
  ASSERT_EQ(ext.core_relos.size(), 1u);
  const KernelBtf* kern = KernelBtf::Get();
  ASSERT_NE(kern, nullptr);
  std::vector<std::vector<interp::RawInsn>> insns;
  std::string log;
  ASSERT_EQ(native::ApplyCoreRelos(*elf, kern, {true}, &insns, &log), 0) << log;
  EXPECT_NE(insns[0][1].imm, elf->programs[0].insns[1].imm);
  // Not autoloaded: left alone.
  ASSERT_EQ(native::ApplyCoreRelos(*elf, kern, {false}, &insns, &log), 0);
  EXPECT_EQ(insns[0][1].imm, elf->programs[0].insns[1].imm);
  // No kernel BTF.
  EXPECT_EQ(native::ApplyCoreRelos(*elf, nullptr, {true}, &insns, &log),
            -ESRCH);
  // The first record's insn_off (after header 32, func_info, line_info,
  // the record size and the section header).
  uint32_t hdr[8];
  std::memcpy(hdr, elf->btf_ext.data(), sizeof(hdr));
  const size_t first = hdr[1] + hdr[6] + 4 + 8;
  auto mutate = [&](size_t at, uint32_t v) {
    native::ElfObject m = *elf;
    std::memcpy(m.btf_ext.data() + at, &v, 4);
    log.clear();
    return native::ApplyCoreRelos(m, kern, {true}, &insns, &log);
  };
  EXPECT_EQ(mutate(first, 3), -EINVAL);           // misaligned insn_off
  EXPECT_EQ(mutate(first, 8 * 100000), 0);        // outside: skipped
  EXPECT_EQ(mutate(first + 4, 100000), -EINVAL);  // no such local type
  EXPECT_EQ(mutate(first - 8, 0), -EINVAL);       // empty section name
  EXPECT_EQ(mutate(first - 8, 1), -ENOENT);       // a section without
  EXPECT_NE(log.find("failed to find a BPF program"), std::string::npos);
  // A malformed .BTF.ext is ignored (libbpf 1.1: "Ignored and continue").
  EXPECT_EQ(mutate(first - 12, 3), 0);  // record size not a multiple of 4
  EXPECT_EQ(insns[0][1].imm, elf->programs[0].insns[1].imm);
}

}  // namespace
}  // namespace bpfemu::examples
