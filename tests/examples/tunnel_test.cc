// SPDX-License-Identifier: Apache-2.0
// tests/examples/tunnel.bpf.c on bpfemu, natively and as bytecode, without
// root: every case of tunnel_cases.h against the kernel's answers recorded
// on 6.18 (tests/examples/testdata/tunnel.expected, written by
// tunnel_compare_test as root; the command is there): the test run's
// error and return value and the whole `out` value (each step's return
// value and the bytes each get wrote).

#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "tests/examples/packets.h"
#include "tests/examples/recorded.h"
#include "tests/examples/tunnel_cases.h"

namespace bpfemu::examples {
namespace {

using namespace tunnel;  // NOLINT: the shared cases

class TunnelTest : public ::testing::TestWithParam<bool> {};

TEST_P(TunnelTest, SameAsTheRecordedKernel) {
  SetTargetKernel(KernelVersion::k6_18);  // the record is 6.18's
  const Recorded rec = ReadRecorded("tests/examples/testdata/tunnel.expected");
  const std::map<std::string, std::string>& want = rec.lines;
  const std::string& kernel = rec.kernel;
  ASSERT_FALSE(want.empty()) << "no tests/examples/testdata/tunnel.expected";
  EXPECT_EQ(kernel.rfind("6.18", 0), 0u) << "recorded on " << kernel;
  const std::string path = "tests/examples/tunnel.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("tunnel");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("tunnel");
  ASSERT_NE(prog, nullptr);
  const int ncmd = (*obj)->MapFd("cmd"), nout = (*obj)->MapFd("out");
  const Bytes packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  int checked = 0;
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    auto it = want.find(k.name);
    ASSERT_NE(it, want.end()) << "case not recorded: re-record (see "
                                 "tunnel_compare_test.cc)";
    Cmd cmd = {};
    for (size_t i = 0; i < k.steps.size() && i < 4; ++i) {
      cmd.steps[i] = k.steps[i];
    }
    cmd.key = k.key;
    for (size_t i = 0; i < sizeof(cmd.opt); ++i) {
      cmd.opt[i] = static_cast<uint8_t>(k.opt_fill * (i * 7 + 3));
    }
    const uint32_t zero = 0;
    ASSERT_EQ(MapUpdateElem(ncmd, &zero, &cmd, BPF_ANY), 0);
    Out out = {};
    ASSERT_EQ(MapUpdateElem(nout, &zero, &out, BPF_ANY), 0);
    const native::PacketResult n = prog->RunSkb(packet);
    ASSERT_EQ(MapLookupElem(nout, &zero, &out), 0);
    EXPECT_EQ(Format(k.name, n.err, n.retval, out), it->second);
    for (size_t i = 0; i < k.want.size(); ++i) {
      EXPECT_EQ(out.ret[i], k.want[i]) << "step " << i;
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(want.size()))
      << "the record has cases the test no longer runs";
  std::printf("tunnel: %d cases checked against the recorded kernel\n",
              checked);
}

INSTANTIATE_TEST_SUITE_P(Faces, TunnelTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
