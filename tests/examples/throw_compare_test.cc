// SPDX-License-Identifier: Apache-2.0
// tests/examples/throw.bpf.c on the kernel (BPF_PROG_TEST_RUN of its tc
// programs) and on bpfemu, natively and as bytecode: the same return
// values and the same answers written before the throw, which are also the
// ones pinned in throw_cases.h. Then throw_bad.bpf.c: each program alone is
// refused by the kernel with the pinned errno, and stops a bytecode run
// with the verifier's reason. Last, __bpf_trap (clang 14 emits no BTF for
// its extern, so the call is assembled by hand with the kernel BTF's id):
// the kernel refuses it with EFAULT and its line, a bytecode run of the
// same instructions stops with that line.

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
#include "emu/throw_kfuncs.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "loader/test_run.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"
#include "tests/examples/throw_cases.h"

namespace bpfemu::examples {
namespace {

using namespace throw_cases;  // NOLINT

class ThrowCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(ThrowCompareTest, SameAnswersAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/throw.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("throw");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  KernelBackend& k = KernelBackend::Get();
  const uint32_t zero = 0;
  const int ktarget = kernel->ProgFd("tail_target");
  ASSERT_GE(ktarget, 0);
  ASSERT_EQ(k.Update(kernel->MapFd("jump"), &zero, &ktarget, BPF_ANY), 0);
  const native::Program* target = (*obj)->FindProgram("tail_target");
  ASSERT_NE(target, nullptr);
  const int etarget = target->fd();
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("jump"), &zero, &etarget, BPF_ANY), 0);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  int compared = 0;
  for (const Good& g : GoodCases()) {
    SCOPED_TRACE(g.prog);
    Answers none;
    for (int64_t& v : none.r) v = kUnset;
    ASSERT_EQ(k.Update(kernel->MapFd("out"), &zero, &none, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, BPF_ANY), 0);
    const KernelObject::Result kr =
        KernelObject::RunPacket(kernel->ProgFd(g.prog), packet);
    ASSERT_EQ(kr.err, 0);
    const native::Program* prog = (*obj)->FindProgram(g.prog);
    ASSERT_NE(prog, nullptr);
    interp::ClearFault();  // a native run leaves the last one in place
    const native::PacketResult er = prog->RunSkb(packet);
    ASSERT_EQ(er.err, 0);
    EXPECT_EQ(interp::LastFault(), "");
    EXPECT_FALSE(ProgFaulted());
    EXPECT_EQ(er.retval, kr.retval);
    EXPECT_EQ(kr.retval, g.retval);
    Answers ka{}, ea{};
    ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &ka, 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &ea), 0);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(ea.r[i], ka.r[i]) << "answer " << i;
      EXPECT_EQ(ka.r[i], g.r[i]) << "answer " << i;
    }
    ++compared;
  }
  std::printf("throw (%s): %d programs compared\n",
              bytecode ? "bytecode" : "native", compared);
}

TEST_P(ThrowCompareTest, RefusedAsTheKernelRefuses) {
  if (!GetParam()) GTEST_SKIP() << "natively nothing is refused";
  const std::string path = "tests/examples/throw_bad.bpf.o";
  auto obj = native::Object::OpenBytecode(path);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  for (const Bad& b : BadCases()) {
    SCOPED_TRACE(b.prog);
    std::vector<std::string> skip;
    for (const std::string& n : BadNames()) {
      if (n != b.prog) skip.push_back(n);
    }
    std::unique_ptr<KernelObject> kernel;
    EXPECT_EQ(KernelObject::Load(path, &kernel, skip), b.load_err);
    const native::Program* prog = (*obj)->FindProgram(b.prog);
    ASSERT_NE(prog, nullptr);
    prog->RunSkb(packet);
    EXPECT_TRUE(ProgFaulted());
    EXPECT_NE(interp::LastFault().find(b.why), std::string::npos)
        << interp::LastFault();
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, ThrowCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

// r0 = 0; if r0 == 0 goto +1 (always); exit; call __bpf_trap; exit: the
// trap is reachable.
std::vector<interp::RawInsn> TrapProg(int32_t id) {
  namespace a = interp::asm_;
  return {a::MovImm(0, 0), a::JmpImm(BPF_JEQ, 0, 0, 1), a::Exit(),
          a::CallKfunc(id), a::Exit()};
}

class TrapCompareTest : public KernelTest<> {};

TEST_F(TrapCompareTest, RefusedAsTheKernelRefuses) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf)";
  const int32_t id = btf->FindByNameKind("__bpf_trap", BTF_KIND_FUNC);
  if (id <= 0) GTEST_SKIP() << "the kernel has no __bpf_trap (before 6.16)";
  const std::vector<interp::RawInsn> insns = TrapProg(id);
  std::vector<char> log(1 << 16, 0);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_SCHED_CLS;
  attr.insns = reinterpret_cast<uint64_t>(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = reinterpret_cast<uint64_t>("GPL");
  attr.log_level = 1;
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  const long kfd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
  const int kerr = kfd < 0 ? -errno : 0;
  if (kfd >= 0) close(static_cast<int>(kfd));
  EXPECT_EQ(kerr, -EFAULT);
  EXPECT_NE(std::string(log.data()).find(throwk::kTrapLine), std::string::npos)
      << log.data();
  // bpfemu loads it and stops the run that reaches the call.
  native::ProgLoadFlags flags;
  const int fd = native::ProgLoadBytecode(
      BPF_PROG_TYPE_SCHED_CLS, 0, "trap", insns.data(),
      static_cast<uint32_t>(insns.size()), "GPL", flags);
  ASSERT_GE(fd, 0);
  std::shared_ptr<const Prog> prog;
  ASSERT_EQ(ProgFromFd(fd, &prog), 0);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  native::RunSkb(*prog, packet);
  EXPECT_TRUE(ProgFaulted());
  EXPECT_EQ(interp::LastFault(), throwk::kTrapLine);
  (void)CloseFd(fd);
}

}  // namespace
}  // namespace bpfemu::examples
