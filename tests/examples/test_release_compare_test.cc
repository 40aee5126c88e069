// SPDX-License-Identifier: Apache-2.0
// net/bpf/test_run.c's release kfuncs (bpf_kfunc_call_test_release,
// bpf_kfunc_call_memb_release; emu/test_run_kfuncs.h) called from
// hand-assembled tc programs (ids from the kernel's BTF) with R1 NULL, a
// stack pointer and a scalar: the 6.18 kernel refuses each (no pointer
// they take can exist without the bpf_testmod module); its errno and
// verifier line are pinned, and a bytecode run of the same instructions
// stops with that line.

#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/test_run.h"
#include "testing/kernel_test.h"
#include "testing/raw_prog_load.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

class TestReleaseCompareTest : public KernelTest<> {};

TEST_F(TestReleaseCompareTest, RefusedAsTheKernelRefuses) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf)";
  namespace a = interp::asm_;
  struct Arg {
    const char* what;
    std::vector<interp::RawInsn> set_r1;
  };
  const Arg args[] = {
      {"NULL", {a::MovImm(1, 0)}},
      {"stack",
       {a::St(BPF_DW, 10, -8, 0), a::MovReg(1, 10), a::AluImm(BPF_ADD, 1, -8)}},
      {"scalar", {a::MovImm(1, 7)}}};
  struct Want {
    const char* kfunc;
    int err[3];
    const char* line[3];
  };
  const Want wants[] = {
      {"bpf_kfunc_call_test_release",
       {-EACCES, -EINVAL, -EINVAL},
       {"Possibly NULL pointer passed to trusted arg0",
        "arg#0 pointer type STRUCT prog_test_ref_kfunc must point to scalar, "
        "or struct with scalar",
        "arg#0 pointer type STRUCT prog_test_ref_kfunc must point to scalar, "
        "or struct with scalar"}},
      {"bpf_kfunc_call_memb_release",
       {-EACCES, -EINVAL, -EINVAL},
       {"Possibly NULL pointer passed to trusted arg0",
        "R1 must be referenced or trusted",
        "R1 must be referenced or trusted"}}};
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  int compared = 0;
  for (const Want& w : wants) {
    const int32_t id = btf->FindByNameKind(w.kfunc, BTF_KIND_FUNC);
    if (id <= 0) GTEST_SKIP() << "the kernel has no " << w.kfunc;
    for (int i = 0; i < 3; ++i) {
      SCOPED_TRACE(std::string(w.kfunc) + " " + args[i].what);
      std::vector<interp::RawInsn> insns = args[i].set_r1;
      insns.push_back(a::CallKfunc(id));
      insns.push_back(a::MovImm(0, 0));
      insns.push_back(a::Exit());
      const RawProg raw{.type = BPF_PROG_TYPE_SCHED_CLS, .insns = insns};
      const RawLoaded k = KernelLoadRaw(raw);
      if (k.fd >= 0) close(k.fd);
      EXPECT_EQ(k.fd < 0 ? k.fd : 0, w.err[i]);
      EXPECT_NE(k.log.find(w.line[i]), std::string::npos) << k.log;
      const int fd = EmuLoadRaw(raw).fd;
      ASSERT_GE(fd, 0);
      std::shared_ptr<const Prog> prog;
      ASSERT_EQ(ProgFromFd(fd, &prog), 0);
      native::RunSkb(*prog, packet);
      EXPECT_TRUE(ProgFaulted());
      EXPECT_EQ(interp::LastFault(), w.line[i]);
      (void)CloseFd(fd);
      ++compared;
    }
  }
  std::printf("test_run release kfuncs: %d refusals compared\n", compared);
}

}  // namespace
}  // namespace bpfemu::examples
