// SPDX-License-Identifier: Apache-2.0
// File: hash_of_maps.h
//
// BPF_MAP_TYPE_HASH_OF_MAPS, mirroring htab_of_maps_map_ops in
// kernel/bpf/hashtab.c (Linux 6.18): the hash table of HashMap whose values
// are inner maps, stored as their ids (map_in_map.h).
//   * fd_htab_map_alloc_check: value_size must be 4, then the hash checks;
//     the inner template is taken at creation (bpf_map_meta_alloc).
//   * bpf_fd_htab_map_update_elem: the caller's value is an inner map fd,
//     resolved and checked first (map_fd_get_ptr); a failed update puts the
//     new inner map, a successful one the replaced one. From 6.13 an
//     existing key's id is replaced in place.
//   * delete and lookup_and_delete_batch put each deleted slot's inner map
//     (htab_put_fd_value); lookup_and_delete_elem is not supported
//     (ENOTSUPP: map_lookup_and_delete_elem knows the plain hash types).

#ifndef BPFEMU_EMU_HASH_OF_MAPS_H_
#define BPFEMU_EMU_HASH_OF_MAPS_H_

#include <memory>

#include "emu/hash_map.h"

namespace bpfemu {

class HashOfMaps final : public HashMap {
 public:
  static const MapOps kOps;

  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int UpdateElemSys(const void* key, const void* value,
                                  uint64_t flags, int map_fd) override;
  [[nodiscard]] int LookupAndDeleteElem(const void*, void*, uint64_t) override {
    return -kENOTSUPP;
  }

 private:
  friend class HashMap;  // AllocAs / AttachAs construct it
  explicit HashOfMaps(ShmRegion region) : HashMap(std::move(region)) {}

  static int AllocCheck(const MapAttr& attr);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out) {
    return AllocAs<HashOfMaps>(attr, nr_cpus, /*zero_seed=*/false, fd, out);
  }
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out) {
    return AttachAs<HashOfMaps>(&AllocCheck, std::move(region), out);
  }

  void PutFdValue(const void* value) override;
  bool ReplacesInPlace() const override;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_HASH_OF_MAPS_H_
