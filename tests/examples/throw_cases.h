// SPDX-License-Identifier: Apache-2.0
// What tests/examples/throw.bpf.c and throw_bad.bpf.c give on the 6.18
// kernel (measured with BPF_PROG_TEST_RUN of a 64-byte IPv4 frame and the
// verifier log as root), for throw_compare_test (which checks the kernel
// still gives them) and throw_test (bpfemu without root).

#ifndef BPFEMU_TESTS_EXAMPLES_THROW_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_THROW_CASES_H_

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::examples::throw_cases {

// struct answers of throw.bpf.c.
struct Answers {
  int64_t r[4];
};

inline constexpr int64_t kUnset = -1000;

struct Good {
  std::string prog;
  uint32_t retval;
  std::vector<int64_t> r;  // out's answers (kUnset: not written)
};

// throw_tail runs with jump[0] holding tail_target.
inline std::vector<Good> GoodCases() {
  return {
      {"throw_main", 7, {11, kUnset, kUnset, kUnset}},
      {"throw_wide_cookie", 9, {kUnset, kUnset, kUnset, kUnset}},
      {"throw_not_taken", 3, {21, kUnset, kUnset, kUnset}},
      {"throw_nested", 42, {31, kUnset, 32, kUnset}},
      {"throw_global", 77, {kUnset, kUnset, kUnset, kUnset}},
      {"throw_after_loop", 54, {4, kUnset, kUnset, kUnset}},
      {"throw_tail", 60, {62, 61, kUnset, kUnset}},
  };
}

struct Bad {
  std::string prog;
  int load_err;     // the kernel's load error
  std::string why;  // the verifier's log line (a part of it)
};

inline std::vector<Bad> BadCases() {
  return {
      {"throw_in_preempt", -EINVAL,
       "bpf_throw cannot be used inside bpf_preempt_disable-ed region"},
      {"throw_in_irq", -EINVAL,
       "bpf_throw cannot be used inside bpf_local_irq_save-ed region"},
      {"throw_in_res_lock", -EINVAL,
       "function calls are not allowed while holding a lock"},
      {"throw_in_spin_lock", -EINVAL,
       "function calls are not allowed while holding a lock"},
      // The kernel's line: "bpf_throw kfunc (insn 12) cannot be called from
      // callback subprog 1" (bpfemu's run knows neither number).
      {"throw_in_callback", -EINVAL, "cannot be called from callback subprog"},
  };
}

}  // namespace bpfemu::examples::throw_cases

#endif  // BPFEMU_TESTS_EXAMPLES_THROW_CASES_H_
