// SPDX-License-Identifier: Apache-2.0
// File: xsk_map.h
//
// BPF_MAP_TYPE_XSKMAP, mirroring net/xdp/xskmap.c (xsk_map_alloc,
// xsk_map_update_elem, xsk_map_lookup_elem_sys_only, xsk_map_delete_elem,
// xsk_map_get_next_key, xsk_map_mem_usage) and the socket side in
// net/xdp/xsk.c (xsk_release -> xsk_delete_from_maps: a closed AF_XDP
// socket leaves every slot that holds it).
//
// Region: the header, a cache line holding the slots' ShmMutex (the map's
// spinlock), then max_entries SocketSlots (socket_probe.h): the AF_XDP
// socket's inode (0: empty), the process that stored it and its descriptor
// there. Like the kernel's map, the slot keeps no reference on the socket;
// bpfemu notices that the socket was closed when it next reads the slot.
//
// Semantics (6.18; the conformance suite compares them with the kernel):
//   * create: max_entries 0, key_size or value_size other than 4, flags
//     other than NUMA_NODE / RDONLY / WRONLY -> EINVAL.
//   * update: flags above BPF_EXIST -> EINVAL; index >= max_entries ->
//     E2BIG; fd not open (negative included) -> EBADF, not a socket ->
//     ENOTSOCK, not AF_XDP -> EOPNOTSUPP; storing the socket the slot
//     already holds -> 0 whatever the flags; else BPF_NOEXIST on a used
//     slot -> EEXIST, BPF_EXIST on an empty one -> ENOENT. A socket need not
//     be bound, and may sit in several slots.
//   * lookup from userspace -> EOPNOTSUPP (for any key); delete: index >=
//     max_entries -> EINVAL, else 0 (empty or not); get_next_key: the
//     array's order; lookup_and_delete and batch commands -> ENOTSUPP.
//   * memlock: sizeof(struct xsk_map) + 8 * max_entries + 32 (struct
//     xsk_map_node) per used slot (build profile `xsk_map`).
//
// Differences from the kernel: programs see no socket behind a slot (no
// emulated xdp_sock: a program's lookup answers NULL and bpf_redirect_map
// into an XSKMAP is not modelled); a socket stored by another process is
// live while that process has a descriptor on it.

#ifndef BPFEMU_EMU_XSK_MAP_H_
#define BPFEMU_EMU_XSK_MAP_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"
#include "emu/socket_probe.h"

namespace bpfemu {

class XskMap final : public SocketSlotArray {
 public:
  static const MapOps kOps;

  // xsk_map_lookup_elem_sys_only.
  [[nodiscard]] int LookupElem(const void*, void*, uint64_t) override {
    return -EOPNOTSUPP;
  }
  // xsk_map_update_elem: `value` is an AF_XDP socket fd (u32).
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  uint64_t MemUsage(const BuildProfile& build) const override;

 private:
  explicit XskMap(ShmRegion region);
  static int AllocCheck(const MapAttr& attr);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  // Whether slot `index` holds a socket that is still open; a closed one's
  // slot is emptied (xsk_delete_from_maps) when `clear` and the region is
  // writable. *copy gets the slot. REQUIRES: the lock when clearing.
  bool SlotLive(uint32_t index, SocketSlot* copy, bool clear) const;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_XSK_MAP_H_
