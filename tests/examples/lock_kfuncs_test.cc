// SPDX-License-Identifier: Apache-2.0
// tests/examples/lock_kfuncs.bpf.c and lock_bad.bpf.c on bpfemu, natively
// and as bytecode, without root: the kernel's answers pinned in
// lock_kfuncs_cases.h; what the verifier refuses stops a bytecode run with
// its reason and leaves no lock held; a lock another thread holds times
// out (-ETIMEDOUT); a 6.12 target refuses the 6.18 kfuncs.

#include <linux/bpf.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "emu/interp.h"
#include "emu/kernel_btf.h"
#include "emu/lock_kfuncs.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/lock_kfuncs_cases.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

using namespace lock_kfuncs;  // NOLINT

class LockKfuncsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
    }
    SetTargetKernel(KernelVersion::k6_18);
  }
  void TearDown() override { SetTargetKernel(KernelVersion::k6_18); }
  std::unique_ptr<native::Object> Open(const std::string& name) {
    auto obj =
        GetParam()
            ? native::Object::OpenBytecode("tests/examples/" + name + ".bpf.o")
            : native::Object::Open(name);
    EXPECT_TRUE(obj.ok()) << obj.status();
    if (!obj.ok()) return nullptr;
    return std::move(*obj);
  }
};

TEST_P(LockKfuncsTest, TheKernelsAnswers) {
  auto obj = Open("lock_kfuncs");
  ASSERT_NE(obj, nullptr);
  ASSERT_EQ(obj->Load(), 0) << obj->load_error();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const uint32_t zero = 0, one = 1;
  for (const Good& g : GoodCases()) {
    SCOPED_TRACE(g.prog);
    Answers none;
    for (int64_t& v : none.r) v = kUnset;
    const Elem e0{};
    for (uint32_t key : {zero, one}) {
      ASSERT_EQ(MapUpdateElem(obj->MapFd("elems"), &key, &e0, BPF_ANY), 0);
    }
    ASSERT_EQ(MapUpdateElem(obj->MapFd("out"), &zero, &none, BPF_ANY), 0);
    const native::Program* prog = obj->FindProgram(g.prog);
    ASSERT_NE(prog, nullptr);
    // Twice: nothing is left held by the first run.
    for (int run = 1; run <= 2; ++run) {
      const native::PacketResult r = prog->RunSkb(packet);
      ASSERT_EQ(r.err, 0);
      EXPECT_EQ(interp::LastFault(), "");
      EXPECT_EQ(r.retval, g.retval);
      Answers a{};
      ASSERT_EQ(MapLookupElem(obj->MapFd("out"), &zero, &a), 0);
      for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(a.r[i], i < static_cast<int>(g.r.size()) ? g.r[i] : kUnset)
            << "answer " << i;
      }
      for (uint32_t key : {zero, one}) {
        Elem e{};
        ASSERT_EQ(MapLookupElem(obj->MapFd("elems"), &key, &e), 0);
        EXPECT_EQ(e.lock, 0u);
        EXPECT_EQ(e.count, run * (key == 0 ? g.count0 : g.count1));
      }
    }
  }
}

TEST_P(LockKfuncsTest, RefusedProgramsStopWithTheVerifiersReason) {
  auto obj = Open("lock_bad");
  ASSERT_NE(obj, nullptr);
  ASSERT_EQ(obj->Load(), 0) << obj->load_error();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  for (const Bad& b : BadCases()) {
    SCOPED_TRACE(b.prog);
    const native::Program* prog = obj->FindProgram(b.prog);
    ASSERT_NE(prog, nullptr);
    const native::PacketResult r = prog->RunSkb(packet);
    EXPECT_EQ(r.err, 0);
    if (GetParam()) {
      EXPECT_EQ(interp::LastFault().rfind(b.why, 0), 0u) << interp::LastFault();
    }
  }
  // The lock res_lock_held_at_exit took was released when its run stopped
  // (natively: when... never; the native face does not check).
  if (GetParam()) {
    const uint32_t zero = 0;
    Elem e{};
    ASSERT_EQ(MapLookupElem(obj->MapFd("elems"), &zero, &e), 0);
    EXPECT_EQ(e.lock, 0u);
  }
}

// 6.12 refuses the message of its own process_bpf_exit for a region left
// open, and has none of the interrupt or resilient-lock kfuncs.
TEST_P(LockKfuncsTest, SixTwelveTarget) {
  if (!GetParam()) GTEST_SKIP() << "the native build links what it declares";
  SetTargetKernel(KernelVersion::k6_12);
  auto good = Open("lock_kfuncs");
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->Load(), -EACCES);
  auto bad = Open("lock_bad");
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->Load(), -EACCES);
}

TEST(ResLockTest, AnotherHolderTimesOut) {
  alignas(4) uint32_t lock = 0;
  std::atomic<int> state{0};
  std::thread holder([&] {
    EXPECT_EQ(lockk::ResLock(&lock), 0);
    state = 1;
    while (state.load() != 2) std::this_thread::yield();
    lockk::ResUnlock(&lock);
  });
  while (state.load() != 1) std::this_thread::yield();
  EXPECT_EQ(lock, 1u);
  EXPECT_EQ(lockk::ResLock(&lock), -ETIMEDOUT);
  lockk::ResUnlock(&lock);  // not held here: nothing happens
  EXPECT_EQ(lock, 1u);
  state = 2;
  holder.join();
  EXPECT_EQ(lock, 0u);
  EXPECT_EQ(lockk::ResLock(&lock), 0);
  EXPECT_EQ(lockk::ResLock(&lock), -EDEADLK);
  lockk::ResUnlock(&lock);
  EXPECT_EQ(lock, 0u);
}

INSTANTIATE_TEST_SUITE_P(Faces, LockKfuncsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
