// SPDX-License-Identifier: Apache-2.0
// tests/examples/skb_misc.bpf.c on bpfemu, natively and as bytecode,
// without root: every case of skb_misc_cases.h against the kernel's answers
// recorded on 6.18 (tests/examples/testdata/skb_misc.expected, written by
// skb_misc_compare_test as root; the command is there), the time stamp
// rules of a 6.1 target (BPF_SKB_TSTAMP_UNSPEC / _DELIVERY_MONO, read from
// the 6.1 source, not measured), and the run socket's cookie.

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <string>

#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "tests/examples/recorded.h"
#include "tests/examples/skb_misc_cases.h"

namespace bpfemu::examples {
namespace {

using namespace skb_misc;  // NOLINT: the shared cases

class SkbMiscTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    const std::string path = "tests/examples/skb_misc.bpf.o";
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("skb_misc");
    ASSERT_TRUE(obj.ok()) << obj.status();
    obj_ = std::move(*obj);
    ASSERT_EQ(obj_->Load(), 0);
    tc_ = obj_->FindProgram("tc_skb_misc");
    xdp_ = obj_->FindProgram("xdp_buff_len");
    ASSERT_NE(tc_, nullptr);
    ASSERT_NE(xdp_, nullptr);
  }
  void TearDown() override { SetTargetKernel(KernelVersion::k6_18); }

  // Runs one case; returns its record line.
  std::string Run(const Case& k, Out* out = nullptr) {
    const uint32_t zero = 0;
    const Cmd cmd = CmdOf(k);
    EXPECT_EQ(MapUpdateElem(obj_->MapFd("cmd"), &zero, &cmd, BPF_ANY), 0);
    Out o = {};
    for (int64_t& r : o.ret) r = -9999;
    EXPECT_EQ(MapUpdateElem(obj_->MapFd("out"), &zero, &o, BPF_ANY), 0);
    const Bytes packet = k.xdp_len != 0 ? Bytes(k.xdp_len, 0x5a) : Frame(k);
    struct __sk_buff ctx = {};
    ctx.tstamp = k.ctx_tstamp;
    native::PacketResult n =
        k.xdp_len != 0
            ? xdp_->RunXdp(packet)
            : tc_->RunSkb(packet, k.ctx_tstamp != 0 ? &ctx : nullptr);
    if (n.err != 0) n.data_out.clear();
    EXPECT_EQ(MapLookupElem(obj_->MapFd("out"), &zero, &o), 0);
    if (out != nullptr) *out = o;
    return Format(k.name, n.err, n.retval, o, n.data_out, NetnsCookieNow());
  }

  std::unique_ptr<native::Object> obj_;
  const native::Program* tc_ = nullptr;
  const native::Program* xdp_ = nullptr;
};

TEST_P(SkbMiscTest, SameAsTheRecordedKernel) {
  SetTargetKernel(KernelVersion::k6_18);  // the record is 6.18's
  const Recorded want =
      ReadRecorded("tests/examples/testdata/skb_misc.expected");
  ASSERT_FALSE(want.lines.empty())
      << "no tests/examples/testdata/skb_misc.expected";
  EXPECT_EQ(want.kernel.rfind("6.18", 0), 0u) << "recorded on " << want.kernel;
  int checked = 0;
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    auto it = want.lines.find(k.name);
    ASSERT_NE(it, want.lines.end())
        << "case not recorded: re-record (see skb_misc_compare_test.cc)";
    EXPECT_EQ(Run(k), it->second);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(want.lines.size()))
      << "the record has cases the test no longer runs";
  std::printf("skb_misc: %d cases checked against the recorded kernel\n",
              checked);
}

// Up to 6.10 (so on a 6.1 target) the clock ids were BPF_SKB_TSTAMP_UNSPEC
// (0: only a zero time, which clears the stamp) and _DELIVERY_MONO (1: a
// non-zero time); 2 (TAI) is unknown there.
TEST_P(SkbMiscTest, TimeStampRulesOf61) {
  SetTargetKernel(KernelVersion::k6_1);
  Out out;
  Case k;
  k.name = "6.1";
  k.steps = {{kSetTstamp, 0, 5}};
  Run(k, &out);
  EXPECT_EQ(out.ret[0], -EINVAL);
  k.steps = {{kSetTstamp, 1, 5}, {kSetTstamp, 0, 0}};
  Run(k, &out);
  EXPECT_EQ(out.ret[0], 0);
  EXPECT_EQ(out.ret[1], 0);
  EXPECT_EQ(out.tstamp, 0u);
  EXPECT_EQ(out.tstamp_type, 0u);
  k.steps = {{kSetTstamp, 2, 5}};
  Run(k, &out);
  EXPECT_EQ(out.ret[0], -EINVAL);
  k.steps = {{kSetTstamp, 1, 5}};
  Run(k, &out);
  EXPECT_EQ(out.ret[0], 0);
  EXPECT_EQ(out.tstamp, 5u);
  EXPECT_EQ(out.tstamp_type, 1u);
}

// The run's socket: a cookie of its own per run, the same within a run
// (the kernel's are its global counter's, compared by these properties).
TEST_P(SkbMiscTest, EachRunSocketHasItsOwnCookie) {
  native::RunSocket a, b;
  const uint64_t ca = native::RunSocketCookie(a.sk());
  EXPECT_NE(ca, 0u);
  EXPECT_EQ(native::RunSocketCookie(a.sk()), ca);
  EXPECT_NE(native::RunSocketCookie(b.sk()), ca);
  EXPECT_GE(ca, uint64_t{1} << 62);
}

INSTANTIATE_TEST_SUITE_P(Faces, SkbMiscTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
