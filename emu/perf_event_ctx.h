// SPDX-License-Identifier: Apache-2.0
// File: perf_event_ctx.h
//
// The context accesses a BPF_PROG_TYPE_PERF_EVENT program may make, checked
// at load (kernel/trace/bpf_trace.c pe_prog_is_valid_access): struct
// bpf_perf_event_data is read only; sample_period and addr are u64 fields
// that may be read whole or narrowly (a 1, 2 or 4 byte part inside the
// field: bpf_ctx_narrow_access_ok); every other offset is a register of
// regs, read as a whole unsigned long at a multiple of the access size.
// A refused access fails the load with EACCES and the verifier's line
// "invalid bpf_context access off=<off> size=<size>" (check_ctx_access).

#ifndef BPFEMU_EMU_PERF_EVENT_CTX_H_
#define BPFEMU_EMU_PERF_EVENT_CTX_H_

#include <linux/bpf_perf_event.h>

#include <cstddef>
#include <cstdint>

namespace bpfemu {

inline bool PerfEventCtxAccessOk(int32_t off, uint32_t size, bool write) {
  using D = struct bpf_perf_event_data;
  if (off < 0 || static_cast<size_t>(off) >= sizeof(D) || write) return false;
  if (size == 0 || off % static_cast<int32_t>(size) != 0) return false;
  const auto in_u64 = [&](size_t field) {
    return static_cast<size_t>(off) >= field &&
           static_cast<size_t>(off) < field + sizeof(uint64_t);
  };
  if (in_u64(offsetof(D, sample_period)) || in_u64(offsetof(D, addr))) {
    // bpf_ctx_narrow_access_ok: a power-of-two part inside the u64.
    return (size == 1 || size == 2 || size == 4 || size == 8) &&
           (static_cast<uint32_t>(off) & 7u) + size <= 8;
  }
  return size == sizeof(long);
}

}  // namespace bpfemu

#endif  // BPFEMU_EMU_PERF_EVENT_CTX_H_
