// SPDX-License-Identifier: Apache-2.0
// File: kfunc.h
//
// kfuncs: kernel functions a program calls with BPF_PSEUDO_KFUNC_CALL, named
// by the id of their BTF FUNC in the kernel's BTF (emu/kernel_btf.h). The
// table in kfunc.cc is the one place they are registered, by name, with
// what the kernel's registrations say about them:
//
// - which program types may call them: the btf_kfunc_id_set registrations
//   (register_btf_kfunc_id_set in kernel/bpf/helpers.c kfunc_init,
//   net/core/filter.c bpf_kfunc_init, kernel/bpf/arena.c ...), grouped by
//   hook as kernel/bpf/btf.c bpf_prog_type_to_kfunc_hook groups program
//   types; a kfunc in the COMMON hook (registered for BPF_PROG_TYPE_UNSPEC)
//   is callable from every type;
// - their KF_* flags (include/linux/btf.h BTF_ID_FLAGS);
// - the first kernel version that has them, so an older target treats
//   them as the kernel then did (a function that is not a kfunc);
// - the function itself, called as the interpreter calls helpers (R1-R5 in,
//   R0 out).
//
// ResolveKfuncCall() is the verifier's part: add_kfunc_call,
// find_kfunc_desc_btf, fetch_kfunc_meta and the first checks of
// check_kfunc_call in kernel/bpf/verifier.c, with their errnos and
// verifier-log lines.

#ifndef BPFEMU_EMU_KFUNC_H_
#define BPFEMU_EMU_KFUNC_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "emu/interp.h"
#include "emu/kernel_btf.h"
#include "emu/version.h"

namespace bpfemu {

// include/linux/btf.h: the KF_* flags, with the kernel's bit values. Only
// kKfSleepable and kKfDestructive change what a load accepts here (the
// verifier's reference and iterator tracking has no counterpart: the
// interpreter checks memory at run time instead); the others are recorded
// as the kernel registers them.
inline constexpr uint32_t kKfAcquire = 1u << 0;
inline constexpr uint32_t kKfRelease = 1u << 1;
inline constexpr uint32_t kKfRetNull = 1u << 2;
inline constexpr uint32_t kKfTrustedArgs = 1u << 4;
inline constexpr uint32_t kKfSleepable = 1u << 5;
inline constexpr uint32_t kKfDestructive = 1u << 6;
inline constexpr uint32_t kKfRcu = 1u << 7;
inline constexpr uint32_t kKfIterNew = 1u << 8;
inline constexpr uint32_t kKfIterNext = 1u << 9;
inline constexpr uint32_t kKfIterDestroy = 1u << 10;
inline constexpr uint32_t kKfRcuProtected = 1u << 11;
// bpfemu's own mark, above the kernel's bits: the verifier's
// is_bpf_graph_api_kfunc (list and rbtree kfuncs), the only kfuncs callable
// while a bpf_spin_lock is held.
inline constexpr uint32_t kKfGraphApi = 1u << 31;

// kernel/bpf/btf.c enum btf_kfunc_hook (the FMODRET hook only marks
// modify_return targets and has no entry here).
enum class KfuncHook : uint32_t {
  kCommon,
  kXdp,
  kTc,
  kStructOps,
  kTracing,
  kSyscall,
  kCgroup,
  kSchedAct,
  kSkSkb,
  kSocketFilter,
  kLwt,
  kNetfilter,
  kKprobe,
  kSockOps,  // BTF_KFUNC_HOOK_SOCK_OPS, after 6.12
  kNone,     // BTF_KFUNC_HOOK_MAX: a program type no set is registered for
};

// A set of hooks, as a kfunc's `hooks` field holds it.
constexpr uint32_t HookBit(KfuncHook h) {
  return 1u << static_cast<uint32_t>(h);
}

// bpf_prog_type_to_kfunc_hook(): the hook a program type's calls look in
// (besides kCommon, which every type looks in first).
KfuncHook KfuncHookOf(uint32_t prog_type);

// One kfunc.
struct Kfunc {
  const char* name;         // the BTF FUNC's name
  interp::HelperFn fn;      // R1-R5 -> R0, as a helper
  uint32_t hooks;           // HookBit()s it is registered for
  uint32_t flags;           // kKf*
  KernelVersion since_min;  // the first version bpfemu models that has it
  // A kfunc whose registration changed: before `hooks_since`, the hooks it
  // had (`hooks` holds from hooks_since on). 0: always `hooks`.
  uint32_t hooks_before = 0;
  KernelVersion hooks_since = KernelVersion::k6_1;
  // The last version bpfemu models that has it (6.1's test kfuncs of
  // net/bpf/test_run.c moved to the bpf_testmod module in 6.2).
  KernelVersion until = KernelVersion::k6_18;
};

// The whole table (kfunc.cc), and one entry by name (nullptr if none).
std::span<const Kfunc> AllKfuncs();
const Kfunc* FindKfunc(std::string_view name);

// Whether `k` may be called from `prog_type` on the target kernel `v`
// (btf_kfunc_id_set_contains).
bool KfuncAllowed(const Kfunc& k, uint32_t prog_type, KernelVersion v);

// One kfunc call instruction and the program around it.
struct KfuncCall {
  int32_t imm = 0;  // the BTF id
  int16_t off = 0;  // 0: vmlinux BTF; > 0: an index into fd_array
  uint32_t prog_type = 0;
  bool gpl_compatible = false;
  bool sleepable = false;     // BPF_F_SLEEPABLE
  bool has_fd_array = false;  // attr.fd_array set
  // What R1..R5 hold at the call where the caller knows it (bit 2*(r-1):
  // the unmodified context; bit 2*(r-1)+1: never written on any path), for
  // the argument checks 6.1's check_kfunc_call makes before the sleepable
  // one. 0: unknown (every argument taken as fitting).
  uint32_t arg_regs = 0;
};

// Resolves `call` against the kernel BTF `btf` (nullptr: a kernel without
// BTF) as the verifier does, in its order:
//   no kernel BTF                    -ENOTSUPP (524)
//   program not GPL-compatible       -EINVAL
//   off < 0                          -EINVAL
//   off > 0 without fd_array         -EPROTO
//   off > 0 with fd_array            -EINVAL (bpfemu has no module BTF)
//   imm not a FUNC / no FUNC_PROTO   -EINVAL
//   imm 0 (off 0)                    -EINVAL (the kernel's fixup_kfunc_call)
//   a FUNC that is not a kfunc for
//     this program type or version   -EACCES
//   KF_DESTRUCTIVE                   -EACCES (no CAP_SYS_BOOT in bpfemu)
//   KF_SLEEPABLE, not sleepable      -EACCES
//     6.1: bpf_lookup_user_key's scalar arguments first: R1 / R2 the
//     context or never written       -EINVAL (KfuncCall::arg_regs)
//   6.1's test kfuncs the verifier
//     refuses on every call          -EINVAL (emu/test_run_kfuncs.h)
//   bpf_dynptr_slice_rdwr: 6.18      -EPERM (measured on the 6.18 host)
//     6.12, no packet writes         -EINVAL
// On success *out is the table entry. On refusal the kernel's verifier-log
// line (with its '\n') is appended to *log when log is not null.
int ResolveKfuncCall(const KernelBtf* btf, const KfuncCall& call,
                     const Kfunc** out, std::string* log);

// Whether the kfunc `fn` (a table entry's) is marked kKfGraphApi
// (interp::Linker::KfuncCallableUnderLock).
bool KfuncCallableUnderLock(interp::HelperFn fn);

// The interpreter's linker hook (interp::Linker::Kfunc) over the process's
// kernel BTF (KernelBtf::Get()) and the target kernel: 0 and *fn, or
// -errno.
int LinkKfunc(int32_t imm, int16_t off, const interp::LoadAttr& attr,
              interp::HelperFn* fn, std::string* log);

// The kfuncs' implementations, shared by the interpreter (the table's
// wrappers) and the native build (native/kfuncs.cc defines the C symbols
// a BPF source's `extern ... __ksym` declarations name).
//
// kernel/bpf/bpf_iter.c: struct bpf_iter_num (8 bytes on the program's
// stack) holds the current value and the end.
int IterNumNew(void* it, int32_t start, int32_t end);
int32_t* IterNumNext(void* it);
void IterNumDestroy(void* it);

// kernel/bpf/helpers.c bpf_dynptr_adjust / _is_null / _is_rdonly / _size /
// _clone on struct bpf_dynptr_kern (16 bytes: data, the size word with the
// type and read-only bits above bit 24, offset).
int DynptrAdjust(void* p, uint32_t start, uint32_t end);
bool DynptrIsNull(const void* p);
bool DynptrIsRdonly(const void* p);
uint32_t DynptrSize(const void* p);
int DynptrClone(const void* p, void* clone);
// kernel/bpf/map_iter.c bpf_map_sum_elem_count: the struct bpf_map an
// iterator's run on this thread shows (emu/bpf_iter.h sets it around the
// run; nullptr clears it) and how to sum its element counters. The kfunc
// takes only that pointer or a map handle (below): KF_TRUSTED_ARGS, the
// verifier refuses any other, NULL among them.
struct BtfMapObject {
  const void* addr;  // the struct bpf_map the program reads
  int64_t (*sum_elem_count)(const void* arg);
  const void* arg;
};
void SetCurrentBtfMap(const BtfMapObject* obj);
const BtfMapObject* CurrentBtfMap();
// The kfunc's other trusted argument: a map the program loaded (a
// CONST_PTR_TO_MAP, which the verifier takes as a struct bpf_map), whose
// count the bytecode face gives from its map handle (loader/bytecode.cc
// registers the function; emu/ does not know the handles).
using MapHandleElemCount = int64_t (*)(uint64_t handle);
void SetMapHandleElemCount(MapHandleElemCount fn);

// The Vm region tag of an initialized dynptr (emu/dynptr_kern.h).
inline constexpr uint8_t kDynptrRegionTag = interp::Vm::kDynptrTag;

// The packet dynptrs: net/core/filter.c bpf_dynptr_from_skb (made
// bpf_dynptr_from_skb_rdonly by the verifier's specialize_kfunc where
// `prog_type` may not write packet data) and bpf_dynptr_from_xdp, and
// kernel/bpf/helpers.c bpf_dynptr_slice / bpf_dynptr_slice_rdwr over
// every dynptr type. The dynptr's data is the context (struct __sk_buff,
// struct xdp_md), as the kernel's holds the sk_buff / xdp_buff.
int DynptrFromSkb(void* skb, uint64_t flags, void* ptr, uint32_t prog_type);
int DynptrFromXdp(void* xdp, uint64_t flags, void* ptr);
void* DynptrSlice(const void* ptr, uint32_t offset, void* buffer, uint32_t len);
void* DynptrSliceRdwr(const void* ptr, uint32_t offset, void* buffer,
                      uint32_t len);
// may_access_direct_pkt_data(env, NULL, BPF_WRITE) (kernel/bpf/verifier.c):
// whether programs of `prog_type` may write packet data.
bool ProgMayWritePacket(uint32_t prog_type);
// The packet itself is the native helpers' (native/dynptr.cc registers
// these; emu/ does not know the test run's frame): xdp_get_buff_len(),
// and the SKB / XDP cases of bpf_dynptr_slice at the dynptr's `offset`
// (its own offset added): a pointer into the packet, `buffer` holding a
// copy, or NULL. Until they are registered (a binary without the native
// helpers) an XDP dynptr cannot be made (-EINVAL, null) and packet slices
// are NULL.
struct DynptrPacketOps {
  uint32_t (*xdp_buff_len)(void* xdp);
  void* (*skb_slice)(void* skb, uint32_t offset, void* buffer, uint32_t len);
  void* (*xdp_slice)(void* xdp, uint32_t offset, void* buffer, uint32_t len);
};
void SetDynptrPacketOps(const DynptrPacketOps* ops);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_KFUNC_H_
