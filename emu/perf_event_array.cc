// SPDX-License-Identifier: Apache-2.0
#include "emu/perf_event_array.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "emu/cpu.h"
#include "emu/perf_event.h"

namespace bpfemu {
namespace {

uint32_t IndexOf(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  return index;
}

constexpr uint64_t kSlotsOff = kBodyOffset;

}  // namespace

const MapOps PerfEventArrayMap::kOps = {&PerfEventArrayMap::AllocCheck,
                                        &PerfEventArrayMap::Alloc,
                                        &PerfEventArrayMap::Attach};

// fd_array_map_alloc_check(), then array_map_alloc_check().
int PerfEventArrayMap::AllocCheck(const MapAttr& attr) {
  if (attr.value_size != sizeof(uint32_t)) return -EINVAL;
  if (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EINVAL;
  return ArrayMap::AllocCheck(attr);
}

PerfEventArrayMap::PerfEventArrayMap(ShmRegion region)
    : Map(std::move(region)) {
  slots_ = this->region().At<std::atomic<uint32_t>>(kSlotsOff);
}

int PerfEventArrayMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                             std::unique_ptr<Map>* out) {
  const uint64_t region_size =
      kSlotsOff + uint64_t{attr.max_entries} * sizeof(uint32_t);
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-perf-event-array", region_size,
                                  &map_fd, &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, region_size,
             region.At<MapHeader>(0));
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new PerfEventArrayMap(std::move(region)));
  return 0;
}

// The header checks, alloc_check on its attributes and the region size
// recomputed; slot values are ids, looked up, never followed.
int PerfEventArrayMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  if (region.size() < kSlotsOff) return -EINVAL;
  auto map = std::unique_ptr<PerfEventArrayMap>(
      new PerfEventArrayMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  if (AllocCheck(AttrFromHeader(h)) != 0 ||
      h.region_size != kSlotsOff + uint64_t{h.max_entries} * sizeof(uint32_t)) {
    return -EINVAL;
  }
  *out = std::move(map);
  return 0;
}

int PerfEventArrayMap::UpdateElem(const void* key, const void* value,
                                  uint64_t flags) {
  if (flags != BPF_ANY) return -EINVAL;
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -E2BIG;
  uint32_t id;
  std::memcpy(&id, value, sizeof(id));
  slots_[index].store(id, std::memory_order_release);
  return 0;
}

// bpf_fd_array_map_update_elem(): flags, index, then
// perf_event_fd_array_get_ptr(): perf_event_get() answers EBADF for any fd
// that is not a perf event.
int PerfEventArrayMap::UpdateElemSys(const void* key, const void* value,
                                     uint64_t flags) {
  if (flags != BPF_ANY) return -EINVAL;
  if (IndexOf(key) >= max_entries()) return -E2BIG;
  int32_t ufd;
  std::memcpy(&ufd, value, sizeof(ufd));
  std::shared_ptr<PerfEvent> ev = PerfEventFromFd(ufd);
  if (ev == nullptr) return -EBADF;
  const uint32_t id = ev->id();
  return UpdateElem(key, &id, flags);
}

int PerfEventArrayMap::DeleteElem(const void* key) {
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -E2BIG;
  if (slots_[index].exchange(0, std::memory_order_acq_rel) == 0) return -ENOENT;
  return 0;
}

int PerfEventArrayMap::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);
}

long PerfEventArrayMap::Output(uint64_t flags, const void* data, uint64_t size,
                               uint32_t cur_cpu) {
  // bpf_perf_event_output: only the index bits may be set.
  if (flags & ~uint64_t{BPF_F_INDEX_MASK}) return -EINVAL;
  uint64_t index = flags & BPF_F_INDEX_MASK;
  if (index == BPF_F_CURRENT_CPU) index = cur_cpu;
  if (index >= max_entries()) return -E2BIG;
  const uint32_t id = slots_[index].load(std::memory_order_acquire);
  if (id == 0) return -ENOENT;
  std::shared_ptr<PerfEvent> ev = PerfEventFromId(id);
  if (ev == nullptr) return -ENOENT;  // an event this process cannot reach
  return ev->Output(data, size, cur_cpu);
}

long PerfEventArrayMap::Output(uint64_t flags, const void* data,
                               uint64_t size) {
  return Output(flags, data, size, CurrentCpu(nr_cpus()));
}

}  // namespace bpfemu
