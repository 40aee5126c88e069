// SPDX-License-Identifier: Apache-2.0
// tests/examples/tracing_misc.bpf.c on the kernel (BPF_PROG_TEST_RUN of
// its SYSCALL and raw tracepoint programs runs in this thread) and on
// bpfemu, natively and as bytecode: the same scenario
// (tracing_misc_scenario.h) gives the same lines.

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/tracing_misc_scenario.h"

namespace bpfemu::examples::tracing_misc {
namespace {

using Scenario = std::vector<std::string> (*)(const SyscallRun&,
                                              const RawTpRun&);

// The scenario on the kernel's load of `path` and on bpfemu's (`bytecode`
// or the native build `name`), line by line.
void Compare(const char* path, const char* name, bool bytecode,
             Scenario scenario) {
  std::unique_ptr<KernelObject> k;
  ASSERT_EQ(KernelObject::Load(path, &k), 0);
  const std::vector<std::string> kernel = scenario(
      [&k](const char* prog, misc_ctx* c) {
        return KernelObject::RunSyscall(k->ProgFd(prog), c, sizeof(*c)).err;
      },
      [&k](const char* prog, const std::vector<uint64_t>& args) {
        return KernelObject::RunRawTp(k->ProgFd(prog), args).retval;
      });
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open(name);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Object& o = **obj;
  const std::vector<std::string> emu = scenario(
      [&o](const char* prog, misc_ctx* c) {
        const native::Program* p = o.FindProgram(prog);
        if (p == nullptr) return -1;
        p->Run(c);
        return 0;
      },
      [&o](const char* prog, const std::vector<uint64_t>& args) {
        const native::Program* p = o.FindProgram(prog);
        return p == nullptr ? 0xdeadu : p->RunRawTp(args);
      });
  ASSERT_EQ(emu.size(), kernel.size());
  for (size_t i = 0; i < kernel.size(); ++i) EXPECT_EQ(emu[i], kernel[i]);
  for (const std::string& line : kernel) std::printf("%s\n", line.c_str());
}

class TracingMiscCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(TracingMiscCompareTest, SameAnswersAsTheKernel) {
  Compare("tests/examples/tracing_misc.bpf.o", "tracing_misc", GetParam(),
          RunScenario);
}

// A kernel in lockdown (integrity and up) offers bpf_probe_write_user to no
// program type: it refuses the object (EINVAL, "program of this type
// cannot use helper bpf_probe_write_user#36"), as this host does; bpfemu
// models a kernel without lockdown (tracing_misc_test checks its answers).
TEST_P(TracingMiscCompareTest, ProbeWriteUserSameAnswersAsTheKernel) {
  std::unique_ptr<KernelObject> k;
  const int err = KernelObject::Load("tests/examples/tracing_write.bpf.o", &k);
  if (err != 0) {
    EXPECT_EQ(err, -EINVAL);
    GTEST_SKIP() << "the kernel refuses bpf_probe_write_user (lockdown)";
  }
  k.reset();
  Compare("tests/examples/tracing_write.bpf.o", "tracing_write", GetParam(),
          RunWriteScenario);
}

// bpf_find_vma's vma through CO-RE: the kernel and the bytecode face.
class FindVmaCompareTest : public KernelTest<::testing::Test> {};

TEST_F(FindVmaCompareTest, SameVmasAsTheKernel) {
  constexpr char kVma[] = "tests/examples/find_vma.bpf.o";
  std::unique_ptr<KernelObject> k;
  ASSERT_EQ(KernelObject::Load(kVma, &k), 0);
  const Memory m;  // the same mappings for both runs
  const std::vector<std::string> kernel = RunVmaScenario(m, [&k](vma_ctx* c) {
    return KernelObject::RunSyscall(k->ProgFd("read_vmas"), c, sizeof(*c)).err;
  });
  auto obj = native::Object::OpenBytecode(kVma);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* p = (*obj)->FindProgram("read_vmas");
  ASSERT_NE(p, nullptr);
  const std::vector<std::string> emu = RunVmaScenario(m, [p](vma_ctx* c) {
    p->Run(c);
    return 0;
  });
  EXPECT_EQ(emu, kernel);
  for (const std::string& line : kernel) std::printf("%s\n", line.c_str());
}

// Loads `call helper; r0 = 0; exit` and says what check_helper_call made
// of the call: "not offered", "gpl", "might sleep", or "offered" (the load
// succeeded, or failed later, on the arguments).
std::string Verdict(int err, const std::string& log) {
  if (log.find("cannot use helper") != std::string::npos) return "not offered";
  if (log.find("GPL-restricted") != std::string::npos) return "gpl";
  if (log.find("might sleep") != std::string::npos) return "might sleep";
  return err == 0 || err == -EACCES || err == -EINVAL ? "offered"
                                                      : "error " + log;
}

std::string KernelVerdict(uint32_t type, int32_t id, const char* license,
                          bool sleepable) {
  const struct bpf_insn insns[] = {
      {BPF_JMP | BPF_CALL, 0, 0, 0, id},
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  char log[4096] = {};
  LIBBPF_OPTS(bpf_prog_load_opts, opts,
              .prog_flags = sleepable ? BPF_F_SLEEPABLE : 0u, .log_level = 1,
              .log_size = sizeof(log), .log_buf = log);
  const int fd = bpf_prog_load(static_cast<bpf_prog_type>(type), "t", license,
                               insns, 3, &opts);
  const int err = fd >= 0 ? 0 : -errno;
  if (fd >= 0) close(fd);
  return Verdict(err, log);
}

std::string EmuVerdict(uint32_t type, int32_t id, const char* license,
                       bool sleepable) {
  namespace a = interp::asm_;
  const std::vector<interp::RawInsn> p = {a::Call(id), a::MovImm(BPF_REG_0, 0),
                                          a::Exit()};
  std::string log;
  native::ProgLoadFlags flags;
  flags.log = &log;
  flags.prog_flags = sleepable ? BPF_F_SLEEPABLE : 0;
  const int fd = native::ProgLoadBytecode(
      type, 0, "t", p.data(), static_cast<uint32_t>(p.size()), license, flags);
  if (fd >= 0) CloseFd(fd);
  return Verdict(fd >= 0 ? 0 : fd, log);
}

// What the kernel's check_helper_call says of each new helper (and
// bpf_copy_from_user, bpf_get_current_task(_btf)) by program type, license
// and sleepable flag, against bpfemu's loader at its default target (6.18).
// Not bpf_probe_write_user: this host's lockdown refuses it everywhere.
class TracingMiscRefusalCompareTest : public KernelTest<::testing::Test> {};

TEST_F(TracingMiscRefusalCompareTest, SameVerdictsAsTheKernel) {
  struct Case {
    uint32_t type;
    const char* license;
    bool sleepable;
  };
  const Case cases[] = {
      {BPF_PROG_TYPE_RAW_TRACEPOINT, "GPL", false},
      {BPF_PROG_TYPE_RAW_TRACEPOINT, "MIT", false},
      {BPF_PROG_TYPE_TRACEPOINT, "GPL", false},
      {BPF_PROG_TYPE_SYSCALL, "GPL", true},
      {BPF_PROG_TYPE_SYSCALL, "MIT", true},
      {BPF_PROG_TYPE_XDP, "GPL", false},
      {BPF_PROG_TYPE_SCHED_CLS, "GPL", false},
      {BPF_PROG_TYPE_SOCKET_FILTER, "GPL", false},
      {BPF_PROG_TYPE_SOCKET_FILTER, "MIT", false},
      {BPF_PROG_TYPE_CGROUP_SKB, "GPL", false},
      {BPF_PROG_TYPE_FLOW_DISSECTOR, "GPL", false},
  };
  const int32_t ids[] = {BPF_FUNC_send_signal,
                         BPF_FUNC_send_signal_thread,
                         BPF_FUNC_get_branch_snapshot,
                         BPF_FUNC_copy_from_user_task,
                         BPF_FUNC_find_vma,
                         BPF_FUNC_get_task_stack,
                         BPF_FUNC_copy_from_user,
                         BPF_FUNC_get_current_task,
                         BPF_FUNC_get_current_task_btf};
  int compared = 0;
  for (const Case& c : cases) {
    for (int32_t id : ids) {
      SCOPED_TRACE(std::to_string(c.type) + " " + std::to_string(id) + " " +
                   c.license + (c.sleepable ? " sleepable" : ""));
      const std::string kernel =
          KernelVerdict(c.type, id, c.license, c.sleepable);
      EXPECT_EQ(EmuVerdict(c.type, id, c.license, c.sleepable), kernel);
      ++compared;
    }
  }
  std::printf("%d verdicts compared\n", compared);
}

INSTANTIATE_TEST_SUITE_P(Faces, TracingMiscCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::tracing_misc
