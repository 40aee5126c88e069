// SPDX-License-Identifier: Apache-2.0
#include "emu/queue_stack_map.h"

#include <linux/bpf.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "emu/version.h"

namespace bpfemu {
namespace {

// QUEUE_STACK_CREATE_FLAG_MASK.
constexpr uint32_t kQueueStackCreateFlagMask =
    BPF_F_NUMA_NODE | kBpfFAccessMask;
constexpr uint64_t kValuesOffset =
    kBodyOffset + RoundUp(sizeof(ShmMutex) + 3 * sizeof(uint32_t), 8);

uint64_t RegionSize(uint32_t max_entries, uint32_t value_size) {
  return kValuesOffset + (uint64_t{max_entries} + 1) * value_size;
}

}  // namespace

const MapOps QueueStackMap::kOps = {
    &QueueStackMap::AllocCheck, &QueueStackMap::Alloc, &QueueStackMap::Attach};

int QueueStackMap::AllocCheck(const MapAttr& attr) {
  // 6.1 asked for CAP_BPF here, before any attribute check.
  if (TargetKernel() == KernelVersion::k6_1 && !CallerPrivileged()) {
    return -EPERM;
  }
  const uint32_t f = attr.map_flags;
  if (attr.max_entries == 0 || attr.key_size != 0 || attr.value_size == 0 ||
      (f & ~kQueueStackCreateFlagMask) != 0 ||
      (f & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) ==
          (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) {
    return -EINVAL;
  }
  if (attr.value_size > kKmallocMaxSize) return -E2BIG;
  // Only 6.12 bounds the slot area to 4 GiB; 6.1 and 6.18 (measured: a
  // queue of 2^29 8-byte values is created) try the allocation.
  if (TargetKernel() == KernelVersion::k6_12 &&
      uint64_t{attr.max_entries} >= UINT32_MAX / attr.value_size) {
    return -E2BIG;
  }
  return 0;
}

QueueStackMap::QueueStackMap(ShmRegion region) : Map(std::move(region)) {
  body_ = this->region().At<QueueStackBody>(kBodyOffset);
  values_ = this->region().At<uint8_t>(kValuesOffset);
  size_ = max_entries() + 1;
  stack_ = type() == BPF_MAP_TYPE_STACK;
}

int QueueStackMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                         std::unique_ptr<Map>* out) {
  const uint64_t region_size = RegionSize(attr.max_entries, attr.value_size);
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-queue-stack", region_size, &map_fd,
                                  &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, region_size,
             region.At<MapHeader>(0));
  auto* body = new (region.At<void>(kBodyOffset)) QueueStackBody{};
  body->size = attr.max_entries + 1;
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new QueueStackMap(std::move(region)));
  return 0;
}

int QueueStackMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  // The geometry is recomputed from the process-local header copy as
  // creation computes it; `size` is read once and must agree.
  auto map =
      std::unique_ptr<QueueStackMap>(new QueueStackMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  if (AllocCheck(AttrFromHeader(h)) != 0 ||
      h.region_size != RegionSize(h.max_entries, h.value_size) ||
      __atomic_load_n(&map->body_->size, __ATOMIC_RELAXED) !=
          h.max_entries + 1) {
    return -EINVAL;
  }
  *out = std::move(map);
  return 0;
}

int QueueStackMap::PushElem(const void* value, uint64_t flags) {
  // BPF_EXIST makes room by dropping the oldest element.
  if ((flags & BPF_NOEXIST) || flags > BPF_EXIST) return -EINVAL;
  ShmMutexLock l(&body_->lock);
  uint32_t head = body_->head, tail = body_->tail;
  if (head >= size_ || tail >= size_) return -EINVAL;  // corrupted region
  if ((head + 1 == size_ ? 0 : head + 1) == tail) {    // full
    if (!(flags & BPF_EXIST)) return -E2BIG;
    tail = tail + 1 == size_ ? 0 : tail + 1;
    body_->tail = tail;
  }
  CopyToMap(Slot(head), value, value_size());
  body_->head = head + 1 == size_ ? 0 : head + 1;
  return 0;
}

// A read-only region's peek (Map::read_only): the lock cannot be taken, so
// the head, tail and slot are read while the lock word reads free before and
// after, with head and tail unchanged; otherwise the reader waits with
// ReadOnlyWait and answers EBUSY when the holder is dead (its section may be
// half done) or never finishes. A stack's pop and push that both fall
// between the two checks restore the head under a new value, so that copy
// can be torn where the kernel's could not (docs/reliability.md).
int QueueStackMap::PeekNoWrite(void* value, bool zero_if_empty) {
  std::vector<uint8_t> copy(value_size());
  ReadOnlyWait wait;
  auto load = [](const uint32_t& v) {
    return __atomic_load_n(&v, __ATOMIC_RELAXED);
  };
  for (;;) {
    const uint32_t holder = body_->lock.holder();
    if (holder == 0) {
      std::atomic_thread_fence(std::memory_order_acquire);
      const uint32_t head = load(body_->head), tail = load(body_->tail);
      if (head >= size_ || tail >= size_) return -EINVAL;  // corrupted
      if (head != tail) {
        const uint32_t index =
            stack_ ? (head == 0 ? size_ - 1 : head - 1) : tail;
        CopyFromMap(copy.data(), Slot(index), value_size());
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      if (body_->lock.holder() == 0 && load(body_->head) == head &&
          load(body_->tail) == tail) {
        if (head == tail) {
          if (zero_if_empty) std::memset(value, 0, value_size());
          return -ENOENT;
        }
        std::memcpy(value, copy.data(), value_size());
        return 0;
      }
    }
    if (!wait.Next(holder)) return -EBUSY;
  }
}

int QueueStackMap::Get(void* value, bool remove, bool zero_if_empty) {
  if (!remove && read_only()) [[unlikely]] {
    return PeekNoWrite(value, zero_if_empty);
  }
  ShmMutexLock l(&body_->lock);
  const uint32_t head = body_->head, tail = body_->tail;
  if (head >= size_ || tail >= size_) return -EINVAL;  // corrupted region
  if (head == tail) {
    if (zero_if_empty) std::memset(value, 0, value_size());
    return -ENOENT;
  }
  if (stack_) {
    const uint32_t index = head == 0 ? size_ - 1 : head - 1;
    CopyFromMap(value, Slot(index), value_size());
    if (remove) body_->head = index;
  } else {
    CopyFromMap(value, Slot(tail), value_size());
    if (remove) body_->tail = tail + 1 == size_ ? 0 : tail + 1;
  }
  return 0;
}

// A program's buffer is zeroed when the map is empty; a syscall caller's
// is not written (the kernel zeroes its own copy and returns before
// copying it out).
int QueueStackMap::PopElem(void* value) {
  return Get(value, /*remove=*/true, /*zero_if_empty=*/true);
}

int QueueStackMap::PeekElem(void* value) {
  return Get(value, /*remove=*/false, /*zero_if_empty=*/true);
}

int QueueStackMap::LookupElem(const void* /*key*/, void* value,
                              uint64_t /*flags*/) {
  return Get(value, /*remove=*/false, /*zero_if_empty=*/false);
}

int QueueStackMap::UpdateElem(const void* /*key*/, const void* value,
                              uint64_t flags) {
  return PushElem(value, flags);
}

int QueueStackMap::LookupAndDeleteElem(const void* /*key*/, void* value,
                                       uint64_t /*flags*/) {
  return Get(value, /*remove=*/true, /*zero_if_empty=*/false);
}

int QueueStackMap::DeleteElem(const void* /*key*/) { return -EINVAL; }

int QueueStackMap::GetNextKey(const void* /*key*/, void* /*next_key*/) {
  return -EINVAL;
}

void* QueueStackMap::LookupElemProg(const void* /*key*/) { return nullptr; }

int QueueStackMap::UpdateElemProg(const void* /*key*/, const void* /*value*/,
                                  uint64_t /*flags*/) {
  return -EINVAL;
}

}  // namespace bpfemu
