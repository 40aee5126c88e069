// SPDX-License-Identifier: Apache-2.0
#include "emu/fd_array.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "emu/array_map.h"
#include "emu/cgroup.h"
#include "emu/errno.h"
#include "emu/map_in_map.h"

namespace bpfemu {
namespace {

uint32_t IndexOf(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  return index;
}

}  // namespace

const MapOps FdArrayMap::kProgArrayOps = {
    &FdArrayMap::AllocCheck, &FdArrayMap::Alloc, &FdArrayMap::Attach};
const MapOps FdArrayMap::kArrayOfMapsOps = {
    &FdArrayMap::AllocCheck, &FdArrayMap::Alloc, &FdArrayMap::Attach,
    &MapMetaFromAttr};
const MapOps FdArrayMap::kCgroupArrayOps = {
    &FdArrayMap::AllocCheck, &FdArrayMap::Alloc, &FdArrayMap::Attach};

int FdArrayMap::AllocCheck(const MapAttr& attr) {
  if (attr.value_size != sizeof(uint32_t)) return -EINVAL;
  if (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EINVAL;
  return ArrayMap::AllocCheck(attr);
}

// The slots follow the body on their own cache line; the body's stored
// slots_off must say so (Attach).
const uint64_t FdArrayMap::kSlotsOff =
    RoundUp(kBodyOffset + sizeof(FdArrayBody), 64);

FdArrayMap::FdArrayMap(ShmRegion region) : Map(std::move(region)) {
  body_ = this->region().At<FdArrayBody>(kBodyOffset);
  slots_ = this->region().At<std::atomic<uint32_t>>(kSlotsOff);
  cgroup_slots_ = this->region().At<std::atomic<uint64_t>>(kSlotsOff);
}

// After the header is known good: its max_entries sizes the cache.
void FdArrayMap::MakeCache() {
  if (!holds_maps()) cache_ = std::make_unique<TailCallCache>(max_entries());
}

int FdArrayMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                      std::unique_ptr<Map>* out) {
  const uint64_t slots_off = kSlotsOff;
  const uint64_t region_size =
      slots_off + uint64_t{attr.max_entries} * SlotBytes(attr.map_type);
  ShmRegion region;
  int map_fd;
  if (int err =
          ShmRegion::Create("bpfemu-fd-array", region_size, &map_fd, &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, region_size,
             region.At<MapHeader>(0));
  auto* body = new (region.At<void>(kBodyOffset)) FdArrayBody{};
  body->slots_off = slots_off;
  *fd = map_fd;
  auto map = std::unique_ptr<FdArrayMap>(new FdArrayMap(std::move(region)));
  map->MakeCache();
  *out = std::move(map);
  return 0;
}

// Validated before use: generic header checks, the type's alloc_check on the
// header's attributes, the region size and the slots' offset recomputed as
// Alloc computes them. Slot values are ids, looked up, never followed.
int FdArrayMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  if (region.size() < kSlotsOff) return -EINVAL;
  auto map = std::unique_ptr<FdArrayMap>(new FdArrayMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  if (AllocCheck(AttrFromHeader(h)) != 0 ||
      h.region_size !=
          kSlotsOff + uint64_t{h.max_entries} * SlotBytes(h.map_type) ||
      __atomic_load_n(&map->body_->slots_off, __ATOMIC_RELAXED) != kSlotsOff) {
    return -EINVAL;
  }
  map->MakeCache();
  *out = std::move(map);
  return 0;
}

bool FdArrayMap::Compatible(const Prog& prog) {
  ShmMutexLock l(&body_->owner_lock);
  if (!body_->has_owner) {
    body_->has_owner = 1;
    body_->owner_type = prog.type;
    body_->owner_attach_type = prog.expected_attach_type;
    return true;
  }
  return body_->owner_type == prog.type &&
         body_->owner_attach_type == prog.expected_attach_type;
}

int FdArrayMap::LookupElem(const void* key, void* value, uint64_t) {
  // bpf_fd_array_map_lookup_elem: no map_fd_sys_lookup_elem.
  if (holds_cgroups()) return -kENOTSUPP;
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -ENOENT;
  const uint32_t id = slots_[index].load(std::memory_order_acquire);
  if (id == 0) return -ENOENT;
  std::memcpy(value, &id, sizeof(id));
  return 0;
}

int FdArrayMap::CheckUpdate(const void* key, uint64_t flags) const {
  if (flags != BPF_ANY) return -EINVAL;
  if (IndexOf(key) >= max_entries()) return -E2BIG;
  return 0;
}

int FdArrayMap::UpdateElem(const void* key, const void* value, uint64_t flags) {
  if (int err = CheckUpdate(key, flags); err != 0) return err;
  // A cgroup has no id space of its own here: the value is always its fd.
  if (holds_cgroups()) return UpdateCgroupSlot(key, value, flags);
  uint32_t id;
  std::memcpy(&id, value, sizeof(id));
  slots_[IndexOf(key)].store(id, std::memory_order_release);
  return 0;
}

void* FdArrayMap::LookupElemProg(const void* key) {
  // fd_array_map_lookup_elem refuses programs; array_of_map_lookup_elem
  // gives the slot.
  const uint32_t index = IndexOf(key);
  if (!holds_maps() || index >= max_entries()) return nullptr;
  return slots_[index].load(std::memory_order_acquire) != 0 ? &slots_[index]
                                                            : nullptr;
}

int FdArrayMap::DeleteElem(const void* key) {
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -E2BIG;
  if (holds_cgroups()) {
    // cgroup_fd_array_put_ptr: the directory is not held open.
    return cgroup_slots_[index].exchange(0, std::memory_order_acq_rel) != 0
               ? 0
               : -ENOENT;
  }
  const uint32_t old = slots_[index].exchange(0, std::memory_order_acq_rel);
  if (old == 0) return -ENOENT;
  // map_fd_put_ptr: the slot's reference goes with it.
  if (holds_maps()) {
    MapFdPutPtr(old);
  } else {
    ProgSlotRelease(old);
  }
  return 0;
}

int FdArrayMap::UpdateElemSys(const void* key, const void* value,
                              uint64_t flags, int /*map_fd*/) {
  if (int err = CheckUpdate(key, flags); err != 0) return err;
  if (holds_cgroups()) return UpdateCgroupSlot(key, value, flags);
  if (!holds_maps()) return UpdateProgSlot(key, value, flags);
  uint32_t inner_id;
  if (int err = MapFdGetPtr(*this, value, &inner_id); err != 0) return err;
  // xchg() of the slot, then the old inner map's put.
  MapFdPutPtr(
      slots_[IndexOf(key)].exchange(inner_id, std::memory_order_acq_rel));
  return 0;
}

// prog_fd_array_get_ptr(): the fd must be a program that is not an
// extension and matches the array's owner (bpf_prog_map_compatible); the
// slot holds its id and a reference, and the replaced program's is dropped.
int FdArrayMap::UpdateProgSlot(const void* key, const void* value,
                               uint64_t flags) {
  int32_t ufd;
  std::memcpy(&ufd, value, sizeof(ufd));
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(ufd, &prog); err != 0) return err;
  if (prog->type == BPF_PROG_TYPE_EXT || !Compatible(*prog)) return -EINVAL;
  const uint32_t id = prog->id;
  ProgSlotAcquire(id);
  const uint32_t old =
      slots_[IndexOf(key)].exchange(id, std::memory_order_acq_rel);
  (void)flags;  // CheckUpdate allowed BPF_ANY only
  ProgSlotRelease(old);
  return 0;
}

// cgroup_fd_array_get_ptr(): cgroup_get_from_fd.
int FdArrayMap::UpdateCgroupSlot(const void* key, const void* value,
                                 uint64_t /*flags: CheckUpdate*/) {
  int32_t ufd;
  std::memcpy(&ufd, value, sizeof(ufd));
  uint64_t id;
  if (int err = CgroupIdFromFd(ufd, &id); err != 0) return err;
  cgroup_slots_[IndexOf(key)].store(id, std::memory_order_release);
  return 0;
}

long FdArrayMap::CurrentTaskUnderCgroup(uint32_t index) const {
  if (!holds_cgroups() || index >= max_entries()) return -E2BIG;
  const uint64_t id = cgroup_slots_[index].load(std::memory_order_acquire);
  if (id == 0) return -EAGAIN;
  return CurrentUnderCgroup(id) ? 1 : 0;
}

int FdArrayMap::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);
}

long FdArrayMap::TailCallTarget(uint32_t index, const Prog** next) {
  if (index >= max_entries() || cache_ == nullptr) return -E2BIG;
  return cache_->Enter(index, slots_[index], next);
}

long FdArrayMap::TailCall(uint32_t index) {
  if (index >= max_entries() || cache_ == nullptr) return -E2BIG;
  return cache_->Jump(index, slots_[index]);  // returns only if not taken
}

}  // namespace bpfemu
