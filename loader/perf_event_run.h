// SPDX-License-Identifier: Apache-2.0
// A loaded BPF_PROG_TYPE_PERF_EVENT program run as a sample of its event
// fires (kernel/events/core.c bpf_overflow_handler, the program attached
// with PERF_EVENT_IOC_SET_BPF): native/perf_event_prog.h builds the
// context and the helpers' state; this runs a native or bytecode program
// on it, for tests that compare it with a program the kernel ran from a
// real event's overflow.

#ifndef BPFEMU_LOADER_PERF_EVENT_RUN_H_
#define BPFEMU_LOADER_PERF_EVENT_RUN_H_

#include "loader/object.h"
#include "native/perf_event_prog.h"

namespace bpfemu::native {

// One sample of `sample.event_fd` (an emulated perf event) run by `prog`.
PerfEventOutcome RunPerfEventSample(const Program& prog,
                                    const PerfEventSample& sample);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_PERF_EVENT_RUN_H_
