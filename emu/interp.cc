// SPDX-License-Identifier: Apache-2.0
// The eBPF interpreter (interp.h). Instructions are decoded once at load
// into a dense internal opcode, so the run loop is one computed-goto
// dispatch per instruction with no field decoding left.

#include "emu/interp.h"

#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "emu/cpu.h"
#include "emu/ctx_access_rules.h"
#include "emu/graph_obj.h"
#include "emu/helper_names.h"
#include "emu/interp_ops.h"
#include "emu/jit_x86.h"
#include "emu/shm.h"
#include "emu/version.h"

// The current ProgRun()'s tail-call state (emu/prog.h TailRunHead, which
// sets it; declared there and in native_abi.h). Defined here, below prog,
// because Program::Run reads it for compiled code's inline tail calls.
extern "C" {
thread_local void* bpfemu_tail_run_current = nullptr;
}

namespace bpfemu::interp {
namespace {

// Instruction-set constants newer than Debian's 6.1 UAPI header.
constexpr uint8_t kModeMemSx = 0x80;  // BPF_MEMSX
constexpr int32_t kFetch = 0x01;      // BPF_FETCH
constexpr int32_t kXchg = 0xe0 | kFetch;
constexpr int32_t kCmpXchg = 0xf0 | kFetch;
constexpr uint8_t kPseudoCall = 1;       // BPF_PSEUDO_CALL
constexpr uint8_t kPseudoKfuncCall = 2;  // BPF_PSEUDO_KFUNC_CALL
// What a BPF_PSEUDO_FUNC load gives the program: a tagged instruction index
// only the callback helpers understand (the kernel gives the code's address).
constexpr uint64_t kCallbackTag = 0xbfca11ba00000000ULL;
// BPF_ALU64 | BPF_MOV | BPF_X with off BPF_ADDR_SPACE_CAST (1) is
// addr_space_cast; imm is (dst_as << 16) | src_as. The two the verifier
// accepts: from the arena's address space 1 to 0 (a user pointer to the
// kernel's 32-bit arena offset) and back.
constexpr int16_t kAddrSpaceCast = 1;
constexpr int32_t kCastToKern = 1;        // as(1) -> as(0)
constexpr int32_t kCastToUser = 1 << 16;  // as(0) -> as(1)
// The kernel window of an arena (kernel/bpf/arena.c KERN_VM_SZ without its
// guard): offsets at or beyond it, or below 0, hit the guard pages.
constexpr uint64_t kArenaWindow = uint64_t{1} << 32;

using namespace ops;  // NOLINT: the opcodes of emu/interp_ops.h

thread_local std::string last_fault;
// How a fault leaves the run (SetAbortRun).
std::atomic<AbortRunFn> abort_run{nullptr};
std::atomic<const RunHooks*> run_hooks{nullptr};
uint64_t budget_limit = uint64_t{1} << 28;

// A call of an unknown helper that the load found unreachable: never run.
uint64_t UnreachableCall(Vm& vm, uint64_t, uint64_t, uint64_t, uint64_t,
                         uint64_t) {
  vm.Fault("an unreachable call of an unknown helper was reached");
}

bool IsSkbType(uint32_t t) {
  return t == BPF_PROG_TYPE_SOCKET_FILTER || t == BPF_PROG_TYPE_SCHED_CLS ||
         t == BPF_PROG_TYPE_SCHED_ACT || t == BPF_PROG_TYPE_CGROUP_SKB ||
         t == BPF_PROG_TYPE_SK_SKB || t == BPF_PROG_TYPE_LWT_IN ||
         t == BPF_PROG_TYPE_LWT_OUT || t == BPF_PROG_TYPE_LWT_XMIT ||
         t == BPF_PROG_TYPE_LWT_SEG6LOCAL;
}

// The context each program type receives (include/uapi/linux/bpf.h).
size_t CtxSize(uint32_t t) {
  if (IsSkbType(t)) return sizeof(struct __sk_buff);
  switch (t) {
    case BPF_PROG_TYPE_XDP:
      return sizeof(struct xdp_md);
    case BPF_PROG_TYPE_SK_MSG:
      return sizeof(struct sk_msg_md);
    case BPF_PROG_TYPE_CGROUP_SYSCTL:
      return sizeof(struct bpf_sysctl);
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
      return sizeof(struct bpf_sock_addr);
    case BPF_PROG_TYPE_SK_REUSEPORT:
      return sizeof(struct sk_reuseport_md);
    case BPF_PROG_TYPE_SOCK_OPS:
      return sizeof(struct bpf_sock_ops);
    case BPF_PROG_TYPE_PERF_EVENT:
      return sizeof(struct bpf_perf_event_data);
    case BPF_PROG_TYPE_SYSCALL:
      // syscall_prog_is_valid_access(): any offset below U16_MAX.
      return 65535;
    case BPF_PROG_TYPE_KPROBE:
      // kprobe_prog_is_valid_access(): struct pt_regs (x86-64: 21 words).
      return 21 * sizeof(uint64_t);
    case BPF_PROG_TYPE_LIRC_MODE2:
      // lirc_mode2_is_valid_access(): the u32 sample.
      return sizeof(uint32_t);
    default:
      // Tracing kinds: the u64 argument array (MAX_BPF_FUNC_ARGS).
      return 12 * sizeof(uint64_t);
  }
}

// tc_cls_act_is_valid_access() / sk_filter_is_valid_access() /
// cg_skb_is_valid_access(): the
// struct __sk_buff fields a program may write.
bool CtxFieldWritable(uint32_t t, uint64_t off, uint64_t size) {
  struct Field {
    size_t off, size;
  };
#define BPFEMU_FIELD(f) \
  Field { offsetof(struct __sk_buff, f), sizeof(__sk_buff::f) }
  static const Field kTc[] = {
      BPFEMU_FIELD(mark),       BPFEMU_FIELD(priority),
      BPFEMU_FIELD(tc_index),   BPFEMU_FIELD(cb),
      BPFEMU_FIELD(tc_classid), BPFEMU_FIELD(queue_mapping),
      BPFEMU_FIELD(tstamp)};
  static const Field kCb[] = {BPFEMU_FIELD(cb)};
  // cg_skb_is_valid_access(), for a privileged loader.
  static const Field kCgroup[] = {BPFEMU_FIELD(mark), BPFEMU_FIELD(priority),
                                  BPFEMU_FIELD(cb), BPFEMU_FIELD(tstamp)};
#undef BPFEMU_FIELD
  auto within = [&](const Field* f, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (off >= f[i].off && off + size <= f[i].off + f[i].size) return true;
    }
    return false;
  };
  if (t == BPF_PROG_TYPE_SCHED_CLS || t == BPF_PROG_TYPE_SCHED_ACT) {
    return within(kTc, std::size(kTc));
  }
  if (t == BPF_PROG_TYPE_CGROUP_SKB) {
    return within(kCgroup, std::size(kCgroup));
  }
  if (IsSkbType(t)) return within(kCb, std::size(kCb));
  // syscall_prog_is_valid_access(): reads and writes alike.
  if (t == BPF_PROG_TYPE_SYSCALL) return true;
  // sysctl_is_valid_access(): file_pos, as a whole u32 (the write goes to
  // the low half of the access's position).
  if (t == BPF_PROG_TYPE_CGROUP_SYSCTL) {
    return off == offsetof(struct bpf_sysctl, file_pos) && size == 4;
  }
  // sock_addr_is_valid_access(): the address fields, u32 writes (the
  // IPv6 arrays also u64 ones). Which of them the attach type may write
  // the kernel checks at load; bpfemu's context carries all of them.
  if (t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR) {
    using A = struct bpf_sock_addr;
    auto in = [&](size_t lo, size_t n) {
      return off >= lo && off + size <= lo + n;
    };
    if (size == 4) {
      return in(offsetof(A, user_ip4), 4) || in(offsetof(A, user_ip6), 16) ||
             in(offsetof(A, user_port), 4) || in(offsetof(A, msg_src_ip4), 4) ||
             in(offsetof(A, msg_src_ip6), 16);
    }
    return size == 8 && off % 8 == 0 &&
           (in(offsetof(A, user_ip6), 16) || in(offsetof(A, msg_src_ip6), 16));
  }
  // sock_ops_is_valid_access(): reply / replylong and sk_txhash.
  if (t == BPF_PROG_TYPE_SOCK_OPS) {
    const size_t r = offsetof(struct bpf_sock_ops, reply);
    const size_t h = offsetof(struct bpf_sock_ops, sk_txhash);
    return (off >= r && off + size <= r + sizeof(bpf_sock_ops::replylong)) ||
           (off >= h && off + size <= h + sizeof(uint32_t));
  }
  return false;
}

}  // namespace

void SetInstructionBudget(uint64_t budget) { budget_limit = budget; }

namespace {
// On unless BPFEMU_JIT=0 (issue 29): the interpreter stays one setting
// away, and on other architectures than x86-64 nothing compiles.
std::atomic<bool> jit_on{[] {
  const char* env = std::getenv("BPFEMU_JIT");
  return env == nullptr || std::strcmp(env, "0") != 0;
}()};
}  // namespace

void SetJit(bool on) { jit_on.store(on, std::memory_order_relaxed); }
bool JitEnabled() { return jit_on.load(std::memory_order_relaxed); }

namespace {
thread_local const ObjectRange* run_objects = nullptr;
thread_local int run_object_count = 0;
}  // namespace

void SetRunObjects(const ObjectRange* ranges, int n) {
  run_objects = n > 0 ? ranges : nullptr;
  run_object_count = n > 0 ? n : 0;
}

void SetRunHooks(const RunHooks* hooks) {
  run_hooks.store(hooks, std::memory_order_release);
}

void SetAbortRun(AbortRunFn fn) {
  abort_run.store(fn, std::memory_order_release);
}
std::string LastFault() { return last_fault; }
void ClearFault() { last_fault.clear(); }

namespace {

uint8_t AccessBytes(uint8_t size) {
  return static_cast<uint8_t>(size == BPF_B   ? 1
                              : size == BPF_H ? 2
                              : size == BPF_W ? 4
                                              : 8);
}

// BPF_ALU / BPF_ALU64 (check_alu_op()).
int DecodeAlu(const RawInsn& r, Program::Insn* d) {
  const bool is64 = BPF_CLASS(r.code) == BPF_ALU64;
  const uint8_t op = BPF_OP(r.code);
  const bool x = BPF_SRC(r.code) == BPF_X;
  if (op == BPF_END) {
    // BPF_ALU64 | BPF_END is the v4 unconditional byte swap.
    if ((is64 && x) || r.src != 0 || r.off != 0 ||
        (r.imm != 16 && r.imm != 32 && r.imm != 64)) {
      return -EINVAL;
    }
    const bool swap = is64 || x;  // BPF_TO_BE on a little-endian host
    d->op = swap ? (r.imm == 16   ? SWAP16
                    : r.imm == 32 ? SWAP32
                                  : SWAP64)
                 : (r.imm == 16   ? LE16
                    : r.imm == 32 ? LE32
                                  : NOP);
  } else if (op == BPF_NEG) {
    if (x || r.src != 0 || r.off != 0 || r.imm != 0) return -EINVAL;
    d->op = is64 ? NEG64 : NEG32;
  } else if (op == BPF_MOV && is64 && x && r.off == kAddrSpaceCast) {
    // check_alu_op(): only the two casts between address spaces 0 and 1;
    // Load() refuses the cast in a program without an arena afterwards.
    if (r.imm != kCastToKern && r.imm != kCastToUser) return -EINVAL;
    d->op = r.imm == kCastToKern ? CAST_KERN : CAST_USER;
  } else {
    Op base;
    switch (op) {
      case BPF_ADD:
        base = ADD64X;
        break;
      case BPF_SUB:
        base = SUB64X;
        break;
      case BPF_MUL:
        base = MUL64X;
        break;
      case BPF_DIV:
        base = r.off == 1 ? SDIV64X : DIV64X;
        break;
      case BPF_MOD:
        base = r.off == 1 ? SMOD64X : MOD64X;
        break;
      case BPF_OR:
        base = OR64X;
        break;
      case BPF_AND:
        base = AND64X;
        break;
      case BPF_XOR:
        base = XOR64X;
        break;
      case BPF_LSH:
        base = LSH64X;
        break;
      case BPF_RSH:
        base = RSH64X;
        break;
      case BPF_ARSH:
        base = ARSH64X;
        break;
      case BPF_MOV:
        base = r.off == 8    ? MOVSX864X
               : r.off == 16 ? MOVSX1664X
               : r.off == 32 ? MOVSX3264X
                             : MOV64X;
        break;
      default:
        return -EINVAL;  // "invalid BPF_ALU opcode"
    }
    // Reserved fields: off only for signed div/mod and sign-extending
    // register moves; a K form has no source register, an X form no
    // immediate.
    const bool off_ok = r.off == 0 ||
                        ((op == BPF_DIV || op == BPF_MOD) && r.off == 1) ||
                        (op == BPF_MOV && x &&
                         (r.off == 8 || r.off == 16 || (is64 && r.off == 32)));
    if (!off_ok || (x ? r.imm != 0 : r.src != 0)) return -EINVAL;
    if (!x && (op == BPF_DIV || op == BPF_MOD) && r.imm == 0) {
      return -EINVAL;  // "div by zero"
    }
    if (!x && (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) &&
        (r.imm < 0 || r.imm >= (is64 ? 64 : 32))) {
      return -EINVAL;  // "invalid shift"
    }
    // base is the 64X flavour; the next three are 64K, 32X, 32K.
    d->op = static_cast<uint8_t>(base + (is64 ? 0 : 2) + (x ? 0 : 1));
  }
  if (r.dst == BPF_REG_10) return -EACCES;  // "frame pointer is read only"
  return 0;
}

// BPF_LDX, plain and sign-extending (check_mem_access()'s caller).
int DecodeLdx(const RawInsn& r, Program::Insn* d) {
  const uint8_t mode = BPF_MODE(r.code);
  const uint8_t size = BPF_SIZE(r.code);
  if ((mode != BPF_MEM && mode != kModeMemSx) || r.imm != 0 ||
      (mode == kModeMemSx && size == BPF_DW)) {
    return -EINVAL;  // "BPF_LDX uses reserved fields"
  }
  static constexpr Op kLdx[] = {LDX32, LDX16, LDX8, LDX64};
  static constexpr Op kLdxs[] = {LDXS32, LDXS16, LDXS8, LDXS32};
  d->op = (mode == BPF_MEM ? kLdx : kLdxs)[size >> 3];
  d->size = AccessBytes(size);
  if (r.dst == BPF_REG_10) return -EACCES;
  return 0;
}

// BPF_ST and BPF_STX, including the atomics (check_atomic()).
int DecodeStore(const RawInsn& r, Program::Insn* d) {
  const uint8_t mode = BPF_MODE(r.code);
  const uint8_t size = BPF_SIZE(r.code);
  d->size = AccessBytes(size);
  if (BPF_CLASS(r.code) == BPF_ST) {
    if (mode != BPF_MEM || r.src != 0) return -EINVAL;
    static constexpr Op kSt[] = {ST32, ST16, ST8, ST64};
    d->op = kSt[size >> 3];
    return 0;
  }
  if (mode == BPF_MEM) {
    if (r.imm != 0) return -EINVAL;
    static constexpr Op kStx[] = {STX32, STX16, STX8, STX64};
    d->op = kStx[size >> 3];
    return 0;
  }
  if (mode != BPF_ATOMIC) return -EINVAL;
  switch (r.imm) {
    case BPF_ADD:
    case BPF_ADD | kFetch:
    case BPF_OR:
    case BPF_OR | kFetch:
    case BPF_AND:
    case BPF_AND | kFetch:
    case BPF_XOR:
    case BPF_XOR | kFetch:
    case kXchg:
    case kCmpXchg:
      break;
    default:
      return -EINVAL;  // "BPF_ATOMIC uses invalid atomic opcode"
  }
  if (size != BPF_W && size != BPF_DW) return -EINVAL;
  d->op = size == BPF_W ? ATOMIC32 : ATOMIC64;
  return 0;
}

// BPF_LD | BPF_ABS / BPF_IND (check_ld_abs()): socket-buffer programs
// only, reserved fields zero.
int DecodeLdAbs(const RawInsn& r, uint32_t prog_type, Program::Insn* d) {
  const uint8_t mode = BPF_MODE(r.code);
  const uint8_t size = BPF_SIZE(r.code);
  if (mode != BPF_ABS && mode != BPF_IND) return -EINVAL;  // "unknown opcode"
  if (!IsSkbType(prog_type)) return -EINVAL;
  if (size == BPF_DW || r.dst != 0 || r.off != 0 ||
      (mode == BPF_ABS && r.src != 0)) {
    return -EINVAL;
  }
  d->op = mode == BPF_ABS ? LDABS : LDIND;
  d->size = static_cast<uint8_t>(size == BPF_B ? 1 : size == BPF_H ? 2 : 4);
  return 0;
}

// Conditional jumps of BPF_JMP / BPF_JMP32; `d->off` becomes the absolute
// target.
int DecodeCondJump(const RawInsn& r, uint32_t i, uint32_t n, Program::Insn* d) {
  Op base;
  switch (BPF_OP(r.code)) {
    case BPF_JEQ:
      base = JEQ64X;
      break;
    case BPF_JNE:
      base = JNE64X;
      break;
    case BPF_JGT:
      base = JGT64X;
      break;
    case BPF_JGE:
      base = JGE64X;
      break;
    case BPF_JLT:
      base = JLT64X;
      break;
    case BPF_JLE:
      base = JLE64X;
      break;
    case BPF_JSGT:
      base = JSGT64X;
      break;
    case BPF_JSGE:
      base = JSGE64X;
      break;
    case BPF_JSLT:
      base = JSLT64X;
      break;
    case BPF_JSLE:
      base = JSLE64X;
      break;
    case BPF_JSET:
      base = JSET64X;
      break;
    default:
      return -EINVAL;  // "unknown opcode"
  }
  const bool is64 = BPF_CLASS(r.code) == BPF_JMP;
  const bool x = BPF_SRC(r.code) == BPF_X;
  if (x ? r.imm != 0 : r.src != 0) return -EINVAL;
  const int64_t t = int64_t{i} + 1 + r.off;
  if (t < 0 || t >= n) return -EINVAL;  // "jump out of range"
  d->op = static_cast<uint8_t>(base + (is64 ? 0 : 2) + (x ? 0 : 1));
  d->off = static_cast<int32_t>(t);
  return 0;
}

}  // namespace

int Program::DecodeImm64(const RawInsn* in, uint32_t i, uint32_t n,
                         const LoadAttr& attr, Linker& linker, Insn* d) {
  const RawInsn& r = in[i];
  if (i + 1 >= n) return -EINVAL;  // "invalid bpf_ld_imm64 insn"
  const RawInsn& hi = in[i + 1];
  if (hi.code != 0 || hi.dst != 0 || hi.src != 0 || hi.off != 0 || r.off != 0) {
    return -EINVAL;
  }
  if (r.dst == BPF_REG_10) return -EACCES;
  d->op = LDDW;
  const uint64_t lo32 = static_cast<uint32_t>(r.imm);
  const uint64_t hi32 = static_cast<uint32_t>(hi.imm);
  // resolve_pseudo_ldimm64(): a map by fd, or by its index in fd_array
  // ("fd_idx without fd_array is invalid": EPROTO; an unreadable entry:
  // EFAULT), after the shape checks; add_used_map_from_fd() then refuses
  // an fd that is no map with its line.
  const auto log = [&](const std::string& line) {
    if (attr.log != nullptr) *attr.log += line;
  };
  const auto not_a_map = [&](int fd, int err) {
    log("fd " + std::to_string(fd) + " is not pointing to valid bpf_map\n");
    return err;
  };
  int fd = r.imm;
  uint8_t src = r.src;
  if (src == BPF_PSEUDO_MAP_IDX || src == BPF_PSEUDO_MAP_IDX_VALUE) {
    const bool by_value = src == BPF_PSEUDO_MAP_IDX_VALUE;
    if (!by_value && hi.imm != 0) return -EINVAL;
    if (!attr.has_fd_array) {
      log("fd_idx without fd_array is invalid\n");
      return -EPROTO;
    }
    if (!attr.fd_array_entry) return -EFAULT;
    if (int err = attr.fd_array_entry(static_cast<uint32_t>(r.imm), &fd);
        err != 0) {
      return err;
    }
    src = by_value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
  }
  switch (src) {
    case 0:
      d->imm = static_cast<int64_t>(lo32 | (hi32 << 32));
      return 0;
    case BPF_PSEUDO_MAP_FD: {
      if (hi.imm != 0) return -EINVAL;
      uint64_t handle;
      if (int err = linker.MapHandle(fd, &handle); err != 0) {
        return not_a_map(fd, err);
      }
      if (int err = linker.MapCompatible(handle, attr); err != 0) return err;
      d->imm = static_cast<int64_t>(handle);
      if (int err = UseArena(linker.MapArena(handle), handle); err != 0) {
        return err;
      }
      map_handles_.push_back(handle);
      Area area;
      if (linker.MapArea(handle, &area.lo, &area.hi, &area.writable)) {
        areas_.push_back(area);
      }
      return 0;
    }
    case BPF_PSEUDO_MAP_VALUE: {
      // arena_map_direct_value_addr(): an ARENA's value is its user range;
      // the register gets user_vm_start + off, a user (as(1)) pointer.
      uint64_t handle;
      const int handle_err = linker.MapHandle(fd, &handle);
      if (handle_err == 0) {
        if (int err = linker.MapCompatible(handle, attr); err != 0) return err;
        if (ArenaWindow* arena = linker.MapArena(handle)) {
          const uint64_t start = arena->user_vm_start();
          if (uint64_t{static_cast<uint32_t>(hi.imm)} >
              arena->user_vm_end() - start) {
            return -ERANGE;
          }
          if (int err = UseArena(arena, handle); err != 0) return err;
          d->imm = static_cast<int64_t>(start + static_cast<uint32_t>(hi.imm));
          return 0;
        }
      }
      uint64_t addr, lo, hi_addr;
      bool writable;
      if (int err = linker.MapValue(fd, static_cast<uint32_t>(hi.imm), &addr,
                                    &lo, &hi_addr, &writable);
          err != 0) {
        // Neither a handle nor a value: the fd is no map.
        return handle_err != 0 ? not_a_map(fd, err) : err;
      }
      d->imm = static_cast<int64_t>(addr);
      areas_.push_back({lo, hi_addr, writable});
      return 0;
    }
    case BPF_PSEUDO_FUNC: {
      const int64_t t = int64_t{i} + r.imm + 1;
      if (hi.imm != 0 || t < 0 || t >= n) return -EINVAL;
      d->imm = static_cast<int64_t>(kCallbackTag | uint64_t(t));
      return 0;
    }
    default:
      return -EINVAL;  // BTF ids: unsupported
  }
}

int Program::UseArena(ArenaWindow* arena, uint64_t handle) {
  // resolve_pseudo_ldimm64(): the same arena again is the same used map;
  // another one is EBUSY ("Only one arena per program"); an arena whose
  // user range is not fixed yet is EINVAL ("arena's user address must be
  // set via map_extra or mmap()").
  if (arena == nullptr || arena == arena_) return 0;
  if (arena_ != nullptr) return -EBUSY;
  if (arena->user_vm_start() == 0) return -EINVAL;
  arena_ = arena;
  arena_handle_ = handle;
  return 0;
}

int Program::DecodeJump(const RawInsn& r, uint32_t i, uint32_t n,
                        const LoadAttr& attr, Linker& linker, Insn* d) {
  const bool is64 = BPF_CLASS(r.code) == BPF_JMP;
  const uint8_t op = BPF_OP(r.code);
  const bool x = BPF_SRC(r.code) == BPF_X;
  auto target_ok = [&](int64_t t) { return t >= 0 && t < n; };
  if (op == BPF_JA) {
    if (x || r.src != 0 || r.dst != 0) return -EINVAL;
    // JMP32 | JA is the v4 `gotol` with a 32-bit offset in imm.
    if (is64 ? r.imm != 0 : r.off != 0) return -EINVAL;
    const int64_t t = int64_t{i} + 1 + (is64 ? r.off : r.imm);
    if (!target_ok(t)) return -EINVAL;  // "jump out of range"
    d->op = JA;
    d->off = static_cast<int32_t>(t);
    return 0;
  }
  if (op == BPF_CALL) {
    // do_check(): "BPF_CALL uses reserved fields"; only a kfunc call has
    // an off (its BTF's fd_array index).
    if (!is64 || x || r.dst != 0) return -EINVAL;
    if (r.src == kPseudoKfuncCall) {
      HelperFn fn = nullptr;
      int err;
      // 6.1 checks some kfuncs' arguments before other refusals (emu/kfunc.h
      // ResolveKfuncCall): what the argument registers may hold here.
      if (TargetKernel() == KernelVersion::k6_1 && attr.insns != nullptr) {
        LoadAttr at = attr;
        at.kfunc_arg_regs = KfuncArgRegsAt(attr.insns, n, i);
        err = linker.Kfunc(r.imm, r.off, at, &fn);
      } else {
        err = linker.Kfunc(r.imm, r.off, attr, &fn);
      }
      if (err != 0) return err;
      d->op = CALL;
      d->size = linker.KfuncCallableUnderLock(fn) ? 1 : 0;
      d->imm = static_cast<int64_t>(helpers_.size());
      helpers_.push_back(fn);
      helper_ids_.push_back(-1);
      return 0;
    }
    if (r.off != 0) return -EINVAL;
    if (r.src == kPseudoCall) {
      const int64_t t = int64_t{i} + r.imm + 1;
      if (!target_ok(t)) return -EINVAL;
      d->op = CALL_LOCAL;
      d->off = static_cast<int32_t>(t);
      return 0;
    }
    if (r.src != 0) return -EINVAL;
    // check_helper_call(): an id past the version's helpers (libbpf's
    // poisoned CO-RE relocations among them), a helper the program type is
    // not offered (or bpfemu lacks), a GPL-only helper from a non-GPL
    // program: EINVAL with the verifier's log line, but only where
    // do_check() goes: the call is kept and refused after decoding if it
    // is reachable.
    const KernelVersion v = TargetKernel();
    bool gpl_only = false;
    HelperFn fn = nullptr;
    std::optional<HelperRefusal> why;
    if (r.imm < 0 || r.imm >= HelperIdLimit(v)) {
      why = HelperRefusal::kUnknownId;
    } else if (fn = linker.Helper(r.imm, attr.prog_type, &gpl_only);
               fn == nullptr) {
      why = linker.Emulates(r.imm) ? HelperRefusal::kNotOffered
                                   : HelperRefusal::kNotEmulated;
    } else if (gpl_only && !attr.gpl_compatible) {
      why = HelperRefusal::kGplOnly;
    } else {
      why = linker.Refuses(r.imm, attr.prog_type);
    }
    if (why.has_value()) {
      unknown_calls_.push_back(i);
      unknown_why_.push_back(*why);
      d->op = CALL;
      d->size = 0;
      d->imm = static_cast<int64_t>(helpers_.size());
      helpers_.push_back(&UnreachableCall);
      helper_ids_.push_back(-1);
      return 0;
    }
    d->op = CALL;
    d->size = linker.CallableUnderLock(r.imm) ? 1 : 0;
    d->imm = static_cast<int64_t>(helpers_.size());
    helpers_.push_back(fn);
    helper_ids_.push_back(r.imm);
    return 0;
  }
  if (op == BPF_EXIT) {
    if (!is64 || x || r.src != 0 || r.dst != 0 || r.off != 0 || r.imm != 0) {
      return -EINVAL;
    }
    d->op = EXIT;
    return 0;
  }
  return DecodeCondJump(r, i, n, d);
}

int Program::CheckControlFlow(const std::vector<bool>& second_half) const {
  // No jump or call may land on the second half of an LD_IMM64.
  for (const Insn& d : insns_) {
    const bool jumps =
        d.op == JA || d.op == CALL_LOCAL || (d.op >= JEQ64X && d.op <= JSET32K);
    if (jumps && second_half[d.off]) return -EINVAL;
  }
  // check_subprogs(): "last insn is not an exit or jmp".
  const Insn& last = insns_.back();
  if (second_half.back() || (last.op != EXIT && last.op != JA)) {
    return -EINVAL;
  }
  return 0;
}

namespace {

// A tnum (kernel/bpf/tnum.c): the bits of `mask` are unknown, the others
// are those of `value`. The verifier's var_off of a register.
struct Tnum {
  uint64_t value = 0;
  uint64_t mask = ~uint64_t{0};
  bool operator==(const Tnum&) const = default;
  static Tnum Const(uint64_t v) { return {v, 0}; }
  bool known() const { return mask == 0; }
  Tnum Add(Tnum b) const {
    const uint64_t sm = mask + b.mask, sv = value + b.value;
    const uint64_t mu = ((sm + sv) ^ sv) | mask | b.mask;
    return {sv & ~mu, mu};
  }
  Tnum Sub(Tnum b) const {
    const uint64_t dv = value - b.value;
    const uint64_t mu = ((dv + mask) ^ (dv - b.mask)) | mask | b.mask;
    return {dv & ~mu, mu};
  }
  Tnum And(Tnum b) const {
    const uint64_t v = value & b.value;
    return {v, (value | mask) & (b.value | b.mask) & ~v};
  }
  Tnum Or(Tnum b) const {
    const uint64_t v = value | b.value, mu = mask | b.mask;
    return {v, mu & ~v};
  }
  Tnum Xor(Tnum b) const {
    const uint64_t mu = mask | b.mask;
    return {(value ^ b.value) & ~mu, mu};
  }
  Tnum Low32() const { return {value & 0xffffffffu, mask & 0xffffffffu}; }
  // Both: the bits the two agree on and know.
  Tnum Union(Tnum b) const {
    const uint64_t mu = mask | b.mask | (value ^ b.value);
    return {value & ~mu, mu};
  }
  // tnum_strn: "(0x<value>; 0x<mask>)" (the kernel prints 0 as 0x0).
  std::string Str() const {
    char buf[48];
    std::snprintf(buf, sizeof(buf), "(0x%llx; 0x%llx)",
                  static_cast<unsigned long long>(value),
                  static_cast<unsigned long long>(mask));
    return buf;
  }
};

// What the load-time walk finds (kernel/bpf/verifier.c do_check, as far as
// bpfemu follows it):
// - prog->aux->max_ctx_offset (check_ctx_access: the end of the furthest
//   context read; bpf_prog_test_run_raw_tp refuses a ctx_size_in below it
//   with EINVAL);
// - the refusal of an access through a modified context pointer
//   (__check_ptr_off_reg: the pointer must be R1 as given, whatever was
//   added to it), or of an atomic on the context;
// - which of the calls bpfemu cannot link the program can reach: the
//   verifier walks only the branches known register values allow, so a call
//   it never reaches is never checked (and is removed afterwards, as
//   libbpf's poisoned CO-RE relocations rely on).
struct WalkFacts {
  uint32_t max_off = 0;
  int err = 0;  // -EACCES at insn err_pc, with the verifier's line in log
  uint32_t err_pc = 0;
  std::string log;
  std::vector<uint32_t> reached_calls;  // of `calls`, sorted
  std::vector<bool> reached;            // the instructions the walk reached
  // R0 at the main program's exits (unknown where it holds the context).
  std::vector<Tnum> main_exits;
};

}  // namespace

// For the kfunc argument checks of 6.1's btf_check_kfunc_arg_match
// (kernel/bpf/btf.c): per register, whether some path reaching `pc` leaves
// it the context as the program got it (R1 at entry, copied by moves; any
// other write, a stack fill among them, makes it something else) or
// unwritten (at entry R2-R5, and R1-R5 after every call, as the verifier's
// clear_caller_saved_regs). A may-analysis over every path: a branch the
// verifier would find dead counts too. A pseudo-call flows into its callee
// with the call site's R1-R5 (the rest unwritten), so a kfunc call in a
// subprogram is judged by what its callers pass.
uint32_t KfuncArgRegsAt(const RawInsn* insns, size_t n, size_t pc) {
  // Per pc, per R0..R10: bit 2r the context, bit 2r+1 unwritten. -1: not
  // reached.
  std::vector<int64_t> st(n, -1);
  std::vector<size_t> work;
  auto flow = [&](int64_t to, int64_t m) {
    if (to < 0 || static_cast<uint64_t>(to) >= n) return;
    const int64_t old = st[to] < 0 ? 0 : st[to];
    if (st[to] >= 0 && (old | m) == old) return;
    st[to] = old | m;
    work.push_back(static_cast<size_t>(to));
  };
  auto set = [](int64_t m, int r, int64_t v) {
    return (m & ~(int64_t{3} << (2 * r))) | (v << (2 * r));
  };
  int64_t entry = 0;
  for (int r = 0; r < 10; ++r) entry = set(entry, r, r == 1 ? 1 : 2);
  flow(0, entry);
  while (!work.empty()) {
    const size_t at = work.back();
    work.pop_back();
    if (at == pc) continue;  // what comes after the call does not matter
    const RawInsn& in = insns[at];
    int64_t m = st[at];
    const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
    const int64_t next = static_cast<int64_t>(at) + 1;
    if (cls == BPF_JMP || cls == BPF_JMP32) {
      if (op == BPF_EXIT) continue;
      if (op == BPF_CALL) {
        if (cls == BPF_JMP && in.src == BPF_PSEUDO_CALL) {
          // The callee starts with the caller's R1-R5 and every other
          // register unwritten (verifier.c setup_func_entry /
          // init_func_state), so a kfunc call inside it sees the caller's
          // arguments, the context among them.
          int64_t callee = 0;
          for (int r = 0; r < 10; ++r) {
            callee = set(callee, r, r >= 1 && r <= 5 ? (m >> (2 * r)) & 3 : 2);
          }
          flow(next + in.imm, callee);
        }
        m = set(m, 0, 0);
        for (int r = 1; r <= 5; ++r) m = set(m, r, 2);
        flow(next, m);
        continue;
      }
      if (op == BPF_JA) {
        flow(next + (cls == BPF_JMP ? in.off : in.imm), m);
        continue;
      }
      flow(next, m);
      flow(next + in.off, m);
      continue;
    }
    if ((cls == BPF_ALU || cls == BPF_ALU64) && in.dst < 11) {
      const bool copy = cls == BPF_ALU64 && op == BPF_MOV &&
                        BPF_SRC(in.code) == BPF_X && in.off == 0 && in.src < 11;
      m = set(m, in.dst, copy ? (m >> (2 * in.src)) & 3 : 0);
    } else if (cls == BPF_LDX && in.dst < 11) {
      m = set(m, in.dst, 0);
    } else if (cls == BPF_LD) {
      if (BPF_MODE(in.code) == BPF_IMM) {
        if (in.dst < 11) m = set(m, in.dst, 0);
        flow(next + 1, m);
        continue;
      }
      m = set(m, 0, 0);  // LD_ABS / LD_IND clobber R1-R5
      for (int r = 1; r <= 5; ++r) m = set(m, r, 2);
    } else if (cls == BPF_STX && BPF_MODE(in.code) == BPF_ATOMIC) {
      if (in.imm == BPF_CMPXCHG) {
        m = set(m, 0, 0);
      } else if ((in.imm & BPF_FETCH) && in.src < 11) {
        m = set(m, in.src, 0);
      }
    }
    flow(next, m);
  }
  if (pc >= n || st[pc] < 0) return 0;
  uint32_t out = 0;
  for (int r = 1; r <= 5; ++r) {
    out |= static_cast<uint32_t>((st[pc] >> (2 * r)) & 3) << (2 * (r - 1));
  }
  return out;
}

namespace {

// check_reg_arg(SRC_OP) in kernel/bpf/verifier.c: a register read before
// anything wrote it is NOT_INIT, and the verifier refuses the read ("R%d
// !read_ok", -EACCES). At entry only R1 (the context) and R10 (the frame
// pointer) are readable; every call leaves R0 written and R1-R5 NOT_INIT
// (clear_caller_saved_regs); the main program's exit reads R0
// (check_return_code). The reads checked are the instruction operands
// (ALU, loads, stores, atomics, conditional jumps, LD_ABS / LD_IND's R6),
// in the order the verifier checks them; a helper's argument registers
// are not (their count is the helper's prototype). Subprograms are not
// walked. A register counts as written at an instruction when any path
// reaching it wrote it, so only a read that no path prepared is refused,
// and only at an instruction WalkProgram reached (`reached`: it takes one
// branch of a jump on known values, as the verifier does): the verifier,
// walking some path to it, refuses it too. Sets facts->err when that read
// comes before the refusal facts holds.
void RefuseUninitializedReads(const RawInsn* insns, size_t n,
                              const std::vector<bool>& reached,
                              WalkFacts* facts) {
  // written[pc]: the registers some path to pc wrote; -1 not reached.
  std::vector<int32_t> written(n, -1);
  std::vector<size_t> work;
  auto flow = [&](int64_t pc, int32_t m) {
    if (pc < 0 || static_cast<uint64_t>(pc) >= n) return;
    if ((written[pc] | m) == written[pc] && written[pc] >= 0) return;
    written[pc] = written[pc] < 0 ? m : (written[pc] | m);
    work.push_back(static_cast<size_t>(pc));
  };
  constexpr int32_t kCallerSaved = 0x3e;  // R1-R5
  flow(0, 1 << 1 | 1 << 10);
  while (!work.empty()) {
    const size_t pc = work.back();
    work.pop_back();
    const RawInsn& in = insns[pc];
    int32_t m = written[pc];
    const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
    if (cls == BPF_JMP || cls == BPF_JMP32) {
      if (op == BPF_EXIT) continue;
      if (op == BPF_CALL) {
        flow(static_cast<int64_t>(pc) + 1, (m | 1) & ~kCallerSaved);
        continue;
      }
      if (op == BPF_JA) {
        flow(static_cast<int64_t>(pc) + 1 + (cls == BPF_JMP ? in.off : in.imm),
             m);
        continue;
      }
      flow(static_cast<int64_t>(pc) + 1, m);
      flow(static_cast<int64_t>(pc) + 1 + in.off, m);
      continue;
    }
    if (cls == BPF_ALU || cls == BPF_ALU64 || cls == BPF_LDX) {
      m |= 1 << in.dst;
    } else if (cls == BPF_LD) {
      if (BPF_MODE(in.code) == BPF_IMM) {
        flow(static_cast<int64_t>(pc) + 2, m | 1 << in.dst);
        continue;
      }
      m = (m | 1) & ~kCallerSaved;  // LD_ABS / LD_IND
    } else if (cls == BPF_STX && BPF_MODE(in.code) == BPF_ATOMIC) {
      if (in.imm == BPF_CMPXCHG) {
        m |= 1;
      } else if (in.imm & BPF_FETCH) {
        m |= 1 << in.src;
      }
    }
    flow(static_cast<int64_t>(pc) + 1, m);
  }
  for (size_t pc = 0; pc < n; ++pc) {
    if (written[pc] < 0 || !reached[pc]) continue;
    if (facts->err != 0 && facts->err_pc <= pc) return;
    const RawInsn& in = insns[pc];
    const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
    const bool x = BPF_SRC(in.code) == BPF_X;
    int reads[3] = {-1, -1, -1};
    if (cls == BPF_ALU || cls == BPF_ALU64) {
      if (op == BPF_MOV) {
        if (x) reads[0] = in.src;
      } else if (op == BPF_NEG || op == BPF_END) {
        reads[0] = in.dst;
      } else {
        reads[0] = x ? in.src : in.dst;
        reads[1] = x ? in.dst : -1;
      }
    } else if (cls == BPF_LDX) {
      reads[0] = in.src;
    } else if (cls == BPF_STX) {
      reads[0] = in.src;
      reads[1] = in.dst;
      if (BPF_MODE(in.code) == BPF_ATOMIC && in.imm == BPF_CMPXCHG) {
        reads[2] = 0;
      }
    } else if (cls == BPF_ST) {
      reads[0] = in.dst;
    } else if (cls == BPF_LD && BPF_MODE(in.code) != BPF_IMM) {
      reads[0] = 6;
      if (BPF_MODE(in.code) == BPF_IND) reads[1] = in.src;
    } else if (cls == BPF_JMP || cls == BPF_JMP32) {
      if (op == BPF_EXIT) {
        reads[0] = 0;
      } else if (op != BPF_CALL && op != BPF_JA && op != 0xe0 /* JCOND */) {
        reads[0] = x ? in.src : in.dst;
        reads[1] = x ? in.dst : -1;
      }
    }
    for (const int r : reads) {
      if (r < 0 || r > 10 || (written[pc] >> r & 1)) continue;
      char line[32];
      std::snprintf(line, sizeof(line), "R%d !read_ok\n", r);
      facts->err = -EACCES;
      facts->err_pc = static_cast<uint32_t>(pc);
      facts->log = line;
      return;
    }
  }
}

// One worklist walk over every path, the union of the paths as the verifier
// explores them. Registers hold the context (followed through moves, stack
// spills and additions, which make it a modified context pointer with a
// fixed offset `off` and a variable part `var` as adjust_ptr_min_max_vals
// keeps them) or a scalar tnum: constants, loads of fewer than 8 bytes,
// ALU on immediates and known values; the bounds the verifier also learns
// from comparisons are not followed. A conditional jump on two fully known
// operands takes one branch. Stack slots keep a spilled context, and an
// aligned 8-byte spill of a scalar until a call or a store through another
// register (a pointer into the stack, maybe). The walk visits a superset of
// what the verifier visits (it knows less), so whatever it finds
// unreachable the verifier finds unreachable too.
// The exception callback (`exception_cb`, 0: none) is walked too, from its
// first instruction with R1 the cookie (a scalar), as the verifier checks
// it as a subprogram it presumes called (do_check_subprogs).
// `ctx_ok`, where the program type's context has load-time access rules
// (the verifier's is_valid_access: emu/ctx_access_rules.h), refuses the
// accesses of the unmodified context it answers false for.
WalkFacts WalkProgram(const RawInsn* insns, size_t n,
                      const std::vector<uint32_t>& calls, uint32_t exception_cb,
                      CtxAccessOkFn ctx_ok = nullptr) {
  // The main program ends where the first subprogram (a call's or a
  // callback's target, or the exception callback) starts.
  size_t main_end = exception_cb != 0 ? std::min<size_t>(exception_cb, n) : n;
  for (size_t i = 0; i < n; ++i) {
    const RawInsn& in = insns[i];
    const bool call =
        in.code == (BPF_JMP | BPF_CALL) && in.src == BPF_PSEUDO_CALL;
    const bool func = in.code == (BPF_LD | BPF_IMM | BPF_DW) &&
                      in.src == 4;  // BPF_PSEUDO_FUNC
    if (call || func) {
      const int64_t t = static_cast<int64_t>(i) + 1 + in.imm;
      if (t > 0 && static_cast<size_t>(t) < main_end) {
        main_end = static_cast<size_t>(t);
      }
    }
  }
  struct Ptr {
    int32_t off = 0;
    Tnum var = Tnum::Const(0);
    bool operator==(const Ptr&) const = default;
  };
  struct Slot {
    int16_t at;
    bool ctx;  // a spilled context (ptr), or a spilled scalar (val)
    Ptr ptr;
    Tnum val;
    bool operator==(const Slot&) const = default;
  };
  struct State {
    uint16_t regs = 0;  // bit r: R<r> holds the context (ptr[r])
    Ptr ptr[11];
    Tnum scalar[11];
    std::vector<Slot> stack;
    bool operator==(const State&) const = default;
  };
  std::vector<std::optional<State>> at(n);
  std::vector<size_t> work;
  auto flow = [&](int64_t pc, const State& st) {
    if (pc < 0 || static_cast<uint64_t>(pc) >= n) return;
    if (!at[pc]) {
      at[pc] = st;
      work.push_back(static_cast<size_t>(pc));
      return;
    }
    State merged = *at[pc];
    for (int r = 0; r < 11; ++r) {
      merged.scalar[r] = merged.scalar[r].Union(st.scalar[r]);
      // Where one path moved the context and another did not, the moved
      // one stays: the verifier, walking each path, refuses the access.
      const bool both = (merged.regs >> r & 1) && (st.regs >> r & 1);
      if (both) {
        if (merged.ptr[r].off == 0) merged.ptr[r].off = st.ptr[r].off;
        merged.ptr[r].var = merged.ptr[r].var.Union(st.ptr[r].var);
      } else if (st.regs >> r & 1) {
        merged.ptr[r] = st.ptr[r];
      }
    }
    merged.regs |= st.regs;
    // A spilled context from either path stays; a spilled scalar only as
    // far as both paths agree.
    std::erase_if(merged.stack, [&](Slot& m) {
      if (m.ctx) return false;
      const auto o = std::find_if(st.stack.begin(), st.stack.end(),
                                  [&](const Slot& s) { return s.at == m.at; });
      if (o == st.stack.end()) return true;
      if (o->ctx) {
        m = *o;
        return false;
      }
      m.val = m.val.Union(o->val);
      return false;
    });
    for (const Slot& s : st.stack) {
      if (s.ctx && std::none_of(merged.stack.begin(), merged.stack.end(),
                                [&](const Slot& m) { return m.at == s.at; })) {
        merged.stack.push_back(s);
      }
    }
    if (!(merged == *at[pc])) {
      at[pc] = merged;
      work.push_back(static_cast<size_t>(pc));
    }
  };
  State entry;
  entry.regs = 1u << 1;
  flow(0, entry);
  if (exception_cb != 0) flow(exception_cb, State{});
  WalkFacts facts;
  auto refuse = [&](size_t pc, int reg, const Ptr& p, bool atomic = false) {
    if (facts.err != 0 && facts.err_pc <= pc) return;
    char line[96];
    if (atomic) {
      std::snprintf(line, sizeof(line),
                    "BPF_ATOMIC stores into R%d ctx is not allowed\n", reg);
    } else if (p.off < 0) {
      std::snprintf(line, sizeof(line),
                    "negative offset ctx ptr R%d off=%d disallowed\n", reg,
                    p.off);
    } else if (p.off != 0) {
      std::snprintf(line, sizeof(line),
                    "dereference of modified ctx ptr R%d off=%d disallowed\n",
                    reg, p.off);
    } else {
      std::snprintf(line, sizeof(line),
                    "variable ctx access var_off=%s disallowed\n",
                    p.var.Str().c_str());
    }
    facts.err = -EACCES;
    facts.err_pc = static_cast<uint32_t>(pc);
    facts.log = line;
  };
  auto refuse_access = [&](size_t pc, int32_t off, uint32_t size) {
    if (facts.err != 0 && facts.err_pc <= pc) return;
    char line[96];
    std::snprintf(line, sizeof(line),
                  "invalid bpf_context access off=%d size=%u\n", off, size);
    facts.err = -EACCES;
    facts.err_pc = static_cast<uint32_t>(pc);
    facts.log = line;
  };
  auto modified = [](const Ptr& p) {
    return p.off != 0 || !(p.var == Tnum::Const(0));
  };
  size_t steps = 0;
  while (!work.empty() && ++steps < 1000000) {
    const size_t pc = work.back();
    work.pop_back();
    State st = *at[pc];
    const RawInsn& in = insns[pc];
    const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
    const uint16_t dst_bit = static_cast<uint16_t>(1u << in.dst);
    const bool src_ctx = st.regs >> in.src & 1, dst_ctx = st.regs >> in.dst & 1;
    auto set_scalar = [&](int reg, Tnum t) {
      st.regs &= static_cast<uint16_t>(~(1u << reg));
      st.scalar[reg] = t;
    };
    // The value of a register that holds a scalar (a context: unknown).
    auto value = [&](int reg) {
      return st.regs >> reg & 1 ? Tnum{} : st.scalar[reg];
    };
    auto clobber_args = [&] {  // R0-R5 after a call or LD_ABS/LD_IND
      for (int r = 0; r <= 5; ++r) set_scalar(r, Tnum{});
    };
    auto forget_scalar_slots = [&] {
      std::erase_if(st.stack, [](const Slot& s) { return !s.ctx; });
    };
    if (cls == BPF_JMP || cls == BPF_JMP32) {
      if (op == BPF_EXIT) {
        if (pc < main_end) {
          facts.main_exits.push_back(st.regs & 1 ? Tnum{} : st.scalar[0]);
        }
        continue;
      }
      if (op == BPF_CALL) {
        if (std::binary_search(calls.begin(), calls.end(), pc)) {
          facts.reached_calls.push_back(static_cast<uint32_t>(pc));
        }
        if (in.src == BPF_PSEUDO_CALL) {  // the context goes along in R1-R5
          State callee;
          callee.regs = st.regs & 0x3e;
          for (int r = 1; r <= 5; ++r) callee.ptr[r] = st.ptr[r];
          flow(static_cast<int64_t>(pc) + 1 + in.imm, callee);
        }
        clobber_args();
        forget_scalar_slots();  // helpers may write through stack pointers
        flow(pc + 1, st);
        continue;
      }
      if (op == BPF_JA) {
        flow(static_cast<int64_t>(pc) + 1 + (cls == BPF_JMP ? in.off : in.imm),
             st);
        continue;
      }
      const bool k = BPF_SRC(in.code) == BPF_K;
      const int64_t taken = static_cast<int64_t>(pc) + 1 + in.off;
      const Tnum ta = value(in.dst),
                 tb = k ? Tnum::Const(static_cast<uint64_t>(int64_t{in.imm}))
                        : value(in.src);
      std::optional<bool> jump;
      if (ta.known() && tb.known()) {
        uint64_t a = ta.value, b = tb.value;
        int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
        if (cls == BPF_JMP32) {
          a = static_cast<uint32_t>(a);
          b = static_cast<uint32_t>(b);
          sa = static_cast<int32_t>(a);
          sb = static_cast<int32_t>(b);
        }
        switch (op) {
          case BPF_JEQ:
            jump = a == b;
            break;
          case BPF_JNE:
            jump = a != b;
            break;
          case BPF_JGT:
            jump = a > b;
            break;
          case BPF_JGE:
            jump = a >= b;
            break;
          case BPF_JLT:
            jump = a < b;
            break;
          case BPF_JLE:
            jump = a <= b;
            break;
          case BPF_JSGT:
            jump = sa > sb;
            break;
          case BPF_JSGE:
            jump = sa >= sb;
            break;
          case BPF_JSLT:
            jump = sa < sb;
            break;
          case BPF_JSLE:
            jump = sa <= sb;
            break;
          case BPF_JSET:
            jump = (a & b) != 0;
            break;
          default:
            break;
        }
      }
      if (!jump || *jump) flow(taken, st);
      if (!jump || !*jump) flow(pc + 1, st);
      continue;
    }
    if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {  // two slots
      const uint64_t v =
          static_cast<uint32_t>(in.imm) |
          (pc + 1 < n ? uint64_t{static_cast<uint32_t>(insns[pc + 1].imm)} << 32
                      : 0);
      set_scalar(in.dst, in.src == 0 ? Tnum::Const(v) : Tnum{});
      flow(static_cast<int64_t>(pc) + 2, st);
      continue;
    }
    if (cls == BPF_LD) {  // LD_ABS / LD_IND
      clobber_args();
    } else if (cls == BPF_LDX) {
      const uint32_t size = AccessBytes(BPF_SIZE(in.code));
      if (src_ctx) {
        if (modified(st.ptr[in.src])) {
          refuse(pc, in.src, st.ptr[in.src]);
          continue;
        }
        if (ctx_ok != nullptr && !ctx_ok(in.off, size, false)) {
          refuse_access(pc, in.off, size);
          continue;
        }
        facts.max_off = std::max<uint32_t>(
            facts.max_off,
            static_cast<uint32_t>(std::max(0, int{in.off})) + size);
      }
      const auto slot =
          std::find_if(st.stack.begin(), st.stack.end(),
                       [&](const Slot& s) { return s.at == in.off; });
      if (in.src == BPF_REG_10 && size == 8 && slot != st.stack.end()) {
        if (slot->ctx) {
          st.regs |= dst_bit;
          st.ptr[in.dst] = slot->ptr;
        } else {
          set_scalar(in.dst, slot->val);
        }
      } else {
        const bool sx = BPF_MODE(in.code) == kModeMemSx;
        set_scalar(in.dst, size < 8 && !sx
                               ? Tnum{0, (uint64_t{1} << (8 * size)) - 1}
                               : Tnum{});
      }
    } else if (cls == BPF_ST || cls == BPF_STX) {
      const bool atomic = cls == BPF_STX && BPF_MODE(in.code) == BPF_ATOMIC;
      if (dst_ctx && atomic) {  // check_atomic, before the access
        refuse(pc, in.dst, st.ptr[in.dst], /*atomic=*/true);
        continue;
      }
      if (dst_ctx && modified(st.ptr[in.dst])) {
        refuse(pc, in.dst, st.ptr[in.dst]);
        continue;
      }
      if (dst_ctx && ctx_ok != nullptr &&
          !ctx_ok(in.off, AccessBytes(BPF_SIZE(in.code)), true)) {
        refuse_access(pc, in.off, AccessBytes(BPF_SIZE(in.code)));
        continue;
      }
      if (in.dst != BPF_REG_10) {
        forget_scalar_slots();
      } else {
        // The slots the bytes written overlap are overwritten; an 8-byte
        // store keeps what it spills.
        const int size = AccessBytes(BPF_SIZE(in.code));
        std::erase_if(st.stack, [&](const Slot& s) {
          return s.at < in.off + size && in.off < s.at + 8;
        });
        if (BPF_MODE(in.code) == BPF_MEM && size == 8) {
          if (cls == BPF_STX && src_ctx) {
            st.stack.push_back({in.off, true, st.ptr[in.src], Tnum{}});
          } else if (in.off < 0 && in.off >= -512 && in.off % 8 == 0) {
            const Tnum v =
                cls == BPF_ST
                    ? Tnum::Const(static_cast<uint64_t>(int64_t{in.imm}))
                    : value(in.src);
            st.stack.push_back({in.off, false, Ptr{}, v});
          }
        }
      }
      if (atomic && (in.imm & BPF_FETCH)) {  // cmpxchg fetches into R0
        set_scalar(in.imm == BPF_CMPXCHG ? 0 : in.src, Tnum{});
      }
    } else if (cls == BPF_ALU || cls == BPF_ALU64) {
      const bool alu64 = cls == BPF_ALU64, k = BPF_SRC(in.code) == BPF_K;
      const Tnum imm =
          Tnum::Const(alu64 ? static_cast<uint64_t>(int64_t{in.imm})
                            : static_cast<uint32_t>(in.imm));
      const Tnum src = k ? imm : value(in.src);
      if (op == BPF_MOV && in.off == 0) {
        if (!k && src_ctx && alu64) {
          st.regs |= dst_bit;
          st.ptr[in.dst] = st.ptr[in.src];
        } else {
          set_scalar(in.dst, alu64 ? src : src.Low32());
        }
      } else if (dst_ctx && alu64 && (op == BPF_ADD || op == BPF_SUB) &&
                 (k || !src_ctx)) {  // ctx += / -= a scalar
        Ptr& p = st.ptr[in.dst];
        const int64_t sign = op == BPF_ADD ? 1 : -1;
        if (src.known()) {
          p.off = static_cast<int32_t>(p.off +
                                       sign * static_cast<int64_t>(src.value));
        } else {
          p.var = op == BPF_ADD ? p.var.Add(src) : p.var.Sub(src);
        }
      } else if (dst_ctx || (!k && src_ctx)) {
        set_scalar(in.dst, Tnum{});  // the verifier refuses the others itself
      } else {
        const Tnum d = st.scalar[in.dst];
        const uint32_t shift = static_cast<uint32_t>(in.imm);
        Tnum out{};
        switch (op) {
          case BPF_ADD:
            out = d.Add(src);
            break;
          case BPF_SUB:
            out = d.Sub(src);
            break;
          case BPF_OR:
            out = d.Or(src);
            break;
          case BPF_AND:
            out = d.And(src);
            break;
          case BPF_XOR:
            out = d.Xor(src);
            break;
          case BPF_LSH:  // by an immediate
            if (k && shift < (alu64 ? 64u : 32u)) {
              out = {d.value << shift, d.mask << shift};
            }
            break;
          case BPF_RSH:  // by an immediate
            if (k && shift < (alu64 ? 64u : 32u)) {
              const Tnum w = alu64 ? d : d.Low32();
              out = {w.value >> shift, w.mask >> shift};
            }
            break;
          default:
            break;
        }
        set_scalar(in.dst, alu64 ? out : out.Low32());
      }
    }
    flow(pc + 1, st);
  }
  std::sort(facts.reached_calls.begin(), facts.reached_calls.end());
  facts.reached_calls.erase(
      std::unique(facts.reached_calls.begin(), facts.reached_calls.end()),
      facts.reached_calls.end());
  facts.reached.resize(n);
  for (size_t pc = 0; pc < n; ++pc) facts.reached[pc] = at[pc].has_value();
  return facts;
}

}  // namespace

int Program::Load(const LoadAttr& attr, Linker& linker,
                  std::shared_ptr<const Program>* out) {
  // bpf_prog_load(): insn_cnt 0 or beyond the complexity limit.
  if (attr.insn_cnt == 0 || attr.insn_cnt > kMaxInsns) return -E2BIG;
  if (attr.insns == nullptr) return -EFAULT;
  auto prog = std::shared_ptr<Program>(new Program);
  prog->prog_type_ = attr.prog_type;
  prog->local_type_size_ = attr.local_type_size;
  prog->exception_cb_ = attr.exception_cb;
  prog->ctx_size_ = CtxSize(attr.prog_type);
  const uint32_t n = attr.insn_cnt;
  if (attr.exception_cb >= n) return -EINVAL;  // no instruction of it
  const RawInsn* in = attr.insns;
  prog->insns_.assign(n, Insn{});
  // Which instructions are the second half of an LD_IMM64.
  std::vector<bool> second_half(n, false);
  bool cast_to_fp = false;  // an addr_space_cast writing R10
  for (uint32_t i = 0; i < n; ++i) {
    const RawInsn& r = in[i];
    Insn& d = prog->insns_[i];
    d.dst = r.dst;
    d.src = r.src;
    d.off = r.off;
    d.imm = r.imm;
    // check_reg_arg(): "R%d is invalid".
    if (r.dst > 10 || r.src > 10) return -EINVAL;
    int err;
    switch (BPF_CLASS(r.code)) {
      case BPF_ALU:
      case BPF_ALU64:
        err = DecodeAlu(r, &d);
        if (d.op == CAST_KERN || d.op == CAST_USER) {
          // The arena check comes before the frame pointer's: decided once
          // every map load is known.
          prog->casts_ = true;
          if (err == -EACCES) {
            cast_to_fp = true;
            err = 0;
          }
        }
        break;
      case BPF_LDX:
        err = DecodeLdx(r, &d);
        break;
      case BPF_ST:
      case BPF_STX:
        err = DecodeStore(r, &d);
        break;
      case BPF_LD:
        if (BPF_MODE(r.code) == BPF_IMM && BPF_SIZE(r.code) == BPF_DW) {
          err = prog->DecodeImm64(in, i, n, attr, linker, &d);
          if (err == 0) {
            second_half[i + 1] = true;
            prog->insns_[i + 1] = {NOP, 0, 0, 0, 0, 0};
            ++i;
          }
        } else {
          err = DecodeLdAbs(r, attr.prog_type, &d);
        }
        break;
      case BPF_JMP:
      case BPF_JMP32:
        err = prog->DecodeJump(r, i, n, attr, linker, &d);
        break;
      default:
        err = -EINVAL;
    }
    if (err != 0) return err;
  }
  if (int err = prog->CheckControlFlow(second_half); err != 0) return err;
  // check_attach_btf_id(), after check_cfg and before the instruction walk.
  if (attr.prog_type == BPF_PROG_TYPE_SYSCALL && !attr.sleepable) {
    if (attr.log != nullptr) {
      *attr.log += "Syscall programs can only be sleepable\n";
    }
    return -EINVAL;
  }
  // check_alu_op(): "addr_space_cast insn can only be used in a program
  // that has an associated arena" (the arena comes from any map load of
  // the program: resolve_pseudo_ldimm64 runs before the instruction checks).
  if (prog->casts_ && prog->arena_ == nullptr) return -EINVAL;
  if (cast_to_fp) return -EACCES;
  WalkFacts walk = WalkProgram(in, n, prog->unknown_calls_, attr.exception_cb,
                               CtxAccessRule(attr.prog_type));
  if (!attr.reads_unwritten_registers) {
    RefuseUninitializedReads(in, n, walk.reached, &walk);
  }
  if (!walk.reached_calls.empty() &&
      (walk.err == 0 || walk.reached_calls[0] < walk.err_pc)) {
    const uint32_t pc = walk.reached_calls[0];
    const size_t k =
        static_cast<size_t>(std::find(prog->unknown_calls_.begin(),
                                      prog->unknown_calls_.end(), pc) -
                            prog->unknown_calls_.begin());
    if (attr.log != nullptr) {
      *attr.log += HelperRefusalLog(prog->unknown_why_[k], in[pc].imm,
                                    TargetKernel(), attr.prog_type);
    }
    return HelperRefusalErrno(prog->unknown_why_[k]);
  }
  if (walk.err != 0) {
    if (attr.log != nullptr) *attr.log += walk.log;
    return walk.err;
  }
  // check_return_code() on a known R0 (verbose_invalid_scalar's line).
  if (attr.check_retval) {
    for (const Tnum& r0 : walk.main_exits) {
      if (!r0.known()) continue;
      const int32_t v = static_cast<int32_t>(r0.value);
      if (v >= attr.retval_min && v <= attr.retval_max) continue;
      if (attr.log != nullptr) {
        const long long sv = static_cast<long long>(r0.value);
        *attr.log +=
            "At program exit the register R0 has smin=" + std::to_string(sv) +
            " smax=" + std::to_string(sv) + " should have been in [" +
            std::to_string(attr.retval_min) + ", " +
            std::to_string(attr.retval_max) + "]\n";
      }
      return -EINVAL;
    }
  }
  // check_return_code()'s enforce_attach_type_range: an exit whose R0 is
  // known to be 2 or 3 (var_off within tnum_range(2, 3)).
  prog->returns_2_or_3_ = std::any_of(
      walk.main_exits.begin(), walk.main_exits.end(), [](const Tnum& r0) {
        return (r0.mask & ~uint64_t{1}) == 0 && (r0.value & ~uint64_t{1}) == 2;
      });
  prog->max_ctx_offset_ = walk.max_off;
  prog->resources_ = linker.TakeResources();
  if (JitEnabled()) {
    static_assert(std::is_standard_layout_v<Vm>);
    JitHooks hooks = {
        static_cast<int32_t>(offsetof(Vm, budget_)),
        static_cast<int32_t>(offsetof(Vm, held_lock_)),
        static_cast<int32_t>(offsetof(Vm, switch_to_)),
        static_cast<int32_t>(sizeof(Vm::stack_)),
        static_cast<int32_t>(offsetof(Vm, jit_ranges_)),
        static_cast<int32_t>(offsetof(Vm, depth_)),
        static_cast<int32_t>(offsetof(Vm, stack_lo_)),
        static_cast<int32_t>(offsetof(Vm, ctx_lo_)),
        static_cast<int32_t>(kStackSize),
        kMaxCallFrames,
        &Vm::JitAccess,
        &Vm::JitFault,
        &Vm::JitTailCall,
        static_cast<int32_t>(offsetof(Vm, prog_)),
        static_cast<int32_t>(offsetof(Vm, ctx_hi_)),
        static_cast<int32_t>(offsetof(Vm, tail_run_)),
        &budget_limit,
        {},
    };
    Vm::JitZeroOnEnter(hooks.zero_on_enter);
    // Inline ARRAY / PERCPU_ARRAY lookups on the program's own maps.
    JitProgramInfo info;
    info.helper_ids = prog->helper_ids_.data();
    info.array = [&linker, p = prog.get()](uint64_t handle, JitArray* a) {
      return std::find(p->map_handles_.begin(), p->map_handles_.end(),
                       handle) != p->map_handles_.end() &&
             linker.JitArrayOf(handle, a);
    };
    // Direct calls of the lookups of its own hash maps and LPM tries.
    info.map_lookup = [&linker, p = prog.get()](uint64_t handle,
                                                JitMapLookup* m) {
      return std::find(p->map_handles_.begin(), p->map_handles_.end(),
                       handle) != p->map_handles_.end() &&
             linker.JitMapLookupOf(handle, m);
    };
    info.cpu_offset = static_cast<int32_t>(offsetof(Vm, jit_cpu_));
    info.cpu_fold_offset = static_cast<int32_t>(offsetof(Vm, jit_cpu_fold_));
    // Inline tail calls through the program's own PROG_ARRAYs.
    info.prog_array = [&linker, p = prog.get()](uint64_t handle,
                                                JitProgArray* a) {
      return std::find(p->map_handles_.begin(), p->map_handles_.end(),
                       handle) != p->map_handles_.end() &&
             linker.JitProgArrayOf(handle, a);
    };
    info.prog_type = prog->prog_type_;
    std::string why;  // what is left to the interpreter
    prog->jit_ = JitCode::Compile(prog->insns_.data(), prog->insns_.size(),
                                  prog->helpers_.data(), hooks, &why, &info);
    if (prog->jit_ != nullptr) {
      prog->jit_target_.entry_type =
          prog->prog_type_ | (prog->jit_->uses_cpu() ? kJitUsesCpu : 0);
      prog->jit_target_.tail_calls = prog->jit_->tail_calls() ? 1 : 0;
      prog->jit_target_.body = prog->jit_->body();
      prog->jit_target_.program = prog.get();
      prog->jit_target_.ctx_size = prog->ctx_size_;
      prog->jit_target_.cpu_count = prog->jit_->cpu_count();
    }
  }
  *out = std::move(prog);
  return 0;
}

Vm::Vm(const Program* prog, void* ctx) : prog_(prog), ctx_(ctx) {
  stack_lo_ = reinterpret_cast<uint64_t>(stack_);
  stack_hi_ = stack_lo_ + sizeof(stack_);
  ctx_lo_ = reinterpret_cast<uint64_t>(ctx);
  Enter();
}

// What Enter() resets to zero besides the budget, the context's end and
// the ranges' context part: compiled code entering a tail call's target
// inline (jit_x86.cc InlineTailCall) zeroes the same fields; keep the two
// in step. The packet bounds are not re-read there (the target has the
// caller's type, so LoadPacketBounds() would find the same), nor jit_cpu_
// (the run's CPU, already read when the target needs it).
void Vm::JitZeroOnEnter(JitHooks::Zero* out) {
  const JitHooks::Zero zero[] = {
      {static_cast<int32_t>(offsetof(Vm, jit_ranges_) +
                            offsetof(JitRanges, rd_len)),
       8},
      {static_cast<int32_t>(offsetof(Vm, jit_ranges_) +
                            offsetof(JitRanges, wr_len)),
       8},
      {static_cast<int32_t>(offsetof(Vm, held_lock_)), 8},
      {static_cast<int32_t>(offsetof(Vm, last_loaded_map_)), 8},
      {static_cast<int32_t>(offsetof(Vm, nregions_)), 4},
      {static_cast<int32_t>(offsetof(Vm, nreleases_)), 4},
      {static_cast<int32_t>(offsetof(Vm, nhandles_)), 4},
      {static_cast<int32_t>(offsetof(Vm, next_handle_)), 4},
      {static_cast<int32_t>(offsetof(Vm, readonly_regions_)), 1},
      {static_cast<int32_t>(offsetof(Vm, records_used_)), 1},
      {0, 0},
  };
  static_assert(std::size(zero) <= std::size(JitHooks{}.zero_on_enter));
  static_assert(sizeof(held_lock_) == 8 && sizeof(last_loaded_map_) == 8 &&
                sizeof(readonly_regions_) == 1 && sizeof(records_used_) == 1 &&
                sizeof(nregions_) == 4 && sizeof(nreleases_) == 4 &&
                sizeof(nhandles_) == 4 && sizeof(next_handle_) == 4);
  // Side by side (jit_x86.cc merges them into a few stores).
  static_assert(offsetof(Vm, records_used_) - offsetof(Vm, held_lock_) == 33);
  std::copy(std::begin(zero), std::end(zero), out);
}

void Vm::Enter() {
  budget_ = budget_limit;
  ctx_hi_ = ctx_lo_ + prog_->ctx_size_;
  LoadPacketBounds();
  held_lock_ = 0;
  jit_ranges_ = {};
  if (prog_->jit_ != nullptr) {
    jit_ranges_.ctx_lo = ctx_lo_;
    jit_ranges_.ctx_len = ctx_hi_ - ctx_lo_;
    // The CPU the run's inline PERCPU_ARRAY lookups use (the helper folds
    // it into the map's copies, jit_x86.cc InlineLookup).
    if (prog_->jit_->uses_cpu()) {
      jit_cpu_ = static_cast<int32_t>(CurrentCpu(uint32_t{1} << 30));
      if (const uint32_t n = prog_->jit_->cpu_count(); n != 0) {
        jit_cpu_fold_ =
            static_cast<int32_t>(static_cast<uint32_t>(jit_cpu_) % n);
      }
    }
  }
  readonly_regions_ = false;
  last_loaded_map_ = 0;
  nregions_ = 0;
  records_used_ = false;  // records_ is cleared when first used
  nreleases_ = 0;
  nhandles_ = 0;
  next_handle_ = 0;
}

void Vm::LoadPacketBounds() {
  pkt_lo_ = pkt_hi_ = 0;
  sk_lo_ = sk_hi_ = 0;
  pkt_writable_ = false;
  const uint32_t t = prog_->prog_type_;
  if (t == BPF_PROG_TYPE_XDP) {
    const auto* md = static_cast<const struct xdp_md*>(ctx_);
    pkt_lo_ = md->data_meta;
    pkt_hi_ = md->data_end;
    pkt_writable_ = true;
  } else if (IsSkbType(t)) {
    const auto* skb = static_cast<const struct __sk_buff*>(ctx_);
    pkt_lo_ = skb->data;
    pkt_hi_ = skb->data_end;
    // may_access_direct_pkt_data(): who may write the packet.
    pkt_writable_ = t == BPF_PROG_TYPE_SCHED_CLS ||
                    t == BPF_PROG_TYPE_SCHED_ACT || t == BPF_PROG_TYPE_LWT_XMIT;
    sk_lo_ = reinterpret_cast<uint64_t>(skb->sk);
    sk_hi_ = sk_lo_ == 0 ? 0 : sk_lo_ + sizeof(struct bpf_sock);
  } else if (t == BPF_PROG_TYPE_SOCK_OPS) {
    // The TCP header a callback sees, read-only.
    const auto* ops = static_cast<const struct bpf_sock_ops*>(ctx_);
    pkt_lo_ = reinterpret_cast<uint64_t>(ops->skb_data);
    pkt_hi_ = reinterpret_cast<uint64_t>(ops->skb_data_end);
  } else if (t == BPF_PROG_TYPE_SK_MSG) {
    // sk_msg_md's data / data_end are full pointers (__bpf_md_ptr); the
    // program may write the message (may_access_direct_pkt_data).
    const auto* md = static_cast<const struct sk_msg_md*>(ctx_);
    pkt_lo_ = reinterpret_cast<uint64_t>(md->data);
    pkt_hi_ = reinterpret_cast<uint64_t>(md->data_end);
    pkt_writable_ = true;
  }
  if (t == BPF_PROG_TYPE_SK_REUSEPORT) {
    // sk_reuseport_is_valid_access(): data and data_end, read only.
    const auto* md = static_cast<const struct sk_reuseport_md*>(ctx_);
    pkt_lo_ = reinterpret_cast<uint64_t>(md->data);
    pkt_hi_ = reinterpret_cast<uint64_t>(md->data_end);
  }
  if (pkt_hi_ < pkt_lo_) pkt_hi_ = pkt_lo_;
}

void Vm::ReloadPacket() {
  LoadPacketBounds();
  JitForget();  // the old packet may have been the range
}

bool Vm::SwitchTo(const Program* next) {
  if (depth_ != 0 || next == nullptr) return false;
  switch_to_ = next;
  return true;
}

bool Vm::Allowed(uint64_t addr, uint64_t size, bool write) const {
  const uint64_t end = addr + size;
  if (end < addr) return false;
  if (addr >= stack_lo_ && end <= stack_hi_) return true;
  if (addr >= ctx_lo_ && end <= ctx_hi_) {
    return !write || CtxFieldWritable(prog_->prog_type_, addr - ctx_lo_, size);
  }
  if (addr >= pkt_lo_ && end <= pkt_hi_) return !write || pkt_writable_;
  if (addr >= sk_lo_ && end <= sk_hi_) return !write;
  if (const int w = MapMemory(addr, end); w >= 0) return !write || w == 1;
  if (records_used_) {
    for (const Region& r : records_) {
      if (addr >= r.lo && end <= r.hi) return !write || r.writable;
    }
  }
  for (int i = 0; i < run_object_count; ++i) {
    const ObjectRange& r = run_objects[i];
    if (addr >= r.lo && end <= r.hi) return !write || r.writable;
  }
  // bpf_obj_new's objects, wherever the program found them.
  return graph::InObject(addr, size);
}

uint64_t Vm::ArenaOrFault(uint64_t base, int32_t off, uint32_t size, bool write,
                          bool sx, const Program::Insn* in) const {
  const uint64_t addr = base + int64_t{off};
  const ArenaWindow* arena = prog_->arena_;
  // The verifier gives PTR_TO_ARENA registers 32-bit values only (the cast
  // to as(0) and every ALU op on them are 32-bit).
  if (arena == nullptr || base >= kArenaWindow) {
    Fault("invalid memory %s of %d bytes at 0x%llx (insn %td)",
          write ? "write" : "read", static_cast<int>(size),
          static_cast<unsigned long long>(addr), in - prog_->insns_.data());
  }
  if (sx) {
    Fault("sign extending loads from arena are not supported (insn %td)",
          in - prog_->insns_.data());
  }
  // BPF_PROBE_MEM32: kern_vm_start + base + off. Below the window or past
  // its 4 GiB lies the guard; the exception table then zeroes a load's
  // destination and skips a store or atomic.
  const int64_t k = static_cast<int64_t>(base) + off;
  if (k < 0 || uint64_t(k) + size > kArenaWindow) return 0;
  return reinterpret_cast<uint64_t>(arena->At(uint64_t(k), size));
}

int Vm::MapMemory(uint64_t addr, uint64_t end) const {
  for (const Program::Area& a : prog_->areas_) {
    if (addr >= a.lo && end <= a.hi) return a.writable ? 1 : 0;
  }
  // Newest first: a program mostly touches the value it just looked up.
  const auto count = static_cast<unsigned>(nregions_);
  const unsigned n = std::min(count, unsigned{kMaxRegions});
  for (unsigned i = 1; i <= n; ++i) {
    const Region& r = regions_[(count - i) % kMaxRegions];
    if (addr >= r.lo && end <= r.hi) return r.writable ? 1 : 0;
  }
  return -1;
}

void Vm::JitRemember(uint64_t lo, uint64_t hi, bool writable) {
  if (prog_->jit_ == nullptr || hi <= lo) return;
  JitRanges& j = jit_ranges_;
  if (!writable && lo < j.wr_lo + j.wr_len && j.wr_lo < hi) j.wr_len = 0;
  j.rd_lo = lo;
  j.rd_len = hi - lo;
  if (writable && NoReadOnlyOverlap(lo, hi)) {
    j.wr_lo = lo;
    j.wr_len = hi - lo;
  }
}

bool Vm::NoReadOnlyOverlap(uint64_t lo, uint64_t hi) const {
  const auto overlaps = [lo, hi](uint64_t a, uint64_t b) {
    return a < hi && lo < b;
  };
  if (overlaps(ctx_lo_, ctx_hi_) || overlaps(sk_lo_, sk_hi_)) return false;
  if (!pkt_writable_ && overlaps(pkt_lo_, pkt_hi_)) return false;
  for (const Program::Area& a : prog_->areas_) {
    if (!a.writable && overlaps(a.lo, a.hi)) return false;
  }
  if (readonly_regions_) {
    for (int i = 0; i < std::min(nregions_, kMaxRegions); ++i) {
      const Region& r = regions_[i];
      if (!r.writable && overlaps(r.lo, r.hi)) return false;
    }
    for (int i = 0; records_used_ && i < static_cast<int>(std::size(records_));
         ++i) {
      const Region& r = records_[i];
      if (!r.writable && overlaps(r.lo, r.hi)) return false;
    }
  }
  for (int i = 0; i < run_object_count; ++i) {
    const ObjectRange& r = run_objects[i];
    if (!r.writable && overlaps(r.lo, r.hi)) return false;
  }
  return true;
}

bool Vm::ObjectHolding(uint64_t addr, uint64_t end, bool write, uint64_t* lo,
                       uint64_t* hi, bool* writable) const {
  const auto found = [&](uint64_t a, uint64_t b, bool w) {
    if (addr < a || end > b || (write && !w)) return false;
    *lo = a, *hi = b, *writable = w;
    return true;
  };
  if (found(pkt_lo_, pkt_hi_, pkt_writable_) || found(sk_lo_, sk_hi_, false)) {
    return true;
  }
  for (const Program::Area& a : prog_->areas_) {
    if (found(a.lo, a.hi, a.writable)) return true;
  }
  const auto count = static_cast<unsigned>(nregions_);
  const unsigned n = std::min(count, unsigned{kMaxRegions});
  for (unsigned i = 1; i <= n; ++i) {
    const Region& r = regions_[(count - i) % kMaxRegions];
    if (found(r.lo, r.hi, r.writable)) return true;
  }
  if (records_used_) {
    for (const Region& r : records_) {
      if (found(r.lo, r.hi, r.writable)) return true;
    }
  }
  for (int i = 0; i < run_object_count; ++i) {
    const ObjectRange& r = run_objects[i];
    if (found(r.lo, r.hi, r.writable)) return true;
  }
  return false;
}

bool Vm::InMapValue(uint64_t addr, uint64_t size) const {
  const uint64_t end = addr + size;
  return end >= addr && MapMemory(addr, end) >= 0;
}

bool Vm::Readable(uint64_t addr, uint64_t size) const {
  return size == 0 || Allowed(addr, size, false);
}
bool Vm::Writable(uint64_t addr, uint64_t size) const {
  return size == 0 || Allowed(addr, size, true);
}

bool Vm::ReadableString(uint64_t addr, uint64_t max) const {
  for (uint64_t i = 0; i < max; ++i) {
    if (!Allowed(addr + i, 1, false)) return false;
    if (*reinterpret_cast<const char*>(addr + i) == '\0') return true;
  }
  return false;
}

void Vm::AddRegion(uint64_t addr, uint64_t size, bool writable, uint8_t tag) {
  const Region r = {addr, addr + size, writable, tag};
  if (!writable) readonly_regions_ = true;
  if (tag != 0) {
    // Tagged regions (records to submit) are kept until removed.
    if (!records_used_) {
      for (Region& slot : records_) slot = {};
    }
    for (Region& slot : records_) {
      if (slot.hi == 0) {
        slot = r;
        seals_[&slot - records_].set = false;
        records_used_ = true;
        JitRemember(r.lo, r.hi, writable);
        return;
      }
    }
    Fault("more than %d ring buffer records reserved at once",
          static_cast<int>(std::size(records_)));
  }
  // The same value looked up again: already known.
  // (Unsigned: the index is a mask, not a signed remainder; this loop is
  // most of a hash lookup's bookkeeping from compiled code.)
  const auto count = static_cast<unsigned>(nregions_);
  const unsigned n = std::min(count, 8u);
  for (unsigned i = 1; i <= n; ++i) {
    Region& old = regions_[(count - i) % kMaxRegions];
    if (old.lo == r.lo && old.hi == r.hi) {
      old.writable = writable;
      JitRemember(r.lo, r.hi, writable);
      return;
    }
  }
  // The oldest region makes room: a program keeps few value pointers live.
  if (nregions_ >= kMaxRegions) JitForget();
  regions_[nregions_ % kMaxRegions] = r;
  if (++nregions_ == 2 * kMaxRegions) nregions_ = kMaxRegions;
  JitRemember(r.lo, r.hi, writable);
}

bool Vm::HasRegion(uint64_t addr, uint8_t tag) const {
  if (!records_used_) return false;
  for (const Region& r : records_) {
    if (r.hi == 0 || r.lo != addr || r.tag != tag) continue;
    if (tag != kDynptrTag) return true;
    Seal& seal = seals_[&r - records_];
    const void* now = reinterpret_cast<const void*>(addr);
    if (!seal.set) {
      std::memcpy(seal.bytes, now, kDynptrBytes);
      seal.set = true;
      return true;
    }
    return std::memcmp(seal.bytes, now, kDynptrBytes) == 0;
  }
  return false;
}

void Vm::SealDynptr(uint64_t addr) {
  if (records_used_) {
    for (const Region& r : records_) {
      if (r.hi != 0 && r.lo == addr && r.tag == kDynptrTag) {
        Seal& seal = seals_[&r - records_];
        std::memcpy(seal.bytes, reinterpret_cast<const void*>(addr),
                    kDynptrBytes);
        seal.set = true;
        return;
      }
    }
  }
  // (Only a dynptr record is made here: a record of another kind at the
  // same address, a reserved ring buffer record, stays.)
  AddRegion(addr, 0, false, kDynptrTag);
  SealDynptr(addr);
}

void Vm::ReleaseDynptrs(uint64_t data) {
  if (!records_used_ || data == 0) return;
  JitForget();
  for (Region& r : records_) {
    if (r.hi == 0 || r.tag != kDynptrTag) continue;
    const Seal& seal = seals_[&r - records_];
    uint64_t d;
    std::memcpy(&d,
                seal.set ? static_cast<const void*>(seal.bytes)
                         : reinterpret_cast<const void*>(r.lo),
                sizeof(d));
    if (d == data) r = {};
  }
}

void Vm::RemoveRegion(uint64_t addr) {
  JitForget();
  if (!records_used_) return;
  for (Region& r : records_) {
    if (r.lo == addr) r = {};
  }
}

void Vm::Fault(const char* fmt, ...) const {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  last_fault = why;
  Unwind();
  if (AbortRunFn abort_fn = abort_run.load(std::memory_order_acquire)) {
    abort_fn();
  }
  std::abort();  // a run outside ProgRun(): nowhere to return to
}

void Vm::Unwind() const {
  if (held_lock_ != 0) SpinLockRelease(reinterpret_cast<void*>(held_lock_));
  for (int i = nreleases_ - 1; i >= 0; --i) releases_[i].fn(releases_[i].arg);
  if (const RunHooks* h = run_hooks.load(std::memory_order_acquire)) {
    h->fault(*this);
  }
}

void Vm::PushFaultRelease(void (*fn)(void*), void* arg) {
  if (nreleases_ == static_cast<int>(std::size(releases_))) {
    Fault("helpers holding state nested more than %d deep",
          static_cast<int>(std::size(releases_)));
  }
  releases_[nreleases_++] = {fn, arg};
}

void Vm::PopFaultRelease() {
  if (nreleases_ > 0) --nreleases_;
}

bool Vm::IsMapHandle(uint64_t value) const {
  if (IsLoadedMap(value)) return true;
  for (int i = 0; i < nhandles_; ++i) {
    if (handles_[i] == value) return true;
  }
  return false;
}

bool Vm::IsLoadedMap(uint64_t value) const {
  // A program mostly passes the same map again (a lookup in a loop).
  if (value == last_loaded_map_ && value != 0) return true;
  for (uint64_t h : prog_->map_handles_) {
    if (h == value) {
      last_loaded_map_ = value;
      return true;
    }
  }
  return false;
}

void Vm::AddMapHandle(uint64_t value) {
  if (IsMapHandle(value)) return;
  constexpr int kMax = static_cast<int>(sizeof(handles_) / sizeof(handles_[0]));
  handles_[nhandles_ < kMax ? nhandles_++ : next_handle_++ % kMax] = value;
}

bool Vm::IsCallback(uint64_t value) const {
  return (value & ~uint64_t{0xffffffff}) == kCallbackTag &&
         (value & 0xffffffff) < prog_->insns_.size();
}

uint64_t Vm::CallCallback(uint64_t value, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t r4) {
  const uint64_t args[5] = {r1, r2, r3, r4, 0};
  ++callbacks_;
  const uint64_t ret =
      Exec(static_cast<uint32_t>(value & 0xffffffff), args, depth_ + 1);
  --callbacks_;
  return ret;
}

uint64_t Vm::CallExceptionCallback(uint64_t cookie) {
  const uint64_t args[5] = {cookie, 0, 0, 0, 0};
  ++callbacks_;
  const uint64_t ret = Exec(prog_->exception_cb_, args, 0);
  --callbacks_;
  return ret;
}

uint64_t Vm::CallCallbackUnderLock(uint64_t value, uint64_t r1, uint64_t r2) {
  const uint64_t lock = held_lock_, outer = callback_lock_;
  callback_lock_ = lock;
  const uint64_t ret = CallCallback(value, r1, r2);
  callback_lock_ = outer;
  if (held_lock_ != lock) {
    Fault("a callback run under bpf_spin_lock changed the lock held");
  }
  return ret;
}

uint64_t Program::Run(void* ctx) const {
  last_fault.clear();
  Vm vm(this, ctx);
  uint64_t ret;
  if (jit_ != nullptr && JitEnabled()) {
    // Inline tail calls need the run's hazard slot and no full fence
    // (jit_x86.cc InlineTailCall); otherwise they all take the helper.
    auto* run = static_cast<JitTailRun*>(bpfemu_tail_run_current);
    if (run != nullptr && run->hazard != nullptr && run->full_fence == 0) {
      vm.tail_run_ = run;
    }
    ret = vm.RunJit();
  } else {
    const uint64_t args[5] = {reinterpret_cast<uint64_t>(ctx), 0, 0, 0, 0};
    ret = vm.Exec(0, args, 0);
  }
  if (vm.run_hooked_) {
    if (const RunHooks* h = run_hooks.load(std::memory_order_acquire)) {
      h->end(vm);
    }
  }
  return ret;
}

uint64_t Program::RunCallback(uint64_t callback, uint64_t map, uint64_t key,
                              uint32_t key_size, uint64_t value,
                              uint32_t value_size) const {
  last_fault.clear();
  // The largest context (SYSCALL's); never written (no pointer to it).
  alignas(16) static uint8_t zero_ctx[65536];
  Vm vm(this, zero_ctx);
  if (!vm.IsCallback(callback)) return 0;
  vm.AddMapHandle(map);
  vm.AddRegion(key, key_size, false);
  vm.AddRegion(value, value_size, true);
  const uint64_t args[5] = {map, key, value, 0, 0};
  vm.callbacks_ = 1;
  const uint64_t ret =
      vm.Exec(static_cast<uint32_t>(callback & 0xffffffff), args, 1);
  if (vm.run_hooked_) {
    if (const RunHooks* h = run_hooks.load(std::memory_order_acquire)) {
      h->end(vm);
    }
  }
  return ret;
}

uint64_t Vm::RunJit() {
  for (;;) {
    const uint64_t r0 = prog_->jit_->entry()(this, ctx_lo_, stack_hi_);
    if (switch_to_ == nullptr) return r0;
    // A tail call, as Exec() takes it: the target starts afresh.
    prog_ = switch_to_;
    switch_to_ = nullptr;
    Enter();
    if (prog_->jit_ == nullptr) {
      const uint64_t args[5] = {ctx_lo_, 0, 0, 0, 0};
      return Exec(0, args, 0);
    }
  }
}

uint64_t Vm::JitTailCall(Vm* vm) {
  const Program* next = vm->switch_to_;
  if (next->jit_ == nullptr) return 0;  // RunJit() interprets it
  // As RunJit() and the interpreter take it: the target starts afresh.
  vm->prog_ = next;
  vm->switch_to_ = nullptr;
  vm->Enter();
  return next->jit_->body();
}

uint64_t Vm::JitAccess(Vm* vm, uint64_t base, uint32_t pc) {
  const Program::Insn* in = &vm->prog_->insns_[pc];
  const bool write = in->op >= ST8 && in->op <= ATOMIC64;
  const bool sx = in->op >= LDXS8 && in->op <= LDXS32;
  const uint64_t addr = base + int64_t{in->off};
  if (vm->Allowed(addr, in->size, write)) {
    // The next access to the same object is checked inline.
    uint64_t lo, hi;
    bool writable;
    if (vm->ObjectHolding(addr, addr + in->size, write, &lo, &hi, &writable)) {
      vm->JitRemember(lo, hi, writable);
    }
    return addr;
  }
  return vm->ArenaOrFault(base, in->off, in->size, write, sx, in);
}

void Vm::JitFault(Vm* vm, uint32_t kind, uint32_t pc) {
  switch (kind) {
    case kJitBudget:
      vm->Fault("instruction budget exhausted (an endless loop?)");
    case kJitCallLocked:
      vm->Fault("function calls are not allowed while holding a lock (insn %u)",
                pc);
    case kJitMisaligned:
      vm->Fault("misaligned atomic");
    case kJitRecursion:
      vm->Fault("instruction budget exhausted (endless recursion?)");
    case kJitDeep:
      vm->Fault("call stack deeper than 8 frames");
    default:
      vm->Fault("bpf_spin_unlock is missing (insn %u)", pc);
  }
}

namespace {

template <typename T>
T Load(uint64_t addr) {
  T v;
  std::memcpy(&v, reinterpret_cast<const void*>(addr), sizeof(T));
  return v;
}
template <typename T>
void Store(uint64_t addr, T v) {
  std::memcpy(reinterpret_cast<void*>(addr), &v, sizeof(T));
}

// Signed division and modulo as do_misc_fixups() leaves them: by zero gives
// 0 / the dividend, by -1 negates / gives 0 (no INT_MIN / -1 trap).
template <typename S>
S SDiv(S a, S b) {
  if (b == 0) return 0;
  if (b == -1)
    return static_cast<S>(0 - static_cast<std::make_unsigned_t<S>>(a));
  return a / b;
}
template <typename S>
S SMod(S a, S b) {
  if (b == 0) return a;
  if (b == -1) return 0;
  return a % b;
}

template <typename T>
T AtomicOp(T* p, int32_t op, T operand, T expected) {
  switch (op & ~kFetch) {
    case BPF_ADD:
      return __atomic_fetch_add(p, operand, __ATOMIC_SEQ_CST);
    case BPF_OR:
      return __atomic_fetch_or(p, operand, __ATOMIC_SEQ_CST);
    case BPF_AND:
      return __atomic_fetch_and(p, operand, __ATOMIC_SEQ_CST);
    case BPF_XOR:
      return __atomic_fetch_xor(p, operand, __ATOMIC_SEQ_CST);
    case kXchg & ~kFetch:
      return __atomic_exchange_n(p, operand, __ATOMIC_SEQ_CST);
    default: {  // cmpxchg
      T old = expected;
      __atomic_compare_exchange_n(p, &old, operand, false, __ATOMIC_SEQ_CST,
                                  __ATOMIC_SEQ_CST);
      return old;
    }
  }
}

}  // namespace

uint64_t Vm::Exec(uint32_t start, const uint64_t* args, int depth) {
  if (depth >= kMaxCallFrames) Fault("call stack deeper than 8 frames");
  const int saved_depth = depth_;
  depth_ = depth;
  uint64_t r[11] = {};
  for (int i = 0; i < 5; ++i) r[i + 1] = args[i];
  r[10] = stack_lo_ + uint64_t(kMaxCallFrames - depth) * kStackSize;

  const Program::Insn* code = prog_->insns_.data();
  const Program::Insn* in = code + start;

#define BPFEMU_LABEL_ALU(name) \
  &&L_##name##64X, &&L_##name##64K, &&L_##name##32X, &&L_##name##32K,
#define BPFEMU_LABEL_JMP(name) \
  &&L_##name##64X, &&L_##name##64K, &&L_##name##32X, &&L_##name##32K,
#define BPFEMU_LABEL_PLAIN(name) &&L_##name,
  static const void* const kLabels[] = {BPFEMU_OPS(BPFEMU_LABEL)};
#undef BPFEMU_LABEL_ALU
#undef BPFEMU_LABEL_JMP
#undef BPFEMU_LABEL_PLAIN
  static_assert(std::size(kLabels) == kNumOps);

#define NEXT               \
  do {                     \
    ++in;                  \
    goto* kLabels[in->op]; \
  } while (0)
#define DST r[in->dst]
#define SRC r[in->src]
#define IMM in->imm
#define JUMP(cond)                                                \
  do {                                                            \
    if (cond) {                                                   \
      const Program::Insn* t = code + in->off;                    \
      if (t <= in && --budget_ == 0) {                            \
        Fault("instruction budget exhausted (an endless loop?)"); \
      }                                                           \
      in = t;                                                     \
      goto* kLabels[in->op];                                      \
    }                                                             \
    NEXT;                                                         \
  } while (0)

  goto* kLabels[in->op];

  // ALU. 64-bit ops on u64, 32-bit ops on the low halves, zero-extended.
#define ALU_PAIR(name, expr64, expr32)                   \
  L_##name##64X : {                                      \
    const uint64_t a = DST, b = SRC;                     \
    DST = (expr64);                                      \
    NEXT;                                                \
  }                                                      \
  L_##name##64K : {                                      \
    const uint64_t a = DST, b = uint64_t(IMM);           \
    DST = (expr64);                                      \
    NEXT;                                                \
  }                                                      \
  L_##name##32X : {                                      \
    const uint32_t a = uint32_t(DST), b = uint32_t(SRC); \
    DST = uint32_t(expr32);                              \
    NEXT;                                                \
  }                                                      \
  L_##name##32K : {                                      \
    const uint32_t a = uint32_t(DST), b = uint32_t(IMM); \
    DST = uint32_t(expr32);                              \
    NEXT;                                                \
  }
  ALU_PAIR(ADD, a + b, a + b)
  ALU_PAIR(SUB, a - b, a - b)
  ALU_PAIR(MUL, a * b, a * b)
  ALU_PAIR(DIV, b ? a / b : 0, b ? a / b : 0)
  ALU_PAIR(SDIV, uint64_t(SDiv(int64_t(a), int64_t(b))),
           uint32_t(SDiv(int32_t(a), int32_t(b))))
  ALU_PAIR(MOD, b ? a % b : a, b ? a % b : a)
  ALU_PAIR(SMOD, uint64_t(SMod(int64_t(a), int64_t(b))),
           uint32_t(SMod(int32_t(a), int32_t(b))))
  ALU_PAIR(OR, a | b, a | b)
  ALU_PAIR(AND, a & b, a & b)
  ALU_PAIR(XOR, a ^ b, a ^ b)
  ALU_PAIR(LSH, a << (b & 63), a << (b & 31))
  ALU_PAIR(RSH, a >> (b & 63), a >> (b & 31))
  ALU_PAIR(ARSH, uint64_t(int64_t(a) >> (b & 63)),
           uint32_t(int32_t(a) >> (b & 31)))
  ALU_PAIR(MOV, ((void)a, b), ((void)a, b))
  ALU_PAIR(MOVSX8, ((void)a, uint64_t(int64_t(int8_t(b)))),
           ((void)a, uint32_t(int32_t(int8_t(b)))))
  ALU_PAIR(MOVSX16, ((void)a, uint64_t(int64_t(int16_t(b)))),
           ((void)a, uint32_t(int32_t(int16_t(b)))))
  ALU_PAIR(MOVSX32, ((void)a, uint64_t(int64_t(int32_t(b)))), ((void)a, b))
#undef ALU_PAIR
L_NEG64:
  DST = 0 - DST;
  NEXT;
L_NEG32:
  DST = uint32_t(0 - uint32_t(DST));
  NEXT;
L_LE16:
  DST = uint16_t(DST);
  NEXT;
L_LE32:
  DST = uint32_t(DST);
  NEXT;
L_SWAP16:
  DST = __builtin_bswap16(uint16_t(DST));
  NEXT;
L_SWAP32:
  DST = __builtin_bswap32(uint32_t(DST));
  NEXT;
L_SWAP64:
  DST = __builtin_bswap64(DST);
  NEXT;
L_NOP:
  NEXT;

  // Jumps; targets are absolute after decoding.
#define JMP_PAIR(name, cmp64, cmp32)                     \
  L_##name##64X : {                                      \
    const uint64_t a = DST, b = SRC;                     \
    JUMP(cmp64);                                         \
  }                                                      \
  L_##name##64K : {                                      \
    const uint64_t a = DST, b = uint64_t(IMM);           \
    JUMP(cmp64);                                         \
  }                                                      \
  L_##name##32X : {                                      \
    const uint32_t a = uint32_t(DST), b = uint32_t(SRC); \
    JUMP(cmp32);                                         \
  }                                                      \
  L_##name##32K : {                                      \
    const uint32_t a = uint32_t(DST), b = uint32_t(IMM); \
    JUMP(cmp32);                                         \
  }
  JMP_PAIR(JEQ, a == b, a == b)
  JMP_PAIR(JNE, a != b, a != b)
  JMP_PAIR(JGT, a > b, a > b)
  JMP_PAIR(JGE, a >= b, a >= b)
  JMP_PAIR(JLT, a < b, a < b)
  JMP_PAIR(JLE, a <= b, a <= b)
  JMP_PAIR(JSGT, int64_t(a) > int64_t(b), int32_t(a) > int32_t(b))
  JMP_PAIR(JSGE, int64_t(a) >= int64_t(b), int32_t(a) >= int32_t(b))
  JMP_PAIR(JSLT, int64_t(a) < int64_t(b), int32_t(a) < int32_t(b))
  JMP_PAIR(JSLE, int64_t(a) <= int64_t(b), int32_t(a) <= int32_t(b))
  JMP_PAIR(JSET, (a & b) != 0, (a & b) != 0)
#undef JMP_PAIR
L_JA:
  JUMP(true);
L_CALL:
  if (held_lock_ != 0 && in->size == 0) {
    Fault("function calls are not allowed while holding a lock (insn %td)",
          in - code);
  }
  r[0] = prog_->helpers_[IMM](*this, r[1], r[2], r[3], r[4], r[5]);
  if (switch_to_ != nullptr) [[unlikely]] {
    if (switch_to_ == kLeaveFrame) {  // a tail call ran in this frame's place
      switch_to_ = nullptr;
      depth_ = saved_depth;
      return r[0];
    }
    // A tail call (SwitchTo): the old program is left for good, so nothing
    // of it is read from here on.
    prog_ = switch_to_;
    switch_to_ = nullptr;
    Enter();
    code = prog_->insns_.data();
    in = code;
    for (uint64_t& reg : r) reg = 0;
    r[1] = ctx_lo_;
    r[10] = stack_lo_ + uint64_t(kMaxCallFrames) * kStackSize;
    goto* kLabels[in->op];
  }
  NEXT;
L_CALL_LOCAL:
  if (held_lock_ != 0) {
    Fault("function calls are not allowed while holding a lock (insn %td)",
          in - code);
  }
  if (--budget_ == 0)
    Fault("instruction budget exhausted (endless recursion?)");
  r[0] = Exec(static_cast<uint32_t>(in->off), &r[1], depth + 1);
  NEXT;
L_EXIT:
  if (held_lock_ != 0 && (held_lock_ != callback_lock_ || depth == 0))
    Fault("bpf_spin_unlock is missing (insn %td)", in - code);
  depth_ = saved_depth;
  return r[0];

  // Memory.
  // An access the checks refuse may be an arena access (ArenaOrFault):
  // then a missing page reads 0 and drops a store.
#define ARENA_OR_FAULT(addr, base, n, w, sx)                    \
  do {                                                          \
    if ((addr)-stack_lo_ > sizeof(stack_) - (n) &&              \
        !Allowed((addr), (n), (w))) {                           \
      addr = ArenaOrFault((base), in->off, (n), (w), (sx), in); \
    }                                                           \
  } while (0)
#define LDX(name, T, ext)                                        \
  L_##name : {                                                   \
    uint64_t addr = SRC + int64_t(in->off);                      \
    ARENA_OR_FAULT(addr, SRC, sizeof(T), false, (T(-1) < T(0))); \
    DST = addr == 0 ? 0 : ext(Load<T>(addr));                    \
    NEXT;                                                        \
  }
#define ZEXT(v) uint64_t(v)
#define SEXT(v) uint64_t(int64_t(v))
  LDX(LDX8, uint8_t, ZEXT)
  LDX(LDX16, uint16_t, ZEXT)
  LDX(LDX32, uint32_t, ZEXT)
  LDX(LDX64, uint64_t, ZEXT)
  LDX(LDXS8, int8_t, SEXT)
  LDX(LDXS16, int16_t, SEXT)
  LDX(LDXS32, int32_t, SEXT)
#undef LDX
#undef ZEXT
#undef SEXT
#define STORE(name, T, value)                             \
  L_##name : {                                            \
    uint64_t addr = DST + int64_t(in->off);               \
    ARENA_OR_FAULT(addr, DST, sizeof(T), true, false);    \
    if (addr != 0) Store<T>(addr, static_cast<T>(value)); \
    NEXT;                                                 \
  }
  STORE(ST8, uint8_t, IMM)
  STORE(ST16, uint16_t, IMM)
  STORE(ST32, uint32_t, IMM)
  STORE(ST64, uint64_t, IMM)
  STORE(STX8, uint8_t, SRC)
  STORE(STX16, uint16_t, SRC)
  STORE(STX32, uint32_t, SRC)
  STORE(STX64, uint64_t, SRC)
#undef STORE
L_ATOMIC32 : {
  uint64_t addr = DST + int64_t(in->off);
  ARENA_OR_FAULT(addr, DST, 4, true, false);
  if (addr == 0) NEXT;  // BPF_PROBE_ATOMIC on a missing page: no effect
  if (addr % 4 != 0) Fault("misaligned atomic");
  const uint32_t old =
      AtomicOp<uint32_t>(reinterpret_cast<uint32_t*>(addr), int32_t(IMM),
                         uint32_t(SRC), uint32_t(r[0]));
  if (IMM == kCmpXchg) {
    r[0] = old;
  } else if (IMM & kFetch) {
    SRC = old;
  }
  NEXT;
}
L_ATOMIC64 : {
  uint64_t addr = DST + int64_t(in->off);
  ARENA_OR_FAULT(addr, DST, 8, true, false);
  if (addr == 0) NEXT;
  if (addr % 8 != 0) Fault("misaligned atomic");
  const uint64_t old = AtomicOp<uint64_t>(reinterpret_cast<uint64_t*>(addr),
                                          int32_t(IMM), SRC, r[0]);
  if (IMM == kCmpXchg) {
    r[0] = old;
  } else if (IMM & kFetch) {
    SRC = old;
  }
  NEXT;
}
  // addr_space_cast as the verifier and the JIT leave it (do_misc_fixups,
  // arch/x86/net/bpf_jit_comp.c): to as(0) keeps the lower 32 bits; to
  // as(1) gives 0 for 0, else the lower 32 bits under user_vm_start's upper
  // 32 bits; with BPF_F_NO_USER_CONV both are 32-bit moves.
L_CAST_KERN:
  DST = uint32_t(SRC);
  NEXT;
L_CAST_USER : {
  const uint32_t low = uint32_t(SRC);
  const ArenaWindow* arena = prog_->arena_;
  DST = (low == 0 || arena->no_user_conv())
            ? low
            : ((arena->user_vm_start() & ~uint64_t{0xffffffff}) | low);
  NEXT;
}
L_LDDW:
  DST = uint64_t(IMM);
  ++in;  // the second half
  NEXT;
  // Legacy packet loads (bpf_skb_load_helper): network byte order into R0;
  // out of the packet, the program ends returning 0.
L_LDABS:
L_LDIND : {
  // bpf_gen_ld_abs(): a 32-bit offset, src + imm for LD_IND.
  const int64_t off =
      int32_t(in->op == LDIND ? SRC + uint64_t(IMM) : uint64_t(IMM));
  const uint64_t len = pkt_hi_ - pkt_lo_;
  if (off < 0 || uint64_t(off) + in->size > len) {
    depth_ = saved_depth;
    return 0;
  }
  const uint64_t p = pkt_lo_ + uint64_t(off);
  r[0] = in->size == 1   ? Load<uint8_t>(p)
         : in->size == 2 ? __builtin_bswap16(Load<uint16_t>(p))
                         : __builtin_bswap32(Load<uint32_t>(p));
  NEXT;
}
#undef NEXT
#undef DST
#undef SRC
#undef IMM
#undef ARENA_OR_FAULT
#undef JUMP
}

}  // namespace bpfemu::interp
