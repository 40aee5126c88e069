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
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
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

// Whether the calling thread is now in a new netns with lo up and
// net.ipv4.tcp_syncookies 2 (cookies always, so that a generated cookie
// can be checked).
bool EnterCookieNetns() {
  if (unshare(CLONE_NEWNET) != 0) return false;
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr = {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  const bool up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
                  (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
  if (fd >= 0) close(fd);
  std::ofstream sysctl("/proc/sys/net/ipv4/tcp_syncookies");
  sysctl << "2\n";
  sysctl.flush();
  return up && sysctl.good();
}

TEST_P(SockHelpersCompareTest, SyncookiesSameAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/sock_helpers.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("sock_helpers");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* tc = (*obj)->FindProgram("syncookie_tc");
  const native::Program* xdp = (*obj)->FindProgram("syncookie_xdp");
  ASSERT_NE(tc, nullptr);
  ASSERT_NE(xdp, nullptr);
  const int ktc = kernel->ProgFd("syncookie_tc");
  const int kxdp = kernel->ProgFd("syncookie_xdp");
  const int kcmd = kernel->MapFd("sc_cmd"), ncmd = (*obj)->MapFd("sc_cmd");
  const int kout = kernel->MapFd("sc_out"), nout = (*obj)->MapFd("sc_out");
  const std::vector<uint8_t> packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  int compared = 0, differences = 0;
  auto run = [&](int syncookies) {
    for (int family : {AF_INET, AF_INET6}) {
      sk_lookup::Sockets s(family);
      if (!s.ok && family == AF_INET6) continue;  // no ::1 here
      ASSERT_TRUE(s.ok);
      for (const ScCase& k : SyncookieCases(s, syncookies)) {
        SCOPED_TRACE(k.name);
        const uint32_t zero = 0;
        ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &k.cmd, BPF_ANY), 0);
        ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
        const ScOut blank = {};
        ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
        ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                    .data_size_in = static_cast<uint32_t>(packet.size()));
        const int kerr = bpf_prog_test_run_opts(k.xdp ? kxdp : ktc, &opts);
        const native::PacketResult n =
            k.xdp ? xdp->RunXdp(packet) : tc->RunSkb(packet);
        EXPECT_EQ(kerr, n.err);
        EXPECT_EQ(opts.retval, n.retval);
        ScOut ko, no;
        ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
        ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
        if (!SameAnswer(ko, no)) ++differences;
        EXPECT_TRUE(SameAnswer(ko, no))
            << "kernel " << Describe(ko) << "\nbpfemu " << Describe(no);
        EXPECT_TRUE(SameAnswer(ko, k.want))
            << "kernel " << Describe(ko) << "\nwant   " << Describe(k.want);
        ++compared;
      }
    }
  };
  int host = 0;
  if (std::ifstream("/proc/sys/net/ipv4/tcp_syncookies") >> host; host == 1) {
    run(1);
  } else {
    std::printf(
        "syncookies: net.ipv4.tcp_syncookies is %d here, not the "
        "default 1: its cases are left out\n",
        host);
  }
  // The cookie path, in a netns of its own (a thread's, with
  // tcp_syncookies 2): the kernel's test runs and bpfemu's sock_diag
  // lookups and sysctl reads are that thread's.
  bool entered = false;
  std::thread t([&] {
    entered = EnterCookieNetns();
    if (entered) run(2);
  });
  t.join();
  EXPECT_TRUE(entered) << "no netns with tcp_syncookies 2";
  std::printf("syncookies: %d cases compared with the kernel, %d differ\n",
              compared, differences);
  EXPECT_EQ(differences, 0);
  EXPECT_GE(compared, 60);
}

INSTANTIATE_TEST_SUITE_P(Faces, SockHelpersCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
