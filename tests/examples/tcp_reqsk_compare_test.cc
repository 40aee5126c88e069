// SPDX-License-Identifier: Apache-2.0
// tests/examples/tcp_reqsk.bpf.c (kfy48) on the kernel (BPF_PROG_TEST_RUN
// of the tc program) and on bpfemu, natively and as bytecode, with a TCP
// listener on 127.0.0.1 that both lookups find: bpf_sk_assign_tcp_reqsk's
// answers for the attribute size and reserved bytes, and for valid
// attributes on a test run's skb, which is not at tc ingress (-EINVAL).

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

struct Attrs {
  uint32_t rcv_tsval, rcv_tsecr;
  uint16_t mss;
  uint8_t rcv_wscale, snd_wscale, ecn_ok, wscale_ok, sack_ok, tstamp_ok,
      usec_ts_ok;
  uint8_t reserved[3];
};
static_assert(sizeof(Attrs) == 20);

struct Cfg {
  uint32_t port;
  int32_t size;
  Attrs attrs;
  uint8_t pad[4];
};

class TcpReqskCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(TcpReqskCompareTest, SameAsTheKernel) {
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(lfd, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  const std::string path = "tests/examples/tcp_reqsk.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("tcp_reqsk");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("reqsk");
  ASSERT_NE(prog, nullptr);
  KernelBackend& k = KernelBackend::Get();
  const uint32_t zero = 0;
  const std::vector<uint8_t> packet =
      Ipv4Frame(htonl(INADDR_LOOPBACK), htonl(INADDR_LOOPBACK), 40000,
                ntohs(addr.sin_port), IPPROTO_TCP);
  std::string kl, el;
  auto step = [&](const std::string& what, int32_t size, const Attrs& a) {
    Cfg c{};
    c.port = addr.sin_port;
    c.size = size;
    c.attrs = a;
    const int64_t none = -999;
    int64_t kr = none, er = none;
    EXPECT_EQ(k.Update(kernel->MapFd("cfgs"), &zero, &c, 0), 0);
    EXPECT_EQ(k.Update(kernel->MapFd("out"), &zero, &none, 0), 0);
    const KernelObject::Result r =
        KernelObject::RunPacket(kernel->ProgFd("reqsk"), packet);
    EXPECT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &kr, 0), 0);
    absl::StrAppend(&kl, what, ": run ", r.err, " retval ", r.retval, " ret ",
                    kr, "\n");
    EXPECT_EQ(MapUpdateElem((*obj)->MapFd("cfgs"), &zero, &c, 0), 0);
    EXPECT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, 0), 0);
    const native::PacketResult e = prog->RunSkb(packet);
    EXPECT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &er), 0);
    absl::StrAppend(&el, what, ": run ", e.err, " retval ", e.retval, " ret ",
                    er, "\n");
  };
  Attrs good{};
  good.mss = 1460;
  good.wscale_ok = 1;
  good.rcv_wscale = 7;
  good.snd_wscale = 7;
  good.sack_ok = 1;
  step("valid attrs", 20, good);
  step("size 19", 19, good);
  step("size 21", 21, good);
  step("size 1", 1, good);
  Attrs bad = good;
  bad.reserved[2] = 1;
  step("reserved[2]", 20, bad);
  Attrs small = good;
  small.mss = 1;
  step("mss 1", 20, small);
  close(lfd);
  EXPECT_EQ(el, kl);
  std::printf("tcp_reqsk (%s):\n%s", GetParam() ? "bytecode" : "native",
              kl.c_str());
  // The kernel's own answer: the listener was found, not at ingress.
  EXPECT_NE(kl.find("valid attrs: run 0 retval 0 ret -22"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Faces, TcpReqskCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
