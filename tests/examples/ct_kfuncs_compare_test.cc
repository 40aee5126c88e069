// SPDX-License-Identifier: Apache-2.0
// tests/examples/ct_kfuncs.bpf.c on the kernel (BPF_PROG_TEST_RUN of its tc
// and XDP programs, against the host's real conntrack table) and on bpfemu
// (the emulated table, emu/ct_kfuncs.h), natively and as bytecode: for
// every scenario of ct_kfuncs_cases.h, the same answers (NULL or not,
// opts->error, opts->dir, opts->ct_zone_dir, return codes), the same
// status and mark read back, the same reply tuple after NAT bindings and
// lookups of both tuples, which are also the pinned ones. The timeout
// left after confirmation depends on when each run happens, so it is
// compared by property: on both, within 13 jiffies (52 ms at HZ 250) below
// what was set. The tuples are the test's own (127.48.x.y, x.y from the
// pid), so the host's other entries cannot meet them.

#include <linux/bpf.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "emu/ct_kfuncs.h"
#include "emu/interp.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/ct_kfuncs_cases.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

using namespace ct_kfuncs;  // NOLINT

constexpr uint32_t kUnread = 0xefefefefu;

// Whether `left` (jiffies) is what a timeout of `want` jiffies leaves
// shortly after it was set.
bool Near(int32_t left, int64_t want) {
  return left <= want && left >= want - 13;
}

class CtKfuncsCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(CtKfuncsCompareTest, SameAnswersAsTheKernel) {
  if (access("/proc/net/nf_conntrack", R_OK) != 0 &&
      system("modprobe nf_conntrack >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no nf_conntrack on this host";
  }
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/ct_kfuncs.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("ct_kfuncs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  KernelBackend& k = KernelBackend::Get();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 6, 64);
  const uint32_t zero = 0;
  const uint16_t host = static_cast<uint16_t>(getpid() & 0xffff) | 1;
  const std::vector<Case> cases = Cases();
  int compared = 0, timeouts = 0;
  for (int p = 0; p < 2; ++p) {
    const char* name = p == 0 ? "ct_tc" : "ct_xdp";
    const native::Program* prog = (*obj)->FindProgram(name);
    ASSERT_NE(prog, nullptr);
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& cs = cases[i];
      SCOPED_TRACE(std::string(name) + " " + cs.name);
      Cfg c = Base(0, static_cast<uint16_t>(20000 + i * 8 + p * 2 + bytecode),
                   host);
      cs.set(&c);
      const Out fresh = Fresh();
      ASSERT_EQ(k.Update(kernel->MapFd("cfg"), &zero, &c, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cfg"), &zero, &c, BPF_ANY), 0);
      ASSERT_EQ(k.Update(kernel->MapFd("out"), &zero, &fresh, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &fresh, BPF_ANY), 0);
      const KernelObject::Result kr =
          KernelObject::RunPacket(kernel->ProgFd(name), packet);
      ASSERT_EQ(kr.err, 0);
      const native::PacketResult er =
          p == 0 ? prog->RunSkb(packet) : prog->RunXdp(packet);
      ASSERT_EQ(er.err, 0);
      EXPECT_EQ(interp::LastFault(), "");
      EXPECT_EQ(er.retval, kr.retval);
      Out ko{}, eo{};
      ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &ko, 0), 0);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &eo), 0);
      for (int j = 0; j < 10; ++j) {
        EXPECT_EQ(eo.r[j], ko.r[j]) << "answer " << j;
        if (j < static_cast<int>(cs.r.size())) {
          EXPECT_EQ(ko.r[j], cs.r[j]) << "answer " << j;
        }
      }
      for (int j = 0; j < 3; ++j) {
        EXPECT_EQ(eo.err[j], ko.err[j]) << "error " << j;
        if (j < static_cast<int>(cs.err.size())) {
          EXPECT_EQ(ko.err[j], cs.err[j]) << "error " << j;
        }
        EXPECT_EQ(eo.dir[j], ko.dir[j]) << "dir " << j;
        EXPECT_EQ(eo.zdir[j], ko.zdir[j]) << "zone dir " << j;
        EXPECT_EQ(eo.status[j], ko.status[j]) << "status " << j;
        EXPECT_EQ(eo.mark[j], ko.mark[j]) << "mark " << j;
        if (j == 0 || ko.status[j] == kUnread) {
          EXPECT_EQ(eo.left[j], ko.left[j]) << "timeout " << j;
          continue;
        }
        const int64_t want =
            j == 2 && ko.r[6] == 0 ? Jiffies(c.timeout2) : Jiffies(c.timeout);
        EXPECT_TRUE(Near(ko.left[j], want))
            << "kernel timeout " << j << ": " << ko.left[j] << " of " << want;
        EXPECT_TRUE(Near(eo.left[j], want))
            << "bpfemu timeout " << j << ": " << eo.left[j] << " of " << want;
        ++timeouts;
      }
      EXPECT_EQ(eo.same, ko.same);
      EXPECT_EQ(eo.reply_saddr, ko.reply_saddr);
      EXPECT_EQ(eo.reply_daddr, ko.reply_daddr);
      EXPECT_EQ(eo.reply_sport, ko.reply_sport);
      EXPECT_EQ(eo.reply_dport, ko.reply_dport);
      ++compared;
    }
  }
  // Nothing a run took is left held (every scenario releases).
  EXPECT_EQ(ct::LeakedRefs(), 0u);
  ct::Flush();
  std::printf("ct kfuncs (%s): %d runs compared, %d timeouts by property\n",
              bytecode ? "bytecode" : "native", compared, timeouts);
}

INSTANTIATE_TEST_SUITE_P(Faces, CtKfuncsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
