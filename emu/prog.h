// SPDX-License-Identifier: Apache-2.0
// File: prog.h
//
// Emulated BPF programs: descriptors for natively compiled program functions
// and the way the kernel runs them. Mirrors the bookkeeping of
// kernel/bpf/syscall.c (bpf_prog_load: a new fd and a process-wide id;
// bpf_prog_get: EBADF / EINVAL) and the tail-call rules of
// kernel/bpf/core.c (___bpf_prog_run JMP_TAIL_CALL, MAX_TAIL_CALL_CNT).
//
// A program is a C function `int fn(void *ctx)` (the native build of a BPF
// source, see native/). ProgRun() calls it the way bpf_prog_run() does: the
// tail-call budget starts at zero for every invocation, and a successful
// bpf_tail_call() (fd_array.h) leaves the running program for good - it is
// a longjmp() back into ProgRun(), which then enters the target with the same
// context. Native programs are C code, so unwinding their frames this way
// skips nothing.
//
// Program fds are real descriptors (a memfd each), so they never collide with
// other files; ids come from the system-wide counter of bpffs.h. A program
// lives while one of its fds or a PROG_ARRAY slot holds it (the kernel's
// bpf_prog_put); then its bytecode and the maps it uses are released and
// its id resolves no more.

#ifndef BPFEMU_EMU_PROG_H_
#define BPFEMU_EMU_PROG_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/version.h"

// The current run's TailRunHead, or NULL outside ProgRun(). C linkage:
// natively built programs read it (native_abi.h).
extern "C" {
extern thread_local void* bpfemu_tail_run_current;
}

namespace bpfemu {

// include/linux/bpf.h: MAX_TAIL_CALL_CNT.
inline constexpr uint32_t kMaxTailCallCnt = 33;

using ProgFunc = int (*)(void* ctx);

class Map;

// What a program holds besides its code: the maps BPF_PROG_BIND_MAP bound
// to it (kept alive as long as the program, as prog->aux->used_maps keeps
// them; in bind order, each once), and its run statistics, counted while
// BPF_ENABLE_STATS is on (kernel/bpf/syscall.c bpf_prog_get_stats:
// run_time_ns, run_cnt). The libbpf layer fills and reads them
// (compat/libbpf_extra.cc).
// What bpf_prog_info reports of a program beyond its type, id and name
// (kernel/bpf/syscall.c bpf_prog_get_info_by_fd), recorded once by the
// load (loader/bytecode.cc ProgLoadBytecode, as bpf_prog_load records it).
struct ProgLoadRecord {
  uint8_t tag[8] = {};     // ProgTag
  uint64_t load_time = 0;  // CLOCK_BOOTTIME, ns (bpf_prog_info.load_time)
  uint32_t uid = 0;        // created_by_uid
  bool gpl = false;
  // The instructions as loaded, each map reference showing the map's id
  // (bpf_insn_prepare_dump); an emulated program is not rewritten.
  std::vector<uint64_t> xlated;
  std::vector<uint32_t> map_ids;  // the maps the instructions name, in order
  uint32_t btf_id = 0;            // prog_btf_fd's object
  std::vector<uint8_t> func_info, line_info;  // 8- and 16-byte records
  uint32_t nr_func_info = 0, nr_line_info = 0;
};

// The program tag (kernel/bpf/core.c bpf_prog_calc_tag): the first 8
// bytes of the SHA-1 (SHA-256 from 6.18: version.h ProgTagIsSha256) of the
// instructions as given, with the fds and value offsets of map references
// (BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE) zeroed, so the tag does not
// depend on fd numbers.
void ProgTag(const interp::RawInsn* insns, uint32_t cnt, KernelVersion v,
             uint8_t tag[8]);

struct ProgStreams;  // emu/stream.h

struct ProgExtra {
  std::mutex mu;
  ProgLoadRecord load;  // set once, before the fd is handed out
  std::vector<std::shared_ptr<Map>> bound_maps;
  std::atomic<uint64_t> run_time_ns{0};
  std::atomic<uint64_t> run_cnt{0};
  // prog->aux->stream: the program's stdout and stderr (emu/stream.h),
  // made at the first print (under mu).
  std::shared_ptr<ProgStreams> streams;
  // A test run of `runs` invocations that took `ns`, while stats are on.
  void CountRuns(uint64_t ns, uint64_t runs) {
    run_time_ns.fetch_add(ns, std::memory_order_relaxed);
    run_cnt.fetch_add(runs, std::memory_order_relaxed);
  }
};

struct Prog {
  // id and func first: natively built programs read them to take a tail
  // call inline (native_abi.h struct bpfemu_prog_head); jit next, which
  // compiled bytecode reads for the same (emu/jit_x86.h JitProgArray).
  uint32_t id = 0;
  ProgFunc func = nullptr;  // a native program, or
  // A copy of code's JitTarget (interp::Program::jit_target; all zero
  // unless the bytecode is compiled): what a tail call's inline path in
  // compiled code reads to enter this program.
  interp::JitTarget jit;
  uint32_t type = 0;                  // enum bpf_prog_type
  uint32_t expected_attach_type = 0;  // enum bpf_attach_type
  std::string name;
  std::shared_ptr<const interp::Program> code;  // bytecode (interp.h)
  // prog->aux->max_ctx_offset, from the bytecode (interp::Program); 0 for
  // a native program, which has no instructions to follow.
  uint32_t max_ctx_offset = 0;
  std::shared_ptr<ProgExtra> extra = std::make_shared<ProgExtra>();
  // Set once a TailCallCache has held this program: its retirement then
  // clears the caches (prog.cc RetireProg).
  mutable std::atomic<bool> cached{false};
  // Set once a run entered at this program took a tail call through the
  // runtime without a hazard slot: ProgRun() then gives its later runs the
  // slot up front, so that a native program's first tail call is inline
  // too (as JitTarget::tail_calls does for compiled bytecode).
  mutable std::atomic<bool> takes_tail_calls{false};
  // prog->aux->attach_btf_id: the kernel BTF id a tracing program was
  // loaded for (an iterator's bpf_iter_<target>, emu/bpf_iter.h), or 0.
  uint32_t attach_btf_id = 0;
  // prog->enforce_expected_attach_type: a CGROUP_SKB program loaded for
  // BPF_CGROUP_INET_EGRESS that returns 2 or 3 (congestion notification)
  // attaches only to egress (kernel/bpf/verifier.c check_return_code,
  // interp::Program::returns_2_or_3).
  bool enforce_expected_attach_type = false;
};

// The process-local side of one PROG_ARRAY: per slot, the program its id
// resolved to last, so a tail call reaches its target without the program
// table's lock or a reference count. The kernel stores the program pointer
// in the slot and frees a replaced program after an RCU grace period
// (kernel/bpf/arraymap.c prog_fd_array_put_ptr, kernel/bpf/core.c
// __bpf_prog_put_noref). Here the slot in the shared region keeps holding
// an id (other processes read it); the cached pointer is trusted only while
// it names the same id, and is read under the run's hazard pointer
// (hazard.h): a program is freed once no cache holds it and no run
// announces it, so a concurrent update never frees a running program.
struct RunState;  // one ProgRun() (prog.cc)

// The part of the current ProgRun() that natively built programs read to
// take a tail call without a call into the runtime (native_abi.h struct
// bpfemu_tail_run has the same layout; bpfemu_tail_run_current points at
// it while a run is on this thread). The inline path is the kernel's
// (kernel/bpf/core.c ___bpf_prog_run JMP_TAIL_CALL): index, budget, slot,
// then the cached program announced in `hazard` as Guard::Protect does.
struct TailRunHead {
  uint32_t tail_calls = 0;  // the invocation's tail calls so far
  uint32_t full_fence = 0;  // readers need a full fence (hazard.h)
  // The run's hazard slot once it holds one (the first tail call takes
  // it); NULL sends every tail call through the runtime.
  std::atomic<const void*>* hazard = nullptr;
};

class TailCallCache {
 public:
  explicit TailCallCache(uint32_t slots);
  ~TailCallCache();
  TailCallCache(const TailCallCache&) = delete;
  TailCallCache& operator=(const TailCallCache&) = delete;

  // bpf_tail_call() after the index check, in the kernel's order: one unit
  // of the run's budget (-E2BIG once kMaxTailCallCnt are spent, or outside
  // ProgRun()), then the id in `slot_id` (slot `index` of the array):
  // -ENOENT if empty or naming no live program of this process, else 0 and
  // *next, kept alive until the run ends or takes its next tail call.
  long Enter(uint32_t index, const std::atomic<uint32_t>& slot_id,
             const Prog** next);
  // Enter(), then on success leaves the running program for *next
  // (TailCallJump) without returning; otherwise the negative errno.
  long Jump(uint32_t index, const std::atomic<uint32_t>& slot_id);

  // Per slot, the cached program (read inline by native programs).
  const std::atomic<const Prog*>* slots() const { return slots_; }
  // For tests: how many times, process-wide, a tail call took the slow
  // path (Resolve: no hazard slot yet, or a slot not cached). Counted there
  // only, out of line; the inline paths never touch it.
  static uint64_t ResolveCountForTesting();

 private:
  friend void ClearCachedProg(const Prog* p);
  long Take(RunState* run, uint32_t index, const std::atomic<uint32_t>& slot_id,
            const Prog** next);
  const Prog* Resolve(RunState* run, uint32_t index, uint32_t id);
  uint32_t n_;
  std::atomic<const Prog*>* slots_;  // n_ entries, zeroed
};

// BPF_PROG_LOAD's attribute checks that come before the program is read
// (kernel/bpf/syscall.c bpf_prog_load): the prog_flags the imitated kernel
// knows (6.1: alignment, test, sleepable, XDP frags; 6.12 and 6.18 add
// BPF_F_XDP_DEV_BOUND_ONLY, BPF_F_TEST_REG_INVARIANTS, BPF_F_TOKEN_FD).
bool ProgFlagsKnown(uint32_t prog_flags);
// A load with prog_ifindex != 0, after the instructions and the license
// are read: kernel/bpf/offload.c bpf_prog_dev_bound_init (6.1:
// bpf_prog_offload_init, which takes no flags) on bpfemu's devices
// (NetdevOffloadCheck). Only XDP and tc programs bind to a device (else
// -EINVAL); it always fails, there being no device with ndo_bpf.
int ProgDevBoundInit(uint32_t prog_type, uint32_t prog_flags, uint32_t ifindex);

// Registers a program (BPF_PROG_LOAD for a native function): a new O_CLOEXEC
// fd, or -EINVAL for a NULL function. The id is assigned here.
[[nodiscard]] int ProgCreate(uint32_t prog_type, uint32_t expected_attach_type,
                             const std::string& name, ProgFunc func,
                             uint32_t attach_btf_id = 0);

// Registers interpreted bytecode (BPF_PROG_LOAD after interp::Program::Load).
[[nodiscard]] int ProgCreateBytecode(
    uint32_t prog_type, uint32_t expected_attach_type, const std::string& name,
    std::shared_ptr<const interp::Program> code, uint32_t attach_btf_id = 0);

// bpf_prog_get(): the program behind `fd`; -EBADF when `fd` is not open,
// -EINVAL when it is open but not a program.
int ProgFromFd(int fd, std::shared_ptr<const Prog>* out);
// The program with `id`, or nullptr.
std::shared_ptr<const Prog> ProgFromId(uint32_t id);
// Forgets the fd (the program goes once nothing else holds it); false if
// `fd` is not a program fd. Does not close the descriptor.
bool ForgetProgFd(int fd);
// BPF_PROG_GET_NEXT_ID (kernel/bpf/syscall.c bpf_obj_get_next_id over
// prog_idr): the smallest id above `start_id` of a program this process
// holds (ids are system-wide, the walk sees this process's programs); 0 or
// -EINVAL (start_id >= INT_MAX), -EPERM (unprivileged), -ENOENT (none).
[[nodiscard]] int ProgGetNextId(uint32_t start_id, uint32_t* next_id);
// BPF_PROG_GET_FD_BY_ID (bpf_prog_get_fd_by_id): a new fd of the program
// with `id`, or -EPERM (unprivileged) / -ENOENT (no such live program).
[[nodiscard]] int ProgGetFdById(uint32_t id);
// fcntl(F_DUPFD_CLOEXEC, min_fd) of a program fd: the copy refers to the
// same program. A new fd, or -errno (-EBADF / -EINVAL as ProgFromFd).
[[nodiscard]] int DupProgFd(int fd, int min_fd);
// A PROG_ARRAY slot's reference to program `id` (bpf_fd_prog_array_get_ptr
// / put_ptr): taken when a slot is set, dropped when it is overwritten or
// deleted. 0 is ignored.
void ProgSlotAcquire(uint32_t id);
void ProgSlotRelease(uint32_t id);

// bpf_prog_run(): runs `prog` on `ctx`, following tail calls, and returns
// the whole of R0 (a native program's int return value zero-extended):
// what a trampoline keeps of an fmod_ret program's return.
uint64_t ProgRunR0(const Prog& prog, void* ctx);
// The same, R0 truncated to 32 bits as test_run reports it.
inline uint32_t ProgRun(const Prog& prog, void* ctx) {
  return static_cast<uint32_t>(ProgRunR0(prog, ctx));
}

// For bpf_tail_call(), in the kernel's order: after the index check, each
// attempt takes one unit of this invocation's budget (false once
// kMaxTailCallCnt are spent, or outside ProgRun()).
bool TakeTailCallBudget();
// Leaves the running program and enters `next` with the same context.
// `next` must be kept alive by the run (TailCallCache::Enter).
[[noreturn]] void TailCallJump(const Prog* next);
// A tail call taken inside a bytecode subprogram: runs `next` in place of
// that frame, with the invocation's tail-call count, and returns its value
// (zero-extended from 32 bits for a native program), which becomes the
// subprogram's return value: the kernel's interpreter and JITs replace only
// the calling frame, so the caller of the subprogram continues. A fault in
// `next` ends the whole run.
uint64_t TailCallInFrame(const Prog* next, void* ctx);
// The end of a chain of tail calls taken inline by native programs (each
// target runs nested in its caller's frame, which it never returns to):
// `ret` becomes ProgRun()'s value at once, as the last program's return.
[[noreturn]] void TailCallReturn(uint32_t ret);
// The same, holding a reference to `next` until the run ends.
[[noreturn]] void TailCallTo(std::shared_ptr<const Prog> next);
// Stops the running program at once: ProgRun() returns 0 and ProgFaulted()
// is true until the next ProgRun() on this thread (the interpreter's run-
// time checks, interp.h).
[[noreturn]] void ProgAbortRun();
bool ProgFaulted();
// The type of the program ProgRun() is running on this thread (the tail
// call target once one is taken), or 0 (BPF_PROG_TYPE_UNSPEC) outside a
// run: what a native kfunc that the verifier specializes by program type
// (bpf_dynptr_from_skb) decides by.
uint32_t RunningProgType();
// The program running on this thread (a tail call's target once taken), or
// nullptr outside ProgRun() (emu/stream.h: the kfunc's aux__prog).
const Prog* RunningProg();

}  // namespace bpfemu

#endif  // BPFEMU_EMU_PROG_H_
