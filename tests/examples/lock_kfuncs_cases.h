// SPDX-License-Identifier: Apache-2.0
// What tests/examples/lock_kfuncs.bpf.c and lock_bad.bpf.c give on the 6.18
// kernel (measured with BPF_PROG_TEST_RUN and the verifier log as root),
// for lock_kfuncs_compare_test (which checks the kernel still gives them)
// and lock_kfuncs_test (bpfemu without root).

#ifndef BPFEMU_TESTS_EXAMPLES_LOCK_KFUNCS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_LOCK_KFUNCS_CASES_H_

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::examples::lock_kfuncs {

// struct answers and struct elem of lock_kfuncs.bpf.c.
struct Answers {
  int64_t r[8];
};
struct Elem {
  uint32_t lock;
  uint32_t count;
};

inline constexpr int64_t kUnset = -1000;

struct Good {
  std::string prog;
  uint32_t retval;
  std::vector<int64_t> r;   // out's first answers
  uint32_t count0, count1;  // elems[0].count, elems[1].count after one run
};

inline std::vector<Good> GoodCases() {
  return {
      {"preempt_nest", 7, {1, 2}, 0, 0},
      {"irq_nest", 8, {3}, 0, 0},
      // The second lookup of the same element: an AA deadlock at run time.
      {"res_lock_aa", 0, {0, -EDEADLK, 0}, 11, 0},
      {"res_lock_irqsave", 0, {0, 0, -EDEADLK}, 1000, 100},
  };
}

struct Bad {
  std::string prog;
  int load_err;     // the kernel's load error
  std::string why;  // the verifier's log line (a prefix of it)
};

inline std::vector<Bad> BadCases() {
  return {
      {"preempt_open_at_exit", -EINVAL,
       "BPF_EXIT instruction in main prog cannot be used inside "
       "bpf_preempt_disable-ed region"},
      {"preempt_enable_unmatched", -EINVAL,
       "unmatched attempt to enable preemption (kernel function "
       "bpf_preempt_enable)"},
      {"irq_open_at_exit", -EINVAL,
       "BPF_EXIT instruction in main prog cannot be used inside "
       "bpf_local_irq_save-ed region"},
      // The kernel's line goes on: ", expected id=2 acquired at
      // insn_idx=7" (bpfemu's run knows no ids or instruction indexes).
      {"irq_out_of_order", -EACCES, "cannot restore irq state out of order"},
      {"res_lock_held_at_exit", -EINVAL,
       "BPF_EXIT instruction in main prog cannot be used inside "
       "bpf_spin_lock-ed region"},
      {"res_unlock_unheld", -EINVAL,
       "bpf_res_spin_unlock without taking a lock"},
      {"res_lock_on_stack", -EINVAL,
       "arg#0 doesn't point to map value or allocated object"},
  };
}

}  // namespace bpfemu::examples::lock_kfuncs

#endif  // BPFEMU_TESTS_EXAMPLES_LOCK_KFUNCS_CASES_H_
