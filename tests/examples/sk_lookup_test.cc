// SPDX-License-Identifier: Apache-2.0
// tests/examples/sk_lookup.bpf.c on bpfemu without root, natively and as
// bytecode, from tc and XDP: lookups of the test's own sockets on
// 127.0.0.1 and ::1 answer what the sockets' getsockname / getpeername say
// (sock_diag answers an unprivileged process for its own netns), misses
// and the argument rules of net/core/filter.c __bpf_skc_lookup (tuple
// size, flags, netns) answer NULL. sk_lookup_compare_test runs the same
// cases on the kernel.

#include <linux/bpf.h>
#include <netinet/in.h>

#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "native/sk_lookup.h"
#include "tests/examples/packets.h"
#include "tests/examples/sk_lookup_cases.h"

namespace bpfemu::examples {
namespace {

using namespace sk_lookup;  // NOLINT: the shared cases

class SkLookupTest : public ::testing::TestWithParam<bool> {};

TEST_P(SkLookupTest, AnswersFromTheNetnsSockets) {
  const std::string path = "tests/examples/sk_lookup.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("sk_lookup");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* tc = (*obj)->FindProgram("sk_lookup_tc");
  const native::Program* xdp = (*obj)->FindProgram("sk_lookup_xdp");
  ASSERT_NE(tc, nullptr);
  ASSERT_NE(xdp, nullptr);
  const int ncmd = (*obj)->MapFd("cmd"), nout = (*obj)->MapFd("out");
  const std::vector<uint8_t> packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  int checked = 0;
  for (int family : {AF_INET, AF_INET6}) {
    Sockets s(family);
    if (!s.ok && family == AF_INET6) continue;  // no ::1 here
    ASSERT_TRUE(s.ok);
    for (const Case& k : Cases(s)) {
      for (bool use_xdp : {false, true}) {
        SCOPED_TRACE(k.name + (use_xdp ? " (xdp)" : " (tc)"));
        const uint32_t zero = 0;
        ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
        const Out blank = {};
        ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
        const native::PacketResult r =
            use_xdp ? xdp->RunXdp(packet) : tc->RunSkb(packet);
        ASSERT_EQ(r.err, 0);
        Out o;
        ASSERT_EQ(MapLookupElem(nout, &zero, &o), 0);
        EXPECT_EQ(o.runs, 1u);
        EXPECT_TRUE(SameAnswer(o, k.Want(use_xdp)))
            << "got  " << Describe(o) << "\nwant " << Describe(k.Want(use_xdp));
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 40);
}

// bpf_sk_release, bpf_sk_fullsock and bpf_get_listener_sock of a pointer no
// lookup returned (the kernel's verifier refuses the program; here they must
// not crash) and a second release.
TEST(SkReleaseTest, NonAcquiredPointerIsLeftAlone) {
  int local = 0;
  EXPECT_EQ(native::SkRelease(&local), 0);
  EXPECT_EQ(native::SkRelease(nullptr), 0);
  EXPECT_EQ(native::SkFullsock(&local), nullptr);
  EXPECT_EQ(native::SkListener(&local), nullptr);
  Sockets s(AF_INET);
  ASSERT_TRUE(s.ok);
  const Cmd c = MakeCmd(AF_INET, kTcp, NameOf(s.client, false),
                        NameOf(s.listener, false));
  struct bpf_sock* sk =
      native::SkLookup(c.tuple, c.len, c.netns, 0, IPPROTO_TCP, false);
  ASSERT_NE(sk, nullptr);
  ASSERT_NE(native::SkLookedUp(sk), nullptr);
  EXPECT_NE(native::SkLookedUp(sk)->cookie, 0u);
  EXPECT_EQ(native::SkFullsock(sk), sk);
  EXPECT_EQ(native::SkListener(sk), nullptr);  // the accepted end
  EXPECT_EQ(native::SkRelease(sk), 0);
  EXPECT_EQ(native::SkLookedUp(sk), nullptr);
  EXPECT_EQ(native::SkRelease(sk), 0);
}

INSTANTIATE_TEST_SUITE_P(Faces, SkLookupTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
