// SPDX-License-Identifier: Apache-2.0
// tests/examples/map_iter.bpf.c on bpfemu without root, as bytecode,
// against the kernel's answers recorded on 6.18 (testdata/map_iter.expected;
// map_iter_compare_test.cc checks the same answers against the running
// kernel and re-records them).

#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "emu/bpf_iter.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
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
    map_ = MapIterEmuApi().map_create(
        {"run_hash", BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 0, 0});
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

// map_elem_iter.bpf.c's bump_elems over an ARRAY, a PERCPU_ARRAY and a
// HASH (key k holds (k + 1) * 10 on every CPU), against the 6.12 source
// (kernel/bpf/arraymap.c, hashtab.c bpf_*_map_seq_*, map_iter.c
// bpf_iter_attach_map): the 6.18 host refuses to load the program (EPERM;
// map_iter_compare_test HostKernel.MapElemIterators), so these are not
// measured answers.
TEST(MapElemIterTest, EveryElementThenTheEnd) {
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  auto obj = native::Object::OpenBytecode("tests/examples/map_elem_iter.bpf.o");
  ASSERT_TRUE(obj.ok());
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const int prog = (*obj)->FindProgram("bump_elems")->fd();
  struct Case {
    const char* name;
    uint32_t type, max_entries, n;
    std::vector<std::string> text, after;
  };
  const Case cases[] = {
      {"el_array",
       BPF_MAP_TYPE_ARRAY,
       4,
       4,
       {"0=10", "1=20", "2=30", "3=40", "el_array: end at seq_num 3"},
       {"110", "120", "130", "140"}},
      // A per-CPU value is a copy: the map keeps its values.
      {"el_pcpu",
       BPF_MAP_TYPE_PERCPU_ARRAY,
       2,
       2,
       {"0=10", "1=20", "el_pcpu: end at seq_num 1"},
       {"10", "20"}},
      {"el_hash",
       BPF_MAP_TYPE_HASH,
       8,
       3,
       {"0=10", "1=20", "2=30", "el_hash: end at seq_num 2"},
       {"110", "120", "130"}},
  };
  static uint64_t values[8192];
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const int fd = MapIterEmuApi().map_create(
        {c.name, c.type, 4, 8, c.max_entries, 0, c.n, 0});
    ASSERT_GE(fd, 0);
    for (uint32_t k = 0; k < c.n; ++k) {
      for (uint64_t& v : values) v = (k + 1) * 10;
      ASSERT_EQ(MapUpdateElem(fd, &k, values, BPF_ANY), 0);
    }
    uint32_t info[4] = {static_cast<uint32_t>(fd)};
    const int link =
        IterLinkCreate(prog, BPF_TRACE_ITER, 0, 0, info, sizeof(info));
    ASSERT_GE(link, 0);
    const int it = IterCreate(link, 0);
    ASSERT_GE(it, 0);
    std::istringstream text(ReadAll(it));
    std::vector<std::string> lines;
    for (std::string l; std::getline(text, l);) lines.push_back(l);
    // A hash table's order follows its hash seed.
    if (c.type == BPF_MAP_TYPE_HASH && !lines.empty()) {
      std::sort(lines.begin(), lines.end() - 1);
    }
    EXPECT_EQ(lines, c.text);
    std::vector<std::string> after;
    for (uint32_t k = 0; k < c.n; ++k) {
      ASSERT_EQ(MapLookupElem(fd, &k, values, 0), 0);
      after.push_back(std::to_string(values[0]));
    }
    EXPECT_EQ(after, c.after);
    EXPECT_EQ(CloseFd(it), 0);
    EXPECT_EQ(CloseFd(link), 0);
    EXPECT_EQ(CloseFd(fd), 0);
  }
  // bpf_iter_attach_map(): no map fd (EBADF), a closed fd, a program's
  // (EINVAL), a map of a type it does not walk (EINVAL).
  const int queue = MapIterEmuApi().map_create(
      {"el_queue", BPF_MAP_TYPE_QUEUE, 0, 4, 4, 0, 0, 0});
  ASSERT_GE(queue, 0);
  uint32_t info[4] = {};
  EXPECT_EQ(IterLinkCreate(prog, BPF_TRACE_ITER, 0, 0, nullptr, 0), -EBADF);
  EXPECT_EQ(IterLinkCreate(prog, BPF_TRACE_ITER, 0, 0, info, sizeof(info)),
            -EBADF);
  info[0] = 1 << 20;
  EXPECT_EQ(IterLinkCreate(prog, BPF_TRACE_ITER, 0, 0, info, sizeof(info)),
            -EBADF);
  info[0] = static_cast<uint32_t>(prog);
  EXPECT_EQ(IterLinkCreate(prog, BPF_TRACE_ITER, 0, 0, info, sizeof(info)),
            -EINVAL);
  info[0] = static_cast<uint32_t>(queue);
  EXPECT_EQ(IterLinkCreate(prog, BPF_TRACE_ITER, 0, 0, info, sizeof(info)),
            -EINVAL);
  EXPECT_EQ(CloseFd(queue), 0);
}

}  // namespace
}  // namespace bpfemu::examples
