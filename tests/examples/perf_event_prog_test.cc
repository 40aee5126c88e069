// SPDX-License-Identifier: Apache-2.0
// tests/examples/perf_event_prog.bpf.c on bpfemu alone (no root), natively
// and as bytecode, through RunPerfEventSample (loader/perf_event_run.h):
// the answers the kernel gave a software clock sample
// (perf_event_prog_compare_test), and what no software event reaches: a
// sample with a branch stack (bpf_read_branch_records' size, copy and
// refusals), a sample that interrupted kernel code (kernel stack present),
// a period given for a frequency event, a disabled event and no event.

#include <linux/bpf.h>
#include <linux/perf_event.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "emu/interp_asm.h"
#include "emu/perf_event.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "loader/perf_event_run.h"
#include "native/perf_event_prog.h"
#include "tests/examples/perf_event_prog_seen.h"

namespace bpfemu::examples {
namespace {

class PerfEventProgTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    const std::string path = "tests/examples/perf_event_prog.bpf.o";
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("perf_event_prog");
    ASSERT_TRUE(obj.ok()) << obj.status();
    obj_ = std::move(*obj);
    ASSERT_EQ(obj_->Load(), 0) << obj_->load_error();
    prog_ = obj_->FindProgram("on_sample");
    ASSERT_NE(prog_, nullptr);
    seen_ = obj_->MapFd("seen");
  }

  int OpenEvent(uint64_t config, uint64_t period, bool freq = false) {
    struct perf_event_attr a = {};
    a.size = sizeof(a);
    a.type = PERF_TYPE_SOFTWARE;
    a.config = config;
    a.sample_period = period;
    a.freq = freq ? 1 : 0;
    a.exclude_kernel = 1;
    return PerfEventOpen(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  }

  PerfEventSeen Run(const native::PerfEventSample& s,
                    native::PerfEventOutcome* out = nullptr) {
    const PerfEventSeen blank = {};
    const uint32_t zero = 0;
    EXPECT_EQ(MapUpdateElem(seen_, &zero, &blank, BPF_ANY), 0);
    const native::PerfEventOutcome o = native::RunPerfEventSample(*prog_, s);
    if (out != nullptr) *out = o;
    PerfEventSeen got = {};
    EXPECT_EQ(MapLookupElem(seen_, &zero, &got), 0);
    return got;
  }

  std::unique_ptr<native::Object> obj_;
  const native::Program* prog_ = nullptr;
  int seen_ = -1;
};

// What the 6.18 kernel's program recorded for a cpu-clock sample of period
// 200000 (perf_event_prog_compare_test, measured on this host).
TEST_P(PerfEventProgTest, SoftwareSampleAsTheKernelAnswered) {
  const int ev = OpenEvent(PERF_COUNT_SW_CPU_CLOCK, 200000);
  ASSERT_GE(ev, 0);
  native::PerfEventSample s;
  s.event_fd = ev;
  native::PerfEventOutcome o;
  const PerfEventSeen got = Run(s, &o);
  PerfEventClose(ev);
  EXPECT_EQ(o.err, 0);
  EXPECT_EQ(o.ret, 1u);
  EXPECT_EQ(got.samples, 1u);
  EXPECT_EQ(DumpSeen(got),
            "period 200000 addr 0 period_lo 200000 period_b0 64 user_mode 1 "
            "ip 1 sp 1 read 0 counter 1 enabled 1 running 1 "
            "enabled>=running 1 short -22/1 long -22/1 br_size -2 br_read -2 "
            "br_flags -22 br_odd -2 br_null -2 br_both -22 kstackid -14 "
            "ustackid 0 kstack 0 ustack 1 stack_flags -22 br_from0 0 "
            "br_to1 0");
}

// A sample that carries a branch stack (a PMU with LBR would give one):
// three entries.
TEST_P(PerfEventProgTest, BranchStack) {
  const int ev = OpenEvent(PERF_COUNT_SW_TASK_CLOCK, 1000);
  ASSERT_GE(ev, 0);
  native::PerfEventSample s;
  s.event_fd = ev;
  std::vector<struct perf_branch_entry> br(3);
  for (size_t i = 0; i < br.size(); ++i) {
    br[i].from = 0x1000 + i;
    br[i].to = 0x2000 + i;
  }
  s.branch_stack = br;
  const PerfEventSeen got = Run(s);
  EXPECT_EQ(got.br_size, 72);  // 3 * sizeof(struct perf_branch_entry)
  EXPECT_EQ(got.br_read, 72);  // all of them: the buffer holds 4
  EXPECT_EQ(got.br_from0, 0x1000u);
  EXPECT_EQ(got.br_to1, 0x2001u);
  EXPECT_EQ(got.br_flags, -EINVAL);  // unknown flag
  EXPECT_EQ(got.br_odd, -EINVAL);    // 20 bytes: not whole entries
  EXPECT_EQ(got.br_null, -EINVAL);   // no buffer
  EXPECT_EQ(got.br_both, -EINVAL);   // the size flag and an unknown one
  // Six entries: the buffer of four takes the first four.
  br.resize(6);
  s.branch_stack = br;
  EXPECT_EQ(Run(s).br_read, 96);
  EXPECT_EQ(Run(s).br_size, 144);
  // An empty branch stack: nothing to copy.
  s.branch_stack = std::vector<struct perf_branch_entry>{};
  EXPECT_EQ(Run(s).br_read, 0);
  EXPECT_EQ(Run(s).br_size, 0);
  PerfEventClose(ev);
}

// A clock event in frequency mode samples at NSEC_PER_SEC / freq
// (perf_swevent_init_hrtimer), as the kernel answered.
TEST_P(PerfEventProgTest, ClockFrequencyIsAFixedPeriod) {
  const int ev = OpenEvent(PERF_COUNT_SW_CPU_CLOCK, 4000, /*freq=*/true);
  ASSERT_GE(ev, 0);
  native::PerfEventSample s;
  s.event_fd = ev;
  EXPECT_EQ(Run(s).period, 250000u);
  PerfEventClose(ev);
  const int tev = OpenEvent(PERF_COUNT_SW_TASK_CLOCK, 3000, /*freq=*/true);
  ASSERT_GE(tev, 0);
  s.event_fd = tev;
  EXPECT_EQ(Run(s).period, 333333u);
  PerfEventClose(tev);
}

// Registers of kernel code (CS of ring 0), a period given for a frequency
// event whose period adapts (page faults) and a data address: the context
// shows them; the kernel stack is the sample's (bpfemu's model chain),
// found by bpf_get_stackid.
TEST_P(PerfEventProgTest, KernelModeRegistersAndGivenPeriod) {
  const int ev = OpenEvent(PERF_COUNT_SW_PAGE_FAULTS, 4000, /*freq=*/true);
  ASSERT_GE(ev, 0);
  native::PerfEventSample s;
  s.event_fd = ev;
  bpf_user_pt_regs_t regs = {};
  regs.cs = 0x10;
  regs.rip = 0xffffffff81000000ul;
  s.regs = regs;
  const PerfEventSeen freq = Run(s);
  EXPECT_EQ(freq.period, 0u);  // no fixed period, none given
  EXPECT_EQ(freq.user_mode, 0u);
  EXPECT_EQ(freq.ip_set, 1u);
  EXPECT_EQ(freq.sp_set, 0u);
  EXPECT_GE(freq.kstackid, 0);
  EXPECT_GT(freq.kstack, 0);
  s.period = 123456789012ull;
  s.addr = 0xdeadbeef;
  const PerfEventSeen got = Run(s);
  EXPECT_EQ(got.period, 123456789012ull);
  EXPECT_EQ(got.period_lo, static_cast<uint32_t>(123456789012ull));
  EXPECT_EQ(got.period_b0, 123456789012ull & 0xff);
  EXPECT_EQ(got.addr, 0xdeadbeefu);
  PerfEventClose(ev);
}

TEST_P(PerfEventProgTest, NoSampleWithoutAnEnabledEvent) {
  struct perf_event_attr a = {};
  a.size = sizeof(a);
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_CPU_CLOCK;
  a.sample_period = 1000;
  a.disabled = 1;
  const int ev = PerfEventOpen(&a, 0, -1, -1, 0);
  ASSERT_GE(ev, 0);
  native::PerfEventSample s;
  s.event_fd = ev;
  native::PerfEventOutcome o;
  EXPECT_EQ(Run(s, &o).samples, 0u);
  EXPECT_EQ(o.err, -ENODATA);
  PerfEventFromFd(ev)->SetEnabled(true);
  EXPECT_EQ(Run(s, &o).samples, 1u);
  EXPECT_EQ(o.err, 0);
  PerfEventClose(ev);
  s.event_fd = 12345;
  EXPECT_EQ(Run(s, &o).samples, 0u);
  EXPECT_EQ(o.err, -EBADF);
}

INSTANTIATE_TEST_SUITE_P(Faces, PerfEventProgTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Bytecode" : "Native";
                         });

// The helpers outside a sample's run (a native program called directly):
// -EINVAL, bpf_perf_prog_read_value's buffer zeroed.
TEST(PerfEventHelpersTest, OutsideASample) {
  struct bpf_perf_event_data ctx = {};
  struct bpf_perf_event_value v;
  std::memset(&v, 0xff, sizeof(v));
  EXPECT_EQ(native::PerfProgReadValue(&ctx, &v, sizeof(v)), -EINVAL);
  EXPECT_EQ(v.counter, 0u);
  EXPECT_EQ(v.running, 0u);
  char buf[48];
  EXPECT_EQ(native::ReadBranchRecords(&ctx, buf, sizeof(buf), 0), -EINVAL);
  EXPECT_EQ(native::ReadBranchRecords(&ctx, buf, sizeof(buf), 8), -EINVAL);
  EXPECT_FALSE(native::PerfSampleInUserMode());
}

// pe_prog_is_valid_access at load, as the kernel answered
// (perf_event_prog_compare_test's PerfEventCtxAccessCompareTest).
TEST(PerfEventCtxAccessTest, RefusedAsTheKernelRefuses) {
  namespace a = interp::asm_;
  struct Case {
    bool write;
    int16_t off;
    uint8_t size;
    const char* line;  // empty: loads
  };
  const Case cases[] = {
      {false, 0, 8, ""},
      {false, 0, 4, "invalid bpf_context access off=0 size=4"},
      {false, 4, 8, "invalid bpf_context access off=4 size=8"},
      {false, 168, 8, ""},
      {false, 172, 4, ""},
      {false, 175, 1, ""},
      {false, 171, 2, "invalid bpf_context access off=171 size=2"},
      {false, 180, 8, "invalid bpf_context access off=180 size=8"},
      {false, 184, 8, "invalid bpf_context access off=184 size=8"},
      {false, 183, 1, ""},
      {true, 80, 8, "invalid bpf_context access off=80 size=8"},
      {true, 176, 4, "invalid bpf_context access off=176 size=4"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.off);
    const uint8_t size = static_cast<uint8_t>(a::SizeCode(c.size));
    std::vector<interp::RawInsn> p;
    p.push_back(c.write ? a::St(size, BPF_REG_1, c.off, 0)
                        : a::Ldx(size, BPF_REG_0, BPF_REG_1, c.off));
    p.push_back(a::MovImm(BPF_REG_0, 0));
    p.push_back(a::Exit());
    std::string log;
    native::ProgLoadFlags flags;
    flags.log = &log;
    const int fd = native::ProgLoadBytecode(
        BPF_PROG_TYPE_PERF_EVENT, 0, "pe_ctx", p.data(),
        static_cast<uint32_t>(p.size()), "GPL", flags);
    if (*c.line == '\0') {
      EXPECT_GE(fd, 0) << log;
      if (fd >= 0) CloseFd(fd);
    } else {
      EXPECT_EQ(fd, -EACCES);
      EXPECT_NE(log.find(c.line), std::string::npos) << log;
    }
  }
}

}  // namespace
}  // namespace bpfemu::examples
