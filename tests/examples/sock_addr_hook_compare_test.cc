// SPDX-License-Identifier: Apache-2.0
// tests/examples/sock_addr_hook.bpf.c on the kernel and on bpfemu, natively
// and as bytecode (issue 24). CGROUP_SOCK_ADDR programs have no kernel
// test run, so the kernel side attaches them: both connect4 programs to a
// cgroup made below the cgroup2 root (BPF_F_ALLOW_MULTI, in that order);
// a forked child moves into the cgroup, makes a TCP socket there (a
// socket's hooks are its cgroup's) and connects it to listener A on
// 127.0.0.1. bpfemu runs the programs through RunSockAddrHook
// (loader/cgroup_hooks.h) on a socket of this process, then connects it to
// the address they leave. Compared, per case: what each program recorded
// (the context, bpf_bind's, bpf_setsockopt's and bpf_getsockopt's returns
// and the values read back, retval before and after) and what userspace
// sees of the socket afterwards (the connect's result, the local address,
// the peer, the socket options), sock_addr_hook_scenario.h.

#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/cgroup.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/in_child.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "testing/scoped_cgroup.h"
#include "tests/examples/sock_addr_hook_scenario.h"

namespace bpfemu::examples::sock_addr_hook {
namespace {

// The listeners, closed however the test ends.
struct Socks {
  std::vector<int> fds;
  ~Socks() {
    for (int s : fds) close(s);
  }
};

int Listener(const char* ip, uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = Loopback(0);
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(fd, 128) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// The child: into the cgroup, a socket there, the connect; what it saw
// goes back through the pipe.
void ChildRun(const Case& c, const Ports& p, const char* procs, int out_fd) {
  std::string out;
  const int pfd = open(procs, O_WRONLY);
  if (pfd < 0 || write(pfd, "0", 1) != 1) {
    out = "child: cannot join the cgroup";
  } else {
    close(pfd);
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const struct sockaddr_in dest = Loopback(p.a);
    const int ret =
        connect(fd, reinterpret_cast<const sockaddr*>(&dest), sizeof(dest));
    const int err = ret == 0 ? 0 : errno;
    out = Observe(fd, ret, err, c.local_port);
    CloseReset(fd);
  }
  (void)!write(out_fd, out.data(), out.size());
  _exit(0);
}

class SockAddrHookCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(SockAddrHookCompareTest, SameConnectsAsTheKernel) {
  ScopedCgroup cgroup("bpfemu_sock_addr");
  if (Cgroup2Mount().empty()) GTEST_SKIP() << cgroup.why();
  ASSERT_TRUE(cgroup.ok()) << cgroup.why();
  const std::string& procs = cgroup.procs();

  Ports ports = {};
  const int la = Listener("127.0.0.1", &ports.a);
  const int lb = Listener("0.0.0.0", &ports.b);
  ASSERT_GE(la, 0);
  ASSERT_GE(lb, 0);
  Socks socks;
  socks.fds = {la, lb};
  {
    const int tmp = Listener("127.0.0.1", &ports.free);
    ASSERT_GE(tmp, 0);
    close(tmp);
  }

  const std::string path = "tests/examples/sock_addr_hook.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  for (const char* n : {"connect_first", "connect_second"}) {
    const int fd = kernel->ProgFd(n);
    ASSERT_GE(fd, 0) << n;
    ASSERT_EQ(cgroup.Attach(fd, BPF_CGROUP_INET4_CONNECT, BPF_F_ALLOW_MULTI), 0)
        << n;
  }
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("sock_addr_hook");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const int kcfg = kernel->MapFd("cfg"), kseen = kernel->MapFd("seen");
  int compared = 0;
  for (const Case& c : Cases(ports)) {
    SCOPED_TRACE(c.name);
    for (uint32_t k = 0; k < 2; ++k) {
      const sock_addr_seen blank = {};
      ASSERT_EQ(bpf_map_update_elem(kcfg, &k, &c.cfg[k], BPF_ANY), 0);
      ASSERT_EQ(bpf_map_update_elem(kseen, &k, &blank, BPF_ANY), 0);
    }
    const std::string kobserved =
        InChild([&](int fd) { ChildRun(c, ports, procs.c_str(), fd); });
    sock_addr_seen ks[2] = {};
    for (uint32_t k = 0; k < 2; ++k) {
      ASSERT_EQ(bpf_map_lookup_elem(kseen, &k, &ks[k]), 0);
    }
    EmuRun e = {};
    ASSERT_EQ(EmuConnect(**obj, c, ports, &e), 0);  // NOLINT
    for (int k = 0; k < 2; ++k) {
      EXPECT_EQ(Dump(e.seen[k]), Dump(ks[k])) << "program " << k;
    }
    EXPECT_EQ(e.observed, kobserved);
    if (!GetParam()) {
      std::printf("%s: bind %lld, %s\n", c.name.c_str(),
                  static_cast<long long>(ks[0].bind_ret), kobserved.c_str());
    }
    ++compared;
  }
  std::printf("sock_addr_hook (%s): %d connects compared\n",
              GetParam() ? "bytecode" : "native", compared);
}

INSTANTIATE_TEST_SUITE_P(Faces, SockAddrHookCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::sock_addr_hook
