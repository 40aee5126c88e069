// SPDX-License-Identifier: Apache-2.0
// The conntrack kfuncs in the interpreter (emu/ct_kfuncs.h bindings)
// without the kernel: what the kernel's verifier refuses at load stops a
// bytecode run here (a context that is not the program's, a struct nf_conn
// the program does not hold, an allocated entry passed where a confirmed
// one must be), an entry is readable but for its mark read-only, and a
// reference still held when the run ends is dropped and counted.

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "emu/ct_kfuncs.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kfunc_testing.h"
#include "emu/prog.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

using interp::RawInsn;
namespace a = interp::asm_;
using Insns = std::vector<RawInsn>;

enum : int32_t {
  kSkbAlloc = 3,  // BTF ids: 1 "int", 2 the proto, then the FUNCs
  kSkbLookup,
  kInsert,
  kRelease,
};

const KernelBtf* TestBtf() {
  static const KernelBtf* btf =
      kfunctest::FuncBtf({"bpf_skb_ct_alloc", "bpf_skb_ct_lookup",
                          "bpf_ct_insert_entry", "bpf_ct_release"})
          .release();
  return btf;
}

// Loads `p` as a SCHED_CLS (or `type`) program and runs it on a zeroed
// context.
int32_t RunTc(const Insns& p, bool* faulted,
              uint32_t type = BPF_PROG_TYPE_SCHED_CLS) {
  return kfunctest::RunProg(TestBtf(), type, p, faulted);
}

// r6 = ctx; a zero IPv4 tuple at fp-16, TCP opts at fp-32; `kfunc` called
// with them (R0 the entry or NULL).
Insns Get(int32_t kfunc) {
  return {a::MovReg(6, 1),
          a::St(BPF_DW, 10, -16, 0),
          a::St(BPF_DW, 10, -8, 0),
          a::St(BPF_DW, 10, -32, -1),  // netns_id -1, error -1
          a::St(BPF_DW, 10, -24, 6),   // l4proto TCP
          a::MovReg(1, 6),
          a::MovReg(2, 10),
          a::AluImm(BPF_ADD, 2, -16),
          a::MovImm(3, 12),
          a::MovReg(4, 10),
          a::AluImm(BPF_ADD, 4, -32),
          a::MovImm(5, 16),
          a::CallKfunc(kfunc)};
}

Insns Then(Insns p, const Insns& more) {
  p.insert(p.end(), more.begin(), more.end());
  return p;
}

void ExpectStop(const Insns& p, const std::string& why,
                uint32_t type = BPF_PROG_TYPE_SCHED_CLS) {
  bool faulted = false;
  RunTc(p, &faulted, type);
  EXPECT_TRUE(faulted);
  EXPECT_EQ(interp::LastFault().rfind(why, 0), 0u) << interp::LastFault();
}

class CtInterpTest : public ::testing::Test {
 protected:
  void TearDown() override {
    ct::Flush();
    EXPECT_EQ(ct::LiveEntries(), 0u);
  }
};

TEST_F(CtInterpTest, RefusedArgumentsStopTheRun) {
  ExpectStop(
      {a::MovImm(1, 0), a::CallKfunc(kRelease), a::MovImm(0, 0), a::Exit()},
      "bpf_ct_release: R1 must be a referenced struct nf_conn");
  // The context must be the program's.
  Insns p = Get(kSkbLookup);
  p[5] = a::MovReg(1, 10);
  ExpectStop(Then(p, {a::MovImm(0, 0), a::Exit()}),
             "bpf_skb_ct_lookup: R1 must be the program's context");
  // ... and of the program type the kfunc's context is (an XDP program is
  // offered bpf_skb_ct_lookup, and refused its xdp_md).
  ExpectStop(Then(Get(kSkbLookup), {a::MovImm(0, 0), a::Exit()}),
             "bpf_skb_ct_lookup: R1 must be the program's context",
             BPF_PROG_TYPE_XDP);
  // The opts must be memory the program may write.
  p = Get(kSkbLookup);
  p[11] = a::MovImm(5, 64);
  ExpectStop(Then(p, {a::MovImm(0, 0), a::Exit()}),
             "bpf_skb_ct_lookup: R4 is not 64 bytes");
  // An allocated entry is no struct nf_conn for bpf_ct_release.
  ExpectStop(Then(Get(kSkbAlloc),
                  {a::JmpImm(BPF_JEQ, 0, 0, 2), a::MovReg(1, 0),
                   a::CallKfunc(kRelease), a::MovImm(0, 0), a::Exit()}),
             "bpf_ct_release: R1 must be a referenced struct nf_conn");
  EXPECT_EQ(ct::LiveEntries(), 0u);  // the run's reference was dropped
}

TEST_F(CtInterpTest, OnlyTheMarkIsWritable) {
  const ct::Layout& l = ct::GetLayout();
  const Insns body = {a::JmpImm(BPF_JEQ, 0, 0, 6),
                      a::MovReg(1, 0),
                      a::CallKfunc(kInsert),
                      a::JmpImm(BPF_JEQ, 0, 0, 3),
                      a::MovReg(7, 0),
                      a::St(BPF_W, 7, static_cast<int16_t>(l.mark), 5),
                      a::Ldx(BPF_W, 0, 7, static_cast<int16_t>(l.mark)),
                      a::Exit()};
  bool faulted = true;
  // Insert, write the mark, read it back; the reference leaks.
  const uint64_t leaked = ct::LeakedRefs();
  Insns p = Then(Get(kSkbAlloc), body);
  EXPECT_EQ(RunTc(p, &faulted), 5);
  EXPECT_FALSE(faulted) << interp::LastFault();
  EXPECT_EQ(ct::LeakedRefs(), leaked + 1);
  ASSERT_EQ(ct::Entries().size(), 1u);
  EXPECT_EQ(ct::Entries()[0].mark, 5u);
  EXPECT_EQ(ct::Entries()[0].use, 1u);
  ct::Flush();
  // The timeout is not.
  p = Then(Get(kSkbAlloc), {a::JmpImm(BPF_JEQ, 0, 0, 2),
                            a::St(BPF_W, 0, static_cast<int16_t>(l.timeout), 5),
                            a::MovImm(0, 0), a::Exit()});
  ExpectStop(p, "invalid memory write");
}

}  // namespace
}  // namespace bpfemu
