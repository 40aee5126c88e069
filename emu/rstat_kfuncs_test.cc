// SPDX-License-Identifier: Apache-2.0
// kfn50: kernel/cgroup/rstat.c css_rstat_updated (emu/rstat_kfuncs.h) over
// the machine's cgroup2 cgroups: the cgroup and its ancestors pending on
// the CPU, a flush taking them children first, the refusals; offered to the
// tracing hook's types on 6.18 only; a tracepoint program's call through
// the interpreter. Its offer on the kernel:
// //kernel_compare:helper_offer_compare_test.

#include "emu/rstat_kfuncs.h"

#include <linux/bpf.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "emu/cgroup.h"
#include "emu/cpu.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kfunc.h"
#include "emu/kfunc_testing.h"
#include "emu/prog.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

namespace a = interp::asm_;
using Insns = std::vector<interp::RawInsn>;

// The process's cgroup, with a reference (released by the caller), or
// nullptr where there is no cgroup2 hierarchy.
void* OwnCgroup(uint64_t* id) {
  if (Cgroup2Mount().empty()) return nullptr;
  *id = CurrentCgroupId();
  return CgroupRefFromId(*id);
}

TEST(RstatKfuncsTest, MarksTheCgroupAndItsAncestorsUntilAFlush) {
  uint64_t id = 0;
  void* cgrp = OwnCgroup(&id);
  if (cgrp == nullptr) GTEST_SKIP() << "no cgroup2 hierarchy";
  rstatk::RstatFlush(kRootCgroupId);
  EXPECT_EQ(rstatk::CssRstatUpdated(cgrp, 0), 0);
  EXPECT_TRUE(rstatk::RstatPending(id, 0));
  EXPECT_TRUE(rstatk::RstatPending(kRootCgroupId, 0));
  if (NumPossibleCpus() > 1) {
    EXPECT_FALSE(rstatk::RstatPending(id, 1));
  }
  const std::vector<uint64_t> flushed = rstatk::RstatFlush(kRootCgroupId);
  ASSERT_FALSE(flushed.empty());
  EXPECT_EQ(flushed.front(), id);  // the deepest first
  EXPECT_EQ(flushed.back(), kRootCgroupId);
  EXPECT_FALSE(rstatk::RstatPending(id, 0));
  EXPECT_FALSE(rstatk::RstatPending(kRootCgroupId, 0));
  // No possible CPU, no cgroup handle: nothing marked.
  EXPECT_EQ(rstatk::CssRstatUpdated(cgrp, NumPossibleCpus()), -EINVAL);
  EXPECT_EQ(rstatk::CssRstatUpdated(cgrp, -1), -EINVAL);
  int not_a_css = 0;
  EXPECT_EQ(rstatk::CssRstatUpdated(&not_a_css, 0), -EINVAL);
  EXPECT_FALSE(rstatk::RstatPending(id, 0));
  EXPECT_EQ(CgroupRefRelease(cgrp), 0);
}

TEST(RstatKfuncsTest, OfferedToTheTracingHookOnSixEighteen) {
  const Kfunc* k = FindKfunc("css_rstat_updated");
  ASSERT_NE(k, nullptr);
  for (uint32_t t : {BPF_PROG_TYPE_TRACEPOINT, BPF_PROG_TYPE_PERF_EVENT,
                     BPF_PROG_TYPE_TRACING}) {
    EXPECT_TRUE(KfuncAllowed(*k, t, KernelVersion::k6_18)) << t;
    EXPECT_FALSE(KfuncAllowed(*k, t, KernelVersion::k6_12)) << t;
  }
  EXPECT_FALSE(KfuncAllowed(*k, BPF_PROG_TYPE_SYSCALL, KernelVersion::k6_18));
  EXPECT_FALSE(KfuncAllowed(*k, BPF_PROG_TYPE_SCHED_CLS, KernelVersion::k6_18));
}

TEST(RstatKfuncsTest, ATracepointProgramMarksItsCgroup) {
  uint64_t id = 0;
  void* cgrp = OwnCgroup(&id);
  if (cgrp == nullptr) GTEST_SKIP() << "no cgroup2 hierarchy";
  CgroupRefRelease(cgrp);
  const KernelVersion old = TargetKernel();
  SetTargetKernel(KernelVersion::k6_18);
  rstatk::RstatFlush(kRootCgroupId);
  // FUNCs 3, 4, 5.
  const std::unique_ptr<KernelBtf> btf = kfunctest::FuncBtf(
      {"bpf_cgroup_from_id", "css_rstat_updated", "bpf_cgroup_release"});
  Insns p;
  a::LdImm64(&p, 1, id);
  for (const interp::RawInsn& in :
       Insns{a::CallKfunc(3), a::JmpImm(BPF_JNE, 0, 0, 2), a::MovImm(0, 1),
             a::Exit(), a::MovReg(6, 0), a::MovReg(1, 6), a::MovImm(2, 0),
             a::CallKfunc(4), a::MovReg(1, 6), a::CallKfunc(5), a::MovImm(0, 0),
             a::Exit()}) {
    p.push_back(in);
  }
  kfunctest::Linker linker(btf.get());
  interp::LoadAttr attr;
  attr.prog_type = BPF_PROG_TYPE_TRACEPOINT;
  attr.insns = p.data();
  attr.insn_cnt = static_cast<uint32_t>(p.size());
  attr.gpl_compatible = true;
  std::shared_ptr<const interp::Program> prog;
  ASSERT_EQ(interp::Program::Load(attr, linker, &prog), 0);
  Prog desc;
  desc.type = BPF_PROG_TYPE_TRACEPOINT;
  desc.code = prog;
  uint64_t ctx[8] = {};
  EXPECT_EQ(ProgRun(desc, ctx), 0u);
  EXPECT_FALSE(ProgFaulted()) << interp::LastFault();
  EXPECT_TRUE(rstatk::RstatPending(id, 0));
  // R2 a CPU that is not possible: the run stops.
  p[p.size() - 6] = a::MovImm(2, NumPossibleCpus());
  attr.insns = p.data();
  ASSERT_EQ(interp::Program::Load(attr, linker, &prog), 0);
  desc.code = prog;
  ProgRun(desc, ctx);
  EXPECT_TRUE(ProgFaulted());
  rstatk::RstatFlush(kRootCgroupId);
  SetTargetKernel(old);
}

}  // namespace
}  // namespace bpfemu
