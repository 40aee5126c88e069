// SPDX-License-Identifier: Apache-2.0
#include "emu/cgroup_storage.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "emu/build_profile.h"
#include "emu/cpu.h"

namespace bpfemu {
namespace {

// LOCAL_STORAGE_CREATE_FLAG_MASK.
constexpr uint32_t kCreateFlagMask = BPF_F_NUMA_NODE | kBpfFAccessMask;
// BPF_LOCAL_STORAGE_MAX_VALUE_SIZE: U16_MAX less sizeof(struct
// bpf_local_storage_elem) (128: its data is cache-line aligned).
constexpr uint32_t kMaxValueSize = 0xffff - 128;
// PCPU_MIN_UNIT_SIZE.
constexpr uint32_t kPcpuMinUnitSize = 32768;

// The storages of this thread's run, by map id: value_size bytes, or one
// round_up(value_size, 8) copy per CPU.
struct RunStorages {
  int depth = 0;
  absl::flat_hash_map<uint32_t, std::unique_ptr<uint64_t[]>> by_map;
};
thread_local RunStorages run_storages;

}  // namespace

const MapOps CgroupStorageMap::kOps = {
    &CgroupStorageMap::AllocCheck, &CgroupStorageMap::Alloc,
    &CgroupStorageMap::Attach, nullptr, /*value_spin_lock=*/true};
const MapOps CgroupStorageMap::kPercpuOps = {&CgroupStorageMap::AllocCheck,
                                             &CgroupStorageMap::Alloc,
                                             &CgroupStorageMap::Attach};

int CgroupStorageMap::AllocCheck(const MapAttr& attr) {
  const uint32_t max_value_size =
      attr.map_type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE ? kPcpuMinUnitSize
                                                          : kMaxValueSize;
  if (attr.key_size != sizeof(struct bpf_cgroup_storage_key) &&
      attr.key_size != sizeof(uint64_t)) {
    return -EINVAL;
  }
  if (attr.value_size == 0) return -EINVAL;
  if (attr.value_size > max_value_size) return -E2BIG;
  const uint32_t f = attr.map_flags;
  if ((f & ~kCreateFlagMask) != 0 ||
      (f & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) ==
          (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) {
    return -EINVAL;
  }
  if (attr.max_entries != 0) return -EINVAL;
  return 0;
}

int CgroupStorageMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                            std::unique_ptr<Map>* out) {
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-cgroup-storage", kBodyOffset, &map_fd,
                                  &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, kBodyOffset,
             region.At<MapHeader>(0));
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new CgroupStorageMap(std::move(region)));
  return 0;
}

// The header alone: its attributes must pass the create checks.
int CgroupStorageMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  if (region.size() < kBodyOffset) return -EINVAL;
  auto map = std::unique_ptr<CgroupStorageMap>(
      new CgroupStorageMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  if (AllocCheck(AttrFromHeader(map->header())) != 0 ||
      map->header().region_size != kBodyOffset) {
    return -EINVAL;
  }
  *out = std::move(map);
  return 0;
}

// cgroup_storage_lookup_elem / bpf_percpu_cgroup_storage_copy: no storage
// is linked into the map.
int CgroupStorageMap::LookupElem(const void*, void*, uint64_t) {
  return -ENOENT;
}

int CgroupStorageMap::UpdateElem(const void*, const void*, uint64_t flags) {
  if (percpu()) {
    // bpf_percpu_cgroup_storage_update.
    if (flags != BPF_ANY && flags != BPF_EXIST) return -EINVAL;
  } else {
    // cgroup_storage_update_elem.
    if (flags & ~uint64_t{BPF_F_LOCK | BPF_EXIST}) return -EINVAL;
    if ((flags & BPF_F_LOCK) && !HasSpinLock()) return -EINVAL;
  }
  return -ENOENT;
}

// cgroup_storage_get_next_key: the map's list is empty.
int CgroupStorageMap::GetNextKey(const void*, void*) { return -ENOENT; }

// sizeof(struct bpf_cgroup_storage_map): struct bpf_map, a spinlock (padded
// to 8), an rb_root and a list_head, i.e. 16 bytes more than struct
// bpf_array (struct bpf_map, two u32 and a pointer).
uint64_t CgroupStorageMap::MemUsage(const BuildProfile& build) const {
  return uint64_t{build.array} + 16;
}

CgroupStorageRun::CgroupStorageRun() {
  if (run_storages.depth++ == 0) run_storages.by_map.clear();
}

CgroupStorageRun::~CgroupStorageRun() {
  if (--run_storages.depth == 0) run_storages.by_map.clear();
}

void* GetLocalStorage(Map& map, uint64_t flags) {
  const bool percpu = map.type() == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
  if ((!percpu && map.type() != BPF_MAP_TYPE_CGROUP_STORAGE) || flags != 0) {
    return nullptr;
  }
  const uint64_t stride = RoundUp(map.value_size(), 8);
  auto& slot = run_storages.by_map[map.id()];
  if (slot == nullptr) {
    const uint64_t words = stride / 8 * (percpu ? map.nr_cpus() : 1);
    slot = std::make_unique<uint64_t[]>(words);  // zeroed
  }
  auto* base = reinterpret_cast<uint8_t*>(slot.get());
  return percpu ? base + CurrentCpu(map.nr_cpus()) * stride : base;
}

}  // namespace bpfemu
