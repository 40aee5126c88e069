// SPDX-License-Identifier: Apache-2.0
// File: xdp_attach.h
//
// XDP programs attached to the emulated network devices (emu/netdev.h) the
// classic way, through rtnetlink: what libbpf's bpf_xdp_attach /
// bpf_xdp_detach (an RTM_SETLINK with IFLA_XDP) and bpf_xdp_query (an
// RTM_GETLINK dump) reach. Mirrors net/core/rtnetlink.c (do_setlink's
// IFLA_XDP checks, rtnl_xdp_fill) and net/core/dev.c (dev_change_xdp_fd,
// dev_xdp_attach, dev_xdp_install's checks, dev_xdp_uninstall when a device
// goes away).
//
// Each device has three slots, one per mode (SKB = generic, DRV = native,
// HW = offloaded). No emulated device has an ndo_bpf, so a program can be
// installed in SKB mode only, which is also the mode an attach without a
// mode flag picks (dev_xdp_mode); changing a DRV or HW slot is
// EOPNOTSUPP, as on the kernel's lo. An attached program is held (its
// fd may be closed) until it is replaced, detached or its device removed.
// Like the device table, attachments are per process. bpf_link-based
// attachment (BPF_LINK_CREATE with BPF_XDP) is not modelled.

#ifndef BPFEMU_EMU_XDP_ATTACH_H_
#define BPFEMU_EMU_XDP_ATTACH_H_

#include <cstdint>

namespace bpfemu {

// IFLA_XDP's attributes as do_setlink receives them: `fd` (IFLA_XDP_FD;
// -1 detaches), `flags` (IFLA_XDP_FLAGS) and `expected_fd`
// (IFLA_XDP_EXPECTED_FD, -1 when absent). 0 or -errno: -EPERM for an
// unprivileged caller (CallerPrivileged: CAP_NET_ADMIN); -EINVAL for an
// ifindex <= 0, -ENODEV for an unknown one; -EINVAL for unknown flags, two mode
// flags, REPLACE without an expected fd, a program fd that is not XDP or whose
// expected attach type is BPF_XDP_DEVMAP / BPF_XDP_CPUMAP, or a mode-less
// attach while programs sit in two modes; -EBADF for a closed fd; -EEXIST when
// REPLACE's expected program is not the attached one, or the other of
// native and generic mode is in use; -EBUSY for UPDATE_IF_NOEXIST over an
// attached program; -EOPNOTSUPP for native or offloaded mode.
int XdpSetLink(int ifindex, int fd, int expected_fd, uint32_t flags);

// rtnl_xdp_fill for one device: the program id in each mode and
// IFLA_XDP_ATTACHED (XDP_ATTACHED_NONE / SKB / DRV / HW / MULTI); `prog_id`
// is the only program's id (0 with several or none).
struct XdpAttachment {
  uint32_t prog_id = 0;
  uint32_t drv_prog_id = 0;
  uint32_t hw_prog_id = 0;
  uint32_t skb_prog_id = 0;
  uint8_t attach_mode = 0;
};
// false when no device has `ifindex` (the RTM_GETLINK dump has no entry).
bool XdpQueryLink(uint32_t ifindex, XdpAttachment* out);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_XDP_ATTACH_H_
