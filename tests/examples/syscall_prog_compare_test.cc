// SPDX-License-Identifier: Apache-2.0
// tests/examples/syscall_prog.bpf.c on the kernel (libbpf, BPF_PROG_TEST_RUN
// with a struct syscall_ctx as ctx_in) and on bpfemu, natively and as
// bytecode: the same bpf_sys_bpf / bpf_sys_close / bpf_btf_find_by_name_kind
// / bpf_kallsyms_lookup_name returns, the same map contents read through
// the fds the program returned, the same bpf_snprintf returns and bytes
// (syscall_prog_answers.h says what is compared by property). The kernel's
// answers must also be testdata/syscall_prog.expected (what
// syscall_prog_test checks bpfemu against without root); to re-record it,
// run with BPFEMU_RECORD=<path>.

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/syscall_prog_answers.h"

namespace bpfemu::examples {
namespace {

void RunOnKernel(SyscallProgRun* r) {
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load("tests/examples/syscall_prog.bpf.o", &kernel),
            0);
  r->maps.user_src = reinterpret_cast<uint64_t>(kUserBytes);
  KernelObject::Result kr = KernelObject::RunSyscall(
      kernel->ProgFd("make_maps"), &r->maps, sizeof(r->maps));
  r->make_err = kr.err;
  r->make_retval = kr.retval;
  kr = KernelObject::RunSyscall(kernel->ProgFd("format"), &r->fmt,
                                sizeof(r->fmt));
  r->format_err = kr.err;
  r->format_retval = kr.retval;
  for (uint32_t i = 0; i < NR_STRS; ++i) {
    EXPECT_EQ(bpf_map_lookup_elem(kernel->MapFd("strs"), &i, &r->strs[i]), 0);
  }
  ReadCreatedMaps(
      r,
      [](int fd, const void* k, void* v) {
        return bpf_map_lookup_elem(fd, k, v) == 0 ? 0 : -errno;
      },
      [](int fd, const void* k, void* n) {
        return bpf_map_get_next_key(fd, k, n) == 0 ? 0 : -errno;
      });
  close(r->maps.array_fd);
  close(r->maps.hash_fd);
}

class SyscallProgCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};
class SyscallProgCompareFormatTest : public KernelTest<::testing::Test> {};

TEST_P(SyscallProgCompareTest, SameAnswersAsTheKernel) {
  SyscallProgRun k, e;
  ASSERT_NO_FATAL_FAILURE(RunOnKernel(&k));
  ASSERT_NO_FATAL_FAILURE(RunSyscallProgOnEmu(GetParam(), &e));
  const std::vector<std::string> kl = SyscallProgAnswers(k);
  const std::vector<std::string> el = SyscallProgAnswers(e);
  ASSERT_EQ(el.size(), kl.size());
  for (size_t i = 0; i < kl.size(); ++i) EXPECT_EQ(el[i], kl[i]);
  // What the text leaves as properties, exactly: the same kernel BTF ids
  // (bpfemu reads this kernel's BTF) and the same symbol address.
  for (int i = 0; i < R_FMT; ++i) {
    if (IsBtfIdCase(i)) {
      EXPECT_EQ(e.maps.ret[i], k.maps.ret[i]) << i;
    }
  }
  EXPECT_EQ(e.maps.ret[R_KSYM], k.maps.ret[R_KSYM]);
  EXPECT_EQ(e.maps.ret[R_KSYM_MISSING], k.maps.ret[R_KSYM_MISSING]);
  EXPECT_EQ(e.maps.ksym, k.maps.ksym);
  EXPECT_NE(k.maps.ksym, 0u);
  // Against the recorded answers.
  if (const char* path = std::getenv("BPFEMU_RECORD")) {
    std::ofstream out(path);
    for (const std::string& l : kl) out << l << "\n";
  }
  std::ifstream in("tests/examples/testdata/syscall_prog.expected");
  std::vector<std::string> want;
  for (std::string l; std::getline(in, l);) want.push_back(l);
  EXPECT_EQ(want, kl) << "testdata/syscall_prog.expected is out of date";
}

// The kernel's answer to a FormatCase: a sleepable SYSCALL program calling
// bpf_snprintf(stack, 64, fmt, args, data_len) with `fmt` in a frozen
// BPF_F_RDONLY_PROG array; -EINVAL when the verifier refuses it.
int64_t KernelFormatCase(const FormatCase& c) {
  LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_RDONLY_PROG);
  const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fmt", 4, 64, 1, &mo);
  if (fd < 0) return -1000;
  char value[64] = {};
  std::strncpy(value, c.fmt, sizeof(value) - 1);
  const uint32_t zero = 0;
  if (bpf_map_update_elem(fd, &zero, value, BPF_ANY) != 0 ||
      bpf_map_freeze(fd) != 0) {
    close(fd);
    return -1001;
  }
  const std::vector<interp::RawInsn> p = SnprintfInsns(fd, c.data_len, 0x41);
  static_assert(sizeof(interp::RawInsn) == sizeof(bpf_insn));
  LIBBPF_OPTS(bpf_prog_load_opts, po, .prog_flags = BPF_F_SLEEPABLE);
  const int prog =
      bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "fmt", "GPL",
                    reinterpret_cast<const bpf_insn*>(p.data()), p.size(), &po);
  close(fd);
  if (prog < 0) return -errno;
  LIBBPF_OPTS(bpf_test_run_opts, ro);
  const int err = bpf_prog_test_run_opts(prog, &ro);
  close(prog);
  return err != 0 ? -1002 : static_cast<int32_t>(ro.retval);
}

TEST_F(SyscallProgCompareFormatTest, FormatGrammar) {
  for (const FormatCase& c : kFormatCases) {
    SCOPED_TRACE(c.fmt);
    const int64_t k = KernelFormatCase(c);
    EXPECT_EQ(k, c.want);
    EXPECT_EQ(EmuFormatCase(c), k);
  }
}

TEST_F(SyscallProgCompareFormatTest, SyscallHelpersOnlyForSyscallPrograms) {
  ExpectSyscallOnly([](uint32_t type, int32_t id) {
    bpf_insn insns[2] = {};
    insns[0].code = BPF_JMP | BPF_CALL;
    insns[0].imm = id;
    insns[1].code = BPF_JMP | BPF_EXIT;
    const int fd = bpf_prog_load(static_cast<bpf_prog_type>(type), "only",
                                 "GPL", insns, 2, nullptr);
    if (fd >= 0) close(fd);
    return fd < 0 ? -errno : fd;
  });
}

INSTANTIATE_TEST_SUITE_P(Faces, SyscallProgCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
