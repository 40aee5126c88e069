// SPDX-License-Identifier: Apache-2.0
// tests/examples/seg6local.bpf.c (an LWT_SEG6LOCAL program calling
// bpf_lwt_seg6_store_bytes, bpf_lwt_seg6_adjust_srh and
// bpf_lwt_seg6_action) on the kernel and on bpfemu, natively and as
// bytecode. What each kernel does with it:
// - a kernel without CONFIG_IPV6_SEG6_BPF (the 6.18 host) refuses the
//   program: the helpers are not offered. Compared: the load's errno (the
//   verifier's line is compared pair by pair by helper_offer_compare_test);
//   then the test skips with that reason.
// - 6.11 and later (the 6.12 guest) load it but have no test run for the
//   type: every BPF_PROG_TEST_RUN is -ENOTSUPP (524).
// - 6.1 (the 6.1 guest) runs it through bpf_prog_test_run_skb, where the
//   helpers' header state is empty (only the End.BPF action sets it): every
//   case of seg6local_scenario.h's TestRunCases on three packets gives the
//   same test-run answer, verdict, call results, skb->len and output
//   packet.
// The kernel matrix links this test into its static guest binary
// (tools/kmatrix/examples_compare.sh with
// tests/examples/seg6local.bpf.o), which is how the guests run it.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "emu/fib.h"
#include "emu/netdev.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "loader/test_run.h"
#include "testing/kernel_test.h"
#include "tests/examples/seg6local_scenario.h"

namespace bpfemu::examples::seg6local {
namespace {

class Seg6LocalCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(Seg6LocalCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/seg6local.bpf.o";
  struct bpf_object* ko = bpf_object__open_file(path.c_str(), nullptr);
  ASSERT_NE(ko, nullptr) << path;
  const int kload = bpf_object__load(ko);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("seg6local");
  ASSERT_TRUE(obj.ok()) << obj.status();
  const int nload = (*obj)->Load();
  if (kload != 0) {
    // The bytecode face refuses the calls as the verifier does; a native
    // object is not verified.
    if (GetParam()) {
      EXPECT_EQ(nload, kload);
    }
    EXPECT_FALSE(HasSeg6Bpf(TargetKernel()));
    bpf_object__close(ko);
    GTEST_SKIP() << "this kernel refuses the program (" << kload
                 << "): no CONFIG_IPV6_SEG6_BPF";
  }
  ASSERT_EQ(nload, 0);
  EXPECT_TRUE(HasSeg6Bpf(TargetKernel()));
  struct bpf_program* kp = bpf_object__find_program_by_name(ko, "seg6_steps");
  ASSERT_NE(kp, nullptr);
  const int kprog = bpf_program__fd(kp);
  const int kcmd = bpf_object__find_map_fd_by_name(ko, "cmd");
  const int kout = bpf_object__find_map_fd_by_name(ko, "out");
  const int ncmd = (*obj)->MapFd("cmd"), nout = (*obj)->MapFd("out");
  const native::Program* p = (*obj)->FindProgram("seg6_steps");
  ASSERT_NE(p, nullptr);
  std::shared_ptr<const Prog> np;
  ASSERT_EQ(ProgFromFd(p->fd(), &np), 0);
  // lo's ::1 (the kernel brings it up with lo): a route to it is local
  // delivery.
  FibReset();
  ASSERT_EQ(FibAddAddress6(kLoopbackIfindex, Loopback(), 128), 0);
  const uint32_t zero = 0;
  int runs = 0, unsupported = 0;
  for (const Packet& pkt : Packets()) {
    for (const Case& c : TestRunCases()) {
      SCOPED_TRACE(std::string(pkt.name) + "." + c.name);
      ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &c.cmd, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(ncmd, &zero, &c.cmd, BPF_ANY), 0);
      const seg6_out blank = {};
      ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
      std::vector<uint8_t> kdata(pkt.frame.size() + 512);
      LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt.frame.data(),
                  .data_out = kdata.data(),
                  .data_size_in = static_cast<uint32_t>(pkt.frame.size()),
                  .data_size_out = static_cast<uint32_t>(kdata.size()));
      const int kerr = bpf_prog_test_run_opts(kprog, &opts) < 0 ? -errno : 0;
      kdata.resize(kerr == 0 ? opts.data_size_out : 0);
      native::TestRunAttr a;
      a.data_in = pkt.frame.data();
      a.data_size_in = static_cast<uint32_t>(pkt.frame.size());
      a.data_out = true;
      a.data_size_out = static_cast<uint32_t>(pkt.frame.size() + 512);
      native::TestRunOutput nrun;
      const int nerr = native::TestRun(*np, a, &nrun);
      seg6_out kout_v = {}, nout_v = {};
      ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &kout_v), 0);
      ASSERT_EQ(MapLookupElem(nout, &zero, &nout_v), 0);
      const std::string kl = Line(kerr, opts.retval, kout_v, kdata);
      EXPECT_EQ(Line(nerr, nrun.retval, nout_v,
                     nerr == 0 ? nrun.data : std::vector<uint8_t>{}),
                kl);
      ++runs;
      if (kerr == -524) ++unsupported;
    }
  }
  FibReset();
  bpf_object__close(ko);
  std::printf("seg6local (%s): %d test runs compared, %d of them -ENOTSUPP\n",
              GetParam() ? "bytecode" : "native", runs, unsupported);
}

INSTANTIATE_TEST_SUITE_P(Faces, Seg6LocalCompareTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::seg6local
