// SPDX-License-Identifier: Apache-2.0
// File: helpers.h
//
// The BPF helpers' inputs and outputs a test sets and reads (helpers.cc
// implements the helpers themselves, for natively built programs and for
// the interpreter's helper table in loader/bytecode.cc). Helper inputs the
// kernel takes from the running task are settable here (SetPidTgid,
// SetComm, ...); by default they come from the calling thread, as
// bpf_prog_test_run does in the kernel. bpf_printk output is captured.

#ifndef BPFEMU_NATIVE_HELPERS_H_
#define BPFEMU_NATIVE_HELPERS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"

namespace bpfemu::native {

// Helper inputs. Each Set* overrides the default until ResetHelpers().
void SetPidTgid(uint64_t pid_tgid);   // bpf_get_current_pid_tgid
void SetUidGid(uint64_t uid_gid);     // bpf_get_current_uid_gid
void SetComm(std::string_view comm);  // bpf_get_current_comm
// bpf_ktime_get_ns returns start, start + step, start + 2 * step, ...
void SetKtime(uint64_t start_ns, uint64_t step_ns = 0);
// bpf_get_prandom_u32 becomes a deterministic sequence from `seed`.
void SetPrandomSeed(uint64_t seed);
// The traces bpf_get_stackid sees (innermost frame first): `kernel`, or
// `user` with BPF_F_USER_STACK. By default the kernel trace is a fixed
// four-frame chain (kDefaultKernelStack) and the user trace is the calling
// thread's own stack (backtrace(3)), as the kernel's user stack of a
// bpf_prog_test_run is the calling process's.
void SetStacks(std::vector<uint64_t> kernel, std::vector<uint64_t> user);
inline constexpr uint64_t kDefaultKernelStack[] = {
    0xffffffff81a00010, 0xffffffff81a00020, 0xffffffff81a00030,
    0xffffffff81a00040};
// bpf_get_current_cgroup_id and bpf_current_task_under_cgroup see the
// calling thread in cgroup `path` (below the cgroup2 root, emu/cgroup.h)
// instead of the process's own cgroup.
void SetCurrentCgroup(std::string_view path);
// Also restores the calling thread's cgroup.
void ResetHelpers();

// The socket of one skb test run (bpf_prog_test_run_skb's sk_alloc in
// net/bpf/test_run.c): skb->sk for the run, a zeroed struct bpf_sock
// (AF_UNSPEC) that bpf_sk_storage_get / bpf_sk_storage_delete accept. The
// storage programs make for it is freed when the scope ends, as the kernel
// frees the socket after the run.
class RunSocket {
 public:
  RunSocket();
  ~RunSocket();
  RunSocket(const RunSocket&) = delete;
  RunSocket& operator=(const RunSocket&) = delete;
  void* sk() const { return sk_; }
  // bpf_prog_test_run_skb: the socket takes the packet's family and its
  // IP header's source and destination as its local and remote addresses
  // (4 or 16 bytes each).
  void SetAddresses(int family, const void* saddr, const void* daddr);

 private:
  void* sk_;
};

// The socket cookie of a test run's socket (RunSocket::sk()): the kernel
// takes a new one from its global cookie counter for each run's socket;
// bpfemu counts them per process from 2^62, a range no real socket's
// SO_COOKIE reaches, so the same run gets the same cookie and two runs
// different ones.
uint64_t RunSocketCookie(const void* sk);

// Whether `sk` is a live test run's socket (RunSocket::sk()) of this
// thread.
bool IsRunSocket(const void* sk);

// The current task's net_cls classid (include/net/cls_cgroup.h
// __task_get_classid): read from the task's cgroup in a mounted cgroup v1
// net_cls hierarchy (/proc/self/mountinfo, /proc/self/cgroup,
// net_cls.classid); 0 when none is mounted (a cgroup2-only system), as the
// root net_cls state the task then belongs to holds.
uint32_t CurrentNetClsClassid();

// The last redirect a program asked for, the emulator's struct
// bpf_redirect_info (net/core/filter.c):
//   * socket redirects (bpf_sk_redirect_map and friends): whether it was
//     taken (SK_PASS), the target socket's cookie (SO_COOKIE) and the flags;
//   * XDP redirects (bpf_redirect_map on DEVMAP, DEVMAP_HASH, CPUMAP:
//     __bpf_xdp_redirect_map): taken when the helper returned XDP_REDIRECT,
//     the map's type and id, the key (ri->tgt_index), the entry's device or
//     CPU and program id, and with BPF_F_BROADCAST the flags and the
//     devices the packet is copied to (every entry of the map in the
//     kernel's order, less the run's ingress device, lo by default, with
//     BPF_F_EXCLUDE_INGRESS). A lookup that fails without BPF_F_BROADCAST
//     clears the record (not taken), as the kernel clears the redirect
//     info; bad flags (XDP_ABORTED) leave it as it was;
//   * bpf_redirect(ifindex, flags): taken, map type 0 (UNSPEC), map_id
//     INT_MAX for XDP (bpf_xdp_redirect) or the flags for tc, and the
//     ifindex; device_missing when no emulated device has it (the kernel's
//     xdp_do_redirect / skb_do_redirect would then fail with EINVAL /
//     drop the packet);
//   * bpf_redirect_peer / bpf_redirect_neigh (tc): as bpf_redirect, with
//     the kernel's internal flags in `flags` (kRedirectPeer, kRedirectNeigh,
//     and kRedirectNexthop when the program passed a next hop, whose
//     struct bpf_redir_neigh is in nh_family / nh_addr).
// net/core/filter.c's internal bpf_redirect_info flags.
inline constexpr uint64_t kRedirectNeigh = 1ull << 16;
inline constexpr uint64_t kRedirectPeer = 1ull << 17;
inline constexpr uint64_t kRedirectNexthop = 1ull << 18;
struct Redirect {
  bool taken = false;
  uint64_t cookie = 0;
  uint64_t flags = 0;
  uint32_t map_type = 0;
  uint32_t map_id = 0;
  uint64_t key = 0;
  uint32_t ifindex = 0;
  uint32_t cpu = 0;
  uint32_t prog_id = 0;
  std::vector<uint32_t> broadcast;
  bool device_missing = false;
  uint32_t nh_family = 0;
  uint8_t nh_addr[16] = {};
};
Redirect LastRedirect();
void ClearRedirect();

// The copies bpf_clone_redirect sent (net/core/filter.c bpf_clone_redirect:
// the clone leaves at once, to the device's transmit path or, with
// BPF_F_INGRESS, its receive path), oldest first: the device, the flags and
// the packet from its link-layer header as it was when copied. Emulated
// devices transmit nothing; the record is what a test inspects.
// ResetHelpers() does not clear it.
struct ClonedPacket {
  uint32_t ifindex = 0;
  uint64_t flags = 0;
  std::vector<uint8_t> packet;
};
std::vector<ClonedPacket> ClonedPackets();
void ClearClonedPackets();

// bpf_printk / bpf_trace_printk lines so far (trailing newline removed).
std::vector<std::string> PrintkLines();
void ClearPrintk();

// The handle a program receives for inner map `id` (a map-in-map lookup,
// kernel/bpf/map_in_map.c): created on first use and kept for the process;
// nullptr if no map has that id.
void* InnerMapCell(uint32_t id);

// The XDP frame of the run in progress on this thread, as
// bpf_prog_test_run_xdp (net/bpf/test_run.c) lays it out: data_hard_start
// and xdp_data_hard_end() (the frame's end less the skb_shared_info
// tailroom). bpf_xdp_adjust_head / _tail / _meta keep the packet inside
// it. `frags` are the frame's fragments past the linear part (page-sized
// as the test run fills them, at most 17; may be NULL for none), which
// bpf_xdp_adjust_tail grows and shrinks and bpf_xdp_load_bytes /
// store_bytes reach. `ingress_ifindex` is the run's receiving device (the
// one BPF_F_EXCLUDE_INGRESS leaves out of a broadcast). Set by the XDP test
// run before the program runs.
void SetXdpFrame(uint64_t hard_start, uint64_t hard_end,
                 std::vector<std::vector<uint8_t>>* frags,
                 uint32_t ingress_ifindex = 1);

// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)): the tailroom the test
// runs (net/bpf/test_run.c bpf_test_init) keep after a frame. 320 on the
// x86-64 builds bpfemu models; the XDP frame's end (4096 - 256 - 320) and
// the skb growth limit below both follow from it, and the kernel
// comparisons of both measure it (tests/examples/skb_mutate_compare_test.cc).
inline constexpr uint32_t kSkbSharedInfoRoom = 320;
// BPF_SKB_MAX_LEN (net/core/filter.c): SKB_MAX_ALLOC, an order-2
// allocation less the shared-info room; the longest packet
// bpf_skb_change_tail / _change_head / bpf_skb_vlan_push may make.
inline constexpr uint32_t kSkbMaxLen = (4096u << 2) - kSkbSharedInfoRoom;

// The socket buffer of the bpf_prog_test_run_skb run in progress on this
// thread (net/bpf/test_run.c), beyond what struct __sk_buff shows (len,
// data, data_end, protocol, pkt_type, hash, vlan_* live there): the buffer
// the packet may grow in, [head, end), the mac and network headers as
// addresses (and the transport header, which only bpf_skb_adjust_room's
// L4 encapsulation sets), whether the packet is encapsulated, and the
// hash's kind (sk_buff's sw_hash and l4_hash). The
// skb-mutating helpers (bpf_skb_change_tail, _change_head, bpf_skb_vlan_*,
// bpf_set_hash ...) update it and the context together. Set by the skb
// test run before the program runs; nullptr afterwards (the helpers then
// refuse with -EINVAL).
struct SkbFrame {
  uint64_t head = 0;
  uint64_t end = 0;
  uint64_t mac = 0;
  uint64_t network = 0;
  uint64_t transport = 0;  // 0: not set (the test run's skb has none)
  bool encapsulation = false;
  // The running program's type (bpf_lwt_push_encap: LWT_IN pushes as the
  // ingress path, LWT_XMIT as the egress one) and skb->mac_len, which the
  // test run's eth_type_trans leaves 0.
  uint32_t prog_type = 0;
  uint32_t mac_len = 0;
  bool sw_hash = false;
  bool l4_hash = false;
  // The checksum state (sk_buff's ip_summed, csum_level and csum): the
  // test run's skb starts at CHECKSUM_NONE, bpf_csum_level moves it to and
  // from CHECKSUM_UNNECESSARY, bpf_skb_adjust_room resets it.
  uint8_t ip_summed = 0;  // CHECKSUM_NONE 0, _UNNECESSARY 1, _COMPLETE 2
  uint8_t csum_level = 0;
  uint32_t csum = 0;
  // The tunnel metadata dst bpf_skb_set_tunnel_key attaches (the per-CPU
  // md_dst's ip_tunnel_info, net/core/filter.c): absent until then. Kept
  // in struct bpf_tunnel_key's units: addresses as the program gives them,
  // `src`/`dst` as the kernel's key names them (set stores remote as dst,
  // get reads remote from src).
  struct Tunnel {
    bool present = false;
    bool ipv6 = false;  // IP_TUNNEL_INFO_IPV6
    uint32_t id = 0;    // tun_id, as the 32 bits bpf_tunnel_key has
    uint8_t tos = 0;
    uint8_t ttl = 0;
    uint32_t label = 0;  // host order, IPV6_FLOWLABEL_MASK applied
    uint32_t src[4] = {};
    uint32_t dst[4] = {};
    uint32_t flags = 0;  // the IP_TUNNEL_*_BIT bitmap
    uint8_t options_len = 0;
    uint8_t options[255] = {};
  } tunnel;
};
void SetSkbFrame(SkbFrame* frame);
// The frame of this thread's skb run (nullptr outside one).
SkbFrame* CurrentSkbFrame();
// bpf_push_seg6_encap() for bpf_lwt_push_encap's SEG6 types (LWT_IN
// programs of a kernel with CONFIG_IPV6_SEG6_BPF; native/seg6local.cc).
long Seg6PushEncap(void* ctx, uint32_t type, const void* hdr, uint32_t len);

// The probe reads (kernel/trace/bpf_trace.c), for both faces: which
// address space the helper reads (the compat bpf_probe_read(_str) picks by
// address), and the program's own memory, which is kernel memory to them
// (`owned(addr, len)`: the interpreter's regions; nullptr natively, where
// any readable address of the process serves both spaces). Each returns
// the helper's value and leaves `dst` as the helper does (helpers.cc).
enum class ProbeSpace { kKernel, kUser, kCompat };
using OwnedMemory = absl::FunctionRef<bool(uint64_t addr, uint64_t len)>;
long ProbeRead(ProbeSpace space, void* dst, uint32_t size, uint64_t src,
               const OwnedMemory* owned);
long ProbeReadStr(ProbeSpace space, void* dst, uint32_t size, uint64_t src,
                  const OwnedMemory* owned);

// The tracing helpers that touch user memory (native/tracing_helpers.cc),
// with the same `owned` convention: bpf_probe_write_user writes `size`
// bytes of `src` at the user address `dst`; bpf_copy_from_user_task reads
// `size` bytes at `src` in the memory of the task whose thread id is `tid`
// (0: a task without memory, init_task).
long ProbeWriteUser(uint64_t dst, const void* src, uint32_t size,
                    const OwnedMemory* owned);
long CopyFromUserTask(void* dst, uint32_t size, uint64_t src, long tid,
                      uint64_t flags, const OwnedMemory* owned);
// bpf_find_vma on `task` (thread `tid`, 0 for a task without memory):
// `callback` gets the vm_area_struct view, its size and the size of its
// block (the view and the struct file after it).
long FindVmaWith(
    const void* task, long tid, uint64_t addr, uint64_t flags,
    absl::FunctionRef<void(const void* vma, size_t vma_size, size_t block_size)>
        callback);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_HELPERS_H_
