// SPDX-License-Identifier: Apache-2.0
#include "emu/cgroup_storage.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
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

// One storage linked into a map by an attach (struct bpf_cgroup_storage):
// its key and its value, round_up(value_size, 8) bytes once or per CPU.
struct Linked {
  uint64_t cgroup_id = 0;
  uint32_t attach_type = 0;
  std::unique_ptr<uint64_t[]> data;
};

// The linked storages of this process by map id, newest first (the map's
// list, list_add), and how many CgroupStorageMap objects name each id: the
// storages go with the last.
struct LinkedTable {
  std::mutex mu;
  absl::flat_hash_map<uint32_t, std::deque<Linked>> by_map;
  absl::flat_hash_map<uint32_t, int> live;
};

LinkedTable& Links() {
  static auto* t = new LinkedTable;
  return *t;
}

// cgroup_storage_lookup(): a map with bpf_cgroup_storage_key keys
// (attach_type_isolated) compares both fields, one with u64 keys the
// cgroup id alone.
Linked* FindLinked(std::deque<Linked>& list, bool isolated, uint64_t cgroup_id,
                   uint32_t attach_type) {
  for (Linked& l : list) {
    if (l.cgroup_id == cgroup_id &&
        (!isolated || l.attach_type == attach_type)) {
      return &l;
    }
  }
  return nullptr;
}

Linked* FindByKey(std::deque<Linked>& list, const Map& map, const void* key) {
  uint64_t id;
  uint32_t type = 0;
  std::memcpy(&id, key, sizeof(id));
  const bool isolated = map.key_size() == sizeof(struct bpf_cgroup_storage_key);
  if (isolated) {
    std::memcpy(&type, static_cast<const uint8_t*>(key) + 8, sizeof(type));
  }
  return FindLinked(list, isolated, id, type);
}

}  // namespace

CgroupStorageMap::CgroupStorageMap(ShmRegion region) : Map(std::move(region)) {
  LinkedTable& t = Links();
  std::lock_guard<std::mutex> l(t.mu);
  ++t.live[id()];
}

CgroupStorageMap::~CgroupStorageMap() {
  LinkedTable& t = Links();
  std::lock_guard<std::mutex> l(t.mu);
  if (--t.live[id()] <= 0) {
    t.live.erase(id());
    t.by_map.erase(id());  // cgroup_storage_map_free
  }
}

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

// cgroup_storage_lookup_elem (the value copied out as map_lookup_elem
// does, BPF_F_LOCK under the value's lock) / bpf_percpu_cgroup_storage_copy
// (round_up(value_size, 8) bytes per possible CPU).
int CgroupStorageMap::LookupElem(const void* key, void* value, uint64_t flags) {
  LinkedTable& t = Links();
  std::lock_guard<std::mutex> l(t.mu);
  Linked* s = FindByKey(t.by_map[id()], *this, key);
  if (s == nullptr) return -ENOENT;
  const auto* data = reinterpret_cast<const uint8_t*>(s->data.get());
  if (percpu()) {
    std::memcpy(value, data, SyscallValueSize());
  } else {
    CopyValueOut(value, data, (flags & BPF_F_LOCK) != 0);
  }
  return 0;
}

int CgroupStorageMap::UpdateElem(const void* key, const void* value,
                                 uint64_t flags) {
  if (percpu()) {
    // bpf_percpu_cgroup_storage_update.
    if (flags != BPF_ANY && flags != BPF_EXIST) return -EINVAL;
  } else {
    // cgroup_storage_update_elem.
    if (flags & ~uint64_t{BPF_F_LOCK | BPF_EXIST}) return -EINVAL;
    if ((flags & BPF_F_LOCK) && !HasSpinLock()) return -EINVAL;
  }
  LinkedTable& t = Links();
  std::lock_guard<std::mutex> l(t.mu);
  Linked* s = FindByKey(t.by_map[id()], *this, key);
  if (s == nullptr) return -ENOENT;
  auto* data = reinterpret_cast<uint8_t*>(s->data.get());
  if (percpu()) {
    std::memcpy(data, value, SyscallValueSize());
  } else {
    // A new buffer (without BPF_F_LOCK) starts with its special fields
    // zeroed (check_and_init_map_value).
    if (!(flags & BPF_F_LOCK)) std::memset(data, 0, value_size());
    CopyValueIn(data, value, (flags & BPF_F_LOCK) != 0);
  }
  return 0;
}

// cgroup_storage_get_next_key: the storage after `key`'s in the map's list
// (the first without a key), as a bpf_cgroup_storage_key or a u64.
int CgroupStorageMap::GetNextKey(const void* key, void* next_key) {
  LinkedTable& t = Links();
  std::lock_guard<std::mutex> l(t.mu);
  std::deque<Linked>& list = t.by_map[id()];
  if (list.empty()) return -ENOENT;
  size_t next = 0;
  if (key != nullptr) {
    const Linked* s = FindByKey(list, *this, key);
    if (s == nullptr) return -ENOENT;
    while (&list[next] != s) ++next;
    if (++next >= list.size()) return -ENOENT;
  }
  const Linked& n = list[next];
  if (key_size() == sizeof(struct bpf_cgroup_storage_key)) {
    struct bpf_cgroup_storage_key k = {};
    k.cgroup_inode_id = n.cgroup_id;
    k.attach_type = n.attach_type;
    std::memcpy(next_key, &k, sizeof(k));
  } else {
    std::memcpy(next_key, &n.cgroup_id, sizeof(n.cgroup_id));
  }
  return 0;
}

void CgroupStorageLink(const Map& map, uint64_t cgroup_id,
                       uint32_t attach_type) {
  LinkedTable& t = Links();
  std::lock_guard<std::mutex> l(t.mu);
  std::deque<Linked>& list = t.by_map[map.id()];
  const bool isolated = map.key_size() == sizeof(struct bpf_cgroup_storage_key);
  if (FindLinked(list, isolated, cgroup_id, attach_type) != nullptr) return;
  const bool percpu = map.type() == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
  const uint64_t words =
      RoundUp(map.value_size(), 8) / 8 * (percpu ? map.nr_cpus() : 1);
  Linked s;
  s.cgroup_id = cgroup_id;
  s.attach_type = attach_type;
  s.data = std::make_unique<uint64_t[]>(words);  // zeroed
  list.push_front(std::move(s));
}

size_t CgroupStoragesLinked() {
  LinkedTable& t = Links();
  std::lock_guard<std::mutex> l(t.mu);
  size_t n = 0;
  for (const auto& [id, list] : t.by_map) n += list.size();
  return n;
}

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
