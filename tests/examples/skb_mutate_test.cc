// SPDX-License-Identifier: Apache-2.0
// tests/examples/skb_mutate.bpf.c on bpfemu, natively and as bytecode,
// without root: every case of skb_mutate_cases.h against the kernel's
// answers recorded on 6.18 (tests/examples/testdata/skb_mutate.expected,
// written by skb_mutate_compare_test as root; the command is there). So an
// unprivileged `bazel test` checks the skb-mutating helpers (change_tail /
// _head, pull_data, change_type / _proto, adjust_room, vlan_push / _pop,
// set_hash*) against the kernel's results: the test-run error, the return
// value, data_out (length and hash), ctx_out and every `results` slot.

#include <linux/bpf.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "tests/examples/skb_mutate_cases.h"

namespace bpfemu::examples {
namespace {

using namespace skb_mutate;  // NOLINT: the shared cases

std::map<std::string, Answer> Recorded(std::string* kernel) {
  std::map<std::string, Answer> out;
  std::ifstream in("tests/examples/testdata/skb_mutate.expected");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# kernel ", 0) == 0) *kernel = line.substr(9);
    if (line.empty() || line[0] == '#') continue;
    Answer a;
    EXPECT_TRUE(Parse(line, &a)) << "bad record line: " << line;
    out[a.name] = a;
  }
  return out;
}

class SkbMutateTest : public ::testing::TestWithParam<bool> {};

TEST_P(SkbMutateTest, SameAsTheRecordedKernel) {
  // The record is 6.18's.
  SetTargetKernel(KernelVersion::k6_18);
  std::string kernel;
  const std::map<std::string, Answer> want = Recorded(&kernel);
  ASSERT_FALSE(want.empty())
      << "no tests/examples/testdata/skb_mutate.expected";
  EXPECT_EQ(kernel.rfind("6.18", 0), 0u) << "recorded on " << kernel;
  const std::string path = "tests/examples/skb_mutate.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("skb_mutate");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("mutate");
  ASSERT_NE(prog, nullptr);
  const int ncmd = (*obj)->MapFd("cmd"), nres = (*obj)->MapFd("results");
  int checked = 0;
  const std::vector<Case> cases = Cases();
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    auto it = want.find(k.name);
    ASSERT_NE(it, want.end()) << "case not recorded: re-record (see "
                                 "skb_mutate_compare_test.cc)";
    Cmd cmd;
    cmd.hash_comparable = k.hash_comparable;
    for (size_t i = 0; i < k.steps.size() && i < 4; ++i) {
      cmd.steps[i] = k.steps[i];
    }
    const uint32_t zero = 0;
    ASSERT_EQ(MapUpdateElem(ncmd, &zero, &cmd, BPF_ANY), 0);
    for (uint32_t slot = 0; slot < kSlots; ++slot) {
      const int64_t z = 0;
      ASSERT_EQ(MapUpdateElem(nres, &slot, &z, BPF_ANY), 0);
    }
    struct __sk_buff ctx = {};
    ctx.gso_size = k.gso_size;
    ctx.gso_segs = k.gso_segs;
    const native::PacketResult n =
        prog->RunSkb(k.packet, k.with_ctx ? &ctx : nullptr);
    Answer got;
    got.name = k.name;
    got.err = n.err;
    got.retval = n.retval;
    got.data_len = static_cast<uint32_t>(n.data_out.size());
    got.data_hash = Fnv1a(n.data_out);
    if (k.with_ctx && n.err == 0) {
      got.ctx_hex = Hex(n.ctx_out.data(), n.ctx_out.size());
    }
    for (uint32_t slot = 0; slot < kSlots; ++slot) {
      ASSERT_EQ(MapLookupElem(nres, &slot, &got.results[slot]), 0);
    }
    const Answer& w = it->second;
    EXPECT_EQ(got.err, w.err);
    EXPECT_EQ(got.retval, w.retval);
    EXPECT_EQ(got.data_len, w.data_len);
    EXPECT_EQ(got.data_hash, w.data_hash);
    EXPECT_EQ(got.ctx_hex, w.ctx_hex);
    for (int i = 0; i < kSlots; ++i) {
      EXPECT_EQ(got.results[i], w.results[i]) << "results[" << i << "]";
    }
    // The pinned limits agree with the record too.
    for (size_t i = 0; i < k.want.size(); ++i) {
      EXPECT_EQ(w.results[i], k.want[i]) << "recorded results[" << i << "]";
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(want.size()))
      << "the record has cases the test no longer runs";
  std::printf("skb_mutate: %d cases checked against the recorded kernel\n",
              checked);
}

INSTANTIATE_TEST_SUITE_P(Faces, SkbMutateTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
