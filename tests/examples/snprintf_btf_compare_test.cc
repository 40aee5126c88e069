// SPDX-License-Identifier: Apache-2.0
// tests/examples/snprintf_btf.bpf.c on the kernel (BPF_PROG_TEST_RUN of its
// SYSCALL program) and on bpfemu, natively and as bytecode: every run of
// snprintf_btf_scenario.h gives the same return and the same output bytes.

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

#include "tests/examples/recorded.h"
#include "tests/examples/snprintf_btf_scenario.h"

namespace bpfemu::examples::snprintf_btf {
namespace {

class SnprintfBtfCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(SnprintfBtfCompareTest, SameTextAsTheKernel) {
  struct btf* vmlinux = btf__load_vmlinux_btf();
  ASSERT_NE(vmlinux, nullptr);
  const std::string path = "tests/examples/snprintf_btf.bpf.o";
  std::unique_ptr<KernelObject> k;
  ASSERT_EQ(KernelObject::Load(path, &k), 0);
  const int kprog = k->ProgFd("show");
  const int kbuf = k->MapFd("buf");
  int shown = 0;
  const uint32_t zero = 0;
  const std::vector<std::string> kernel = Scenario(
      vmlinux,
      [kprog, kbuf, zero](sb_ctx* c) {
        const std::vector<char> blank(SB_OUT, 0);
        if (bpf_map_update_elem(kbuf, &zero, blank.data(), BPF_ANY) != 0) {
          return -errno;
        }
        const int err = KernelObject::RunSyscall(kprog, c, sizeof(*c)).err;
        if (bpf_map_lookup_elem(kbuf, &zero, c->out) != 0) return -errno;
        return err;
      },
      &shown);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("snprintf_btf");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* p = (*obj)->FindProgram("show");
  ASSERT_NE(p, nullptr);
  const int nbuf = (*obj)->MapFd("buf");
  int unused = 0;
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
      &unused);
  btf__free(vmlinux);
  ASSERT_EQ(emu.size(), kernel.size());
  int equal = 0;
  for (size_t i = 0; i < kernel.size(); ++i) {
    EXPECT_EQ(emu[i], kernel[i]);
    equal += emu[i] == kernel[i];
  }
  std::printf("snprintf_btf: %zu runs, %d equal, %d with every flag\n",
              kernel.size(), equal, shown);
  std::string record;
  for (const std::string& line : kernel) record += line + "\n";
  if (!GetParam()) std::printf("%s", record.c_str());
  // Re-recording the kernel's answers for snprintf_btf_test (as root, on
  // the kernel they describe; one command line):
  //   bazel test //tests/examples:snprintf_btf_compare_test
  //     --test_env=BPFEMU_RECORD_SNPRINTF_BTF=$PWD/tests/examples/testdata/snprintf_btf.expected
  const char* record_path = std::getenv("BPFEMU_RECORD_SNPRINTF_BTF");
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "snprintf_btf", record))
        << record_path;
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, SnprintfBtfCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::snprintf_btf
