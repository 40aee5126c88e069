// SPDX-License-Identifier: Apache-2.0
// tests/examples/sock_addr_hook.bpf.c on bpfemu alone (no kernel, no root),
// natively and as bytecode: a few connects of sock_addr_hook_scenario.h
// with the answers the kernel gave in sock_addr_hook_compare_test (6.18):
// the context the programs see, a refusal and its retval, a rewritten
// destination, bpf_bind's address and length rules, options set from the
// hook and read back, bpf_getsockopt's zeroing.

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "loader/cgroup_hooks.h"
#include "loader/object.h"
#include "tests/examples/sock_addr_hook_scenario.h"

namespace bpfemu::examples::sock_addr_hook {
namespace {

int Listen(uint16_t* port, bool any) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = Loopback(0);
  if (any) a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(fd, 16) != 0) {
    return -1;
  }
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

class SockAddrHookTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    const std::string path = "tests/examples/sock_addr_hook.bpf.o";
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("sock_addr_hook");
    ASSERT_TRUE(obj.ok()) << obj.status();
    obj_ = std::move(*obj);
    ASSERT_EQ(obj_->Load(), 0) << obj_->load_error();
    la_ = Listen(&ports_.a, false);
    lb_ = Listen(&ports_.b, true);
    ASSERT_GE(la_, 0);
    ASSERT_GE(lb_, 0);
  }
  void TearDown() override {
    close(la_);
    close(lb_);
  }
  EmuRun Run(const std::string& name) {
    for (const Case& c : Cases(ports_)) {
      if (c.name != name) continue;
      EmuRun r = {};
      EXPECT_EQ(EmuConnect(*obj_, c, ports_, &r), 0);
      return r;
    }
    ADD_FAILURE() << "no case " << name;
    return {};
  }
  std::unique_ptr<native::Object> obj_;
  Ports ports_ = {};
  int la_ = -1, lb_ = -1;
};

TEST_P(SockAddrHookTest, ContextAndVerdicts) {
  EmuRun r = Run("allowed");
  EXPECT_EQ(r.outcome.ret, 0);
  const sock_addr_seen& s = r.seen[0];
  EXPECT_EQ(s.user_family, uint32_t{AF_INET});
  EXPECT_EQ(s.user_ip4, htonl(INADDR_LOOPBACK));
  EXPECT_EQ(s.user_port, uint32_t{htons(ports_.a)});
  EXPECT_EQ(s.family, uint32_t{AF_INET});
  EXPECT_EQ(s.type, uint32_t{SOCK_STREAM});
  EXPECT_EQ(s.protocol, uint32_t{IPPROTO_TCP});
  EXPECT_EQ(r.observed.substr(0, 9), "connected");

  r = Run("denied with ECONNREFUSED");
  EXPECT_EQ(r.outcome.ret, -ECONNREFUSED);
  EXPECT_EQ(r.seen[1].retval_before, -ECONNREFUSED);
  EXPECT_EQ(r.observed.substr(0, 9), "errno 111");

  r = Run("denied, then cleared by the second");
  EXPECT_EQ(r.outcome.ret, 0);
  EXPECT_EQ(r.seen[1].retval_before, -EPERM);
}

TEST_P(SockAddrHookTest, RewriteMovesTheConnect) {
  const EmuRun r = Run("rewritten twice");
  struct sockaddr_in a;
  std::memcpy(&a, &r.outcome.addr, sizeof(a));
  EXPECT_EQ(ntohs(a.sin_port), ports_.b);
  EXPECT_EQ(a.sin_addr.s_addr, htonl(0x7f000003));
  EXPECT_EQ(r.seen[1].user_ip4, htonl(0x7f000002));  // the first's rewrite
  EXPECT_NE(r.observed.find("peer 127.0.0.3:" + std::to_string(ports_.b)),
            std::string::npos)
      << r.observed;
}

TEST_P(SockAddrHookTest, BindRules) {
  EXPECT_EQ(Run("bound to 127.0.0.3:0").seen[0].bind_ret, 0);
  EXPECT_NE(Run("bound to 127.0.0.3:0").observed.find("local 127.0.0.3 "),
            std::string::npos);
  EXPECT_EQ(Run("bind of 8 bytes").seen[0].bind_ret, -EINVAL);
  EXPECT_EQ(Run("bind of 1 byte").seen[0].bind_ret, -EINVAL);
  EXPECT_EQ(Run("bind of AF_UNIX").seen[0].bind_ret, -EAFNOSUPPORT);
  EXPECT_EQ(Run("bind of AF_UNSPEC").seen[0].bind_ret, -EAFNOSUPPORT);
  EXPECT_EQ(Run("bound to a foreign address").seen[0].bind_ret, -EADDRNOTAVAIL);
  EXPECT_EQ(Run("bound to a listener's port").seen[0].bind_ret, -EADDRINUSE);
}

TEST_P(SockAddrHookTest, OptionRules) {
  EmuRun r = Run("refused options");
  for (int i = 0; i < 4; ++i) {
    // TCP_SAVED_SYN passes bpf's checks; tcp's setsockopt has no such
    // option to set.
    EXPECT_EQ(r.seen[0].set_ret[i], i == 3 ? -ENOPROTOOPT : -EINVAL) << i;
    EXPECT_EQ(r.seen[0].get_ret[i], -EINVAL) << i;
    for (uint8_t b : r.seen[0].got[i]) EXPECT_EQ(b, 0) << i;
  }
  r = Run("congestion control");
  EXPECT_EQ(r.seen[0].set_ret[2], -524);     // "cdg": ENOTSUPP
  EXPECT_EQ(r.seen[0].set_ret[3], -EINVAL);  // optlen 1
  r = Run("IP options");
  EXPECT_EQ(r.seen[0].set_ret[0], 0);
  EXPECT_EQ(r.seen[0].got[0][0], 0x10);
  EXPECT_EQ(r.seen[0].set_ret[1], -EINVAL);  // SOL_IPV6 on an AF_INET socket
  EXPECT_EQ(r.seen[0].set_ret[2], -EINVAL);  // IP_TTL: not in the list
  r = Run("bpf-only TCP options, invalid");
  EXPECT_EQ(r.seen[0].set_ret[0], -EINVAL);
  EXPECT_EQ(r.seen[0].get_ret[0], -EINVAL);
}

// Outside a hook: no socket to act on.
TEST(SockAddrHookNoRun, HelpersWithoutAHook) {
  struct sockaddr_in a = Loopback(0);
  EXPECT_EQ(native::SockAddrBind(nullptr, &a, sizeof(a)), -EINVAL);
  int v = 5;
  EXPECT_EQ(native::SockAddrSetsockopt(nullptr, SOL_SOCKET, SO_PRIORITY, &v,
                                       sizeof(v)),
            -EINVAL);
  EXPECT_EQ(native::SockAddrGetsockopt(nullptr, SOL_SOCKET, SO_PRIORITY, &v,
                                       sizeof(v)),
            -EINVAL);
  EXPECT_EQ(v, 0);
}

INSTANTIATE_TEST_SUITE_P(Faces, SockAddrHookTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::sock_addr_hook
