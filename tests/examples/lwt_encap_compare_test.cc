// SPDX-License-Identifier: Apache-2.0
// tests/examples/lwt_encap.bpf.c on the kernel (BPF_PROG_TEST_RUN of its
// LWT_IN and LWT_XMIT programs) and on bpfemu, natively and as bytecode:
// every case of lwt_encap_scenario.h on an IPv4 and an IPv6 packet gives
// the same return values, skb fields and output packet. The egress
// program skips the headers the kernel would push (a NULL route
// dereference in a test run, lwt_encap.bpf.c).

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/lwt_encap_scenario.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples::lwt_encap {
namespace {

class LwtEncapCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(LwtEncapCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/lwt_encap.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("lwt_encap");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int kcmd = kernel->MapFd("cmd"), ncmd = (*obj)->MapFd("cmd");
  const int kout = kernel->MapFd("out"), nout = (*obj)->MapFd("out");
  const uint32_t zero = 0;
  int compared = 0, pushed = 0;
  // Re-recording the kernel's answers for lwt_encap_test (as root, on the
  // kernel they describe; one command line):
  //   bazel test //tests/examples:lwt_encap_compare_test
  //     --test_env=BPFEMU_RECORD_LWT_ENCAP=$PWD/tests/examples/testdata/lwt_encap.expected
  const char* record_path = std::getenv("BPFEMU_RECORD_LWT_ENCAP");
  std::string record;
  for (const char* prog : kProgs) {
    const native::Program* p = (*obj)->FindProgram(prog);
    ASSERT_NE(p, nullptr);
    const int kprog = kernel->ProgFd(prog);
    ASSERT_GE(kprog, 0);
    const std::vector<std::vector<uint8_t>> packets = Packets();
    for (size_t pi = 0; pi < packets.size(); ++pi) {
      const std::vector<uint8_t>& packet = packets[pi];
      for (const Case& c : Cases()) {
        const std::string key = Key(prog, pi, c.name);
        SCOPED_TRACE(key);
        ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &c.cmd, BPF_ANY), 0);
        ASSERT_EQ(MapUpdateElem(ncmd, &zero, &c.cmd, BPF_ANY), 0);
        const lwt_out blank = {};
        ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
        ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
        std::vector<uint8_t> kdata(packet.size() + 512);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                    .data_out = kdata.data(),
                    .data_size_in = static_cast<uint32_t>(packet.size()),
                    .data_size_out = static_cast<uint32_t>(kdata.size()));
        const int kerr = bpf_prog_test_run_opts(kprog, &opts);
        kdata.resize(opts.data_size_out);
        const native::PacketResult n = p->RunSkb(packet);
        lwt_out ko = {}, no = {};
        ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
        ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
        const std::string kl = Line(kerr, opts.retval, ko, kdata);
        EXPECT_EQ(Line(n.err, n.retval, no, n.data_out), kl);
        if (ko.ret == 0 && opts.retval == 0) ++pushed;
        ++compared;
        record += key + "\t" + kl + "\n";
      }
    }
  }
  std::printf("lwt_encap: %d runs compared, %d pushes\n", compared, pushed);
  if (!GetParam()) std::printf("%s", record.c_str());
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "lwt_encap", record)) << record_path;
  }
  EXPECT_GE(pushed, 10);
}

INSTANTIATE_TEST_SUITE_P(Faces, LwtEncapCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::lwt_encap
