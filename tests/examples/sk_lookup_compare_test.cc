// SPDX-License-Identifier: Apache-2.0
// tests/examples/sk_lookup.bpf.c on the kernel (BPF_PROG_TEST_RUN of the tc
// and XDP programs, whose lookups search the caller's netns) and on
// bpfemu, natively and as bytecode, over the same sockets: every case of
// sk_lookup_cases.h gives the same answer (found or NULL, and the struct
// bpf_sock fields read), and the kernel's answer is the case's expectation.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"
#include "tests/examples/sk_lookup_cases.h"

namespace bpfemu::examples {
namespace {

using namespace sk_lookup;  // NOLINT: the shared cases

class SkLookupCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(SkLookupCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/sk_lookup.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("sk_lookup");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* tc = (*obj)->FindProgram("sk_lookup_tc");
  const native::Program* xdp = (*obj)->FindProgram("sk_lookup_xdp");
  ASSERT_NE(tc, nullptr);
  ASSERT_NE(xdp, nullptr);
  const int ktc = kernel->ProgFd("sk_lookup_tc");
  const int kxdp = kernel->ProgFd("sk_lookup_xdp");
  const int kcmd = kernel->MapFd("cmd"), ncmd = (*obj)->MapFd("cmd");
  const int kout = kernel->MapFd("out"), nout = (*obj)->MapFd("out");
  const std::vector<uint8_t> packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  int compared = 0, differences = 0;
  for (int family : {AF_INET, AF_INET6}) {
    Sockets s(family);
    if (!s.ok && family == AF_INET6) continue;  // no ::1 here
    ASSERT_TRUE(s.ok);
    for (const Case& k : Cases(s)) {
      for (bool use_xdp : {false, true}) {
        SCOPED_TRACE(k.name + (use_xdp ? " (xdp)" : " (tc)"));
        const uint32_t zero = 0;
        ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &k.cmd, BPF_ANY), 0);
        ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
        const Out blank = {};
        ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
        ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                    .data_size_in = static_cast<uint32_t>(packet.size()));
        const int kerr = bpf_prog_test_run_opts(use_xdp ? kxdp : ktc, &opts);
        const native::PacketResult n =
            use_xdp ? xdp->RunXdp(packet) : tc->RunSkb(packet);
        EXPECT_EQ(kerr, n.err);
        EXPECT_EQ(opts.retval, n.retval);
        Out ko, no;
        ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
        ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
        EXPECT_EQ(ko.runs, 1u);
        EXPECT_EQ(no.runs, 1u);
        if (!SameAnswer(ko, no)) ++differences;
        EXPECT_TRUE(SameAnswer(ko, no))
            << "kernel " << Describe(ko) << "\nbpfemu " << Describe(no);
        EXPECT_TRUE(SameAnswer(ko, k.Want(use_xdp)))
            << "kernel " << Describe(ko) << "\nwant   "
            << Describe(k.Want(use_xdp));
        ++compared;
      }
    }
  }
  std::printf("sk_lookup: %d cases compared with the kernel, %d differ\n",
              compared, differences);
  EXPECT_EQ(differences, 0);
  EXPECT_GE(compared, 40);
}

INSTANTIATE_TEST_SUITE_P(Faces, SkLookupCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
