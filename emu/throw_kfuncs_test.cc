// SPDX-License-Identifier: Apache-2.0
// bpf_throw and __bpf_trap (emu/throw_kfuncs.h) without the kernel:
// hand-assembled syscall programs linked against a hand-made kfunc BTF
// (emu/kfunc_testing.h). The cookie as the return value from the main
// program, a subprogram and a bpf_loop-style callback's refusal; the
// exception callback (interp::LoadAttr::exception_cb) deciding the value,
// a throw inside it stopping the run; __bpf_trap stopping the run; an
// exception callback offset past the program refused at load. The kernel
// comparison is tests/examples/throw_compare_test.

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/kfunc_testing.h"
#include "emu/prog.h"
#include "emu/throw_kfuncs.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

namespace a = interp::asm_;
using Insns = std::vector<interp::RawInsn>;

constexpr int32_t kThrow = 3, kTrap = 4;  // FuncBtf's ids, in order

class ThrowKfuncsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetTargetKernel(KernelVersion::k6_18);
    btf_ = kfunctest::FuncBtf({"bpf_throw", "__bpf_trap"});
    ASSERT_NE(btf_, nullptr);
  }
  // Loads `p` as a sleepable syscall program with its exception callback
  // at `cb` (0: none): 0 or the load's -errno; runs it when loaded.
  int Run(const Insns& p, uint32_t cb, int32_t* ret, bool* faulted) {
    kfunctest::Linker linker(btf_.get());
    interp::LoadAttr attr;
    attr.prog_type = BPF_PROG_TYPE_SYSCALL;
    attr.sleepable = true;
    attr.insns = p.data();
    attr.insn_cnt = static_cast<uint32_t>(p.size());
    attr.gpl_compatible = true;
    attr.exception_cb = cb;
    std::shared_ptr<const interp::Program> prog;
    if (int err = interp::Program::Load(attr, linker, &prog); err != 0) {
      return err;
    }
    Prog desc;
    desc.type = BPF_PROG_TYPE_SYSCALL;
    desc.code = prog;
    uint64_t ctx[4] = {};
    *ret = static_cast<int32_t>(ProgRun(desc, ctx));
    *faulted = ProgFaulted();
    return 0;
  }
  std::unique_ptr<KernelBtf> btf_;
};

TEST_F(ThrowKfuncsTest, TheCookieIsTheReturnValue) {
  Insns p;
  a::LdImm64(&p, 1, 0x1234567800000007ull);
  p.push_back(a::CallKfunc(kThrow));
  p.push_back(a::MovImm(0, 1));
  p.push_back(a::Exit());
  int32_t ret = -1;
  bool faulted = true;
  ASSERT_EQ(Run(p, 0, &ret, &faulted), 0);
  EXPECT_FALSE(faulted) << interp::LastFault();
  EXPECT_EQ(ret, 7);
}

TEST_F(ThrowKfuncsTest, ASubprogramThrowUnwindsEveryFrame) {
  // main: r6 = 100; call sub1; r0 += r6; exit
  // sub1: call sub2; r0 = 3; exit
  // sub2: r1 = 42; bpf_throw; r0 = 4; exit
  const Insns p = {
      a::MovImm(6, 100), a::CallLocal(2),  a::AluReg(BPF_ADD, 0, 6),
      a::Exit(),         a::CallLocal(2),  a::MovImm(0, 3),
      a::Exit(),         a::MovImm(1, 42), a::CallKfunc(kThrow),
      a::MovImm(0, 4),   a::Exit()};
  int32_t ret = -1;
  bool faulted = true;
  ASSERT_EQ(Run(p, 0, &ret, &faulted), 0);
  EXPECT_FALSE(faulted) << interp::LastFault();
  EXPECT_EQ(ret, 42);
}

TEST_F(ThrowKfuncsTest, TheExceptionCallbackDecides) {
  // main: r1 = 5; bpf_throw; r0 = 0; exit. cb (insn 4): r0 = r1 * 3; exit.
  const Insns p = {
      a::MovImm(1, 5), a::CallKfunc(kThrow),     a::MovImm(0, 0), a::Exit(),
      a::MovReg(0, 1), a::AluImm(BPF_MUL, 0, 3), a::Exit()};
  int32_t ret = -1;
  bool faulted = true;
  ASSERT_EQ(Run(p, 4, &ret, &faulted), 0);
  EXPECT_FALSE(faulted) << interp::LastFault();
  EXPECT_EQ(ret, 15);
  // An offset past the program is refused at load.
  EXPECT_EQ(Run(p, 7, &ret, &faulted), -EINVAL);
}

TEST_F(ThrowKfuncsTest, AThrowInTheCallbackStopsTheRun) {
  const Insns p = {a::MovImm(1, 5), a::CallKfunc(kThrow), a::MovImm(0, 0),
                   a::Exit(),       a::CallKfunc(kThrow), a::MovImm(0, 0),
                   a::Exit()};
  int32_t ret = -1;
  bool faulted = false;
  ASSERT_EQ(Run(p, 4, &ret, &faulted), 0);
  EXPECT_TRUE(faulted);
  EXPECT_EQ(interp::LastFault(),
            "bpf_throw kfunc cannot be called from callback subprog");
}

TEST_F(ThrowKfuncsTest, AReachedTrapStopsTheRun) {
  const Insns p = {a::CallKfunc(kTrap), a::MovImm(0, 0), a::Exit()};
  int32_t ret = -1;
  bool faulted = false;
  ASSERT_EQ(Run(p, 0, &ret, &faulted), 0);
  EXPECT_TRUE(faulted);
  EXPECT_EQ(interp::LastFault(), throwk::kTrapLine);
}

TEST_F(ThrowKfuncsTest, OlderTargetsLackThem) {
  // 6.12 has bpf_throw (6.7) but not __bpf_trap (6.16).
  SetTargetKernel(KernelVersion::k6_12);
  int32_t ret = -1;
  bool faulted = true;
  const Insns t = {a::MovImm(1, 2), a::CallKfunc(kThrow), a::MovImm(0, 0),
                   a::Exit()};
  EXPECT_EQ(Run(t, 0, &ret, &faulted), 0);
  EXPECT_EQ(ret, 2);
  const Insns p = {a::CallKfunc(kTrap), a::MovImm(0, 0), a::Exit()};
  EXPECT_EQ(Run(p, 0, &ret, &faulted), -EACCES);
  SetTargetKernel(KernelVersion::k6_18);
}

}  // namespace
}  // namespace bpfemu
