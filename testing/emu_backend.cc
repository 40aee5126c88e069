// SPDX-License-Identifier: Apache-2.0
#include "testing/emu_backend.h"

#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "emu/btf.h"
#include "emu/cpu.h"
#include "emu/perf_event.h"
#include "emu/shm.h"
#include "emu/syscall.h"

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

int EmuBackend::ProgUpdate(int fd, uint64_t key, uint64_t value) {
  std::shared_ptr<Map> map = MapFromFd(fd);
  if (map == nullptr) return -EBADF;
  std::vector<uint8_t> v(map->value_size());
  std::memcpy(v.data(), &value, std::min<size_t>(v.size(), sizeof(value)));
  return map->UpdateElemProg(&key, v.data(), BPF_ANY);
}

int EmuBackend::Close(int fd) { return CloseFd(fd); }

int EmuBackend::Dup(int fd) { return DupMapFd(fd, 0); }

int EmuBackend::GetMapInfo(int fd, MapInfo* info) {
  BpfMapInfo raw{};
  uint32_t len = sizeof(raw);
  if (int err = MapGetInfoByFd(fd, &raw, &len); err != 0) return err;
  *info = MapInfo{raw.type,
                  raw.key_size,
                  raw.value_size,
                  raw.max_entries,
                  raw.map_flags,
                  raw.id,
                  raw.btf_vmlinux_value_type_id,
                  raw.btf_vmlinux_id};
  return 0;
}

int EmuBackend::GetFdById(uint32_t id, uint32_t open_flags) {
  return MapGetFdById(id, open_flags);
}

int EmuBackend::Freeze(int fd) { return MapFreeze(fd); }

int EmuBackend::Frozen(int fd) { return MapFrozen(fd); }

int EmuBackend::Mmap(int fd, size_t length, int prot, int flags,
                     uint64_t offset, void** addr) {
  int err = 0;
  *addr = MapMmap(fd, length, prot, flags, offset, &err);
  return *addr == nullptr ? err : 0;
}

int EmuBackend::MmapAt(int fd, void* hint, size_t length, int prot, int flags,
                       uint64_t offset, void** addr) {
  int err = 0;
  *addr = MapMmapAt(fd, hint, length, prot, flags, offset, &err);
  return *addr == nullptr ? err : 0;
}

int EmuBackend::OpenPerfEvent(int cpu, uint64_t config) {
  struct perf_event_attr attr {};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = config;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  return PerfEventOpen(&attr, cpu < 0 ? 0 : -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int EmuBackend::ClosePerfEvent(int fd) { return bpfemu::PerfEventClose(fd); }

int EmuBackend::LoadBtf(const void* blob, uint32_t size) {
  BtfLoadAttr attr;
  attr.btf = blob;
  attr.btf_size = size;
  return BtfLoad(attr);
}

}  // namespace bpfemu
