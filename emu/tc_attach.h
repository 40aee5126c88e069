// SPDX-License-Identifier: Apache-2.0
// File: tc_attach.h
//
// tc on the emulated network devices (emu/netdev.h): the clsact qdisc and
// its ingress and egress filter chains of cls_bpf filters, as libbpf's
// bpf_tc_hook_create / bpf_tc_hook_destroy (RTM_NEWQDISC / RTM_DELQDISC)
// and bpf_tc_attach / bpf_tc_detach / bpf_tc_query (RTM_NEWTFILTER /
// RTM_DELTFILTER / RTM_GETTFILTER) reach them. Mirrors net/sched/sch_api.c
// (tc_modify_qdisc, tc_get_qdisc for clsact), net/sched/sch_ingress.c
// (clsact: one ingress and one egress block, clsact_find's classes
// ffff:fff2 and ffff:fff3), net/sched/cls_api.c (tc_new_tfilter,
// tc_del_tfilter, tc_get_tfilter: __tcf_qdisc_find, tcf_chain_tp_find,
// tcf_auto_prio) and net/sched/cls_bpf.c (cls_bpf_change's handle
// allocation, cls_bpf_prog_from_efd's program check).
//
// Per device: whether the ingress queue was ever created (it outlives the
// qdisc, as dev_ingress_queue_create's queue does, which changes the errno
// of a second RTM_DELQDISC), whether a clsact qdisc is present, and per
// block chain 0: tcf_protos sorted by priority, each holding cls_bpf
// filters (handle, the program, held like emu/xdp_attach.h holds one, the
// TCA_BPF_NAME, the direct-action flag). A chain exists while it holds a
// proto (each tcf_proto holds a chain reference); a proto goes away with
// its last filter. Only chain 0, only kind "bpf" and only the clsact qdisc
// are modelled (no other qdisc, no tc actions, no offload, no shared
// blocks, no RTM_NEWCHAIN); the filters never see a packet. Like the
// device table, this state is per process. A device that goes away drops
// its qdisc and filters.

#ifndef BPFEMU_EMU_TC_ATTACH_H_
#define BPFEMU_EMU_TC_ATTACH_H_

#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu {

// include/uapi/linux/pkt_sched.h: the clsact qdisc's handle (ffff:) and
// its two classes, the parents of its ingress and egress filters.
inline constexpr uint32_t kTcClsactHandle = 0xFFFF0000u;
inline constexpr uint32_t kTcParentIngress = 0xFFFFFFF2u;
inline constexpr uint32_t kTcParentEgress = 0xFFFFFFF3u;

// RTM_NEWQDISC of kind clsact with NLM_F_CREATE | NLM_F_EXCL under
// TC_H_CLSACT. 0 or -errno: -EPERM without CAP_NET_ADMIN, -ENODEV for an
// unknown ifindex, -EEXIST when the device has a clsact qdisc.
int TcClsactCreate(int ifindex);
// RTM_DELQDISC of the clsact qdisc (handle ffff:). -EPERM, -ENODEV; -ENOENT
// when the device never had an ingress queue; -EINVAL when it has one but
// no clsact qdisc (the queue's default qdisc has handle 0).
int TcClsactDelete(int ifindex);
bool TcClsactExists(uint32_t ifindex);

// One cls_bpf filter as a dump reports it.
struct TcFilter {
  uint32_t parent = 0;    // kTcParentIngress or kTcParentEgress
  uint16_t priority = 0;  // TC_H_MAJ(tcm_info) >> 16
  uint16_t protocol = 0;  // network byte order, as tcm_info carries it
  uint32_t handle = 0;
  uint32_t prog_id = 0;
  std::string name;  // TCA_BPF_NAME
  bool direct_action = false;
};

// RTM_NEWTFILTER with NLM_F_CREATE and NLM_F_EXCL (or NLM_F_REPLACE when
// `replace`), kind "bpf". `priority` 0 lets the kernel pick one
// (tcf_auto_prio: 49152 on an empty chain, else one below the first
// proto at or above 32768); `handle` 0 picks the lowest free handle from 1.
// Fills `out` (the kernel's echo) on success. -EPERM, -ENODEV; -EINVAL
// without a clsact qdisc (or a parent whose major is not ffff:), -ENOENT
// for a minor other than fff2 / fff3; auto priority when a proto sits at
// 32768: -EINVAL up to 6.12, -ENOSPC after; -EINVAL for a protocol that
// differs from the proto's at that priority; -EEXIST for an existing handle
// without `replace`; -EBADF for a closed fd, -EINVAL for a program that is
// not BPF_PROG_TYPE_SCHED_CLS; -ENOSPC when no auto handle is left.
int TcFilterNew(int ifindex, uint32_t parent, uint32_t handle,
                uint16_t priority, uint16_t protocol, int prog_fd,
                const std::string& name, bool direct_action, bool replace,
                TcFilter* out);
// RTM_DELTFILTER. `priority` 0 flushes the hook's chain (then `handle`
// and `protocol` must be 0, else -ENOENT); a missing chain flushes to 0.
// Otherwise -EPERM, -ENODEV, -EINVAL / -ENOENT for the parent as above,
// -ENOENT for a missing chain, priority or handle.
int TcFilterDelete(int ifindex, uint32_t parent, uint32_t handle,
                   uint16_t priority, uint16_t protocol);
// RTM_GETTFILTER (needs no capability). -ENOENT for priority 0, -ENODEV,
// the parent's errnos, -EINVAL when the hook's chain does not exist,
// -ENOENT for a missing priority or handle.
int TcFilterGet(int ifindex, uint32_t parent, uint32_t handle,
                uint16_t priority, uint16_t protocol, TcFilter* out);

// `tc filter show dev X ingress` then `... egress`: every filter on the
// device, per hook in chain order (by priority; within a priority the newest
// first, as cls_bpf lists them). Empty for an unknown device.
std::vector<TcFilter> TcFilterList(uint32_t ifindex);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_TC_ATTACH_H_
