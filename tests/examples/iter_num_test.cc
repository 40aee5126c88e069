// SPDX-License-Identifier: Apache-2.0
// tests/examples/iter_num.bpf.c without the kernel: the object reader turns
// its `extern ... __ksym` calls into kfunc calls (loader/elf_object.h), and
// the bytecode face resolves them against the running kernel's BTF
// (loader/ksym.h) and runs the bpf_for / bpf_repeat loops. The same object
// compared with the kernel: iter_num_compare_test.cc.

#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/elf_object.h"
#include "loader/object.h"

namespace bpfemu::native {
namespace {

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

TEST(IterNumTest, ReaderTurnsExternCallsIntoKfuncCalls) {
  const std::vector<uint8_t> data = ReadFile("tests/examples/iter_num.bpf.o");
  ASSERT_FALSE(data.empty());
  auto obj = ParseElfObject(data, "iter_num");
  ASSERT_TRUE(obj.ok()) << obj.status();
  std::vector<std::string> names;
  for (const ElfKsymFunc& f : obj->ksym_funcs) {
    names.push_back(f.name);
    EXPECT_FALSE(f.weak);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"bpf_iter_num_destroy",
                                             "bpf_iter_num_new",
                                             "bpf_iter_num_next"}));
  ASSERT_EQ(obj->programs.size(), 1u);
  const ElfProgram& p = obj->programs[0];
  // Each bpf_for / bpf_repeat makes new, next and destroy calls.
  EXPECT_GE(p.kfunc_relocs.size(), 9u);
  for (const ElfKfuncReloc& r : p.kfunc_relocs) {
    const interp::RawInsn& in = p.insns[r.insn];
    EXPECT_EQ(in.code, BPF_JMP | BPF_CALL);
    EXPECT_EQ(in.src, BPF_PSEUDO_KFUNC_CALL);
    EXPECT_EQ(in.imm, 0);
    EXPECT_EQ(in.off, 0);
  }
}

// The bytecode face end to end, against the running kernel's BTF.
TEST(IterNumTest, BytecodeObjectRunsIterNumLoops) {
  if (KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  auto obj = Object::OpenBytecode("tests/examples/iter_num.bpf.o");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  struct Range {
    int32_t start, end;
  } ranges[8] = {{0, 10}, {-3, 3}, {5, 5}, {4, 1}, {0, (8 << 20) + 1}};
  for (uint32_t k = 0; k < 8; ++k) {
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("ranges"), &k, &ranges[k], BPF_ANY),
              0);
  }
  const uint32_t zero = 0, times = 7;
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("repeat"), &zero, &times, BPF_ANY), 0);
  const Program* prog = (*obj)->FindProgram("sum_ranges");
  ASSERT_NE(prog, nullptr);
  std::vector<uint8_t> packet(64, 0);
  packet[12] = 0x08;
  EXPECT_EQ(prog->RunSkb(packet).err, 0);
  struct Result {
    int64_t sum;
    uint32_t count;
    int32_t new_ret;
  };
  auto result = [&](uint32_t k) {
    Result r{};
    EXPECT_EQ(MapLookupElem((*obj)->MapFd("results"), &k, &r), 0);
    return r;
  };
  EXPECT_EQ(result(0).sum, 45);
  EXPECT_EQ(result(0).count, 10u);
  EXPECT_EQ(result(1).sum, -3);
  EXPECT_EQ(result(2).count, 0u);
  EXPECT_EQ(result(3).new_ret, -EINVAL);
  EXPECT_EQ(result(4).new_ret, -E2BIG);
  EXPECT_EQ(result(4).count, 0u);
  const uint32_t one = 1;
  uint32_t ran = 0;
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("repeat"), &one, &ran), 0);
  EXPECT_EQ(ran, 7u);
}

}  // namespace
}  // namespace bpfemu::native
