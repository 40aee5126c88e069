// SPDX-License-Identifier: Apache-2.0
// emu/signal.h: a program's signal reaches its target with the kernel's
// siginfo, or the sink a harness installed instead.
#include "emu/signal.h"

#include <signal.h>
#include <unistd.h>

#include <ctime>
#include <vector>

#include "gtest/gtest.h"

namespace bpfemu {
namespace {

std::vector<SentSignal>* kept = nullptr;

TEST(SignalTest, SentToThisThreadWithTheKernelsSiginfo) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  ASSERT_EQ(SendProgramSignal({getpid(), gettid(), SIGUSR1, true, 7}), 0);
  siginfo_t info;
  const timespec zero = {0, 0};
  ASSERT_EQ(sigtimedwait(&set, &info, &zero), SIGUSR1);
  EXPECT_EQ(info.si_code, SI_KERNEL);
  EXPECT_EQ(info.si_pid, 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(info.si_value.sival_ptr), 7u);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
  // No such process.
  EXPECT_EQ(SendProgramSignal({0x3fffffff, 0x3fffffff, SIGUSR1, false, 0}),
            -ESRCH);
}

TEST(SignalTest, ASinkKeepsEvenSigkill) {
  std::vector<SentSignal> got;
  kept = &got;
  SetSignalSink([](const SentSignal& s) { kept->push_back(s); });
  EXPECT_EQ(SendProgramSignal({getpid(), gettid(), SIGKILL, true, 0}), 0);
  EXPECT_EQ(SendProgramSignal({getpid(), gettid(), SIGSEGV, false, 3}), 0);
  SetSignalSink(nullptr);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].sig, SIGKILL);
  EXPECT_TRUE(got[0].thread);
  EXPECT_EQ(got[1].sig, SIGSEGV);
  EXPECT_EQ(got[1].value, 3u);
  kept = nullptr;
}

}  // namespace
}  // namespace bpfemu
