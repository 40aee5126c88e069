// SPDX-License-Identifier: Apache-2.0
// What tests/examples/perf_event_prog.bpf.c records per sample (its struct
// seen, field for field), and a text of it for comparisons.

#ifndef BPFEMU_TESTS_EXAMPLES_PERF_EVENT_PROG_SEEN_H_
#define BPFEMU_TESTS_EXAMPLES_PERF_EVENT_PROG_SEEN_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace bpfemu::examples {

struct PerfEventSeen {
  uint64_t samples, period, addr;
  uint32_t period_lo, period_b0, user_mode, ip_set, sp_set, pad;
  int64_t read_ret;
  uint32_t counter_set, enabled_set, running_set, enabled_ge_running;
  int64_t short_ret;
  uint32_t short_zeroed, long_zeroed;
  int64_t long_ret;
  int64_t br_size, br_read, br_flags, br_odd, br_null, br_both;
  int64_t kstackid, ustackid, kstack, ustack, stack_flags;
  uint64_t br_from0, br_to1;
};
static_assert(sizeof(PerfEventSeen) == 200);

// Every field but the sample count.
inline std::string DumpSeen(const PerfEventSeen& s) {
  return absl::StrCat(
      "period ", s.period, " addr ", s.addr, " period_lo ", s.period_lo,
      " period_b0 ", s.period_b0, " user_mode ", s.user_mode, " ip ", s.ip_set,
      " sp ", s.sp_set, " read ", s.read_ret, " counter ", s.counter_set,
      " enabled ", s.enabled_set, " running ", s.running_set,
      " enabled>=running ", s.enabled_ge_running, " short ", s.short_ret, "/",
      s.short_zeroed, " long ", s.long_ret, "/", s.long_zeroed, " br_size ",
      s.br_size, " br_read ", s.br_read, " br_flags ", s.br_flags, " br_odd ",
      s.br_odd, " br_null ", s.br_null, " br_both ", s.br_both, " kstackid ",
      s.kstackid, " ustackid ", s.ustackid, " kstack ", s.kstack, " ustack ",
      s.ustack, " stack_flags ", s.stack_flags, " br_from0 ", s.br_from0,
      " br_to1 ", s.br_to1);
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_PERF_EVENT_PROG_SEEN_H_
