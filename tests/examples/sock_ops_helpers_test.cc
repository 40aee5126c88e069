// SPDX-License-Identifier: Apache-2.0
// tests/examples/sock_ops_helpers.bpf.c on bpfemu alone (no kernel, no
// root needed for all but the options that need CAP_NET_ADMIN, which then
// answer -EPERM in both faces alike): hand-made callbacks through
// native::RunSockOps, natively and as bytecode, with the outcomes worked
// out from net/core/filter.c (sock_ops_helpers_compare_test checks the
// kernel's own callbacks).

#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "emu/interp.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/sock_ops_helpers_cases.h"

namespace bpfemu::examples {
namespace {

constexpr char kPath[] = "tests/examples/sock_ops_helpers.bpf.o";

// A TCP header (20 bytes) and its options.
std::vector<uint8_t> Header(std::vector<uint8_t> options) {
  std::vector<uint8_t> h(20, 0);
  h[12] = static_cast<uint8_t>(((20 + options.size()) / 4) << 4);
  h.insert(h.end(), options.begin(), options.end());
  return h;
}

class SockOpsHelpersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const bool bytecode : {false, true}) {
      auto o = bytecode ? native::Object::OpenBytecode(kPath)
                        : native::Object::Open("sock_ops_helpers");
      ASSERT_TRUE(o.ok()) << o.status();
      ASSERT_EQ((*o)->Load(), 0);
      objs_.push_back(std::move(*o));
    }
  }
  // The callback in both faces: the records must agree; the native one.
  SockOpsRec Run(const native::SockOpsInput& in) {
    SockOpsRec out[2];
    for (int i = 0; i < 2; ++i) {
      const native::Program* prog = objs_[i]->FindProgram("ops");
      EXPECT_NE(prog, nullptr);
      if (prog == nullptr) return {};
      EXPECT_EQ(prog->type(), BPF_PROG_TYPE_SOCK_OPS);
      out[i] = RunCallback(*objs_[i], *prog, in);
    }
    EXPECT_EQ(ShowRec(out[0]), ShowRec(out[1]));
    return out[0];
  }
  std::vector<std::unique_ptr<native::Object>> objs_;
};

TEST_F(SockOpsHelpersTest, RequestSocketHeaderLength) {
  native::SockOpsInput in;
  in.op = BPF_SOCK_OPS_HDR_OPT_LEN_CB;
  in.fullsock = false;
  in.state = 12;  // TCP_NEW_SYN_RECV
  in.remaining_opt_len = 20;
  const SockOpsRec r = Run(in);
  EXPECT_EQ(r.ret[0], -ENOENT);       // no SYN
  EXPECT_EQ(r.ret[2], -EINVAL);       // cb_flags_set on a request socket
  EXPECT_EQ(r.ret[4], -EINVAL);       // getsockopt likewise
  EXPECT_EQ(r.ret[14], -EOPNOTSUPP);  // TCP_NODELAY in a header callback
  EXPECT_EQ(r.ret[16], -EOPNOTSUPP);  // sock_map_update outside 4, 5, 11
  EXPECT_EQ(r.ret[18], 0);            // reserve 8 of 20
  EXPECT_EQ(r.ret[19], -EINVAL);      // reserve 1
  EXPECT_EQ(r.ret[20], -EPERM);       // store outside WRITE_HDR_OPT
  EXPECT_EQ(r.ret[23], -EPERM);       // load in HDR_OPT_LEN
  EXPECT_EQ(r.ret[25], -ENOENT);      // load from the SYN: none
}

TEST_F(SockOpsHelpersTest, WriteHeaderOptions) {
  native::SockOpsInput in;
  in.op = BPF_SOCK_OPS_WRITE_HDR_OPT_CB;
  in.fullsock = false;
  in.header = Header({2, 4, 0xff, 0xd7});  // MSS
  in.remaining_opt_len = 8;
  SockOpsRec r = Run(in);
  EXPECT_EQ(r.ret[18], -EPERM);   // reserve outside HDR_OPT_LEN
  EXPECT_EQ(r.ret[20], 0);        // stored
  EXPECT_EQ(r.ret[21], -ENOSPC);  // 6 bytes, 2 left (before the dup check)
  EXPECT_EQ(r.ret[22], -ENOSPC);
  EXPECT_EQ(r.ret[23], 6);  // found what was stored
  EXPECT_EQ(r.ret[24], -ENOSPC);
  EXPECT_EQ(r.ret[26], -ENOMSG);  // no timestamps
  EXPECT_EQ(r.hdr_len_out, 30u);
  const uint8_t want[6] = {254, 6, 0xeb, 0x9f, BPF_SOCK_OPS_WRITE_HDR_OPT_CB,
                           0x11};
  EXPECT_EQ(std::vector<uint8_t>(r.hdr_out + 24, r.hdr_out + 30),
            std::vector<uint8_t>(want, want + 6));
  EXPECT_EQ(std::vector<uint8_t>(r.loaded, r.loaded + 6),
            std::vector<uint8_t>(want, want + 6));
  // With room for both, the second store finds the first.
  in.remaining_opt_len = 16;
  r = Run(in);
  EXPECT_EQ(r.ret[20], 0);
  EXPECT_EQ(r.ret[21], -EEXIST);
  // An EOL ends the options: nothing more may be written.
  in.header = Header({0, 0, 0, 0});
  r = Run(in);
  EXPECT_EQ(r.ret[20], -ENOSPC);
  // A malformed option length: -EFAULT, as tcp_parse_options gives up.
  in.header = Header({8, 1, 0, 0});
  r = Run(in);
  EXPECT_EQ(r.ret[20], -EFAULT);
  EXPECT_EQ(r.ret[23], -EFAULT);
}

TEST_F(SockOpsHelpersTest, SynAndParse) {
  native::SockOpsInput in;
  in.op = BPF_SOCK_OPS_PARSE_HDR_OPT_CB;
  in.fullsock = false;
  in.syn = Header(
      {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7});
  in.header = Header({1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2});
  const SockOpsRec r = Run(in);
  EXPECT_EQ(r.ret[0], 40);       // the SYN's header
  EXPECT_EQ(r.ret[1], -ENOSPC);  // into 8 bytes
  EXPECT_EQ(std::vector<uint8_t>(r.syn_short, r.syn_short + 8),
            std::vector<uint8_t>(in.syn.begin(), in.syn.begin() + 8));
  EXPECT_EQ(r.ret[23], -ENOMSG);
  EXPECT_EQ(r.ret[25], 4);   // the SYN's MSS
  EXPECT_EQ(r.ret[26], 10);  // timestamps, past the NOPs
}

TEST_F(SockOpsHelpersTest, EstablishedSocketOptionsAndMaps) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof(a);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&a), &alen), 0);
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  native::SockOpsInput in;
  in.op = BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB;
  in.state = 1;  // TCP_ESTABLISHED
  in.fd = client;
  in.cb_flags = BPF_SOCK_OPS_STATE_CB_FLAG;
  const SockOpsRec r = Run(in);
  EXPECT_EQ(r.ret[2], 0);
  EXPECT_EQ(r.cb_flags_out, uint32_t{BPF_SOCK_OPS_STATE_CB_FLAG});
  EXPECT_EQ(r.ret[3], 0);
  EXPECT_EQ(r.ret[4], 0);
  EXPECT_EQ(r.nodelay, 1u);
  EXPECT_EQ(r.ret[8], 0);
  EXPECT_EQ(r.tos, 0x10u);
  EXPECT_EQ(r.ret[9], -EINVAL);   // SNDCWND_CLAMP 0
  EXPECT_EQ(r.ret[10], 0);        // DELACK_MAX 40 ms: 10 jiffies
  EXPECT_EQ(r.ret[11], -EINVAL);  // RTO_MIN 1 ms: 1 jiffy
  EXPECT_EQ(r.ret[12], 0);
  EXPECT_EQ(r.cbopt, uint32_t{BPF_SOCK_OPS_STATE_CB_FLAG});
  EXPECT_EQ(r.ret[13], -EINVAL);  // level 99
  EXPECT_EQ(r.ret[14], -EINVAL);  // optlen 2
  EXPECT_EQ(r.ret[15], 0);        // the congestion control's name
  EXPECT_NE(r.cc[0], 0);
  // The socket went into both maps.
  EXPECT_EQ(r.ret[16], 0);
  EXPECT_EQ(r.ret[17], 0);
  EXPECT_EQ(r.ret[18], -EPERM);
  EXPECT_EQ(r.ret[23], -EPERM);  // no header seen
  close(client);
  close(listener);
}

// A bytecode run on a context RunSockOps did not make: the helpers stop the
// run (a fault).
TEST_F(SockOpsHelpersTest, HelpersOutsideACallbackFault) {
  const native::Program* prog = objs_[1]->FindProgram("ops");
  ASSERT_NE(prog, nullptr);
  struct bpf_sock_ops ctx = {};
  ctx.op = BPF_SOCK_OPS_TCP_CONNECT_CB;
  EXPECT_EQ(prog->Run(&ctx), 0u);
  EXPECT_NE(interp::LastFault().find("RunSockOps"), std::string::npos)
      << interp::LastFault();
}

}  // namespace
}  // namespace bpfemu::examples
