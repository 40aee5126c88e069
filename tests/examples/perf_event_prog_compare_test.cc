// SPDX-License-Identifier: Apache-2.0
// tests/examples/perf_event_prog.bpf.c on the kernel and on bpfemu, natively
// and as bytecode (issue 24). perf_event programs have no kernel test run:
// the kernel side opens a software clock event on the test's own thread
// (perf_event_open, pid 0, a fixed sample_period or a sample_freq,
// exclude_kernel),
// attaches the program with PERF_EVENT_IOC_SET_BPF, enables the event and
// spins until the program has run; bpfemu opens the same event as an
// emulated one (emu/perf_event.h) and runs the program through
// RunPerfEventSample (loader/perf_event_run.h). Compared: every field the
// program recorded but the sample count (the kernel's samples depend on
// the spin): the context's period, address and register properties, both
// helpers' returns (bpf_perf_prog_read_value's counts as properties:
// nonzero, enabled >= running), the buffers zeroed on errors, and
// bpf_get_stackid / bpf_get_stack on the sample's registers. Then the
// context's access rules (pe_prog_is_valid_access): hand-written programs
// that read or write struct bpf_perf_event_data, loaded on both, the errno
// and the verifier's line compared.

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "emu/interp_asm.h"
#include "emu/perf_event.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "loader/perf_event_run.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "testing/raw_prog_load.h"
#include "tests/examples/perf_event_prog_seen.h"

namespace bpfemu::examples {
namespace {

struct Case {
  const char* name;
  uint64_t config;
  uint64_t period;  // or, with freq, samples a second
  bool freq;
};

const Case kCases[] = {
    {"cpu-clock", PERF_COUNT_SW_CPU_CLOCK, 200000, false},
    {"task-clock", PERF_COUNT_SW_TASK_CLOCK, 300000, false},
    {"cpu-clock at 4000 Hz", PERF_COUNT_SW_CPU_CLOCK, 4000, true},
    {"task-clock at 3000 Hz", PERF_COUNT_SW_TASK_CLOCK, 3000, true},
};

struct perf_event_attr Attr(const Case& c) {
  struct perf_event_attr a = {};
  a.size = sizeof(a);
  a.type = PERF_TYPE_SOFTWARE;
  a.config = c.config;
  a.sample_period = c.period;  // sample_freq with freq (a union)
  a.freq = c.freq ? 1 : 0;
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  a.disabled = 1;
  return a;
}

volatile uint64_t sink;

void Spin(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<uint64_t>(i);
  }
}

class PerfEventProgCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(PerfEventProgCompareTest, SameSamplesAsTheKernel) {
  const std::string path = "tests/examples/perf_event_prog.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("perf_event_prog");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("on_sample");
  ASSERT_NE(prog, nullptr);
  const int kprog = kernel->ProgFd("on_sample");
  const int kseen = kernel->MapFd("seen"), nseen = (*obj)->MapFd("seen");
  const uint32_t zero = 0;
  int compared = 0;
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const PerfEventSeen blank = {};
    ASSERT_EQ(bpf_map_update_elem(kseen, &zero, &blank, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(nseen, &zero, &blank, BPF_ANY), 0);
    // The kernel: a sample of the real event.
    struct perf_event_attr attr = Attr(c);
    const int kev = static_cast<int>(
        syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
    ASSERT_GE(kev, 0) << "perf_event_open: " << strerror(errno);
    ASSERT_EQ(ioctl(kev, PERF_EVENT_IOC_SET_BPF, kprog), 0) << strerror(errno);
    ASSERT_EQ(ioctl(kev, PERF_EVENT_IOC_ENABLE, 0), 0) << strerror(errno);
    PerfEventSeen ks = {};
    for (int i = 0; i < 500 && ks.samples == 0; ++i) {
      Spin(std::chrono::milliseconds(10));
      ASSERT_EQ(bpf_map_lookup_elem(kseen, &zero, &ks), 0);
    }
    ioctl(kev, PERF_EVENT_IOC_DISABLE, 0);
    close(kev);
    ASSERT_GT(ks.samples, 0u) << "the event never fired";
    // bpfemu: the same event, emulated, and one sample of it after the
    // thread ran a while.
    const int nev = PerfEventOpen(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    ASSERT_GE(nev, 0);
    PerfEventFromFd(nev)->SetEnabled(true);
    Spin(std::chrono::milliseconds(2));
    native::PerfEventSample sample;
    sample.event_fd = nev;
    const native::PerfEventOutcome o =
        native::RunPerfEventSample(*prog, sample);
    PerfEventClose(nev);
    ASSERT_EQ(o.err, 0);
    EXPECT_EQ(o.ret, 1u);
    PerfEventSeen ns = {};
    ASSERT_EQ(MapLookupElem(nseen, &zero, &ns), 0);
    ASSERT_EQ(ns.samples, 1u);
    EXPECT_EQ(DumpSeen(ns), DumpSeen(ks));
    if (!GetParam()) std::printf("%s: %s\n", c.name, DumpSeen(ks).c_str());
    ++compared;
  }
  std::printf("perf_event_prog (%s): %d samples compared\n",
              GetParam() ? "bytecode" : "native", compared);
}

INSTANTIATE_TEST_SUITE_P(Faces, PerfEventProgCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Bytecode" : "Native";
                         });

// pe_prog_is_valid_access on both: each program reads (or writes) one
// context field, then returns 0.
namespace a = interp::asm_;
using Insns = std::vector<interp::RawInsn>;

struct Access {
  const char* name;
  bool write;
  int16_t off;
  uint8_t size;  // bytes
};

constexpr int16_t kPeriod = offsetof(struct bpf_perf_event_data, sample_period);
constexpr int16_t kAddr = offsetof(struct bpf_perf_event_data, addr);

const Access kAccesses[] = {
    {"regs.r15, 8 bytes", false, 0, 8},
    {"regs.rip, 8 bytes", false, offsetof(struct pt_regs, rip), 8},
    {"regs.ss, 8 bytes", false, offsetof(struct pt_regs, ss), 8},
    {"regs.r15, 4 bytes", false, 0, 4},
    {"regs.rip, 1 byte", false, offsetof(struct pt_regs, rip), 1},
    {"regs, misaligned", false, 4, 8},
    {"sample_period, 8 bytes", false, kPeriod, 8},
    {"sample_period, low 4", false, kPeriod, 4},
    {"sample_period, high 4", false, kPeriod + 4, 4},
    {"sample_period, byte 7", false, kPeriod + 7, 1},
    {"sample_period, bytes 6-7", false, kPeriod + 6, 2},
    {"sample_period, misaligned 2", false, kPeriod + 3, 2},
    {"addr, 8 bytes", false, kAddr, 8},
    {"addr, high 4", false, kAddr + 4, 4},
    {"addr, misaligned 8", false, kAddr + 4, 8},
    {"past the end", false, sizeof(struct bpf_perf_event_data), 8},
    {"last byte", false, sizeof(struct bpf_perf_event_data) - 1, 1},
    {"write regs.rax", true, offsetof(struct pt_regs, rax), 8},
    {"write sample_period", true, kPeriod, 8},
    {"write addr, 4 bytes", true, kAddr, 4},
};

Insns AccessProgram(const Access& acc) {
  const uint8_t size = static_cast<uint8_t>(a::SizeCode(acc.size));
  Insns p;
  if (acc.write) {
    p.push_back(a::St(size, BPF_REG_1, acc.off, 0));
  } else {
    p.push_back(a::Ldx(size, BPF_REG_0, BPF_REG_1, acc.off));
  }
  p.push_back(a::MovImm(BPF_REG_0, 0));
  p.push_back(a::Exit());
  return p;
}

class PerfEventCtxAccessCompareTest : public KernelTest<::testing::Test> {};

TEST_F(PerfEventCtxAccessCompareTest, SameContextAccessRulesAsTheKernel) {
  std::vector<std::string> kernel_side, emu_side;
  int refused = 0;
  for (const Access& acc : kAccesses) {
    const Insns insns = AccessProgram(acc);
    const RawProg raw{.type = BPF_PROG_TYPE_PERF_EVENT, .insns = insns};
    const std::string k = KernelLoadVerdict(raw);
    kernel_side.push_back(absl::StrCat(acc.name, ": ", k));
    emu_side.push_back(absl::StrCat(acc.name, ": ", EmuLoadVerdict(raw)));
    if (k != "0 ") ++refused;
  }
  EXPECT_EQ(emu_side, kernel_side);
  for (const std::string& s : kernel_side) std::printf("%s\n", s.c_str());
  std::printf("perf_event context accesses: %zu compared, %d refused\n",
              kernel_side.size(), refused);
}

}  // namespace
}  // namespace bpfemu::examples
