// SPDX-License-Identifier: Apache-2.0
#include "emu/prog_array.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "emu/array_map.h"

namespace bpfemu {
namespace {

uint32_t IndexOf(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  return index;
}

}  // namespace

const MapOps ProgArrayMap::kOps = {&ProgArrayMap::AllocCheck,
                                   &ProgArrayMap::Alloc, &ProgArrayMap::Attach};

int ProgArrayMap::AllocCheck(const MapAttr& attr) {
  if (attr.value_size != sizeof(uint32_t)) return -EINVAL;
  if (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EINVAL;
  return ArrayMap::AllocCheck(attr);
}

ProgArrayMap::ProgArrayMap(ShmRegion region) : Map(std::move(region)) {
  body_ = this->region().At<ProgArrayBody>(kBodyOffset);
  slots_ = this->region().At<std::atomic<uint32_t>>(body_->slots_off);
}

int ProgArrayMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                        std::unique_ptr<Map>* out) {
  const uint64_t slots_off = RoundUp(kBodyOffset + sizeof(ProgArrayBody), 64);
  const uint64_t region_size =
      slots_off + uint64_t{attr.max_entries} * sizeof(uint32_t);
  ShmRegion region;
  int map_fd;
  if (int err =
          ShmRegion::Create("bpfemu-prog-array", region_size, &map_fd, &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, region_size,
             region.At<MapHeader>(0));
  auto* body = new (region.At<void>(kBodyOffset)) ProgArrayBody{};
  body->slots_off = slots_off;
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new ProgArrayMap(std::move(region)));
  return 0;
}

int ProgArrayMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  *out = std::unique_ptr<Map>(new ProgArrayMap(std::move(region)));
  return 0;
}

bool ProgArrayMap::Compatible(const Prog& prog) {
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

int ProgArrayMap::LookupElem(const void* key, void* value, uint64_t) {
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -ENOENT;
  const uint32_t id = slots_[index].load(std::memory_order_acquire);
  if (id == 0) return -ENOENT;
  std::memcpy(value, &id, sizeof(id));
  return 0;
}

int ProgArrayMap::UpdateElem(const void* key, const void* value,
                             uint64_t flags) {
  if (flags != BPF_ANY) return -EINVAL;
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -E2BIG;
  int32_t prog_fd;
  std::memcpy(&prog_fd, value, sizeof(prog_fd));
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(prog_fd, &prog); err != 0) return err;
  if (prog->type == BPF_PROG_TYPE_EXT || !Compatible(*prog)) return -EINVAL;
  slots_[index].store(prog->id, std::memory_order_release);
  return 0;
}

int ProgArrayMap::DeleteElem(const void* key) {
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -E2BIG;
  return slots_[index].exchange(0, std::memory_order_acq_rel) != 0 ? 0
                                                                   : -ENOENT;
}

int ProgArrayMap::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);
}

long ProgArrayMap::TailCall(uint32_t index) {
  if (index >= max_entries()) return -E2BIG;
  if (!TakeTailCallBudget()) return -E2BIG;
  const uint32_t id = slots_[index].load(std::memory_order_acquire);
  if (id == 0) return -ENOENT;
  std::shared_ptr<const Prog> target = ProgFromId(id);
  if (target == nullptr) return -ENOENT;
  const Prog* next = target.get();  // registered for the process lifetime
  target.reset();
  TailCallJump(next);
}

}  // namespace bpfemu
