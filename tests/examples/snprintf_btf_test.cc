// SPDX-License-Identifier: Apache-2.0
// tests/examples/snprintf_btf.bpf.c on bpfemu, natively and as bytecode,
// without root: every run of snprintf_btf_scenario.h against the kernel's
// answers recorded on 6.18 (tests/examples/testdata/snprintf_btf.expected,
// written by snprintf_btf_compare_test as root; the command is there). The
// text follows the types' layouts in the kernel BTF, so the record is
// checked only where this machine's kernel is the one it was made on.

#include <linux/bpf.h>
#include <sys/utsname.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/recorded.h"
#include "tests/examples/snprintf_btf_scenario.h"

namespace bpfemu::examples::snprintf_btf {
namespace {

class SnprintfBtfTest : public ::testing::TestWithParam<bool> {};

TEST_P(SnprintfBtfTest, SameAsTheRecordedKernel) {
  const Recorded rec =
      ReadRecorded("tests/examples/testdata/snprintf_btf.expected");
  ASSERT_FALSE(rec.lines.empty()) << "no testdata/snprintf_btf.expected";
  struct utsname u;
  ASSERT_EQ(uname(&u), 0);
  if (rec.kernel != u.release) {
    GTEST_SKIP() << "the record is " << rec.kernel << "'s BTF, this is "
                 << u.release;
  }
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) GTEST_SKIP() << "no /sys/kernel/btf/vmlinux";
  const std::string path = "tests/examples/snprintf_btf.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("snprintf_btf");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* p = (*obj)->FindProgram("show");
  ASSERT_NE(p, nullptr);
  const int nbuf = (*obj)->MapFd("buf");
  const uint32_t zero = 0;
  int shown = 0;
  const std::vector<std::string> emu = Scenario(
      vmlinux,
      [p, nbuf, zero](sb_ctx* c) {
        const std::vector<char> blank(SB_OUT, 0);
        if (int err = MapUpdateElem(nbuf, &zero, blank.data(), BPF_ANY);
            err != 0) {
          return err;
        }
        p->Run(c);
        return MapLookupElem(nbuf, &zero, c->out);
      },
      &shown);
  btf__free(vmlinux);
  ExpectSameAsRecorded(rec, emu, "snprintf_btf");
}

INSTANTIATE_TEST_SUITE_P(Faces, SnprintfBtfTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::snprintf_btf
