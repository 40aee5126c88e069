// SPDX-License-Identifier: Apache-2.0
// tests/examples/task_regs.bpf.c's scenario, shared by
// task_regs_compare_test (the kernel against bpfemu's two faces) and
// task_regs_test (bpfemu alone): one run naming this process's parent
// (blocked in a system call, waiting for the test), and its answers as
// lines. The current task's registers are those of the bpf() call a test
// run is, compared by property (what the syscall entry fixes exactly; ip
// in code, sp in writable memory, cx the ip and r11 the flags as the
// syscall instruction leaves them); the parent's are compared by value
// where /proc/PID/syscall shows them (number, arguments, sp, ip).

#ifndef BPFEMU_TESTS_EXAMPLES_TASK_REGS_SCENARIO_H_
#define BPFEMU_TESTS_EXAMPLES_TASK_REGS_SCENARIO_H_

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "tests/examples/task_regs_cases.h"
}

namespace bpfemu::examples::task_regs {

// Runs `regs` on `c`: 0 or the test run's error.
using Run = std::function<int(tr_ctx* c)>;

inline std::string Hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof(b), "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// The permissions of the mapping of this process that holds `addr`
// ("r-xp"), or "none".
inline std::string MappingOf(uint64_t addr) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %7s", &lo, &hi, perms) == 3 &&
        addr >= lo && addr < hi) {
      return perms;
    }
  }
  return "none";
}

inline std::vector<std::string> RunScenario(const Run& run) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& key, const std::string& v) {
    out.push_back(key + "\t" + v);
  };
  tr_ctx c = {};
  c.pid = getppid();
  add("err", std::to_string(run(&c)));
  const tr_regs& r = c.cur;
  add("cur.orig_ax", std::to_string(r.orig_ax));
  add("cur.ax", std::to_string(static_cast<int64_t>(r.ax)));
  add("cur.di", std::to_string(r.di));
  add("cur.cs", Hex(r.cs));
  add("cur.ss", Hex(r.ss));
  add("cur.cx_is_ip", r.cx == r.ip ? "yes" : "no");
  add("cur.r11_is_flags", r.r11 == r.flags ? "yes" : "no");
  add("cur.flags_if_and_bit1", (r.flags & 0x202) == 0x202 ? "yes" : "no");
  add("cur.ip_mapping", MappingOf(r.ip).substr(0, 3));
  add("cur.sp_mapping", MappingOf(r.sp).substr(0, 3));
  add("same", std::to_string(c.same));
  add("other.found", std::to_string(c.found));
  const tr_regs& o = c.other;
  add("other.syscall", std::to_string(o.orig_ax) + " " + Hex(o.di) + " " +
                           Hex(o.si) + " " + Hex(o.dx) + " " + Hex(o.r10) +
                           " " + Hex(o.r8) + " " + Hex(o.r9));
  add("other.sp_ip", Hex(o.sp) + " " + Hex(o.ip));
  add("other.ax", std::to_string(static_cast<int64_t>(o.ax)));
  add("other.cx_is_ip", o.cx == o.ip ? "yes" : "no");
  add("other.cs_ss", Hex(o.cs) + " " + Hex(o.ss));
  return out;
}

}  // namespace bpfemu::examples::task_regs

#endif  // BPFEMU_TESTS_EXAMPLES_TASK_REGS_SCENARIO_H_
