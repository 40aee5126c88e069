// SPDX-License-Identifier: Apache-2.0
// tests/examples/syscall_prog.bpf.c on bpfemu without root, natively and as
// bytecode, against the kernel's answers recorded on 6.18
// (testdata/syscall_prog.expected; syscall_prog_compare_test.cc checks the
// same answers against the running kernel and re-records them).

#include <linux/bpf.h>

#include <cerrno>
#include <cstdlib>

#include <fstream>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "tests/examples/syscall_prog_answers.h"

namespace bpfemu::examples {
namespace {

class SyscallProgTest : public ::testing::TestWithParam<bool> {};

TEST_P(SyscallProgTest, RecordedAnswers) {
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  std::ifstream in("tests/examples/testdata/syscall_prog.expected");
  std::vector<std::string> want;
  for (std::string l; std::getline(in, l);) want.push_back(l);
  ASSERT_FALSE(want.empty()) << "no testdata/syscall_prog.expected";
  SyscallProgRun e;
  ASSERT_NO_FATAL_FAILURE(RunSyscallProgOnEmu(GetParam(), &e));
  const std::vector<std::string> got = SyscallProgAnswers(e);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]);
  // bpf_kallsyms_lookup_name answers -EPERM where /proc/kallsyms hides
  // addresses from this process (bpf_dump_raw_ok), as a sandbox may.
  std::ifstream ks("/proc/kallsyms");
  std::string first;
  std::getline(ks, first);
  if (std::strtoull(first.c_str(), nullptr, 16) != 0) {
    EXPECT_EQ(e.maps.ret[R_KSYM], 0);
    EXPECT_NE(e.maps.ksym, 0u);
    EXPECT_EQ(e.maps.ret[R_KSYM_MISSING], -ENOENT);
  } else {
    EXPECT_EQ(e.maps.ret[R_KSYM], -EPERM);
    EXPECT_EQ(e.maps.ksym, 0u);
    EXPECT_EQ(e.maps.ret[R_KSYM_MISSING], -EPERM);
  }
}

// bpf_snprintf's format grammar against the kernel's recorded answers.
TEST(SyscallProgFormatTest, FormatGrammar) {
  for (const FormatCase& c : kFormatCases) {
    SCOPED_TRACE(c.fmt);
    EXPECT_EQ(EmuFormatCase(c), c.want);
  }
}

TEST(SyscallProgFormatTest, SyscallHelpersOnlyForSyscallPrograms) {
  ExpectSyscallOnly([](uint32_t type, int32_t id) {
    const interp::RawInsn insns[2] = {
        {.code = BPF_JMP | BPF_CALL, .imm = id},
        {.code = BPF_JMP | BPF_EXIT},
    };
    const int fd = native::ProgLoadBytecode(type, 0, "only", insns, 2, "GPL");
    if (fd >= 0) CloseFd(fd);
    return fd;
  });
}

INSTANTIATE_TEST_SUITE_P(Faces, SyscallProgTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
