// SPDX-License-Identifier: Apache-2.0
// kfuncB47's kfuncs without the kernel and without the native helpers
// (emu/task_cgroup_kfuncs.h, emu/task_iter_kfuncs.h, emu/css_iter_kfuncs.h,
// emu/wq_kfuncs.h): the interpreter's stops on pointers the verifier
// refuses (a stack slot as a task, a css or a map, an iterator that is not
// writable), what the kfuncs answer where no task views are registered
// (an emu-only binary: no task, the iterators find nothing), and the
// argument errors the kernel checks first. Against the kernel:
// tests/examples/{task_cgroup_kfuncs,iter_task,iter_task_vma,css_iter,
// wq}_compare_test.cc; on bpfemu with the native helpers:
// tests/examples/kfuncs47_test.cc.

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/css_iter_kfuncs.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/kfunc.h"
#include "emu/kfunc_testing.h"
#include "emu/prog.h"
#include "emu/task_cgroup_kfuncs.h"
#include "emu/task_iter_kfuncs.h"
#include "emu/wq_kfuncs.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

using interp::RawInsn;
namespace a = interp::asm_;
using Insns = std::vector<RawInsn>;

const char* const kNames[] = {
    "bpf_iter_task_new",  "bpf_iter_task_next",    "bpf_iter_task_vma_new",
    "bpf_iter_css_new",   "bpf_iter_css_task_new", "bpf_wq_init",
    "bpf_wq_start",       "bpf_task_under_cgroup", "bpf_send_signal_task",
    "bpf_task_from_vpid", "bpf_cgroup_ancestor",   "bpf_iter_css_task_next",
};
enum : int32_t {
  kIterTaskNew = 3,  // BTF ids: 1 "int", 2 the proto, then the FUNCs
  kIterTaskNext,
  kIterTaskVmaNew,
  kIterCssNew,
  kIterCssTaskNew,
  kWqInit,
  kWqStart,
  kTaskUnderCgroup,
  kSendSignalTask,
  kTaskFromVpid,
  kCgroupAncestor,
  kIterCssTaskNext,
};

const KernelBtf* TestBtf() {
  static const KernelBtf* btf =
      kfunctest::FuncBtf(
          std::vector<const char*>(std::begin(kNames), std::end(kNames)))
          .release();
  return btf;
}

int32_t RunSyscallProg(const Insns& p, bool* faulted) {
  return kfunctest::RunSyscallProg(TestBtf(), p, faulted);
}

// r1 = fp - 32 (a zeroed 32-byte slot), r2 = fp - 40 (a zeroed slot that is
// no kernel object), r3 = `r3`; call `kfunc`; return r0.
Insns StackArgs(int32_t kfunc, int32_t r3) {
  return {a::St(BPF_DW, 10, -8, 0),   a::St(BPF_DW, 10, -16, 0),
          a::St(BPF_DW, 10, -24, 0),  a::St(BPF_DW, 10, -32, 0),
          a::St(BPF_DW, 10, -40, 0),  a::MovReg(1, 10),
          a::AluImm(BPF_ADD, 1, -32), a::MovReg(2, 10),
          a::AluImm(BPF_ADD, 2, -40), a::MovImm(3, r3),
          a::CallKfunc(kfunc),        a::Exit()};
}

void ExpectStop(const Insns& p, const std::string& what) {
  bool faulted = false;
  RunSyscallProg(p, &faulted);
  EXPECT_TRUE(faulted) << what;
  EXPECT_NE(interp::LastFault().find(what), std::string::npos)
      << interp::LastFault();
}

TEST(Kfuncs47InterpTest, StopsOnPointersTheVerifierRefuses) {
  // A stack slot is no task, css or map.
  ExpectStop(StackArgs(kIterTaskNew, 2), "bpf_iter_task_new: R2");
  ExpectStop(StackArgs(kIterTaskVmaNew, 0), "bpf_iter_task_vma_new");
  ExpectStop(StackArgs(kIterCssNew, 2), "bpf_iter_css_new: R2");
  ExpectStop(StackArgs(kIterCssTaskNew, 0), "bpf_iter_css_task_new: R2");
  ExpectStop(StackArgs(kWqInit, 0), "bpf_wq_init");
  ExpectStop(StackArgs(kCgroupAncestor, 0), "bpf_cgroup_ancestor: R1");
  // A stack slot as the task (R1).
  Insns p = StackArgs(kTaskUnderCgroup, 0);
  p[5] = a::MovReg(1, 10);  // r1 = fp - 32: no task
  ExpectStop(p, "bpf_task_under_cgroup: R1");
  ExpectStop(StackArgs(kSendSignalTask, 0), "bpf_send_signal_task: R1");
  // An iterator that is no writable memory.
  ExpectStop({a::MovImm(1, 0x1000), a::MovImm(2, 0), a::MovImm(3, 0),
              a::CallKfunc(kIterTaskNew), a::Exit()},
             "bpf_iter_task_new: R1");
  ExpectStop({a::MovImm(1, 0x1000), a::CallKfunc(kWqStart), a::Exit()},
             "bpf_wq_start: R1");
}

TEST(Kfuncs47InterpTest, WithoutTaskViewsNothingIsFound) {
  ASSERT_EQ(GetTaskIterOps(), nullptr) << "an emu-only binary";
  bool faulted = true;
  // bpf_task_from_vpid(1): no task.
  EXPECT_EQ(
      RunSyscallProg({a::MovImm(1, 1), a::CallKfunc(kTaskFromVpid), a::Exit()},
                     &faulted),
      0);
  EXPECT_FALSE(faulted) << interp::LastFault();
  // bpf_iter_task_new(&it, NULL, ALL_PROCS): -ENOENT; _next: NULL.
  Insns p = StackArgs(kIterTaskNew, 0);
  p[7] = a::MovImm(2, 0);
  p[8] = a::MovImm(2, 0);
  EXPECT_EQ(RunSyscallProg(p, &faulted), -ENOENT);
  EXPECT_FALSE(faulted) << interp::LastFault();
  Insns n = StackArgs(kIterTaskNext, 0);
  EXPECT_EQ(RunSyscallProg(n, &faulted), 0);
  EXPECT_FALSE(faulted) << interp::LastFault();
  // A css_task iterator that is no live one finds nothing.
  Insns c = StackArgs(kIterCssTaskNext, 0);
  EXPECT_EQ(RunSyscallProg(c, &faulted), 0);
  EXPECT_FALSE(faulted) << interp::LastFault();
}

TEST(Kfuncs47ModelTest, ArgumentErrorsAsTheKernel) {
  uint8_t it[24];
  std::memset(it, 0xff, sizeof(it));
  int dummy = 0;
  for (uint32_t flags : {0u, 1u, 5u, ~0u}) {
    EXPECT_EQ(IterCssNew(it, &dummy, flags), -EINVAL) << flags;
    EXPECT_EQ(IterCssNext(it), nullptr);
  }
  for (uint32_t flags : {kCssTaskIterThreaded, 4u, ~0u}) {
    EXPECT_EQ(IterCssTaskNew(it, &dummy, flags), -EINVAL) << flags;
    EXPECT_EQ(IterCssTaskNext(it), nullptr);
    IterCssTaskDestroy(it);
  }
  // PROCS over no cgroup handle: an iterator with nothing in it.
  ASSERT_EQ(IterCssTaskNew(it, &dummy, kCssTaskIterProcs), 0);
  EXPECT_EQ(IterCssTaskNext(it), nullptr);
  IterCssTaskDestroy(it);
  // The ancestor walk of a pointer that is no handle ends after it.
  ASSERT_EQ(IterCssNew(it, &dummy, kCgroupIterAncestorsUp), 0);
  EXPECT_EQ(IterCssNext(it), &dummy);
  EXPECT_EQ(IterCssNext(it), nullptr);
  // bpf_send_signal_task checks the pid type first.
  EXPECT_EQ(SendSignalTask(&dummy, 0, 2, 0), -EINVAL);
  EXPECT_EQ(SendSignalTask(&dummy, 0, -1, 0), -EINVAL);
  // The workqueue: flags, then a wq that was never initialized.
  uint8_t wq[16] = {};
  EXPECT_EQ(WqInit(nullptr, 0, wq, 1), -EINVAL);
  EXPECT_EQ(WqInit(nullptr, 0, wq, 0), -EINVAL);
  EXPECT_EQ(WqStart(wq, 1), -EINVAL);
  EXPECT_EQ(WqStart(wq, 0), -EINVAL);
  EXPECT_EQ(WqSetCallback(wq, {}, 1), -EINVAL);
  EXPECT_EQ(WqSetCallback(wq, {}, 0), -EINVAL);
}

}  // namespace
}  // namespace bpfemu
