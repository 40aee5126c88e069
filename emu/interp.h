// SPDX-License-Identifier: Apache-2.0
// File: interp.h
//
// An interpreter for eBPF bytecode as clang emits it for `-target bpf`
// (instruction set v1-v4): ALU / ALU32 with the v4 signed division, sign-
// extending moves and byte swaps, JMP / JMP32 (and the long `gotol`), loads
// and stores of every size including the v4 sign-extending loads, atomics
// (add/or/and/xor with and without fetch, xchg, cmpxchg), LD_IMM64 with its
// map pseudo-sources, the legacy packet loads (LD_ABS / LD_IND), bpf-to-bpf
// calls with their own 512-byte frames (at most 8, MAX_CALL_FRAMES),
// helper calls through a table the loader supplies and kfunc calls
// (BPF_PSEUDO_KFUNC_CALL) the loader's Linker resolves (emu/kfunc.h).
//
// Semantics mirror kernel/bpf/core.c (___bpf_prog_run) as the verifier
// leaves a program (kernel/bpf/verifier.c do_misc_fixups): a division by zero
// gives 0, a modulo by zero leaves the dividend (32-bit: zero-extended),
// signed division by -1 negates and signed modulo by -1 gives 0, register
// shift amounts are masked.
//
// Load() makes the structural checks of kernel/bpf/verifier.c that need no
// type tracking, with the kernel's errno: program size (E2BIG), unknown or
// malformed opcodes, reserved fields, bad registers, jumps and calls out of
// range, a last instruction that is neither exit nor jump, immediate shifts
// out of range and immediate division by zero (EINVAL), writes to the frame
// pointer (EACCES), map fds (EBADF / EINVAL through the Linker), unknown
// helpers and GPL-only helpers from non-GPL programs (EINVAL), kfunc calls
// the linker refuses (emu/kfunc.h: EINVAL, EACCES, EPROTO, ENOTSUPP, with
// the verifier's log line in LoadAttr::log). It is NOT a
// verifier: instead, the interpreter checks every memory access at run time
// against what the program may touch (its stack, its context, the packet,
// map values the helpers handed out, direct map values) and every helper
// argument, and stops a program that strays: Run() then reports a fault,
// where the kernel would have refused the program at load.

#ifndef BPFEMU_EMU_INTERP_H_
#define BPFEMU_EMU_INTERP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emu/helper_names.h"
#include "emu/interp_ops.h"
#include "emu/jit_x86.h"

namespace bpfemu::interp {

// struct bpf_insn.
struct RawInsn {
  uint8_t code;
  uint8_t dst : 4;
  uint8_t src : 4;
  int16_t off;
  int32_t imm;
};
static_assert(sizeof(RawInsn) == 8);

// kernel/bpf/verifier.c: MAX_CALL_FRAMES, MAX_BPF_STACK;
// include/linux/bpf.h: BPF_COMPLEXITY_LIMIT_INSNS.
inline constexpr int kMaxCallFrames = 8;
inline constexpr size_t kStackSize = 512;
inline constexpr uint32_t kMaxInsns = 1000000;

class Vm;
class JitCode;

// The ARENA map a program uses (the kernel's prog->aux->arena), as the
// interpreter reaches it: kernel/bpf/arena.c keeps every page of the arena
// in a 4 GiB kernel window (kern_vm) at the lower 32 bits of its user
// address, and the JIT turns an access through an arena pointer into one
// relative to that window (BPF_PROBE_MEM32).
class ArenaWindow {
 public:
  virtual ~ArenaWindow() = default;
  // bpf_arena_get_user_vm_start(): 0 until map_extra or a user mmap() set
  // it.
  virtual uint64_t user_vm_start() const = 0;
  virtual uint64_t user_vm_end() const = 0;
  // The map was created with BPF_F_NO_USER_CONV.
  virtual bool no_user_conv() const = 0;
  // The host address of [off, off + len) of the kernel window (off below
  // 4 GiB, the range within one page or two adjacent ones), or nullptr
  // when a page of it is not allocated (the kernel's access faults there).
  virtual uint8_t* At(uint64_t off, uint64_t len) const = 0;
  // The bpf_arena_alloc_pages / bpf_arena_free_pages kfuncs on this arena
  // (emu/arena.h ArenaMap::AllocPages / FreePages): a user address or 0.
  virtual uint64_t AllocPages(uint64_t uaddr, uint32_t page_cnt,
                              int32_t node_id, uint64_t flags) = 0;
  virtual void FreePages(uint64_t uaddr, uint32_t page_cnt) = 0;
};

// A helper as the interpreter calls it: arguments R1-R5, result R0. It may
// check its pointer arguments with vm.Readable / Writable and hand out new
// memory with vm.AddRegion.
using HelperFn = uint64_t (*)(Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                              uint64_t r4, uint64_t r5);

struct LoadAttr {
  uint32_t prog_type = 0;
  const RawInsn* insns = nullptr;
  uint32_t insn_cnt = 0;
  bool gpl_compatible = false;
  bool sleepable = false;     // BPF_F_SLEEPABLE in prog_flags
  bool has_fd_array = false;  // attr.fd_array is set
  // Reads fd_array[index] for BPF_PSEUDO_MAP_IDX / _IDX_VALUE: 0 with the
  // caller's fd in *fd, or -EFAULT (copy_from_bpfptr_offset). Set with
  // has_fd_array; a caller may also translate the fd (bpfemu exec).
  std::function<int(uint32_t index, int* fd)> fd_array_entry;
  // Where the kernel's verifier-log line of a refusal goes (kfunc and
  // helper calls write one; other refusals none yet), or nullptr.
  std::string* log = nullptr;
  // The size of struct `id` of the program's own BTF (prog_btf_fd), -1 when
  // `id` is no struct there or the program has no BTF: what bpf_obj_new
  // allocates (the verifier's check_kfunc_args over prog->aux->btf).
  std::function<int64_t(uint32_t id)> local_type_size;
  // The first instruction of the program's exception callback (the
  // subprogram the main FUNC's "exception_callback:" BTF decl tag names,
  // kernel/bpf/verifier.c bpf_find_exception_callback_insn_off), or 0 for
  // none: bpf_throw then returns the cookie (emu/throw_kfuncs.h).
  uint32_t exception_cb = 0;
  // Tests of the engines only (emu/jit_x86_test.cc): a program that reads
  // a register nothing wrote, which the verifier refuses (check_reg_arg:
  // "R%d !read_ok", EACCES), loads anyway.
  bool reads_unwritten_registers = false;
  // check_return_code()'s range for R0 (as an s32) at the main program's
  // exits: an LSM program at an int hook (kernel/bpf/bpf_lsm.c
  // bpf_lsm_get_retval_range). Only a known value can be checked here (the
  // load's walk follows no bounds): one outside is refused with the
  // verifier's line.
  bool check_retval = false;
  int32_t retval_min = 0, retval_max = 0;
  // Set by Program::Load for the kfunc call it links (BPFEMU_KERNEL=6.1
  // only; 0 otherwise): what R1..R5 may hold there, as emu/kfunc.h
  // KfuncCall::arg_regs takes it (bit 2*(r-1): the unmodified context on
  // some path; bit 2*(r-1)+1: unwritten on some path).
  uint32_t kfunc_arg_regs = 0;
};

// What R1..R5 may hold at instruction `pc` of `insns` (LoadAttr's
// kfunc_arg_regs bits), over every path from the first instruction.
uint32_t KfuncArgRegsAt(const RawInsn* insns, size_t n, size_t pc);

// What a program's environment provides: helpers by id, kfuncs by BTF id
// and maps by fd.
class Linker {
 public:
  virtual ~Linker() = default;
  // The helper `id` for this program type; nullptr if the kernel would not
  // know it (EINVAL). *gpl_only as the kernel's bpf_func_proto.gpl_only.
  virtual HelperFn Helper(int32_t id, uint32_t prog_type, bool* gpl_only) = 0;
  // Whether helper `id` exists here for some program type (then a refusal
  // means the type is not offered it, as the kernel would say; otherwise
  // bpfemu lacks it).
  virtual bool Emulates(int32_t id) {
    (void)id;
    return false;
  }
  // A refusal of helper `id` after the program type was offered it
  // (check_helper_call: fn->allowed, fn->might_sleep, check_get_func_ip),
  // or nullopt to accept the call.
  virtual std::optional<HelperRefusal> Refuses(int32_t id, uint32_t prog_type) {
    (void)id;
    (void)prog_type;
    return std::nullopt;
  }
  // Whether helper `id` may be called while a bpf_spin_lock is held (the
  // verifier allows only bpf_spin_unlock).
  virtual bool CallableUnderLock(int32_t id) {
    (void)id;
    return false;
  }
  // BPF_PSEUDO_KFUNC_CALL with imm (a BTF id) and off (0, or an fd_array
  // index naming a module's BTF): the function, or -errno with the
  // verifier-log line appended to attr.log. emu/kfunc.h LinkKfunc is the
  // kernel's answer; this default is that of a kernel without BTF.
  virtual int Kfunc(int32_t imm, int16_t off, const LoadAttr& attr,
                    HelperFn* fn) {
    (void)imm, (void)off, (void)fn;
    if (attr.log != nullptr) {
      *attr.log +=
          "calling kernel function is not supported without "
          "CONFIG_DEBUG_INFO_BTF\n";
    }
    return -524;  // ENOTSUPP
  }
  // Whether the kfunc Kfunc() gave may be called while a bpf_spin_lock is
  // held (the verifier's is_bpf_graph_api_kfunc: the list and rbtree ones).
  virtual bool KfuncCallableUnderLock(HelperFn fn) {
    (void)fn;
    return false;
  }
  // check_map_prog_compatibility() (kernel/bpf/verifier.c) for the map
  // behind `handle`, which MapHandle() gave: 0, or -EINVAL with the
  // verifier's line appended to attr.log (maps a program of attr's type and
  // flags may not use).
  virtual int MapCompatible(uint64_t handle, const LoadAttr& attr) {
    (void)handle, (void)attr;
    return 0;
  }
  // BPF_PSEUDO_MAP_FD: the value the register receives (a map handle the
  // helpers understand), or -EBADF / -EINVAL as bpf_map_get() answers.
  virtual int MapHandle(int fd, uint64_t* handle) = 0;
  // BPF_PSEUDO_MAP_VALUE: the address of byte `off` of the map's direct
  // value, with the bounds of that value; -errno as the kernel's
  // map_direct_value_addr() answers.
  virtual int MapValue(int fd, uint32_t off, uint64_t* addr, uint64_t* lo,
                       uint64_t* hi, bool* writable) = 0;
  // Memory behind a map handle the program may use wholesale (an array's
  // values), so lookups need not hand out regions one by one.
  virtual bool MapArea(uint64_t handle, uint64_t* lo, uint64_t* hi,
                       bool* writable) {
    (void)handle, (void)lo, (void)hi, (void)writable;
    return false;
  }
  // The layout of the ARRAY or PERCPU_ARRAY behind a BPF_PSEUDO_MAP_FD
  // handle, for the JIT's inline lookups (jit_x86.h JitArray); false for
  // any other map, whose lookups go through the helper.
  virtual bool JitArrayOf(uint64_t handle, JitArray* out) {
    (void)handle, (void)out;
    return false;
  }
  // The direct lookup of the HASH, LRU_HASH (per-CPU or not) or LPM_TRIE
  // behind a BPF_PSEUDO_MAP_FD handle, for the JIT (jit_x86.h
  // JitMapLookup); false for any other map, whose lookups go through the
  // helper.
  virtual bool JitMapLookupOf(uint64_t handle, JitMapLookup* out) {
    (void)handle, (void)out;
    return false;
  }
  // The slots of the PROG_ARRAY behind a BPF_PSEUDO_MAP_FD handle, for the
  // JIT's inline tail calls (jit_x86.h JitProgArray); false for any other
  // map, whose tail calls go through the helper.
  virtual bool JitProgArrayOf(uint64_t handle, JitProgArray* out) {
    (void)handle, (void)out;
    return false;
  }
  // The arena behind a BPF_PSEUDO_MAP_FD handle, nullptr when that map is
  // no ARENA. It lives as long as TakeResources()' result.
  virtual ArenaWindow* MapArena(uint64_t handle) {
    (void)handle;
    return nullptr;
  }
  // What the loaded program must keep alive (the maps it uses, as the
  // kernel's prog->aux->used_maps), taken once at the end of Load().
  virtual std::shared_ptr<void> TakeResources() { return nullptr; }
};

// A loaded program: decoded instructions with resolved maps and helpers.
class Program : public std::enable_shared_from_this<Program> {
 public:
  // Checks and decodes `attr` (see the file comment). 0 or -errno.
  static int Load(const LoadAttr& attr, Linker& linker,
                  std::shared_ptr<const Program>* out);

  uint32_t prog_type() const { return prog_type_; }
  size_t insn_cnt() const { return insns_.size(); }

  // Runs from instruction 0 with R1 = ctx. ctx must hold ctx_size() bytes.
  // Stops the run through the SetAbortRun() function on a fault.
  uint64_t Run(void* ctx) const;
  // Runs the subprogram that the BPF_PSEUDO_FUNC value `callback` names as
  // an async callback, outside any run of the program (a bpf_timer's:
  // kernel/bpf/helpers.c bpf_timer_cb) with R1 = `map`, one of the
  // program's map handles, R2 = `key` (key_size readable bytes) and R3 =
  // `value` (value_size writable bytes). The context is zeroed memory the
  // callback has no pointer to. Faults stop it as Run's do. Returns R0, or
  // 0 when `callback` names no instruction.
  uint64_t RunCallback(uint64_t callback, uint64_t map, uint64_t key,
                       uint32_t key_size, uint64_t value,
                       uint32_t value_size) const;
  // Bytes of context the program type gets (struct __sk_buff, xdp_md, the
  // u64 argument array of tracing programs).
  size_t ctx_size() const { return ctx_size_; }
  // The verifier's prog->aux->max_ctx_offset: the end of the furthest
  // context read (bpf_prog_test_run_raw_tp refuses a shorter context).
  uint32_t max_ctx_offset() const { return max_ctx_offset_; }
  // Whether some exit of the main program returns R0 known (by the load's
  // walk) to be 2 or 3: check_return_code() then sets
  // prog->enforce_expected_attach_type for a CGROUP_SKB egress program
  // (var_off within tnum_range(2, 3)). The walk follows no bounds, so a
  // value the verifier narrows to 2..3 only through its bounds is missed.
  bool returns_2_or_3() const { return returns_2_or_3_; }
  // Whether Load() compiled the program to x86-64 (SetJit; emu/jit_x86.h).
  bool jitted() const { return jit_ != nullptr; }
  // The compiled code (nullptr: interpreted), for tests of what the JIT
  // chose (JitCode::clean_tail_calls).
  const JitCode* jit_code() const { return jit_.get(); }
  // What an inline tail call from compiled code needs to enter this
  // program (jit_x86.h JitTarget), all zero when it is interpreted.
  const JitTarget& jit_target() const { return jit_target_; }

  using Insn = DecodedInsn;  // emu/interp_ops.h

 private:
  friend class Vm;
  // The steps of Load(): each decodes one instruction into `d`, recording
  // the maps, areas and helpers it names; 0 or -errno.
  int DecodeImm64(const RawInsn* in, uint32_t i, uint32_t n,
                  const LoadAttr& attr, Linker& linker, Insn* d);
  // A map load naming an ARENA map (nullptr: another type); 0 or -errno.
  int UseArena(ArenaWindow* arena, uint64_t handle);
  int DecodeJump(const RawInsn& r, uint32_t i, uint32_t n, const LoadAttr& attr,
                 Linker& linker, Insn* d);
  // Jumps into an LD_IMM64's second half; the last instruction's kind.
  int CheckControlFlow(const std::vector<bool>& second_half) const;

  uint32_t prog_type_ = 0;
  size_t ctx_size_ = 0;
  uint32_t max_ctx_offset_ = 0;
  bool returns_2_or_3_ = false;
  std::vector<Insn> insns_;
  std::vector<HelperFn> helpers_;
  std::vector<int32_t> helper_ids_;  // each helper's BPF_FUNC_* id, -1: none
  // Calls of helper ids the kernel does not know (libbpf's poisoned CO-RE
  // relocations among them): refused only if reachable (DeadCodeOnly).
  std::vector<uint32_t> unknown_calls_;
  std::vector<HelperRefusal> unknown_why_;  // why each is refused
  // Direct map values (BPF_PSEUDO_MAP_VALUE) the program may address.
  struct Area {
    uint64_t lo, hi;
    bool writable;
  };
  std::vector<Area> areas_;
  std::vector<uint64_t> map_handles_;  // what BPF_PSEUDO_MAP_FD loads gave
  // The program's arena (resolve_pseudo_ldimm64's prog->aux->arena) and
  // whether an addr_space_cast needs one.
  ArenaWindow* arena_ = nullptr;
  uint64_t arena_handle_ = 0;  // its map handle
  bool casts_ = false;
  std::shared_ptr<void> resources_;
  std::shared_ptr<const JitCode> jit_;                   // nullptr: interpreted
  JitTarget jit_target_;                                 // set with jit_
  std::function<int64_t(uint32_t id)> local_type_size_;  // LoadAttr's
  uint32_t exception_cb_ = 0;                            // LoadAttr's
};

// Instructions a run may take before it is stopped (a verified program
// terminates; an interpreted one without a verifier might not). Counted on
// backward jumps and calls. Default 1 << 28.
void SetInstructionBudget(uint64_t budget);

// The x86-64 JIT (emu/jit_x86.h): while on, Load() compiles each program
// the emitter handles and Run() executes its machine code, with the
// interpreter's checks, faults and results; a program it does not handle
// is interpreted. On by default; the environment variable BPFEMU_JIT=0
// turns it off at start-up. Programs loaded while it was off stay
// interpreted; turning it off makes Run() interpret every program.
void SetJit(bool on);
bool JitEnabled();

// How a fault leaves a run: emu/prog.cc (the kernel's bpf_prog_run, one
// layer above the interpreter) installs its ProgAbortRun(), which unwinds
// to the run's entry in ProgRun(). The function must not return; with none
// installed a fault aborts the process. The interpreter never includes
// prog.h, so the two are separate targets with one direction between them.
using AbortRunFn = void (*)();
void SetAbortRun(AbortRunFn fn);

// Kernel objects the runs on this thread may read besides their own memory
// while set (nullptr clears): what an iterator's context points at (struct
// bpf_iter_meta, the object visited), which the verifier types as
// PTR_TO_BTF_ID and lets a program load from (emu/bpf_iter.h). Writes to
// them stop the run, as the verifier refuses stores through such pointers,
// unless the range is `writable` (a bpf_map_elem iterator's value:
// PTR_TO_BUF).
struct ObjectRange {
  uint64_t lo, hi;
  bool writable = false;
};
void SetRunObjects(const ObjectRange* ranges, int n);

// Per-run bookkeeping of kfuncs whose pairing the verifier proves at load
// (emu/lock_kfuncs.h: preemption and interrupt regions, resilient locks):
// `end` runs when a program's outermost run ends (Program::Run,
// RunCallback) and may stop it with Vm::Fault, as the verifier refuses a
// program that exits inside such a region; `fault` runs when a run stops
// (Vm::Fault) and releases what the run held. nullptr: none. `end` runs
// only for a Vm the owner marked (Vm::MarkRunHooked) when it first kept
// state for the run.
struct RunHooks {
  void (*end)(Vm& vm);
  void (*fault)(const Vm& vm);
};
void SetRunHooks(const RunHooks* hooks);

// Why the last run on this thread stopped early ("" if it did not).
std::string LastFault();
void ClearFault();

// The state of one run, for helpers.
class Vm {
 public:
  bool Readable(uint64_t addr, uint64_t size) const;
  bool Writable(uint64_t addr, uint64_t size) const;
  // Memory the program may use from now on in this run (a map value a
  // lookup returned, a ring buffer reservation).
  // `tag` marks regions a helper wants to recognise later (HasRegion).
  void AddRegion(uint64_t addr, uint64_t size, bool writable, uint8_t tag = 0);
  // Whether a region with `tag` starts at `addr`; RemoveRegion forgets it
  // (a ring buffer record once submitted).
  bool HasRegion(uint64_t addr, uint8_t tag) const;
  void RemoveRegion(uint64_t addr);
  // Dynptrs (emu/dynptr_kern.h): a region tagged kDynptrTag at `addr` is a
  // struct bpf_dynptr_kern a helper initialized, whose 16 bytes stay the
  // program's stack. The Vm keeps its own copy of them, as the verifier
  // keeps the slots' STACK_DYNPTR type: SealDynptr() records the bytes now
  // (after a helper wrote them; it tags `addr` if it was not), and
  // HasRegion(addr, kDynptrTag) is false once the program has changed them
  // (kernel/bpf/verifier.c destroy_if_dynptr_stack_slot: a store to a
  // dynptr's slots makes it uninitialized). A tagged dynptr never sealed
  // is sealed by its first HasRegion.
  static constexpr uint8_t kDynptrTag = 2;
  static constexpr int kDynptrBytes = 16;
  void SealDynptr(uint64_t addr);
  // Releasing a referenced dynptr's object (bpf_ringbuf_submit_dynptr /
  // _discard_dynptr) invalidates every dynptr over it, its clones too
  // (release_reference's ref_obj_id walk): drops the dynptr records whose
  // data pointer is `data`.
  void ReleaseDynptrs(uint64_t data);
  // Whether `value` is a map handle the program was given (a map it loaded,
  // or one a helper returned, e.g. an inner map).
  bool IsMapHandle(uint64_t value) const;
  // The program's arena if `value` is its map handle, else nullptr (the
  // arena kfuncs' p__map argument).
  ArenaWindow* ArenaOf(uint64_t value) const {
    return value == prog_->arena_handle_ ? prog_->arena_ : nullptr;
  }
  void AddMapHandle(uint64_t value);
  // bpf_spin_lock / unlock bookkeeping, as the verifier enforces it: one
  // lock at a time, no calls while holding it, released before exit. A
  // stopped run releases the lock it held.
  uint64_t held_lock() const { return held_lock_; }
  // The RunHooks owner keeps state for this run: its `end` hook runs when
  // the run ends (without this mark it is not called, a run's fixed cost).
  void MarkRunHooked() const { run_hooked_ = true; }
  void SetHeldLock(uint64_t addr) { held_lock_ = addr; }
  // Whether `value` came from one of the program's own map loads.
  bool IsLoadedMap(uint64_t value) const;
  // Whether [addr, addr + size) lies in map memory the program was handed
  // (not its stack, context or packet).
  bool InMapValue(uint64_t addr, uint64_t size) const;
  // A NUL-terminated string of at most `max` bytes in readable memory.
  bool ReadableString(uint64_t addr, uint64_t max) const;
  // Stops the run: the kernel's verifier would have refused the program.
  // printf-style; nothing the caller allocated may be live (the run ends
  // with a longjmp, so destructors do not run).
  [[noreturn]] void Fault(const char* fmt, ...) const
      __attribute__((format(printf, 2, 3)));
  // What a fault releases before it leaves the run (the bpf_spin_lock held,
  // PushFaultRelease()'s state, RunHooks::fault), for a kfunc that ends the
  // run some other way (emu/throw_kfuncs.h bpf_throw).
  void Unwind() const;
  // Whether the run is inside a callback (CallCallback(): bpf_loop's,
  // bpf_for_each_map_elem's ...) or is an async callback's
  // (Program::RunCallback), where the verifier's is_cb subprograms run.
  bool InCallback() const { return callbacks_ != 0; }
  // The program's exception callback (LoadAttr::exception_cb): whether it
  // has one, and a call of it with R1 = `cookie` in a frame of its own,
  // as a callback (a bpf_throw inside it stops the run, as the verifier
  // refuses one). Its R0.
  bool HasExceptionCallback() const { return prog_->exception_cb_ != 0; }
  uint64_t CallExceptionCallback(uint64_t cookie);
  // Shared state a helper holds across a callback (a user ring buffer's
  // drain) is released by `fn(arg)` if the run faults meanwhile: the helper
  // pushes it before calling back and pops it after. At most 8 at once.
  void PushFaultRelease(void (*fn)(void*), void* arg);
  void PopFaultRelease();
  // Calls the subprogram a BPF_PSEUDO_FUNC value names with R1..R4 (the
  // callbacks of bpf_loop, bpf_user_ringbuf_drain, bpf_for_each_map_elem).
  bool IsCallback(uint64_t value) const;
  uint64_t CallCallback(uint64_t value, uint64_t r1, uint64_t r2,
                        uint64_t r3 = 0, uint64_t r4 = 0);
  // A callback the verifier runs with the caller's bpf_spin_lock held
  // (bpf_rbtree_add's `less`): it may not call anything, and exits with the
  // lock still held. Stops the run if the callback took or released one.
  uint64_t CallCallbackUnderLock(uint64_t value, uint64_t r1, uint64_t r2);
  // LoadAttr::local_type_size of the running program (-1 without one).
  int64_t LocalTypeSize(uint32_t id) const {
    return prog_->local_type_size_ ? prog_->local_type_size_(id) : -1;
  }
  void* ctx() const { return ctx_; }
  // Re-reads the packet's bounds from the context after a helper moved
  // them (bpf_xdp_adjust_head / _tail / _meta): the verifier invalidates
  // every packet pointer after such a call (clear_all_pkt_pointers), so
  // the run may only reach the new range.
  void ReloadPacket();
  uint32_t prog_type() const { return prog_->prog_type_; }
  // The program running (a tail call's target after the call).
  const Program* program() const { return prog_; }
  // A tail call taken by the helper being called: when the run is in its
  // outermost frame (not a subprogram or callback), the loop enters `next`
  // at instruction 0 with R1 = ctx once the helper returns, as the
  // interpreter's JMP_TAIL_CALL does (kernel/bpf/core.c ___bpf_prog_run),
  // and true is returned; otherwise false and the caller leaves the run
  // some other way. `next` must outlive the run (prog.h TailCallCache).
  bool SwitchTo(const Program* next);
  // Whether the run is inside a subprogram or callback frame.
  bool InSubprogram() const { return depth_ != 0; }
  // A tail call taken inside a subprogram: the target ran in place of the
  // frame (prog.h TailCallInFrame), so once the helper returns, the frame
  // returns the helper's value to its caller, as the kernel's interpreter
  // and JITs replace only the calling frame.
  void LeaveFrame() { switch_to_ = kLeaveFrame; }

 private:
  friend class Program;
  struct Region {
    uint64_t lo, hi;
    bool writable;
    uint8_t tag;
  };
  Vm(const Program* prog, void* ctx);
  // The per-program state of a fresh run of prog_ (packet bounds, regions,
  // budget), for the constructor and SwitchTo().
  void Enter();
  void LoadPacketBounds();
  bool Allowed(uint64_t addr, uint64_t size, bool write) const;
  // An access the checks above refused: if `base` is an arena pointer (a
  // 32-bit value, as the verifier's PTR_TO_ARENA always is) of a program
  // with an arena, the host address of the access at window offset
  // base + off, or 0 when it faults in the kernel (a page not allocated,
  // the guard around the window): a load then gives 0, a store is dropped.
  // Anything else stops the run. `sx` marks a sign-extending load, which
  // the verifier refuses from an arena (EOPNOTSUPP).
  uint64_t ArenaOrFault(uint64_t base, int32_t off, uint32_t size, bool write,
                        bool sx, const Program::Insn* in) const;
  // Map memory (direct values, handed-out values) holding [addr, end):
  // 1 writable, 0 read-only, -1 none.
  int MapMemory(uint64_t addr, uint64_t end) const;
  uint64_t Exec(uint32_t pc, const uint64_t* args, int depth);
  // Runs prog_'s machine code and the tail calls it takes.
  uint64_t RunJit();
  // What the machine code calls out of line (jit_x86.h JitHooks).
  static uint64_t JitAccess(Vm* vm, uint64_t base, uint32_t pc);
  static uint64_t JitTailCall(Vm* vm);
  // The fields Enter() zeroes, for the inline tail call (JitHooks).
  static void JitZeroOnEnter(JitHooks::Zero* out);
  // Keeps jit_ranges_ true to Allowed() (compiled programs only): `lo, hi`
  // is an object the run may now use (writable or not), JitForget drops
  // the objects that may have gone.
  void JitRemember(uint64_t lo, uint64_t hi, bool writable);
  void JitForget() { jit_ranges_.rd_len = jit_ranges_.wr_len = 0; }
  // Whether no object that refuses a store (or refuses some, the context)
  // overlaps [lo, hi): then Allowed() allows every store inside an object
  // of the run that holds it.
  bool NoReadOnlyOverlap(uint64_t lo, uint64_t hi) const;
  // The bounds of a non-stack, non-context object holding [addr, end) that
  // allows the access, as Allowed() found one; false if none.
  bool ObjectHolding(uint64_t addr, uint64_t end, bool write, uint64_t* lo,
                     uint64_t* hi, bool* writable) const;
  [[noreturn]] static void JitFault(Vm* vm, uint32_t kind, uint32_t pc);

  static constexpr int kMaxRegions = 64;
  const Program* prog_;
  void* ctx_;
  uint64_t stack_lo_, stack_hi_;
  uint64_t ctx_lo_, ctx_hi_;
  uint64_t pkt_lo_ = 0, pkt_hi_ = 0;
  bool pkt_writable_ = false;
  // An skb program's skb->sk (the struct bpf_sock the test run's socket
  // shows), readable: [sk_lo_, sk_hi_).
  uint64_t sk_lo_ = 0, sk_hi_ = 0;
  uint64_t budget_;
  int depth_ = 0;
  // SwitchTo()'s target, or kLeaveFrame (LeaveFrame()).
  const Program* switch_to_ = nullptr;
  static inline const Program* const kLeaveFrame =
      reinterpret_cast<const Program*>(uintptr_t{1});
  uint64_t callback_lock_ = 0;       // CallCallbackUnderLock's lock, or 0
  int callbacks_ = 0;                // callbacks entered and not left
  mutable bool run_hooked_ = false;  // MarkRunHooked()
  JitRanges jit_ranges_;             // what compiled code checks inline
  // The run's CPU for compiled PERCPU_ARRAY lookups (JitCode::uses_cpu):
  // read once per program entered, as the kernel runs a program without
  // migrating it; -1 when not read.
  int32_t jit_cpu_ = -1;
  // jit_cpu_ folded into the code's JitCode::cpu_count copies, as the
  // helper's CurrentCpu(nr_cpus) folds it: the inline lookups of arrays of
  // that count use it without a bound check.
  int32_t jit_cpu_fold_ = 0;
  // The ProgRun() this run belongs to (emu/prog.h TailRunHead, read from
  // bpfemu_tail_run_current by Program::Run), where compiled code counts
  // its inline tail calls; NULL outside one, or when the run has no hazard
  // slot yet or needs full fences (then every tail call takes the helper).
  JitTailRun* tail_run_ = nullptr;
  // What Enter() zeroes, side by side without padding, so that compiled
  // code entering a tail call's target zeroes it in a few stores
  // (JitZeroOnEnter).
  uint64_t held_lock_ = 0;
  // The last value IsLoadedMap() found among prog_'s map handles (0: none).
  mutable uint64_t last_loaded_map_ = 0;
  int nregions_ = 0;  // regions added (kept in [0, 2 * kMaxRegions))
  int nreleases_ = 0;
  int nhandles_ = 0;
  int next_handle_ = 0;
  bool readonly_regions_ = false;  // one was added since Enter()
  // records_ is read only while this is set (a record was added since
  // Enter()), so that a Vm is built without clearing them (a run's fixed
  // cost).
  bool records_used_ = false;
  Region regions_[kMaxRegions];
  Region records_[16];
  // Each dynptr record's bytes (SealDynptr), valid where `set`.
  struct Seal {
    bool set;
    uint8_t bytes[kDynptrBytes];
  };
  mutable Seal seals_[16];
  struct FaultRelease {
    void (*fn)(void*);
    void* arg;
  };
  FaultRelease releases_[8];  // [0, nreleases_) are set
  uint64_t handles_[8];       // [0, nhandles_) are set
  alignas(16) uint8_t stack_[kMaxCallFrames * kStackSize];
};

}  // namespace bpfemu::interp

#endif  // BPFEMU_EMU_INTERP_H_
