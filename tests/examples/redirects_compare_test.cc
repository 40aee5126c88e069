// SPDX-License-Identifier: Apache-2.0
// tests/examples/redirects.bpf.c on the kernel (BPF_PROG_TEST_RUN of its tc
// and XDP programs) and on bpfemu, natively and as bytecode:
// bpf_redirect_peer, bpf_redirect_neigh (with and without a next hop, every
// length around struct bpf_redir_neigh's), bpf_clone_redirect (to lo, both
// directions, bad flags, a missing device, a GSO context) and
// bpf_check_mtu in both flavours (the run's device, lo, a missing device,
// flags, the limit from both sides, wrapping lengths, GSO): the same test
// run error, return value, helper return value and MTU.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"
#include "tests/examples/recorded.h"
#include "tests/examples/redirects_cases.h"

namespace bpfemu::examples {
namespace {

using namespace redirects;  // NOLINT: the shared cases

class RedirectsCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(RedirectsCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/redirects.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("redirects");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* tc = (*obj)->FindProgram("tc_redirects");
  const native::Program* xdp = (*obj)->FindProgram("xdp_check_mtu");
  ASSERT_NE(tc, nullptr);
  ASSERT_NE(xdp, nullptr);
  const int kcmd = kernel->MapFd("cmd"), ncmd = (*obj)->MapFd("cmd");
  const int kout = kernel->MapFd("out"), nout = (*obj)->MapFd("out");
  const Bytes packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, kFrameLen);
  ASSERT_EQ(packet.size(), kFrameLen);
  // Re-recording the kernel's answers for redirects_test (as root, on the
  // kernel they describe; one command line):
  //   bazel test //tests/examples:redirects_compare_test
  //     --test_env=BPFEMU_RECORD_REDIRECTS=$PWD/tests/examples/testdata/redirects.expected
  const char* record_path = std::getenv("BPFEMU_RECORD_REDIRECTS");
  std::string record;
  int compared = 0;
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &k.cmd, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
    const Out blank = {-1, 0xdeadbeef, 0};
    ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
    struct __sk_buff ctx = {};
    ctx.gso_size = k.gso_size;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                .data_size_in = static_cast<uint32_t>(packet.size()));
    if (k.gso_size != 0) {
      opts.ctx_in = &ctx;
      opts.ctx_size_in = sizeof(ctx);
    }
    const int kerr = bpf_prog_test_run_opts(
        kernel->ProgFd(k.xdp ? "xdp_check_mtu" : "tc_redirects"), &opts);
    const native::PacketResult n =
        k.xdp ? xdp->RunXdp(packet)
              : tc->RunSkb(packet, k.gso_size != 0 ? &ctx : nullptr);
    Out ko, no;
    ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
    ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
    EXPECT_EQ(Format(k.name, n.err, n.retval, no),
              Format(k.name, kerr, opts.retval, ko));
    record += Format(k.name, kerr, opts.retval, ko) + "\n";
    ++compared;
  }
  std::printf("redirects: %d cases compared with the kernel\n", compared);
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "redirects", record)) << record_path;
  }
  EXPECT_GE(compared, 50);
}

INSTANTIATE_TEST_SUITE_P(Faces, RedirectsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
