// SPDX-License-Identifier: Apache-2.0
// File: version.h
//
// The kernel version bpfemu imitates. Where map behaviour changed between
// kernels, the emulator follows the target version; docs/semantics.md lists
// every such behaviour. A map records the target in force when it was
// created, as a kernel map is bound to the kernel that made it.
//
// Default: 6.18 (the kernel this project is measured on), overridable with
// SetTargetKernel() or the environment variable BPFEMU_KERNEL=6.1|6.12|6.18.

#ifndef BPFEMU_EMU_VERSION_H_
#define BPFEMU_EMU_VERSION_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace bpfemu {

// Encoded as major * 1000 + minor, so versions compare numerically.
enum class KernelVersion : uint32_t {
  k6_1 = 6001,
  k6_12 = 6012,
  k6_18 = 6018,
};

std::optional<KernelVersion> ParseKernelVersion(std::string_view s);
const char* KernelVersionName(KernelVersion v);

KernelVersion TargetKernel();
void SetTargetKernel(KernelVersion v);

// The caller bpfemu answers. By default, root (CAP_SYS_ADMIN, CAP_BPF),
// whoever runs it, so every command works unprivileged. Opting in to an
// unprivileged caller (SetCallerPrivileged(false), or the environment
// variable BPFEMU_UNPRIVILEGED=1) gives the EPERMs a non-root caller gets
// with kernel.unprivileged_bpf_disabled set (Debian's default, 2):
// BPF_MAP_CREATE and BPF_PROG_LOAD fail after their attribute checks, and
// the id commands (BPF_MAP_GET_FD_BY_ID, BPF_MAP_GET_NEXT_ID) need
// CAP_SYS_ADMIN. Element commands on fds already held still work, as in
// the kernel.
bool CallerPrivileged();
void SetCallerPrivileged(bool privileged);

// Whether the target kernel is 6.12 or newer (the multi-program attach
// API of BPF_PROG_ATTACH and cgroup links: relative_fd, expected_revision,
// BPF_F_BEFORE / _AFTER / _ID / _LINK; tcx and netkit hooks).
inline bool AtLeast612() { return TargetKernel() >= KernelVersion::k6_12; }

// Version predicates, named for the behaviour that changed.
//
// 6.15 replaced the bucket raw spinlock and its per-CPU map_locked counters
// (re-entry on the same CPU: -EBUSY) with the resilient queued spinlock
// (re-entry on the same bucket: -EDEADLK).
// After 6.12, fd-htab updates (HASH_OF_MAPS) replace an existing key's
// value in place (htab_map_update_elem_in_place); up to 6.12 they went
// through htab_map_update_elem, which moves the key to its bucket's head.
inline bool FdHtabUpdatesInPlace(KernelVersion v) {
  return v > KernelVersion::k6_12;
}

// fdinfo "memlock:" (kernel/bpf/syscall.c): from 6.4 the map type's
// map_mem_usage(), which counts kernel structures (build_profile.h); before,
// bpf_map_memory_footprint(), which counts none.
inline bool ChargesMapMemUsage(KernelVersion v) {
  return static_cast<uint32_t>(v) >= 6004;
}

// BPF_MAP_FREEZE (kernel/bpf/syscall.c map_freeze): after 6.1 it refuses
// any map with a BTF record (a spin lock included) with ENOTSUPP and a fd
// without write access with EPERM, before its EBUSY checks; 6.1 refuses only
// timers and kptrs, has no fd check, answers EBUSY to a second freeze and
// checks CAP_BPF (EPERM) last.
inline bool FreezeChecksFdAccess(KernelVersion v) {
  return v > KernelVersion::k6_1;
}

// bpf_skb_set_tunnel_key's BPF_F_NO_TUNNEL_KEY (net/core/filter.c): from
// 6.3; 6.1 refuses the flag (-EINVAL).
inline bool SetTunnelKeyHasNoKeyFlag(KernelVersion v) {
  return v > KernelVersion::k6_1;
}

// bpf_probe_read_user_str of an empty string (mm/maccess.c
// strncpy_from_user_nofault): 6.1 and 6.12 count the NUL only after a
// non-empty string, so "" answers 0; 6.18 answers 1 (measured), as the
// kernel string read always did.
inline bool UserStrCountsEmptyNul(KernelVersion v) {
  return v > KernelVersion::k6_12;
}

// tc_new_tfilter with priority 0 (net/sched/cls_api.c): when a filter
// already sits at the first auto priority (0x8000), 6.1 and 6.12 answer
// tcf_chain_tp_find's -EINVAL; 6.18 answers -ENOSPC ("Lowest ID from
// auto-alloc range already in use", measured).
inline bool TcAutoPrioCollisionIsEnospc(KernelVersion v) {
  return v > KernelVersion::k6_12;
}

// A STRUCT_OPS value struct `bpf_struct_ops_X`: from 6.9 it is
// {struct bpf_struct_ops_common_value common; struct X data;} and
// bpf_struct_ops_desc_init checks that shape (is_valid_value_type); 6.1
// declares {refcount_t refcnt; enum bpf_struct_ops_state state; struct X
// data;} and finds it by name alone (kernel/bpf/bpf_struct_ops.c
// bpf_struct_ops_init). Measured: the 6.1 guest of tools/kmatrix creates a
// STRUCT_OPS map over its own BTF's three-member value struct.
inline bool StructOpsValueShapeChecked(KernelVersion v) {
  return static_cast<uint32_t>(v) >= 6009;
}

// BPF_MAP_TYPE_ARENA (kernel/bpf/arena.c) came with 6.9: an older kernel
// has no ops for the type and map_create() answers EINVAL.
inline bool HasArenaMap(KernelVersion v) {
  return static_cast<uint32_t>(v) >= 6009;
}

inline bool HasResilientBucketLock(KernelVersion v) {
  return static_cast<uint32_t>(v) >= 6015;
}

// bpf_csum_diff (net/core/filter.c): up to 6.12 one csum_partial over the
// complemented `from` words and the `to` words in a 512-byte per-CPU
// scratchpad, returned as the 32-bit sum (sizes not multiples of 4 or over
// 512 bytes together: -EINVAL); from 6.13 csum_partial of each side
// separately, folded to 16 bits (csum_from32to16) and no size checks.
inline bool CsumDiffFoldsTo16(KernelVersion v) {
  return v > KernelVersion::k6_12;
}

// bpf_skb_adjust_room (net/core/filter.c): BPF_F_ADJ_ROOM_DECAP_L3_IPV4 /
// _IPV6 (bits 7 and 8) came with 6.3; 6.1 refuses them as unknown flags
// (-EINVAL).
inline bool AdjustRoomHasDecapFlags(KernelVersion v) {
  return static_cast<uint32_t>(v) >= 6003;
}

// bpf_skb_set_tstamp (net/core/filter.c): from 6.11 the clock ids
// BPF_SKB_CLOCK_REALTIME / _MONOTONIC / _TAI (any time for REALTIME, a
// non-zero one for the others); before, BPF_SKB_TSTAMP_UNSPEC accepts only
// 0 and BPF_SKB_TSTAMP_DELIVERY_MONO a non-zero time.
inline bool SetTstampHasClockTypes(KernelVersion v) {
  return static_cast<uint32_t>(v) >= 6011;
}

// bpf_prog_calc_tag (kernel/bpf/core.c): the program tag is the first 8
// bytes of a SHA-1 of the instructions in 6.1 and 6.12 (read in the 6.12
// source) and of a SHA-256 on 6.18 (measured: the tags the running 6.18
// kernel reports for libbpf-loaded programs). The version between that
// changed it is not known here; bpfemu switches after 6.12.
inline bool ProgTagIsSha256(KernelVersion v) {
  return v > KernelVersion::k6_12;
}

// CONFIG_IPV6_SEG6_BPF, a build option, told apart here by the kernels
// bpfemu models: Debian's 6.1 and 6.12 builds (the kernel matrix's guests)
// have it, the 6.18 host's build does not. With it LWT_SEG6LOCAL programs
// are offered bpf_lwt_seg6_store_bytes / _adjust_srh / _action and
// LWT_IN's bpf_lwt_push_encap takes the SEG6 encapsulation types
// (net/core/filter.c); without it those helpers are refused and the types
// are -EINVAL.
inline bool HasSeg6Bpf(KernelVersion v) { return v <= KernelVersion::k6_12; }

// kfuncs (emu/kfunc.h): a kfunc exists from the first version bpfemu
// models that has it (the table's since_min); on an older target the
// verifier treats its BTF FUNC as an ordinary kernel function (EACCES).
inline bool HasKfunc(KernelVersion v, KernelVersion since_min) {
  return static_cast<uint32_t>(v) >= static_cast<uint32_t>(since_min);
}

// kernel/bpf/btf.c bpf_prog_type_to_kfunc_hook: 6.1 has five kfunc hooks
// (XDP, TC, STRUCT_OPS, TRACING for TRACING and LSM programs, SYSCALL) and
// no COMMON one; the other program types call no kfunc. 6.2 added COMMON
// (every type), later kernels the CGROUP, SCHED_ACT, SK_SKB,
// SOCKET_FILTER, LWT, NETFILTER and KPROBE hooks and TRACING for
// tracepoint and perf_event programs.
inline bool HasWideKfuncHooks(KernelVersion v) {
  return v > KernelVersion::k6_1;
}

// net/netfilter/nf_conntrack_bpf.c struct bpf_ct_opts: 6.1's is 12 bytes
// (netns_id, error, l4proto, dir, reserved[2]) and opts__sz must be 12; from
// 6.9 it is 16 with ct_zone_id (over 6.1's reserved), ct_zone_dir and
// reserved[3], and 12 is still accepted with a zero ct_zone_id. Either way
// a nonzero u16 at offset 10 of a 12-byte opts is -EINVAL.
inline bool CtOptsHaveZone(KernelVersion v) { return v > KernelVersion::k6_1; }

}  // namespace bpfemu

#endif  // BPFEMU_EMU_VERSION_H_
