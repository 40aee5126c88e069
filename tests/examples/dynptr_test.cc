// SPDX-License-Identifier: Apache-2.0
// tests/examples/dynptr.bpf.c on bpfemu, natively and as bytecode, without
// root: every case and packet of dynptr_cases.h against the kernel's
// answers recorded on 6.18 (tests/examples/testdata/dynptr.expected,
// written by dynptr_compare_test as root; the command is there): the test
// run's error and return value, the whole `out` value (each call's return
// value, the bytes read and written) and data_out, and the kfunc
// program's answers (`kres`).

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "tests/examples/dynptr_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace dynptr;  // NOLINT: the shared cases

class DynptrTest : public ::testing::TestWithParam<bool> {};

TEST_P(DynptrTest, SameAsTheRecordedKernel) {
  SetTargetKernel(KernelVersion::k6_18);  // the record is 6.18's
  const Recorded rec = ReadRecorded("tests/examples/testdata/dynptr.expected");
  const std::map<std::string, std::string>& want = rec.lines;
  const std::string& kernel = rec.kernel;
  ASSERT_FALSE(want.empty()) << "no tests/examples/testdata/dynptr.expected";
  EXPECT_EQ(kernel.rfind("6.18", 0), 0u) << "recorded on " << kernel;
  const std::string path = "tests/examples/dynptr.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("dynptr");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("dynptr_tc");
  const native::Program* kfprog = (*obj)->FindProgram("dynptr_kfuncs");
  ASSERT_NE(prog, nullptr);
  ASSERT_NE(kfprog, nullptr);
  const int ncmd = (*obj)->MapFd("cmd"), nout = (*obj)->MapFd("out");
  const int nkres = (*obj)->MapFd("kres");
  int checked = 0;
  for (const auto& [pname, packet] : Packets()) {
    for (const Case& k : Cases()) {
      const std::string name = pname + " " + k.name;
      SCOPED_TRACE(name);
      auto it = want.find(name);
      ASSERT_NE(it, want.end()) << "case not recorded: re-record (see "
                                   "dynptr_compare_test.cc)";
      const uint32_t zero = 0;
      ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
      Out out = {};
      ASSERT_EQ(MapUpdateElem(nout, &zero, &out, BPF_ANY), 0);
      const native::PacketResult n = prog->RunSkb(packet);
      ASSERT_EQ(MapLookupElem(nout, &zero, &out), 0);
      const native::PacketResult nf = kfprog->RunSkb(packet);
      Kres kres = {};
      ASSERT_EQ(MapLookupElem(nkres, &zero, &kres), 0);
      EXPECT_EQ(Format(name, n.err, n.retval, out, n.data_out, nf.err,
                       nf.retval, kres),
                it->second);
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(want.size()))
      << "the record has cases the test no longer runs";
  std::printf("dynptr: %d cases checked against the recorded kernel\n",
              checked);
}

INSTANTIATE_TEST_SUITE_P(Faces, DynptrTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
