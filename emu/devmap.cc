// SPDX-License-Identifier: Apache-2.0
#include "emu/devmap.h"

#include <linux/bpf.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "emu/array_map.h"
#include "emu/netdev.h"
#include "emu/prog.h"

namespace bpfemu {
namespace {

// DEV_CREATE_FLAG_MASK.
constexpr uint32_t kDevCreateFlagMask =
    BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;

constexpr uint64_t kSharedOffset = RoundUp(kBodyOffset, 64);
constexpr uint64_t kTableOffset = kSharedOffset + 64;
static_assert(sizeof(DevmapShared) <= 64);

uint64_t Pack(uint32_t ifindex, uint32_t prog_id) {
  return uint64_t{ifindex} | (uint64_t{prog_id} << 32);
}

RedirectVal ReadVal(const void* value, uint32_t value_size) {
  RedirectVal v;
  std::memcpy(&v, value, value_size >= 8 ? 8 : 4);
  return v;
}

void WriteVal(void* value, uint32_t value_size, uint32_t ifindex,
              uint32_t prog_id) {
  const RedirectVal v{ifindex, prog_id};
  std::memcpy(value, &v, value_size >= 8 ? 8 : 4);
}

}  // namespace

int CheckRedirectProg(int32_t fd, uint32_t attach_type, uint32_t* id) {
  *id = 0;
  if (fd <= 0) return 0;
  std::shared_ptr<const Prog> prog;
  if (ProgFromFd(fd, &prog) != 0 || prog->type != BPF_PROG_TYPE_XDP ||
      prog->expected_attach_type != attach_type) {
    return -EINVAL;
  }
  *id = prog->id;
  return 0;
}

// ---- DevMapBase ----

DevMapBase::DevMapBase(ShmRegion region) : Map(std::move(region)) {
  shared_ = this->region().At<DevmapShared>(kSharedOffset);
}

DevMapBase::~DevMapBase() {
  if (listener_ != 0) NetdevRemoveListener(listener_);
}

void DevMapBase::Listen() {
  if (read_only()) return;  // a read-only mapping cannot drop entries
  listener_ =
      NetdevAddListener([this](uint32_t ifindex) { RemoveDevice(ifindex); });
}

int DevMapBase::Resolve(const RedirectVal& val, uint32_t* prog_id) {
  // __dev_map_alloc_node: dev_get_by_index, then the program; every
  // failure is EINVAL.
  if (!NetdevExists(val.first)) return -EINVAL;
  return CheckRedirectProg(static_cast<int32_t>(val.prog), BPF_XDP_DEVMAP,
                           prog_id);
}

int DevMapBase::LookupElem(const void* key, void* value, uint64_t) {
  uint32_t k;
  std::memcpy(&k, key, sizeof(k));
  RedirectTarget t;
  if (!RedirectLookup(k, &t)) return -ENOENT;
  WriteVal(value, value_size(), t.ifindex, t.prog_id);
  return 0;
}

uint64_t DevMapBase::MemUsage(const BuildProfile& build) const {
  return build.dtab + TableSlots() * sizeof(void*) +
         uint64_t{shared_->items.load(std::memory_order_relaxed)} *
             build.dtab_netdev;
}

// ---- DevMap ----

const MapOps DevMap::kOps = {&DevMap::AllocCheck, &DevMap::Alloc,
                             &DevMap::Attach};

int DevMap::AllocCheck(const MapAttr& attr) {
  if (attr.max_entries == 0 || attr.key_size != 4 ||
      (attr.value_size != 4 && attr.value_size != 8) ||
      (attr.map_flags & ~kDevCreateFlagMask)) {
    return -EINVAL;
  }
  if (attr.map_type == BPF_MAP_TYPE_DEVMAP_HASH &&
      attr.max_entries > (uint32_t{1} << 31)) {
    return -EINVAL;
  }
  return 0;
}

uint64_t DevMap::RegionSize(uint32_t max_entries) {
  return kTableOffset + uint64_t{max_entries} * sizeof(uint64_t);
}

DevMap::DevMap(ShmRegion region) : DevMapBase(std::move(region)) {
  slots_ = this->region().At<std::atomic<uint64_t>>(kTableOffset);
}

int DevMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                  std::unique_ptr<Map>* out) {
  MapAttr a = attr;
  a.map_flags |= BPF_F_RDONLY_PROG;  // dev_map_init_map
  const uint64_t size = RegionSize(a.max_entries);
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-devmap", size, &map_fd, &region);
      err != 0) {
    return err;
  }
  InitHeader(a, a.max_entries, nr_cpus, /*seed=*/0, size,
             region.At<MapHeader>(0));
  auto map = std::unique_ptr<DevMap>(new DevMap(std::move(region)));
  map->Listen();
  *fd = map_fd;
  *out = std::move(map);
  return 0;
}

int DevMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  auto map = std::unique_ptr<DevMap>(new DevMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  MapAttr a = AttrFromHeader(h);
  a.map_flags &= ~uint32_t{BPF_F_RDONLY_PROG};
  if (AllocCheck(a) != 0 || !(h.map_flags & BPF_F_RDONLY_PROG) ||
      h.region_size != RegionSize(h.max_entries)) {
    return -EINVAL;
  }
  map->Listen();
  *out = std::move(map);
  return 0;
}

bool DevMap::RedirectLookup(uint32_t key, RedirectTarget* out) const {
  if (key >= max_entries()) return false;
  const uint64_t v = slots_[key].load(std::memory_order_acquire);
  if (v == 0) return false;
  out->ifindex = static_cast<uint32_t>(v);
  out->prog_id = static_cast<uint32_t>(v >> 32);
  return true;
}

std::vector<RedirectTarget> DevMap::RedirectBroadcast() const {
  std::vector<RedirectTarget> out;
  for (uint32_t i = 0; i < max_entries(); ++i) {
    RedirectTarget t;
    if (RedirectLookup(i, &t)) out.push_back(t);
  }
  return out;
}

void* DevMap::LookupElemProg(const void* key) {
  uint32_t k;
  std::memcpy(&k, key, sizeof(k));
  RedirectTarget t;
  return RedirectLookup(k, &t) ? static_cast<void*>(&slots_[k]) : nullptr;
}

int DevMap::UpdateElem(const void* key, const void* value, uint64_t flags) {
  uint32_t i;
  std::memcpy(&i, key, sizeof(i));
  if (flags > BPF_EXIST) return -EINVAL;
  if (i >= max_entries()) return -E2BIG;
  if (flags == BPF_NOEXIST) return -EEXIST;
  const RedirectVal val = ReadVal(value, value_size());
  uint64_t entry = 0;
  if (val.first == 0) {
    // No device: the slot is cleared; a program needs a device.
    if (static_cast<int32_t>(val.prog) > 0) return -EINVAL;
  } else {
    uint32_t prog_id;
    if (int err = Resolve(val, &prog_id); err != 0) return err;
    ProgSlotAcquire(prog_id);
    entry = Pack(val.first, prog_id);
  }
  ShmMutexLock l(&shared_->lock);
  const uint64_t old = slots_[i].exchange(entry, std::memory_order_acq_rel);
  if (old != 0) {
    ProgSlotRelease(static_cast<uint32_t>(old >> 32));
    if (entry == 0) shared_->items.fetch_sub(1, std::memory_order_relaxed);
  } else if (entry != 0) {
    shared_->items.fetch_add(1, std::memory_order_relaxed);
  }
  return 0;
}

int DevMap::DeleteElem(const void* key) {
  uint32_t k;
  std::memcpy(&k, key, sizeof(k));
  if (k >= max_entries()) return -EINVAL;
  ShmMutexLock l(&shared_->lock);
  const uint64_t old = slots_[k].exchange(0, std::memory_order_acq_rel);
  if (old != 0) {
    ProgSlotRelease(static_cast<uint32_t>(old >> 32));
    shared_->items.fetch_sub(1, std::memory_order_relaxed);
  }
  return 0;
}

int DevMap::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);  // by index
}

void DevMap::RemoveDevice(uint32_t ifindex) {
  ShmMutexLock l(&shared_->lock);
  for (uint32_t i = 0; i < max_entries(); ++i) {
    uint64_t v = slots_[i].load(std::memory_order_acquire);
    if (v == 0 || static_cast<uint32_t>(v) != ifindex) continue;
    if (slots_[i].compare_exchange_strong(v, 0, std::memory_order_acq_rel)) {
      ProgSlotRelease(static_cast<uint32_t>(v >> 32));
      shared_->items.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

// ---- DevMapHash ----

const MapOps DevMapHash::kOps = {&DevMap::AllocCheck, &DevMapHash::Alloc,
                                 &DevMapHash::Attach};

DevMapHash::Geometry DevMapHash::GeometryFor(uint32_t max_entries) {
  Geometry g;
  g.n_buckets = static_cast<uint32_t>(std::bit_ceil(uint64_t{max_entries}));
  g.buckets_off = kTableOffset;
  g.nodes_off = RoundUp(g.buckets_off + uint64_t{g.n_buckets} * 4, 64);
  g.region_size = g.nodes_off + uint64_t{max_entries} * sizeof(Node);
  return g;
}

DevMapHash::DevMapHash(ShmRegion region) : DevMapBase(std::move(region)) {
  const Geometry g = GeometryFor(max_entries());
  n_buckets_ = g.n_buckets;
  buckets_ = this->region().At<std::atomic<uint32_t>>(g.buckets_off);
  nodes_ = this->region().At<Node>(g.nodes_off);
}

int DevMapHash::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                      std::unique_ptr<Map>* out) {
  MapAttr a = attr;
  a.map_flags |= BPF_F_RDONLY_PROG;
  const Geometry g = GeometryFor(a.max_entries);
  ShmRegion region;
  int map_fd;
  // The buckets are allocated up front; entries as they are added
  // (bpf_map_kmalloc_node per update).
  if (int err = ShmRegion::Create("bpfemu-devmap-hash", g.region_size, &map_fd,
                                  &region, 0, g.nodes_off);
      err != 0) {
    return err;
  }
  InitHeader(a, a.max_entries, nr_cpus, /*seed=*/0, g.region_size,
             region.At<MapHeader>(0));
  auto map = std::unique_ptr<DevMapHash>(new DevMapHash(std::move(region)));
  map->Listen();
  *fd = map_fd;
  *out = std::move(map);
  return 0;
}

int DevMapHash::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  // The constructor only computes addresses from the header copy; nothing
  // is read through them before the checks below pass.
  auto map = std::unique_ptr<DevMapHash>(new DevMapHash(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  MapAttr a = AttrFromHeader(h);
  a.map_flags &= ~uint32_t{BPF_F_RDONLY_PROG};
  if (DevMap::AllocCheck(a) != 0 || !(h.map_flags & BPF_F_RDONLY_PROG) ||
      h.region_size != GeometryFor(h.max_entries).region_size) {
    return -EINVAL;
  }
  map->Listen();
  *out = std::move(map);
  return 0;
}

int64_t DevMapHash::NodeAt(uint32_t link) const {
  if (link == 0 || link > max_entries()) return -1;
  return int64_t{link} - 1;
}

int64_t DevMapHash::FindNode(uint32_t key) const {
  uint32_t link =
      buckets_[key & (n_buckets_ - 1)].load(std::memory_order_acquire);
  for (uint32_t steps = 0; steps < max_entries(); ++steps) {
    const int64_t n = NodeAt(link);
    if (n < 0) return -1;
    if (nodes_[n].key.load(std::memory_order_relaxed) == key) return n;
    link = nodes_[n].next.load(std::memory_order_acquire);
  }
  return -1;
}

bool DevMapHash::RedirectLookup(uint32_t key, RedirectTarget* out) const {
  const int64_t n = FindNode(key);
  if (n < 0) return false;
  out->ifindex = nodes_[n].ifindex.load(std::memory_order_relaxed);
  out->prog_id = nodes_[n].prog_id.load(std::memory_order_relaxed);
  return true;
}

std::vector<RedirectTarget> DevMapHash::RedirectBroadcast() const {
  std::vector<RedirectTarget> out;
  uint64_t budget = max_entries();
  for (uint32_t b = 0; b < n_buckets_; ++b) {
    uint32_t link = buckets_[b].load(std::memory_order_acquire);
    for (int64_t n = NodeAt(link); n >= 0 && budget > 0;
         n = NodeAt(nodes_[n].next.load(std::memory_order_acquire))) {
      --budget;
      out.push_back({nodes_[n].ifindex.load(std::memory_order_relaxed), 0,
                     nodes_[n].prog_id.load(std::memory_order_relaxed)});
    }
  }
  return out;
}

void* DevMapHash::LookupElemProg(const void* key) {
  uint32_t k;
  std::memcpy(&k, key, sizeof(k));
  const int64_t n = FindNode(k);
  return n < 0 ? nullptr : static_cast<void*>(&nodes_[n].ifindex);
}

bool DevMapHash::Unlink(int64_t n) {
  const uint32_t key = nodes_[n].key.load(std::memory_order_relaxed);
  std::atomic<uint32_t>* link = &buckets_[key & (n_buckets_ - 1)];
  for (uint32_t steps = 0; steps < max_entries(); ++steps) {
    const int64_t cur = NodeAt(link->load(std::memory_order_relaxed));
    if (cur < 0) return false;
    if (cur == n) {
      link->store(nodes_[n].next.load(std::memory_order_relaxed),
                  std::memory_order_release);
      return true;
    }
    link = &nodes_[cur].next;
  }
  return false;
}

int64_t DevMapHash::AllocNode() {
  const int64_t n = NodeAt(shared_->free_head);
  if (n >= 0) {
    shared_->free_head = nodes_[n].next.load(std::memory_order_relaxed);
    return n;
  }
  if (shared_->unused < max_entries()) return shared_->unused++;
  return -1;
}

void DevMapHash::FreeNode(int64_t n) {
  nodes_[n].next.store(shared_->free_head, std::memory_order_relaxed);
  shared_->free_head = static_cast<uint32_t>(n + 1);
}

void DevMapHash::Repair() {
  // Every node reachable from a bucket is in use; the rest of those below
  // `unused` are free.
  std::vector<bool> used(max_entries());
  uint32_t items = 0;
  for (uint32_t b = 0; b < n_buckets_; ++b) {
    std::atomic<uint32_t>* link = &buckets_[b];
    for (;;) {
      const int64_t n = NodeAt(link->load(std::memory_order_relaxed));
      if (n < 0 || used[n]) {
        link->store(0, std::memory_order_release);  // cut a cycle or junk
        break;
      }
      used[n] = true;
      ++items;
      link = &nodes_[n].next;
    }
  }
  if (shared_->unused > max_entries()) shared_->unused = max_entries();
  shared_->free_head = 0;
  for (uint32_t n = 0; n < shared_->unused; ++n) {
    if (!used[n]) FreeNode(n);
  }
  shared_->items.store(items, std::memory_order_relaxed);
}

int DevMapHash::UpdateElem(const void* key, const void* value, uint64_t flags) {
  uint32_t idx;
  std::memcpy(&idx, key, sizeof(idx));
  const RedirectVal val = ReadVal(value, value_size());
  if (flags > BPF_EXIST || val.first == 0) return -EINVAL;
  ShmMutexLock l(&shared_->lock);
  if (l.recovered()) Repair();
  const int64_t old = FindNode(idx);
  if (old >= 0 && (flags & BPF_NOEXIST)) return -EEXIST;
  uint32_t prog_id;
  if (int err = Resolve(val, &prog_id); err != 0) return err;
  int64_t n = old;
  if (old >= 0) {
    // hlist_del_rcu of the old entry; the new one goes to the head.
    Unlink(old);
    ProgSlotRelease(nodes_[old].prog_id.load(std::memory_order_relaxed));
  } else {
    if (shared_->items.load(std::memory_order_relaxed) >= max_entries()) {
      return -E2BIG;
    }
    n = AllocNode();
    if (n < 0) return -E2BIG;
    shared_->items.fetch_add(1, std::memory_order_relaxed);
  }
  ProgSlotAcquire(prog_id);
  Node& node = nodes_[n];
  node.key.store(idx, std::memory_order_relaxed);
  node.ifindex.store(val.first, std::memory_order_relaxed);
  node.prog_id.store(prog_id, std::memory_order_relaxed);
  std::atomic<uint32_t>& head = buckets_[idx & (n_buckets_ - 1)];
  node.next.store(head.load(std::memory_order_relaxed),
                  std::memory_order_relaxed);
  head.store(static_cast<uint32_t>(n + 1), std::memory_order_release);
  return 0;
}

int DevMapHash::DeleteElem(const void* key) {
  uint32_t k;
  std::memcpy(&k, key, sizeof(k));
  ShmMutexLock l(&shared_->lock);
  if (l.recovered()) Repair();
  const int64_t n = FindNode(k);
  if (n < 0) return -ENOENT;
  Unlink(n);
  ProgSlotRelease(nodes_[n].prog_id.load(std::memory_order_relaxed));
  FreeNode(n);
  shared_->items.fetch_sub(1, std::memory_order_relaxed);
  return 0;
}

int DevMapHash::GetNextKey(const void* key, void* next_key) {
  uint32_t i = 0;
  if (key != nullptr) {
    uint32_t idx;
    std::memcpy(&idx, key, sizeof(idx));
    const int64_t n = FindNode(idx);
    if (n >= 0) {
      const int64_t next =
          NodeAt(nodes_[n].next.load(std::memory_order_acquire));
      if (next >= 0) {
        const uint32_t k = nodes_[next].key.load(std::memory_order_relaxed);
        std::memcpy(next_key, &k, sizeof(k));
        return 0;
      }
      i = (idx & (n_buckets_ - 1)) + 1;
    }
  }
  for (; i < n_buckets_; ++i) {
    const int64_t n = NodeAt(buckets_[i].load(std::memory_order_acquire));
    if (n >= 0) {
      const uint32_t k = nodes_[n].key.load(std::memory_order_relaxed);
      std::memcpy(next_key, &k, sizeof(k));
      return 0;
    }
  }
  return -ENOENT;
}

void DevMapHash::RemoveDevice(uint32_t ifindex) {
  ShmMutexLock l(&shared_->lock);
  if (l.recovered()) Repair();
  for (uint32_t b = 0; b < n_buckets_; ++b) {
    std::atomic<uint32_t>* link = &buckets_[b];
    for (uint32_t steps = 0; steps < max_entries(); ++steps) {
      const int64_t n = NodeAt(link->load(std::memory_order_relaxed));
      if (n < 0) break;
      if (nodes_[n].ifindex.load(std::memory_order_relaxed) != ifindex) {
        link = &nodes_[n].next;
        continue;
      }
      link->store(nodes_[n].next.load(std::memory_order_relaxed),
                  std::memory_order_release);
      ProgSlotRelease(nodes_[n].prog_id.load(std::memory_order_relaxed));
      FreeNode(n);
      shared_->items.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace bpfemu
