// SPDX-License-Identifier: Apache-2.0
// File: netdev.h
//
// The emulated network devices: the part of the kernel's struct net_device
// (include/linux/netdevice.h) that BPF maps and helpers look at, an ifindex
// and a name, in one table per process (the calling process's network
// namespace, as dev_get_by_index(current->nsproxy->net_ns, ...) sees it).
//
// `lo` (ifindex 1) always exists, as the loopback device of every network
// namespace does (net/core/dev.c assigns it the first index); it is the
// ingress device of BPF_PROG_TEST_RUN. Tests add and remove further devices;
// ifindexes are assigned as dev_new_index() assigns them (the next unused
// index after the last one handed out) unless the caller asks for one.
//
// No emulated device has an ndo_bpf (no offload) or transmits anything: a
// redirect to a device is recorded, not sent. Removing a device runs the
// unregister notifiers registered here, as NETDEV_UNREGISTER does (the
// device maps drop their entries for it: kernel/bpf/devmap.c
// dev_map_notification), for the maps this process has open.

#ifndef BPFEMU_EMU_NETDEV_H_
#define BPFEMU_EMU_NETDEV_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emu/local_mutex.h"

namespace bpfemu {

// include/uapi/linux/if.h IFNAMSIZ.
inline constexpr size_t kIfNameSize = 16;
inline constexpr uint32_t kLoopbackIfindex = 1;

// The MTUs devices start with: loopback_setup() (drivers/net/loopback.c)
// gives lo 64 KiB; ether_setup() (net/ethernet/eth.c) gives the Ethernet
// devices tests add ETH_DATA_LEN. Both have an Ethernet link-layer header
// (hard_header_len ETH_HLEN), which the MTU checks add to the MTU.
inline constexpr uint32_t kLoopbackMtu = 1u << 16;
inline constexpr uint32_t kEthernetMtu = 1500;
inline constexpr uint32_t kEthernetHeaderLen = 14;

struct Netdev {
  uint32_t ifindex = 0;
  std::string name;
  uint32_t mtu = kEthernetMtu;
  uint32_t hard_header_len = kEthernetHeaderLen;
};

// Registers a device named `name` (1..15 bytes, no '/', ':' or white space:
// dev_valid_name; else -EINVAL). `ifindex` 0 picks the next free index;
// otherwise that index, -EBUSY if taken (dev_index_reserve). A name already
// in use: -EEXIST. Returns the ifindex, or -errno.
int NetdevAdd(std::string_view name, uint32_t ifindex = 0);
// Unregisters the device (running the unregister notifiers first); lo
// cannot be removed (-EPERM), an unknown index is -ENODEV.
int NetdevRemove(uint32_t ifindex);
// Removes every device but lo.
void NetdevReset();
// dev_set_mtu(): a device's MTU (lo's too); -ENODEV for an unknown index.
// NetdevReset() does not restore lo's.
int NetdevSetMtu(uint32_t ifindex, uint32_t mtu);

// dev_get_by_index(): the device with `ifindex`, if any.
std::optional<Netdev> NetdevByIndex(uint32_t ifindex);
bool NetdevExists(uint32_t ifindex);
// All devices, by ifindex.
std::vector<Netdev> Netdevs();

// NETDEV_UNREGISTER listeners: `fn(ifindex)` runs for each removed device.
// Returns a token for NetdevRemoveListener.
uint64_t NetdevAddListener(std::function<void(uint32_t ifindex)> fn);
void NetdevRemoveListener(uint64_t token);

// The per-device state of one attach point (T: tc's qdiscs and filters in
// tc_attach.cc, XDP's programs in xdp_attach.cc), by ifindex under one
// lock. A device's entry goes when the device is unregistered, as each
// attach point's NETDEV_UNREGISTER work drops it (qdisc_destroy,
// dev_xdp_uninstall). One table per process and T, never destroyed.
template <typename T>
struct PerNetdev {
  LocalMutex mu;
  std::map<uint32_t, T> devs;

  static PerNetdev& Get() {
    static PerNetdev* table = [] {
      auto* t = new PerNetdev;
      NetdevAddListener([t](uint32_t ifindex) {
        LocalMutexLock l(&t->mu);
        t->devs.erase(ifindex);
      });
      return t;
    }();
    return *table;
  }
};

// kernel/bpf/offload.c bpf_dev_offload_check() for a map's map_ifindex or
// a program's prog_ifindex: no such device -EINVAL; every emulated device
// lacks ndo_bpf, -EOPNOTSUPP.
int NetdevOffloadCheck(uint32_t ifindex);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_NETDEV_H_
