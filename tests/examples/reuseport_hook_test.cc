// SPDX-License-Identifier: Apache-2.0
// tests/examples/reuseport_hook.bpf.c on bpfemu alone (no kernel, no root),
// natively and as bytecode: bpf_sk_select_reuseport's answers as the kernel
// gave them in reuseport_hook_compare_test (6.18) - a socket of the group
// selected, another group's -EBADFD, a TCP listener's -EPROTOTYPE, an
// empty slot's -ENOENT, flags ignored, the verdict deciding.

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/cgroup_hooks.h"
#include "loader/object.h"

namespace bpfemu::examples {
namespace {

struct Seen {
  uint32_t runs, len, eth_protocol, ip_protocol, bind_inany, key;
  int64_t ret, ret2;
};

int Udp(uint16_t* port, int type = SOCK_DGRAM) {
  const int fd = socket(AF_INET, type, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(*port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  if (type == SOCK_STREAM && listen(fd, 1) != 0) return -1;
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

class ReuseportHookTest : public ::testing::TestWithParam<bool> {};

TEST_P(ReuseportHookTest, SelectsFromTheArray) {
  const std::string path = "tests/examples/reuseport_hook.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("reuseport_hook");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("select_sock");
  ASSERT_NE(prog, nullptr);
  uint16_t port = 0, other = 0, tcp = 0;
  const int g0 = Udp(&port), g1 = Udp(&port), o = Udp(&other),
            t = Udp(&tcp, SOCK_STREAM);
  ASSERT_GE(g0, 0);
  ASSERT_GE(g1, 0);
  ASSERT_GE(o, 0);
  ASSERT_GE(t, 0);
  const int map = (*obj)->MapFd("socks"), seen = (*obj)->MapFd("seen");
  const int slots[4] = {g0, g1, o, t};
  for (uint32_t k = 0; k < 4; ++k) {
    const uint64_t v = static_cast<uint64_t>(slots[k]);
    ASSERT_EQ(MapUpdateElem(map, &k, &v, BPF_ANY), 0);
  }
  uint64_t cookie1 = 0;
  socklen_t clen = sizeof(cookie1);
  getsockopt(g1, SOL_SOCKET, SO_COOKIE, &cookie1, &clen);
  struct Want {
    uint32_t key, flags, verdict;
    int64_t ret;
    bool selected;
  };
  for (const Want& w :
       {Want{1, 0, 1, 0, true}, Want{1, 0xdead, 1, 0, true},
        Want{1, 0, 0, 0, false}, Want{2, 0, 1, -EBADFD, false},
        Want{3, 0, 1, -EPROTOTYPE, false}, Want{6, 0, 1, -ENOENT, false}}) {
    SCOPED_TRACE(w.key);
    uint32_t req[6] = {0, 0, w.key, ~0u, w.flags, w.verdict};
    native::ReuseportAccess access;
    access.fd = g0;
    access.data.assign(reinterpret_cast<uint8_t*>(req),
                       reinterpret_cast<uint8_t*>(req) + sizeof(req));
    access.eth_protocol = htons(ETH_P_IP);
    const native::ReuseportOutcome out =
        native::RunReuseportHook(*prog, access);
    EXPECT_EQ(out.verdict, w.verdict);
    EXPECT_EQ(out.selected_cookie, w.selected ? cookie1 : 0);
    Seen s = {};
    const uint32_t zero = 0;
    ASSERT_EQ(MapLookupElem(seen, &zero, &s), 0);
    EXPECT_EQ(s.ret, w.ret);
    EXPECT_EQ(s.len, 24u);
    EXPECT_EQ(s.ip_protocol, uint32_t{IPPROTO_UDP});
    EXPECT_EQ(s.bind_inany, 0u);
  }
  for (int fd : slots) close(fd);
}

// Outside a hook there is nothing to select for.
TEST(ReuseportHookNoRun, HelperWithoutAHook) {
  uint32_t key = 0;
  EXPECT_EQ(native::SkSelectReuseport(nullptr, nullptr, &key, 0), -EINVAL);
}

INSTANTIATE_TEST_SUITE_P(Faces, ReuseportHookTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
