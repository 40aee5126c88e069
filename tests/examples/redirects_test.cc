// SPDX-License-Identifier: Apache-2.0
// tests/examples/redirects.bpf.c on bpfemu, natively and as bytecode,
// without root: every case of redirects_cases.h against the kernel's
// answers recorded on 6.18 (tests/examples/testdata/redirects.expected,
// written by redirects_compare_test as root; the command is there), and
// what the kernel does not show a test run: the redirect bpfemu records
// (native::LastRedirect: the target and the kernel's internal flags) and
// the copies bpf_clone_redirect sent (native::ClonedPackets), and the MTU
// of a device a test adds.

#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "emu/netdev.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "tests/examples/packets.h"
#include "tests/examples/recorded.h"
#include "tests/examples/redirects_cases.h"

namespace bpfemu::examples {
namespace {

using namespace redirects;  // NOLINT: the shared cases

class RedirectsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    const std::string path = "tests/examples/redirects.bpf.o";
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("redirects");
    ASSERT_TRUE(obj.ok()) << obj.status();
    obj_ = std::move(*obj);
    ASSERT_EQ(obj_->Load(), 0);
    tc_ = obj_->FindProgram("tc_redirects");
    xdp_ = obj_->FindProgram("xdp_check_mtu");
    ASSERT_NE(tc_, nullptr);
    ASSERT_NE(xdp_, nullptr);
  }

  // Runs one case; returns `out`.
  Out Run(const Case& k, native::PacketResult* result) {
    const uint32_t zero = 0;
    EXPECT_EQ(MapUpdateElem(obj_->MapFd("cmd"), &zero, &k.cmd, BPF_ANY), 0);
    Out out = {-1, 0xdeadbeef, 0};
    EXPECT_EQ(MapUpdateElem(obj_->MapFd("out"), &zero, &out, BPF_ANY), 0);
    struct __sk_buff ctx = {};
    ctx.gso_size = k.gso_size;
    *result = k.xdp ? xdp_->RunXdp(packet_)
                    : tc_->RunSkb(packet_, k.gso_size != 0 ? &ctx : nullptr);
    EXPECT_EQ(MapLookupElem(obj_->MapFd("out"), &zero, &out), 0);
    return out;
  }

  const Bytes packet_ =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, kFrameLen);
  std::unique_ptr<native::Object> obj_;
  const native::Program* tc_ = nullptr;
  const native::Program* xdp_ = nullptr;
};

TEST_P(RedirectsTest, SameAsTheRecordedKernel) {
  SetTargetKernel(KernelVersion::k6_18);  // the record is 6.18's
  const Recorded rec =
      ReadRecorded("tests/examples/testdata/redirects.expected");
  const std::map<std::string, std::string>& want = rec.lines;
  const std::string& kernel = rec.kernel;
  ASSERT_FALSE(want.empty()) << "no tests/examples/testdata/redirects.expected";
  EXPECT_EQ(kernel.rfind("6.18", 0), 0u) << "recorded on " << kernel;
  int checked = 0;
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    auto it = want.find(k.name);
    ASSERT_NE(it, want.end()) << "case not recorded: re-record (see "
                                 "redirects_compare_test.cc)";
    native::PacketResult n;
    const Out out = Run(k, &n);
    EXPECT_EQ(Format(k.name, n.err, n.retval, out), it->second);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(want.size()))
      << "the record has cases the test no longer runs";
  std::printf("redirects: %d cases checked against the recorded kernel\n",
              checked);
}

const Case& Find(const std::string& name) {
  static const std::vector<Case> cases = Cases();
  for (const Case& k : cases) {
    if (k.name == name) return k;
  }
  ADD_FAILURE() << name;
  return cases.front();
}

TEST_P(RedirectsTest, RecordsTheTargetAndTheKernelsFlags) {
  native::PacketResult n;
  native::ClearRedirect();
  Run(Find("peer no device"), &n);
  native::Redirect r = native::LastRedirect();
  EXPECT_TRUE(r.taken);
  EXPECT_EQ(r.ifindex, kNoDevice);
  EXPECT_EQ(r.flags, native::kRedirectPeer);
  EXPECT_TRUE(r.device_missing);

  Run(Find("neigh plen 20"), &n);
  r = native::LastRedirect();
  EXPECT_EQ(r.ifindex, 1u);
  EXPECT_FALSE(r.device_missing);
  EXPECT_EQ(r.flags, native::kRedirectNeigh | native::kRedirectNexthop);
  EXPECT_EQ(r.nh_family, uint32_t{AF_INET});
  EXPECT_EQ(r.nh_addr[0], 0x7f);

  Run(Find("neigh null"), &n);
  EXPECT_EQ(native::LastRedirect().flags, native::kRedirectNeigh);

  // A refused call leaves the last record as it was.
  Run(Find("neigh flag"), &n);
  EXPECT_EQ(n.retval, 2u);  // TC_ACT_SHOT
  EXPECT_EQ(native::LastRedirect().flags, native::kRedirectNeigh);
}

TEST_P(RedirectsTest, ClonesAreRecordedAsSent) {
  native::ClearClonedPackets();
  native::PacketResult n;
  EXPECT_EQ(Run(Find("clone lo"), &n).ret, 0);
  EXPECT_EQ(Run(Find("clone lo ingress"), &n).ret, 0);
  EXPECT_EQ(Run(Find("clone no device"), &n).ret, -EINVAL);
  EXPECT_EQ(Run(Find("clone gso"), &n).ret, -EBADMSG);
  const std::vector<native::ClonedPacket> sent = native::ClonedPackets();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].ifindex, 1u);
  EXPECT_EQ(sent[0].flags, 0u);
  EXPECT_EQ(sent[0].packet, packet_);
  EXPECT_EQ(sent[1].flags, uint64_t{BPF_F_INGRESS});
  native::ClearClonedPackets();
  EXPECT_TRUE(native::ClonedPackets().empty());
}

TEST_P(RedirectsTest, AnAddedDeviceHasItsOwnMtu) {
  const int ifindex = NetdevAdd("mtu0");
  ASSERT_GT(ifindex, 1);
  for (bool xdp : {false, true}) {
    Case k = Find(xdp ? "xdp mtu lo" : "mtu lo");
    k.cmd.ifindex = static_cast<uint32_t>(ifindex);
    native::PacketResult n;
    Out out = Run(k, &n);
    EXPECT_EQ(out.ret, BPF_MTU_CHK_RET_SUCCESS);
    EXPECT_EQ(out.mtu_len, kEthernetMtu);
    ASSERT_EQ(NetdevSetMtu(static_cast<uint32_t>(ifindex), 80), 0);
    out = Run(k, &n);  // 100 bytes: 86 of L3 over an MTU of 80
    EXPECT_EQ(out.ret, BPF_MTU_CHK_RET_FRAG_NEEDED);
    EXPECT_EQ(out.mtu_len, 80u);
    ASSERT_EQ(NetdevSetMtu(static_cast<uint32_t>(ifindex), kEthernetMtu), 0);
  }
  EXPECT_EQ(NetdevRemove(static_cast<uint32_t>(ifindex)), 0);
  EXPECT_EQ(NetdevSetMtu(static_cast<uint32_t>(ifindex), 1500), -ENODEV);
}

INSTANTIATE_TEST_SUITE_P(Faces, RedirectsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
