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
  std::memcpy(hdr->name, attr.map_name, sizeof(hdr->name));
  hdr->region_size = region_size;
}

}  // namespace bpfemu
