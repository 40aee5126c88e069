// SPDX-License-Identifier: Apache-2.0
// tests/examples/sk_counter.bpf.c on the kernel (BPF_PROG_TEST_RUN of a tc
// program, whose skb->sk is the run's own socket) and on bpfemu, natively
// and as bytecode: the same return values, and the storage of the run's
// socket gone after each run.

#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

class SkCounterCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(SkCounterCompareTest, SameAnswersAsTheKernel) {
  const std::string path = "tests/examples/sk_counter.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("sk_counter");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("count_sk");
  ASSERT_NE(prog, nullptr);
  for (size_t len : {60u, 128u, 1000u}) {
    SCOPED_TRACE(len);
    const std::vector<uint8_t> pkt =
        Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, len);
    const KernelObject::Result k =
        KernelObject::RunPacket(kernel->ProgFd("count_sk"), pkt);
    const native::PacketResult n = prog->RunSkb(pkt);
    EXPECT_EQ(k.err, n.err);
    EXPECT_EQ(k.retval, n.retval);
    EXPECT_EQ(n.retval, 100 + pkt.size());
  }
  // Storage left on a run's socket goes with it: every run counts from 0.
  const native::Program* only = (*obj)->FindProgram("count_only");
  ASSERT_NE(only, nullptr);
  const std::vector<uint8_t> pkt =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  for (int run = 0; run < 3; ++run) {
    const KernelObject::Result k =
        KernelObject::RunPacket(kernel->ProgFd("count_only"), pkt);
    const native::PacketResult n = only->RunSkb(pkt);
    EXPECT_EQ(k.retval, n.retval);
    EXPECT_EQ(n.retval, 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, SkCounterCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
