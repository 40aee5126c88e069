// SPDX-License-Identifier: Apache-2.0
// cli/btf_value.h: bpftool's pretty JSON layout, and values through BTF
// that does not describe them (a map file another user crafted): refused
// by BtfElemFits, or printed within the bytes given, never beyond them.
// The output for real maps is compared with bpftool by tests/cli/cli_test.sh.

#include "cli/btf_value.h"

#include <linux/btf.h>

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace bpfemu::cli {
namespace {

TEST(PrettyJson, FollowsBpftoolsWriter) {
  EXPECT_EQ(PrettyJson("[{\"key\":[\"0x01\"],\"v\":{},\"e\":[]}]\n"),
            "[{\n"
            "        \"key\": [\"0x01\"\n"
            "        ],\n"
            "        \"v\": {},\n"
            "        \"e\": []\n"
            "    }\n"
            "]\n");
  // Escaped quotes and brackets inside strings are text.
  EXPECT_EQ(PrettyJson("{\"error\":\"a \\\"[x]\\\", b\"}\n"),
            "{\n    \"error\": \"a \\\"[x]\\\", b\"\n}\n");
  EXPECT_EQ(PrettyJson("null\n"), "null\n");
  // Not JSON: kept, never a crash.
  EXPECT_EQ(PrettyJson("]]}"), "]]}");
  PrettyJson("{\"unterminated");
  PrettyJson("[[[[");
}

uint32_t Int(native::BtfData& b, const char* name, uint32_t size,
             uint32_t enc) {
  btf_type t = {};
  t.name_off = static_cast<uint32_t>(b.AddStr(name));
  t.info = BTF_KIND_INT << 24;
  t.size = size;
  const uint32_t id = b.AddType(&t, sizeof(t));
  const uint32_t bits = enc << 24 | size * 8;
  b.AppendToLast(&bits, sizeof(bits));
  return id;
}

uint32_t Typedef(native::BtfData& b, const char* name, uint32_t to) {
  btf_type t = {};
  t.name_off = static_cast<uint32_t>(b.AddStr(name));
  t.info = BTF_KIND_TYPEDEF << 24;
  t.type = to;
  return b.AddType(&t, sizeof(t));
}

std::string Dump(const BtfElem& e, const std::vector<uint8_t>& key,
                 const std::vector<uint8_t>& value, bool plain) {
  std::string out;
  JsonWriter w(&out, plain);
  DumpBtfElem(w, e, key.data(), value.data(), false, 1, 8, plain);
  return out;
}

TEST(BtfValue, SizesMustMatch) {
  native::BtfData b;
  const uint32_t u32 = Int(b, "unsigned int", 4, 0);
  const uint32_t s64 = Int(b, "long", 8, BTF_INT_SIGNED);
  EXPECT_TRUE(BtfElemFits({&b, u32, s64, 4, 8}));
  EXPECT_FALSE(BtfElemFits({&b, u32, s64, 4, 4}));  // value smaller
  EXPECT_FALSE(BtfElemFits({&b, s64, s64, 4, 8}));  // key smaller
  EXPECT_FALSE(BtfElemFits({&b, u32, 99, 4, 8}));   // no such type
  EXPECT_FALSE(BtfElemFits({&b, u32, 0, 4, 8}));    // no value type
  EXPECT_TRUE(BtfElemFits({&b, 0, u32, 0, 4}));     // keyless map
  const std::vector<uint8_t> key = {7, 0, 0, 0};
  const std::vector<uint8_t> value = {0xfe, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(Dump({&b, u32, s64, 4, 8}, key, value, false),
            "{\"key\":7,\"value\":-2}");
}

TEST(BtfValue, TypedefCycleStops) {
  native::BtfData b;
  const uint32_t a = Typedef(b, "a", 2);  // a -> b -> a
  Typedef(b, "b", a);
  const std::vector<uint8_t> bytes(8);
  EXPECT_FALSE(BtfElemFits({&b, 0, a, 0, 8}));
  // Printed anyway (a caller that skipped the check): it ends.
  const std::string out = Dump({&b, 0, a, 0, 8}, {}, bytes, false);
  EXPECT_EQ(out.rfind("{\"value\":", 0), 0u) << out;
}

TEST(BtfValue, StaysInsideTheBytes) {
  native::BtfData b;
  const uint32_t u64 = Int(b, "unsigned long", 8, 0);
  // Structs claiming 8 bytes: one with its member at byte 4096, one with a
  // bitfield wider than 128 bits.
  const auto one_member = [&](const char* name, btf_member m) {
    btf_type s = {};
    s.name_off = static_cast<uint32_t>(b.AddStr(name));
    s.info = BTF_KIND_STRUCT << 24 | 1u << 31 | 1;
    s.size = 8;
    const uint32_t id = b.AddType(&s, sizeof(s));
    b.AppendToLast(&m, sizeof(m));
    return id;
  };
  const uint32_t far =
      one_member("far", {static_cast<uint32_t>(b.AddStr("x")), u64, 4096 * 8});
  const uint32_t wide = one_member(
      "wide", {static_cast<uint32_t>(b.AddStr("y")), u64, 200u << 24});
  const std::vector<uint8_t> bytes(8, 0xab);
  EXPECT_EQ(Dump({&b, 0, far, 0, 8}, {}, bytes, false),
            "{\"value\":{\"x\":(invalid)}}");
  EXPECT_EQ(Dump({&b, 0, wide, 0, 8}, {}, bytes, false),
            "{\"value\":{\"y\":(invalid)}}");
  // A 3-bit field at bit 5: bpftool's hex, bare in plain text.
  const uint32_t bits = one_member(
      "bits", {static_cast<uint32_t>(b.AddStr("z")), u64, 3u << 24 | 5});
  EXPECT_EQ(Dump({&b, 0, bits, 0, 8}, {}, bytes, true),
            "{\n    \"value\": {\n        \"z\": 0x5\n    }\n}");
  EXPECT_EQ(Dump({&b, 0, bits, 0, 8}, {}, bytes, false),
            "{\"value\":{\"z\":\"0x5\"}}");
}

}  // namespace
}  // namespace bpfemu::cli
