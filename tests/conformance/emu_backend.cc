// SPDX-License-Identifier: Apache-2.0
#include "tests/conformance/emu_backend.h"

#include "emu/cpu.h"
#include "emu/shm.h"
#include "emu/syscall.h"

#include <cerrno>
#include <memory>

namespace bpfemu {

EmuBackend& EmuBackend::Get() {
  static auto* backend = new EmuBackend;
  return *backend;
}

int EmuBackend::NumPossibleCpus() { return bpfemu::NumPossibleCpus(); }

int EmuBackend::PinCpu(int cpu) {
  SetThreadCpu(cpu);
  return 0;
}

int EmuBackend::CreateMap(const MapAttr& attr) { return MapCreate(attr); }

int EmuBackend::Lookup(int fd, const void* key, void* value, uint64_t flags) {
  return MapLookupElem(fd, key, value, flags);
}

int EmuBackend::Update(int fd, const void* key, const void* value,
                       uint64_t flags) {
  return MapUpdateElem(fd, key, value, flags);
}

int EmuBackend::Delete(int fd, const void* key) {
  return MapDeleteElem(fd, key);
}

int EmuBackend::GetNextKey(int fd, const void* key, void* next_key) {
  return MapGetNextKey(fd, key, next_key);
}

int EmuBackend::LookupAndDelete(int fd, const void* key, void* value,
                                uint64_t flags) {
  return MapLookupAndDeleteElem(fd, key, value, flags);
}

int EmuBackend::LookupBatch(int fd, const void* in_batch, void* out_batch,
                            void* keys, void* values, uint32_t* count,
                            uint64_t elem_flags, uint64_t flags) {
  return MapLookupBatch(fd, in_batch, out_batch, keys, values, count,
                        elem_flags, flags);
}

int EmuBackend::LookupAndDeleteBatch(int fd, const void* in_batch,
                                     void* out_batch, void* keys, void* values,
                                     uint32_t* count, uint64_t elem_flags,
                                     uint64_t flags) {
  return MapLookupAndDeleteBatch(fd, in_batch, out_batch, keys, values, count,
                                 elem_flags, flags);
}

int EmuBackend::UpdateBatch(int fd, const void* keys, const void* values,
                            uint32_t* count, uint64_t elem_flags,
                            uint64_t flags) {
  return MapUpdateBatch(fd, keys, values, count, elem_flags, flags);
}

int EmuBackend::DeleteBatch(int fd, const void* keys, uint32_t* count,
                            uint64_t elem_flags, uint64_t flags) {
  return MapDeleteBatch(fd, keys, count, elem_flags, flags);
}

int EmuBackend::ProgLookup(int fd, const void* key, uint32_t /*key_size*/,
                           uint64_t* value8) {
  std::shared_ptr<Map> map = MapFromFd(fd);
  if (map == nullptr) return -EBADF;
  void* value = map->LookupElemProg(key);
  if (value == nullptr) return -ENOENT;
  CopyFromMap(value8, value, sizeof(*value8));
  return 0;
}

int EmuBackend::Close(int fd) { return CloseFd(fd); }

int EmuBackend::GetMapInfo(int fd, MapInfo* info) {
  std::shared_ptr<Map> map = MapFromFd(fd);
  if (map == nullptr) return -EBADF;
  *info = MapInfo{map->type(),        map->key_size(),  map->value_size(),
                  map->max_entries(), map->map_flags(), map->id()};
  return 0;
}

int EmuBackend::MapFdById(uint32_t id) { return MapGetFdById(id); }

}  // namespace bpfemu
