// SPDX-License-Identifier: Apache-2.0
#include "emu/array_map.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/shm.h"

namespace bpfemu {
namespace {

// ARRAY_CREATE_FLAG_MASK.
constexpr uint32_t kArrayCreateFlagMask =
    BPF_F_NUMA_NODE | BPF_F_MMAPABLE | kBpfFAccessMask | BPF_F_PRESERVE_ELEMS |
    BPF_F_INNER_MAP;
constexpr uint64_t kPcpuMinUnitSize = 32768;
constexpr uint64_t kPageSize = 4096;

uint32_t IndexOf(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  return index;
}

}  // namespace

const MapOps ArrayMap::kArrayOps = {
    &ArrayMap::AllocCheck,    &ArrayMap::Alloc,  &ArrayMap::Attach,
    /*meta_alloc=*/nullptr,
    /*value_spin_lock=*/true, &ArrayMap::ForEach};
const MapOps ArrayMap::kPercpuArrayOps = {
    &ArrayMap::AllocCheck,     &ArrayMap::Alloc,  &ArrayMap::Attach,
    /*meta_alloc=*/nullptr,
    /*value_spin_lock=*/false, &ArrayMap::ForEach};

int ArrayMap::AllocCheck(const MapAttr& attr) {
  const bool percpu = attr.map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
  const uint32_t f = attr.map_flags;
  // One combined test in the kernel, all EINVAL.
  if (attr.max_entries == 0 || attr.key_size != 4 || attr.value_size == 0 ||
      (f & ~kArrayCreateFlagMask) != 0 ||
      (f & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) ==
          (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG) ||
      (percpu && (f & BPF_F_NUMA_NODE))) {
    return -EINVAL;
  }
  if (attr.map_type != BPF_MAP_TYPE_ARRAY &&
      (f & (BPF_F_MMAPABLE | BPF_F_INNER_MAP))) {
    return -EINVAL;
  }
  if (attr.map_type != BPF_MAP_TYPE_PERF_EVENT_ARRAY &&
      (f & BPF_F_PRESERVE_ELEMS)) {
    return -EINVAL;
  }
  // Large values can't be allocated; they would overflow elem_size.
  if (attr.value_size > INT_MAX) return -E2BIG;
  if (percpu && RoundUp(attr.value_size, 8) > kPcpuMinUnitSize) return -E2BIG;
  return 0;
}

int ArrayMap::ComputeGeometry(const MapHeader& h, Geometry* g) {
  // bpfemu answers as for root, which bypasses Spectre-v1 hardening: the
  // allocation is not rounded up to a power of two (array_map_alloc).
  g->percpu = h.map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
  const uint64_t elem_size = RoundUp(h.value_size, 8);
  const uint64_t value_slot = elem_size * (g->percpu ? h.nr_cpus : 1);
  // A per-CPU slot is at most 32 KiB (AllocCheck) and nr_cpus at most
  // kMaxCpus; value_size is below INT_MAX.
  if (value_slot > UINT32_MAX) return -E2BIG;
  g->elem_size = static_cast<uint32_t>(elem_size);
  g->value_slot = static_cast<uint32_t>(value_slot);
  g->values_off = RoundUp(kBodyOffset + sizeof(ArrayBody), kPageSize);
  // A head-at-end file keeps exactly the header and body on its last page.
  static_assert(RoundUp(kBodyOffset + sizeof(ArrayBody), kPageSize) ==
                kHeadAtEndBytes);
  g->region_size = g->values_off + value_slot * h.max_entries;
  // array_map_mmap() maps whole pages of values.
  if (h.map_flags & BPF_F_MMAPABLE) {
    g->region_size = RoundUp(g->region_size, kPageSize);
  }
  return 0;
}

int ArrayMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                    std::unique_ptr<Map>* out) {
  MapHeader h{};
  h.map_type = attr.map_type;
  h.value_size = attr.value_size;
  h.max_entries = attr.max_entries;
  h.map_flags = attr.map_flags;
  h.nr_cpus = nr_cpus;
  Geometry g;
  if (int err = ComputeGeometry(h, &g); err != 0) return err;
  ShmRegion region;
  int map_fd;
  // A BPF_F_MMAPABLE array's file shows the values from offset 0, as the
  // kernel's does (shm.h, head-at-end regions).
  const bool mmapable = (attr.map_flags & BPF_F_MMAPABLE) != 0;
  if (int err = ShmRegion::Create("bpfemu-array", g.region_size, &map_fd,
                                  &region, 0, UINT64_MAX, mmapable);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, g.region_size,
             region.At<MapHeader>(0));
  auto* body = new (region.At<void>(kBodyOffset)) ArrayBody{};
  body->elem_size = g.elem_size;
  body->value_slot = g.value_slot;
  body->percpu = g.percpu;
  body->values_off = g.values_off;
  auto map = std::unique_ptr<ArrayMap>(new ArrayMap(std::move(region)));
  map->Bind(g);
  *fd = map_fd;
  *out = std::move(map);
  return 0;
}

// The whole region is validated before use: generic header checks,
// array_map_alloc_check() on the header's attributes, and the body
// recomputed as Alloc computes it, equal field by field and in size.
int ArrayMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  auto map = std::unique_ptr<ArrayMap>(new ArrayMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  if (AllocCheck(AttrFromHeader(h)) != 0) return -EINVAL;
  Geometry g;
  if (ComputeGeometry(h, &g) != 0 || g.region_size != h.region_size) {
    return -EINVAL;
  }
  // The file's layout is the one its flags call for.
  if (map->region().head_at_end() != ((h.map_flags & BPF_F_MMAPABLE) != 0)) {
    return -EINVAL;
  }
  const auto* body = map->region().At<ArrayBody>(kBodyOffset);
  auto once = [](const auto& v) {
    return __atomic_load_n(&v, __ATOMIC_RELAXED);
  };
  if (once(body->elem_size) != g.elem_size ||
      once(body->value_slot) != g.value_slot ||
      once(body->percpu) != uint32_t{g.percpu} ||
      once(body->values_off) != g.values_off) {
    return -EINVAL;
  }
  map->Bind(g);
  *out = std::move(map);
  return 0;
}

uint32_t ArrayMap::SyscallValueSize() const {
  return geo_.percpu ? geo_.value_slot : value_size();
}

void* ArrayMap::LookupElemProg(const void* key) {
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return nullptr;
  uint8_t* value = ValueAt(index);
  if (geo_.percpu) {
    value += uint64_t{geo_.elem_size} * CurrentCpu(nr_cpus());
  }
  return value;
}

long ArrayMap::ForEach(Map& map, ForEachCallback fn, void* arg,
                       uint64_t flags) {
  if (flags != 0) return -EINVAL;
  auto& array = static_cast<ArrayMap&>(map);
  const uint64_t cpu_offset =
      array.geo_.percpu
          ? uint64_t{array.geo_.elem_size} * CurrentCpu(array.nr_cpus())
          : 0;
  long visited = 0;
  for (uint32_t i = 0; i < array.max_entries(); ++i) {
    ++visited;
    uint32_t key = i;
    if (fn(arg, &key, array.ValueAt(i) + cpu_offset) != 0) break;
  }
  return visited;
}

int ArrayMap::LookupElem(const void* key, void* value, uint64_t flags) {
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -ENOENT;
  if (geo_.percpu) {
    CopyFromMap(value, ValueAt(index), geo_.value_slot);
  } else {
    CopyValueOut(value, ValueAt(index), flags & BPF_F_LOCK);
  }
  return 0;
}

int ArrayMap::UpdateElem(const void* key, const void* value, uint64_t flags) {
  const uint32_t index = IndexOf(key);
  if (geo_.percpu) {
    // bpf_percpu_array_update().
    if (flags > BPF_EXIST) return -EINVAL;
    if (index >= max_entries()) return -E2BIG;
    if (flags == BPF_NOEXIST) return -EEXIST;
  } else {
    if ((flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) return -EINVAL;
    if (index >= max_entries()) return -E2BIG;  // all elements prealloced
    if (flags & BPF_NOEXIST) return -EEXIST;    // all elements already exist
    CopyValueIn(ValueAt(index), value, flags & BPF_F_LOCK);
    // array_map_update_elem(): the copy keeps the old timer, which
    // bpf_obj_free_fields() then cancels and frees.
    FreeValueFields(ValueAt(index));
    return 0;
  }
  CopyToMap(ValueAt(index), value, geo_.value_slot);
  return 0;
}

int ArrayMap::UpdateElemProg(const void* key, const void* value,
                             uint64_t flags) {
  const uint32_t index = IndexOf(key);
  if ((flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) return -EINVAL;
  if (index >= max_entries()) return -E2BIG;
  if (flags & BPF_NOEXIST) return -EEXIST;
  if ((flags & BPF_F_LOCK) && !HasSpinLock()) return -EINVAL;
  if (!geo_.percpu) {
    CopyValueIn(ValueAt(index), value, flags & BPF_F_LOCK);
    FreeValueFields(ValueAt(index));
    return 0;
  }
  CopyToMap(ValueAt(index) + uint64_t{geo_.elem_size} * CurrentCpu(nr_cpus()),
            value, value_size());
  return 0;
}

int ArrayMap::DeleteElem(const void* /*key*/) { return -EINVAL; }

bool ArrayMap::ValueKey(const uint8_t* value, uint32_t* index,
                        const uint8_t** key) const {
  if (geo_.percpu || value < values_) return false;
  const uint64_t d = static_cast<uint64_t>(value - values_);
  if (d % geo_.value_slot != 0 || d / geo_.value_slot >= max_entries()) {
    return false;
  }
  *index = static_cast<uint32_t>(d / geo_.value_slot);
  *key = nullptr;
  return true;
}

// array_map_mmap() (kernel/bpf/arraymap.c): the vmalloc'ed value area,
// page-aligned, from the page after struct bpf_array. The file holds it from
// offset 0 (a head-at-end region), so user offset and file offset agree.
void* ArrayMap::Mmap(int fd, size_t length, int prot, int /*flags*/,
                     uint64_t offset, int* err) {
  if (!(map_flags() & BPF_F_MMAPABLE)) {
    *err = -EINVAL;
    return nullptr;
  }
  const uint64_t area =
      RoundUp(uint64_t{max_entries()} * geo_.elem_size, kPageSize);
  const uint64_t len = RoundUp(length, kPageSize);
  if (offset > area || len > area - offset) {
    *err = -EINVAL;
    return nullptr;
  }
  const MappingFd map_fd(fd, prot);
  if (map_fd.fd() < 0) {
    *err = map_fd.fd();
    return nullptr;
  }
  void* addr =
      mmap(nullptr, length, prot, MAP_SHARED, map_fd.fd(),
           static_cast<off_t>(region().FileOffset(geo_.values_off) + offset));
  if (addr == MAP_FAILED) {
    *err = -errno;
    return nullptr;
  }
  *err = 0;
  return addr;
}

uint64_t ArrayMemUsage(const BuildProfile& build, uint64_t entries,
                       uint64_t elem_size, bool percpu, bool mmapable,
                       uint64_t ncpus) {
  const uint64_t usage = build.array;
  if (percpu)
    return usage + entries * sizeof(void*) + entries * elem_size * ncpus;
  if (mmapable)
    return RoundUp(usage, kPageSize) + RoundUp(entries * elem_size, kPageSize);
  return usage + entries * elem_size;
}

int ArrayGetNextKey(const void* key, uint32_t max_entries, void* next_key) {
  // A NULL key counts as index U32_MAX, so it restarts at 0 like any
  // out-of-range key.
  const uint32_t index = key != nullptr ? IndexOf(key) : UINT32_MAX;
  uint32_t next;
  if (index >= max_entries) {
    next = 0;
  } else if (index == max_entries - 1) {
    return -ENOENT;
  } else {
    next = index + 1;
  }
  std::memcpy(next_key, &next, sizeof(next));
  return 0;
}

int ArrayMap::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);
}

}  // namespace bpfemu
