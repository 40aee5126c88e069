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
// - the bytecode face's argument checks, which the kernel's verifier makes.

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/prog.h"
#include "emu/syscall.h"
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

// kernel/trace/bpf_trace.c bpf_tracing_func_proto offers the four to every
// tracing type and (syscall_prog_func_proto's default) to SYSCALL;
// bpf_copy_from_user_task might sleep, so only a sleepable program calls
// it; all but bpf_send_signal(_thread) are GPL-only.
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
    EXPECT_EQ(Load(BPF_PROG_TYPE_XDP, id, "GPL", false).first, -EINVAL);
    EXPECT_EQ(Load(BPF_PROG_TYPE_SCHED_CLS, id, "GPL", false).first, -EINVAL);
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
  EXPECT_EQ(
      Load(BPF_PROG_TYPE_SYSCALL, BPF_FUNC_copy_from_user_task, "GPL", false)
          .first,
      -EINVAL);
  EXPECT_EQ(Load(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_FUNC_copy_from_user_task,
                 "GPL", false)
                .first,
            -EINVAL);
  EXPECT_EQ(
      Load(BPF_PROG_TYPE_XDP, BPF_FUNC_copy_from_user_task, "GPL", true).first,
      -EINVAL);
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

}  // namespace
}  // namespace bpfemu::examples::tracing_misc
