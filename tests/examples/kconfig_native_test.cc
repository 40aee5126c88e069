// SPDX-License-Identifier: Apache-2.0
// `extern ... __kconfig` variables in a native build (loader/gen_native.cc
// gives them storage, Object::Load fills it) against the same object as
// bytecode, whose .kconfig map libbpf's rules fill (loader/kconfig.h, and
// tests/dropin:kconfig_test against the real libbpf): the same values for
// the same Kconfig text, the same refusals.

#include <linux/bpf.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"

namespace bpfemu::examples {
namespace {

struct KconfigValues {
  uint64_t version, bpf, jit, chr, i, u16, u64, s8, not_set;
  char str[8];
};

// Loads kconfig_values natively or as bytecode with Kconfig text `text`,
// runs `copy` and reads `values`: the load's answer.
int LoadAndCopy(bool bytecode, const std::optional<std::string>& text,
                KconfigValues* out) {
  auto obj =
      bytecode
          ? native::Object::OpenBytecode("tests/examples/kconfig_values.bpf.o")
          : native::Object::Open("kconfig_values");
  EXPECT_TRUE(obj.ok()) << obj.status();
  if (!obj.ok()) return -1000;
  native::Object::LoadSettings s = (*obj)->DefaultSettings();
  s.kconfig = text;
  if (int err = (*obj)->Load(s); err != 0) return err;
  const native::Program* p = (*obj)->FindProgram("copy");
  EXPECT_NE(p, nullptr);
  if (p == nullptr) return -1001;
  const std::vector<uint8_t> pkt(64, 0);
  EXPECT_EQ(p->RunXdp(pkt).retval, static_cast<uint32_t>(XDP_PASS));
  const uint32_t zero = 0;
  std::memset(out, 0, sizeof(*out));
  EXPECT_EQ(MapLookupElem((*obj)->MapFd("values"), &zero, out), 0);
  return 0;
}

TEST(KconfigNativeTest, NativeValuesEqualBytecodeValues) {
  const std::string custom =
      "CONFIG_BPF=y\n"
      "CONFIG_BPF_JIT=m\n"
      "CONFIG_BPFEMU_CHAR=m\n"
      "CONFIG_BPFEMU_INT=-12345\n"
      "CONFIG_BPFEMU_U16=65535\n"
      "CONFIG_BPFEMU_U64=0x123456789abcdef0\n"
      "CONFIG_BPFEMU_S8=-128\n"
      "CONFIG_BPFEMU_STR=\"abc\"\n";
  for (const std::optional<std::string>& text :
       {std::optional<std::string>(custom), std::optional<std::string>()}) {
    SCOPED_TRACE(text ? "custom Kconfig" : "system Kconfig");
    KconfigValues n, b;
    ASSERT_EQ(LoadAndCopy(false, text, &n), 0);
    ASSERT_EQ(LoadAndCopy(true, text, &b), 0);
    EXPECT_EQ(std::memcmp(&n, &b, sizeof(n)), 0);
    EXPECT_NE(n.version, 0u);
    EXPECT_EQ(n.not_set, 0u);
    if (text) {
      EXPECT_EQ(n.bpf, 1u);
      EXPECT_EQ(n.jit, 2u);  // TRI_MODULE
      EXPECT_EQ(n.chr, static_cast<uint64_t>('m'));
      EXPECT_EQ(static_cast<int32_t>(n.i), -12345);
      EXPECT_EQ(n.u16, 65535u);
      EXPECT_EQ(n.u64, 0x123456789abcdef0u);
      EXPECT_EQ(static_cast<int8_t>(n.s8), -128);
      EXPECT_STREQ(n.str, "abc");  // a const extern, filled natively too
    }
  }
}

TEST(KconfigNativeTest, BadValuesRefuseTheLoadOnBothFaces) {
  for (const char* text :
       {"CONFIG_BPFEMU_S8=200\n", "CONFIG_BPF=m\n", "CONFIG_BPFEMU_INT=y\n",
        "CONFIG_BPFEMU_STR=abc\n"}) {
    SCOPED_TRACE(text);
    KconfigValues v;
    const int native_err = LoadAndCopy(false, std::string(text), &v);
    EXPECT_EQ(native_err, -EINVAL);
    EXPECT_EQ(LoadAndCopy(true, std::string(text), &v), native_err);
  }
}

}  // namespace
}  // namespace bpfemu::examples
