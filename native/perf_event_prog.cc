// SPDX-License-Identifier: Apache-2.0
// native/perf_event_prog.h: kernel/events/core.c bpf_overflow_handler (the
// context of a perf_event program) and kernel/trace/bpf_trace.c
// bpf_perf_prog_read_value / bpf_read_branch_records over the emulated
// perf events of emu/perf_event.h.
#include "native/perf_event_prog.h"

#include <linux/bpf.h>
#include <ucontext.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "bpfemu/native_abi.h"
#include "emu/perf_event.h"

namespace bpfemu::native {
namespace {

struct PerfSampleFrame {
  struct bpf_perf_event_data ctx = {};
  std::shared_ptr<PerfEvent> event;
  const std::vector<struct perf_branch_entry>* branches = nullptr;
  bool user_mode = true;
};
thread_local PerfSampleFrame* perf_sample = nullptr;

// The frame of the sample whose context `ctx` is, or nullptr.
PerfSampleFrame* FrameOf(const void* ctx) {
  PerfSampleFrame* f = perf_sample;
  return f != nullptr && ctx == &f->ctx ? f : nullptr;
}

// The calling thread's registers as an interrupt of its user code would
// save them: the general registers of getcontext(3), the code and stack
// segments and the flags of this thread.
__attribute__((noinline)) void CaptureUserRegs(bpf_user_pt_regs_t* regs) {
  std::memset(regs, 0, sizeof(*regs));
#if defined(__x86_64__)
  ucontext_t uc;
  if (getcontext(&uc) == 0) {
    const greg_t* g = uc.uc_mcontext.gregs;
    regs->r15 = static_cast<unsigned long>(g[REG_R15]);
    regs->r14 = static_cast<unsigned long>(g[REG_R14]);
    regs->r13 = static_cast<unsigned long>(g[REG_R13]);
    regs->r12 = static_cast<unsigned long>(g[REG_R12]);
    regs->rbp = static_cast<unsigned long>(g[REG_RBP]);
    regs->rbx = static_cast<unsigned long>(g[REG_RBX]);
    regs->r11 = static_cast<unsigned long>(g[REG_R11]);
    regs->r10 = static_cast<unsigned long>(g[REG_R10]);
    regs->r9 = static_cast<unsigned long>(g[REG_R9]);
    regs->r8 = static_cast<unsigned long>(g[REG_R8]);
    regs->rax = static_cast<unsigned long>(g[REG_RAX]);
    regs->rcx = static_cast<unsigned long>(g[REG_RCX]);
    regs->rdx = static_cast<unsigned long>(g[REG_RDX]);
    regs->rsi = static_cast<unsigned long>(g[REG_RSI]);
    regs->rdi = static_cast<unsigned long>(g[REG_RDI]);
    regs->rip = static_cast<unsigned long>(g[REG_RIP]);
    regs->rsp = static_cast<unsigned long>(g[REG_RSP]);
  }
  // An interrupt is no system call: orig_ax is -1 (the entry code's).
  regs->orig_rax = ~0ul;
  unsigned long cs = 0, ss = 0, flags = 0;
  asm volatile("mov %%cs, %0" : "=r"(cs));
  asm volatile("mov %%ss, %0" : "=r"(ss));
  asm volatile("pushfq; popq %0" : "=r"(flags));
  regs->cs = cs & 0xffff;
  regs->ss = ss & 0xffff;
  regs->eflags = flags;
#endif
}

bool UserModeRegs(const bpf_user_pt_regs_t& regs) {
#if defined(__x86_64__)
  return (regs.cs & 3) == 3;  // user_mode(): the CPL of the saved CS
#else
  (void)regs;
  return true;
#endif
}

}  // namespace

PerfEventOutcome RunPerfEventSample(
    const PerfEventSample& sample, absl::FunctionRef<uint32_t(void* ctx)> run) {
  PerfEventOutcome out;
  std::shared_ptr<PerfEvent> ev = PerfEventFromFd(sample.event_fd);
  if (ev == nullptr) {
    out.err = -EBADF;
    return out;
  }
  // A disabled event counts nothing and never overflows.
  if (!ev->enabled()) {
    out.err = -ENODATA;
    return out;
  }
  PerfSampleFrame frame;
  frame.event = ev;
  if (sample.regs) {
    frame.ctx.regs = *sample.regs;
  } else {
    CaptureUserRegs(&frame.ctx.regs);
  }
  frame.user_mode = UserModeRegs(frame.ctx.regs);
  frame.ctx.sample_period =
      sample.period ? *sample.period : ev->sample_period();
  frame.ctx.addr = sample.addr;
  if (sample.branch_stack) frame.branches = &*sample.branch_stack;
  PerfSampleFrame* const outer = perf_sample;
  perf_sample = &frame;
  out.ret = run(&frame.ctx);
  perf_sample = outer;
  return out;
}

long PerfProgReadValue(const void* ctx, void* buf, uint32_t size) {
  long err = -EINVAL;
  if (size == sizeof(struct bpf_perf_event_value)) {
    if (PerfSampleFrame* f = FrameOf(ctx); f != nullptr) {
      uint64_t counter = 0, enabled = 0, running = 0;
      err = f->event->ReadLocal(bpfemu_get_smp_processor_id(), &counter,
                                &enabled, &running);
      if (err == 0) {
        struct bpf_perf_event_value v = {};
        v.counter = counter;
        v.enabled = enabled;
        v.running = running;
        std::memcpy(buf, &v, sizeof(v));
        return 0;
      }
    }
  }
  if (buf != nullptr) std::memset(buf, 0, size);
  return err;
}

long ReadBranchRecords(const void* ctx, void* buf, uint32_t size,
                       uint64_t flags) {
  constexpr uint32_t kEntry = sizeof(struct perf_branch_entry);
  if ((flags & ~uint64_t{BPF_F_GET_BRANCH_RECORDS_SIZE}) != 0) return -EINVAL;
  PerfSampleFrame* f = FrameOf(ctx);
  if (f == nullptr) return -EINVAL;
  if (f->branches == nullptr) return -ENOENT;  // no PERF_SAMPLE_BRANCH_STACK
  const uint64_t bytes = uint64_t{kEntry} * f->branches->size();
  if (flags & BPF_F_GET_BRANCH_RECORDS_SIZE) return static_cast<long>(bytes);
  if (buf == nullptr || size % kEntry != 0) return -EINVAL;
  const uint64_t n = bytes < size ? bytes : size;
  if (n != 0) std::memcpy(buf, f->branches->data(), n);
  return static_cast<long>(n);
}

bool PerfSampleInUserMode() {
  const PerfSampleFrame* f = perf_sample;
  return f != nullptr && f->user_mode;
}

}  // namespace bpfemu::native

extern "C" long bpfemu_perf_prog_read_value(void* ctx, void* buf, __u32 size) {
  return bpfemu::native::PerfProgReadValue(ctx, buf, size);
}

extern "C" long bpfemu_read_branch_records(void* ctx, void* buf, __u32 size,
                                           __u64 flags) {
  return bpfemu::native::ReadBranchRecords(ctx, buf, size, flags);
}
