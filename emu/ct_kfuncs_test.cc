// SPDX-License-Identifier: Apache-2.0
// The emulated conntrack table's rules (emu/ct_kfuncs.h) without the
// kernel: argument checks in nf_conntrack_bpf.c's order, lookups of both
// directions and zones, insert clashes, references, expiry, timeouts,
// status changes and NAT bindings.

#include "emu/ct_kfuncs.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu::ct {
namespace {

struct V4 {
  uint32_t saddr, daddr;
  uint16_t sport, dport;
};
static_assert(sizeof(V4) == kTupleV4Sz);

struct Opts {
  int32_t netns_id = -1;
  int32_t error = 0;
  uint8_t l4proto = 6;
  uint8_t dir = 0xff;
  uint16_t zone_id = 0;
  uint8_t zone_dir = 0;
  uint8_t reserved[3] = {};
};
static_assert(sizeof(Opts) == kOptsSz);

V4 Flow(uint8_t last, uint16_t sport) {
  return {htonl(0x7f300000u | last), htonl(0xc0000201u), htons(sport),
          htons(80)};
}

class CtTest : public ::testing::Test {
 protected:
  void SetUp() override { SetJiffiesForTest(1000); }
  void TearDown() override {
    EndRun();
    Flush();
    SetJiffiesForTest(std::nullopt);
    EXPECT_EQ(LiveEntries(), 0u);
  }
  // Allocates, optionally adjusts, inserts and releases: the entry's errno.
  int Add(const V4& t, uint32_t timeout_ms = 0, uint16_t zone = 0) {
    Opts o;
    o.zone_id = zone;
    void* ct = Alloc(&t, sizeof(t), &o, sizeof(o));
    if (ct == nullptr) return o.error;
    if (timeout_ms != 0) SetTimeout(ct, timeout_ms);
    int err = 0;
    void* in = Insert(ct, &err);
    if (in != nullptr) {
      EXPECT_EQ(Release(in), 0);
    }
    return err;
  }
};

TEST_F(CtTest, ArgumentChecksInTheKernelsOrder) {
  V4 t = Flow(1, 1000);
  Opts o;
  // NULL tuple or opts, opts size other than 12 and 16.
  EXPECT_EQ(Lookup(nullptr, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -EINVAL);
  o.error = 0;
  EXPECT_EQ(Lookup(&t, sizeof(t), &o, 8), nullptr);
  EXPECT_EQ(o.error, -EINVAL);
  o.error = 0;
  EXPECT_EQ(Lookup(&t, sizeof(t), &o, 4), nullptr);  // error not covered
  EXPECT_EQ(o.error, 0);
  // reserved bytes; a zone with the 12-byte opts.
  o.reserved[1] = 1;
  EXPECT_EQ(Lookup(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -EINVAL);
  EXPECT_EQ(Alloc(&t, sizeof(t), &o, sizeof(o)), nullptr);
  o.reserved[1] = 0;
  o.zone_id = 3;
  EXPECT_EQ(Alloc(&t, sizeof(t), &o, kOptsSzOld), nullptr);
  EXPECT_EQ(o.error, -EINVAL);
  o.zone_id = 0;
  // l4proto before netns_id in a lookup, after it in an allocation.
  o.l4proto = 1;
  o.netns_id = -2;
  EXPECT_EQ(Lookup(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -EPROTO);
  EXPECT_EQ(Alloc(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -EINVAL);
  o.netns_id = -1;
  EXPECT_EQ(Alloc(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -EPROTO);
  // tuple size, then the namespace id.
  o.l4proto = 17;
  EXPECT_EQ(Lookup(&t, 13, &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -EAFNOSUPPORT);
  o.netns_id = 0xf00;
  EXPECT_EQ(Lookup(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -ENONET);
  EXPECT_EQ(Alloc(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -ENONET);
  o.netns_id = -1;
  EXPECT_EQ(Lookup(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -ENOENT);
  EXPECT_EQ(o.zone_dir, 3);  // the default direction written back
}

TEST_F(CtTest, SixOneTakesTwelveByteOptsOnly) {
  // 6.1's bpf_ct_opts has no zone: opts__sz must be 12 (CtOptsHaveZone).
  const V4 t = Flow(2, 1000);
  Opts o;
  SetTargetKernel(KernelVersion::k6_1);
  const void* wide = Lookup(&t, sizeof(t), &o, sizeof(o));
  const int wide_err = o.error;
  o.error = 0;
  const void* narrow = Lookup(&t, sizeof(t), &o, 12);
  const int narrow_err = o.error;
  o.error = 0;
  o.zone_id = 1;  // 6.1's reserved[0..1]
  const void* reserved = Alloc(&t, sizeof(t), &o, 12);
  const int reserved_err = o.error;
  o.error = 0;
  o.zone_id = 0;
  const void* wide_alloc = Alloc(&t, sizeof(t), &o, sizeof(o));
  const int wide_alloc_err = o.error;
  SetTargetKernel(KernelVersion::k6_18);
  EXPECT_EQ(wide, nullptr);
  EXPECT_EQ(wide_err, -EINVAL);
  EXPECT_EQ(narrow, nullptr);
  EXPECT_EQ(narrow_err, -ENOENT);
  EXPECT_EQ(reserved, nullptr);
  EXPECT_EQ(reserved_err, -EINVAL);
  EXPECT_EQ(wide_alloc, nullptr);
  EXPECT_EQ(wide_alloc_err, -EINVAL);
  // 6.12 takes both.
  o.error = 0;
  SetTargetKernel(KernelVersion::k6_12);
  const void* wide12 = Lookup(&t, sizeof(t), &o, sizeof(o));
  SetTargetKernel(KernelVersion::k6_18);
  EXPECT_EQ(wide12, nullptr);
  EXPECT_EQ(o.error, -ENOENT);
}

TEST_F(CtTest, InsertThenLookupBothDirections) {
  const V4 t = Flow(2, 2000);
  Opts o;
  void* ct = Alloc(&t, sizeof(t), &o, sizeof(o));
  ASSERT_NE(ct, nullptr);
  bool confirmed = true;
  ASSERT_TRUE(IsEntry(ct, &confirmed));
  EXPECT_FALSE(confirmed);
  EXPECT_TRUE(Entries().empty());  // not in the table yet
  EXPECT_EQ(Lookup(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(o.error, -ENOENT);
  EXPECT_EQ(SetStatus(ct, kIpsSeenReply), 0);
  SetTimeout(ct, 1000);  // 250 jiffies, relative
  void* in = Insert(ct);
  ASSERT_EQ(in, ct);
  auto es = Entries();
  ASSERT_EQ(es.size(), 1u);
  EXPECT_EQ(es[0].status, kIpsSeenReply | kIpsConfirmed);
  EXPECT_EQ(es[0].timeout, 1000u + 250u);
  EXPECT_EQ(es[0].use, 2u);
  EXPECT_EQ(es[0].orig.l3num, AF_INET);
  EXPECT_EQ(es[0].reply.dir, 1);
  EXPECT_EQ(es[0].reply.sport, t.dport);
  // The reply direction's tuple finds it too.
  const V4 r = {t.daddr, t.saddr, t.dport, t.sport};
  Opts ro;
  void* back = Lookup(&r, sizeof(r), &ro, sizeof(ro));
  EXPECT_EQ(back, ct);
  EXPECT_EQ(ro.dir, 1);
  EXPECT_EQ(Entries()[0].use, 3u);
  EXPECT_EQ(Release(back), 0);
  EXPECT_EQ(Release(in), 0);
  EXPECT_EQ(Release(in), -EINVAL);  // no reference left
  EXPECT_EQ(Entries()[0].use, 1u);
}

TEST_F(CtTest, DuplicateInsertIsEexistAndFreesTheEntry) {
  const V4 t = Flow(3, 3000);
  EXPECT_EQ(Add(t), 0);
  EXPECT_EQ(Add(t), -EEXIST);
  // The reverse tuple clashes as well; another zone does not.
  const V4 r = {t.daddr, t.saddr, t.dport, t.sport};
  EXPECT_EQ(Add(r), -EEXIST);
  EXPECT_EQ(Add(t, 0, 7), 0);
  EXPECT_EQ(Entries().size(), 2u);
  EXPECT_EQ(LiveEntries(), 2u);
  // The zone is part of a lookup's key.
  Opts o;
  o.zone_id = 7;
  void* ct = Lookup(&t, sizeof(t), &o, sizeof(o));
  ASSERT_NE(ct, nullptr);
  EXPECT_EQ(Entries()[1].addr, ct);
  EXPECT_EQ(Release(ct), 0);
}

TEST_F(CtTest, ExpiredEntriesAreNotFound) {
  const V4 t = Flow(4, 4000);
  ASSERT_EQ(Add(t, 400), 0);  // 100 jiffies
  Opts o;
  void* ct = Lookup(&t, sizeof(t), &o, sizeof(o));
  ASSERT_NE(ct, nullptr);
  SetJiffiesForTest(1100);
  Opts o2;
  EXPECT_EQ(Lookup(&t, sizeof(t), &o2, sizeof(o2)), nullptr);
  EXPECT_EQ(o2.error, -ENOENT);
  // The holder keeps a dying entry until it lets go.
  EXPECT_EQ(LiveEntries(), 1u);
  EXPECT_EQ(ChangeTimeout(ct, 1000), -ETIME);
  EXPECT_EQ(Release(ct), 0);
  EXPECT_EQ(LiveEntries(), 0u);
  // An expired tuple may be added again.
  EXPECT_EQ(Add(t), 0);
}

TEST_F(CtTest, TimeoutsAndStatusRules) {
  const V4 t = Flow(5, 5000);
  Opts o;
  void* ct = Alloc(&t, sizeof(t), &o, sizeof(o));
  ASSERT_NE(ct, nullptr);
  // Unchangeable bits and bits that may only be set: -EBUSY.
  EXPECT_EQ(SetStatus(ct, kIpsConfirmed), -EBUSY);
  EXPECT_EQ(SetStatus(ct, kIpsExpected), -EBUSY);
  EXPECT_EQ(SetStatus(ct, kIpsAssured | kIpsSrcNat), 0);
  EXPECT_EQ(SetStatus(ct, 0), -EBUSY);  // ASSURED can only be set
  SetTimeout(ct, 0x80000000u);          // "negative": capped at INT_MAX
  void* in = Insert(ct);
  ASSERT_NE(in, nullptr);
  auto es = Entries();
  ASSERT_EQ(es.size(), 1u);
  EXPECT_EQ(es[0].status, kIpsAssured | kIpsConfirmed);  // SRC_NAT ignored
  EXPECT_EQ(es[0].timeout, 1000u + 0x7fffffffu);
  EXPECT_EQ(ChangeStatus(in, kIpsAssured), -EBUSY);  // CONFIRMED cleared
  EXPECT_EQ(ChangeStatus(in, kIpsAssured | kIpsConfirmed | kIpsSeenReply), 0);
  EXPECT_EQ(ChangeTimeout(in, 10000), 0);
  EXPECT_EQ(Entries()[0].timeout, 1000u + 2500u);
  EXPECT_EQ(Entries()[0].status, kIpsAssured | kIpsConfirmed | kIpsSeenReply);
  EXPECT_EQ(ChangeStatus(in, kIpsAssured | kIpsConfirmed | kIpsSeenReply |
                                 kIpsFixedTimeout),
            0);
  EXPECT_EQ(ChangeTimeout(in, 1), -EPERM);
  EXPECT_EQ(Release(in), 0);
}

TEST_F(CtTest, NatInfoRewritesTheReplyTuple) {
  const V4 t = Flow(6, 6000);
  Opts o;
  void* ct = Alloc(&t, sizeof(t), &o, sizeof(o));
  ASSERT_NE(ct, nullptr);
  uint8_t addr[16] = {};
  const uint32_t nat = htonl(0xc6336401u);  // 198.51.100.1
  std::memcpy(addr, &nat, 4);
  EXPECT_EQ(SetNatInfo(ct, addr, 4000, 2), -EINVAL);  // manip
  EXPECT_EQ(SetNatInfo(ct, addr, 4000, 0), 0);
  EXPECT_EQ(SetNatInfo(ct, addr, 4000, 0), -ENOMEM);  // already bound
  EXPECT_EQ(SetNatInfo(ct, addr, -1, 1), 0);
  void* in = Insert(ct);
  ASSERT_NE(in, nullptr);
  const auto es = Entries();
  ASSERT_EQ(es.size(), 1u);
  EXPECT_EQ(es[0].status, kIpsConfirmed | kIpsSrcNat | kIpsDstNat |
                              kIpsSrcNatDone | kIpsDstNatDone);
  uint32_t d = 0, s = 0;
  std::memcpy(&d, es[0].reply.dst, 4);
  std::memcpy(&s, es[0].reply.src, 4);
  EXPECT_EQ(d, nat);  // replies go to the new source
  EXPECT_EQ(es[0].reply.dport, htons(4000));
  EXPECT_EQ(s, nat);  // and come from the new destination
  EXPECT_EQ(es[0].reply.sport, t.dport);
  EXPECT_EQ(SetNatInfo(in, addr, 1, 0), 0);  // confirmed: nothing done
  EXPECT_EQ(Release(in), 0);
}

TEST_F(CtTest, LeftReferencesAreDroppedAtTheEndOfTheRun) {
  const V4 t = Flow(7, 7000);
  const uint64_t before = LeakedRefs();
  Opts o;
  ASSERT_NE(Alloc(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EXPECT_EQ(LiveEntries(), 1u);
  EndRun();
  EXPECT_EQ(LeakedRefs(), before + 1);
  EXPECT_EQ(LiveEntries(), 0u);
  // A seeded entry is found; a leaked lookup reference leaves it in place.
  Tuple st;
  ASSERT_EQ(ParseTuple(&t, sizeof(t), 17, 0, &st), 0);
  ASSERT_EQ(Seed(st, kIpsSeenReply, 500, 42), 0);
  EXPECT_EQ(Seed(st, 0, 500, 0), -EEXIST);
  o.l4proto = 17;
  ASSERT_NE(Lookup(&t, sizeof(t), &o, sizeof(o)), nullptr);
  EndRun();
  EXPECT_EQ(LeakedRefs(), before + 2);
  ASSERT_EQ(Entries().size(), 1u);
  EXPECT_EQ(Entries()[0].mark, 42u);
  EXPECT_EQ(Entries()[0].use, 1u);
}

}  // namespace
}  // namespace bpfemu::ct
