// SPDX-License-Identifier: Apache-2.0
// tests/examples/skb_misc.bpf.c on the kernel (BPF_PROG_TEST_RUN of its tc
// and XDP programs) and on bpfemu, natively and as bytecode:
// bpf_csum_update and bpf_csum_level (the checksum state through level
// changes and bpf_skb_adjust_room), bpf_skb_ecn_set_ce (IPv4, IPv6, a
// VLAN-tagged packet, ARP; every ECN codepoint), bpf_skb_set_tstamp (every
// clock id, zero and non-zero times), bpf_skb_load_bytes_relative (both
// headers, offsets around the packet's end), the run's socket and task
// (bpf_get_socket_cookie by property, _uid, the classids, the route realm)
// and bpf_xdp_get_buff_len with and without fragments: the same test run
// error, return value, step returns, time stamp, bytes read and packet.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/recorded.h"
#include "tests/examples/skb_misc_cases.h"

namespace bpfemu::examples {
namespace {

using namespace skb_misc;  // NOLINT: the shared cases

class SkbMiscCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(SkbMiscCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/skb_misc.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("skb_misc");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* tc = (*obj)->FindProgram("tc_skb_misc");
  const native::Program* xdp = (*obj)->FindProgram("xdp_buff_len");
  ASSERT_NE(tc, nullptr);
  ASSERT_NE(xdp, nullptr);
  const int kcmd = kernel->MapFd("cmd"), ncmd = (*obj)->MapFd("cmd");
  const int kout = kernel->MapFd("out"), nout = (*obj)->MapFd("out");
  // Re-recording the kernel's answers for skb_misc_test (as root, on the
  // kernel they describe; one command line):
  //   bazel test //tests/examples:skb_misc_compare_test
  //     --test_env=BPFEMU_RECORD_SKB_MISC=$PWD/tests/examples/testdata/skb_misc.expected
  const char* record_path = std::getenv("BPFEMU_RECORD_SKB_MISC");
  std::string record;
  int compared = 0;
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    const uint32_t zero = 0;
    const Cmd cmd = CmdOf(k);
    ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &cmd, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(ncmd, &zero, &cmd, BPF_ANY), 0);
    Out blank = {};
    for (int64_t& r : blank.ret) r = -9999;
    ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
    const Bytes packet = k.xdp_len != 0 ? Bytes(k.xdp_len, 0x5a) : Frame(k);
    Bytes kdata(packet.size() + 64);
    struct __sk_buff ctx = {};
    ctx.tstamp = k.ctx_tstamp;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                .data_out = kdata.data(),
                .data_size_in = static_cast<uint32_t>(packet.size()),
                .data_size_out = static_cast<uint32_t>(kdata.size()));
    if (k.ctx_tstamp != 0) {
      opts.ctx_in = &ctx;
      opts.ctx_size_in = sizeof(ctx);
    }
    const int kerr = bpf_prog_test_run_opts(
        kernel->ProgFd(k.xdp_len != 0 ? "xdp_buff_len" : "tc_skb_misc"), &opts);
    kdata.resize(kerr == 0 ? opts.data_size_out : 0);
    native::PacketResult n =
        k.xdp_len != 0 ? xdp->RunXdp(packet)
                       : tc->RunSkb(packet, k.ctx_tstamp != 0 ? &ctx : nullptr);
    if (n.err != 0) n.data_out.clear();
    Out ko, no;
    ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
    ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
    const std::string kline =
        Format(k.name, kerr, opts.retval, ko, kdata, NetnsCookieNow());
    EXPECT_EQ(Format(k.name, n.err, n.retval, no, n.data_out, NetnsCookieNow()),
              kline);
    record += kline + "\n";
    ++compared;
  }
  std::printf("skb_misc: %d cases compared with the kernel\n", compared);
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "skb_misc", record)) << record_path;
  }
  EXPECT_GE(compared, 75);
}

INSTANTIATE_TEST_SUITE_P(Faces, SkbMiscCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
