// SPDX-License-Identifier: Apache-2.0
// tests/examples/fib.bpf.c on the kernel and on bpfemu, natively and as
// bytecode: in a thread's network namespace of its own, the kernel gets
// fib_cases.h's topology from `ip` (the commands inherit the thread's
// netns) and bpfemu the same in its emulated FIB; every case's return
// value and struct bpf_fib_lookup are the same. To re-record the kernel's
// answers for fib_test (as root):
//   bazel test //tests/examples:fib_compare_test
//     --test_env=BPFEMU_RECORD_FIB=$PWD/tests/examples/testdata/fib.expected

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/fib_cases.h"
#include "tests/examples/packets.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace fib;  // NOLINT: the shared cases

// Enters a new netns on this thread and builds the topology there.
std::string KernelTopology() {
  if (unshare(CLONE_NEWNET) != 0) return "unshare(CLONE_NEWNET) failed";
  auto sh = [](const std::string& cmd) {
    return std::system((cmd + " 2>&1").c_str()) == 0;
  };
  if (!sh("ip link set lo up")) return "ip link set lo up failed";
  std::ofstream("/proc/sys/net/ipv4/conf/all/forwarding") << "1\n";
  std::ofstream("/proc/sys/net/ipv6/conf/all/forwarding") << "1\n";
  for (const std::string& cmd : KernelSetup()) {
    if (!sh(cmd)) return cmd + " failed";
  }
  std::ofstream("/proc/sys/net/ipv4/conf/veth1/forwarding") << "0\n";
  std::ofstream("/proc/sys/net/ipv6/conf/veth1/forwarding") << "0\n";
  return "";
}

class FibCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(FibCompareTest, SameAsTheKernel) {
  if (std::system("command -v ip >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no `ip` (iproute2) to build the kernel's topology";
  }
  const std::string path = "tests/examples/fib.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("fib");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* tc = (*obj)->FindProgram("fib_tc");
  const native::Program* xdp = (*obj)->FindProgram("fib_xdp");
  ASSERT_NE(tc, nullptr);
  ASSERT_NE(xdp, nullptr);
  const int ktc = kernel->ProgFd("fib_tc"), kxdp = kernel->ProgFd("fib_xdp");
  const int kcmd = kernel->MapFd("cmd"), ncmd = (*obj)->MapFd("cmd");
  const int kout = kernel->MapFd("out"), nout = (*obj)->MapFd("out");
  ASSERT_TRUE(EmulatedSetup());
  const std::vector<uint8_t> packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  const char* record_path = std::getenv("BPFEMU_RECORD_FIB");
  std::string record;
  int compared = 0, differences = 0;
  std::string setup_error;
  std::thread t([&] {
    setup_error = KernelTopology();
    if (!setup_error.empty()) return;
    for (const Case& k : Cases()) {
      SCOPED_TRACE(k.name);
      const uint32_t zero = 0;
      ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &k.cmd, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(ncmd, &zero, &k.cmd, BPF_ANY), 0);
      const Out blank = {};
      ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
      LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                  .data_size_in = static_cast<uint32_t>(packet.size()));
      const int kerr = bpf_prog_test_run_opts(k.xdp ? kxdp : ktc, &opts);
      const native::PacketResult n =
          k.xdp ? xdp->RunXdp(packet) : tc->RunSkb(packet);
      EXPECT_EQ(kerr, n.err);
      EXPECT_EQ(opts.retval, n.retval);
      Out ko, no;
      ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
      ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
      const std::string kl = Format(k.name, ko), nl = Format(k.name, no);
      if (kl != nl) ++differences;
      EXPECT_EQ(kl, nl);
      record += kl + "\n";
      ++compared;
    }
  });
  t.join();
  ASSERT_EQ(setup_error, "");
  NetdevReset();
  FibReset();
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "fib", record)) << record_path;
  }
  std::printf("fib: %d cases compared with the kernel, %d differ\n", compared,
              differences);
  EXPECT_EQ(differences, 0);
  EXPECT_GE(compared, 112);
}

INSTANTIATE_TEST_SUITE_P(Faces, FibCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
