// SPDX-License-Identifier: Apache-2.0
#include "emu/cpu.h"

#include <sched.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bpfemu {
namespace {

// Population count of a CPU list such as "0-3,8,10-11" (parse_cpu_mask_str in
// libbpf); 0 on a malformed list.
int CountCpuList(const char* s) {
  int count = 0;
  while (*s != '\0' && *s != '\n') {
    char* end;
    long first = std::strtol(s, &end, 10);
    if (end == s || first < 0) return 0;
    long last = first;
    s = end;
    if (*s == '-') {
      ++s;
      last = std::strtol(s, &end, 10);
      if (end == s || last < first) return 0;
      s = end;
    }
    count += static_cast<int>(last - first + 1);
    if (*s == ',') ++s;
  }
  return count;
}

int ReadHostPossibleCpus() {
  int n = 0;
  if (FILE* f = std::fopen("/sys/devices/system/cpu/possible", "re")) {
    char buf[256] = {};
    if (std::fgets(buf, sizeof(buf), f) != nullptr) n = CountCpuList(buf);
    std::fclose(f);
  }
  return n > 0 ? n : 1;
}

std::atomic<int> g_possible_cpus{0};  // 0: use the host's count

}  // namespace
}  // namespace bpfemu

extern "C" {
thread_local int bpfemu_cpu_override = -1;
}

namespace bpfemu {

int HostPossibleCpus() {
  static const int n = ReadHostPossibleCpus();
  return n;
}

uint32_t HostNrCpus() {
  static const uint32_t n = [] {
    uint32_t max = 8191;
    if (FILE* f = std::fopen("/sys/devices/system/cpu/kernel_max", "r")) {
      unsigned v;
      if (std::fscanf(f, "%u", &v) == 1 && v < 8192) max = v;
      std::fclose(f);
    }
    return max + 1;
  }();
  return n;
}

int NumPossibleCpus() {
  int n = g_possible_cpus.load(std::memory_order_relaxed);
  return n > 0 ? n : HostPossibleCpus();
}

void SetNumPossibleCpus(int n) {
  g_possible_cpus.store(n > 0 ? n : 0, std::memory_order_relaxed);
}

void SetThreadCpu(int cpu) { bpfemu_cpu_override = cpu < 0 ? -1 : cpu; }

ScopedCpu::ScopedCpu(int cpu) : previous_(bpfemu_cpu_override) {
  bpfemu_cpu_override = cpu;
}

ScopedCpu::~ScopedCpu() { bpfemu_cpu_override = previous_; }

}  // namespace bpfemu
