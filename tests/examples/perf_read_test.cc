// SPDX-License-Identifier: Apache-2.0
// tests/examples/perf_read.bpf.c on bpfemu, natively and as bytecode,
// without root: perf_read_scenario.h over emulated perf events against the
// kernel's lines recorded on 6.18 (tests/examples/testdata/perf_read.expected,
// written by perf_read_compare_test as root; the command is there). The
// thread runs on emulated CPU 0 of four possible CPUs, as the comparison
// pins it to CPU 0 of a machine with two or more.

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/perf_event.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/perf_read_scenario.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples::perf_read {
namespace {

class PerfReadTest : public ::testing::TestWithParam<bool> {};

TEST_P(PerfReadTest, SameAsTheRecordedKernel) {
  const Recorded rec =
      ReadRecorded("tests/examples/testdata/perf_read.expected");
  ASSERT_FALSE(rec.lines.empty()) << "no testdata/perf_read.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded on " << rec.kernel;
  SetNumPossibleCpus(4);
  const ScopedCpu cpu0(0);
  const std::string path = "tests/examples/perf_read.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("perf_read");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int nmap = (*obj)->MapFd("events");
  const int nres = (*obj)->MapFd("res");
  const native::Program* prog = (*obj)->FindProgram("read_all");
  ASSERT_NE(prog, nullptr);
  const std::vector<std::string> emu = RunScenario(Backend{
      [](const perf_event_attr& a, int pid, int cpu) {
        return PerfEventOpen(&a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
      },
      [nmap](uint32_t slot, int fd) {
        return MapUpdateElem(nmap, &slot, &fd, BPF_ANY);
      },
      [prog, nres](pr_ctx* c) {
        const uint32_t zero = 0;
        if (int err = MapUpdateElem(nres, &zero, c, BPF_ANY); err != 0) {
          return err;
        }
        prog->RunRawTp({});
        return MapLookupElem(nres, &zero, c);
      },
      [](int fd) { PerfEventClose(fd); }});
  SetNumPossibleCpus(0);
  ExpectSameAsRecorded(rec, emu, "perf_read");
}

INSTANTIATE_TEST_SUITE_P(Faces, PerfReadTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::perf_read
