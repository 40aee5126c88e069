// SPDX-License-Identifier: Apache-2.0
// tests/examples/tunnel.bpf.c on the kernel (BPF_PROG_TEST_RUN of a tc
// program) and on bpfemu, natively and as bytecode: bpf_skb_set_tunnel_key,
// _get_tunnel_key, _set_tunnel_opt and _get_tunnel_opt in sequences within
// one run (the test run's skb starts without a tunnel dst; what set
// attaches, a later get in the same run reads), with every flag, the older
// struct bpf_tunnel_key sizes, IPv4 and IPv6 keys, labels, and option
// sizes up to IP_TUNNEL_OPTS_MAX: the same return values and the same
// bytes written by each get.

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"
#include "tests/examples/recorded.h"
#include "tests/examples/tunnel_cases.h"

namespace bpfemu::examples {
namespace {

using namespace tunnel;  // NOLINT: the shared cases

class TunnelCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(TunnelCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/tunnel.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("tunnel");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("tunnel");
  ASSERT_NE(prog, nullptr);
  const int kprog = kernel->ProgFd("tunnel");
  const int kcmd = kernel->MapFd("cmd"), ncmd = (*obj)->MapFd("cmd");
  const int kout = kernel->MapFd("out"), nout = (*obj)->MapFd("out");
  const Bytes packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  int compared = 0;
  // Re-recording the kernel's answers for tunnel_test (as root, on the
  // kernel they describe; one command line):
  //   bazel test //tests/examples:tunnel_compare_test
  //     --test_env=BPFEMU_RECORD_TUNNEL=$PWD/tests/examples/testdata/tunnel.expected
  const char* record_path = std::getenv("BPFEMU_RECORD_TUNNEL");
  std::string record;
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    Cmd cmd = {};
    for (size_t i = 0; i < k.steps.size() && i < 4; ++i) {
      cmd.steps[i] = k.steps[i];
    }
    cmd.key = k.key;
    for (size_t i = 0; i < sizeof(cmd.opt); ++i) {
      cmd.opt[i] = static_cast<uint8_t>(k.opt_fill * (i * 7 + 3));
    }
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &cmd, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(ncmd, &zero, &cmd, BPF_ANY), 0);
    Out blank = {};
    ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                .data_size_in = static_cast<uint32_t>(packet.size()));
    const int kerr = bpf_prog_test_run_opts(kprog, &opts);
    const native::PacketResult n = prog->RunSkb(packet);
    EXPECT_EQ(kerr, n.err);
    EXPECT_EQ(opts.retval, n.retval);
    Out ko, no;
    ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
    ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(ko.ret[i], no.ret[i]) << "step " << i;
      if (static_cast<size_t>(i) < k.want.size()) {
        EXPECT_EQ(ko.ret[i], k.want[i]) << "the kernel's step " << i;
      }
      const auto* kb = reinterpret_cast<const uint8_t*>(&ko.key[i]);
      const auto* nb = reinterpret_cast<const uint8_t*>(&no.key[i]);
      EXPECT_EQ(Bytes(kb, kb + kFull), Bytes(nb, nb + kFull)) << "key " << i;
      EXPECT_EQ(Bytes(ko.opt[i], ko.opt[i] + 32),
                Bytes(no.opt[i], no.opt[i] + 32))
          << "opt " << i;
    }
    record += Format(k.name, kerr, opts.retval, ko) + "\n";
    ++compared;
  }
  std::printf("tunnel: %d cases compared with the kernel\n", compared);
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "tunnel", record)) << record_path;
  }
  EXPECT_GE(compared, 50);
}

INSTANTIATE_TEST_SUITE_P(Faces, TunnelCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
