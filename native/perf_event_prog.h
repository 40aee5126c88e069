// SPDX-License-Identifier: Apache-2.0
// A BPF_PROG_TYPE_PERF_EVENT program run as a sample of its event fires
// (kernel/events/core.c __perf_event_overflow -> bpf_overflow_handler, which
// hands the program a struct bpf_perf_event_data_kern: the sample's
// registers and struct perf_sample_data), and the two helpers only such a
// program is offered (kernel/trace/bpf_trace.c pe_prog_func_proto):
// bpf_perf_prog_read_value (perf_event_read_local on the sampling event)
// and bpf_read_branch_records (the sample's branch stack), for both faces.
//
// The event is an emulated perf event of this process (emu/perf_event.h:
// PerfEventOpen of a software event, whose counts ReadLocal models); the
// sample is what the PMU would hand over: the interrupted registers (by
// default the calling thread's own user-mode registers, as a cpu-clock or
// task-clock sample with exclude_kernel interrupts user code), the period,
// the address, and a branch stack only where a test gives one (software
// events have none: the kernel refuses branch_sample_type for them).

#ifndef BPFEMU_NATIVE_PERF_EVENT_PROG_H_
#define BPFEMU_NATIVE_PERF_EVENT_PROG_H_

#include <linux/bpf_perf_event.h>
#include <linux/perf_event.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"

namespace bpfemu::native {

struct PerfEventSample {
  // The emulated perf event (emu/perf_event.h) the program is attached to.
  int event_fd = -1;
  // The interrupted registers (bpf_user_pt_regs_t, struct pt_regs on
  // x86-64); none: the calling thread's, captured as the sample fires, in
  // user mode.
  std::optional<bpf_user_pt_regs_t> regs;
  // perf_sample_data's period: none takes the event's
  // (PerfEvent::sample_period: the fixed period, or a clock event's in
  // frequency mode; another event's adapted period is the test's to give).
  std::optional<uint64_t> period;
  uint64_t addr = 0;  // perf_sample_data's addr (0: software events)
  // The sample's branch stack (PERF_SAMPLE_BRANCH_STACK in the sample's
  // flags); none for events without one, such as every software event.
  std::optional<std::vector<struct perf_branch_entry>> branch_stack;
};

struct PerfEventOutcome {
  // Whether the sample fired: the event exists and is enabled; else the
  // program did not run (errno: -EBADF no emulated event behind event_fd,
  // -ENODATA the event is disabled).
  int err = 0;
  uint32_t ret = 0;  // the program's return (0: the sample is not output)
};

// __perf_event_overflow with a BPF program attached: builds the context
// (struct bpf_perf_event_data: regs, sample_period, addr) and runs `run`
// on it with the sample's helpers' state in place.
PerfEventOutcome RunPerfEventSample(const PerfEventSample& sample,
                                    absl::FunctionRef<uint32_t(void* ctx)> run);

// bpf_perf_prog_read_value: `size` must be sizeof(struct
// bpf_perf_event_value) (else -EINVAL); the sampling event's count, enabled
// and running times (perf_event_read_local's errors as the emulated event
// answers them). On an error the buffer is zeroed. -EINVAL outside a
// sample's run or for another context.
long PerfProgReadValue(const void* ctx, void* buf, uint32_t size);

// bpf_read_branch_records: flags but BPF_F_GET_BRANCH_RECORDS_SIZE
// -EINVAL; no branch stack -ENOENT; with the flag the stack's size in
// bytes; buf NULL or size not whole struct perf_branch_entry's -EINVAL;
// else the entries copied (at most size bytes) and their size.
long ReadBranchRecords(const void* ctx, void* buf, uint32_t size,
                       uint64_t flags);

// Whether the sample being run on this thread interrupted user code (its
// registers are user-mode ones): then the kernel's callchain for the
// sample has no kernel part (get_perf_callchain), which bpf_get_stackid /
// bpf_get_stack of a perf_event program without PERF_SAMPLE_CALLCHAIN
// read.
bool PerfSampleInUserMode();

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_PERF_EVENT_PROG_H_
