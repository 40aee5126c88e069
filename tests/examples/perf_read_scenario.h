// SPDX-License-Identifier: Apache-2.0
// tests/examples/perf_read.bpf.c's scenario, shared by
// perf_read_compare_test (the kernel against bpfemu's two faces) and
// perf_read_test (bpfemu alone). On CPU 0 (the caller pins the thread),
// slots of `events` hold: [0] a bpf-output event of CPU 0, [1] one of CPU 1,
// [2] a task-clock event of this thread, [3] a cpu-clock event of CPU 0,
// [4] a task-clock event of this thread opened disabled, [5] a page-faults
// event of this thread, [6] a task-clock event of another thread, [7]
// nothing (an inherit event's store is refused). Each of PR_N flags (the
// slots, an index past them, BPF_F_CURRENT_CPU, flags outside the index
// mask) is read twice, with CPU time spent and 16 pages touched between;
// the lines hold the errors exactly and the counts and times by property
// (zero or not, running no more than enabled, what the second read
// added).

#ifndef BPFEMU_TESTS_EXAMPLES_PERF_READ_SCENARIO_H_
#define BPFEMU_TESTS_EXAMPLES_PERF_READ_SCENARIO_H_

#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "tests/examples/perf_read_cases.h"
}

namespace bpfemu::examples::perf_read {

struct Backend {
  // perf_event_open(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC): fd or -errno.
  std::function<int(const perf_event_attr&, int pid, int cpu)> open;
  // Stores perf event `fd` in slot `slot` of `events`: 0 or -errno.
  std::function<int(uint32_t slot, int fd)> update;
  // Runs read_all with `c` in its `res` map and reads `c` back: 0 or the
  // test run's error.
  std::function<int(pr_ctx* c)> run;
  std::function<void(int fd)> close;
};

inline perf_event_attr Attr(uint64_t config, bool disabled = false,
                            bool inherit = false) {
  perf_event_attr a;
  std::memset(&a, 0, sizeof(a));
  a.type = PERF_TYPE_SOFTWARE;
  a.size = sizeof(a);
  a.config = config;
  a.disabled = disabled ? 1 : 0;
  a.inherit = inherit ? 1 : 0;
  return a;
}

inline std::string Err(long v) { return "err " + std::to_string(v); }

// A read's value as a negative errno or a property.
inline std::string Classify(int64_t v) {
  if (v < 0 && v >= -4095) return Err(v);
  return v == 0 ? "0" : ">0";
}

inline std::string Delta(uint64_t a, uint64_t b) {
  if (b == a) return "same";
  if (b < a) return "down";
  return b - a >= 16 ? "up16" : "up";
}

inline void SpendCpu() {
  volatile uint64_t x = 0;
  for (int i = 0; i < 2000000; ++i) x = x + static_cast<uint64_t>(i);
}

inline std::vector<std::string> RunScenario(const Backend& b) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& key, const std::string& v) {
    out.push_back(key + "\t" + v);
  };
  std::vector<int> fds;
  fds.push_back(b.open(Attr(PERF_COUNT_SW_BPF_OUTPUT), -1, 0));
  fds.push_back(b.open(Attr(PERF_COUNT_SW_BPF_OUTPUT), -1, 1));
  fds.push_back(b.open(Attr(PERF_COUNT_SW_TASK_CLOCK), 0, -1));
  fds.push_back(b.open(Attr(PERF_COUNT_SW_CPU_CLOCK), -1, 0));
  fds.push_back(b.open(Attr(PERF_COUNT_SW_TASK_CLOCK, true), 0, -1));
  fds.push_back(b.open(Attr(PERF_COUNT_SW_PAGE_FAULTS), 0, -1));
  int other = -1;
  std::thread([&] {
    other = b.open(Attr(PERF_COUNT_SW_TASK_CLOCK), 0, -1);
  }).join();
  fds.push_back(other);
  const int inherit =
      b.open(Attr(PERF_COUNT_SW_TASK_CLOCK, false, true), 0, -1);
  for (size_t i = 0; i < fds.size(); ++i) {
    add("open." + std::to_string(i), fds[i] >= 0 ? "ok" : Err(fds[i]));
    if (fds[i] >= 0) {
      add("update." + std::to_string(i),
          std::to_string(b.update(static_cast<uint32_t>(i), fds[i])));
    }
  }
  add("open.inherit", inherit >= 0 ? "ok" : Err(inherit));
  if (inherit >= 0) add("update.inherit", std::to_string(b.update(7, inherit)));
  const uint64_t flags[PR_N] = {
      0,  1, 2, 3, 4, 5, 6, 7, PR_SLOTS, BPF_F_CURRENT_CPU, uint64_t{1} << 32,
      100};
  pr_ctx first = {}, second = {};
  std::memcpy(first.flags, flags, sizeof(flags));
  std::memcpy(second.flags, flags, sizeof(flags));
  add("run.1", std::to_string(b.run(&first)));
  SpendCpu();
  const size_t len = 16 * 4096;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < len; i += 4096) static_cast<volatile char*>(p)[i] = 1;
  add("run.2", std::to_string(b.run(&second)));
  munmap(p, len);
  for (int i = 0; i < PR_N; ++i) {
    const std::string k = "flags." + std::to_string(flags[i]);
    // How many page faults the reader took between the open and the first
    // read is its own (an interpreter takes some, the kernel's run none):
    // that count is compared by what the second read added.
    const bool faults = flags[i] == 5;
    auto count = [faults](int64_t v) {
      return faults && !(v < 0 && v >= -4095) ? std::string("count")
                                              : Classify(v);
    };
    add(k + ".read", count(first.ret[i]));
    add(k + ".read_value", std::to_string(first.vret[i]));
    const pr_value& v1 = first.v[i];
    const pr_value& v2 = second.v[i];
    if (first.vret[i] != 0) {
      add(k + ".zeroed",
          v1.counter == 0 && v1.enabled == 0 && v1.running == 0 ? "yes" : "no");
      continue;
    }
    add(k + ".counter", count(static_cast<int64_t>(v1.counter)));
    add(k + ".enabled", Classify(static_cast<int64_t>(v1.enabled)));
    add(k + ".running_le_enabled", v1.running <= v1.enabled ? "yes" : "no");
    add(k + ".running", Classify(static_cast<int64_t>(v1.running)));
    add(k + ".second", std::to_string(second.vret[i]) + " " +
                           Delta(v1.counter, v2.counter) + " " +
                           Delta(v1.enabled, v2.enabled));
  }
  add("short.ret", std::to_string(first.short_ret));
  bool zero = true;
  for (uint8_t x : first.short_buf) zero = zero && x == 0;
  add("short.zeroed", zero ? "yes" : "no");
  for (int fd : fds) {
    if (fd >= 0) b.close(fd);
  }
  if (inherit >= 0) b.close(inherit);
  return out;
}

}  // namespace bpfemu::examples::perf_read

#endif  // BPFEMU_TESTS_EXAMPLES_PERF_READ_SCENARIO_H_
