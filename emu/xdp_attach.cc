// SPDX-License-Identifier: Apache-2.0
#include "emu/xdp_attach.h"

#include <linux/bpf.h>
#include <linux/if_link.h>

#include <array>
#include <bit>
#include <map>
#include <memory>

#include "emu/local_mutex.h"
#include "emu/netdev.h"
#include "emu/prog.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

// enum bpf_xdp_mode (include/linux/netdevice.h).
enum Mode { kSkb = 0, kDrv = 1, kHw = 2, kModes = 3 };

using Table = PerNetdev<std::array<std::shared_ptr<const Prog>, kModes>>;

// dev_xdp_mode(): the flag's mode; without one, native mode for a driver
// with ndo_bpf, which no emulated device has.
Mode ModeOf(uint32_t flags) {
  if (flags & XDP_FLAGS_HW_MODE) return kHw;
  if (flags & XDP_FLAGS_DRV_MODE) return kDrv;
  return kSkb;
}

// bpf_prog_get_type_dev(fd, BPF_PROG_TYPE_XDP, ...): -EBADF for a closed
// fd, -EINVAL for one that is not an XDP program.
int XdpProgFromFd(int fd, std::shared_ptr<const Prog>* out) {
  if (int err = ProgFromFd(fd, out); err != 0) return err;
  return (*out)->type == BPF_PROG_TYPE_XDP ? 0 : -EINVAL;
}

}  // namespace

int XdpSetLink(int ifindex, int fd, int expected_fd, uint32_t flags) {
  // rtnetlink_rcv_msg: RTM_SETLINK needs CAP_NET_ADMIN; then rtnl_setlink
  // finds the device (by a positive ifi_index: libbpf sends no name).
  if (!CallerPrivileged()) return -EPERM;
  if (ifindex <= 0) return -EINVAL;
  if (!NetdevExists(static_cast<uint32_t>(ifindex))) return -ENODEV;
  // do_setlink's IFLA_XDP checks.
  if (flags & ~uint32_t{XDP_FLAGS_MASK}) return -EINVAL;
  const int num_modes = std::popcount(flags & XDP_FLAGS_MODES);
  if (num_modes > 1) return -EINVAL;
  if (!(flags & XDP_FLAGS_REPLACE)) expected_fd = -1;
  // dev_change_xdp_fd: the programs behind the fds.
  const Mode mode = ModeOf(flags);
  std::shared_ptr<const Prog> new_prog, old_prog;
  if (fd >= 0) {
    if (int err = XdpProgFromFd(fd, &new_prog); err != 0) return err;
  }
  if (expected_fd >= 0) {
    if (int err = XdpProgFromFd(expected_fd, &old_prog); err != 0) return err;
  }
  Table& t = Table::Get();
  LocalMutexLock l(&t.mu);
  auto& slots = t.devs[ifindex];
  int attached = 0;
  for (const auto& p : slots) attached += p != nullptr;
  // dev_xdp_attach.
  if (num_modes == 0 && attached > 1) return -EINVAL;
  if (old_prog != nullptr && !(flags & XDP_FLAGS_REPLACE)) return -EINVAL;
  const std::shared_ptr<const Prog>& cur = slots[mode];
  if ((flags & XDP_FLAGS_REPLACE) && cur != old_prog) return -EEXIST;
  if (new_prog != nullptr && (flags & XDP_FLAGS_UPDATE_IF_NOEXIST) &&
      cur != nullptr) {
    return -EBUSY;
  }
  if (new_prog != cur) {
    // dev_xdp_bpf_op(): only generic XDP has an install function here.
    if (mode != kSkb) return -EOPNOTSUPP;
    // dev_xdp_install()'s program checks.
    if (new_prog != nullptr) {
      if (slots[kDrv] != nullptr) return -EEXIST;
      if (new_prog->expected_attach_type == BPF_XDP_DEVMAP ||
          new_prog->expected_attach_type == BPF_XDP_CPUMAP) {
        return -EINVAL;
      }
    }
  }
  slots[mode] = std::move(new_prog);
  return 0;
}

bool XdpQueryLink(uint32_t ifindex, XdpAttachment* out) {
  *out = {};
  if (!NetdevExists(ifindex)) return false;
  Table& t = Table::Get();
  LocalMutexLock l(&t.mu);
  auto it = t.devs.find(ifindex);
  if (it == t.devs.end()) return true;
  // rtnl_xdp_report_one in the order SKB, DRV, HW: one mode gives its
  // XDP_ATTACHED_* value and prog_id, a second makes it MULTI.
  static constexpr uint8_t kAttached[kModes] = {
      XDP_ATTACHED_SKB, XDP_ATTACHED_DRV, XDP_ATTACHED_HW};
  uint32_t* ids[kModes] = {&out->skb_prog_id, &out->drv_prog_id,
                           &out->hw_prog_id};
  for (int m = 0; m < kModes; ++m) {
    const auto& p = it->second[m];
    if (p == nullptr) continue;
    *ids[m] = p->id;
    if (out->attach_mode == XDP_ATTACHED_NONE) {
      out->attach_mode = kAttached[m];
      out->prog_id = p->id;
    } else {
      out->attach_mode = XDP_ATTACHED_MULTI;
    }
  }
  if (out->attach_mode == XDP_ATTACHED_MULTI) out->prog_id = 0;
  return true;
}

}  // namespace bpfemu
