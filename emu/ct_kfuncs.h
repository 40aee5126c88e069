// SPDX-License-Identifier: Apache-2.0
// File: ct_kfuncs.h
//
// The conntrack kfuncs (net/netfilter/nf_conntrack_bpf.c: bpf_xdp_ct_alloc,
// bpf_xdp_ct_lookup, bpf_skb_ct_alloc, bpf_skb_ct_lookup,
// bpf_ct_insert_entry, bpf_ct_release, bpf_ct_set_timeout,
// bpf_ct_change_timeout, bpf_ct_set_status, bpf_ct_change_status;
// net/netfilter/nf_nat_bpf.c bpf_ct_set_nat_info) over an emulated
// conntrack table, shared by the interpreter (emu/kfunc.cc's table) and the
// native face (native/ct_kfuncs.cc).
//
// The table models net/netfilter/nf_conntrack_core.c's entries in the one
// network namespace bpfemu has: each entry is a `struct nf_conn` laid out
// by the kernel BTF (emu/kernel_btf.h; 6.18's layout when there is none),
// so a bytecode program reads `status`, `mark`, `timeout`, `zone` and
// `tuplehash[dir].tuple` where CO-RE puts them, and writes `mark`, the one
// field _nf_conntrack_btf_struct_access lets it write. What the model keeps:
//
// - both tuples (original, reply: bpf_nf_ct_tuple_parse's), the zone,
//   the status bits, the timeout (relative jiffies until the entry is
//   confirmed, then absolute 32-bit jiffies, as __nf_ct_set_timeout keeps
//   it), the mark, NAT bindings (nf_nat_setup_info's reply tuple and
//   IPS_*_NAT / IPS_*_NAT_DONE bits);
// - references: an allocated entry (nf_conn___init) is the program's
//   alone and in no table (ct_general.use 0, as __nf_conntrack_alloc leaves
//   it); bpf_ct_insert_entry confirms it (use 2: the table's and the
//   program's) or frees it (-EEXIST, a tuple of either direction already
//   confirmed in the zone); lookups take a reference, bpf_ct_release drops
//   one; an entry is freed when the table and every program let go.
// - expiry: a confirmed entry whose timeout has passed is not found and is
//   dropped from the table when the table is next searched (the kernel's
//   lookup-time gc; its periodic gc worker is not modelled).
//
// Jiffies are bpf_jiffies64's (native/helpers.cc: CONFIG_HZ=250,
// INITIAL_JIFFIES -300 s) unless a test sets them (SetJiffiesForTest).
// netns_id >= 0 names no namespace (-ENONET): bpfemu has no peer
// namespaces with ids. The kernel's verifier refuses a program that can
// exit holding a reference ("Unreleased reference"); bpfemu, which has no
// reference tracking at load, drops what a run still holds when the
// outermost run on the thread ends and counts it (LeakedRefs()).

#ifndef BPFEMU_EMU_CT_KFUNCS_H_
#define BPFEMU_EMU_CT_KFUNCS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "emu/interp.h"

namespace bpfemu::ct {

// nf_conntrack_bpf.c NF_BPF_CT_OPTS_SZ, and the older 12-byte opts.
inline constexpr uint32_t kOptsSz = 16;
inline constexpr uint32_t kOptsSzOld = 12;
// sizeof(bpf_sock_tuple.ipv4) / .ipv6 (include/uapi/linux/bpf.h).
inline constexpr uint32_t kTupleV4Sz = 12;
inline constexpr uint32_t kTupleV6Sz = 36;
// include/uapi/linux/netfilter/nf_conntrack_common.h enum ip_conntrack_status.
inline constexpr uint32_t kIpsExpected = 1u << 0;
inline constexpr uint32_t kIpsSeenReply = 1u << 1;
inline constexpr uint32_t kIpsAssured = 1u << 2;
inline constexpr uint32_t kIpsConfirmed = 1u << 3;
inline constexpr uint32_t kIpsSrcNat = 1u << 4;
inline constexpr uint32_t kIpsDstNat = 1u << 5;
inline constexpr uint32_t kIpsSeqAdjust = 1u << 6;
inline constexpr uint32_t kIpsSrcNatDone = 1u << 7;
inline constexpr uint32_t kIpsDstNatDone = 1u << 8;
inline constexpr uint32_t kIpsDying = 1u << 9;
inline constexpr uint32_t kIpsFixedTimeout = 1u << 10;
inline constexpr uint32_t kIpsTemplate = 1u << 11;
inline constexpr uint32_t kIpsUntracked = 1u << 12;
inline constexpr uint32_t kIpsOffload = 1u << 14;
inline constexpr uint32_t kIpsHwOffload = 1u << 15;
inline constexpr uint32_t kIpsUnchangeable =
    kIpsSrcNatDone | kIpsDstNatDone | kIpsSrcNat | kIpsDstNat | kIpsExpected |
    kIpsConfirmed | kIpsDying | kIpsSeqAdjust | kIpsTemplate | kIpsUntracked |
    kIpsOffload | kIpsHwOffload;
inline constexpr uint32_t kHz = 250;

// Where the modelled members of struct nf_conn are (bytes).
struct Layout {
  uint32_t size = 0;
  uint32_t use = 0;        // ct_general.use (refcount_t)
  uint32_t timeout = 0;    // u32
  uint32_t zone = 0;       // struct nf_conntrack_zone {u16 id; u8 flags, dir}
  uint32_t tuplehash = 0;  // struct nf_conntrack_tuple_hash[2]
  uint32_t hash_size = 0;  // sizeof(struct nf_conntrack_tuple_hash)
  uint32_t tuple = 0;      // its tuple's offset in it
  uint32_t status = 0;     // unsigned long
  uint32_t mark = 0;       // u32
};
const Layout& GetLayout();

// struct nf_conntrack_tuple's parts, as the model compares them
// (nf_ct_tuple_equal: addresses, ports, l3num, protonum; not dir).
struct Tuple {
  uint8_t src[16] = {};
  uint16_t sport = 0;  // network order
  uint16_t l3num = 0;  // AF_INET / AF_INET6
  uint8_t dst[16] = {};
  uint16_t dport = 0;  // network order
  uint8_t protonum = 0;
  uint8_t dir = 0;
  bool operator==(const Tuple& o) const;
};

// The kfuncs. `opts` is struct bpf_ct_opts (16 bytes: netns_id, error,
// l4proto, dir, ct_zone_id, ct_zone_dir, reserved[3]); errors are written
// to opts->error when opts__sz covers it (bpf_ct_opts_result), and the
// result is then NULL.
void* Lookup(const void* tuple, uint32_t tuple_sz, void* opts,
             uint32_t opts_sz);
void* Alloc(const void* tuple, uint32_t tuple_sz, void* opts, uint32_t opts_sz);
// bpf_ct_insert_entry: the entry confirmed (the same pointer, now a
// struct nf_conn), or NULL with the entry freed. *err (when not null) gets
// nf_conntrack_hash_check_insert's errno. -EINVAL (nothing done) when
// `ct` is not an allocated entry the caller holds.
void* Insert(void* ct, int* err = nullptr);
// bpf_ct_release: 0, or -EINVAL when `ct` is not a confirmed entry the
// caller holds (the verifier refuses such a program).
int Release(void* ct);
void SetTimeout(void* ct, uint32_t msecs);
int ChangeTimeout(void* ct, uint32_t msecs);
int SetStatus(void* ct, uint32_t status);  // nf_ct_change_status_common
int ChangeStatus(void* ct, uint32_t status);
int SetNatInfo(void* ct, const void* addr, int32_t port, int32_t manip);
// Whether `p` is a live entry; *confirmed tells which kind.
bool IsEntry(const void* p, bool* confirmed = nullptr);

// The end of the outermost run on this thread (emu/prog.cc): references
// the run still holds are dropped and counted. Inline and without a call
// while the thread's runs hold none (a run's fixed cost).
extern constinit thread_local bool run_holds;  // Own() sets it
void EndRunHeld();
inline void EndRun() {
  if (run_holds) EndRunHeld();
}

// Test API: the table as a C++ test sees and seeds it.
struct EntryInfo {
  Tuple orig, reply;
  uint16_t zone_id = 0;
  uint8_t zone_dir = 0;
  uint32_t status = 0;
  uint32_t timeout = 0;  // as the struct holds it (absolute once confirmed)
  uint32_t mark = 0;
  uint32_t use = 0;  // ct_general.use
  bool confirmed = false;
  const void* addr = nullptr;
};
// The confirmed entries, oldest first (expired ones dropped first).
std::vector<EntryInfo> Entries();
// A confirmed entry for `orig` (its reply the inverse), as a netlink
// create would add it: 0, or -EEXIST / -EINVAL (not TCP or UDP over IPv4 or
// IPv6).
int Seed(const Tuple& orig, uint32_t status, uint32_t timeout_jiffies,
         uint32_t mark, uint16_t zone_id = 0);
// Drops every confirmed entry the programs do not hold.
void Flush();
uint64_t LiveEntries();
uint64_t LeakedRefs();
// jiffies (32-bit, nfct_time_stamp) now; a test may fix them.
uint32_t NowJiffies();
void SetJiffiesForTest(std::optional<uint32_t> jiffies);
// Tuple of a bpf_sock_tuple (nullptr tuple or a size other than 12 / 36:
// -EAFNOSUPPORT; l4proto not TCP or UDP: -EPROTO), as the kernel parses it.
int ParseTuple(const void* bpf_tuple, uint32_t size, uint8_t l4proto,
               uint8_t dir, Tuple* out);
Tuple Invert(const Tuple& t);

// The interpreter's bindings: the context argument must be the run's
// context, the tuple and opts buffers readable and writable for their
// sizes, nf_conn arguments entries the program holds; an entry a kfunc
// hands out becomes a region of the run (read-only, but its mark).
uint64_t InterpSkbLookup(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5);
uint64_t InterpXdpLookup(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5);
uint64_t InterpSkbAlloc(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                        uint64_t r4, uint64_t r5);
uint64_t InterpXdpAlloc(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                        uint64_t r4, uint64_t r5);
uint64_t InterpInsert(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);
uint64_t InterpRelease(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5);
uint64_t InterpSetTimeout(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t r4, uint64_t r5);
uint64_t InterpChangeTimeout(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpSetStatus(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5);
uint64_t InterpChangeStatus(interp::Vm& vm, uint64_t r1, uint64_t r2,
                            uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpSetNatInfo(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t r4, uint64_t r5);

}  // namespace bpfemu::ct

#endif  // BPFEMU_EMU_CT_KFUNCS_H_
