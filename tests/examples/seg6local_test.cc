// SPDX-License-Identifier: Apache-2.0
// tests/examples/seg6local.bpf.c on bpfemu alone, natively and as
// bytecode, through the End.BPF action's model (loader/test_run.h
// RunSeg6LocalEndBpf; net/ipv6/seg6_local.c input_action_end_bpf), where
// the helpers work on the packet's segment routing header: the writable
// bytes of bpf_lwt_seg6_store_bytes, bpf_lwt_seg6_adjust_srh's growing and
// shrinking of the TLVs, bpf_lwt_seg6_action's End.X / End.T / End.DT6 /
// End.B6 / End.B6.Encap, and the check of the header after the program.
// No kernel test run reaches this path (6.1's test run starts without a
// header, later kernels have none: seg6local_compare_test.cc compares
// those); the expectations are the kernel source's (net/core/filter.c,
// net/ipv6/seg6_local.c, seg6_iptunnel.c, seg6.c), read case by case.

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "emu/errno.h"
#include "emu/fib.h"
#include "emu/netdev.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "loader/test_run.h"
#include "tests/examples/seg6local_scenario.h"

namespace bpfemu::examples::seg6local {
namespace {

constexpr size_t kIp = ETH_HLEN;   // the IPv6 header in a run's output
constexpr size_t kSrh = kIp + 40;  // the segment routing header after it

struct HookRun {
  native::Seg6EndBpfResult hook;
  native::PacketResult r;
  seg6_out o = {};
};

class Seg6LocalModelTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    saved_ = TargetKernel();
    SetTargetKernel(KernelVersion::k6_12);
    FibReset();
    NetdevReset();
    const int eth = NetdevAdd("eth9");
    ASSERT_GT(eth, 1);
    FibRoute6 r;
    r.dst = Fc00(0);
    r.plen = 16;
    r.ifindex = static_cast<uint32_t>(eth);
    ASSERT_EQ(FibAddRoute6(r), 0);
    ASSERT_EQ(FibAddAddress6(kLoopbackIfindex, Loopback(), 128), 0);
    auto obj =
        GetParam()
            ? native::Object::OpenBytecode("tests/examples/seg6local.bpf.o")
            : native::Object::Open("seg6local");
    ASSERT_TRUE(obj.ok()) << obj.status();
    obj_ = std::move(*obj);
    ASSERT_EQ(obj_->Load(), 0);
    const native::Program* p = obj_->FindProgram("seg6_steps");
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(ProgFromFd(p->fd(), &prog_), 0);
  }
  void TearDown() override {
    FibReset();
    NetdevReset();
    SetTargetKernel(saved_);
  }

  HookRun EndBpf(const std::vector<uint8_t>& frame, const Case& c) {
    const uint32_t zero = 0;
    EXPECT_EQ(MapUpdateElem(obj_->MapFd("cmd"), &zero, &c.cmd, BPF_ANY), 0);
    const seg6_out blank = {};
    EXPECT_EQ(MapUpdateElem(obj_->MapFd("out"), &zero, &blank, BPF_ANY), 0);
    HookRun run;
    run.r = native::RunSeg6LocalEndBpf(*prog_, frame, &run.hook);
    EXPECT_EQ(MapLookupElem(obj_->MapFd("out"), &zero, &run.o), 0);
    return run;
  }
  HookRun EndBpf(const Case& c) {
    return EndBpf(Ipv6Frame(Fc00(1), kRouting, SrhBytes(TwoSegments())), c);
  }

  KernelVersion saved_;
  std::unique_ptr<native::Object> obj_;
  std::shared_ptr<const Prog> prog_;
};

// The packet of every case but the last ones: IPv6 (40 bytes) to fc00::1,
// a header of two segments (fc00::2 last, fc00::1 first; one left) and an
// 8-byte PadN TLV (48 bytes, hdrlen 5), 16 bytes of UDP: skb->len 104.
TEST_P(Seg6LocalModelTest, TheActionAdvancesTheHeaderAndRoutes) {
  const HookRun run = EndBpf(Make("nothing", {}));
  EXPECT_TRUE(run.hook.ran);
  EXPECT_FALSE(run.hook.dropped);
  EXPECT_EQ(run.hook.nexthop, 0);  // fc00::2 through eth9
  ASSERT_EQ(run.r.data_out.size(), ETH_HLEN + 104u);
  EXPECT_EQ(run.r.data_out[kSrh + 3], 0);  // segments_left
  const Addr next = Fc00(2);
  EXPECT_EQ(std::vector<uint8_t>(run.r.data_out.begin() + kIp + 24,
                                 run.r.data_out.begin() + kIp + 40),
            std::vector<uint8_t>(next.begin(), next.end()));
}

TEST_P(Seg6LocalModelTest, PacketsWithoutAHeaderLeftAreDroppedUnrun) {
  HookRun run = EndBpf(Ipv6Frame(Fc00(1), kUdp, {}), Make("nothing", {}));
  EXPECT_TRUE(run.hook.no_srh);
  EXPECT_FALSE(run.hook.ran);
  EXPECT_EQ(run.o.steps, 0u);
  Srh done = TwoSegments();
  done.segments_left = 0;
  run = EndBpf(Ipv6Frame(Fc00(1), kRouting, SrhBytes(done)), Make("n", {}));
  EXPECT_TRUE(run.hook.no_srh);
}

TEST_P(Seg6LocalModelTest, Verdicts) {
  HookRun run = EndBpf(Make("drop", {}, BPF_DROP));
  EXPECT_TRUE(run.hook.dropped);
  EXPECT_FALSE(run.hook.invalid_srh);
  run = EndBpf(Make("illegal", {}, 99));
  EXPECT_TRUE(run.hook.dropped);
  run = EndBpf(Make("redirect", {}, BPF_REDIRECT));
  EXPECT_FALSE(run.hook.dropped);
}

TEST_P(Seg6LocalModelTest, StoreBytesWritesFlagsTagAndTlvsOnly) {
  HookRun run = EndBpf(Make("flags", {Store(40 + 5, {0x80})}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_EQ(run.r.data_out[kSrh + 5], 0x80);
  EXPECT_FALSE(run.hook.dropped);
  run = EndBpf(Make("tag", {Store(40 + 6, {0x12, 0x34})}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_EQ(run.r.data_out[kSrh + 6], 0x12);
  EXPECT_EQ(run.r.data_out[kSrh + 7], 0x34);
  // The segments, and a write starting before the flags: -EFAULT.
  run = EndBpf(Make("segments", {Store(40 + 8, {1})}));
  EXPECT_EQ(run.o.ret[0], -EFAULT);
  run = EndBpf(Make("first_segment", {Store(40 + 4, {1, 2})}));
  EXPECT_EQ(run.o.ret[0], -EFAULT);
  run = EndBpf(Make("past_tag", {Store(40 + 6, {1, 2, 3})}));
  EXPECT_EQ(run.o.ret[0], -EFAULT);
  // The kernel's TLV area starts (first_segment + 1) * 16 bytes in: the
  // last segment's second half is writable too.
  run = EndBpf(Make("last_segment_half", {Store(40 + 32, {9})}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_EQ(run.r.data_out[kSrh + 32], 9);
  EXPECT_FALSE(run.hook.dropped);
  run = EndBpf(Make("last_segment_start", {Store(40 + 31, {9})}));
  EXPECT_EQ(run.o.ret[0], -EFAULT);
  // A TLV made too long fails the check after the run: dropped.
  run = EndBpf(Make("tlv_len", {Store(40 + 41, {7})}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_TRUE(run.hook.dropped);
  EXPECT_TRUE(run.hook.invalid_srh);
  // ... and an action that needs the header checked refuses it.
  run = EndBpf(Make("tlv_len_then_end_x",
                    {Store(40 + 41, {7}), Action(kEndX, Bytes(Fc00(9)))}));
  EXPECT_EQ(run.o.ret[1], -EBADMSG);
}

TEST_P(Seg6LocalModelTest, AdjustSrhGrowsAndShrinksTheTlvs) {
  // 8 zeroed bytes at the header's end: two Pad1-like TLVs of 0 length
  // each, 4 of them; hdrlen 6 after the check.
  HookRun run = EndBpf(Make("grow", {Adjust(40 + 48, 8)}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_EQ(run.o.len[0], 112u);
  EXPECT_FALSE(run.hook.dropped);
  EXPECT_EQ(run.r.data_out[kSrh + 1], 6);
  EXPECT_EQ(run.r.data_out[kIp + 5], 72);  // payload_len
  for (int i = 48; i < 56; ++i) EXPECT_EQ(run.r.data_out[kSrh + i], 0) << i;
  // Growing by 4: hdrlen not a multiple of 8 after the run, dropped.
  run = EndBpf(Make("grow4", {Adjust(40 + 48, 4)}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_TRUE(run.hook.invalid_srh);
  // Removing the PadN TLV: hdrlen 4, payload 56.
  run = EndBpf(Make("shrink", {Adjust(40 + 40, -8)}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_EQ(run.o.len[0], 96u);
  EXPECT_FALSE(run.hook.dropped);
  EXPECT_EQ(run.r.data_out[kSrh + 1], 4);
  EXPECT_EQ(run.r.data_out[kIp + 5], 56);
  // Outside the TLVs: before them, past the end, or shrinking past it.
  run = EndBpf(Make("before_tlvs", {Adjust(40 + 39, 8)}));
  EXPECT_EQ(run.o.ret[0], -EFAULT);
  run = EndBpf(Make("past_end", {Adjust(40 + 49, 8)}));
  EXPECT_EQ(run.o.ret[0], -EFAULT);
  run = EndBpf(Make("shrink_past_end", {Adjust(40 + 40, -16)}));
  EXPECT_EQ(run.o.ret[0], -EFAULT);
  // A grown header is checked (and its hdrlen set) before End.X routes.
  run = EndBpf(Make("grow_then_end_x",
                    {Adjust(40 + 48, 8), Action(kEndX, Bytes(Fc00(9)))}));
  EXPECT_EQ(run.o.ret[1], 0);
  EXPECT_EQ(run.r.data_out[kSrh + 1], 6);
}

TEST_P(Seg6LocalModelTest, EndXAndEndTRoute) {
  HookRun run = EndBpf(Make("x", {Action(kEndX, Bytes(Fc00(9)))}));
  EXPECT_EQ(run.o.ret[0], 0);
  run = EndBpf(Make("x_unrouted", {Action(kEndX, Bytes(Doc(9)))}));
  EXPECT_EQ(run.o.ret[0], -ENETUNREACH);
  run = EndBpf(Make("x_local", {Action(kEndX, Bytes(Loopback()))}));
  EXPECT_EQ(run.o.ret[0], -EINVAL);
  run = EndBpf(Make("x_short", {Action(kEndX, Int(0))}));
  EXPECT_EQ(run.o.ret[0], -EINVAL);
  run = EndBpf(Make("t_main", {Action(kEndT, Int(254))}));
  EXPECT_EQ(run.o.ret[0], 0);
  run = EndBpf(Make("t_local", {Action(kEndT, Int(255))}));
  EXPECT_EQ(run.o.ret[0], -ENETUNREACH);
  run = EndBpf(Make("t_missing_table", {Action(kEndT, Int(100))}));
  EXPECT_EQ(run.o.ret[0], -EINVAL);
  run = EndBpf(Make("t_long", {Action(kEndT, Bytes(Fc00(9)))}));
  EXPECT_EQ(run.o.ret[0], -EINVAL);
  run = EndBpf(Make("unknown", {Action(kEnd, Int(0))}));
  EXPECT_EQ(run.o.ret[0], -EINVAL);
}

TEST_P(Seg6LocalModelTest, EndDt6Decapsulates) {
  // No inner IPv6 packet after the header: -EBADMSG.
  HookRun run = EndBpf(Make("dt6_udp", {Action(kEndDt6, Int(0))}));
  EXPECT_EQ(run.o.ret[0], -EBADMSG);
  // Outer IPv6 + header (next header IPv6) + an inner packet to
  // 2001:db8::5: the outer headers go, the header state with them (none
  // inside), the inner destination is routed (none: -ENETUNREACH).
  Srh s = TwoSegments();
  s.nexthdr = kIpv6InIpv6;
  std::vector<uint8_t> inner = Ipv6Frame(Doc(5), kUdp, {});
  inner.erase(inner.begin(), inner.begin() + ETH_HLEN);
  std::vector<uint8_t> ext = SrhBytes(s);
  const size_t srh_len = ext.size();
  ext.insert(ext.end(), inner.begin(), inner.end() - 16);  // Ipv6Frame adds UDP
  std::vector<uint8_t> frame = Ipv6Frame(Fc00(1), kRouting, ext);
  run =
      EndBpf(frame, Make("dt6", {Action(kEndDt6, Int(0)), Store(40 + 5, {1})}));
  EXPECT_EQ(run.o.ret[0], -ENETUNREACH);
  EXPECT_EQ(run.o.len[0], inner.size());
  EXPECT_EQ(run.o.ret[1], -EINVAL);  // no header any more
  EXPECT_FALSE(run.hook.dropped);
  EXPECT_EQ(run.hook.nexthop, -ENETUNREACH);
  ASSERT_EQ(run.r.data_out.size(), ETH_HLEN + inner.size());
  EXPECT_EQ(std::vector<uint8_t>(run.r.data_out.begin() + ETH_HLEN,
                                 run.r.data_out.end()),
            inner);
  (void)srh_len;
}

TEST_P(Seg6LocalModelTest, EndB6InsertsAndEncapsulates) {
  // One segment: segments[0] takes the packet's destination, which stays
  // the destination (fc00::2): the new header is first, hdrlen 2.
  HookRun run = EndBpf(Make("b6", {Action(kEndB6, OneSegment(Fc00(7)))}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_EQ(run.o.len[0], 104u + 24);
  EXPECT_FALSE(run.hook.dropped);
  EXPECT_EQ(run.r.data_out[kIp + 6], kRouting);
  EXPECT_EQ(run.r.data_out[kSrh], kRouting);  // the old header after it
  EXPECT_EQ(run.r.data_out[kSrh + 1], 2);
  EXPECT_EQ(run.r.data_out[kSrh + 8 + 15], 2);  // segments[0] = fc00::2
  EXPECT_EQ(run.r.data_out[kIp + 24 + 15], 2);
  // The state is the new header: its flags are writable.
  run = EndBpf(Make("b6_then_store", {Action(kEndB6, OneSegment(Fc00(7))),
                                      Store(40 + 5, {0x40})}));
  EXPECT_EQ(run.o.ret[1], 0);
  EXPECT_EQ(run.r.data_out[kSrh + 5], 0x40);
  // Two segments: the destination becomes the last one (fc00::3).
  Srh two;
  two.segments = {Fc00(4), Fc00(3)};
  run = EndBpf(Make("b6_two", {Action(kEndB6, SrhBytes(two))}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_EQ(run.r.data_out[kIp + 24 + 15], 3);
  // A header left invalid refuses the insertion.
  run = EndBpf(Make("b6_after_bad", {Store(40 + 41, {7}),
                                     Action(kEndB6, OneSegment(Fc00(7)))}));
  EXPECT_EQ(run.o.ret[1], -EBADMSG);
  // An invalid header to insert: -EINVAL.
  std::vector<uint8_t> bad = OneSegment(Fc00(7));
  bad[2] = 3;
  run = EndBpf(Make("b6_type3", {Action(kEndB6, bad)}));
  EXPECT_EQ(run.o.ret[0], -EINVAL);
  // End.B6.Encap: an outer IPv6 header (flow label and hop limit of the
  // inner one, to fc00::8) and the header (next header IPv6) in front.
  run = EndBpf(Make("b6_encap", {Action(kEndB6Encap, OneSegment(Fc00(8)))}));
  EXPECT_EQ(run.o.ret[0], 0);
  EXPECT_EQ(run.o.len[0], 104u + 40 + 24);
  EXPECT_FALSE(run.hook.dropped);
  const std::vector<uint8_t>& d = run.r.data_out;
  EXPECT_EQ(d[kIp], 0x60);
  EXPECT_EQ(d[kIp + 1], 0x01);
  EXPECT_EQ(d[kIp + 3], 0x45);
  EXPECT_EQ(d[kIp + 6], kRouting);
  EXPECT_EQ(d[kIp + 7], 64);
  EXPECT_EQ(d[kIp + 24 + 15], 8);
  EXPECT_EQ(d[kSrh], kIpv6InIpv6);
  EXPECT_EQ(d[kSrh + 24], 0x60);  // the inner packet
}

// Test runs: none on the kernels bpfemu models (-ENOTSUPP, measured on
// the 6.1 and 6.12 guests); a plain skb run of the program (RunSkb, no
// End.BPF action) has no header state, as the kernel's test run had
// before 6.11 on a CPU no End.BPF run used; 6.18 (no
// CONFIG_IPV6_SEG6_BPF) refuses the helper calls at load.
TEST_P(Seg6LocalModelTest, TestRunsByVersion) {
  const uint32_t zero = 0;
  const Case c = Make("store", {Store(40 + 5, {0x80})});
  ASSERT_EQ(MapUpdateElem(obj_->MapFd("cmd"), &zero, &c.cmd, BPF_ANY), 0);
  const std::vector<uint8_t> frame =
      Ipv6Frame(Fc00(1), kRouting, SrhBytes(TwoSegments()));
  native::TestRunAttr a;
  a.data_in = frame.data();
  a.data_size_in = static_cast<uint32_t>(frame.size());
  native::TestRunOutput out;
  EXPECT_EQ(native::TestRun(*prog_, a, &out), -kENOTSUPP);
  SetTargetKernel(KernelVersion::k6_1);
  EXPECT_EQ(native::TestRun(*prog_, a, &out), -kENOTSUPP);
  const native::PacketResult r = native::RunSkb(*prog_, frame);
  EXPECT_EQ(r.err, 0);
  seg6_out o = {};
  ASSERT_EQ(MapLookupElem(obj_->MapFd("out"), &zero, &o), 0);
  EXPECT_EQ(o.ret[0], -EINVAL);
  if (GetParam()) {
    SetTargetKernel(KernelVersion::k6_18);
    auto refused =
        native::Object::OpenBytecode("tests/examples/seg6local.bpf.o");
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ((*refused)->Load(), -EINVAL);
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, Seg6LocalModelTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::seg6local
