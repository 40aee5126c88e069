// SPDX-License-Identifier: Apache-2.0
// File: ctx_access_rules.h
//
// The program types whose context accesses bpfemu checks at load, as the
// verifier's check_ctx_access asks the type's is_valid_access: a refused
// access fails the load with EACCES and the line
// "invalid bpf_context access off=<off> size=<size>".
// - BPF_PROG_TYPE_PERF_EVENT: emu/perf_event_ctx.h.
// - BPF_PROG_TYPE_KPROBE: kernel/trace/bpf_trace.c
//   kprobe_prog_is_valid_access.
// - BPF_PROG_TYPE_LIRC_MODE2: drivers/media/rc/bpf-lirc.c
//   lirc_mode2_is_valid_access.

#ifndef BPFEMU_EMU_CTX_ACCESS_RULES_H_
#define BPFEMU_EMU_CTX_ACCESS_RULES_H_

#include <linux/bpf.h>

#include <cstdint>

#include "emu/perf_event_ctx.h"

namespace bpfemu {

// kprobe_prog_is_valid_access(): reads only, inside struct pt_regs (x86-64:
// 21 unsigned longs), at a multiple of the access size (any of 1, 2, 4 or
// 8 bytes), the access ending inside the struct.
inline bool KprobeCtxAccessOk(int32_t off, uint32_t size, bool write) {
  constexpr int64_t kPtRegsSize = 21 * 8;  // sizeof(struct pt_regs)
  if (off < 0 || off >= kPtRegsSize) return false;
  if (write) return false;
  if (size == 0 || off % static_cast<int32_t>(size) != 0) return false;
  return int64_t{off} + size <= kPtRegsSize;
}

// lirc_mode2_is_valid_access(): the context is one u32 sample, read whole.
inline bool LircMode2CtxAccessOk(int32_t off, uint32_t size, bool write) {
  return !write && off == 0 && size == sizeof(uint32_t);
}

using CtxAccessOkFn = bool (*)(int32_t off, uint32_t size, bool write);

// The load-time rule of `prog_type`'s context, or nullptr where bpfemu has
// none (those contexts are checked as they are run).
inline CtxAccessOkFn CtxAccessRule(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_PERF_EVENT:
      return PerfEventCtxAccessOk;
    case BPF_PROG_TYPE_KPROBE:
      return KprobeCtxAccessOk;
    case BPF_PROG_TYPE_LIRC_MODE2:
      return LircMode2CtxAccessOk;
    default:
      return nullptr;
  }
}

}  // namespace bpfemu

#endif  // BPFEMU_EMU_CTX_ACCESS_RULES_H_
