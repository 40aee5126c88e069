// SPDX-License-Identifier: Apache-2.0
// tests/examples/syscall_prog.bpf.c on bpfemu without root, natively and as
// bytecode, against the kernel's answers recorded on 6.18
// (testdata/syscall_prog.expected; syscall_prog_compare_test.cc checks the
// same answers against the running kernel and re-records them).

#include <linux/bpf.h>

#include <cerrno>
#include <cstdlib>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/test_run.h"
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

// In the bytecode face, a format the kernel's verifier refuses stops the run
// at the call (docs/semantics.md); a good one formats.
TEST(SyscallProgFormatTest, BytecodeStopsAtAFormatTheVerifierRefuses) {
  for (const char* fmt : {"%d", "%#x"}) {
    SCOPED_TRACE(fmt);
    MapAttr ma{.map_type = BPF_MAP_TYPE_ARRAY,
               .key_size = 4,
               .value_size = 64,
               .max_entries = 1,
               .map_flags = BPF_F_RDONLY_PROG};
    const int map = MapCreate(ma);
    ASSERT_GE(map, 0);
    char value[64] = {};
    std::strncpy(value, fmt, sizeof(value) - 1);
    const uint32_t zero = 0;
    ASSERT_EQ(MapUpdateElem(map, &zero, value, BPF_ANY), 0);
    ASSERT_EQ(MapFreeze(map), 0);
    const std::vector<interp::RawInsn> p = SnprintfInsns(map, 8, 7);
    native::ProgLoadFlags flags;
    flags.prog_flags = BPF_F_SLEEPABLE;
    const int fd = native::ProgLoadBytecode(BPF_PROG_TYPE_SYSCALL, 0, "fmt",
                                            p.data(), p.size(), "GPL", flags);
    ASSERT_GE(fd, 0);
    std::shared_ptr<const Prog> prog;
    ASSERT_EQ(ProgFromFd(fd, &prog), 0);
    native::TestRunOutput out;
    const int err = native::TestRun(*prog, native::TestRunAttr{}, &out);
    if (std::string(fmt) == "%d") {
      EXPECT_EQ(err, 0);
      EXPECT_EQ(out.retval, 2u);  // "7" and its NUL
    } else {
      EXPECT_EQ(err, -EFAULT);
      EXPECT_NE(interp::LastFault().find("invalid format string"),
                std::string::npos)
          << interp::LastFault();
    }
    CloseFd(fd);
    CloseFd(map);
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, SyscallProgTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
