// SPDX-License-Identifier: Apache-2.0
// loader/perf_event_run.h: kernel/events/core.c bpf_overflow_handler over a
// loaded program (the context and helpers are native/perf_event_prog.cc).
#include "loader/perf_event_run.h"

namespace bpfemu::native {

PerfEventOutcome RunPerfEventSample(const Program& prog,
                                    const PerfEventSample& sample) {
  return RunPerfEventSample(sample, [&](void* ctx) { return prog.Run(ctx); });
}

}  // namespace bpfemu::native
