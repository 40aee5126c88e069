// SPDX-License-Identifier: Apache-2.0
// tests/examples/perf_read.bpf.c on the kernel (BPF_PROG_TEST_RUN of its
// raw tracepoint program runs in this thread, on this CPU; the slots hold
// real perf events) and on bpfemu, natively and as bytecode (the slots hold
// emulated ones): the same scenario (perf_read_scenario.h) gives the same
// lines - the same errors, and counts and times with the same properties.

#include <bpf/bpf.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "emu/perf_event.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/perf_read_scenario.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples::perf_read {
namespace {

// Pins this thread to CPU 0 for the test (the kernel's smp_processor_id
// and bpfemu's CurrentCpu then agree).
class PinCpu0 {
 public:
  PinCpu0() {
    sched_getaffinity(0, sizeof(old_), &old_);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    ok_ = sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~PinCpu0() { sched_setaffinity(0, sizeof(old_), &old_); }
  bool ok() const { return ok_; }

 private:
  cpu_set_t old_;
  bool ok_ = false;
};

class PerfReadCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(PerfReadCompareTest, SameAnswersAsTheKernel) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs two CPUs";
  PinCpu0 pin;
  ASSERT_TRUE(pin.ok());
  const std::string path = "tests/examples/perf_read.bpf.o";
  std::unique_ptr<KernelObject> k;
  ASSERT_EQ(KernelObject::Load(path, &k), 0);
  const int kmap = k->MapFd("events");
  const int kprog = k->ProgFd("read_all");
  const int kres = k->MapFd("res");
  const std::vector<std::string> kernel = RunScenario(Backend{
      [](const perf_event_attr& a, int pid, int cpu) {
        const long fd = syscall(SYS_perf_event_open, &a, pid, cpu, -1,
                                PERF_FLAG_FD_CLOEXEC);
        return fd < 0 ? -errno : static_cast<int>(fd);
      },
      [kmap](uint32_t slot, int fd) {
        return bpf_map_update_elem(kmap, &slot, &fd, BPF_ANY) < 0 ? -errno : 0;
      },
      [kprog, kres](pr_ctx* c) {
        const uint32_t zero = 0;
        if (bpf_map_update_elem(kres, &zero, c, BPF_ANY) < 0) return -errno;
        const int err = KernelObject::RunRawTp(kprog, {}).err;
        if (bpf_map_lookup_elem(kres, &zero, c) < 0) return -errno;
        return err;
      },
      [](int fd) { close(fd); }});
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("perf_read");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int nmap = (*obj)->MapFd("events");
  const native::Program* prog = (*obj)->FindProgram("read_all");
  const int nres = (*obj)->MapFd("res");
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
  ASSERT_EQ(emu.size(), kernel.size());
  for (size_t i = 0; i < kernel.size(); ++i) EXPECT_EQ(emu[i], kernel[i]);
  std::string record;
  for (const std::string& line : kernel) record += line + "\n";
  if (!GetParam()) std::printf("%s", record.c_str());
  // Re-recording the kernel's answers for perf_read_test (as root, on the
  // kernel they describe; one command line):
  //   bazel test //tests/examples:perf_read_compare_test
  //     --test_env=BPFEMU_RECORD_PERF_READ=$PWD/tests/examples/testdata/perf_read.expected
  const char* record_path = std::getenv("BPFEMU_RECORD_PERF_READ");
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "perf_read", record)) << record_path;
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, PerfReadCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::perf_read
