// SPDX-License-Identifier: Apache-2.0
// tests/examples/fentry.bpf.c on bpfemu, natively and as bytecode, without
// root: fentry_cases.h's scenario against tests/examples/testdata/
// fentry.expected. The 6.18 host refuses every fentry/fexit/fmod_ret load
// (EPERM), so the file holds the answers net/bpf/test_run.c,
// kernel/bpf/syscall.c, kernel/bpf/trampoline.c and kernel/trace/
// bpf_trace.c give (6.18: bpf_fentry_test10 is called too), worked out by
// hand; fentry_compare_test re-records it on a kernel that loads them.

#include <linux/bpf.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bpfemu/native_abi.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "emu/trampoline.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "loader/test_run.h"
#include "native/syscall_helpers.h"
#include "tests/examples/fentry_cases.h"
#include "tests/examples/fentry_emu.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace fentry;  // NOLINT: the shared scenario

class FentryTest : public ::testing::TestWithParam<bool> {};

TEST_P(FentryTest, SameAsTheExpectedKernel) {
  SetTargetKernel(KernelVersion::k6_18);
  const Recorded rec = ReadRecorded("tests/examples/testdata/fentry.expected");
  ASSERT_FALSE(rec.lines.empty())
      << "no tests/examples/testdata/fentry.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded for " << rec.kernel;
  std::string error;
  const std::vector<std::string> got = EmuScenario(GetParam(), &error);
  ASSERT_TRUE(error.empty()) << error;
  ExpectSameAsRecorded(rec, got, "fentry");
}

// The loads the verifier refuses (kernel/bpf/verifier.c
// check_attach_btf_id; tracing_prog_func_proto offers the trampoline
// helpers to fentry / fexit / fmod_ret only) and the helpers' answers
// outside a trampoline, on the bytecode face.
TEST(FentryLoad, RefusedAsTheKernel) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF to attach to";
  const int32_t func = btf->FindByNameKind("bpf_fentry_test1", BTF_KIND_FUNC);
  const int32_t type = btf->FindByNameKind("task_struct", BTF_KIND_STRUCT);
  ASSERT_GT(func, 0);
  ASSERT_GT(type, 0);
  auto call = [](int32_t helper) {
    return std::vector<interp::RawInsn>{
        {BPF_JMP | BPF_CALL, 0, 0, 0, helper},
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  };
  auto load = [](uint32_t attach_type, uint32_t btf_id,
                 const std::vector<interp::RawInsn>& insns) {
    native::ProgLoadFlags flags;
    flags.attach_btf_id = btf_id;
    const int fd = native::ProgLoadBytecode(
        BPF_PROG_TYPE_TRACING, attach_type, "t", insns.data(),
        static_cast<uint32_t>(insns.size()), "GPL", flags);
    if (fd >= 0) CloseFd(fd);
    return fd >= 0 ? 0 : fd;
  };
  const auto cnt = call(BPF_FUNC_get_func_arg_cnt);
  EXPECT_EQ(load(BPF_TRACE_FENTRY, 0, cnt), -EINVAL);  // no btf_id
  EXPECT_EQ(load(BPF_TRACE_FEXIT, static_cast<uint32_t>(type), cnt), -EINVAL);
  EXPECT_EQ(load(BPF_MODIFY_RETURN, 0x7fffffff, cnt), -EINVAL);
  for (uint32_t t : {BPF_TRACE_FENTRY, BPF_TRACE_FEXIT, BPF_MODIFY_RETURN}) {
    EXPECT_EQ(load(t, static_cast<uint32_t>(func), cnt), 0) << t;
  }
  // tp_btf programs are offered the cookie, not the trampoline's frame.
  const uint32_t tp = static_cast<uint32_t>(
      btf->FindByNameKind("btf_trace_sched_switch", BTF_KIND_TYPEDEF));
  for (int32_t h : {BPF_FUNC_get_func_arg_cnt, BPF_FUNC_get_func_arg,
                    BPF_FUNC_get_func_ret}) {
    EXPECT_EQ(load(BPF_TRACE_RAW_TP, tp, call(h)), -EINVAL) << h;
  }
  EXPECT_EQ(load(BPF_TRACE_RAW_TP, tp, call(BPF_FUNC_get_attach_cookie)), 0);
  // __bpf_trampoline_link_prog: BPF_MAX_TRAMP_LINKS (38 on x86-64)
  // programs of any kind on one function, then E2BIG.
  std::vector<int> progs, links;
  for (int i = 0; i < 39; ++i) {
    const uint32_t t = i % 2 ? BPF_TRACE_FENTRY : BPF_TRACE_FEXIT;
    const std::vector<interp::RawInsn> ret0 = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    native::ProgLoadFlags flags;
    flags.attach_btf_id = static_cast<uint32_t>(func);
    const int fd = native::ProgLoadBytecode(BPF_PROG_TYPE_TRACING, t, "t",
                                            ret0.data(), 2, "GPL", flags);
    ASSERT_GE(fd, 0);
    progs.push_back(fd);
    const int link = TracingLinkCreate(fd, t, 0, 0, 0);
    if (i < 38) {
      EXPECT_GE(link, 0) << i;
    } else {
      EXPECT_EQ(link, -E2BIG);
    }
    if (link >= 0) links.push_back(link);
  }
  // One detached, the last one attaches.
  CloseFd(links.back());
  links.pop_back();
  const int last = TracingLinkCreate(progs.back(), BPF_TRACE_FEXIT, 0, 0, 0);
  EXPECT_GE(last, 0);
  if (last >= 0) links.push_back(last);
  for (int fd : links) CloseFd(fd);
  for (int fd : progs) CloseFd(fd);
  // An fmod_ret program on bpf_fentry_test1 (in the kernel's fmodret set)
  // returning 5 makes it answer 5, not 2: the fentry run stops with
  // EFAULT; returning 0 lets it run.
  for (int32_t r : {5, 0}) {
    const std::vector<interp::RawInsn> ret_r = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    native::ProgLoadFlags flags;
    flags.attach_btf_id = static_cast<uint32_t>(func);
    const int mod =
        native::ProgLoadBytecode(BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, "m",
                                 ret_r.data(), 2, "GPL", flags);
    // fentry programs return 0 (the verifier's range for them).
    const interp::RawInsn ret0[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                                    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    const int entry = native::ProgLoadBytecode(
        BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, "e", ret0, 2, "GPL", flags);
    ASSERT_GE(mod, 0);
    ASSERT_GE(entry, 0);
    const int link = TracingLinkCreate(mod, BPF_MODIFY_RETURN, 0, 0, 0);
    ASSERT_GE(link, 0);
    std::shared_ptr<const Prog> p;
    ASSERT_EQ(ProgFromFd(entry, &p), 0);
    native::TestRunOutput out;
    EXPECT_EQ(native::TestRun(*p, native::TestRunAttr{}, &out),
              r != 0 ? -EFAULT : 0)
        << r;
    EXPECT_EQ(out.write_retval, r == 0);
    for (int fd : {link, entry, mod}) CloseFd(fd);
  }
  // bpf_sys_bpf from a SYSCALL program: the same link_create and
  // raw_tracepoint_open (native/syscall_helpers.h SysBpf).
  {
    const interp::RawInsn ret0[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                                    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    native::ProgLoadFlags flags;
    flags.attach_btf_id = static_cast<uint32_t>(func);
    const int fd = native::ProgLoadBytecode(
        BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, "x", ret0, 2, "GPL", flags);
    ASSERT_GE(fd, 0);
    union bpf_attr a = {};
    a.link_create.prog_fd = static_cast<uint32_t>(fd);
    a.link_create.attach_type = BPF_TRACE_FEXIT;
    const long link = native::SysBpf(BPF_LINK_CREATE, &a, sizeof(a));
    EXPECT_GE(link, 0);
    EXPECT_TRUE(IsTracingLinkFd(static_cast<int>(link)));
    EXPECT_EQ(native::SysBpf(BPF_LINK_CREATE, &a, sizeof(a)), -EBUSY);
    a.link_create.attach_type = BPF_TRACE_FENTRY;
    EXPECT_EQ(native::SysBpf(BPF_LINK_CREATE, &a, sizeof(a)), -EINVAL);
    union bpf_attr r = {};
    r.raw_tracepoint.prog_fd = static_cast<uint32_t>(fd);
    r.raw_tracepoint.name = reinterpret_cast<uint64_t>("bpf_fentry_test1");
    EXPECT_EQ(native::SysBpf(BPF_RAW_TRACEPOINT_OPEN, &r, sizeof(r)), -EINVAL);
    if (link >= 0) CloseFd(static_cast<int>(link));
    r.raw_tracepoint.name = 0;
    const long again = native::SysBpf(BPF_RAW_TRACEPOINT_OPEN, &r, sizeof(r));
    EXPECT_GE(again, 0);
    if (again >= 0) CloseFd(static_cast<int>(again));
    CloseFd(fd);
  }
  // Outside a trampoline the frame is zeroed (no function, no cookie).
  uint64_t ctx[2] = {5, 6};
  uint64_t v = 77;
  EXPECT_EQ(bpfemu_get_func_arg_cnt(ctx), 0);
  EXPECT_EQ(bpfemu_get_func_arg(ctx, 0, reinterpret_cast<__u64*>(&v)), -EINVAL);
  EXPECT_EQ(bpfemu_get_func_ret(ctx, reinterpret_cast<__u64*>(&v)),
            -EOPNOTSUPP);
  EXPECT_EQ(v, 77u);
  EXPECT_EQ(bpfemu_get_func_ip(ctx), 0u);
  EXPECT_EQ(bpfemu_get_attach_cookie(ctx), 0u);
}

INSTANTIATE_TEST_SUITE_P(Faces, FentryTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
