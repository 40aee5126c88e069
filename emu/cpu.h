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
//
// CurrentCpu() is inline and makes no call, as the kernel's
// smp_processor_id() / this_cpu_ptr() read a per-CPU register: the override
// is a thread-local (bpfemu_cpu_override, which native programs read too,
// native_abi.h), and the real CPU is the cpu_id field of the thread's
// restartable-sequences area, which the kernel keeps current on every
// migration (kernel/rseq.c rseq_update_cpu_node_id) and glibc registers
// for every thread (__rseq_offset, glibc 2.35). sched_getcpu() reads the
// same field behind a call; it is the fallback when rseq is not registered
// (GLIBC_TUNABLES=glibc.pthread.rseq=0, old kernels).

#ifndef BPFEMU_EMU_CPU_H_
#define BPFEMU_EMU_CPU_H_

#include <sched.h>
#include <sys/rseq.h>

#include <cstdint>

// The calling thread's emulated CPU, or -1 for its real CPU (SetThreadCpu,
// ScopedCpu). C linkage: natively built programs read it (native_abi.h).
extern "C" {
extern thread_local int bpfemu_cpu_override;
}

namespace bpfemu {

// Host possible-CPU count, parsed once like libbpf_num_possible_cpus().
int HostPossibleCpus();
// NR_CPUS of the host kernel's build (CONFIG_NR_CPUS, the bound of a CPUMAP's
// max_entries): /sys/devices/system/cpu/kernel_max + 1, read once; 8192
// (x86-64's MAXSMP ceiling) when it cannot be read.
uint32_t HostNrCpus();

int NumPossibleCpus();
// Sets the possible-CPU count for maps created from now on (n >= 1); n <= 0
// restores the host's count.
void SetNumPossibleCpus(int n);

// The emulated CPU of the calling thread, in [0, ncpus): the ScopedCpu
// override if one is active, else the host CPU the thread runs on, folded into
// range.
inline uint32_t CurrentCpu(uint32_t ncpus) {
  int cpu = bpfemu_cpu_override;
  if (cpu < 0) {
    cpu = -1;
    if (__rseq_size != 0) {
      const auto* rs = reinterpret_cast<const volatile struct rseq*>(
          static_cast<const char*>(__builtin_thread_pointer()) + __rseq_offset);
      cpu = static_cast<int>(rs->cpu_id);
    }
    if (cpu < 0) cpu = sched_getcpu();
    if (cpu < 0) cpu = 0;
  }
  const uint32_t c = static_cast<uint32_t>(cpu);
  return c < ncpus ? c : c % ncpus;
}

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
