// SPDX-License-Identifier: Apache-2.0
#include "emu/hash_of_maps.h"

#include <cstring>

#include "emu/map_in_map.h"
#include "emu/version.h"

namespace bpfemu {

const MapOps HashOfMaps::kOps = {&HashOfMaps::AllocCheck, &HashOfMaps::Alloc,
                                 &HashOfMaps::Attach, &MapMetaFromAttr};

int HashOfMaps::AllocCheck(const MapAttr& attr) {
  // fd_htab_map_alloc_check(): the value is a u32 fd / id.
  if (attr.value_size != sizeof(uint32_t)) return -EINVAL;
  return HashMap::AllocCheck(attr);
}

int HashOfMaps::DeleteElem(const void* key) {
  // htab_map_delete_elem -> free_htab_elem -> htab_put_fd_value: the slot's
  // inner map is put once the element is gone.
  uint32_t inner_id = 0;
  const int err = Remove(key, &inner_id, 0);
  if (err == 0) MapFdPutPtr(inner_id);
  return err;
}

int HashOfMaps::UpdateElemSys(const void* key, const void* value,
                              uint64_t flags, int /*map_fd*/) {
  uint32_t inner_id;
  if (int err = MapFdGetPtr(*this, value, &inner_id); err != 0) return err;
  uint32_t replaced = 0;
  const int err = Update(key, &inner_id, flags, /*onallcpus=*/true, &replaced);
  MapFdPutPtr(err == 0 ? replaced : inner_id);
  return err;
}

void HashOfMaps::PutFdValue(const void* value) {
  uint32_t inner_id;
  std::memcpy(&inner_id, value, sizeof(inner_id));
  MapFdPutPtr(inner_id);
}

bool HashOfMaps::ReplacesInPlace() const {
  return FdHtabUpdatesInPlace(kernel_version());
}

}  // namespace bpfemu
