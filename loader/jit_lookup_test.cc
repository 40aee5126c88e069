// SPDX-License-Identifier: Apache-2.0
// The JIT's inline ARRAY and PERCPU_ARRAY lookups (emu/jit_x86.h,
// kernel/bpf/arraymap.c array_map_gen_lookup and
// percpu_array_map_gen_lookup) against the helper the interpreter calls
// (loader/bytecode.cc MapLookup): every program here runs once interpreted
// and once compiled, on maps filled alike, and must give the same return
// value, the same fault and the same map contents. Cases: indexes in and
// out of bounds (NULL), a key outside the stack (the helper's path), a map
// chosen on two branches (R1 not known at the call), a read-only array, a
// read past the array's values, and a PERCPU_ARRAY under two CPUs.
// The seventh piece's direct lookups of HASH, LRU_HASH, their per-CPU
// forms and LPM_TRIE (kernel/bpf/hashtab.c htab_map_gen_lookup,
// htab_lru_map_gen_lookup) the same way: hits, misses, a key outside the
// stack or not known to be in it, a read-only map, the LRU's reference
// bit, an element deleted after its lookup, per-CPU copies, prefixes.

#include <linux/bpf.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/hash_map.h"
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

constexpr uint32_t kEntries = 8;
constexpr uint32_t kValue = 16;

int Create(uint32_t type, uint32_t flags = 0) {
  MapAttr attr;
  attr.map_type = type;
  attr.key_size = 4;
  attr.value_size = kValue;
  attr.max_entries = kEntries;
  attr.map_flags = flags;
  return MapCreate(attr);
}

// Element i of an ARRAY holds {i * 100, i}.
void Fill(int fd) {
  for (uint32_t i = 0; i < kEntries; ++i) {
    const uint64_t v[2] = {i * 100ull, i};
    ASSERT_EQ(MapUpdateElem(fd, &i, v, BPF_ANY), 0);
  }
}

struct Outcome {
  uint32_t ret = 0;
  bool faulted = false;
  std::string fault;
  bool jitted = false;
  // bpf_map_lookup_elem calls compiled to a direct call of the map's
  // lookup (JitCode::map_lookups).
  uint32_t direct = 0;
};

// Loads `p` as a tc program with the JIT on or off and runs it `runs`
// times on a 64-byte frame.
Outcome RunProg(const Insns& p, bool jit, int runs = 1) {
  interp::SetJit(jit);
  const int fd = ProgLoadBytecode(BPF_PROG_TYPE_SCHED_CLS, 0, "t", p.data(),
                                  static_cast<uint32_t>(p.size()), "GPL");
  Outcome o;
  EXPECT_GE(fd, 0);
  if (fd < 0) {
    interp::SetJit(false);
    return o;
  }
  std::shared_ptr<const Prog> prog;
  EXPECT_EQ(ProgFromFd(fd, &prog), 0);
  o.jitted = prog->code->jitted();
  if (prog->code->jit_code() != nullptr) {
    o.direct = prog->code->jit_code()->map_lookups();
  }
  std::vector<uint8_t> frame(64, 0);
  frame[12] = 0x08;
  for (int i = 0; i < runs; ++i) {
    o.ret = RunSkb(*prog, frame).retval;
    o.faulted = ProgFaulted();
    o.fault = interp::LastFault();
  }
  interp::SetJit(false);
  CloseFd(fd);
  return o;
}

// r1 = map, r0 = bpf_map_lookup_elem(r1, r2); the program returns 1000
// if it found nothing.
void LookupOr1000(Insns* p, int map) {
  a::LdMapFd(p, BPF_REG_1, map);
  p->push_back(a::Call(BPF_FUNC_map_lookup_elem));
  p->push_back(a::JmpImm(BPF_JNE, BPF_REG_0, 0, 2));
  p->push_back(a::MovImm(BPF_REG_0, 1000));
  p->push_back(a::Exit());
}

// r2 = fp + key_off (the key already stored there), r1 = map, lookup; on
// NULL return 1000, else add 1 to the value's first u64 and return the u64
// at `off` of the value.
void LookupAndBump(Insns* p, int map, int16_t key_off, int16_t off) {
  p->push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
  p->push_back(a::AluImm(BPF_ADD, BPF_REG_2, key_off));
  LookupOr1000(p, map);
  p->push_back(a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_0, 0));
  p->push_back(a::AluImm(BPF_ADD, BPF_REG_1, 1));
  p->push_back(a::Stx(BPF_DW, BPF_REG_0, BPF_REG_1, 0));
  p->push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_0, off));
  p->push_back(a::Exit());
}

// LookupAndBump with a u32 key stored on the stack at -4.
Insns LookupProgram(int map, int32_t key, int16_t off = 8) {
  Insns p;
  p.push_back(a::St(BPF_W, BPF_REG_10, -4, key));
  LookupAndBump(&p, map, -4, off);
  return p;
}

std::vector<uint64_t> Contents(int fd, uint32_t words_per_key) {
  std::vector<uint64_t> all;
  for (uint32_t i = 0; i < kEntries; ++i) {
    std::vector<uint64_t> v(words_per_key);
    EXPECT_EQ(MapLookupElem(fd, &i, v.data()), 0);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

// The same program on two fresh maps made alike by `create`, interpreted
// and compiled: equal results and map contents (`contents`); returns the
// compiled outcome.
Outcome ExpectSameOn(const std::function<int()>& create,
                     const std::function<std::vector<uint64_t>(int)>& contents,
                     const std::function<Insns(int map)>& make,
                     const std::string& what, int runs) {
  Outcome out[2];
  std::vector<uint64_t> after[2];
  for (int jit = 0; jit < 2; ++jit) {
    const int map = create();
    EXPECT_GE(map, 0);
    out[jit] = RunProg(make(map), jit == 1, runs);
    after[jit] = contents(map);
    CloseFd(map);
  }
  EXPECT_FALSE(out[0].jitted) << what;
  EXPECT_TRUE(out[1].jitted) << what;
  EXPECT_EQ(out[0].ret, out[1].ret) << what;
  EXPECT_EQ(out[0].faulted, out[1].faulted) << what;
  EXPECT_EQ(out[0].fault, out[1].fault) << what;
  EXPECT_EQ(after[0], after[1]) << what;
  return out[1];
}

// ExpectSameOn for an array or per-CPU array (arrays filled first).
Outcome ExpectSame(uint32_t type, uint32_t flags,
                   const std::function<Insns(int map)>& make,
                   const std::string& what, int runs = 3) {
  return ExpectSameOn(
      [&] {
        const int map = Create(type, flags);
        if (map >= 0 && type == BPF_MAP_TYPE_ARRAY) Fill(map);
        return map;
      },
      [&](int map) {
        return Contents(
            map, type == BPF_MAP_TYPE_ARRAY
                     ? kValue / 8
                     : kValue / 8 * static_cast<uint32_t>(NumPossibleCpus()));
      },
      make, what, runs);
}

TEST(JitLookupTest, ArrayIndexesInAndOutOfBounds) {
  for (const int32_t key : {0, 3, 7, 8, 9, -1, 0x7fffffff}) {
    const Outcome o = ExpectSame(
        BPF_MAP_TYPE_ARRAY, 0,
        [key](int map) { return LookupProgram(map, key); },
        "key " + std::to_string(key));
    EXPECT_FALSE(o.faulted);
    // Out of bounds: NULL, as array_map_gen_lookup's bounds check gives.
    const bool in = key >= 0 && key < static_cast<int32_t>(kEntries);
    EXPECT_EQ(o.ret, in ? static_cast<uint32_t>(key) : 1000u) << "key " << key;
  }
}

// A key in the context, not the stack: the helper's own checks.
TEST(JitLookupTest, KeyOutsideTheStackTakesTheHelper) {
  const Outcome o = ExpectSame(
      BPF_MAP_TYPE_ARRAY, 0,
      [](int map) {
        Insns p;
        // r2 = &skb->mark (0 in the test run's context).
        p.push_back(a::MovReg(BPF_REG_2, BPF_REG_1));
        p.push_back(
            a::AluImm(BPF_ADD, BPF_REG_2,
                      static_cast<int32_t>(offsetof(struct __sk_buff, mark))));
        LookupOr1000(&p, map);
        p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_0, 0));
        p.push_back(a::AluImm(BPF_ADD, BPF_REG_0, 7));
        p.push_back(a::Exit());
        return p;
      },
      "key in the context");
  EXPECT_FALSE(o.faulted);
  EXPECT_EQ(o.ret, 7u);
  // A key pointer that is no memory of the run stops it in both.
  const Outcome bad = ExpectSame(
      BPF_MAP_TYPE_ARRAY, 0,
      [](int map) {
        Insns p;
        p.push_back(a::MovImm(BPF_REG_2, 4096));
        a::LdMapFd(&p, BPF_REG_1, map);
        p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
        p.push_back(a::Exit());
        return p;
      },
      "wild key");
  EXPECT_TRUE(bad.faulted);
}

// R1 set on two branches that join before the call: not known there, the
// helper answers (for either map).
TEST(JitLookupTest, MapChosenOnTwoBranches) {
  for (const int32_t pick : {0, 1}) {
    const int hash = Create(BPF_MAP_TYPE_HASH);
    ASSERT_GE(hash, 0);
    const uint32_t k = 2;
    const uint64_t hv[2] = {5, 55};
    ASSERT_EQ(MapUpdateElem(hash, &k, hv, BPF_ANY), 0);
    const Outcome o = ExpectSame(
        BPF_MAP_TYPE_ARRAY, 0,
        [hash, pick](int map) {
          Insns p;
          p.push_back(a::St(BPF_W, BPF_REG_10, -4, 2));
          p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
          p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
          p.push_back(a::MovImm(BPF_REG_3, pick));
          p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_3, 0, 3));
          a::LdMapFd(&p, BPF_REG_1, hash);
          p.push_back(a::Ja(2));
          LookupOr1000(&p, map);
          p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_0, 8));
          p.push_back(a::Exit());
          return p;
        },
        "pick " + std::to_string(pick));
    EXPECT_EQ(o.ret, pick == 0 ? 2u : 55u);
    CloseFd(hash);
  }
}

// BPF_F_RDONLY_PROG: the inline lookup's value may be read, a store to it
// stops the run with the interpreter's message.
TEST(JitLookupTest, ReadOnlyArrayRefusesStores) {
  const Outcome o = ExpectSame(
      BPF_MAP_TYPE_ARRAY, BPF_F_RDONLY_PROG,
      [](int map) { return LookupProgram(map, 4); }, "read-only");
  EXPECT_TRUE(o.faulted);
  EXPECT_NE(o.fault.find("write"), std::string::npos) << o.fault;
}

// The last element's value is the end of the array's memory: a read past
// it stops the run in both.
TEST(JitLookupTest, ReadPastTheValuesFaults) {
  const Outcome o = ExpectSame(
      BPF_MAP_TYPE_ARRAY, 0,
      [](int map) { return LookupProgram(map, kEntries - 1, kValue); },
      "past the end");
  EXPECT_TRUE(o.faulted);
}

// A PERCPU_ARRAY under two emulated CPUs: each run adds 1 to the copy of
// the CPU it runs on; an emulated CPU past the map's copies is folded as
// the helper folds it (emu/cpu.h CurrentCpu).
TEST(JitLookupTest, PercpuArrayUnderTwoCpus) {
  SetNumPossibleCpus(2);
  for (const int cpu : {0, 1, 3}) {
    ScopedCpu pin(cpu);
    ExpectSame(
        BPF_MAP_TYPE_PERCPU_ARRAY, 0,
        [](int map) { return LookupProgram(map, 5, 0); },
        "cpu " + std::to_string(cpu), cpu + 1);
  }
  // One map, runs on CPU 0 then CPU 1, compiled: the copies are apart.
  const int map = Create(BPF_MAP_TYPE_PERCPU_ARRAY);
  ASSERT_GE(map, 0);
  const Insns p = LookupProgram(map, 6, 0);
  {
    ScopedCpu pin(0);
    EXPECT_EQ(RunProg(p, true, 2).ret, 2u);  // returns the first u64 after +1
  }
  {
    ScopedCpu pin(1);
    EXPECT_EQ(RunProg(p, true, 5).ret, 5u);
  }
  const uint32_t k = 6;
  uint64_t v[2 * kValue / 8] = {};
  ASSERT_EQ(MapLookupElem(map, &k, v), 0);
  EXPECT_EQ(v[0], 2u);           // CPU 0's copy
  EXPECT_EQ(v[kValue / 8], 5u);  // CPU 1's copy
  CloseFd(map);
  SetNumPossibleCpus(0);
}

// The fourth piece's unchecked accesses through a value an inline lookup
// returned: after `if r0 == 0` falls through, a load or store inside the
// value is emitted without a check; moved by `r0 += add`, copied to r6,
// and anything outside the value is still checked (and stops the run as
// the interpreter stops it, or reaches the neighbouring element as it
// does).
Insns NullTestedProgram(int map, int32_t key, int32_t add, int16_t off) {
  Insns p;
  p.push_back(a::St(BPF_W, BPF_REG_10, -4, key));
  p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
  a::LdMapFd(&p, BPF_REG_1, map);
  p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
  p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_0, 0, 6));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_0, add));
  p.push_back(a::MovReg(BPF_REG_6, BPF_REG_0));
  p.push_back(a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_6, off));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_1, 1));
  p.push_back(a::Stx(BPF_DW, BPF_REG_0, BPF_REG_1, off));
  p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_6, off));
  p.push_back(a::Exit());  // the value's word after the store
  p.push_back(a::MovImm(BPF_REG_0, 1000));
  p.push_back(a::Exit());
  return p;
}

TEST(JitLookupTest, AccessesThroughANullTestedValue) {
  struct Case {
    int32_t key, add;
    int16_t off;
    bool faults;
  };
  const Case cases[] = {
      {3, 0, 0, false},  {3, 0, 8, false}, {3, 8, 0, false},  {3, 8, 8, false},
      {7, 8, 8, true},   {7, 0, 16, true}, {3, 0, 16, false}, {3, -8, 0, false},
      {0, -8, 0, true},  {0, 0, -8, true}, {9, 0, 0, false},  {3, 4, 0, false},
      {3, 0, 12, false},
  };
  for (const Case& c : cases) {
    const std::string what = "key " + std::to_string(c.key) + " add " +
                             std::to_string(c.add) + " off " +
                             std::to_string(c.off);
    const Outcome o = ExpectSame(
        BPF_MAP_TYPE_ARRAY, 0,
        [&c](int map) { return NullTestedProgram(map, c.key, c.add, c.off); },
        what);
    // Past key 3's value is element 4, still the map's area (allowed, as
    // in the interpreter); past the last element's, nothing.
    EXPECT_EQ(o.faulted, c.faults) << what;
  }
  // A read-only array: loads inside the value unchecked, a store stopped.
  const Outcome ro = ExpectSame(
      BPF_MAP_TYPE_ARRAY, BPF_F_RDONLY_PROG,
      [](int map) { return NullTestedProgram(map, 3, 0, 0); }, "read-only");
  EXPECT_TRUE(ro.faulted);
  // A PERCPU_ARRAY's copy of the run's CPU.
  SetNumPossibleCpus(2);
  for (const int cpu : {0, 1}) {
    ScopedCpu pin(cpu);
    const Outcome pc = ExpectSame(
        BPF_MAP_TYPE_PERCPU_ARRAY, 0,
        [](int map) { return NullTestedProgram(map, 5, 8, 0); },
        "percpu cpu " + std::to_string(cpu), 2);
    EXPECT_FALSE(pc.faulted);
    EXPECT_EQ(pc.ret, 2u);
  }
  SetNumPossibleCpus(0);
}

// The fifth piece's key check: a key at a constant offset from R10 inside
// the frame (copied and moved through other registers) is read without the
// stack check; at the frame's edge or past it, the check (and the helper's
// answer) as before.
TEST(JitLookupTest, KeyAtAConstantStackOffset) {
  struct Case {
    int32_t at;  // the key's offset from R10
    bool faults;
  };
  for (const Case c : {Case{-4, false}, Case{-512, false}, Case{-8, false},
                       Case{-2, true}, Case{0, true}}) {
    const std::string what = "key at r10" + std::to_string(c.at);
    const Outcome o = ExpectSame(
        BPF_MAP_TYPE_ARRAY, 0,
        [&c](int map) {
          Insns p;
          if (c.at <= -4) p.push_back(a::St(BPF_W, BPF_REG_10, c.at, 2));
          p.push_back(a::MovReg(BPF_REG_3, BPF_REG_10));
          p.push_back(a::AluImm(BPF_ADD, BPF_REG_3, c.at - 16));
          p.push_back(a::MovReg(BPF_REG_2, BPF_REG_3));
          p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, 16));
          LookupOr1000(&p, map);
          p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_0, 0));
          p.push_back(a::Exit());
          return p;
        },
        what);
    EXPECT_EQ(o.faulted, c.faults) << what;
    if (!c.faults) EXPECT_EQ(o.ret, 200u) << what;
  }
}

// Two PERCPU_ARRAYs built for different CPU counts in one program: the
// first one's lookups use the CPU Vm::Enter folded for its count without a
// check, the other's the CPU itself, checked against its count and folded
// by the helper past it. Every CPU gives the interpreter's copies.
TEST(JitLookupTest, PercpuArraysOfTwoCpuCounts) {
  for (const int cpu : {0, 1, 2, 3, 4}) {
    ScopedCpu pin(cpu);
    Outcome out[2];
    std::vector<uint64_t> contents[2][2];
    for (int jit = 0; jit < 2; ++jit) {
      SetNumPossibleCpus(2);
      const int two = Create(BPF_MAP_TYPE_PERCPU_ARRAY);
      SetNumPossibleCpus(3);
      const int three = Create(BPF_MAP_TYPE_PERCPU_ARRAY);
      SetNumPossibleCpus(0);
      ASSERT_GE(two, 0);
      ASSERT_GE(three, 0);
      // Adds 1 to key 5's first u64 in both, returns the sum.
      Insns p;
      p.push_back(a::MovImm(BPF_REG_6, 0));
      for (const int map : {two, three, two}) {
        p.push_back(a::St(BPF_W, BPF_REG_10, -4, 5));
        p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
        p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
        a::LdMapFd(&p, BPF_REG_1, map);
        p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
        p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_0, 0, 4));
        p.push_back(a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_0, 0));
        p.push_back(a::AluImm(BPF_ADD, BPF_REG_1, 1));
        p.push_back(a::Stx(BPF_DW, BPF_REG_0, BPF_REG_1, 0));
        p.push_back(a::AluReg(BPF_ADD, BPF_REG_6, BPF_REG_1));
      }
      p.push_back(a::MovReg(BPF_REG_0, BPF_REG_6));
      p.push_back(a::Exit());
      out[jit] = RunProg(p, jit == 1, 3);
      uint32_t k = 5;
      for (int m = 0; m < 2; ++m) {
        const int fd = m == 0 ? two : three;
        std::vector<uint64_t> v((m == 0 ? 2 : 3) * kValue / 8);
        EXPECT_EQ(MapLookupElem(fd, &k, v.data()), 0);
        contents[jit][m] = v;
      }
      CloseFd(two);
      CloseFd(three);
    }
    const std::string what = "cpu " + std::to_string(cpu);
    EXPECT_FALSE(out[0].jitted) << what;
    EXPECT_TRUE(out[1].jitted) << what;
    EXPECT_EQ(out[0].ret, out[1].ret) << what;
    EXPECT_EQ(out[1].ret, 14u) << what;  // the third run: 5 + 3 + 6
    EXPECT_FALSE(out[1].faulted) << what;
    EXPECT_EQ(contents[0][0], contents[1][0]) << what;
    EXPECT_EQ(contents[0][1], contents[1][1]) << what;
    EXPECT_EQ(contents[1][0][(cpu % 2) * kValue / 8], 6u) << what;
    EXPECT_EQ(contents[1][1][(cpu % 3) * kValue / 8], 3u) << what;
  }
}

// The seventh piece: hash maps and LPM tries whose lookups are compiled to
// a direct call of the map's lookup. Keys 0 .. kHashKeys - 1 hold
// {k * 100, k} (every CPU's copy of a per-CPU map).
constexpr uint32_t kHashKeys = 6;

uint32_t ValueWords(uint32_t type) {
  const bool percpu =
      type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  return kValue / 8 * (percpu ? static_cast<uint32_t>(NumPossibleCpus()) : 1u);
}

int CreateFilledHash(uint32_t type, uint32_t flags = 0) {
  const int fd = Create(type, flags);
  EXPECT_GE(fd, 0);
  const uint32_t words = ValueWords(type);
  for (uint32_t k = 0; k < kHashKeys; ++k) {
    std::vector<uint64_t> v(words);
    for (uint32_t w = 0; w < words; w += 2) {
      v[w] = k * 100ull;
      v[w + 1] = k;
    }
    EXPECT_EQ(MapUpdateElem(fd, &k, v.data(), BPF_ANY), 0);
  }
  return fd;
}

// Each key of 0 .. kEntries - 1: whether it is there, then its words.
std::vector<uint64_t> HashContents(int fd, uint32_t type) {
  std::vector<uint64_t> all;
  for (uint32_t k = 0; k < kEntries; ++k) {
    std::vector<uint64_t> v(ValueWords(type));
    const int rc = MapLookupElem(fd, &k, v.data());
    all.push_back(static_cast<uint64_t>(rc));
    if (rc == 0) all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

// ExpectSame for a hash map: two fresh maps filled alike, interpreted and
// compiled; the compiled program calls the map's lookup directly.
Outcome ExpectSameHash(uint32_t type, uint32_t flags,
                       const std::function<Insns(int map)>& make,
                       const std::string& what, int runs = 3) {
  const Outcome o = ExpectSameOn(
      [&] { return CreateFilledHash(type, flags); },
      [&](int map) { return HashContents(map, type); }, make, what, runs);
  EXPECT_GE(o.direct, 1u) << what;
  return o;
}

constexpr uint32_t kHashTypes[] = {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH};

TEST(JitLookupTest, HashHitsAndMisses) {
  for (const uint32_t type : kHashTypes) {
    for (const uint32_t flags : {0u, unsigned{BPF_F_NO_PREALLOC}}) {
      if (type == BPF_MAP_TYPE_LRU_HASH && flags != 0) continue;
      for (const int32_t key : {0, 3, 5, 6, 7, -1}) {
        const std::string what = "type " + std::to_string(type) + " flags " +
                                 std::to_string(flags) + " key " +
                                 std::to_string(key);
        const Outcome o = ExpectSameHash(
            type, flags, [key](int map) { return LookupProgram(map, key); },
            what);
        EXPECT_FALSE(o.faulted) << what;
        const bool hit = key >= 0 && key < static_cast<int32_t>(kHashKeys);
        EXPECT_EQ(o.ret, hit ? static_cast<uint32_t>(key) : 1000u) << what;
      }
    }
  }
}

// A key the code does not know to lie in the stack (R2 after a jump
// target) is checked there at run time; one in the context, one straddling
// the stack's top, or a wild pointer takes the helper, whose answer or
// fault is the interpreter's.
TEST(JitLookupTest, HashKeyCheckedAtRunTime) {
  struct Case {
    const char* what;
    int32_t at;  // the key's offset from R10, or 1: skb->mark, 2: wild
    bool faults;
    uint32_t ret;  // the value's second word (the key) + 7
  };
  const Case cases[] = {
      {"stack", -4, false, 11}, {"stack bottom", -512, false, 11},
      {"context", 1, false, 7}, {"straddles the top", -2, true, 0},
      {"wild", 2, true, 0},
  };
  for (const uint32_t type : kHashTypes) {
    for (const Case& c : cases) {
      const std::string what =
          std::string(c.what) + " type " + std::to_string(type);
      const Outcome o = ExpectSameHash(
          type, 0,
          [&c](int map) {
            Insns p;
            if (c.at == 1) {
              p.push_back(a::MovReg(BPF_REG_2, BPF_REG_1));
              p.push_back(a::AluImm(
                  BPF_ADD, BPF_REG_2,
                  static_cast<int32_t>(offsetof(struct __sk_buff, mark))));
            } else if (c.at == 2) {
              p.push_back(a::MovImm(BPF_REG_2, 4096));
            } else {
              if (c.at <= -4) p.push_back(a::St(BPF_W, BPF_REG_10, c.at, 4));
              p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
              p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, c.at));
            }
            // A jump to the next instruction: R2 is not known past it.
            p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_2, 0, 0));
            LookupOr1000(&p, map);
            p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_0, 8));
            p.push_back(a::AluImm(BPF_ADD, BPF_REG_0, 7));
            p.push_back(a::Exit());
            return p;
          },
          what);
      EXPECT_EQ(o.faulted, c.faults) << what << ": " << o.fault;
      if (!c.faults) {
        EXPECT_EQ(o.ret, c.ret) << what;
      }
    }
  }
}

// BPF_F_RDONLY_PROG: the value may be read, a store stops the run with the
// interpreter's message; reads past the value stop it too.
TEST(JitLookupTest, HashReadOnlyAndOutOfValue) {
  for (const uint32_t type : kHashTypes) {
    const Outcome ro = ExpectSameHash(
        type, BPF_F_RDONLY_PROG, [](int map) { return LookupProgram(map, 4); },
        "read-only");
    EXPECT_TRUE(ro.faulted);
    EXPECT_NE(ro.fault.find("write"), std::string::npos) << ro.fault;
    const Outcome past = ExpectSameHash(
        type, 0, [](int map) { return LookupProgram(map, 4, kValue); },
        "past the value");
    EXPECT_TRUE(past.faulted);
    // Through a value tested for NULL, moved and copied: still checked.
    for (const int16_t off : {0, 8, 16, -8}) {
      const std::string what = "null-tested off " + std::to_string(off);
      const Outcome nt = ExpectSameHash(
          type, 0, [off](int map) { return NullTestedProgram(map, 3, 0, off); },
          what);
      EXPECT_EQ(nt.faulted, off < 0 || off >= static_cast<int16_t>(kValue))
          << what;
    }
  }
}

// A direct lookup's value tested for NULL is accessed without a check
// until the next call; after calls that record 70 other values the Vm's
// table (64 regions) has dropped its region, and the access stops the run
// in both, with the interpreter's message; after fewer it is still allowed.
TEST(JitLookupTest, HashValueAfterManyLookups) {
  for (const int others : {10, 70}) {
    Outcome out[2];
    for (int jit = 0; jit < 2; ++jit) {
      MapAttr attr;
      attr.map_type = BPF_MAP_TYPE_HASH;
      attr.key_size = 4;
      attr.value_size = 8;
      attr.max_entries = 128;
      const int map = MapCreate(attr);
      ASSERT_GE(map, 0);
      for (uint32_t k = 0; k < 128; ++k) {
        const uint64_t v = k + 1000;
        ASSERT_EQ(MapUpdateElem(map, &k, &v, BPF_ANY), 0);
      }
      const auto lookup = [map](Insns* p, int32_t key) {
        p->push_back(a::St(BPF_W, BPF_REG_10, -4, key));
        p->push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
        p->push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
        a::LdMapFd(p, BPF_REG_1, map);
        p->push_back(a::Call(BPF_FUNC_map_lookup_elem));
      };
      Insns p;
      lookup(&p, 0);
      p.push_back(a::JmpImm(BPF_JNE, BPF_REG_0, 0, 2));
      p.push_back(a::MovImm(BPF_REG_0, 1));
      p.push_back(a::Exit());
      p.push_back(a::MovReg(BPF_REG_6, BPF_REG_0));
      p.push_back(a::Ldx(BPF_DW, BPF_REG_7, BPF_REG_6, 0));  // unchecked
      for (int k = 1; k <= others; ++k) lookup(&p, k);
      p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_6, 0));  // checked
      p.push_back(a::AluReg(BPF_ADD, BPF_REG_0, BPF_REG_7));
      p.push_back(a::Exit());
      out[jit] = RunProg(p, jit == 1, 1);
      CloseFd(map);
    }
    const std::string what = std::to_string(others) + " other lookups";
    EXPECT_TRUE(out[1].jitted) << what;
    EXPECT_EQ(out[1].direct, static_cast<uint32_t>(others + 1)) << what;
    EXPECT_EQ(out[0].faulted, others > 63) << what << ": " << out[0].fault;
    EXPECT_EQ(out[0].faulted, out[1].faulted) << what;
    EXPECT_EQ(out[0].fault, out[1].fault) << what;
    EXPECT_EQ(out[0].ret, out[1].ret) << what;
    if (others < 64) {
      EXPECT_EQ(out[1].ret, 2000u) << what;
    }
  }
}

// The LRU's reference bit (bpf_lru_node_set_ref, which the kernel's
// htab_lru_map_gen_lookup sets inline): set by the compiled lookup as by
// the helper, on the element found only.
TEST(JitLookupTest, LruLookupSetsTheReferenceBit) {
  for (const uint32_t type :
       {BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    int referenced[2] = {0, 0};
    for (int jit = 0; jit < 2; ++jit) {
      const int map = CreateFilledHash(type);
      auto h = std::dynamic_pointer_cast<HashMap>(MapFromFd(map));
      ASSERT_NE(h, nullptr);
      ASSERT_NE(h->lru(), nullptr);
      const auto count = [&h] {
        int n = 0;
        for (uint32_t id = 1; id <= kEntries; ++id) n += h->lru()->RefOf(id);
        return n;
      };
      EXPECT_EQ(count(), 0) << "jit " << jit;
      const Outcome o = RunProg(LookupProgram(map, 2), jit == 1, 1);
      EXPECT_FALSE(o.faulted);
      EXPECT_EQ(o.ret, 2u);
      EXPECT_EQ(o.jitted, jit == 1);
      if (jit == 1) {
        EXPECT_GE(o.direct, 1u);
      }
      referenced[jit] = count();
      // A miss sets nothing.
      EXPECT_EQ(RunProg(LookupProgram(map, 7), jit == 1, 1).ret, 1000u);
      EXPECT_EQ(count(), referenced[jit]);
      h.reset();
      CloseFd(map);
    }
    EXPECT_EQ(referenced[0], 1) << "type " << type;
    EXPECT_EQ(referenced[1], 1) << "type " << type;
  }
}

// An element deleted after its lookup: the program still reads and writes
// the value it was handed (the kernel keeps it alive for the program's run,
// as bpfemu's region table keeps it usable), in both.
TEST(JitLookupTest, HashElementDeletedAfterLookup) {
  for (const uint32_t type : kHashTypes) {
    for (const uint32_t flags : {0u, unsigned{BPF_F_NO_PREALLOC}}) {
      if (type == BPF_MAP_TYPE_LRU_HASH && flags != 0) continue;
      const std::string what =
          "type " + std::to_string(type) + " flags " + std::to_string(flags);
      const Outcome o = ExpectSameHash(
          type, flags,
          [](int map) {
            Insns p;
            p.push_back(a::St(BPF_W, BPF_REG_10, -4, 3));
            p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
            p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
            LookupOr1000(&p, map);
            p.push_back(a::MovReg(BPF_REG_6, BPF_REG_0));
            p.push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
            p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
            a::LdMapFd(&p, BPF_REG_1, map);
            p.push_back(a::Call(BPF_FUNC_map_delete_elem));
            p.push_back(a::MovReg(BPF_REG_7, BPF_REG_0));  // 0: deleted
            p.push_back(a::St(BPF_DW, BPF_REG_6, 0, 42));
            p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_6, 8));
            p.push_back(a::AluReg(BPF_ADD, BPF_REG_0, BPF_REG_7));
            p.push_back(a::Exit());
            return p;
          },
          what, 1);
      EXPECT_FALSE(o.faulted) << what << ": " << o.fault;
      EXPECT_EQ(o.ret, 3u) << what;
    }
  }
}

// PERCPU_HASH and LRU_PERCPU_HASH under two emulated CPUs (and one past
// the map's copies, folded as the helper folds it): each run adds 1 to
// the copy of the CPU it runs on.
TEST(JitLookupTest, PercpuHashUnderTwoCpus) {
  SetNumPossibleCpus(2);
  for (const uint32_t type :
       {BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    for (const int cpu : {0, 1, 3}) {
      ScopedCpu pin(cpu);
      const std::string what =
          "type " + std::to_string(type) + " cpu " + std::to_string(cpu);
      const Outcome o = ExpectSameHash(
          type, 0, [](int map) { return LookupProgram(map, 5, 0); }, what,
          cpu + 1);
      EXPECT_EQ(o.ret, 500u + cpu + 1) << what;
    }
  }
  SetNumPossibleCpus(0);
}

// LPM_TRIE (trie_lookup_elem, a direct call of ops->map_lookup_elem in the
// kernel): /32 addresses matched against a /8, a /16 and a /24.
TEST(JitLookupTest, LpmTrieLongestPrefix) {
  struct Prefix {
    uint32_t len;
    uint8_t addr[4];
    uint64_t id;
  };
  const Prefix prefixes[] = {
      {8, {10, 0, 0, 0}, 1}, {16, {10, 1, 0, 0}, 2}, {24, {10, 1, 2, 0}, 3}};
  struct Case {
    uint8_t addr[4];
    uint32_t ret;
  };
  const Case cases[] = {{{10, 1, 2, 3}, 3},
                        {{10, 1, 9, 9}, 2},
                        {{10, 7, 7, 7}, 1},
                        {{11, 0, 0, 0}, 1000}};
  // The key bytes of a prefix (struct bpf_lpm_trie_key_u8, 4 data bytes).
  const auto key_of = [](const Prefix& pr, uint8_t key[8]) {
    std::memcpy(key, &pr.len, 4);
    std::memcpy(key + 4, pr.addr, 4);
  };
  const auto create = [&] {
    MapAttr attr;
    attr.map_type = BPF_MAP_TYPE_LPM_TRIE;
    attr.key_size = 8;
    attr.value_size = kValue;
    attr.max_entries = kEntries;
    attr.map_flags = BPF_F_NO_PREALLOC;
    const int map = MapCreate(attr);
    if (map < 0) return map;
    for (const Prefix& pr : prefixes) {
      uint8_t key[8];
      key_of(pr, key);
      const uint64_t v[2] = {0, pr.id};
      EXPECT_EQ(MapUpdateElem(map, key, v, BPF_ANY), 0);
    }
    return map;
  };
  // Each prefix's first u64 (the lookups' counter).
  const auto counters = [&](int map) {
    std::vector<uint64_t> all;
    for (const Prefix& pr : prefixes) {
      uint8_t key[8];
      key_of(pr, key);
      uint64_t v[2] = {};
      EXPECT_EQ(MapLookupElem(map, key, v), 0);
      all.push_back(v[0]);
    }
    return all;
  };
  for (const Case& c : cases) {
    int32_t addr;
    std::memcpy(&addr, c.addr, 4);
    const std::string what = "address ending " + std::to_string(c.addr[3]) +
                             " expecting " + std::to_string(c.ret);
    const Outcome o = ExpectSameOn(
        create, counters,
        [addr](int map) {
          Insns p;
          p.push_back(a::St(BPF_W, BPF_REG_10, -8, 32));
          p.push_back(a::St(BPF_W, BPF_REG_10, -4, addr));
          LookupAndBump(&p, map, -8, 8);
          return p;
        },
        what, 2);
    EXPECT_GE(o.direct, 1u) << what;
    EXPECT_FALSE(o.faulted) << o.fault;
    EXPECT_EQ(o.ret, c.ret) << what;
  }
}

}  // namespace
}  // namespace bpfemu::native
