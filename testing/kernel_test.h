// SPDX-License-Identifier: Apache-2.0
// File: kernel_test.h
//
// The base of the lockstep emulator-vs-kernel tests in kernel_compare/:
// skips every case with the kernel backend's one-line reason when bpf() is
// not permitted.

#ifndef BPFEMU_KERNEL_COMPARE_KERNEL_TEST_H_
#define BPFEMU_KERNEL_COMPARE_KERNEL_TEST_H_

#include <string>

#include "gtest/gtest.h"
#include "testing/kernel_backend.h"

namespace bpfemu {

template <typename Base = ::testing::Test>
class KernelTest : public Base {
 protected:
  void SetUp() override {
    if (std::string why = KernelBackend::Get().Unavailable(); !why.empty()) {
      GTEST_SKIP() << why;
    }
  }
};

}  // namespace bpfemu

#endif  // BPFEMU_KERNEL_COMPARE_KERNEL_TEST_H_
