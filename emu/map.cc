// SPDX-License-Identifier: Apache-2.0
#include "emu/map.h"

#include <cstring>

#include "emu/errno.h"

namespace bpfemu {

std::string Map::name() const {
  return std::string(hdr_->name, strnlen(hdr_->name, sizeof(hdr_->name)));
}

int Map::LookupAndDeleteElem(const void*, void*, uint64_t) {
  return -kENOTSUPP;
}

void Map::CopyValueIn(uint8_t* map_value, const void* src,
                      bool locked) const {
  const int32_t off = hdr_->spin_lock_off;
  if (off < 0) {
    CopyToMap(map_value, src, value_size());
    return;
  }
  const auto* in = static_cast<const uint8_t*>(src);
  const uint32_t after = static_cast<uint32_t>(off) + kSpinLockSize;
  if (locked) SpinLockAcquire(map_value + off);
  CopyToMap(map_value, in, static_cast<uint32_t>(off));
  // The tail need not be 8-byte aligned: copy it bytewise.
  for (uint32_t i = after; i < value_size(); ++i) {
    __atomic_store_n(map_value + i, in[i], __ATOMIC_RELAXED);
  }
  if (locked) SpinLockRelease(map_value + off);
}

void Map::CopyValueOut(void* dst, const uint8_t* map_value,
                       bool locked) const {
  const int32_t off = hdr_->spin_lock_off;
  if (off < 0) {
    CopyFromMap(dst, map_value, value_size());
    return;
  }
  if (locked) SpinLockAcquire(const_cast<uint8_t*>(map_value) + off);
  CopyFromMap(dst, map_value, value_size());
  if (locked) SpinLockRelease(const_cast<uint8_t*>(map_value) + off);
  std::memset(static_cast<uint8_t*>(dst) + off, 0, kSpinLockSize);
}

void Map::InitHeader(const MapAttr& attr, uint32_t max_entries,
                     uint32_t nr_cpus, uint32_t seed, uint64_t region_size,
                     MapHeader* hdr) {
  hdr->magic = MapHeader::kMagic;
  hdr->layout_version = kLayoutVersion;
  hdr->map_type = attr.map_type;
  hdr->key_size = attr.key_size;
  hdr->value_size = attr.value_size;
  hdr->max_entries = max_entries;
  // bpf_map_flags_retain_permanent(): RDONLY/WRONLY describe the fd, not the
  // map, and are not reported back.
  hdr->map_flags = attr.map_flags & ~(BPF_F_RDONLY | BPF_F_WRONLY);
  hdr->nr_cpus = nr_cpus;
  hdr->seed = seed;
  hdr->spin_lock_off = attr.spin_lock_off;
  std::memcpy(hdr->name, attr.map_name, sizeof(hdr->name));
  hdr->region_size = region_size;
}

}  // namespace bpfemu
