// SPDX-License-Identifier: Apache-2.0
#include "emu/signal.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace bpfemu {
namespace {

std::atomic<SignalSink> g_sink{nullptr};

}  // namespace

void SetSignalSink(SignalSink sink) {
  g_sink.store(sink, std::memory_order_release);
}

long SendProgramSignal(const SentSignal& s) {
  if (SignalSink sink = g_sink.load(std::memory_order_acquire)) {
    sink(s);
    return 0;
  }
  long r;
  if (s.tgid == getpid()) {
    // SEND_SIG_PRIV's siginfo: si_code SI_KERNEL, no sender. Queuing it is
    // allowed to a process that signals itself.
    siginfo_t info;
    std::memset(&info, 0, sizeof(info));
    info.si_signo = s.sig;
    info.si_code = SI_KERNEL;
    info.si_value.sival_ptr = reinterpret_cast<void*>(s.value);
    r = s.thread ? syscall(SYS_rt_tgsigqueueinfo, s.tgid, s.tid, s.sig, &info)
                 : syscall(SYS_rt_sigqueueinfo, s.tgid, s.sig, &info);
  } else {
    r = s.thread ? syscall(SYS_tgkill, s.tgid, s.tid, s.sig)
                 : kill(static_cast<pid_t>(s.tgid), s.sig);
  }
  return r == 0 ? 0 : -errno;
}

}  // namespace bpfemu
