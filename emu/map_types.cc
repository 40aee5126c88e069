// SPDX-License-Identifier: Apache-2.0
#include "emu/map_types.h"

#include <linux/bpf.h>

#include <array>

#include "emu/arena.h"
#include "emu/array_map.h"
#include "emu/bloom_filter.h"
#include "emu/cgroup_storage.h"
#include "emu/cpumap.h"
#include "emu/devmap.h"
#include "emu/fd_array.h"
#include "emu/hash_map.h"
#include "emu/hash_of_maps.h"
#include "emu/local_storage.h"
#include "emu/lpm_trie.h"
#include "emu/perf_event_array.h"
#include "emu/queue_stack_map.h"
#include "emu/reuseport_array.h"
#include "emu/ringbuf.h"
#include "emu/sock_map.h"
#include "emu/stack_trace_map.h"
#include "emu/struct_ops_map.h"
#include "emu/user_ringbuf.h"
#include "emu/xsk_map.h"

namespace bpfemu {
namespace {

struct Registration {
  uint32_t map_type;
  const MapOps* ops;
};

// include/linux/bpf_types.h, for the emulated types.
constexpr Registration kRegistry[] = {
    {BPF_MAP_TYPE_HASH, &HashMap::kHashOps},
    {BPF_MAP_TYPE_PERCPU_HASH, &HashMap::kPercpuHashOps},
    {BPF_MAP_TYPE_LRU_HASH, &HashMap::kLruHashOps},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, &HashMap::kLruPercpuHashOps},
    {BPF_MAP_TYPE_HASH_OF_MAPS, &HashOfMaps::kOps},
    {BPF_MAP_TYPE_SOCKHASH, &SockHash::kOps},
    {BPF_MAP_TYPE_ARRAY, &ArrayMap::kArrayOps},
    {BPF_MAP_TYPE_PERCPU_ARRAY, &ArrayMap::kPercpuArrayOps},
    {BPF_MAP_TYPE_PROG_ARRAY, &FdArrayMap::kProgArrayOps},
    {BPF_MAP_TYPE_ARRAY_OF_MAPS, &FdArrayMap::kArrayOfMapsOps},
    {BPF_MAP_TYPE_SOCKMAP, &SockMap::kOps},
    {BPF_MAP_TYPE_PERF_EVENT_ARRAY, &PerfEventArrayMap::kOps},
    {BPF_MAP_TYPE_RINGBUF, &RingbufMap::kOps},
    {BPF_MAP_TYPE_QUEUE, &QueueStackMap::kOps},
    {BPF_MAP_TYPE_STACK, &QueueStackMap::kOps},
    {BPF_MAP_TYPE_BLOOM_FILTER, &BloomFilterMap::kOps},
    {BPF_MAP_TYPE_STACK_TRACE, &StackTraceMap::kOps},
    {BPF_MAP_TYPE_LPM_TRIE, &LpmTrieMap::kOps},
    {BPF_MAP_TYPE_USER_RINGBUF, &UserRingbufMap::kOps},
    {BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, &ReuseportArray::kOps},
    {BPF_MAP_TYPE_XSKMAP, &XskMap::kOps},
    {BPF_MAP_TYPE_CGROUP_ARRAY, &FdArrayMap::kCgroupArrayOps},
    {BPF_MAP_TYPE_CGROUP_STORAGE, &CgroupStorageMap::kOps},
    {BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, &CgroupStorageMap::kPercpuOps},
    {BPF_MAP_TYPE_SK_STORAGE, &LocalStorageMap::kSkStorageOps},
    {BPF_MAP_TYPE_TASK_STORAGE, &LocalStorageMap::kTaskStorageOps},
    {BPF_MAP_TYPE_INODE_STORAGE, &LocalStorageMap::kInodeStorageOps},
    {kBpfMapTypeCgrpStorage, &LocalStorageMap::kCgrpStorageOps},
    {BPF_MAP_TYPE_DEVMAP, &DevMap::kOps},
    {BPF_MAP_TYPE_DEVMAP_HASH, &DevMapHash::kOps},
    {BPF_MAP_TYPE_CPUMAP, &CpuMap::kOps},
    {kBpfMapTypeArena, &ArenaMap::kOps},
    {BPF_MAP_TYPE_STRUCT_OPS, &StructOpsMap::kOps},
};

constexpr uint32_t kMaxType = 64;

// Indexed by type, built once from the registrations.
const std::array<const MapOps*, kMaxType>& Table() {
  static const auto table = [] {
    std::array<const MapOps*, kMaxType> t{};
    for (const Registration& r : kRegistry) t[r.map_type] = r.ops;
    return t;
  }();
  return table;
}

}  // namespace

const MapOps* MapOpsFor(uint32_t map_type) {
  return map_type < kMaxType ? Table()[map_type] : nullptr;
}

}  // namespace bpfemu
