// SPDX-License-Identifier: Apache-2.0
// tracing_misc.bpf.c and tracing_write.bpf.c on bpfemu alone (any user):
// - bpf_probe_write_user, which this host's kernel (lockdown) refuses to
//   every program, against the answers kernel/trace/bpf_trace.c and
//   mm/maccess.c copy_to_user_nofault give without lockdown: the touched
//   buffer written, -EFAULT for a read-only page, NULL, a kernel address
//   and a page never touched (page faults are disabled), and for a range
//   running into a PROT_NONE page after its first 4 bytes are written;
// - the load refusals of the new helpers (hand-written bytecode): the
//   program types they are offered to, GPL-only, sleepable-only;
// - the answers the kernel gave in tracing_misc_compare_test that do not
//   depend on addresses, and bpf_find_vma's vma on the bytecode face;
// - the bytecode face's argument checks, which the kernel's verifier makes.

#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "tests/examples/tracing_misc_scenario.h"

namespace bpfemu::examples::tracing_misc {
namespace {

namespace a = interp::asm_;
using Insns = std::vector<interp::RawInsn>;

class TracingMiscTest : public ::testing::TestWithParam<bool> {};

TEST_P(TracingMiscTest, ProbeWriteUserWritesTheCallersMemory) {
  auto obj =
      GetParam()
          ? native::Object::OpenBytecode("tests/examples/tracing_write.bpf.o")
          : native::Object::Open("tracing_write");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Object& o = **obj;
  const std::vector<std::string> got = RunWriteScenario(
      [&o](const char* prog, misc_ctx* c) {
        const native::Program* p = o.FindProgram(prog);
        if (p == nullptr) return -1;
        p->Run(c);
        return ProgFaulted() ? -2 : 0;
      },
      [&o](const char* prog, const std::vector<uint64_t>& args) {
        const native::Program* p = o.FindProgram(prog);
        return p == nullptr ? 0xdeadu : p->RunRawTp(args);
      });
  const std::vector<std::string> want = {
      "write_user.err\t0",
      "write_user.ret\t0 -14 -14 -14 -14 -14 0",
      // "bpfemu-w", then the 1-byte write of 'b' at 8.
      "write_user.rw\t627066656d752d7762090a0b0c0d0e0f",
      "write_user.rw_tail\t62706665",
      "write_user.ro\t8081828384858687",
      "write_user.fresh\t0000000000000000",
      "write_user_tp.rw\t0",
      "write_user_tp.rw_bytes\t627066656d752d77",
      "write_user_tp.null\t-14",
      "write_user_tp.kernel\t-14",
  };
  EXPECT_EQ(got, want);
}

// The answers 6.18 gave in tracing_misc_compare_test, for the runs whose
// lines do not depend on this process's addresses.
TEST_P(TracingMiscTest, AnswersAsRecordedOnTheKernel) {
  auto obj =
      GetParam()
          ? native::Object::OpenBytecode("tests/examples/tracing_misc.bpf.o")
          : native::Object::Open("tracing_misc");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Object& o = **obj;
  const std::vector<std::string> got = RunScenario(
      [&o](const char* prog, misc_ctx* c) {
        const native::Program* p = o.FindProgram(prog);
        if (p == nullptr) return -1;
        p->Run(c);
        return ProgFaulted() ? -2 : 0;
      },
      [&o](const char* prog, const std::vector<uint64_t>& args) {
        const native::Program* p = o.FindProgram(prog);
        return p == nullptr ? 0xdeadu : p->RunRawTp(args);
      });
  const char* const recorded[] = {
      "send_sig.0.10.ret\t0",
      "send_sig.0.10.pending\tSigPnd:\t0000000000000000 "
      "ShdPnd:\t0000000000000200",
      "send_sig.0.10.taken\t 10/128/0/0",
      "send_sig.1.64.pending\tSigPnd:\t8000000000000000 "
      "ShdPnd:\t0000000000000000",
      "send_sig.1.0.taken\t none",
      "send_sig_tp.0.65.ret\t-22",
      "send_sig_tp.1.4294967295.ret\t-22",
      "send_sig_tp.1.4294967308.taken\t 12/128/0/0",
      "send_sig.delivered_to_handlers\t0",
      "branches.ret\t-2 -2 -2 -22 -22",
      "branches_tp.0\t-2",
      "branches_tp.1\t-22",
      "find_vma_calls.ret\t0 -2 -22 -2 0 2 2",
      "task_stack.kernel\tframes all_kernel=1",
      "task_stack.user\tframes first_in_code=1",
      "task_stack.errors\t-22 -22 -22 -14 0",
      "copy_task.ret\t0 -22 -14 -14 0 -14 0 0",
      "copy_task."
      "buf\t000102030405060708090a0b0c0d0e0faaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaa80818283848586870000000000000000",
      "copy_task.buf2\t00000000000000000000000000000000",
  };
  for (const char* line : recorded) {
    EXPECT_NE(std::find(got.begin(), got.end(), line), got.end()) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, TracingMiscTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

// Loads `call helper; r0 = 0; exit`: the fd (closed) or -errno, and the log.
std::pair<int, std::string> Load(uint32_t type, int32_t helper,
                                 const char* license, bool sleepable) {
  const Insns p = {a::Call(helper), a::MovImm(BPF_REG_0, 0), a::Exit()};
  std::string log;
  native::ProgLoadFlags flags;
  flags.log = &log;
  flags.prog_flags = sleepable ? BPF_F_SLEEPABLE : 0;
  const int fd = native::ProgLoadBytecode(
      type, 0, "t", p.data(), static_cast<uint32_t>(p.size()), license, flags);
  if (fd >= 0) CloseFd(fd);
  return {fd >= 0 ? 0 : fd, log};
}

// kernel/trace/bpf_trace.c bpf_tracing_func_proto offers them to every
// tracing type and (syscall_prog_func_proto's default) to SYSCALL; from
// 6.13 bpf_base_func_proto offers all but bpf_probe_write_user to every
// type (6.18 does: tracing_misc_compare_test). bpf_copy_from_user_task
// might sleep, so only a sleepable program calls it; all but
// bpf_send_signal(_thread) are GPL-only.
TEST(TracingMiscRefusalTest, OfferedAsTheKernelOffersThem) {
  const int32_t all[] = {BPF_FUNC_probe_write_user, BPF_FUNC_send_signal,
                         BPF_FUNC_send_signal_thread,
                         BPF_FUNC_get_branch_snapshot};
  for (int32_t id : all) {
    SCOPED_TRACE(id);
    for (uint32_t type : {BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_PROG_TYPE_KPROBE,
                          BPF_PROG_TYPE_TRACEPOINT, BPF_PROG_TYPE_PERF_EVENT}) {
      EXPECT_EQ(Load(type, id, "GPL", false).first, 0) << type;
    }
    EXPECT_EQ(Load(BPF_PROG_TYPE_SYSCALL, id, "GPL", true).first, 0);
    const int other = id == BPF_FUNC_probe_write_user ? -EINVAL : 0;
    EXPECT_EQ(Load(BPF_PROG_TYPE_XDP, id, "GPL", false).first, other);
    EXPECT_EQ(Load(BPF_PROG_TYPE_SCHED_CLS, id, "GPL", false).first, other);
    SetTargetKernel(KernelVersion::k6_12);
    const auto r = Load(BPF_PROG_TYPE_XDP, id, "GPL", false);
    EXPECT_EQ(r.first, -EINVAL);
    EXPECT_NE(r.second.find("cannot use helper"), std::string::npos)
        << r.second;
    EXPECT_EQ(Load(BPF_PROG_TYPE_RAW_TRACEPOINT, id, "GPL", false).first, 0);
    SetTargetKernel(KernelVersion::k6_18);
  }
  EXPECT_EQ(
      Load(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_FUNC_send_signal, "MIT", false)
          .first,
      0);
  EXPECT_EQ(Load(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_FUNC_send_signal_thread,
                 "MIT", false)
                .first,
            0);
  for (int32_t id : {BPF_FUNC_probe_write_user, BPF_FUNC_get_branch_snapshot,
                     BPF_FUNC_copy_from_user_task}) {
    SCOPED_TRACE(id);
    const auto r = Load(BPF_PROG_TYPE_SYSCALL, id, "MIT", true);
    EXPECT_EQ(r.first, -EINVAL);
    EXPECT_NE(r.second.find("GPL-restricted"), std::string::npos) << r.second;
  }
  EXPECT_EQ(
      Load(BPF_PROG_TYPE_SYSCALL, BPF_FUNC_copy_from_user_task, "GPL", true)
          .first,
      0);
  // A program that is not sleepable: "helper call might sleep in a
  // non-sleepable prog" (after the offering and GPL checks); up to 6.12 a
  // non-tracing type is not offered the helper at all.
  for (uint32_t type : {BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_PROG_TYPE_XDP}) {
    SCOPED_TRACE(type);
    const auto r = Load(type, BPF_FUNC_copy_from_user_task, "GPL", false);
    EXPECT_EQ(r.first, -EINVAL);
    EXPECT_EQ(r.second, "helper call might sleep in a non-sleepable prog\n");
  }
  SetTargetKernel(KernelVersion::k6_12);
  EXPECT_NE(Load(BPF_PROG_TYPE_XDP, BPF_FUNC_copy_from_user_task, "GPL", false)
                .second.find("cannot use helper"),
            std::string::npos);
  SetTargetKernel(KernelVersion::k6_18);
}

// Runs `body` as a sleepable SYSCALL program: whether the run stopped on a
// fault, and the fault's text.
std::pair<bool, std::string> RunFaulting(const Insns& body) {
  native::ProgLoadFlags flags;
  flags.prog_flags = BPF_F_SLEEPABLE;
  const int fd = native::ProgLoadBytecode(
      BPF_PROG_TYPE_SYSCALL, 0, "t", body.data(),
      static_cast<uint32_t>(body.size()), "GPL", flags);
  EXPECT_GE(fd, 0);
  if (fd < 0) return {false, ""};
  std::shared_ptr<const Prog> prog;
  EXPECT_EQ(ProgFromFd(fd, &prog), 0);
  uint64_t ctx[8] = {};
  ProgRun(*prog, ctx);
  const bool faulted = ProgFaulted();
  CloseFd(fd);
  return {faulted, faulted ? interp::LastFault() : ""};
}

// What the verifier checks, the bytecode face checks when the call runs:
// bpf_probe_write_user's len is a nonzero constant of readable memory;
// bpf_copy_from_user_task's task is a task_struct the program was handed.
TEST(TracingMiscRefusalTest, BytecodeArgumentChecks) {
  {
    const Insns p = {a::MovImm(BPF_REG_1, 0),
                     a::MovReg(BPF_REG_2, BPF_REG_10),
                     a::AluImm(BPF_ADD, BPF_REG_2, -8),
                     a::MovImm(BPF_REG_3, 0),
                     a::Call(BPF_FUNC_probe_write_user),
                     a::MovImm(BPF_REG_0, 0),
                     a::Exit()};
    const auto r = RunFaulting(p);
    EXPECT_TRUE(r.first);
    EXPECT_NE(r.second.find("len is zero"), std::string::npos) << r.second;
  }
  {
    // dst: 8 bytes of stack; tsk: a scalar (0x1000), not a task.
    const Insns p = {a::St(BPF_DW, BPF_REG_10, -8, 0),
                     a::MovReg(BPF_REG_1, BPF_REG_10),
                     a::AluImm(BPF_ADD, BPF_REG_1, -8),
                     a::MovImm(BPF_REG_2, 8),
                     a::MovImm(BPF_REG_3, 0),
                     a::MovImm(BPF_REG_4, 0x1000),
                     a::MovImm(BPF_REG_5, 0),
                     a::Call(BPF_FUNC_copy_from_user_task),
                     a::MovImm(BPF_REG_0, 0),
                     a::Exit()};
    const auto r = RunFaulting(p);
    EXPECT_TRUE(r.first);
    EXPECT_NE(r.second.find("not a task_struct"), std::string::npos)
        << r.second;
  }
}

// bpf_find_vma's vma on the bytecode face (the kernel's is compared in
// tracing_misc_compare_test): each address's vma holds it, with the
// protection bits, the file and growth flags of its kind.
TEST(FindVmaTest, TheVmasHoldTheirAddresses) {
  auto obj = native::Object::OpenBytecode("tests/examples/find_vma.bpf.o");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* p = (*obj)->FindProgram("read_vmas");
  ASSERT_NE(p, nullptr);
  const Memory m;
  vma_ctx seen = {};
  RunVmaScenario(m, [&](vma_ctx* c) {
    p->Run(c);
    seen = *c;
    return ProgFaulted() ? -1 : 0;
  });
  ASSERT_FALSE(ProgFaulted()) << interp::LastFault();
  constexpr uint64_t kRead = 0x1, kWrite = 0x2, kExec = 0x4, kGrowsDown = 0x100;
  const uint64_t prot[VMA_NR] = {kRead | kWrite, kRead, kRead | kExec,
                                 kRead | kWrite};
  for (int i = 0; i < VMA_NR; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(seen.ret[i], 0);
    EXPECT_LE(seen.info[i][0], seen.addr[i]);
    EXPECT_GT(seen.info[i][1], seen.addr[i]);
    EXPECT_EQ(seen.info[i][2] & 0x7, prot[i]);
    EXPECT_EQ(seen.info[i][4], i == 2 ? 1u : 0u);  // the binary's file
    EXPECT_EQ(seen.info[i][5], 1u);                // the task passed
  }
  EXPECT_EQ(seen.info[3][2] & kGrowsDown, kGrowsDown);  // the main stack
  // An anonymous vma's vm_pgoff is its start page.
  EXPECT_EQ(seen.info[0][3], seen.info[0][0] / 4096);
}

// bpf_find_vma and bpf_get_task_stack are offered to the tracing types and
// SYSCALL, from 6.13 to every type; not GPL-only.
TEST(TracingMiscRefusalTest, FindVmaAndTaskStackOffered) {
  for (int32_t id : {BPF_FUNC_find_vma, BPF_FUNC_get_task_stack}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(Load(BPF_PROG_TYPE_RAW_TRACEPOINT, id, "MIT", false).first, 0);
    EXPECT_EQ(Load(BPF_PROG_TYPE_SYSCALL, id, "MIT", true).first, 0);
    EXPECT_EQ(Load(BPF_PROG_TYPE_XDP, id, "GPL", false).first, 0);
    SetTargetKernel(KernelVersion::k6_12);
    EXPECT_EQ(Load(BPF_PROG_TYPE_XDP, id, "GPL", false).first, -EINVAL);
    SetTargetKernel(KernelVersion::k6_18);
  }
}

// bpf_get_task_stack's task is a task_struct.
TEST(TracingMiscRefusalTest, TaskStackArgumentChecks) {
  const Insns p = {a::MovImm(BPF_REG_1, 0x1000),
                   a::MovReg(BPF_REG_2, BPF_REG_10),
                   a::AluImm(BPF_ADD, BPF_REG_2, -16),
                   a::MovImm(BPF_REG_3, 16),
                   a::MovImm(BPF_REG_4, 0),
                   a::Call(BPF_FUNC_get_task_stack),
                   a::MovImm(BPF_REG_0, 0),
                   a::Exit()};
  const auto r = RunFaulting(p);
  EXPECT_TRUE(r.first);
  EXPECT_NE(r.second.find("task is not a task_struct"), std::string::npos)
      << r.second;
}

// The verifier's checks of bpf_find_vma, made when the call runs: the task
// is a task_struct, and the callback returns 0 or 1.
TEST(TracingMiscRefusalTest, FindVmaArgumentChecks) {
  static int mapped = 0;
  auto program = [](bool real_task, int32_t callback_ret) {
    Insns p;
    p.push_back(a::Call(BPF_FUNC_get_current_task_btf));  // 0
    p.push_back(real_task ? a::MovReg(BPF_REG_1, BPF_REG_0)
                          : a::MovImm(BPF_REG_1, 0x1000));           // 1
    a::LdImm64(&p, BPF_REG_2, reinterpret_cast<uint64_t>(&mapped));  // 2, 3
    a::LdImm64(&p, BPF_REG_3, 5, BPF_PSEUDO_FUNC);    // 4, 5: 4 + 5 + 1
    p.push_back(a::MovImm(BPF_REG_4, 0));             // 6
    p.push_back(a::MovImm(BPF_REG_5, 0));             // 7
    p.push_back(a::Call(BPF_FUNC_find_vma));          // 8
    p.push_back(a::Exit());                           // 9
    p.push_back(a::MovImm(BPF_REG_0, callback_ret));  // 10: the callback
    p.push_back(a::Exit());
    return p;
  };
  EXPECT_FALSE(RunFaulting(program(true, 1)).first);
  const auto bad_ret = RunFaulting(program(true, 2));
  EXPECT_TRUE(bad_ret.first);
  EXPECT_NE(bad_ret.second.find("the callback returned 2"), std::string::npos)
      << bad_ret.second;
  const auto bad_task = RunFaulting(program(false, 0));
  EXPECT_TRUE(bad_task.first);
  EXPECT_NE(bad_task.second.find("task is not a task_struct"),
            std::string::npos)
      << bad_task.second;
}

}  // namespace
}  // namespace bpfemu::examples::tracing_misc
