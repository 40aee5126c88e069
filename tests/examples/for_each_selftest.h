// SPDX-License-Identifier: Apache-2.0
// The slots of for_each_selftest.bpf.c's `res` array, shared by the program
// and tests/examples/examples_compare_test.cc.
#ifndef BPFEMU_TESTS_EXAMPLES_FOR_EACH_SELFTEST_H_
#define BPFEMU_TESTS_EXAMPLES_FOR_EACH_SELFTEST_H_

enum {
  kHashOutput,
  kHashElems,
  kPercpuCalled,
  kPercpuCpu,
  kPercpuKey,
  kPercpuVal,
  kPercpuElems,
  kPercpuOutput,
  kArrayOutput,
  kArrayCpu,
  kArrayPercpuVal,
  kMultiUseArray,  // set from userspace
  kMultiOutput,
  kResults,
};

#endif  // BPFEMU_TESTS_EXAMPLES_FOR_EACH_SELFTEST_H_
