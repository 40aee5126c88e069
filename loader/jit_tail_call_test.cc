// SPDX-License-Identifier: Apache-2.0
// The JIT's inline tail calls (emu/jit_x86.cc InlineTailCall, after
// arch/x86/net/bpf_jit_comp.c emit_bpf_tail_call_indirect) against the
// helper the interpreter calls (loader/bytecode.cc TailCall): every case
// runs once interpreted and once compiled, on maps and slots set up alike,
// and must give the same return value, the same fault and the same
// counters. Cases: a chain to MAX_TAIL_CALL_CNT, the errnos of a call that
// falls through (index past max_entries, empty slot), a slot holding an
// interpreted program (the helper's path), a fresh instruction budget per
// target, and a target that may not reach the memory its caller reached
// (the regions and ranges Vm::Enter resets).

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/test_run.h"

namespace bpfemu::native {
namespace {

namespace a = interp::asm_;
using Insns = std::vector<interp::RawInsn>;

int Create(uint32_t type, uint32_t value, uint32_t max) {
  MapAttr attr;
  attr.map_type = type;
  attr.key_size = 4;
  attr.value_size = value;
  attr.max_entries = max;
  return MapCreate(attr);
}

int LoadTc(const Insns& p, bool jit) {
  interp::SetJit(jit);
  const int fd = ProgLoadBytecode(BPF_PROG_TYPE_SCHED_CLS, 0, "t", p.data(),
                                  static_cast<uint32_t>(p.size()), "GPL");
  interp::SetJit(false);
  return fd;
}

bool Jitted(int fd) {
  std::shared_ptr<const Prog> prog;
  EXPECT_EQ(ProgFromFd(fd, &prog), 0);
  return prog != nullptr && prog->code->jitted();
}

// Whether the JIT compiled `fd` with clean inline tail calls (no zeroing of
// the per-program state: JitCode::Compile's second compile).
bool CleanTailCalls(int fd) {
  std::shared_ptr<const Prog> prog;
  EXPECT_EQ(ProgFromFd(fd, &prog), 0);
  return prog != nullptr && prog->code->jit_code() != nullptr &&
         prog->code->jit_code()->clean_tail_calls();
}

struct Outcome {
  uint32_t ret = 0;
  bool faulted = false;
  std::string fault;
  uint64_t count = 0;  // the counter map's u64, when the case has one
};

// Runs `fd` on a 64-byte frame with the JIT as asked.
Outcome RunOnce(int fd, bool jit) {
  interp::SetJit(jit);
  std::shared_ptr<const Prog> prog;
  EXPECT_EQ(ProgFromFd(fd, &prog), 0);
  std::vector<uint8_t> frame(64, 0);
  frame[12] = 0x08;
  Outcome o;
  o.ret = RunSkb(*prog, frame).retval;
  o.faulted = ProgFaulted();
  o.fault = interp::LastFault();
  interp::SetJit(false);
  return o;
}

// One case: `run(jit)` sets up its maps and programs (compiled when `jit`)
// and returns the outcome; interpreted and compiled must agree.
Outcome ExpectSame(const std::function<Outcome(bool jit)>& run,
                   const std::string& what) {
  const Outcome interp = run(false);
  const Outcome jit = run(true);
  EXPECT_EQ(interp.ret, jit.ret) << what;
  EXPECT_EQ(interp.faulted, jit.faulted) << what;
  EXPECT_EQ(interp.fault, jit.fault) << what;
  EXPECT_EQ(interp.count, jit.count) << what;
  return jit;
}

// Adds 1 to counts[0], then tail-calls slot 0 of `table` and returns 7
// when the call falls through.
Insns CountAndTailCall(int counts, int table) {
  Insns p;
  p.push_back(a::MovReg(BPF_REG_6, BPF_REG_1));
  p.push_back(a::St(BPF_W, BPF_REG_10, -4, 0));
  p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
  a::LdMapFd(&p, BPF_REG_1, counts);
  p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
  p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_0, 0, 2));
  p.push_back(a::MovImm(BPF_REG_1, 1));
  p.push_back(a::Atomic(BPF_DW, BPF_REG_0, BPF_REG_1, 0, BPF_ADD));
  p.push_back(a::MovReg(BPF_REG_1, BPF_REG_6));
  a::LdMapFd(&p, BPF_REG_2, table);
  p.push_back(a::MovImm(BPF_REG_3, 0));
  p.push_back(a::Call(BPF_FUNC_tail_call));
  p.push_back(a::MovImm(BPF_REG_0, 7));
  p.push_back(a::Exit());
  return p;
}

uint64_t Count(int counts) {
  const uint32_t zero = 0;
  uint64_t n = 0;
  EXPECT_EQ(MapLookupElem(counts, &zero, &n), 0);
  return n;
}

// A program in its own slot: 1 + MAX_TAIL_CALL_CNT runs, then the 34th
// call falls through; twice, so that the second run's first call finds
// the slot's program cached.
TEST(JitTailCallTest, ChainStopsAfterThirtyThree) {
  const Outcome o = ExpectSame(
      [](bool jit) {
        const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4);
        const int counts = Create(BPF_MAP_TYPE_ARRAY, 8, 1);
        const int fd = LoadTc(CountAndTailCall(counts, table), jit);
        EXPECT_EQ(Jitted(fd), jit);
        const uint32_t zero = 0;
        EXPECT_EQ(MapUpdateElem(table, &zero, &fd, BPF_ANY), 0);
        Outcome o = RunOnce(fd, jit);
        EXPECT_EQ(RunOnce(fd, jit).ret, o.ret);
        o.count = Count(counts);
        CloseFd(fd);
        CloseFd(table);
        CloseFd(counts);
        return o;
      },
      "chain");
  EXPECT_EQ(o.ret, 7u);
  EXPECT_EQ(o.count, 68u);  // two runs of 1 + 33
}

// Programs that only tail-call and use their stack (sixth piece: their
// code never changes the per-program state, so the inline tail calls leave
// it alone): `entry` zeroes a counter at r10 - 8 and tail-calls slot 0;
// `counter` adds 1 to it and tail-calls slot 0, returning the counter plus
// `add` when the call falls through. The run's stack is the same for every
// program of a chain, in the interpreter as in compiled code.
Insns ZeroAndTailCall(int table) {
  Insns p;
  p.push_back(a::St(BPF_DW, BPF_REG_10, -8, 0));
  a::LdMapFd(&p, BPF_REG_2, table);
  p.push_back(a::MovImm(BPF_REG_3, 0));
  p.push_back(a::Call(BPF_FUNC_tail_call));
  p.push_back(a::Exit());  // R0: the helper's errno
  return p;
}

Insns CountOnTheStack(int table, int32_t add) {
  Insns p;
  p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_10, -8));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_0, 1));
  p.push_back(a::Stx(BPF_DW, BPF_REG_10, BPF_REG_0, -8));
  a::LdMapFd(&p, BPF_REG_2, table);
  p.push_back(a::MovImm(BPF_REG_3, 0));
  p.push_back(a::Call(BPF_FUNC_tail_call));
  p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_10, -8));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_0, add));
  p.push_back(a::Exit());
  return p;
}

// A chain of such programs: the entry's call spends one unit, so the
// counter runs 33 times. Run twice (the second run finds the slot cached
// and announces it once), then with the slot moved to another counter
// (a new program to announce, a new Vm::prog_), then emptied.
TEST(JitTailCallTest, ChainWithoutStateStopsAfterThirtyThree) {
  std::vector<uint32_t> rets;
  ExpectSame(
      [&rets](bool jit) {
        const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 2);
        const int entry = LoadTc(ZeroAndTailCall(table), jit);
        const int counter = LoadTc(CountOnTheStack(table, 0), jit);
        const int other = LoadTc(CountOnTheStack(table, 100), jit);
        EXPECT_EQ(Jitted(entry), jit);
        EXPECT_EQ(Jitted(counter), jit);
        EXPECT_EQ(Jitted(other), jit);
        // The JIT chose the clean second compile for all three: none sets
        // per-program state; a helper call before the tail call does.
        EXPECT_EQ(CleanTailCalls(entry), jit);
        EXPECT_EQ(CleanTailCalls(counter), jit);
        EXPECT_EQ(CleanTailCalls(other), jit);
        Insns helper = ZeroAndTailCall(table);
        helper.insert(helper.begin(), a::Call(BPF_FUNC_ktime_get_ns));
        const int with_helper = LoadTc(helper, jit);
        EXPECT_EQ(Jitted(with_helper), jit);
        EXPECT_FALSE(CleanTailCalls(with_helper));
        CloseFd(with_helper);
        const uint32_t zero = 0;
        EXPECT_EQ(MapUpdateElem(table, &zero, &counter, BPF_ANY), 0);
        Outcome o = RunOnce(entry, jit);
        rets.push_back(o.ret);
        rets.push_back(RunOnce(entry, jit).ret);
        EXPECT_EQ(MapUpdateElem(table, &zero, &other, BPF_ANY), 0);
        rets.push_back(RunOnce(entry, jit).ret);
        EXPECT_EQ(MapDeleteElem(table, &zero), 0);
        rets.push_back(RunOnce(entry, jit).ret);
        o.count = rets.back();
        CloseFd(entry);
        CloseFd(counter);
        CloseFd(other);
        CloseFd(table);
        return o;
      },
      "chain without state");
  const std::vector<uint32_t> want = {33, 33, 133, uint32_t(-ENOENT),
                                      33, 33, 133, uint32_t(-ENOENT)};
  EXPECT_EQ(rets, want);
}

// A call that falls through leaves the helper's errno in R0: -E2BIG for an
// index at or past max_entries (before the count is spent), -ENOENT for an
// empty slot.
TEST(JitTailCallTest, FallThroughErrnos) {
  for (const int32_t index : {0, 1, 2, 3, 4, -1}) {
    const Outcome o = ExpectSame(
        [index](bool jit) {
          const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 3);
          const int target = LoadTc({a::MovImm(BPF_REG_0, 9), a::Exit()}, jit);
          const uint32_t one = 1;
          EXPECT_EQ(MapUpdateElem(table, &one, &target, BPF_ANY), 0);
          Insns p;
          a::LdMapFd(&p, BPF_REG_2, table);
          p.push_back(a::MovImm(BPF_REG_3, index));
          p.push_back(a::Call(BPF_FUNC_tail_call));
          p.push_back(a::Exit());  // R0: the helper's errno
          const int fd = LoadTc(p, jit);
          const Outcome o = RunOnce(fd, jit);
          CloseFd(fd);
          CloseFd(target);
          CloseFd(table);
          return o;
        },
        "index " + std::to_string(index));
    const uint32_t want = index == 1                 ? 9u
                          : index == 0 || index == 2 ? uint32_t(-ENOENT)
                                                     : uint32_t(-E2BIG);
    EXPECT_EQ(o.ret, want) << "index " << index;
  }
}

// A compiled caller whose slot holds an interpreted program: the helper's
// path enters it, and its own tail calls count on.
TEST(JitTailCallTest, InterpretedTargetTakesTheHelper) {
  const Outcome o = ExpectSame(
      [](bool jit) {
        const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4);
        const int counts = Create(BPF_MAP_TYPE_ARRAY, 8, 1);
        const Insns body = CountAndTailCall(counts, table);
        const int caller = LoadTc(body, jit);
        const int target = LoadTc(body, false);  // interpreted either way
        EXPECT_FALSE(Jitted(target));
        const uint32_t zero = 0;
        EXPECT_EQ(MapUpdateElem(table, &zero, &target, BPF_ANY), 0);
        Outcome o = RunOnce(caller, jit);
        o.count = Count(counts);
        CloseFd(caller);
        CloseFd(target);
        CloseFd(table);
        CloseFd(counts);
        return o;
      },
      "interpreted target");
  EXPECT_EQ(o.ret, 7u);
  EXPECT_EQ(o.count, 34u);
}

// Each target starts with a fresh instruction budget, as Vm::Enter gives
// it: a chain whose loops add up past the budget runs to its end, and one
// loop past it stops the run with the interpreter's message.
TEST(JitTailCallTest, EachTargetGetsAFreshBudget) {
  interp::SetInstructionBudget(100);
  for (const int32_t spins : {60, 150}) {
    const Outcome o = ExpectSame(
        [spins](bool jit) {
          const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 1);
          const int counts = Create(BPF_MAP_TYPE_ARRAY, 8, 1);
          Insns p = {a::MovImm(BPF_REG_7, spins),
                     a::AluImm(BPF_SUB, BPF_REG_7, 1),
                     a::JmpImm(BPF_JNE, BPF_REG_7, 0, -2)};
          const Insns rest = CountAndTailCall(counts, table);
          p.insert(p.end(), rest.begin(), rest.end());
          const int fd = LoadTc(p, jit);
          const uint32_t zero = 0;
          EXPECT_EQ(MapUpdateElem(table, &zero, &fd, BPF_ANY), 0);
          Outcome o = RunOnce(fd, jit);
          o.count = Count(counts);
          CloseFd(fd);
          CloseFd(table);
          CloseFd(counts);
          return o;
        },
        "spins " + std::to_string(spins));
    EXPECT_EQ(o.faulted, spins > 100) << spins;
    EXPECT_EQ(o.count, spins > 100 ? 0u : 34u) << spins;
  }
  interp::SetInstructionBudget(uint64_t{1} << 28);
}

// The target does not inherit what its caller could reach: the caller
// leaves a pointer to its array's value on the stack, the target (which
// uses no map) loads through it and is stopped, as Vm::Enter's reset of
// the regions and ranges stops it in the interpreter.
TEST(JitTailCallTest, TargetCannotUseTheCallersMapValue) {
  const Outcome o = ExpectSame(
      [](bool jit) {
        const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 1);
        const int values = Create(BPF_MAP_TYPE_ARRAY, 8, 1);
        const Insns target = {a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_10, -16),
                              a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_1, 0),
                              a::Exit()};
        const int t = LoadTc(target, jit);
        Insns p;
        p.push_back(a::MovReg(BPF_REG_6, BPF_REG_1));
        p.push_back(a::St(BPF_W, BPF_REG_10, -4, 0));
        p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
        p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
        a::LdMapFd(&p, BPF_REG_1, values);
        p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
        p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_0, 0, 6));
        p.push_back(a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_0, 0));  // reached
        p.push_back(a::Stx(BPF_DW, BPF_REG_10, BPF_REG_0, -16));
        p.push_back(a::MovReg(BPF_REG_1, BPF_REG_6));
        a::LdMapFd(&p, BPF_REG_2, table);
        p.push_back(a::MovImm(BPF_REG_3, 0));
        p.push_back(a::Call(BPF_FUNC_tail_call));
        p.push_back(a::MovImm(BPF_REG_0, 1));
        p.push_back(a::Exit());
        const int fd = LoadTc(p, jit);
        const uint32_t zero = 0;
        EXPECT_EQ(MapUpdateElem(table, &zero, &t, BPF_ANY), 0);
        // Twice: the second run's call finds the target cached.
        RunOnce(fd, jit);
        const Outcome o = RunOnce(fd, jit);
        CloseFd(fd);
        CloseFd(t);
        CloseFd(table);
        CloseFd(values);
        return o;
      },
      "caller's value");
  EXPECT_TRUE(o.faulted);
}

// A compiled caller and target that both read the run's CPU (inline
// PERCPU_ARRAY lookups on a map of 2 copies): the target is entered
// inline when the CPU is below its count, with its folded CPU set, and
// through the helper (Vm::Enter folds it) past it. Each CPU adds to its
// own copy, as in the interpreter.
TEST(JitTailCallTest, PercpuTargetGetsTheRunsCpu) {
  for (const int cpu : {0, 1, 3}) {
    ScopedCpu pin(cpu);
    const Outcome o = ExpectSame(
        [](bool jit) {
          SetNumPossibleCpus(2);
          const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 1);
          const int values = Create(BPF_MAP_TYPE_PERCPU_ARRAY, 8, 1);
          SetNumPossibleCpus(0);
          // Adds `add` to this CPU's copy; returns it (target) or tail-calls
          // slot 0 (caller; 9 if the call falls through).
          const auto make = [&](int add, bool call) {
            Insns p;
            p.push_back(a::MovReg(BPF_REG_6, BPF_REG_1));
            p.push_back(a::St(BPF_W, BPF_REG_10, -4, 0));
            p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
            p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
            a::LdMapFd(&p, BPF_REG_1, values);
            p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
            p.push_back(a::JmpImm(BPF_JNE, BPF_REG_0, 0, 2));
            p.push_back(a::MovImm(BPF_REG_0, 1000));
            p.push_back(a::Exit());
            p.push_back(a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_0, 0));
            p.push_back(a::AluImm(BPF_ADD, BPF_REG_1, add));
            p.push_back(a::Stx(BPF_DW, BPF_REG_0, BPF_REG_1, 0));
            if (call) {
              p.push_back(a::MovReg(BPF_REG_1, BPF_REG_6));
              a::LdMapFd(&p, BPF_REG_2, table);
              p.push_back(a::MovImm(BPF_REG_3, 0));
              p.push_back(a::Call(BPF_FUNC_tail_call));
              p.push_back(a::MovImm(BPF_REG_0, 9));
            } else {
              p.push_back(a::MovReg(BPF_REG_0, BPF_REG_1));
            }
            p.push_back(a::Exit());
            return p;
          };
          const int t = LoadTc(make(10, false), jit);
          const int fd = LoadTc(make(1, true), jit);
          EXPECT_EQ(Jitted(t), jit);
          EXPECT_EQ(Jitted(fd), jit);
          const uint32_t zero = 0;
          EXPECT_EQ(MapUpdateElem(table, &zero, &t, BPF_ANY), 0);
          RunOnce(fd, jit);
          Outcome o = RunOnce(fd, jit);
          uint64_t v[2] = {};
          EXPECT_EQ(MapLookupElem(values, &zero, v), 0);
          o.count = v[0] * 1000 + v[1];
          CloseFd(fd);
          CloseFd(t);
          CloseFd(table);
          CloseFd(values);
          return o;
        },
        "cpu " + std::to_string(cpu));
    EXPECT_FALSE(o.faulted);
    EXPECT_EQ(o.ret, 22u);  // two runs of 1 + 10 on one copy
    EXPECT_EQ(o.count, cpu % 2 == 0 ? 22000u : 22u);
  }
}

}  // namespace
}  // namespace bpfemu::native
