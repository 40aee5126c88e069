// SPDX-License-Identifier: Apache-2.0
// tests/examples/timer.bpf.c's scenario, shared by timer_compare_test (the
// kernel and bpfemu) and timer_test (bpfemu against the recorded kernel,
// testdata/timer.expected): phase 0, a wait, phase 1, a wait, with the
// maps read after each wait. A backend runs the program and waits: the
// kernel in real time, bpfemu by advancing its emulated clock
// (emu/timer.h AdvanceTimers) by the same amount.
//
// Record format: one line per key, tab-separated: "run<phase>" err retval;
// "rets" the 48 helper returns; "p<phase>.arr<i>" / "p<phase>.hash<k>"
// count self_cancel last_key of each element after that phase's wait
// (the timer field reads as zero, and is checked to), or "absent".

#ifndef BPFEMU_TESTS_EXAMPLES_TIMER_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_TIMER_CASES_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace bpfemu::examples::timer {

// timer.bpf.c's struct elem.
struct Elem {
  uint64_t count;
  uint8_t t[16];
  int64_t self_cancel;
  uint64_t last_key;
};
constexpr uint32_t kRets = 48;
// How long the test waits after each phase: every timer but the 10 s one
// of phase 1 is due after 3 ms.
constexpr uint64_t kWaitNs = 200 * 1000 * 1000;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual int SetPhase(uint32_t phase) = 0;
  // BPF_PROG_TEST_RUN of `timers`: the run's error, *retval its return.
  virtual int Run(uint32_t* retval) = 0;
  virtual void Wait(uint64_t ns) = 0;
  // 0 or -errno (-ENOENT for an absent hash key).
  virtual int LookupArr(uint32_t key, Elem* e) = 0;
  virtual int LookupHash(uint32_t key, Elem* e) = 0;
  virtual int LookupRet(uint32_t slot, int64_t* ret) = 0;
};

inline std::string ElemLine(const std::string& name, int err, const Elem& e) {
  if (err != 0) return name + "\tabsent " + std::to_string(err) + "\n";
  static const uint8_t zero[16] = {};
  return name + "\t" + std::to_string(e.count) + " " +
         std::to_string(e.self_cancel) + " " + std::to_string(e.last_key) +
         (std::memcmp(e.t, zero, 16) == 0 ? "" : " timer-bytes-nonzero") + "\n";
}

// Runs the scenario; the record's lines in order.
inline std::vector<std::string> RunScenario(Backend& b) {
  std::vector<std::string> out;
  for (uint32_t phase = 0; phase < 2; ++phase) {
    uint32_t retval = 0;
    int err = b.SetPhase(phase);
    if (err == 0) err = b.Run(&retval);
    out.push_back("run" + std::to_string(phase) + "\t" + std::to_string(err) +
                  " " + std::to_string(retval) + "\n");
    b.Wait(kWaitNs);
    const std::string p = "p" + std::to_string(phase) + ".";
    for (uint32_t i = 0; i < 4; ++i) {
      Elem e{};
      out.push_back(
          ElemLine(p + "arr" + std::to_string(i), b.LookupArr(i, &e), e));
    }
    for (uint32_t k = 1; k < 4; ++k) {
      Elem e{};
      out.push_back(
          ElemLine(p + "hash" + std::to_string(k), b.LookupHash(k, &e), e));
    }
  }
  std::string rets = "rets\t";
  for (uint32_t i = 0; i < kRets; ++i) {
    int64_t r = 0;
    if (b.LookupRet(i, &r) != 0) r = INT64_MIN;
    rets += (i ? " " : "") + std::to_string(r);
  }
  out.push_back(rets + "\n");
  return out;
}

}  // namespace bpfemu::examples::timer

#endif  // BPFEMU_TESTS_EXAMPLES_TIMER_CASES_H_
