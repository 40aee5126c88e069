// SPDX-License-Identifier: Apache-2.0
#include "emu/cpumap.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "emu/array_map.h"
#include "emu/cpu.h"
#include "emu/prog.h"

namespace bpfemu {
namespace {

constexpr uint64_t kSharedOffset = RoundUp(kBodyOffset, 64);
constexpr uint64_t kSlotsOffset = kSharedOffset + 64;
// cpu_map_update_elem's sanity limit on qsize.
constexpr uint32_t kMaxQsize = 16384;

}  // namespace

const MapOps CpuMap::kOps = {&CpuMap::AllocCheck, &CpuMap::Alloc,
                             &CpuMap::Attach};

int CpuMap::AllocCheck(const MapAttr& attr) {
  if (attr.max_entries == 0 || attr.key_size != 4 ||
      (attr.value_size != 4 && attr.value_size != 8) ||
      (attr.map_flags & ~uint32_t{BPF_F_NUMA_NODE})) {
    return -EINVAL;
  }
  // Pre-limited by NR_CPUS, a build figure.
  if (attr.max_entries > HostNrCpus()) return -E2BIG;
  return 0;
}

uint64_t CpuMap::RegionSize(uint32_t max_entries) {
  return kSlotsOffset + uint64_t{max_entries} * sizeof(uint64_t);
}

CpuMap::CpuMap(ShmRegion region) : Map(std::move(region)) {
  shared_ = this->region().At<DevmapShared>(kSharedOffset);
  slots_ = this->region().At<std::atomic<uint64_t>>(kSlotsOffset);
}

int CpuMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                  std::unique_ptr<Map>* out) {
  const uint64_t size = RegionSize(attr.max_entries);
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-cpumap", size, &map_fd, &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, size,
             region.At<MapHeader>(0));
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new CpuMap(std::move(region)));
  return 0;
}

int CpuMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  auto map = std::unique_ptr<CpuMap>(new CpuMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  const MapAttr a = AttrFromHeader(h);
  // The NR_CPUS bound is the creating kernel's; only the shape is checked.
  if (a.max_entries == 0 || a.key_size != 4 ||
      (a.value_size != 4 && a.value_size != 8) ||
      (a.map_flags & ~uint32_t{BPF_F_NUMA_NODE}) ||
      h.region_size != RegionSize(h.max_entries)) {
    return -EINVAL;
  }
  *out = std::move(map);
  return 0;
}

bool CpuMap::RedirectLookup(uint32_t key, RedirectTarget* out) const {
  if (key >= max_entries()) return false;
  const uint64_t v = slots_[key].load(std::memory_order_acquire);
  if (v == 0) return false;
  out->cpu = key;
  out->prog_id = static_cast<uint32_t>(v >> 32);
  return true;
}

int CpuMap::LookupElem(const void* key, void* value, uint64_t) {
  uint32_t k;
  std::memcpy(&k, key, sizeof(k));
  if (k >= max_entries()) return -ENOENT;
  const uint64_t v = slots_[k].load(std::memory_order_acquire);
  if (v == 0) return -ENOENT;
  const RedirectVal out{static_cast<uint32_t>(v),
                        static_cast<uint32_t>(v >> 32)};
  std::memcpy(value, &out, value_size() >= 8 ? 8 : 4);
  return 0;
}

void* CpuMap::LookupElemProg(const void* key) {
  uint32_t k;
  std::memcpy(&k, key, sizeof(k));
  if (k >= max_entries()) return nullptr;
  return slots_[k].load(std::memory_order_acquire) == 0
             ? nullptr
             : static_cast<void*>(&slots_[k]);
}

int CpuMap::UpdateElem(const void* key, const void* value, uint64_t flags) {
  uint32_t cpu;
  std::memcpy(&cpu, key, sizeof(cpu));
  RedirectVal val;
  std::memcpy(&val, value, value_size() >= 8 ? 8 : 4);
  if (flags > BPF_EXIST) return -EINVAL;
  if (cpu >= max_entries()) return -E2BIG;
  if (flags == BPF_NOEXIST) return -EEXIST;
  if (val.first > kMaxQsize) return -EOVERFLOW;
  if (cpu >= nr_cpus()) return -ENODEV;  // not a possible CPU
  uint64_t entry = 0;
  if (val.first != 0) {
    uint32_t prog_id;
    if (CheckRedirectProg(static_cast<int32_t>(val.prog), BPF_XDP_CPUMAP,
                          &prog_id) != 0) {
      return -ENOMEM;
    }
    ProgSlotAcquire(prog_id);
    entry = uint64_t{val.first} | (uint64_t{prog_id} << 32);
  }
  ShmMutexLock l(&shared_->lock);
  const uint64_t old = slots_[cpu].exchange(entry, std::memory_order_acq_rel);
  if (old != 0) ProgSlotRelease(static_cast<uint32_t>(old >> 32));
  return 0;
}

int CpuMap::DeleteElem(const void* key) {
  uint32_t cpu;
  std::memcpy(&cpu, key, sizeof(cpu));
  if (cpu >= max_entries()) return -EINVAL;
  ShmMutexLock l(&shared_->lock);
  const uint64_t old = slots_[cpu].exchange(0, std::memory_order_acq_rel);
  if (old != 0) ProgSlotRelease(static_cast<uint32_t>(old >> 32));
  return 0;
}

int CpuMap::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);
}

uint64_t CpuMap::MemUsage(const BuildProfile& build) const {
  return build.cpu_map + uint64_t{max_entries()} * sizeof(void*);
}

}  // namespace bpfemu
