// SPDX-License-Identifier: Apache-2.0
// tests/examples/skb_mutate.bpf.c on the kernel (BPF_PROG_TEST_RUN of a tc
// program) and on bpfemu, natively and as bytecode: for each case (the
// steps in the `cmd` map, a packet, maybe a context) the same test-run
// error, return value, data_out (its new length included), ctx_out, and
// every helper's return value and the context fields the program records.
// The cases reach the limits: BPF_SKB_MAX_LEN (kSkbMaxLen, measured here as
// the longest packet bpf_skb_change_tail / _change_head accept), the
// minimum length (the network header), flags, the packet types, VLAN tags
// in and outside the packet, the set hash.

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
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
#include "tests/examples/skb_mutate_cases.h"

namespace bpfemu::examples {
namespace {

using namespace skb_mutate;  // NOLINT: the shared cases

void SetCmd(int kfd, int nfd, const Case& k) {
  Cmd cmd;
  cmd.hash_comparable = k.hash_comparable;
  for (size_t i = 0; i < k.steps.size() && i < 4; ++i)
    cmd.steps[i] = k.steps[i];
  const uint32_t zero = 0;
  ASSERT_EQ(bpf_map_update_elem(kfd, &zero, &cmd, BPF_ANY), 0);
  ASSERT_EQ(MapUpdateElem(nfd, &zero, &cmd, BPF_ANY), 0);
}

class SkbMutateCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(SkbMutateCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/skb_mutate.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("skb_mutate");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("mutate");
  ASSERT_NE(prog, nullptr);
  const int kprog = kernel->ProgFd("mutate");
  const int kcmd = kernel->MapFd("cmd"), ncmd = (*obj)->MapFd("cmd");
  const int kres = kernel->MapFd("results"), nres = (*obj)->MapFd("results");
  int compared = 0;
  // Re-recording the kernel's answers for skb_mutate_test (as root, on the
  // kernel they describe):
  //   bazel test //tests/examples:skb_mutate_compare_test
  //     --test_env=BPFEMU_RECORD_SKB_MUTATE=$PWD/tests/examples/testdata/skb_mutate.expected
  // (one command line).
  const char* record_path = std::getenv("BPFEMU_RECORD_SKB_MUTATE");
  std::string record;
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    SetCmd(kcmd, ncmd, k);
    for (uint32_t slot = 0; slot < kSlots; ++slot) {
      const int64_t zero = 0;
      ASSERT_EQ(bpf_map_update_elem(kres, &slot, &zero, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(nres, &slot, &zero, BPF_ANY), 0);
    }
    struct __sk_buff ctx = {};
    ctx.gso_size = k.gso_size;
    ctx.gso_segs = k.gso_segs;
    struct __sk_buff kctx_out = {};
    Bytes kout(2 * kMax);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = k.packet.data(),
                .data_out = kout.data(),
                .data_size_in = static_cast<uint32_t>(k.packet.size()),
                .data_size_out = static_cast<uint32_t>(kout.size()));
    if (k.with_ctx) {
      opts.ctx_in = &ctx;
      opts.ctx_size_in = sizeof(ctx);
      opts.ctx_out = &kctx_out;
      opts.ctx_size_out = sizeof(kctx_out);
    }
    const int kerr = bpf_prog_test_run_opts(kprog, &opts);
    kout.resize(kerr == 0 ? opts.data_size_out : 0);
    const native::PacketResult n =
        prog->RunSkb(k.packet, k.with_ctx ? &ctx : nullptr);
    EXPECT_EQ(kerr, n.err);
    EXPECT_EQ(opts.retval, n.retval);
    EXPECT_EQ(kout.size(), n.data_out.size());
    EXPECT_TRUE(kout == n.data_out);
    if (k.with_ctx && kerr == 0) {
      ASSERT_EQ(n.ctx_out.size(), sizeof(kctx_out));
      // Word by word, for a message naming the field's offset.
      for (size_t off = 0; off < sizeof(kctx_out); off += 4) {
        uint32_t kw, nw;
        std::memcpy(&kw, reinterpret_cast<const uint8_t*>(&kctx_out) + off, 4);
        std::memcpy(&nw, n.ctx_out.data() + off, 4);
        EXPECT_EQ(kw, nw) << "ctx_out at offset " << off;
      }
    }
    Answer answer;
    answer.name = k.name;
    answer.err = kerr;
    answer.retval = opts.retval;
    answer.data_len = static_cast<uint32_t>(kout.size());
    answer.data_hash = Fnv1a(kout);
    if (k.with_ctx && kerr == 0) {
      answer.ctx_hex =
          Hex(reinterpret_cast<const uint8_t*>(&kctx_out), sizeof(kctx_out));
    }
    for (uint32_t slot = 0; slot < kSlots; ++slot) {
      int64_t kv = 0, nv = 0;
      ASSERT_EQ(bpf_map_lookup_elem(kres, &slot, &kv), 0);
      answer.results[slot] = kv;
      ASSERT_EQ(MapLookupElem(nres, &slot, &nv), 0);
      EXPECT_EQ(kv, nv) << "results[" << slot << "]";
      if (slot < k.want.size()) {
        EXPECT_EQ(kv, k.want[slot]) << "the kernel's results[" << slot << "]";
      }
    }
    record += Format(answer) + "\n";
    ++compared;
  }
  std::printf("skb_mutate: %d cases compared with the kernel\n", compared);
  if (record_path != nullptr && !GetParam()) {
    ASSERT_TRUE(WriteRecorded(record_path, "skb_mutate", record))
        << record_path;
    std::printf("skb_mutate: recorded %d cases in %s\n", compared, record_path);
  }
  EXPECT_GE(compared, 60);
}

INSTANTIATE_TEST_SUITE_P(Faces, SkbMutateCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
