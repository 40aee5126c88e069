// SPDX-License-Identifier: Apache-2.0
// Signals a program sends (kernel/trace/bpf_trace.c bpf_send_signal_common,
// behind bpf_send_signal, bpf_send_signal_thread and the
// bpf_send_signal_task kfunc): sent as the kernel sends them, a kernel
// siginfo (SI_KERNEL) queued when the target is this process, a plain
// kill/tgkill to another one. A harness that runs arbitrary programs in
// its own process (the fuzzers) installs a sink that receives them
// instead: a program may signal its own task with any signal, SIGKILL and
// SIGSEGV included, which would end or derail the harness.
#ifndef BPFEMU_EMU_SIGNAL_H_
#define BPFEMU_EMU_SIGNAL_H_

#include <cstdint>

namespace bpfemu {

struct SentSignal {
  long tgid;       // the target's thread group
  long tid;        // the target thread (thread-directed signals)
  int sig;         // 1..64
  bool thread;     // PIDTYPE_PID: to the thread, not the group
  uint64_t value;  // si_value (bpf_send_signal_task), 0 otherwise
};

// Receives every signal instead of the target; nullptr (the default)
// delivers them.
using SignalSink = void (*)(const SentSignal&);
void SetSignalSink(SignalSink sink);

// Sends `s` (or hands it to the sink): 0, or -errno of the system call.
long SendProgramSignal(const SentSignal& s);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_SIGNAL_H_
