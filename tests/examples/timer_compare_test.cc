// SPDX-License-Identifier: Apache-2.0
// tests/examples/timer.bpf.c on the kernel (BPF_PROG_TEST_RUN of the tc
// program; real timers: the test sleeps timer_cases.h's kWaitNs after each
// phase) and on bpfemu, natively and as bytecode (the emulated clock is
// advanced by the same amount): every helper's return, the run results
// and every element's counters are the same (timer_cases.h). The kernel's
// answers at the corners are pinned as well. To re-record
// testdata/timer.expected, which timer_test checks without root:
//   bazel test //tests/examples:timer_compare_test
//     --test_env=BPFEMU_RECORD_TIMER=$PWD/tests/examples/testdata/timer.expected

#include <linux/bpf.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"
#include "tests/examples/recorded.h"
#include "tests/examples/timer_cases.h"
#include "tests/examples/timer_emu.h"

namespace bpfemu::examples {
namespace {

using namespace timer;  // NOLINT: the shared scenario

class KernelTimers : public Backend {
 public:
  explicit KernelTimers(KernelObject* obj) : obj_(obj) {}
  int SetPhase(uint32_t phase) override {
    const uint32_t zero = 0;
    return KernelBackend::Get().Update(obj_->MapFd("phase"), &zero, &phase,
                                       BPF_ANY);
  }
  int Run(uint32_t* retval) override {
    const KernelObject::Result r = KernelObject::RunPacket(
        obj_->ProgFd("timers"),
        Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, 17, 64));
    *retval = r.retval;
    return r.err;
  }
  void Wait(uint64_t ns) override {
    struct timespec ts = {static_cast<time_t>(ns / 1000000000),
                          static_cast<long>(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  int LookupArr(uint32_t key, Elem* e) override {
    return KernelBackend::Get().Lookup(obj_->MapFd("arr"), &key, e, 0);
  }
  int LookupHash(uint32_t key, Elem* e) override {
    return KernelBackend::Get().Lookup(obj_->MapFd("hash"), &key, e, 0);
  }
  int LookupRet(uint32_t slot, int64_t* ret) override {
    return KernelBackend::Get().Lookup(obj_->MapFd("rets"), &slot, ret, 0);
  }

 private:
  KernelObject* obj_;
};

class TimerCompareTest : public KernelTest<::testing::Test> {};

TEST_F(TimerCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/timer.bpf.o";
  std::unique_ptr<KernelObject> kobj;
  ASSERT_EQ(KernelObject::Load(path, &kobj), 0);
  KernelTimers kb(kobj.get());
  const std::vector<std::string> want = RunScenario(kb);
  // The kernel's answers, pinned: rets (the last line) and counters.
  const std::string& rets = want.back();
  EXPECT_EQ(rets.rfind("rets\t-22 -22 -22 -22 -22 0 -16 -22 0 -22 0 ", 0), 0u)
      << rets;
  std::string record;
  for (const std::string& l : want) record += l;
  for (const bool bytecode : {false, true}) {
    SCOPED_TRACE(bytecode ? "bytecode" : "native");
    auto obj = bytecode ? native::Object::OpenBytecode(path)
                        : native::Object::Open("timer");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
    EmuBackend eb(std::move(*obj));
    ASSERT_NE(eb.prog(), nullptr);
    const std::vector<std::string> got = RunScenario(eb);
    ASSERT_EQ(got.size(), want.size());
    int differences = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i], want[i]);
      differences += got[i] != want[i];
    }
    std::printf("timer (%s): %zu lines compared, %d differences\n",
                bytecode ? "bytecode" : "native", want.size(), differences);
  }
  if (const char* record_path = std::getenv("BPFEMU_RECORD_TIMER")) {
    ASSERT_TRUE(WriteRecorded(record_path, "timer", record)) << record_path;
  }
}

}  // namespace
}  // namespace bpfemu::examples
