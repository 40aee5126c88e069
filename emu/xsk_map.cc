// SPDX-License-Identifier: Apache-2.0
#include "emu/xsk_map.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "emu/array_map.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

namespace bpfemu {
namespace {

// sizeof(struct xsk_map_node): a list_head and two pointers.
constexpr uint64_t kXskMapNode = 32;
// xsk_map_alloc()'s flag mask.
constexpr uint32_t kXskCreateFlagMask =
    BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;

}  // namespace

const MapOps XskMap::kOps = {&XskMap::AllocCheck, &XskMap::Alloc,
                             &XskMap::Attach};

XskMap::XskMap(ShmRegion region) : SocketSlotArray(std::move(region)) {}

// xsk_map_alloc()'s checks (the kernel has no alloc_check for XSKMAP; the
// checks open its alloc, with nothing between).
int XskMap::AllocCheck(const MapAttr& attr) {
  if (attr.max_entries == 0 || attr.key_size != 4 || attr.value_size != 4 ||
      (attr.map_flags & ~kXskCreateFlagMask)) {
    return -EINVAL;
  }
  return 0;
}

int XskMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                  std::unique_ptr<Map>* out) {
  ShmRegion region;
  if (int err = CreateRegion("bpfemu-xskmap", attr, nr_cpus, fd, &region);
      err != 0) {
    return err;
  }
  *out = std::unique_ptr<Map>(new XskMap(std::move(region)));
  return 0;
}

int XskMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  auto map = std::unique_ptr<XskMap>(new XskMap(std::move(region)));
  if (int err = map->CheckAttached(&AllocCheck); err != 0) return err;
  *out = std::move(map);
  return 0;
}

bool XskMap::SlotLive(uint32_t index, SocketSlot* copy, bool clear) const {
  std::memcpy(copy, &slots_[index], sizeof(SocketSlot));
  if (copy->ino == 0) return false;
  bool self;
  const int fd = HeldSocketFd(*copy, &self);
  if (fd >= 0) {
    if (self && fd != copy->fd && clear && !read_only()) slots_[index].fd = fd;
    return true;
  }
  if (clear && !read_only()) {
    std::memset(&slots_[index], 0, sizeof(SocketSlot));
  }
  return false;
}

int XskMap::UpdateElem(const void* key, const void* value, uint64_t flags) {
  uint32_t index;
  int32_t fd;
  std::memcpy(&index, key, sizeof(index));
  std::memcpy(&fd, value, sizeof(fd));
  if (flags > BPF_EXIST) return -EINVAL;
  if (index >= max_entries()) return -E2BIG;
  SocketInfo xs;
  if (int err = ProbeSocket(fd, &xs); err != 0) return err;  // sockfd_lookup
  if (xs.family != AF_XDP) return -EOPNOTSUPP;
  ShmMutexLock l(lock_);
  SocketSlot old;
  const bool occupied = SlotLive(index, &old, /*clear=*/true);
  if (occupied && old.ino == xs.ino) return 0;
  if (occupied && flags == BPF_NOEXIST) return -EEXIST;
  if (!occupied && flags == BPF_EXIST) return -ENOENT;
  RecordSocket(xs, fd, &slots_[index]);
  return 0;
}

int XskMap::DeleteElem(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  if (index >= max_entries()) return -EINVAL;
  ShmMutexLock l(lock_);
  std::memset(&slots_[index], 0, sizeof(SocketSlot));
  return 0;
}

int XskMap::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);
}

uint64_t XskMap::MemUsage(const BuildProfile& build) const {
  // One xsk_map_node per slot whose socket is still open.
  uint64_t nodes = 0;
  for (uint32_t i = 0; i < max_entries(); ++i) {
    SocketSlot s;
    if (SlotLive(i, &s, /*clear=*/false)) ++nodes;
  }
  return build.xsk_map + uint64_t{max_entries()} * sizeof(void*) +
         nodes * kXskMapNode;
}

}  // namespace bpfemu
