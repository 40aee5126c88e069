// SPDX-License-Identifier: Apache-2.0
// tests/examples/sock_ops_helpers.bpf.c attached to the kernel
// (BPF_CGROUP_SOCK_OPS on a fresh cgroup v2 child; a forked child in that
// cgroup listens, connects and accepts over loopback TCP, sends a byte and
// closes), and every callback the kernel made replayed on bpfemu through
// native::RunSockOps, natively and as bytecode: the same helper return
// values, options read back, flags, header after the stores, options
// loaded. The callback's inputs (op, arguments, state, flags, the TCP
// header and the SYN it saw) are the kernel's; the sockets behind the
// replayed callbacks are a loopback pair of this process (the listener for
// the listen callback, the accepted end for the listener's port, the
// connecting end otherwise), and the option room a header callback starts
// with, which no program can read, is given as 20 bytes for HDR_OPT_LEN
// and 8 (what HDR_OPT_LEN reserved) for WRITE_HDR_OPT.

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "emu/cgroup.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "testing/scoped_cgroup.h"
#include "tests/examples/sock_ops_helpers_cases.h"
#include "tests/examples/tcp_pair.h"

namespace bpfemu::examples {
namespace {

constexpr char kPath[] = "tests/examples/sock_ops_helpers.bpf.o";
constexpr uint32_t kMaxCbs = 64;

class SockOpsHelpersCompareTest : public KernelTest<> {};

TEST_F(SockOpsHelpersCompareTest, KernelCallbacksReplayedOnTheModel) {
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(kPath, &kernel), 0);
  const int kprog = kernel->ProgFd("ops");
  ASSERT_GE(kprog, 0);
  if (Cgroup2Mount().empty()) GTEST_SKIP() << "no cgroup v2 mount";
  {
    // Attached for the child's connection only: detached (and the cgroup
    // removed) before the records are read.
    ScopedCgroup cgroup("bpfemu-sockops");
    if (!cgroup.ok()) {
      GTEST_SKIP() << "no cgroup v2 child can be made: " << cgroup.why();
    }
    ASSERT_EQ(cgroup.Attach(kprog, BPF_CGROUP_SOCK_OPS, 0), 0);
    const pid_t pid = fork();
    if (pid == 0) {
      {
        std::ofstream procs(cgroup.procs());
        procs << getpid();
      }
      TcpPair p;
      if (!Connect(&p)) _exit(2);
      if (send(p.client, "x", 1, 0) != 1) _exit(3);
      char c;
      if (recv(p.server, &c, 1, 0) != 1) _exit(4);
      usleep(100000);
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    usleep(300000);  // the closes' segments
  }
  const uint32_t zero = 0;
  uint32_t count = 0;
  ASSERT_EQ(bpf_map_lookup_elem(kernel->MapFd("count"), &zero, &count), 0);
  std::vector<SockOpsRec> krecs;
  for (uint32_t i = 0; i < count && i < kMaxCbs; ++i) {
    SockOpsRec r;
    ASSERT_EQ(bpf_map_lookup_elem(kernel->MapFd("recs"), &i, &r), 0);
    krecs.push_back(r);
  }
  ASSERT_FALSE(krecs.empty());
  uint32_t listen_port = 0;
  std::string ops;
  for (const SockOpsRec& r : krecs) {
    if (r.op == BPF_SOCK_OPS_TCP_LISTEN_CB) listen_port = r.local_port;
    ops += " " + std::to_string(r.op) + (r.fullsock ? "" : "r");
  }
  std::printf("%u kernel callbacks (r: request socket):%s\n", count,
              ops.c_str());
  ASSERT_NE(listen_port, 0u);

  TcpPair emu;
  ASSERT_TRUE(Connect(&emu));
  int compared = 0;
  for (const bool bytecode : {false, true}) {
    SCOPED_TRACE(bytecode ? "bytecode" : "native");
    auto obj = bytecode ? native::Object::OpenBytecode(kPath)
                        : native::Object::Open("sock_ops_helpers");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0);
    const native::Program* prog = (*obj)->FindProgram("ops");
    ASSERT_NE(prog, nullptr);
    EXPECT_EQ(prog->type(), BPF_PROG_TYPE_SOCK_OPS);
    for (size_t i = 0; i < krecs.size(); ++i) {
      const SockOpsRec& k = krecs[i];
      SCOPED_TRACE("callback " + std::to_string(i) + " op " +
                   std::to_string(k.op));
      native::SockOpsInput in = InputOf(k);
      in.fd = k.op == BPF_SOCK_OPS_TCP_LISTEN_CB ? emu.listener
              : k.local_port == listen_port      ? emu.server
                                                 : emu.client;
      if (k.op == BPF_SOCK_OPS_HDR_OPT_LEN_CB) in.remaining_opt_len = 20;
      if (k.op == BPF_SOCK_OPS_WRITE_HDR_OPT_CB) in.remaining_opt_len = 8;
      const SockOpsRec e = RunCallback(**obj, *prog, in);
      EXPECT_EQ(ShowRec(e), ShowRec(k));
      ++compared;
    }
  }
  EXPECT_EQ(compared, static_cast<int>(2 * krecs.size()));
}

}  // namespace
}  // namespace bpfemu::examples
