// SPDX-License-Identifier: Apache-2.0
// Programs the kernel's verifier refuses (kernel/bpf/verifier.c) and bpfemu
// loads: an object file of them, each refused alone by the kernel with its
// errno, each stopping a bytecode run with the verifier's reason. The
// *_cases.h of lock_bad.bpf.c and throw_bad.bpf.c list them; their
// *_compare_test calls ExpectRefusedAsTheKernelRefuses.

#ifndef BPFEMU_TESTS_EXAMPLES_BAD_PROGRAMS_H_
#define BPFEMU_TESTS_EXAMPLES_BAD_PROGRAMS_H_

#include <memory>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/prog.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {

// How `why` is found in bpfemu's fault line: the line starts with it, or
// contains it (where the kernel's line names numbers bpfemu's run cannot
// know, such as a callback's subprogram index).
enum class WhyIs { kPrefix, kPart };

// Loads each program `b.prog` of the object at `path` alone on the kernel
// (the others skipped: one refusal fails the whole object) and expects
// `b.load_err`; runs it as bytecode on an IPv4 packet and expects the run
// stopped with `b.why` (the verifier's log line, or the part of it bpfemu
// knows) in the fault line.
template <typename Bad>
void ExpectRefusedAsTheKernelRefuses(const std::string& path,
                                     const std::vector<Bad>& bad, WhyIs match) {
  auto obj = native::Object::OpenBytecode(path);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  std::vector<std::string> names;
  for (const Bad& b : bad) names.push_back(b.prog);
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.prog);
    std::vector<std::string> skip;
    for (const std::string& n : names) {
      if (n != b.prog) skip.push_back(n);
    }
    std::unique_ptr<KernelObject> kernel;
    EXPECT_EQ(KernelObject::Load(path, &kernel, skip), b.load_err);
    const native::Program* prog = (*obj)->FindProgram(b.prog);
    ASSERT_NE(prog, nullptr);
    prog->RunSkb(packet);
    EXPECT_TRUE(ProgFaulted());
    const std::string& fault = interp::LastFault();
    if (match == WhyIs::kPrefix) {
      EXPECT_EQ(fault.rfind(b.why, 0), 0u) << fault;
    } else {
      EXPECT_NE(fault.find(b.why), std::string::npos) << fault;
    }
  }
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_BAD_PROGRAMS_H_
