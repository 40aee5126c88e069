// SPDX-License-Identifier: Apache-2.0
// The scripts of tests/examples/cpumask.bpf.c, shared by
// cpumask_compare_test.cc (kernel against bpfemu) and cpumask_test.cc
// (bpfemu alone), with each step's answer as measured on 6.18 with
// nr_cpu_ids 2 (this machine's possible CPUs; the emulator's count is set
// to 2 for the run). The any_distribute picks are deterministic only for
// masks of at most one CPU (the kernel's per-CPU last pick decides
// otherwise), so the scripts use only those.

#ifndef BPFEMU_TESTS_EXAMPLES_CPUMASK_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_CPUMASK_CASES_H_

#include <cerrno>
#include <cstdint>
#include <vector>

namespace bpfemu::examples::cpumask_script {

// cpumask.bpf.c's enum cm_op, struct step and struct script.
enum Op : uint32_t {
  kSetCpu,
  kClearCpu,
  kTestCpu,
  kTestAndSetCpu,
  kTestAndClearCpu,
  kSetAll,
  kClear,
  kAnd,
  kOr,
  kXor,
  kEqual,
  kIntersects,
  kSubset,
  kEmpty,
  kFull,
  kCopy,
  kFirst,
  kFirstZero,
  kFirstAnd,
  kWeight,
  kAnyDistribute,
  kAnyAndDistribute,
  kAcquireRelease,
  kPopulate,
};
constexpr uint32_t kMaxSteps = 32;
struct Step {
  uint32_t op;
  uint32_t cpu;
  uint8_t d, s1, s2, pad;
};
struct Script {
  uint32_t n;
  uint32_t pad;
  uint64_t src[2];
  Step steps[kMaxSteps];
};
struct Answers {
  int64_t r[kMaxSteps];
};

// One step and the kernel's answer (0 for the kfuncs that return nothing).
struct Line {
  Step step;
  int64_t want;
};
struct Case {
  const char* name;
  uint64_t src0;
  std::vector<Line> lines;
};

constexpr uint8_t A = 0, B = 1, C = 2;

inline Line L(uint32_t op, uint32_t cpu, uint8_t d, uint8_t s1, uint8_t s2,
              int64_t want) {
  return Line{{op, cpu, d, s1, s2, 0}, want};
}
// A query of one mask, of two, a write of d from s1 (and s2).
inline Line Q(uint32_t op, uint8_t m, int64_t want) {
  return L(op, 0, 0, m, 0, want);
}
inline Line Q2(uint32_t op, uint8_t x, uint8_t y, int64_t want) {
  return L(op, 0, 0, x, y, want);
}
inline Line Cpu(uint32_t op, uint32_t cpu, uint8_t m, int64_t want) {
  return L(op, cpu, m, m, 0, want);
}

inline std::vector<Case> AllCases() {
  return {
      {"single cpus",
       0,
       {Cpu(kSetCpu, 0, A, 0),
        Cpu(kTestCpu, 0, A, 1),
        Cpu(kTestCpu, 1, A, 0),
        Q(kWeight, A, 1),
        Q(kFirst, A, 0),
        Q(kFirstZero, A, 1),
        Q(kEmpty, A, 0),
        Q(kFull, A, 0),
        Cpu(kSetCpu, 1, A, 0),
        Q(kFull, A, 1),
        Q(kWeight, A, 2),
        Q(kFirstZero, A, 2),
        Cpu(kSetCpu, 2, A, 0),
        Q(kWeight, A, 2),
        Cpu(kTestCpu, 2, A, 0),
        Cpu(kTestCpu, 255, A, 0),
        Cpu(kTestCpu, 0xffffffff, A, 0),
        Cpu(kTestAndSetCpu, 1, B, 0),
        Cpu(kTestAndSetCpu, 1, B, 1),
        Cpu(kTestAndClearCpu, 1, B, 1),
        Cpu(kTestAndClearCpu, 1, B, 0),
        Cpu(kTestAndSetCpu, 5, B, 0),
        Cpu(kTestAndClearCpu, 64, B, 0),
        Q(kWeight, B, 0),
        Cpu(kClearCpu, 0, A, 0),
        Cpu(kClearCpu, 7, A, 0),
        Q(kWeight, A, 1),
        Q(kFirst, A, 1),
        Q(kFirst, C, 2),
        Q(kFirstZero, C, 0),
        Q(kEmpty, C, 1),
        Q(kAcquireRelease, A, 1)}},
      {"set operations", 0, {L(kSetAll, 0, A, 0, 0, 0),
                             Q(kWeight, A, 2),
                             Q(kFull, A, 1),
                             Q(kFirstZero, A, 2),
                             Cpu(kSetCpu, 1, B, 0),
                             L(kAnd, 0, C, A, B, 1),
                             Q(kWeight, C, 1),
                             Q(kFirst, C, 1),
                             Q2(kEqual, C, B, 1),
                             Q2(kSubset, B, A, 1),
                             Q2(kSubset, A, B, 0),
                             Q2(kIntersects, A, B, 1),
                             L(kClear, 0, B, 0, 0, 0),
                             L(kAnd, 0, C, A, B, 0),
                             Q2(kIntersects, A, B, 0),
                             Q(kEmpty, C, 1),
                             Q2(kEqual, B, C, 1),
                             Q2(kSubset, C, B, 1),
                             L(kOr, 0, C, A, B, 0),
                             Q2(kEqual, C, A, 1),
                             L(kXor, 0, C, A, A, 0),
                             Q(kEmpty, C, 1),
                             L(kXor, 0, C, A, B, 0),
                             Q(kWeight, C, 2),
                             L(kCopy, 0, B, A, 0, 0),
                             Q2(kEqual, A, B, 1),
                             Q2(kFirstAnd, A, B, 0),
                             Cpu(kClearCpu, 0, B, 0),
                             Q2(kFirstAnd, A, B, 1),
                             L(kClear, 0, A, 0, 0, 0),
                             Q2(kFirstAnd, A, B, 2),
                             Q2(kEqual, A, B, 0)}},
      {"distribute and populate",
       0xfffffffffffffffd,
       {Cpu(kSetCpu, 1, A, 0),
        Q(kAnyDistribute, A, 1),
        Q(kAnyDistribute, A, 1),
        Q(kAnyDistribute, C, 2),
        Cpu(kSetCpu, 0, B, 0),
        Q(kAnyDistribute, B, 0),
        Q(kAnyDistribute, B, 0),
        Q2(kAnyAndDistribute, A, B, 2),
        Cpu(kSetCpu, 1, B, 0),
        Q2(kAnyAndDistribute, A, B, 1),
        L(kPopulate, 4, C, 0, 0, -EACCES),
        L(kPopulate, 7, C, 0, 0, -EACCES),
        Q(kEmpty, C, 1),
        L(kPopulate, 8, C, 0, 0, 0),
        Q(kWeight, C, 1),
        Q(kFirst, C, 0),
        Q(kFirstZero, C, 1),
        Cpu(kTestCpu, 1, C, 0),
        L(kPopulate, 16, A, 0, 0, 0),
        Q2(kEqual, A, C, 1),
        L(kSetAll, 0, B, 0, 0, 0),
        L(kXor, 0, A, B, C, 0),
        Q(kWeight, A, 1),
        Q(kFirst, A, 1),
        L(kOr, 0, A, A, C, 0),
        Q(kFull, A, 1),
        L(kAnd, 0, A, B, C, 1),
        Q2(kEqual, A, C, 1),
        Q(kAcquireRelease, C, 1)}},
  };
}

inline Script ToScript(const Case& c) {
  Script s{};
  s.n = static_cast<uint32_t>(c.lines.size());
  s.src[0] = c.src0;
  s.src[1] = ~uint64_t{0};
  for (size_t i = 0; i < c.lines.size() && i < kMaxSteps; ++i) {
    s.steps[i] = c.lines[i].step;
  }
  return s;
}

}  // namespace bpfemu::examples::cpumask_script

#endif  // BPFEMU_TESTS_EXAMPLES_CPUMASK_CASES_H_
