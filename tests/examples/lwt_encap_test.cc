// SPDX-License-Identifier: Apache-2.0
// tests/examples/lwt_encap.bpf.c on bpfemu, natively and as bytecode,
// without root: every run of lwt_encap_scenario.h against the kernel's
// answers recorded on 6.18 (tests/examples/testdata/lwt_encap.expected,
// written by lwt_encap_compare_test as root; the command is there).

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/lwt_encap_scenario.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples::lwt_encap {
namespace {

class LwtEncapTest : public ::testing::TestWithParam<bool> {};

TEST_P(LwtEncapTest, SameAsTheRecordedKernel) {
  const Recorded rec =
      ReadRecorded("tests/examples/testdata/lwt_encap.expected");
  ASSERT_FALSE(rec.lines.empty()) << "no testdata/lwt_encap.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded on " << rec.kernel;
  const std::string path = "tests/examples/lwt_encap.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("lwt_encap");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int ncmd = (*obj)->MapFd("cmd"), nout = (*obj)->MapFd("out");
  const uint32_t zero = 0;
  int checked = 0;
  for (const char* prog : kProgs) {
    const native::Program* p = (*obj)->FindProgram(prog);
    ASSERT_NE(p, nullptr);
    const std::vector<std::vector<uint8_t>> packets = Packets();
    for (size_t pi = 0; pi < packets.size(); ++pi) {
      for (const Case& c : Cases()) {
        const std::string key = Key(prog, pi, c.name);
        SCOPED_TRACE(key);
        auto it = rec.lines.find(key);
        ASSERT_NE(it, rec.lines.end()) << "not recorded: re-record (see "
                                          "lwt_encap_compare_test.cc)";
        ASSERT_EQ(MapUpdateElem(ncmd, &zero, &c.cmd, BPF_ANY), 0);
        const lwt_out blank = {};
        ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
        const native::PacketResult n = p->RunSkb(packets[pi]);
        lwt_out no = {};
        ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
        EXPECT_EQ(key + "\t" + Line(n.err, n.retval, no, n.data_out),
                  it->second);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, static_cast<int>(rec.lines.size()))
      << "the record has runs the test no longer makes";
  std::printf("lwt_encap: %d runs checked against the recorded kernel\n",
              checked);
}

INSTANTIATE_TEST_SUITE_P(Faces, LwtEncapTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::lwt_encap
