// SPDX-License-Identifier: Apache-2.0
// tests/examples/ct_kfuncs.bpf.c on bpfemu without root, natively and as
// bytecode: every scenario gives the kernel's pinned answers
// (ct_kfuncs_cases.h) and the same reads on both faces; entries seeded
// through the test API (emu/ct_kfuncs.h) are what the programs find, and
// what the programs insert is what the test API shows.

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/ct_kfuncs.h"
#include "emu/interp.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/ct_kfuncs_cases.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

using namespace ct_kfuncs;  // NOLINT

constexpr uint32_t kUnread = 0xefefefefu;

class CtKfuncsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    native_ = native::Object::Open("ct_kfuncs");
    ASSERT_TRUE(native_.ok()) << native_.status();
    ASSERT_EQ((*native_)->Load(), 0) << (*native_)->load_error();
    bytecode_ = native::Object::OpenBytecode("tests/examples/ct_kfuncs.bpf.o");
    ASSERT_TRUE(bytecode_.ok()) << bytecode_.status();
    ASSERT_EQ((*bytecode_)->Load(), 0) << (*bytecode_)->load_error();
  }
  void TearDown() override { ct::Flush(); }

  // One run of `prog` with `c`: its output.
  Out Run(native::Object& obj, const char* prog, const Cfg& c) {
    const uint32_t zero = 0;
    const Out fresh = Fresh();
    EXPECT_EQ(MapUpdateElem(obj.MapFd("cfg"), &zero, &c, BPF_ANY), 0);
    EXPECT_EQ(MapUpdateElem(obj.MapFd("out"), &zero, &fresh, BPF_ANY), 0);
    const native::Program* p = obj.FindProgram(prog);
    EXPECT_NE(p, nullptr);
    Out o = fresh;
    if (p == nullptr) return o;
    const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 6, 64);
    const native::PacketResult r =
        std::string(prog) == "ct_tc" ? p->RunSkb(packet) : p->RunXdp(packet);
    EXPECT_EQ(r.err, 0);
    EXPECT_EQ(r.retval, 0u);
    EXPECT_EQ(interp::LastFault(), "");
    EXPECT_EQ(MapLookupElem(obj.MapFd("out"), &zero, &o), 0);
    return o;
  }

  absl::StatusOr<std::unique_ptr<native::Object>> native_, bytecode_;
};

TEST_F(CtKfuncsTest, BothFacesGiveTheKernelsAnswers) {
  const std::vector<Case> cases = Cases();
  const uint64_t leaked = ct::LeakedRefs();
  for (int p = 0; p < 2; ++p) {
    const char* prog = p == 0 ? "ct_tc" : "ct_xdp";
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& cs = cases[i];
      SCOPED_TRACE(std::string(prog) + " " + cs.name);
      // The faces share the table: each run has its own tuple.
      Cfg cn = Base(0, static_cast<uint16_t>(30000 + i * 4 + p * 2), 7);
      Cfg cb = Base(0, static_cast<uint16_t>(30001 + i * 4 + p * 2), 7);
      cs.set(&cn);
      cs.set(&cb);
      const Out n = Run(**native_, prog, cn);
      const Out b = Run(**bytecode_, prog, cb);
      for (int j = 0; j < 10; ++j) {
        EXPECT_EQ(n.r[j], b.r[j]) << "answer " << j;
        if (j < static_cast<int>(cs.r.size())) {
          EXPECT_EQ(b.r[j], cs.r[j]) << "answer " << j;
        }
      }
      for (int j = 0; j < 3; ++j) {
        EXPECT_EQ(n.err[j], b.err[j]) << "error " << j;
        if (j < static_cast<int>(cs.err.size())) {
          EXPECT_EQ(b.err[j], cs.err[j]) << "error " << j;
        }
        EXPECT_EQ(n.dir[j], b.dir[j]);
        EXPECT_EQ(n.zdir[j], b.zdir[j]);
        EXPECT_EQ(n.status[j], b.status[j]);
        EXPECT_EQ(n.mark[j], b.mark[j]);
        if (j != 0 && b.status[j] != kUnread) {
          const int64_t want = j == 2 && b.r[6] == 0 ? Jiffies(cb.timeout2)
                                                     : Jiffies(cb.timeout);
          EXPECT_LE(b.left[j], want);
          EXPECT_GE(b.left[j], want - 13);
        } else {
          EXPECT_EQ(n.left[j], b.left[j]);
        }
      }
      EXPECT_EQ(n.same, b.same);
      // The reply tuples name each run's own source port.
      EXPECT_EQ(n.reply_saddr, b.reply_saddr);
      EXPECT_EQ(n.reply_daddr, b.reply_daddr);
    }
  }
  EXPECT_EQ(ct::LeakedRefs(), leaked);
}

// What the kernel showed for full_status_mark, here with the table's view:
// the status and mark the program set, the reply tuple the inverse of the
// original, the table's reference only once the program let go.
TEST_F(CtKfuncsTest, TheTableShowsWhatAProgramInserted) {
  for (native::Object* obj : {native_->get(), bytecode_->get()}) {
    ct::Flush();
    Cfg c = Base(kOpFull, 31000, 9);
    c.status = 6, c.mark = 77, c.timeout = 2000, c.timeout2 = 3000;
    const Out o = Run(*obj, "ct_tc", c);
    EXPECT_EQ(o.r[3], 1);
    EXPECT_EQ(o.status[2], 6u | 8u);
    EXPECT_EQ(o.mark[1], 77u);
    const std::vector<ct::EntryInfo> es = ct::Entries();
    ASSERT_EQ(es.size(), 1u);
    EXPECT_EQ(es[0].status, 6u | 8u);
    EXPECT_EQ(es[0].mark, 77u);
    EXPECT_EQ(es[0].use, 1u);
    EXPECT_EQ(es[0].orig.l3num, AF_INET);
    EXPECT_EQ(es[0].orig.protonum, 6);
    EXPECT_EQ(std::memcmp(es[0].orig.src, &c.saddr, 4), 0);
    EXPECT_EQ(es[0].orig.sport, c.sport);
    EXPECT_EQ(std::memcmp(es[0].reply.dst, &c.saddr, 4), 0);
    EXPECT_EQ(es[0].reply.dport, c.sport);
    const int32_t left = static_cast<int32_t>(es[0].timeout - ct::NowJiffies());
    EXPECT_LE(left, 750);
    EXPECT_GE(left, 737);
  }
}

TEST_F(CtKfuncsTest, ProgramsFindSeededEntries) {
  for (native::Object* obj : {native_->get(), bytecode_->get()}) {
    for (const char* prog : {"ct_tc", "ct_xdp"}) {
      SCOPED_TRACE(prog);
      ct::Flush();
      Cfg c = Base(kOpLookup, 32000, 11);
      c.l4proto = 17;
      uint8_t raw[12];
      std::memcpy(raw, &c.saddr, 4);
      std::memcpy(raw + 4, &c.daddr, 4);
      std::memcpy(raw + 8, &c.sport, 2);
      std::memcpy(raw + 10, &c.dport, 2);
      ct::Tuple t;
      ASSERT_EQ(ct::ParseTuple(raw, sizeof(raw), 17, 0, &t), 0);
      ASSERT_EQ(ct::Seed(t, ct::kIpsSeenReply | ct::kIpsAssured, 1000, 42), 0);
      Out o = Run(*obj, prog, c);
      EXPECT_EQ(o.r[0], 1);
      EXPECT_EQ(o.dir[0], 0u);
      EXPECT_EQ(o.status[1], 6u | 8u);
      EXPECT_EQ(o.mark[1], 42u);
      EXPECT_LE(o.left[1], 1000);
      EXPECT_GE(o.left[1], 987);
      // The reply direction, and another zone, which does not hold it.
      std::swap(c.saddr, c.daddr);
      std::swap(c.sport, c.dport);
      o = Run(*obj, prog, c);
      EXPECT_EQ(o.r[0], 1);
      EXPECT_EQ(o.dir[0], 1u);
      c.zone_id = 3;
      o = Run(*obj, prog, c);
      EXPECT_EQ(o.r[0], 0);
      EXPECT_EQ(o.err[0], -ENOENT);
      // Expired: not found.
      ct::SetJiffiesForTest(ct::NowJiffies() + 2000);
      c.zone_id = 0;
      o = Run(*obj, prog, c);
      ct::SetJiffiesForTest(std::nullopt);
      EXPECT_EQ(o.r[0], 0);
      EXPECT_EQ(o.err[0], -ENOENT);
      EXPECT_TRUE(ct::Entries().empty());
    }
  }
}

}  // namespace
}  // namespace bpfemu::examples
