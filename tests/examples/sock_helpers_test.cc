// SPDX-License-Identifier: Apache-2.0
// tests/examples/sock_helpers.bpf.c on bpfemu without root, natively and as
// bytecode, from tc, XDP and cgroup_skb: the casts, bpf_tcp_sock and (as
// bytecode) the CO-RE reads of the kernel structs answer what the test's
// own sockets say (getsockname, getpeername, TCP_INFO; sock_diag answers
// an unprivileged process for its own netns), bpf_sk_cgroup_id the test's
// cgroup. sock_helpers_compare_test runs the same cases on the kernel.

#include <linux/bpf.h>
#include <netinet/in.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "native/sk_lookup.h"
#include "native/sock_helpers.h"
#include "tests/examples/packets.h"
#include "tests/examples/sock_helpers_cases.h"

namespace bpfemu::examples {
namespace {

using namespace sock_helpers;  // NOLINT: the shared cases

constexpr const char* kProgs[] = {"sock_helpers_tc", "sock_helpers_xdp",
                                  "sock_helpers_cg"};

class SockHelpersTest : public ::testing::TestWithParam<bool> {};

TEST_P(SockHelpersTest, AnswersFromTheNetnsSockets) {
  const bool bytecode = GetParam();
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux): no cast views";
  }
  const std::string path = "tests/examples/sock_helpers.bpf.o";
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("sock_helpers");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int ncmd = (*obj)->MapFd("cmd"), nout = (*obj)->MapFd("out");
  const std::vector<uint8_t> packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  const OwnCgroup cg = ReadOwnCgroup();
  ASSERT_NE(cg.IdOf(cg.path), 0u) << "no cgroup2 directory " << cg.path;
  int checked = 0;
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
      ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
      const Out blank = {};
      ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
      const native::PacketResult r =
          k.prog == kXdp ? prog->RunXdp(packet) : prog->RunSkb(packet);
      ASSERT_EQ(r.err, 0);
      Out o;
      ASSERT_EQ(MapLookupElem(nout, &zero, &o), 0);
      EXPECT_EQ(o.runs, 1u);
      EXPECT_TRUE(SameAnswer(o, k.want, bytecode))
          << "got  " << Describe(o) << "\nwant " << Describe(k.want);
      ++checked;
    }
  }
  EXPECT_GE(checked, 30);
}

// bpf_tcp_gen_syncookie / bpf_tcp_check_syncookie on the test's listeners
// with the default net.ipv4.tcp_syncookies 1: the argument checks and the
// answers without a SYN queue overflow (the cookie path, with
// tcp_syncookies 2 in a netns of its own, needs root:
// sock_helpers_compare_test).
TEST_P(SockHelpersTest, SyncookieArgumentChecks) {
  int sysctl = 0;
  if (std::ifstream("/proc/sys/net/ipv4/tcp_syncookies") >> sysctl;
      sysctl != 1) {
    GTEST_SKIP() << "net.ipv4.tcp_syncookies is " << sysctl
                 << ", the cases are for the default 1";
  }
  const std::string path = "tests/examples/sock_helpers.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("sock_helpers");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* tc = (*obj)->FindProgram("syncookie_tc");
  const native::Program* xdp = (*obj)->FindProgram("syncookie_xdp");
  ASSERT_NE(tc, nullptr);
  ASSERT_NE(xdp, nullptr);
  const int ncmd = (*obj)->MapFd("sc_cmd"), nout = (*obj)->MapFd("sc_out");
  const std::vector<uint8_t> packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  int checked = 0;
  for (int family : {AF_INET, AF_INET6}) {
    sk_lookup::Sockets s(family);
    if (!s.ok && family == AF_INET6) continue;  // no ::1 here
    ASSERT_TRUE(s.ok);
    for (const ScCase& k : SyncookieCases(s, 1)) {
      SCOPED_TRACE(k.name);
      const uint32_t zero = 0;
      ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
      const ScOut blank = {};
      ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
      const native::PacketResult r =
          k.xdp ? xdp->RunXdp(packet) : tc->RunSkb(packet);
      ASSERT_EQ(r.err, 0);
      ScOut o;
      ASSERT_EQ(MapLookupElem(nout, &zero, &o), 0);
      EXPECT_EQ(o.runs, 1u);
      EXPECT_TRUE(SameAnswer(o, k.want))
          << "got  " << Describe(o) << "\nwant " << Describe(k.want);
      ++checked;
    }
  }
  EXPECT_GE(checked, 40);
}

// The casts and accessors on pointers no lookup returned (the kernel's
// verifier refuses such a program; here they answer NULL / 0 and do not
// crash), and on a released socket.
TEST(SockHelpersApiTest, ForeignAndReleasedPointers) {
  int local = 0;
  size_t size = 0;
  EXPECT_EQ(native::TcpSock(&local), nullptr);
  EXPECT_EQ(native::TcpSock(nullptr), nullptr);
  EXPECT_EQ(native::SkcTo(&local, native::SkcCast::kTcp, &size), nullptr);
  EXPECT_EQ(native::SkcTo(nullptr, native::SkcCast::kTcp6, &size), nullptr);
  EXPECT_EQ(native::SkCgroupId(&local), 0u);
  EXPECT_EQ(native::SkAncestorCgroupId(nullptr, 0), 0u);
  sk_lookup::Sockets s(AF_INET);
  ASSERT_TRUE(s.ok);
  const sk_lookup::Cmd c = sk_lookup::MakeCmd(
      AF_INET, sk_lookup::kTcp, sk_lookup::NameOf(s.client, false),
      sk_lookup::NameOf(s.listener, false));
  struct bpf_sock* sk =
      native::SkLookup(c.tuple, c.len, c.netns, 0, IPPROTO_TCP, false);
  ASSERT_NE(sk, nullptr);
  struct bpf_tcp_sock* t = native::TcpSock(sk);
  ASSERT_NE(t, nullptr);
  // The tcp view and the kernel view lead back to the same socket.
  EXPECT_EQ(native::TcpSock(t), t);
  if (KernelBtf::Get() != nullptr) {
    void* v = native::SkcTo(sk, native::SkcCast::kTcp, &size);
    ASSERT_NE(v, nullptr);
    EXPECT_GT(size, sizeof(struct bpf_sock));
    EXPECT_EQ(native::SkcTo(v, native::SkcCast::kTcp, &size), v);
    EXPECT_EQ(native::SkcTo(v, native::SkcCast::kTcp6, &size), nullptr);
  }
  EXPECT_EQ(native::SkRelease(sk), 0);
  EXPECT_EQ(native::TcpSock(t), nullptr);
  EXPECT_EQ(native::SkcTo(sk, native::SkcCast::kTcp, &size), nullptr);
  EXPECT_EQ(native::SkCgroupId(sk), 0u);
}

INSTANTIATE_TEST_SUITE_P(Faces, SockHelpersTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
