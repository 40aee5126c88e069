// SPDX-License-Identifier: Apache-2.0
// kfn50: 6.1's net/bpf/test_run.c test kfuncs (emu/test_run_kfuncs.h)
// without a kernel: offered at BPFEMU_KERNEL=6.1 only, to SCHED_CLS,
// TRACING and SYSCALL; their results in interpreted runs (the static
// struct prog_test_ref_kfunc acquired, read, written and released); the
// ones the 6.1 verifier refuses on every call refused at load with its
// line. And 6.1's check order of bpf_lookup_user_key's scalar arguments
// before "program must be sleepable" (kernel/bpf/verifier.c
// check_kfunc_call, kernel/bpf/btf.c btf_check_kfunc_arg_match), with
// emu/interp.h KfuncArgRegsAt. The same on the 6.1 guest:
// //kernel_compare:helper_offer_compare_test in tools/kmatrix.

#include <linux/bpf.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kfunc.h"
#include "emu/kfunc_testing.h"
#include "emu/test_run_kfuncs.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

using interp::RawInsn;
namespace a = interp::asm_;
using Insns = std::vector<RawInsn>;

// The FUNCs of the hand-made BTF: a call's imm is 3 + the index.
const std::vector<const char*> kNames = {
    "bpf_kfunc_call_test1",                // 3
    "bpf_kfunc_call_test2",                // 4
    "bpf_kfunc_call_test_acquire",         // 5
    "bpf_kfunc_call_test_release",         // 6
    "bpf_kfunc_call_test_get_rdwr_mem",    // 7
    "bpf_kfunc_call_test_fail1",           // 8
    "bpf_lookup_user_key",                 // 9
    "bpf_kfunc_call_test_destructive",     // 10
    "bpf_kfunc_call_test_acq_rdonly_mem",  // 11
    "bpf_kfunc_call_test_get_rdonly_mem",  // 12
};
enum : int32_t {
  kTest1 = 3,
  kTest2,
  kAcquire,
  kRelease,
  kRdwrMem,
  kFail1,
  kLookupUserKey,
  kDestructive,
  kAcqRdonly,
  kRdonlyMem,
};

const KernelBtf* Btf() {
  static const KernelBtf* btf = kfunctest::FuncBtf(kNames).release();
  return btf;
}

// Sets the target kernel for one test.
class AtVersion {
 public:
  explicit AtVersion(KernelVersion v) : old_(TargetKernel()) {
    SetTargetKernel(v);
  }
  ~AtVersion() { SetTargetKernel(old_); }

 private:
  KernelVersion old_;
};

struct Loaded {
  int err;
  std::string log;
};

Loaded Load(const Insns& p, uint32_t prog_type, bool sleepable = false) {
  kfunctest::Linker linker(Btf());
  interp::LoadAttr attr;
  attr.prog_type = prog_type;
  attr.sleepable = sleepable;
  attr.insns = p.data();
  attr.insn_cnt = static_cast<uint32_t>(p.size());
  attr.gpl_compatible = true;
  Loaded out;
  attr.log = &out.log;
  std::shared_ptr<const interp::Program> prog;
  out.err = interp::Program::Load(attr, linker, &prog);
  return out;
}

Insns CallThenExit(int32_t id) {
  return {a::CallKfunc(id), a::MovImm(0, 0), a::Exit()};
}

TEST(TestRunKfuncs61Test, OfferedAtSixOneOnlyToTheTestRunTypes) {
  for (const char* name :
       {"bpf_kfunc_call_test1", "bpf_kfunc_call_test_acquire",
        "bpf_kfunc_call_test_kptr_get", "bpf_kfunc_call_test_destructive"}) {
    const Kfunc* k = FindKfunc(name);
    ASSERT_NE(k, nullptr) << name;
    for (uint32_t t : {BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_TRACING,
                       BPF_PROG_TYPE_SYSCALL}) {
      EXPECT_TRUE(KfuncAllowed(*k, t, KernelVersion::k6_1)) << name << t;
      EXPECT_FALSE(KfuncAllowed(*k, t, KernelVersion::k6_12)) << name << t;
      EXPECT_FALSE(KfuncAllowed(*k, t, KernelVersion::k6_18)) << name << t;
    }
    EXPECT_FALSE(KfuncAllowed(*k, BPF_PROG_TYPE_XDP, KernelVersion::k6_1));
  }
  // The release kfuncs stay in test_run.c after 6.1.
  const Kfunc* release = FindKfunc("bpf_kfunc_call_test_release");
  ASSERT_NE(release, nullptr);
  EXPECT_TRUE(
      KfuncAllowed(*release, BPF_PROG_TYPE_SYSCALL, KernelVersion::k6_18));

  AtVersion v61(KernelVersion::k6_1);
  Loaded l = Load(CallThenExit(kTest1), BPF_PROG_TYPE_XDP);
  EXPECT_EQ(l.err, -EACCES);
  EXPECT_EQ(l.log,
            "calling kernel function bpf_kfunc_call_test1 is not "
            "allowed\n");
  EXPECT_EQ(Load(CallThenExit(kTest1), BPF_PROG_TYPE_SCHED_CLS).err, 0);
  AtVersion v612(KernelVersion::k6_12);
  EXPECT_EQ(Load(CallThenExit(kTest1), BPF_PROG_TYPE_SCHED_CLS).err, -EACCES);
}

TEST(TestRunKfuncs61Test, CallsTheVerifierRefusesAreRefusedAtLoad) {
  AtVersion v61(KernelVersion::k6_1);
  Loaded l = Load(CallThenExit(kFail1), BPF_PROG_TYPE_SCHED_CLS);
  EXPECT_EQ(l.err, -EINVAL);
  EXPECT_EQ(l.log,
            "arg#0 pointer type STRUCT prog_test_fail1 must point to scalar, "
            "or struct with scalar\n");
  l = Load(CallThenExit(kAcqRdonly), BPF_PROG_TYPE_SYSCALL, true);
  EXPECT_EQ(l.err, -EINVAL);
  EXPECT_EQ(l.log, "acquire kernel function does not return PTR_TO_BTF_ID\n");
  // Not offered first: the type's sets come before the arguments.
  EXPECT_EQ(Load(CallThenExit(kFail1), BPF_PROG_TYPE_XDP).err, -EACCES);
}

TEST(TestRunKfuncs61Test, DestructiveNeedsCapSysBoot) {
  AtVersion v61(KernelVersion::k6_1);
  EXPECT_EQ(Load(CallThenExit(kDestructive), BPF_PROG_TYPE_SCHED_CLS).err, 0);
  SetCallerPrivileged(false);
  Loaded l = Load(CallThenExit(kDestructive), BPF_PROG_TYPE_SCHED_CLS);
  SetCallerPrivileged(true);
  EXPECT_EQ(l.err, -EACCES);
  EXPECT_EQ(l.log,
            "destructive kfunc calls require CAP_SYS_BOOT capabilities\n");
}

TEST(TestRunKfuncs61Test, Test1AndTest2Add) {
  AtVersion v61(KernelVersion::k6_1);
  // 6.1's progs/kfunc_call_test.c kfunc_call_test1: a = 1 << 32;
  // test1(sk, 1, a | 2, 3, a | 4) = 2 << 32 | 10; (a >> 32) + (u32)a = 12.
  Insns p = {a::MovImm(1, 0), a::MovImm(2, 1)};
  a::LdImm64(&p, 3, (1ull << 32) | 2);
  p.push_back(a::MovImm(4, 3));
  a::LdImm64(&p, 5, (1ull << 32) | 4);
  p.push_back(a::CallKfunc(kTest1));
  p.push_back(a::MovReg(1, 0));
  p.push_back(a::AluImm(BPF_RSH, 1, 32));
  p.push_back(a::AluReg(BPF_ADD, 0, 1));
  p.push_back(a::Exit());
  bool faulted = true;
  EXPECT_EQ(kfunctest::RunSyscallProg(Btf(), p, &faulted), 12);
  EXPECT_FALSE(faulted) << interp::LastFault();
  // test2's int sum of two u32s: 0xffffffff + 2 wraps to 1.
  const Insns q = {a::MovImm(1, 0), a::MovImm(2, -1), a::MovImm(3, 2),
                   a::CallKfunc(kTest2), a::Exit()};
  EXPECT_EQ(kfunctest::RunSyscallProg(Btf(), q, &faulted), 1);
  EXPECT_FALSE(faulted) << interp::LastFault();
}

// acquire; r7 = p->a + p->b; [body]; release; return r7.
Insns AcquireReadRelease(const Insns& body) {
  Insns p = {
      a::St(BPF_DW, 10, -8, 0),
      a::MovReg(1, 10),
      a::AluImm(BPF_ADD, 1, -8),
      a::CallKfunc(kAcquire),
      a::JmpImm(BPF_JNE, 0, 0, 2),
      a::MovImm(0, -1),
      a::Exit(),
      a::MovReg(6, 0),
      a::Ldx(BPF_W, 7, 6, 0),
      a::Ldx(BPF_W, 8, 6, 4),
      a::AluReg(BPF_ADD, 7, 8),
  };
  p.insert(p.end(), body.begin(), body.end());
  for (const RawInsn& in : Insns{a::MovReg(1, 6), a::CallKfunc(kRelease),
                                 a::MovReg(0, 7), a::Exit()}) {
    p.push_back(in);
  }
  return p;
}

TEST(TestRunKfuncs61Test, AcquireReadRelease) {
  AtVersion v61(KernelVersion::k6_1);
  testk::ProgTestRefKfunc* s = testk::TestStruct();
  const int32_t cnt = s->cnt;
  bool faulted = true;
  EXPECT_EQ(kfunctest::RunSyscallProg(Btf(), AcquireReadRelease({}), &faulted),
            42 + 108);
  EXPECT_FALSE(faulted) << interp::LastFault();
  EXPECT_EQ(s->cnt, cnt);  // acquired and released
  EXPECT_EQ(s->next, s);
}

TEST(TestRunKfuncs61Test, RdwrMemWritesTheStructRdonlyMemDoesNot) {
  AtVersion v61(KernelVersion::k6_1);
  // r0 = get_rdwr_mem(p, 8); r0[0] += 1; r7 = r0[0]; r0[0] -= 1.
  const Insns rdwr = {
      a::MovReg(1, 6),        a::MovImm(2, 8),
      a::CallKfunc(kRdwrMem), a::JmpImm(BPF_JEQ, 0, 0, 4),
      a::Ldx(BPF_W, 7, 0, 0), a::AluImm(BPF_ADD, 7, 1),
      a::Stx(BPF_W, 0, 7, 0), a::St(BPF_W, 0, 0, 42),
  };
  bool faulted = true;
  EXPECT_EQ(
      kfunctest::RunSyscallProg(Btf(), AcquireReadRelease(rdwr), &faulted), 43);
  EXPECT_FALSE(faulted) << interp::LastFault();
  EXPECT_EQ(testk::TestStruct()->a, 42);
  // More than two ints: NULL (r7 keeps a + b).
  Insns big = rdwr;
  big[1] = a::MovImm(2, 12);
  EXPECT_EQ(kfunctest::RunSyscallProg(Btf(), AcquireReadRelease(big), &faulted),
            150);
  EXPECT_FALSE(faulted) << interp::LastFault();
  // The read-only memory: a store stops the run.
  Insns ro = rdwr;
  ro[2] = a::CallKfunc(kRdonlyMem);
  kfunctest::RunSyscallProg(Btf(), AcquireReadRelease(ro), &faulted);
  EXPECT_TRUE(faulted);
  EXPECT_EQ(testk::TestStruct()->a, 42);
}

TEST(TestRunKfuncs61Test, ReleaseOfAnythingButTheStructStops) {
  AtVersion v61(KernelVersion::k6_1);
  const Insns p = {a::St(BPF_DW, 10, -8, 0),  a::MovReg(1, 10),
                   a::AluImm(BPF_ADD, 1, -8), a::CallKfunc(kRelease),
                   a::MovImm(0, 0),           a::Exit()};
  bool faulted = false;
  kfunctest::RunSyscallProg(Btf(), p, &faulted);
  EXPECT_TRUE(faulted);
}

TEST(TestRunKfuncs61Test, ArgRegsFollowMovesAndCalls) {
  // At entry R1 is the context, R2-R5 unwritten.
  const Insns p = {a::CallKfunc(kLookupUserKey), a::Exit()};
  EXPECT_EQ(interp::KfuncArgRegsAt(p.data(), p.size(), 0),
            1u | 2u << 2 | 2u << 4 | 2u << 6 | 2u << 8);
  // r2 = r1 (the context), r1 = 0; after a call R1-R5 are unwritten.
  const Insns q = {a::MovReg(2, 1), a::MovImm(1, 0), a::CallKfunc(kTest1),
                   a::MovImm(1, 0), a::MovImm(2, 0), a::CallKfunc(kTest2),
                   a::Exit()};
  EXPECT_EQ(interp::KfuncArgRegsAt(q.data(), q.size(), 2) & 0xf, 1u << 2);
  EXPECT_EQ(interp::KfuncArgRegsAt(q.data(), q.size(), 5),
            2u << 4 | 2u << 6 | 2u << 8);
  // A branch that writes R2 on one path only: unwritten on the other.
  const Insns r = {a::MovImm(1, 0), a::JmpImm(BPF_JEQ, 1, 0, 1),
                   a::MovImm(2, 0), a::CallKfunc(kTest1), a::Exit()};
  EXPECT_EQ(interp::KfuncArgRegsAt(r.data(), r.size(), 3) & 0xf, 2u << 2);
}

// A kfunc call in a subprogram sees the call site's R1-R5: R1 the context
// main passed on, R2 a scalar (6.1's btf_check_kfunc_arg_match judges the
// callee's registers, which setup_func_entry copied from the caller).
TEST(TestRunKfuncs61Test, ArgRegsFlowIntoSubprograms) {
  const Insns p = {a::MovImm(2, 0), a::CallLocal(2),
                   a::MovImm(0, 0), a::Exit(),
                   a::MovImm(3, 0), a::CallKfunc(kLookupUserKey),
                   a::MovImm(0, 0), a::Exit()};
  EXPECT_EQ(interp::KfuncArgRegsAt(p.data(), p.size(), 5),
            1u | 0u << 2 | 0u << 4 | 2u << 6 | 2u << 8);
  AtVersion v61(KernelVersion::k6_1);
  Loaded l = Load(p, BPF_PROG_TYPE_TRACING);
  EXPECT_EQ(l.err, -EINVAL);
  EXPECT_EQ(l.log, "R1 is not a scalar\n");
  // Two call sites, the first passing scalars, the second the context
  // (saved in R6): refused for the second.
  const Insns q = {a::MovReg(6, 1), a::MovImm(1, 0),
                   a::MovImm(2, 0), a::CallLocal(5),
                   a::MovReg(1, 6), a::MovImm(2, 0),
                   a::CallLocal(2), a::MovImm(0, 0),
                   a::Exit(),       a::CallKfunc(kLookupUserKey),
                   a::MovImm(0, 0), a::Exit()};
  EXPECT_EQ(interp::KfuncArgRegsAt(q.data(), q.size(), 9) & 0xf, 1u);
  l = Load(q, BPF_PROG_TYPE_TRACING);
  EXPECT_EQ(l.err, -EINVAL);
  EXPECT_EQ(l.log, "R1 is not a scalar\n");
  const Insns scalars = {a::MovImm(1, 0), a::MovImm(2, 0),
                         a::CallLocal(2), a::MovImm(0, 0),
                         a::Exit(),       a::CallKfunc(kLookupUserKey),
                         a::MovImm(0, 0), a::Exit()};
  l = Load(scalars, BPF_PROG_TYPE_TRACING);
  EXPECT_EQ(l.err, -EACCES);
  EXPECT_EQ(l.log,
            "program must be sleepable to call sleepable kfunc "
            "bpf_lookup_user_key\n");
}

TEST(TestRunKfuncs61Test, LookupUserKeyArgumentsBeforeSleepability) {
  const Insns bare = {a::CallKfunc(kLookupUserKey), a::MovImm(0, 0), a::Exit()};
  const Insns r1_only = {a::MovImm(1, 0), a::CallKfunc(kLookupUserKey),
                         a::MovImm(0, 0), a::Exit()};
  const Insns scalars = {a::MovImm(1, 0), a::MovImm(2, 0),
                         a::CallKfunc(kLookupUserKey), a::MovImm(0, 0),
                         a::Exit()};
  {
    AtVersion v61(KernelVersion::k6_1);
    Loaded l = Load(bare, BPF_PROG_TYPE_TRACING);
    EXPECT_EQ(l.err, -EINVAL);
    EXPECT_EQ(l.log, "R1 is not a scalar\n");
    l = Load(r1_only, BPF_PROG_TYPE_TRACING);
    EXPECT_EQ(l.err, -EINVAL);
    EXPECT_EQ(l.log, "R2 is not a scalar\n");
    l = Load(scalars, BPF_PROG_TYPE_TRACING);
    EXPECT_EQ(l.err, -EACCES);
    EXPECT_EQ(l.log,
              "program must be sleepable to call sleepable kfunc "
              "bpf_lookup_user_key\n");
    EXPECT_EQ(Load(scalars, BPF_PROG_TYPE_TRACING, true).err, 0);
  }
  // Later kernels check sleepability first.
  AtVersion v612(KernelVersion::k6_12);
  EXPECT_EQ(Load(bare, BPF_PROG_TYPE_TRACING).err, -EACCES);
}

}  // namespace
}  // namespace bpfemu
