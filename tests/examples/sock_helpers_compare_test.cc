// SPDX-License-Identifier: Apache-2.0
// tests/examples/sock_helpers.bpf.c on the kernel (BPF_PROG_TEST_RUN of
// the tc, XDP and cgroup_skb programs, whose lookups search the caller's
// netns) and on bpfemu, natively and as bytecode, over the same sockets:
// every case of sock_helpers_cases.h gives the same answer (the casts,
// struct bpf_tcp_sock, the CO-RE reads of the kernel structs for
// bytecode, the socket's cgroup and its ancestors), and the kernel's
// answer is the case's expectation.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstdio>
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
#include "tests/examples/sock_helpers_cases.h"

namespace bpfemu::examples {
namespace {

using namespace sock_helpers;  // NOLINT: the shared cases

constexpr const char* kProgs[] = {"sock_helpers_tc", "sock_helpers_xdp",
                                  "sock_helpers_cg"};

class SockHelpersCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(SockHelpersCompareTest, SameAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/sock_helpers.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("sock_helpers");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int kcmd = kernel->MapFd("cmd"), ncmd = (*obj)->MapFd("cmd");
  const int kout = kernel->MapFd("out"), nout = (*obj)->MapFd("out");
  const std::vector<uint8_t> packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  const OwnCgroup cg = ReadOwnCgroup();
  ASSERT_NE(cg.IdOf(cg.path), 0u) << "no cgroup2 directory " << cg.path;
  int compared = 0, differences = 0;
  for (int family : {AF_INET, AF_INET6}) {
    sk_lookup::Sockets s(family);
    if (!s.ok && family == AF_INET6) continue;  // no ::1 here
    ASSERT_TRUE(s.ok);
    const Timewait tw(family);
    EXPECT_TRUE(tw.ok) << "no TIME_WAIT socket";
    for (const Case& k : Cases(s, tw, cg)) {
      SCOPED_TRACE(k.name);
      const native::Program* prog = (*obj)->FindProgram(kProgs[k.prog]);
      ASSERT_NE(prog, nullptr);
      const uint32_t zero = 0;
      ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &k.cmd, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
      const Out blank = {};
      ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
      LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                  .data_size_in = static_cast<uint32_t>(packet.size()));
      const int kerr =
          bpf_prog_test_run_opts(kernel->ProgFd(kProgs[k.prog]), &opts);
      const native::PacketResult n =
          k.prog == kXdp ? prog->RunXdp(packet) : prog->RunSkb(packet);
      EXPECT_EQ(kerr, n.err);
      EXPECT_EQ(opts.retval, n.retval);
      Out ko, no;
      ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
      ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
      EXPECT_EQ(ko.runs, 1u);
      EXPECT_EQ(no.runs, 1u);
      const bool same = SameAnswer(ko, no, bytecode);
      if (!same) ++differences;
      EXPECT_TRUE(same) << "kernel " << Describe(ko) << "\nbpfemu "
                        << Describe(no);
      EXPECT_TRUE(SameAnswer(ko, k.want, true))
          << "kernel " << Describe(ko) << "\nwant   " << Describe(k.want);
      ++compared;
    }
  }
  std::printf("sock_helpers: %d cases compared with the kernel, %d differ\n",
              compared, differences);
  EXPECT_EQ(differences, 0);
  EXPECT_GE(compared, 30);
}

INSTANTIATE_TEST_SUITE_P(Faces, SockHelpersCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
