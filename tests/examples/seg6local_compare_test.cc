// SPDX-License-Identifier: Apache-2.0
// tests/examples/seg6local.bpf.c (an LWT_SEG6LOCAL program calling
// bpf_lwt_seg6_store_bytes, bpf_lwt_seg6_adjust_srh and
// bpf_lwt_seg6_action) on the kernel and on bpfemu, natively and as
// bytecode. What each kernel does with it:
// - a kernel without CONFIG_IPV6_SEG6_BPF (the 6.18 host) refuses the
//   program: the helpers are not offered. Compared: the load's errno (the
//   verifier's line is compared pair by pair by helper_offer_compare_test);
//   then the test skips with that reason.
// - a kernel with it (the 6.1 and 6.12 guests) loads it but has no test
//   run for the type (6.11 removed it; Debian's 6.1.0-57 has the removal
//   from 6.1 stable): every case of seg6local_scenario.h's TestRunCases on
//   three packets is -ENOTSUPP (524), the program unrun. Were there a
//   test run (6.1 before the backport), the cases would compare the
//   verdict, every call's result and skb->len and the output packet, the
//   helpers' header state being empty (only the End.BPF action sets it).
// The kernel matrix links this test into its static guest binary
// (tools/kmatrix/examples_compare.sh with
// tests/examples/seg6local.bpf.o), which is how the guests run it.

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/lwtunnel.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/seg6_local.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
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

constexpr const char* kForwarding = "/proc/sys/net/ipv6/conf/all/forwarding";

std::string ReadFile(const char* path) {
  std::string out;
  if (FILE* f = std::fopen(path, "r")) {
    char buf[4096];
    const size_t n = std::fread(buf, 1, sizeof(buf), f);
    out.assign(buf, n);
    std::fclose(f);
  }
  return out;
}
void WriteFile(const char* path, const std::string& text) {
  if (FILE* f = std::fopen(path, "w")) {
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
}

// A netlink attribute appended to `buf` (nested ones get their length
// fixed by the caller).
size_t PutAttr(std::vector<uint8_t>& buf, uint16_t type, const void* data,
               size_t len) {
  const size_t at = buf.size();
  struct rtattr a = {};
  a.rta_type = type;
  a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
  buf.resize(at + RTA_ALIGN(a.rta_len));
  std::memcpy(buf.data() + at, &a, sizeof(a));
  if (len != 0) std::memcpy(buf.data() + at + RTA_LENGTH(0), data, len);
  return at;
}
void EndAttr(std::vector<uint8_t>& buf, size_t at) {
  const uint16_t len = static_cast<uint16_t>(buf.size() - at);
  std::memcpy(buf.data() + at, &len, sizeof(len));
}

// The first network device other than lo, or 0: the seg6local route's
// (a route out of lo is made a reject route, fib6_is_reject).
uint32_t OtherDevice() {
  uint32_t found = 0;
  if (struct if_nameindex* all = if_nameindex()) {
    for (struct if_nameindex* i = all; i->if_index != 0; ++i) {
      if (i->if_index != 1 && found == 0) found = i->if_index;
    }
    if_freenameindex(all);
  }
  return found;
}

// `ip -6 route {add|del} fc00::1/128 encap seg6local action End.BPF
// endpoint fd PROG name seg6_steps dev DEV`: 0 or -errno.
int Seg6LocalRoute(bool add, int prog_fd, uint32_t dev) {
  const int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (nl < 0) return -errno;
  std::vector<uint8_t> attrs;
  const Addr dst = Fc00(1);
  PutAttr(attrs, RTA_DST, dst.data(), 16);
  PutAttr(attrs, RTA_OIF, &dev, 4);
  if (add) {
    const uint16_t encap = LWTUNNEL_ENCAP_SEG6_LOCAL;
    PutAttr(attrs, RTA_ENCAP_TYPE, &encap, 2);
    const size_t e = PutAttr(attrs, RTA_ENCAP, nullptr, 0);
    const uint32_t action = SEG6_LOCAL_ACTION_END_BPF;
    PutAttr(attrs, SEG6_LOCAL_ACTION, &action, 4);
    const size_t b = PutAttr(attrs, SEG6_LOCAL_BPF, nullptr, 0);
    const uint32_t fd = static_cast<uint32_t>(prog_fd);
    PutAttr(attrs, SEG6_LOCAL_BPF_PROG, &fd, 4);
    PutAttr(attrs, SEG6_LOCAL_BPF_PROG_NAME, "seg6_steps", 11);
    EndAttr(attrs, b);
    EndAttr(attrs, e);
  }
  std::vector<uint8_t> msg(NLMSG_LENGTH(sizeof(struct rtmsg)) + attrs.size());
  auto* h = reinterpret_cast<struct nlmsghdr*>(msg.data());
  h->nlmsg_len = static_cast<uint32_t>(msg.size());
  h->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
  h->nlmsg_flags =
      NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  h->nlmsg_seq = 1;
  auto* rt = static_cast<struct rtmsg*>(NLMSG_DATA(h));
  rt->rtm_family = AF_INET6;
  rt->rtm_dst_len = 128;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  std::memcpy(msg.data() + NLMSG_LENGTH(sizeof(struct rtmsg)), attrs.data(),
              attrs.size());
  int err = 0;
  if (send(nl, msg.data(), msg.size(), 0) < 0) {
    err = -errno;
  } else {
    uint8_t reply[4096];
    const ssize_t n = recv(nl, reply, sizeof(reply), 0);
    const auto* r = reinterpret_cast<const struct nlmsghdr*>(reply);
    if (n < 0) {
      err = -errno;
    } else if (r->nlmsg_type == NLMSG_ERROR) {
      err = static_cast<const struct nlmsgerr*>(NLMSG_DATA(r))->error;
    }
  }
  close(nl);
  return err;
}

// The End.BPF action on the kernel: each case's packet sent into lo (a
// packet socket, the destination MAC lo's, so it is received as the
// host's), routed by the seg6local route to fc00::1, the program run by
// input_action_end_bpf; on bpfemu its model (RunSeg6LocalEndBpf). What
// the program recorded is compared: each call's answer and skb->len and
// the packet's first bytes after them. End.B6.Encap with a valid header
// is left out: its outer source is ipv6_dev_get_saddr's pick (bpfemu
// takes the unspecified address).
TEST_P(Seg6LocalCompareTest, EndBpfSameAsTheKernel) {
  const std::string path = "tests/examples/seg6local.bpf.o";
  struct bpf_object* ko = bpf_object__open_file(path.c_str(), nullptr);
  ASSERT_NE(ko, nullptr) << path;
  if (const int kload = bpf_object__load(ko); kload != 0) {
    bpf_object__close(ko);
    GTEST_SKIP() << "this kernel refuses the program (" << kload
                 << "): no CONFIG_IPV6_SEG6_BPF";
  }
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("seg6local");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const int kprog =
      bpf_program__fd(bpf_object__find_program_by_name(ko, "seg6_steps"));
  const int kcmd = bpf_object__find_map_fd_by_name(ko, "cmd");
  const int kout = bpf_object__find_map_fd_by_name(ko, "out");
  const int ncmd = (*obj)->MapFd("cmd"), nout = (*obj)->MapFd("out");
  std::shared_ptr<const Prog> np;
  ASSERT_EQ(ProgFromFd((*obj)->FindProgram("seg6_steps")->fd(), &np), 0);
  const uint32_t dev = OtherDevice();
  if (dev == 0) {
    bpf_object__close(ko);
    GTEST_SKIP() << "no network device but lo for the seg6local route (the "
                    "kernel makes a route out of lo a reject route)";
  }
  (void)Seg6LocalRoute(false, -1, dev);  // a route a failed run left
  // Forwarding on, as the kernel's seg6local selftests run (restored).
  const std::string fwd = ReadFile(kForwarding);
  WriteFile(kForwarding, "1");
  if (const int err = Seg6LocalRoute(true, kprog, dev); err != 0) {
    WriteFile(kForwarding, fwd);
    bpf_object__close(ko);
    GTEST_SKIP() << "no seg6local route (" << err << ")";
  }
  const int ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IPV6));
  ASSERT_GE(ps, 0) << errno;
  struct sockaddr_ll to = {};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = 1;
  to.sll_protocol = htons(ETH_P_IPV6);
  // The kernel's routes as bpfemu sees them: lo's ::1 and the seg6local
  // route to fc00::1 out of `dev`.
  FibReset();
  ASSERT_EQ(FibAddAddress6(kLoopbackIfindex, Loopback(), 128), 0);
  FibRoute6 route;
  route.dst = Fc00(1);
  route.plen = 128;
  route.ifindex = dev;  // another device than lo: a route out
  ASSERT_EQ(FibAddRoute6(route), 0);
  const uint32_t zero = 0;
  int runs = 0;
  for (const EndBpfCase& c : EndBpfCases()) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &c.cmd, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(ncmd, &zero, &c.cmd, BPF_ANY), 0);
    const seg6_out blank = {};
    ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
    std::vector<uint8_t> frame = c.frame;
    std::memset(frame.data(), 0, ETH_ALEN);  // lo's address: PACKET_HOST
    ASSERT_EQ(sendto(ps, frame.data(), frame.size(), 0,
                     reinterpret_cast<const struct sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(frame.size()))
        << errno;
    seg6_out ko_v = {};
    for (int i = 0; i < 1000 && ko_v.protocol == 0; ++i) {
      ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko_v), 0);
      if (ko_v.protocol == 0) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, nullptr);
      }
    }
    if (ko_v.protocol == 0) {
      WriteFile(kForwarding, fwd);
      (void)Seg6LocalRoute(false, -1, dev);
      FAIL() << "the kernel did not run the program; /proc/net/snmp6:\n"
             << ReadFile("/proc/net/snmp6").substr(0, 900);
    }
    native::Seg6EndBpfResult hook;
    (void)native::RunSeg6LocalEndBpf(*np, frame, &hook);
    seg6_out no_v = {};
    ASSERT_EQ(MapLookupElem(nout, &zero, &no_v), 0);
    EXPECT_EQ(EndBpfLine(no_v), EndBpfLine(ko_v));
    ++runs;
  }
  close(ps);
  EXPECT_EQ(Seg6LocalRoute(false, -1, dev), 0);
  WriteFile(kForwarding, fwd);
  FibReset();
  bpf_object__close(ko);
  std::printf("seg6local End.BPF (%s): %d runs compared\n",
              GetParam() ? "bytecode" : "native", runs);
}

INSTANTIATE_TEST_SUITE_P(Faces, Seg6LocalCompareTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::seg6local
