// SPDX-License-Identifier: Apache-2.0
// The string, bit-iterator, cpumask and task kfuncs (emu/str_kfuncs.h,
// emu/iter_bits.h, emu/cpumask.h, emu/task_kfuncs.h) without the kernel:
// what the kernel compare tests cannot reach (a string that becomes
// unreadable half-way, a read error of a wide bitmap, cpumasks of more than
// one word, the distribute picks of a two-CPU mask) and the interpreter's
// stops on pointers the verifier would refuse. Against the kernel:
// tests/examples/{str_kfuncs,iter_bits,cpumask,task_kfuncs}_compare_test.cc.

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/cpu.h"
#include "emu/cpumask.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/iter_bits.h"
#include "emu/kernel_btf.h"
#include "emu/kfunc.h"
#include "emu/kfunc_testing.h"
#include "emu/prog.h"
#include "emu/str_kfuncs.h"
#include "emu/task_kfuncs.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

using interp::RawInsn;
namespace a = interp::asm_;
using Insns = std::vector<RawInsn>;

// A reader over one buffer [base, base + size): any other address is no
// kernel memory below the kernel half (-ERANGE) and faults in it.
struct Buffer {
  uint64_t base;
  uint64_t size;
};
bool BufAllowed(const void* ctx, uint64_t a) {
  const auto* b = static_cast<const Buffer*>(ctx);
  return (a >= b->base && a < b->base + b->size) || strk::KernelHalfAllowed(a);
}
bool BufRead(const void* ctx, uint64_t a, char* out) {
  const auto* b = static_cast<const Buffer*>(ctx);
  if (a < b->base || a >= b->base + b->size) return false;
  std::memcpy(out, reinterpret_cast<const void*>(a), 1);
  return true;
}

TEST(StrKfuncsModelTest, AStringThatBecomesUnreadableFaults) {
  const char text[] = "abcdef";
  const uint64_t base = reinterpret_cast<uint64_t>(text);
  const Buffer whole{base, sizeof(text)}, cut{base, 3};
  const strk::ByteReader all{BufAllowed, BufRead, &whole};
  const strk::ByteReader part{BufAllowed, BufRead, &cut};
  EXPECT_EQ(strk::Strnlen(all, base, strk::kStrMax), 6);
  EXPECT_EQ(strk::Strnlen(part, base, strk::kStrMax), -EFAULT);
  EXPECT_EQ(strk::Strnlen(part, base, 3), 3);  // never reads byte 3
  EXPECT_EQ(strk::Strcmp(part, base, base, false), -EFAULT);
  EXPECT_EQ(strk::Strnchr(part, base, 10, 'c'), 2);
  EXPECT_EQ(strk::Strnchr(part, base, 10, 'e'), -EFAULT);
}

int FailingRead(const void* ctx, void* dst, uint64_t, uint32_t n) {
  std::memset(dst, 0, n);
  return *static_cast<const int*>(ctx);
}

TEST(IterBitsModelTest, ReadErrorsAsTheKernel) {
  uint64_t it[2];
  const int erange = -ERANGE;
  // One word: any read error is -EFAULT; more: the read's own error.
  EXPECT_EQ(IterBitsNew(it, 0x1000, 1, FailingRead, &erange), -EFAULT);
  EXPECT_EQ(IterBitsNext(it), nullptr);
  EXPECT_EQ(IterBitsNew(it, 0x1000, 2, FailingRead, &erange), -ERANGE);
  EXPECT_EQ(IterBitsNext(it), nullptr);
  IterBitsDestroy(it);
}

TEST(CpumaskModelTest, MasksOfMoreThanOneWord) {
  if (HostNrCpus() < 128) GTEST_SKIP() << "NR_CPUS below 128";
  SetNumPossibleCpus(70);
  void* m = cpumask::Create();
  ASSERT_NE(m, nullptr);
  const auto* w = static_cast<const uint64_t*>(m);
  cpumask::SetAll(m);
  // bitmap_fill: whole words, bits 70-127 too; the queries see 70 bits.
  EXPECT_EQ(w[1], ~uint64_t{0});
  EXPECT_EQ(cpumask::Weight(m), 70u);
  EXPECT_TRUE(cpumask::Full(m));
  EXPECT_EQ(cpumask::FirstZero(m), 70u);
  void* n = cpumask::Create();
  cpumask::SetCpu(69, n);
  cpumask::SetCpu(70, n);  // past nr_cpu_ids: ignored
  EXPECT_EQ(cpumask::Weight(n), 1u);
  EXPECT_EQ(cpumask::First(n), 69u);
  // and masks the last word, or keeps it whole.
  void* d = cpumask::Create();
  EXPECT_TRUE(cpumask::And(d, m, m));
  EXPECT_EQ(static_cast<const uint64_t*>(d)[1], (uint64_t{1} << 6) - 1);
  cpumask::Or(d, m, n);
  EXPECT_EQ(static_cast<const uint64_t*>(d)[1], ~uint64_t{0});
  EXPECT_TRUE(cpumask::Equal(d, m));
  EXPECT_TRUE(cpumask::Subset(n, m));
  EXPECT_FALSE(cpumask::Subset(m, n));
  cpumask::Clear(d);
  EXPECT_TRUE(cpumask::Empty(d));
  EXPECT_EQ(cpumask::First(d), 70u);
  cpumask::Copy(d, n);
  EXPECT_TRUE(cpumask::Equal(d, n));
  EXPECT_EQ(cpumask::Acquire(d), d);
  cpumask::Release(d);
  EXPECT_TRUE(cpumask::IsLive(d));
  for (void* x : {m, n, d}) cpumask::Release(x);
  EXPECT_FALSE(cpumask::IsLive(d));
  EXPECT_EQ(cpumask::LiveMasks(), 0u);
  SetNumPossibleCpus(0);
}

// lib/cpumask.c: each pick starts after the CPU's previous one and wraps,
// so a two-CPU mask alternates; the picks are per CPU.
TEST(CpumaskModelTest, DistributePicksAlternate) {
  SetNumPossibleCpus(2);
  void* m = cpumask::Create();
  cpumask::SetAll(m);
  {
    ScopedCpu cpu(0);
    const uint32_t first = cpumask::AnyDistribute(m);
    EXPECT_LT(first, 2u);
    EXPECT_EQ(cpumask::AnyDistribute(m), 1 - first);
    EXPECT_EQ(cpumask::AnyDistribute(m), first);
    void* none = cpumask::Create();
    EXPECT_EQ(cpumask::AnyAndDistribute(m, none), 2u);
    // No pick: the previous one stays.
    EXPECT_EQ(cpumask::AnyDistribute(m), 1 - first);
    cpumask::Release(none);
  }
  cpumask::Release(m);
  SetNumPossibleCpus(0);
}

// Hand-made "vmlinux" BTF: 1 int; 2 int (void) proto; 3.. the FUNCs below.
enum : int32_t {
  kStrlen = 3,
  kIterBitsNew,
  kCpumaskFirst,
  kCpumaskCreate,
  kCpumaskRelease,
  kTaskAcquire,
};

const KernelBtf* TestBtf() {
  static const KernelBtf* btf =
      kfunctest::FuncBtf(
          std::vector<const char*>{"bpf_strlen", "bpf_iter_bits_new",
                                   "bpf_cpumask_first", "bpf_cpumask_create",
                                   "bpf_cpumask_release", "bpf_task_acquire"})
          .release();
  return btf;
}

int32_t RunSyscallProg(const Insns& p, bool* faulted) {
  return kfunctest::RunSyscallProg(TestBtf(), p, faulted);
}

TEST(GenericKfuncsInterpTest, StrlenOfTheStackAndOfBadAddresses) {
  bool faulted = true;
  // "ab" on the stack.
  EXPECT_EQ(RunSyscallProg(
                {a::St(BPF_W, 10, -8, 0x6261), a::MovReg(1, 10),
                 a::AluImm(BPF_ADD, 1, -8), a::CallKfunc(kStrlen), a::Exit()},
                &faulted),
            2);
  EXPECT_FALSE(faulted) << interp::LastFault();
  Insns p;
  a::LdImm64(&p, 1, 0xffff800000000000);
  p.push_back(a::CallKfunc(kStrlen));
  p.push_back(a::Exit());
  EXPECT_EQ(RunSyscallProg(p, &faulted), -EFAULT);
  EXPECT_EQ(
      RunSyscallProg({a::MovImm(1, 0x1000), a::CallKfunc(kStrlen), a::Exit()},
                     &faulted),
      -ERANGE);
  EXPECT_FALSE(faulted);
}

TEST(GenericKfuncsInterpTest, StopsOnPointersTheVerifierRefuses) {
  bool faulted = false;
  RunSyscallProg({a::MovImm(1, 0x1000), a::MovImm(2, 0), a::MovImm(3, 1),
                  a::CallKfunc(kIterBitsNew), a::Exit()},
                 &faulted);
  EXPECT_TRUE(faulted);
  EXPECT_NE(interp::LastFault().find("bpf_iter_bits_new"), std::string::npos)
      << interp::LastFault();
  // A stack slot is no bpf_cpumask, nor a task.
  RunSyscallProg(
      {a::St(BPF_DW, 10, -8, 0), a::MovReg(1, 10), a::AluImm(BPF_ADD, 1, -8),
       a::CallKfunc(kCpumaskFirst), a::Exit()},
      &faulted);
  EXPECT_TRUE(faulted);
  EXPECT_NE(interp::LastFault().find("bpf_cpumask_first: R1"),
            std::string::npos)
      << interp::LastFault();
  RunSyscallProg(
      {a::St(BPF_DW, 10, -8, 0), a::MovReg(1, 10), a::AluImm(BPF_ADD, 1, -8),
       a::CallKfunc(kTaskAcquire), a::Exit()},
      &faulted);
  EXPECT_TRUE(faulted);
  EXPECT_NE(interp::LastFault().find("bpf_task_acquire"), std::string::npos)
      << interp::LastFault();
}

TEST(GenericKfuncsInterpTest, CreatedMaskAnswersAndIsReleased) {
  SetNumPossibleCpus(2);
  bool faulted = true;
  // m = create(); r6 = first(m); release(m); return r6 (2: empty).
  const Insns p = {
      a::CallKfunc(kCpumaskCreate),  a::MovReg(7, 0), a::MovReg(1, 0),
      a::CallKfunc(kCpumaskFirst),   a::MovReg(6, 0), a::MovReg(1, 7),
      a::CallKfunc(kCpumaskRelease), a::MovReg(0, 6), a::Exit(),
  };
  EXPECT_EQ(RunSyscallProg(p, &faulted), 2);
  EXPECT_FALSE(faulted) << interp::LastFault();
  EXPECT_EQ(cpumask::LiveMasks(), 0u);
  SetNumPossibleCpus(0);
}

}  // namespace
}  // namespace bpfemu
