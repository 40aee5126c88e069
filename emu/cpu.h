// SPDX-License-Identifier: Apache-2.0
// File: cpu.h
//
// Emulated CPUs. The kernel sizes per-CPU values, per-CPU free lists and LRU
// lists by num_possible_cpus(), and every map operation runs on one CPU
// (smp_processor_id()). bpfemu models both explicitly:
//
//   * NumPossibleCpus(): the number of possible CPUs new maps are built for.
//     Defaults to the host's count as libbpf_num_possible_cpus() reports it
//     (/sys/devices/system/cpu/possible); SetNumPossibleCpus() overrides it
//     for maps created afterwards. A map records the count it was built with.
//   * CurrentCpu(): the CPU an operation issued by this thread runs on. By
//     default the thread's real CPU (sched_getcpu()); ScopedCpu pins the
//     calling thread to an emulated CPU so tests are deterministic.

#ifndef BPFEMU_EMU_CPU_H_
#define BPFEMU_EMU_CPU_H_

#include <cstdint>

namespace bpfemu {

// Host possible-CPU count, parsed once like libbpf_num_possible_cpus().
int HostPossibleCpus();

int NumPossibleCpus();
// Sets the possible-CPU count for maps created from now on (n >= 1); n <= 0
// restores the host's count.
void SetNumPossibleCpus(int n);

// The emulated CPU of the calling thread, in [0, ncpus): the ScopedCpu
// override if one is active, else the host CPU the thread runs on, folded into
// range.
uint32_t CurrentCpu(uint32_t ncpus);

// Sets (cpu >= 0) or clears (cpu < 0) the calling thread's emulated CPU.
void SetThreadCpu(int cpu);

// Pins the calling thread to emulated CPU `cpu` for the object's lifetime.
class ScopedCpu {
 public:
  explicit ScopedCpu(int cpu);
  ~ScopedCpu();
  ScopedCpu(const ScopedCpu&) = delete;
  ScopedCpu& operator=(const ScopedCpu&) = delete;

 private:
  int previous_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_CPU_H_
