// SPDX-License-Identifier: Apache-2.0
// tests/examples/reuseport_hook.bpf.c on the kernel and on bpfemu, natively
// and as bytecode (issue 24). SK_REUSEPORT programs have no kernel test
// run: the kernel side attaches the program to a group of three UDP
// sockets on 127.0.0.1 (SO_ATTACH_REUSEPORT_EBPF) and sends it datagrams;
// bpfemu runs it through RunReuseportHook (loader/cgroup_hooks.h) on the
// same datagram. The REUSEPORT_SOCKARRAY (the kernel's and bpfemu's) holds
// the group's sockets, a UDP socket of another group, a TCP listener, an
// IPv6 UDP socket, an empty slot and a closed socket's. Compared, per
// datagram: what the program recorded (the context, both
// bpf_sk_select_reuseport returns) and where the datagram went: the
// selected socket, dropped, or (passed without a selection) one of the
// group by the kernel's keyed hash, which is compared as "by hash".

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/cgroup_hooks.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

struct Seen {
  uint32_t runs, len, eth_protocol, ip_protocol, bind_inany, key;
  int64_t ret, ret2;
};

struct Request {
  uint8_t udp[8];
  uint32_t key, key2, flags, verdict;
};

struct Case {
  const char* name;
  uint32_t key, key2, flags, verdict;
};

const Case kCases[] = {
    {"slot 1", 1, ~0u, 0, 1},
    {"slot 2", 2, ~0u, 0, 1},
    {"slot 0, flags ignored", 0, ~0u, 0xdead, 1},
    {"slot 1, dropped", 1, ~0u, 0, 0},
    {"another group", 3, ~0u, 0, 1},
    {"a TCP listener", 4, ~0u, 0, 1},
    {"an IPv6 socket", 5, ~0u, 0, 1},
    {"an empty slot", 6, ~0u, 0, 1},
    {"a closed socket", 7, ~0u, 0, 1},
    {"past the end", 100, ~0u, 0, 1},
    {"selected, then a failure", 1, 3, 0, 1},
    {"a failure, then selected", 3, 2, 0, 1},
    {"selected twice", 0, 2, 0, 1},
    {"no selection, dropped", 6, ~0u, 0, 0},
};

int Bound(int family, int type, const char* ip, uint16_t* port) {
  const int fd = socket(family, type, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  struct sockaddr_storage ss = {};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(*port);
    inet_pton(AF_INET, ip, &a->sin_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(*port);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
    len = sizeof(*a);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      (type == SOCK_STREAM && listen(fd, 4) != 0)) {
    close(fd);
    return -1;
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port = ntohs(family == AF_INET
                    ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                    : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

uint64_t Cookie(int fd) {
  uint64_t c = 0;
  socklen_t len = sizeof(c);
  getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
  return c;
}

std::string Dump(const Seen& s) {
  return absl::StrCat("runs ", s.runs, " len ", s.len, " eth ",
                      ntohs(static_cast<uint16_t>(s.eth_protocol)), " ip ",
                      s.ip_protocol, " inany ", s.bind_inany, " key ", s.key,
                      " ret ", s.ret, " ret2 ", s.ret2);
}

class ReuseportHookCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(ReuseportHookCompareTest, SameSelectionsAsTheKernel) {
  // The group (slots 0-2), another group, a TCP listener, an IPv6 socket.
  uint16_t port = 0, other = 0, tcp = 0, v6 = 0, gone = 0;
  std::vector<int> group;
  for (int i = 0; i < 3; ++i) {
    const int fd = Bound(AF_INET, SOCK_DGRAM, "127.0.0.1", &port);
    ASSERT_GE(fd, 0) << strerror(errno);
    group.push_back(fd);
  }
  const int ofd = Bound(AF_INET, SOCK_DGRAM, "127.0.0.1", &other);
  const int tfd = Bound(AF_INET, SOCK_STREAM, "127.0.0.1", &tcp);
  const int vfd = Bound(AF_INET6, SOCK_DGRAM, "::1", &v6);
  const int cfd = Bound(AF_INET, SOCK_DGRAM, "127.0.0.1", &gone);
  ASSERT_GE(ofd, 0);
  ASSERT_GE(tfd, 0);
  ASSERT_GE(cfd, 0);
  if (vfd < 0) GTEST_SKIP() << "no IPv6 loopback (::1)";
  const int slots[8] = {group[0], group[1], group[2], ofd, tfd, vfd, -1, cfd};

  const std::string path = "tests/examples/reuseport_hook.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("reuseport_hook");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("select_sock");
  ASSERT_NE(prog, nullptr);
  const int kmap = kernel->MapFd("socks"), nmap = (*obj)->MapFd("socks");
  for (uint32_t k = 0; k < 8; ++k) {
    if (slots[k] < 0) continue;
    const uint64_t v = static_cast<uint64_t>(slots[k]);
    ASSERT_EQ(bpf_map_update_elem(kmap, &k, &v, BPF_ANY), 0) << k;
    ASSERT_EQ(MapUpdateElem(nmap, &k, &v, BPF_ANY), 0) << k;
  }
  close(cfd);  // its slot empties on both sides
  const int kprog = kernel->ProgFd("select_sock");
  ASSERT_EQ(setsockopt(group[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &kprog,
                       sizeof(kprog)),
            0)
      << strerror(errno);
  const int sender = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in dest = {};
  dest.sin_family = AF_INET;
  dest.sin_port = htons(port);
  dest.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int kseen = kernel->MapFd("seen"), nseen = (*obj)->MapFd("seen");
  const uint32_t zero = 0;
  int compared = 0;
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const Seen blank = {};
    ASSERT_EQ(bpf_map_update_elem(kseen, &zero, &blank, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(nseen, &zero, &blank, BPF_ANY), 0);
    Request r = {};
    r.key = c.key;
    r.key2 = c.key2;
    r.flags = c.flags;
    r.verdict = c.verdict;
    // The kernel: where the datagram arrives.
    ASSERT_EQ(sendto(sender, &r.key, sizeof(r) - sizeof(r.udp), 0,
                     reinterpret_cast<sockaddr*>(&dest), sizeof(dest)),
              static_cast<ssize_t>(sizeof(r) - sizeof(r.udp)));
    struct pollfd pfds[3];
    for (int i = 0; i < 3; ++i) pfds[i] = {group[i], POLLIN, 0};
    poll(pfds, 3, c.verdict ? 1000 : 100);
    std::string kwhere = "dropped";
    for (int i = 0; i < 3; ++i) {
      char buf[64];
      if (recv(group[i], buf, sizeof(buf), MSG_DONTWAIT) > 0) {
        kwhere = absl::StrCat("socket ", i);
      }
    }
    Seen ks = {};
    ASSERT_EQ(bpf_map_lookup_elem(kseen, &zero, &ks), 0);
    // bpfemu: the same datagram behind a UDP header.
    struct sockaddr_in from = {};
    socklen_t flen = sizeof(from);
    getsockname(sender, reinterpret_cast<sockaddr*>(&from), &flen);
    std::memcpy(r.udp, &from.sin_port, 2);
    std::memcpy(r.udp + 2, &dest.sin_port, 2);
    const uint16_t ulen = htons(sizeof(r));
    std::memcpy(r.udp + 4, &ulen, 2);
    native::ReuseportAccess access;
    access.fd = group[0];
    access.data.assign(reinterpret_cast<uint8_t*>(&r),
                       reinterpret_cast<uint8_t*>(&r) + sizeof(r));
    access.eth_protocol = htons(ETH_P_IP);
    const native::ReuseportOutcome o = native::RunReuseportHook(*prog, access);
    std::string nwhere = "dropped";
    if (o.verdict == SK_PASS) {
      nwhere = "by hash";
      for (int i = 0; i < 3; ++i) {
        if (o.selected_cookie == Cookie(group[i])) {
          nwhere = absl::StrCat("socket ", i);
        }
      }
      // The kernel's hash picks a socket of the group.
      if (nwhere == "by hash" && kwhere != "dropped") kwhere = "by hash";
    }
    Seen ns = {};
    ASSERT_EQ(MapLookupElem(nseen, &zero, &ns), 0);
    EXPECT_EQ(Dump(ns), Dump(ks));
    EXPECT_EQ(nwhere, kwhere);
    if (!GetParam())
      std::printf("%s: %s, %s\n", c.name, kwhere.c_str(), Dump(ks).c_str());
    ++compared;
  }
  std::printf("reuseport_hook (%s): %d datagrams compared\n",
              GetParam() ? "bytecode" : "native", compared);
  close(sender);
  for (int fd : {group[0], group[1], group[2], ofd, tfd, vfd}) close(fd);
}

INSTANTIATE_TEST_SUITE_P(Faces, ReuseportHookCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
