// SPDX-License-Identifier: Apache-2.0
// tests/examples/xfrm.bpf.c (kfy48) on the kernel (BPF_PROG_TEST_RUN of
// the XDP program) and on bpfemu, natively and as bytecode:
// bpf_xdp_get_xfrm_state's argument errors (opts__sz below 4: nothing
// written; any size but 36, a netns_id below -1: -EINVAL; a netns_id that
// names no namespace: -ENONET) and misses (-ENOENT), in a network namespace
// of the test's own (unshare: no namespace ids, no states). The host
// kernel has no IPsec protocol (esp4, ah4, ipcomp) to add a state with, so
// hits are bpfemu's alone: the second test sets its table and checks the
// lookups' matches (address per family, SPI, protocol, mark and mask), the
// SPI read from the state and the references released.

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "emu/xfrm_kfuncs.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

struct XCase {
  uint32_t size;
  int32_t netns_id;
  uint32_t mark;
  uint32_t daddr[4];
  uint32_t spi;
  uint32_t proto;
  uint32_t family;
  uint32_t spi_off;
};

uint32_t SpiOffset() {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return 0;
  const int32_t st = btf->FindByNameKind("xfrm_state", BTF_KIND_STRUCT);
  if (st <= 0) return 0;
  const KernelBtf::Field id = btf->FindMember(st, "id");
  const KernelBtf::Field spi =
      btf->FindMember(btf->SkipModifiers(id.type), "spi");
  return static_cast<uint32_t>(id.offset + spi.offset);
}

XCase V4(uint32_t size, int32_t netns, const char* addr, uint32_t spi,
         uint32_t proto = IPPROTO_ESP, uint32_t mark = 0) {
  XCase c{};
  c.size = size;
  c.netns_id = netns;
  c.mark = mark;
  inet_pton(AF_INET, addr, &c.daddr[0]);
  c.spi = htonl(spi);
  c.proto = proto;
  c.family = AF_INET;
  c.spi_off = SpiOffset();
  return c;
}

XCase V6(const char* addr, uint32_t spi, uint32_t mark = 0) {
  XCase c{};
  c.size = 36;
  c.netns_id = -1;
  c.mark = mark;
  inet_pton(AF_INET6, addr, c.daddr);
  c.spi = htonl(spi);
  c.proto = IPPROTO_ESP;
  c.family = AF_INET6;
  c.spi_off = SpiOffset();
  return c;
}

using RunCase = std::function<std::string(const XCase&)>;

std::string Transcript(const RunCase& run) {
  std::string out;
  auto step = [&](const std::string& what, const XCase& c) {
    absl::StrAppend(&out, what, ": ", run(c), "\n");
  };
  step("miss v4", V4(36, -1, "10.0.0.2", 0x100));
  step("miss v6", V6("2001:db8::2", 0x100));
  step("miss ah", V4(36, -1, "10.0.0.2", 0x100, IPPROTO_AH));
  step("miss family 0", [] {
    XCase c = V4(36, -1, "0.0.0.0", 0);
    c.family = 0;
    c.proto = 0;
    return c;
  }());
  for (uint32_t size : {1u, 3u, 4u, 35u, 37u, 64u}) {
    step(absl::StrCat("size ", size), V4(size, -1, "10.0.0.2", 0x100));
  }
  step("size 35, netns -2", V4(35, -2, "10.0.0.2", 0x100));
  for (int32_t netns : {-2, INT_MIN, 0, 1, 12345}) {
    step(absl::StrCat("netns ", netns), V4(36, netns, "10.0.0.2", 0x100));
  }
  return out;
}

class XfrmCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(XfrmCompareTest, SameAsTheKernel) {
  // A namespace of this test's own: no namespace ids, no states.
  ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare: " << errno;
  const std::string path = "tests/examples/xfrm.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("xfrm");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("lookup");
  ASSERT_NE(prog, nullptr);
  xfrmk::SetXfrmStates({});
  KernelBackend& k = KernelBackend::Get();
  const uint32_t zero = 0;
  const std::vector<uint8_t> packet(64, 0);
  auto line = [](int err, uint32_t retval, const int64_t* r) {
    return absl::StrCat("run ", err, " retval ", retval, " state ", r[0],
                        " error ", r[1], " spi ", r[2]);
  };
  const RunCase kr = [&](const XCase& c) {
    int64_t r[3] = {-1, -1, -1};
    EXPECT_EQ(k.Update(kernel->MapFd("cases"), &zero, &c, 0), 0);
    EXPECT_EQ(k.Update(kernel->MapFd("out"), &zero, r, 0), 0);
    const KernelObject::Result res =
        KernelObject::RunPacket(kernel->ProgFd("lookup"), packet);
    EXPECT_EQ(k.Lookup(kernel->MapFd("out"), &zero, r, 0), 0);
    return line(res.err, res.retval, r);
  };
  const RunCase er = [&](const XCase& c) {
    int64_t r[3] = {-1, -1, -1};
    EXPECT_EQ(MapUpdateElem((*obj)->MapFd("cases"), &zero, &c, 0), 0);
    EXPECT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, r, 0), 0);
    const native::PacketResult res = prog->RunXdp(packet);
    EXPECT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, r), 0);
    return line(res.err, res.retval, r);
  };
  const std::string kl = Transcript(kr);
  const std::string el = Transcript(er);
  EXPECT_EQ(el, kl) << interp::LastFault();
  std::printf("xfrm (%s):\n%s", GetParam() ? "bytecode" : "native", kl.c_str());
  // The kernel's own answers, whatever bpfemu says.
  EXPECT_NE(kl.find("miss v4: run 0 retval 2 state 0 error -2 spi 0"),
            std::string::npos);
  EXPECT_NE(kl.find("netns 0: run 0 retval 2 state 0 error -64 spi 0"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Faces, XfrmCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

// Hits on bpfemu's table, without the kernel.
class XfrmTableTest : public ::testing::TestWithParam<bool> {};

TEST_P(XfrmTableTest, LooksUpWhatTheTestSet) {
  if (SpiOffset() == 0) GTEST_SKIP() << "no kernel BTF with xfrm_state";
  xfrmk::XfrmState v4{};
  inet_pton(AF_INET, "10.0.0.2", &v4.daddr[0]);
  v4.spi = htonl(0x100);
  v4.proto = IPPROTO_ESP;
  v4.family = AF_INET;
  xfrmk::XfrmState v6{};
  inet_pton(AF_INET6, "2001:db8::2", v6.daddr);
  v6.spi = htonl(0x200);
  v6.proto = IPPROTO_ESP;
  v6.family = AF_INET6;
  v6.mark_v = 0x7;
  v6.mark_m = 0xff;
  xfrmk::SetXfrmStates({v4, v6});
  const std::string path = "tests/examples/xfrm.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("xfrm");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("lookup");
  const uint32_t zero = 0;
  auto run = [&](const XCase& c) {
    int64_t r[3] = {-1, -1, -1};
    EXPECT_EQ(MapUpdateElem((*obj)->MapFd("cases"), &zero, &c, 0), 0);
    const native::PacketResult res = prog->RunXdp(std::vector<uint8_t>(64));
    EXPECT_EQ(res.err, 0) << interp::LastFault();
    EXPECT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, r), 0);
    return absl::StrCat(r[0], " ", r[1], " ", r[2]);
  };
  const uint64_t held = xfrmk::HeldXfrmStates();
  // A hit writes no error: the field keeps 12345.
  EXPECT_EQ(run(V4(36, -1, "10.0.0.2", 0x100)),
            absl::StrCat("1 12345 ", htonl(0x100)));
  EXPECT_EQ(run(V4(36, -1, "10.0.0.3", 0x100)), "0 -2 0");
  EXPECT_EQ(run(V4(36, -1, "10.0.0.2", 0x101)), "0 -2 0");
  EXPECT_EQ(run(V4(36, -1, "10.0.0.2", 0x100, IPPROTO_AH)), "0 -2 0");
  // The mark: (mark & m) == v.
  EXPECT_EQ(run(V6("2001:db8::2", 0x200, 0x107)),
            absl::StrCat("1 12345 ", htonl(0x200)));
  EXPECT_EQ(run(V6("2001:db8::2", 0x200, 0x6)), "0 -2 0");
  EXPECT_EQ(run(V6("2001:db8::3", 0x200, 0x7)), "0 -2 0");
  // The argument errors come before the table.
  EXPECT_EQ(run(V4(35, -1, "10.0.0.2", 0x100)), "0 -22 0");
  EXPECT_EQ(run(V4(36, 0, "10.0.0.2", 0x100)), "0 -64 0");
  EXPECT_EQ(xfrmk::HeldXfrmStates(), held);
  xfrmk::SetXfrmStates({});
  EXPECT_EQ(run(V4(36, -1, "10.0.0.2", 0x100)), "0 -2 0");
}

INSTANTIATE_TEST_SUITE_P(Faces, XfrmTableTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
