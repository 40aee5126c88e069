// SPDX-License-Identifier: Apache-2.0
// KernelBtf: the vmlinux BTF parser's refusals on malformed blobs, its
// accessors on a hand-made blob, and lookups in the running kernel's BTF.
#include "emu/kernel_btf.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

// Builds a blob: types as u32 words, strings as one '\0'-separated block.
std::vector<uint8_t> Blob(const std::vector<uint32_t>& types,
                          const std::string& strs) {
  btf_header hdr = {};
  hdr.magic = BTF_MAGIC;
  hdr.version = BTF_VERSION;
  hdr.hdr_len = sizeof(hdr);
  hdr.type_len = types.size() * 4;
  hdr.str_off = hdr.type_len;
  hdr.str_len = strs.size();
  std::vector<uint8_t> raw(sizeof(hdr) + hdr.type_len + hdr.str_len);
  std::memcpy(raw.data(), &hdr, sizeof(hdr));
  std::memcpy(raw.data() + sizeof(hdr), types.data(), hdr.type_len);
  std::memcpy(raw.data() + sizeof(hdr) + hdr.type_len, strs.data(),
              strs.size());
  return raw;
}

constexpr uint32_t Info(uint32_t kind, uint32_t vlen) {
  return (kind << 24) | vlen;
}

// Strings: 1 "int", 5 "pair", 10 "a", 12 "b", 14 "loop".
const std::string kStrs("\0int\0pair\0a\0b\0loop\0", 20);

// 1: int (4 bytes); 2: struct pair { int a; int b; }; 3: int[3];
// 4: const -> 3; 5: typedef loop -> 6; 6: typedef -> 5; 7: ptr -> 2.
std::vector<uint32_t> Types() {
  return {
      1,  Info(BTF_KIND_INT, 0),
      4,  32,  // 1
      5,  Info(BTF_KIND_STRUCT, 2),
      8,  // 2
      10, 1,
      0,  //   a
      12, 1,
      32,  //   b
      0,  Info(BTF_KIND_ARRAY, 0),
      0,  1,
      1,  3,  // 3
      0,  Info(BTF_KIND_CONST, 0),
      3,  // 4
      14, Info(BTF_KIND_TYPEDEF, 0),
      6,  // 5
      0,  Info(BTF_KIND_TYPEDEF, 0),
      5,  // 6
      0,  Info(BTF_KIND_PTR, 0),
      2,  // 7
  };
}

TEST(KernelBtfTest, Accessors) {
  auto btf = KernelBtf::Parse(Blob(Types(), kStrs));
  ASSERT_NE(btf, nullptr);
  EXPECT_EQ(btf->TypeCount(), 8u);
  EXPECT_EQ(btf->Type(0), nullptr);
  EXPECT_EQ(btf->Type(8), nullptr);
  EXPECT_EQ(btf->Kind(2), uint32_t{BTF_KIND_STRUCT});
  EXPECT_EQ(btf->Name(2), "pair");
  EXPECT_EQ(btf->FindByNameKind("pair", BTF_KIND_STRUCT), 2);
  EXPECT_EQ(btf->FindByNameKind("pair", BTF_KIND_UNION), -ENOENT);
  EXPECT_EQ(btf->FindByNameKind("nope", BTF_KIND_INT), -ENOENT);
  EXPECT_EQ(btf->Size(1), 4);
  EXPECT_EQ(btf->Size(2), 8);
  EXPECT_EQ(btf->Size(3), 12);
  EXPECT_EQ(btf->Size(4), 12);  // const int[3]
  EXPECT_EQ(btf->Size(7), 8);
  EXPECT_EQ(btf->SkipModifiers(4), 3u);
  EXPECT_EQ(btf->SkipModifiers(5), 0u);  // a typedef loop
  EXPECT_EQ(btf->Size(5), -EINVAL);
  uint16_t n = 0;
  const btf_member* m = btf->Members(2, &n);
  ASSERT_EQ(n, 2);
  EXPECT_EQ(btf->Str(m[1].name_off), "b");
  EXPECT_EQ(m[1].offset, 32u);
  EXPECT_EQ(btf->Members(1, &n), nullptr);
  EXPECT_EQ(n, 0);
}

// FindMember looks into anonymous members: 8 is struct { int a; struct
// pair; } (size 12), whose `b` is pair's b at 4 + 4.
TEST(KernelBtfTest, FindMemberLooksIntoAnonymousMembers) {
  std::vector<uint32_t> types = Types();
  for (uint32_t w :
       {0u, Info(BTF_KIND_STRUCT, 2), 12u, 10u, 1u, 0u, 0u, 2u, 32u}) {
    types.push_back(w);
  }
  auto btf = KernelBtf::Parse(Blob(types, kStrs));
  ASSERT_NE(btf, nullptr);
  EXPECT_EQ(btf->FindMember(8, "a").offset, 0);
  const KernelBtf::Field b = btf->FindMember(8, "b");
  EXPECT_EQ(b.offset, 8);
  EXPECT_EQ(b.size, 4u);
  EXPECT_EQ(b.type, 1u);
  EXPECT_EQ(btf->FindMember(2, "b").offset, 4);
  EXPECT_EQ(btf->FindMember(8, "loop").offset, -1);
  EXPECT_EQ(btf->FindMember(1, "a").offset, -1);  // not a struct
}

TEST(KernelBtfTest, RefusesMalformedBlobs) {
  const std::vector<uint8_t> good = Blob(Types(), kStrs);
  auto refused = [](std::vector<uint8_t> raw) {
    return KernelBtf::Parse(std::move(raw)) == nullptr;
  };
  EXPECT_TRUE(refused({}));
  EXPECT_TRUE(refused(std::vector<uint8_t>(good.begin(), good.begin() + 20)));
  auto patch = [&](size_t off, uint32_t v) {
    std::vector<uint8_t> raw = good;
    std::memcpy(raw.data() + off, &v, 4);
    return raw;
  };
  EXPECT_TRUE(refused(patch(0, 0x1234)));  // magic and version
  EXPECT_TRUE(refused(patch(4, 0xffff)));  // hdr_len past the end
  EXPECT_TRUE(refused(patch(12, 4)));      // type section past the end
  EXPECT_TRUE(refused(patch(20, 4096)));   // string section past the end
  const size_t t = sizeof(btf_header);
  EXPECT_TRUE(refused(patch(t + 4, Info(31, 0))));        // unknown kind
  EXPECT_TRUE(refused(patch(t + 16 + 4, Info(4, 200))));  // vlen overrun
  EXPECT_TRUE(refused(patch(t, 1000)));                   // name_off
  // The last string must end in '\0'.
  std::vector<uint8_t> raw = good;
  raw.back() = 'x';
  EXPECT_TRUE(refused(raw));
  // Ids past the end of a broken chain are not followed.
  std::vector<uint32_t> types = Types();
  types[types.size() - 1] = 99;  // ptr -> 99
  auto btf = KernelBtf::Parse(Blob(types, kStrs));
  ASSERT_NE(btf, nullptr);
  EXPECT_EQ(btf->Size(7), 8);  // a pointer's size does not follow it
  EXPECT_EQ(btf->SkipModifiers(99), 0u);
  EXPECT_EQ(btf->Size(99), -EINVAL);
}

TEST(KernelBtfTest, RunningKernel) {
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    GTEST_SKIP() << "/sys/kernel/btf/vmlinux is not readable";
  }
  const KernelBtf* btf = KernelBtf::Get();
  ASSERT_NE(btf, nullptr);
  EXPECT_GT(btf->TypeCount(), 10000u);
  const int32_t task = btf->FindByNameKind("task_struct", BTF_KIND_STRUCT);
  ASSERT_GT(task, 0);
  EXPECT_GT(btf->Size(task), 1000);
  uint16_t n = 0;
  const btf_member* m = btf->Members(task, &n);
  bool has_pid = false;
  for (uint16_t i = 0; i < n; ++i) has_pid |= btf->Str(m[i].name_off) == "pid";
  EXPECT_TRUE(has_pid);
  // task_struct's pid and tgid, as CO-RE finds them.
  const KernelBtf::Field pid = btf->FindMember(task, "pid");
  const KernelBtf::Field tgid = btf->FindMember(task, "tgid");
  EXPECT_GT(pid.offset, 0);
  EXPECT_EQ(pid.size, 4u);
  EXPECT_EQ(tgid.offset, pid.offset + 4);
  EXPECT_EQ(btf->FindMember(task, "no_such_field").offset, -1);
  const int32_t fn = btf->FindByNameKind("bpf_map_lookup_elem", BTF_KIND_FUNC);
  EXPECT_TRUE(fn > 0 || fn == -ENOENT);
}

// btf_distill_func_proto() (kernel/bpf/btf.c): the call model of each
// prototype, or its refusal line in the kernel's order (the count first,
// then the return type, then each parameter in turn).
TEST(KernelBtfTest, DistillFuncProtoAsTheKernel) {
  btftest::Blob b;
  const uint32_t i32 = b.Int("int", 4, 32, BTF_INT_SIGNED);
  const uint32_t u64 = b.Int("unsigned long", 8, 64);
  const uint32_t s12 = b.Struct("s12", 12, {});
  const uint32_t s24 = b.Struct("s24", 24, {});
  const uint32_t empty = b.Struct("empty", 0, {});
  const uint32_t u8 = b.Struct("u8", 8, {}, /*is_union=*/true);
  const uint32_t flt = b.Type(b.Str("float"), btftest::Info(BTF_KIND_FLOAT), 4);
  const uint32_t cvoid = b.Ref(BTF_KIND_CONST, 0);
  const uint32_t ptr = b.Ref(BTF_KIND_PTR, s24);
  const uint32_t td = b.Ref(BTF_KIND_TYPEDEF, s12, "s12_t");
  const auto proto = [&](uint32_t ret, const std::vector<uint32_t>& args) {
    const uint32_t id = b.Type(
        0,
        btftest::Info(BTF_KIND_FUNC_PROTO, static_cast<uint32_t>(args.size())),
        ret);
    for (uint32_t a : args) {
      b.Word(0);
      b.Word(a);
    }
    return id;
  };
  struct Case {
    uint32_t proto;
    const char* line;  // "" when it has a model
  };
  const std::vector<Case> cases = {
      {proto(i32, {u64, td, ptr, i32}), ""},
      {proto(0, {}), ""},
      {proto(u64, std::vector<uint32_t>(12, i32)), ""},
      {proto(i32, std::vector<uint32_t>(13, i32)),
       "The function f has 13 arguments. Too many."},
      {proto(s12, {0}), "The function f return type STRUCT is unsupported."},
      {proto(u8, {}), "The function f return type UNION is unsupported."},
      {proto(flt, {}), "The function f return type FLOAT is unsupported."},
      {proto(i32, {i32, s24}),
       "The function f arg1 type STRUCT is unsupported."},
      {proto(i32, {flt}), "The function f arg0 type FLOAT is unsupported."},
      {proto(i32, {u8}), "The function f arg0 type UNION is unsupported."},
      {proto(i32, {cvoid, i32}),
       "The function f arg0 type UNKNOWN is unsupported."},
      {proto(i32, {i32, empty}), "The function f has malformed void argument."},
      {proto(i32, {i32, 0, i32}),
       "The function f has malformed void argument."},
      {proto(i32, {i32, 0}),
       "The function f with variable args is unsupported."},
      {proto(i32, {s24, 0}), "The function f arg0 type STRUCT is unsupported."},
  };
  auto btf = KernelBtf::Parse(b.Build());
  ASSERT_NE(btf, nullptr);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.proto);
    BtfFuncModel m;
    std::string log;
    const int err = DistillFuncProto(*btf, c.proto, "f", &m, &log);
    if (c.line[0] == 0) {
      EXPECT_EQ(err, 0);
      EXPECT_EQ(log, "");
    } else {
      EXPECT_EQ(err, -EINVAL);
      EXPECT_EQ(log, std::string(c.line) + "\n");
    }
  }
  // The model of the first: a signed int back; an unsigned long, a
  // 12-byte struct by value (through its typedef), a pointer, a signed int.
  BtfFuncModel m;
  ASSERT_EQ(DistillFuncProto(*btf, cases[0].proto, "f", &m, nullptr), 0);
  EXPECT_EQ(m.ret_size, 4);
  EXPECT_EQ(m.ret_flags, BtfFuncModel::kSignedArg);
  ASSERT_EQ(m.nr_args, 4);
  const uint8_t sizes[] = {8, 12, 8, 4};
  const uint8_t flags[] = {0, BtfFuncModel::kStructArg, 0,
                           BtfFuncModel::kSignedArg};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(m.arg_size[i], sizes[i]) << i;
    EXPECT_EQ(m.arg_flags[i], flags[i]) << i;
  }
  ASSERT_EQ(DistillFuncProto(*btf, cases[2].proto, "f", &m, nullptr), 0);
  EXPECT_EQ(m.nr_args, 12);
  EXPECT_EQ(m.ret_size, 8);
  EXPECT_EQ(m.ret_flags, 0);
}

}  // namespace
}  // namespace bpfemu
