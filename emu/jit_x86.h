// SPDX-License-Identifier: Apache-2.0
// File: jit_x86.h
//
// A JIT for the bytecode face on x86-64: the decoded program of
// emu/interp.h (emu/interp_ops.h DecodedInsn and opcodes) becomes machine
// code emitted directly, as arch/x86/net/bpf_jit_comp.c (do_jit) does in
// the kernel: the eleven BPF registers live in x86 registers, every ALU,
// ALU32, JMP and JMP32 instruction is a few native instructions, and the
// code lands in pages that are writable while emitted and executable (not
// writable) afterwards.
//
// Unlike the kernel's JIT, which trusts the verifier, the code keeps the
// interpreter's run-time contract (interp.h): every load and store is
// checked: inline against the run's stack and the objects of JitRanges
// (the context, the last map value looked up or hit), through
// JitHooks::access for everything else (the interpreter's own Vm::Allowed /
// ArenaOrFault), except an access the code can place inside an array
// value an inline lookup returned and the program tested for NULL (the
// verifier's PTR_TO_MAP_VALUE bounds). The instruction budget is counted
// on backward jumps as the interpreter counts it (in r9 while the code
// runs), a helper call is refused while a bpf_spin_lock is held, and a
// helper that takes a tail call to compiled code is followed by a jump
// into the target's code (an interpreted target: the code ends and the
// run continues in the interpreter). A bpf_tail_call through one of the
// program's own PROG_ARRAYs is taken inline when it can be, as
// arch/x86/net/bpf_jit_comp.c emit_bpf_tail_call_indirect takes it: the
// index, the run's count (JitTailRun), the slot's cached program under the
// run's hazard slot, Vm::Enter's resets, a jump past the prologue.
// A bpf_map_lookup_elem whose map is known where it is called (R1 set by
// the map's LD_IMM64 in the same straight-line run of instructions) on an
// ARRAY or PERCPU_ARRAY is inlined as the verifier's do_misc_fixups has
// the map generate it (kernel/bpf/arraymap.c array_map_gen_lookup,
// percpu_array_map_gen_lookup): the key read from the run's stack, the
// index checked against max_entries, index * slot + base (plus the CPU's
// copy), NULL on a miss; a key outside the stack takes the helper.
// One on a HASH, LRU_HASH (per-CPU or not) or LPM_TRIE is a direct call
// of the map's lookup (JitMapLookup), as do_misc_fixups makes it.
// A bpf-to-bpf call is a call within the code, with the interpreter's
// frames (Vm::depth_, 512 bytes of stack each, at most kMaxCallFrames) and
// budget. Instructions the emitter does not handle (the legacy packet
// loads, the arena's cast to a user pointer) make Compile() refuse the
// program, which then runs in the interpreter unchanged.

#ifndef BPFEMU_EMU_JIT_X86_H_
#define BPFEMU_EMU_JIT_X86_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "emu/interp_ops.h"

namespace bpfemu::interp {

class Vm;
// interp.h HelperFn (the same type): arguments R1-R5, result R0.
using JitHelperFn = uint64_t (*)(Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                                 uint64_t r4, uint64_t r5);

// Memory a run may use without asking the interpreter again: each range
// [lo, lo + len) is one object in which every access of that kind is
// allowed for as long as the range stays set (len 0: none). The Vm keeps
// them (interp.h Vm::JitRemember, JitForget); the code checks a load against
// `ctx` and `rd`, a store against `wr`, and asks JitHooks::access on a miss.
struct JitRanges {
  uint64_t ctx_lo = 0, ctx_len = 0;  // loads: the context
  uint64_t rd_lo = 0, rd_len = 0;    // loads: the last object hit or handed out
  uint64_t wr_lo = 0, wr_len = 0;    // stores: the same, when writable
};

// What the generated code needs of the interpreter: where a run's state
// sits in its Vm and the functions it calls out of line.
struct JitHooks {
  int32_t budget_offset;     // uint64_t Vm::budget_
  int32_t held_lock_offset;  // uint64_t Vm::held_lock_
  int32_t switch_offset;     // const Program* Vm::switch_to_
  int32_t stack_size;        // bytes of a run's stack, below R10
  int32_t ranges_offset;     // JitRanges Vm::jit_ranges_
  int32_t depth_offset;      // int Vm::depth_ (bpf-to-bpf frames)
  int32_t stack_lo_offset;   // uint64_t Vm::stack_lo_, the stack's bottom
  int32_t ctx_offset;        // uint64_t Vm::ctx_lo_, R1 of a tail call
  int32_t frame_size;        // interp.h kStackSize: each frame's stack
  int32_t max_frames;        // interp.h kMaxCallFrames
  // The checked address of the access of instruction `pc` through `base`
  // (its src for a load, its dst for a store), 0 when an arena access has
  // no effect (a load then gives 0); stops the run when refused.
  uint64_t (*access)(Vm* vm, uint64_t base, uint32_t pc);
  // Stops the run: JitFaultKind at instruction `pc`. Never returns.
  void (*fault)(Vm* vm, uint32_t kind, uint32_t pc);
  // After a helper set Vm::switch_to_ in the main program (a tail call):
  // enters the target as the interpreter does and returns its compiled
  // body (JitCode::body), or 0 when the target is interpreted, which the
  // code then leaves to Vm::RunJit.
  uint64_t (*tail_call)(Vm* vm);
  // For the inline tail call (fourth piece): where a run's per-program
  // state sits in the Vm, so that the code enters a compiled target as
  // Vm::Enter() does without a call.
  int32_t prog_offset;           // const Program* Vm::prog_
  int32_t ctx_hi_offset;         // uint64_t Vm::ctx_hi_
  int32_t tail_run_offset;       // JitTailRun* Vm::tail_run_ (NULL: none)
  const uint64_t* budget_limit;  // what Vm::Enter() sets the budget to
  // Fields Vm::Enter() zeroes besides the ranges (offset and size: 1, 4
  // or 8 bytes), ended by a size of 0.
  struct Zero {
    int32_t offset;
    int32_t size;
  } zero_on_enter[12];
};

// The current ProgRun()'s tail-call state as compiled code reads it
// (emu/prog.h TailRunHead, native_abi.h struct bpfemu_tail_run: the same
// layout, checked in emu/prog.cc): the invocation's tail calls so far,
// whether a reader needs a full fence, and the run's hazard slot (NULL
// until the run's first tail call through the runtime takes one).
struct JitTailRun {
  uint32_t tail_calls;
  uint32_t full_fence;
  void* hazard;
};

// What an inline tail call needs of a compiled target: interp::Program
// fills one (jit_target) and emu/prog.h Prog keeps a copy beside its id,
// so that the code reads it from the slot's program with one load each.
// A program that is not compiled has all zero (`entry_type` 0, which no
// caller's type equals).
struct JitTarget {
  // The program's type, with kJitUsesCpu set when its code reads the run's
  // CPU (JitCode::uses_cpu): the caller compares it with its own type.
  uint32_t entry_type = 0;
  // 1 when the code takes tail calls inline: ProgRun() then gives the run
  // its hazard slot up front, so that the first one is inline too.
  uint32_t tail_calls = 0;
  uint64_t body = 0;              // JitCode::body()
  const void* program = nullptr;  // the interp::Program (Vm::prog_)
  uint64_t ctx_size = 0;          // Program::ctx_size()
  // JitCode::cpu_count: the target reads Vm::jit_cpu_fold_, which the
  // caller sets when the run's CPU is below it (0: no such read).
  uint32_t cpu_count = 0;
};
inline constexpr uint32_t kJitUsesCpu = 0x80000000u;

// A PROG_ARRAY as an inline tail call reaches it (native_abi.h struct
// bpfemu_map_fast prog_ids / prog_cache): per slot the program id, and the
// program (an emu/prog.h Prog, read through `id_offset` and
// `target_offset`) that id resolved to last.
struct JitProgArray {
  uint64_t ids = 0;    // const std::atomic<uint32_t>[max_entries]
  uint64_t cache = 0;  // const std::atomic<const Prog*>[max_entries]
  uint32_t max_entries = 0;
  int32_t id_offset = 0;      // uint32_t Prog::id
  int32_t target_offset = 0;  // JitTarget Prog::jit
};

enum JitFaultKind : uint32_t {
  kJitBudget = 0,      // the instruction budget ran out on a back-edge
  kJitCallLocked = 1,  // a helper call while a bpf_spin_lock is held
  kJitExitLocked = 2,  // exit while a bpf_spin_lock is held
  kJitMisaligned = 3,  // an atomic on an address not aligned to its size
  kJitRecursion = 4,   // the budget ran out on a bpf-to-bpf call
  kJitDeep = 5,        // a bpf-to-bpf call past kMaxCallFrames
};

// An ARRAY or PERCPU_ARRAY as an inline lookup reaches it (native_abi.h
// struct bpfemu_map_fast gives the same view to native programs): element
// i's value is values + i * slot; a per-CPU copy for CPU c is c * unit
// further. The values stay at this address for as long as the program
// holds the map (a map in shared memory: its mapping in this process).
struct JitArray {
  uint64_t values = 0;
  uint32_t slot = 0;
  uint32_t max_entries = 0;
  uint32_t value_size = 0;
  bool percpu = false;
  uint32_t unit = 0;     // PERCPU_ARRAY: bytes between CPUs' copies
  uint32_t nr_cpus = 0;  // PERCPU_ARRAY: the copies
  bool writable = true;  // stores allowed (not BPF_F_RDONLY_PROG)
};

// A HASH, LRU_HASH, PERCPU_HASH, LRU_PERCPU_HASH or LPM_TRIE whose lookups
// the code calls directly (seventh piece), as the verifier's do_misc_fixups
// makes a lookup on a map known at the call site a direct call
// (kernel/bpf/hashtab.c htab_map_gen_lookup / htab_lru_map_gen_lookup call
// __htab_map_lookup_elem and step to the value; other maps' lookups become
// ops->map_lookup_elem): `lookup(vm, map, key)` is the map's own lookup
// without a virtual call (the LRU's reference bit set as the helper's sets
// it), which records the value it returns as the helper path does
// (Vm::AddRegion, which makes it the load and, unless BPF_F_RDONLY_PROG,
// store range) and returns it, or 0 on a miss. The code calls it only with
// a key of key_size bytes inside the run's stack; any other key takes the
// helper, whose checks stop the run as the interpreter's do.
struct JitMapLookup {
  uint64_t (*lookup)(Vm* vm, uint64_t map, uint64_t key) = nullptr;
  uint64_t map = 0;  // the map (first argument of `lookup`)
  uint32_t key_size = 0;
  // The region `lookup` records: value_size bytes, writable unless the
  // map is BPF_F_RDONLY_PROG.
  uint32_t value_size = 0;
  bool writable = true;
};

// What Compile() may know of the program beyond its instructions, for the
// inline lookups (all optional).
struct JitProgramInfo {
  // The helper id (BPF_FUNC_*) of each entry of the helper table, -1 for a
  // kfunc or a refused call; nullptr: none is inlined.
  const int32_t* helper_ids = nullptr;
  // The array behind `handle` if it is one of the program's own maps and
  // an ARRAY or PERCPU_ARRAY.
  std::function<bool(uint64_t handle, JitArray* out)> array;
  // The direct lookup of the map behind `handle` if it is one of the
  // program's own maps and a hash map or LPM trie (JitMapLookup).
  std::function<bool(uint64_t handle, JitMapLookup* out)> map_lookup;
  // int32_t Vm::jit_cpu_: the run's CPU for PERCPU_ARRAY lookups.
  int32_t cpu_offset = 0;
  // int32_t Vm::jit_cpu_fold_: that CPU folded into JitCode::cpu_count
  // copies, as CurrentCpu(cpu_count) folds it (fifth piece).
  int32_t cpu_fold_offset = 0;
  // The PROG_ARRAY behind `handle` if it is one of the program's own maps
  // (for an inline tail call); unset: every tail call takes the helper.
  std::function<bool(uint64_t handle, JitProgArray* out)> prog_array;
  // The program's type and context size: an inline tail call enters only
  // a target of the same type (the one whose packet bounds the Vm holds).
  uint32_t prog_type = 0;
};

// One program's machine code.
class JitCode {
 public:
  // R1 = ctx, R10 = fp (the top of the run's stack); returns R0.
  using Entry = uint64_t (*)(Vm* vm, uint64_t ctx, uint64_t fp);

  // The code of insns[0, n), or nullptr with `*why` naming the first
  // instruction the emitter leaves to the interpreter. `helpers` is the
  // program's helper table (Insn::imm of a CALL indexes it).
  static std::unique_ptr<JitCode> Compile(const DecodedInsn* insns, size_t n,
                                          const JitHelperFn* helpers,
                                          const JitHooks& hooks,
                                          std::string* why,
                                          const JitProgramInfo* info = nullptr);
  // Whether the code reads the run's CPU (an inline PERCPU_ARRAY lookup).
  bool uses_cpu() const { return uses_cpu_; }
  // The CPU count of the per-CPU arrays whose inline lookups read
  // Vm::jit_cpu_fold_ without a bound check (0: none): the first per-CPU
  // array looked up inline, and every other of the same count.
  uint32_t cpu_count() const { return cpu_count_; }
  // Whether the code takes a tail call inline.
  bool tail_calls() const { return tail_calls_; }
  // The bpf_map_lookup_elem calls compiled to a direct call of the map's
  // lookup (JitMapLookup; each still takes the helper for a key outside
  // the run's stack).
  uint32_t map_lookups() const { return map_lookups_; }
  // Whether Compile() chose the clean second compile: inline tail calls
  // without the per-program state's zeroing (the code never sets any).
  bool clean_tail_calls() const { return clean_tail_calls_; }
  ~JitCode();
  JitCode(const JitCode&) = delete;
  JitCode& operator=(const JitCode&) = delete;

  Entry entry() const { return entry_; }
  // The code past the prologue, where a tail call from compiled code
  // jumps (as the kernel's JIT jumps past the target's prologue) with the
  // registers as the prologue leaves them.
  uint64_t body() const { return reinterpret_cast<uint64_t>(mem_) + body_; }
  size_t code_size() const { return size_; }

 private:
  JitCode(void* mem, size_t mapped, size_t size, size_t body);
  void* mem_;
  size_t mapped_;
  size_t size_;
  size_t body_;
  Entry entry_;
  bool uses_cpu_ = false;
  bool tail_calls_ = false;
  bool clean_tail_calls_ = false;
  uint32_t cpu_count_ = 0;
  uint32_t map_lookups_ = 0;
};

}  // namespace bpfemu::interp

#endif  // BPFEMU_EMU_JIT_X86_H_
