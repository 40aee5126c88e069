// SPDX-License-Identifier: Apache-2.0
// tests/examples/sk_msg_edit.bpf.c on bpfemu alone (no kernel, no root):
// the scenarios of sk_msg_edit_cases.h give the same outcome natively and
// as bytecode, and the outcomes worked out by hand from net/core/filter.c
// and net/ipv4/tcp_bpf.c (sk_msg_edit_compare_test checks them all against
// the kernel).

#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/sk_msg.h"
#include "tests/examples/sk_msg_edit_cases.h"

namespace bpfemu::examples {
namespace {

constexpr char kPath[] = "tests/examples/sk_msg_edit.bpf.o";

class SkMsgEditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = native::Object::Open("sk_msg_edit");
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_EQ((*n)->Load(), 0);
    native_ = std::move(*n);
    auto b = native::Object::OpenBytecode(kPath);
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_EQ((*b)->Load(), 0);
    bytecode_ = std::move(*b);
  }
  void TearDown() override {
    for (int fd : {listener_, client_, server_}) {
      if (fd >= 0) close(fd);
    }
  }
  // A loopback TCP pair: its accepted end is sock_map's slot 1.
  void Connect() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(listen(listener_, 1), 0);
    ASSERT_EQ(getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &alen),
              0);
    client_ = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(client_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    server_ = accept(listener_, nullptr, nullptr);
    ASSERT_GE(server_, 0);
  }
  std::map<std::string, SkMsgOutcome> RunAll(const native::Object& obj) {
    std::map<std::string, SkMsgOutcome> out;
    const native::Program* prog = obj.FindProgram("edit");
    EXPECT_NE(prog, nullptr);
    if (prog == nullptr) return out;
    EXPECT_EQ(prog->type(), BPF_PROG_TYPE_SK_MSG);
    for (const SkMsgScenario& s : SkMsgScenarios()) {
      out[s.name] = RunOnEmu(obj, *prog, s, server_);
    }
    return out;
  }
  std::unique_ptr<native::Object> native_, bytecode_;
  int listener_ = -1, client_ = -1, server_ = -1;
};

std::vector<uint8_t> Bytes(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
std::vector<uint8_t> Slice(const std::vector<uint8_t>& v, size_t from,
                           size_t to) {
  return std::vector<uint8_t>(v.begin() + from, v.begin() + to);
}

TEST_F(SkMsgEditTest, BothFacesAgreeAndMatchTheKernelsRules) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  const auto n = RunAll(*native_);
  const auto b = RunAll(*bytecode_);
  ASSERT_EQ(n.size(), b.size());
  for (const auto& [name, o] : n) {
    SCOPED_TRACE(name);
    const SkMsgOutcome& c = b.at(name);
    EXPECT_EQ(o.send_ret, c.send_ret);
    EXPECT_EQ(o.delivered, c.delivered);
    EXPECT_EQ(o.redirected_ingress, c.redirected_ingress);
    EXPECT_EQ(o.redirected_egress, c.redirected_egress);
    EXPECT_EQ(o.runs, c.runs);
    EXPECT_EQ(o.recs, c.recs);
  }
  const std::vector<uint8_t> m0 = SkMsgPayload(0, 40), m1 = SkMsgPayload(1, 40);

  // Pulls inside the one slot move the window only.
  const SkMsgOutcome& pull = n.at("pull");
  ASSERT_EQ(pull.runs, 1u);
  EXPECT_EQ(pull.recs[0].size_in, 40u);
  EXPECT_EQ(pull.recs[0].len_in, 40u);
  EXPECT_EQ(pull.recs[0].ret[0], 0);
  EXPECT_EQ(pull.recs[0].ret[1], 0);
  EXPECT_EQ(pull.recs[0].ret[2], 0);
  EXPECT_EQ(pull.recs[0].len_out, 1u);  // [39, 40)
  EXPECT_EQ(pull.recs[0].head[0], 39);
  EXPECT_EQ(pull.delivered, m0);
  EXPECT_EQ(pull.send_ret, std::vector<long>{40});

  for (const char* bad : {"pull_bad", "flags"}) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(n.at(bad).recs[0].ret[i], -EINVAL) << bad << " " << i;
    }
  }

  // Two pushes (4 bytes at 0, 3 at 10), then one window over all 47.
  const SkMsgOutcome& pp = n.at("push_pull");
  EXPECT_EQ(pp.recs[0].size_out, 47u);
  EXPECT_EQ(pp.recs[0].len_out, 47u);
  EXPECT_EQ(pp.delivered, Bytes({{0x50, 0x51, 0x52, 0x53},
                                 Slice(m0, 0, 6),
                                 {0x60, 0x61, 0x62},
                                 Slice(m0, 6, 40)}));

  // At the end: appended; past it: EINVAL; nothing: 0.
  const SkMsgOutcome& pe = n.at("push_end");
  EXPECT_EQ(pe.recs[0].ret[0], 0);
  EXPECT_EQ(pe.recs[0].ret[1], -EINVAL);
  EXPECT_EQ(pe.recs[0].ret[2], 0);
  EXPECT_EQ(pe.delivered, Bytes({m0, {0x50, 0x51, 0x52, 0x53}}));

  const SkMsgOutcome& pop = n.at("pop");
  EXPECT_EQ(pop.recs[0].size_out, 26u);
  EXPECT_EQ(pop.delivered, Bytes({Slice(m0, 4, 14), Slice(m0, 18, 34)}));
  const SkMsgOutcome& pb = n.at("pop_bounds");
  EXPECT_EQ(pb.recs[0].ret[0], 0);
  EXPECT_EQ(pb.recs[0].ret[1], -EINVAL);
  EXPECT_EQ(pb.recs[0].ret[2], 0);
  const SkMsgOutcome& pb2 = n.at("pop_bounds2");
  EXPECT_EQ(pb2.recs[0].ret[0], -EINVAL);
  EXPECT_EQ(pb2.recs[0].ret[1], -EINVAL);
  EXPECT_EQ(pb2.recs[0].ret[2], 0);

  // apply_bytes 10: four runs of 40, 30, 20 and 10 bytes, all passed.
  const SkMsgOutcome& ap = n.at("apply_small");
  ASSERT_EQ(ap.runs, 4u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(ap.recs[i].size_in, 40 - 10 * i);
  EXPECT_EQ(ap.delivered, m0);
  // apply_bytes 100 over 3 x 40: one run covers 100 bytes, a second the
  // last 20.
  const SkMsgOutcome& aa = n.at("apply_across_sends");
  ASSERT_EQ(aa.runs, 2u);
  EXPECT_EQ(aa.recs[1].size_in, 20u);
  EXPECT_EQ(aa.delivered.size(), 120u);
  // A drop of 10 applied bytes: send takes 30 and loses them all; the
  // verdict stays, so the next send is dropped without a run.
  const SkMsgOutcome& ad = n.at("apply_drop");
  EXPECT_EQ(ad.send_ret, (std::vector<long>{30, -EACCES}));
  EXPECT_EQ(ad.runs, 1u);
  EXPECT_TRUE(ad.delivered.empty());
  EXPECT_EQ(n.at("drop").send_ret, (std::vector<long>{-EACCES, -EACCES}));

  // cork 50: the first 40 wait, the second send's 40 join them in one slot.
  const SkMsgOutcome& ck = n.at("cork");
  EXPECT_EQ(ck.send_ret, (std::vector<long>{40, 40}));
  ASSERT_EQ(ck.runs, 2u);
  EXPECT_EQ(ck.recs[1].size_in, 80u);
  EXPECT_EQ(ck.recs[1].len_in, 80u);
  EXPECT_EQ(ck.delivered, Bytes({m0, m1}));
  EXPECT_EQ(n.at("cork_long").delivered.size(), 120u);
  EXPECT_EQ(n.at("cork_long").runs, 3u);
  EXPECT_EQ(n.at("cork_drop").send_ret, (std::vector<long>{40, -EACCES}));

  // Redirected to the peer's ingress: nothing passed, all 60 bytes there.
  const SkMsgOutcome& ri = n.at("redirect_ingress");
  EXPECT_TRUE(ri.delivered.empty());
  EXPECT_EQ(ri.redirected_ingress, Bytes({m0, Slice(m1, 0, 20)}));
  EXPECT_EQ(ri.recs[0].redirect_ret, SK_PASS);
  EXPECT_EQ(n.at("redirect_egress").redirected_egress,
            Bytes({m0, Slice(m1, 0, 20)}));
  // Flags beyond BPF_F_INGRESS: SK_DROP from the helper, the message passes.
  const SkMsgOutcome& rb = n.at("redirect_bad_flags");
  EXPECT_EQ(rb.recs[0].redirect_ret, SK_DROP);
  EXPECT_EQ(rb.delivered.size(), 60u);
}

// A bytecode run on a context no SkMsgSocket made: the message helpers stop
// the run (a fault) instead of acting on memory that is no message.
// bpf_msg_push_data's new page comes from alloc_pages: above 4 MiB
// (MAX_PAGE_ORDER) the kernel's allocation fails with -ENOMEM, and so does
// the model's, without trying.
TEST(SkMsgModelTest, PushAboveTheLargestPageIsENOMEM) {
  native::SkMsg m;
  EXPECT_EQ(m.PushData(0, (4u << 20) + 1, 0), -ENOMEM);
  EXPECT_EQ(m.PushData(0, 0xffffffffu, 0), -ENOMEM);
  EXPECT_EQ(m.size(), 0u);
}

TEST_F(SkMsgEditTest, HelpersOutsideASendFault) {
  const native::Program* prog = bytecode_->FindProgram("edit");
  ASSERT_NE(prog, nullptr);
  SkMsgCfg cfg;
  cfg.ops[0] = Pull(0, 8);
  const uint32_t zero = 0;
  ASSERT_EQ(MapUpdateElem(bytecode_->MapFd("cfg"), &zero, &cfg, BPF_ANY), 0);
  ASSERT_EQ(MapUpdateElem(bytecode_->MapFd("runs"), &zero, &zero, BPF_ANY), 0);
  struct sk_msg_md md = {};
  md.size = 40;
  EXPECT_EQ(prog->Run(&md), 0u);
  EXPECT_NE(interp::LastFault().find("SkMsgSocket"), std::string::npos)
      << interp::LastFault();
}

}  // namespace
}  // namespace bpfemu::examples
