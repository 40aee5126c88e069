// SPDX-License-Identifier: Apache-2.0
// tests/examples/map_iter.bpf.c on bpfemu without root, as bytecode,
// against the kernel's answers recorded on 6.18 (testdata/map_iter.expected;
// map_iter_compare_test.cc checks the same answers against the running
// kernel and re-records them).

#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "emu/bpf_iter.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "tests/examples/map_iter_cases.h"
#include "tests/examples/map_iter_emu.h"

namespace bpfemu::examples {
namespace {

TEST(MapIterTest, RecordedAnswers) {
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  std::ifstream in("tests/examples/testdata/map_iter.expected");
  std::vector<std::string> want;
  for (std::string l; std::getline(in, l);) want.push_back(l);
  ASSERT_FALSE(want.empty()) << "no testdata/map_iter.expected";
  EXPECT_EQ(RunMapIter(MapIterEmuApi()), want);
}

// What bpfemu does where the kernel's verifier would refuse the program at
// load (docs/semantics.md, "BPF iterators"): the run stops at the bad
// access and the output ends there, nothing crashes, and the next
// iterator runs again. Hand-written programs over a map of this test.
class MapIterRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
    }
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_HASH;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 4;
    map_ = MapCreate(a);
    ASSERT_GE(map_, 0);
  }
  void TearDown() override {
    if (map_ >= 0) (void)CloseFd(map_);
  }
  static uint32_t FuncId(const char* name) {
    return MapIterEmuApi().func_id(name);
  }
  // The program's text over every map, or "load <errno>" and the like.
  static std::string Run(const std::vector<bpf_insn>& insns) {
    native::ProgLoadFlags flags;
    flags.attach_btf_id = FuncId("bpf_iter_bpf_map");
    const int prog = native::ProgLoadBytecode(
        BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, "t",
        reinterpret_cast<const interp::RawInsn*>(insns.data()),
        static_cast<uint32_t>(insns.size()), "GPL", flags);
    if (prog < 0) return "load " + std::to_string(prog);
    const int link = IterLinkCreate(prog, BPF_TRACE_ITER, 0, 0, nullptr, 0);
    (void)CloseFd(prog);  // the link holds the program
    if (link < 0) return "link " + std::to_string(link);
    const int it = IterCreate(link, 0);
    (void)CloseFd(link);  // the iterator's text is made
    if (it < 0) return "iter " + std::to_string(it);
    std::string text = ReadAll(it);
    (void)CloseFd(it);
    return text;
  }
  int map_ = -1;
};

// r1 = ctx->meta->seq; r2 = &'x' on the stack; r3 = 1.
const std::vector<bpf_insn> kSeqWriteX = {
    {BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0},
    {BPF_LDX | BPF_MEM | BPF_DW, 1, 6, 0, 0},
    {BPF_LDX | BPF_MEM | BPF_DW, 1, 1, 0, 0},
    {BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 'x'},
    {BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0},
    {BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8},
    {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 1},
    {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_seq_write}};
const bpf_insn kRet0[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                          {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};

std::vector<bpf_insn> Then(std::vector<bpf_insn> a,
                           std::initializer_list<bpf_insn> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST_F(MapIterRunTest, OneCharacterPerMapAndOneAtTheEnd) {
  const std::string text = Run(Then(kSeqWriteX, {kRet0[0], kRet0[1]}));
  // This test's map at least, and the NULL call.
  EXPECT_GE(text.size(), 2u);
  EXPECT_EQ(text, std::string(text.size(), 'x'));
}

TEST_F(MapIterRunTest, NonZeroReturnEndsTheText) {
  // The kernel's read() answers EAGAIN at the first object; bpfemu ends.
  EXPECT_EQ(Run(Then(kSeqWriteX,
                     {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1}, kRet0[1]})),
            "");
}

TEST_F(MapIterRunTest, SeqArgumentMustBeTheSeqFile) {
  // bpf_seq_write(ctx, ...): R1 is not the seq_file.
  std::vector<bpf_insn> p = kSeqWriteX;
  p[2] = {BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0};
  EXPECT_EQ(Run(Then(p, {kRet0[0], kRet0[1]})), "");
  // The next iterator runs (the fault left no state behind).
  EXPECT_NE(Run(Then(kSeqWriteX, {kRet0[0], kRet0[1]})), "");
}

TEST_F(MapIterRunTest, StandInIsReadOnly) {
  // r1 = ctx->map; if r1 == 0 goto out; *(u32 *)(r1 + 0) = 1.
  EXPECT_EQ(Run({{BPF_LDX | BPF_MEM | BPF_DW, 1, 1, 8, 0},
                 {BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1, 0},
                 {BPF_ST | BPF_MEM | BPF_W, 1, 0, 0, 1},
                 kRet0[0],
                 kRet0[1]}),
            "");
}

TEST_F(MapIterRunTest, KfuncTakesOnlyTheMapShown) {
  const uint32_t kfunc = FuncId("bpf_map_sum_elem_count");
  ASSERT_NE(kfunc, 0u);
  // bpf_map_sum_elem_count(ctx->map) when ctx->map != NULL, then 'x'.
  const std::vector<bpf_insn> good = {
      {BPF_LDX | BPF_MEM | BPF_DW, 2, 1, 8, 0},
      {BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 5, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 7, 1, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 1, 2, 0, 0},
      {BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0,
       static_cast<int32_t>(kfunc)},
      {BPF_ALU64 | BPF_MOV | BPF_X, 1, 7, 0, 0},
      {BPF_JMP | BPF_JA, 0, 0, 0, 0}};
  std::vector<bpf_insn> p = good;
  p.insert(p.end(), kSeqWriteX.begin(), kSeqWriteX.end());
  EXPECT_EQ(Run(Then(p, {kRet0[0], kRet0[1]})).find_first_not_of('x'),
            std::string::npos);
  EXPECT_NE(Run(Then(p, {kRet0[0], kRet0[1]})), "");
  // The stack pointer in place of the map.
  p[3] = {BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0};
  EXPECT_EQ(Run(Then(p, {kRet0[0], kRet0[1]})), "");
}

TEST_F(MapIterRunTest, ClosedLinkAndBadFds) {
  EXPECT_EQ(IterCreate(map_, 0), -EINVAL);
  EXPECT_EQ(IterCreate(1 << 20, 0), -EBADF);
  native::ProgLoadFlags flags;
  flags.attach_btf_id = FuncId("bpf_iter_bpf_map");
  const std::vector<bpf_insn> p = Then(kSeqWriteX, {kRet0[0], kRet0[1]});
  const int prog = native::ProgLoadBytecode(
      BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, "t",
      reinterpret_cast<const interp::RawInsn*>(p.data()),
      static_cast<uint32_t>(p.size()), "GPL", flags);
  ASSERT_GE(prog, 0);
  const int link = IterLinkCreate(prog, BPF_TRACE_ITER, 0, 0, nullptr, 0);
  ASSERT_GE(link, 0);
  EXPECT_TRUE(IsIterLinkFd(link));
  EXPECT_EQ(IterCreate(link, 1), -EINVAL);  // iter_create.flags
  const int it = IterCreate(link, 0);
  ASSERT_GE(it, 0);
  EXPECT_EQ(CloseFd(link), 0);
  EXPECT_FALSE(IsIterLinkFd(link));
  // The kernel's file is read-only; the text outlives the link.
  EXPECT_LT(write(it, "y", 1), 0);
  EXPECT_NE(ReadAll(it), "");
  EXPECT_EQ(CloseFd(it), 0);
  EXPECT_EQ(CloseFd(prog), 0);
}

}  // namespace
}  // namespace bpfemu::examples
