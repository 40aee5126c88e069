// SPDX-License-Identifier: Apache-2.0
// tests/examples/fib.bpf.c on bpfemu, natively and as bytecode, without
// root: fib_cases.h's topology in the emulated FIB, every case against the
// kernel's answers recorded on 6.18 (tests/examples/testdata/fib.expected,
// written by fib_compare_test as root; the command is there): the helper's
// return value and the struct bpf_fib_lookup it left.

#include <linux/bpf.h>
#include <netinet/in.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "tests/examples/fib_cases.h"
#include "tests/examples/packets.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace fib;  // NOLINT: the shared cases

class FibTest : public ::testing::TestWithParam<bool> {};

TEST_P(FibTest, SameAsTheRecordedKernel) {
  SetTargetKernel(KernelVersion::k6_18);  // the record is 6.18's
  const Recorded rec = ReadRecorded("tests/examples/testdata/fib.expected");
  ASSERT_FALSE(rec.lines.empty()) << "no tests/examples/testdata/fib.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded on " << rec.kernel;
  const std::string path = "tests/examples/fib.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("fib");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* tc = (*obj)->FindProgram("fib_tc");
  const native::Program* xdp = (*obj)->FindProgram("fib_xdp");
  ASSERT_NE(tc, nullptr);
  ASSERT_NE(xdp, nullptr);
  const int ncmd = (*obj)->MapFd("cmd"), nout = (*obj)->MapFd("out");
  ASSERT_TRUE(EmulatedSetup());
  const std::vector<uint8_t> packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  int checked = 0;
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    const auto it = rec.lines.find(k.name);
    ASSERT_NE(it, rec.lines.end())
        << "case not recorded: re-record (see fib_compare_test.cc)";
    const uint32_t zero = 0;
    ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
    const Out blank = {};
    ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
    const native::PacketResult r =
        k.xdp ? xdp->RunXdp(packet) : tc->RunSkb(packet);
    ASSERT_EQ(r.err, 0);
    Out o;
    ASSERT_EQ(MapLookupElem(nout, &zero, &o), 0);
    EXPECT_EQ(o.runs, 1u);
    EXPECT_EQ(Format(k.name, o), it->second);
    ++checked;
  }
  NetdevReset();
  FibReset();
  EXPECT_GE(checked, 112);
}

INSTANTIATE_TEST_SUITE_P(Faces, FibTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
