// SPDX-License-Identifier: Apache-2.0
#include "emu/map.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>
#include <vector>

#include "emu/bpffs.h"
#include "emu/errno.h"
#include "emu/graph_obj.h"
#include "emu/task_work.h"
#include "emu/timer.h"

namespace bpfemu {

namespace {

// Copies the fields of a shared header that never change after creation.
// Each is read once, with a relaxed atomic load (another process may be
// scribbling on the region), into the process-local copy every hot path
// reads. The live fields (frozen, freeze_mu, writable_mmaps) stay zero here.
template <typename T>
T Once(const T& shared) {
  return __atomic_load_n(&shared, __ATOMIC_RELAXED);
}

void SnapshotHeader(const MapHeader& h, MapHeader* out) {
  out->magic = Once(h.magic);
  out->layout_version = Once(h.layout_version);
  out->map_type = Once(h.map_type);
  out->key_size = Once(h.key_size);
  out->value_size = Once(h.value_size);
  out->max_entries = Once(h.max_entries);
  out->map_flags = Once(h.map_flags);
  out->nr_cpus = Once(h.nr_cpus);
  out->seed = Once(h.seed);
  out->spin_lock_off = Once(h.spin_lock_off);
  out->timer_off = Once(h.timer_off);
  out->nkptrs = Once(h.nkptrs);
  for (uint32_t i = 0; i < kMaxKptrs; ++i) {
    out->kptr_off[i] = Once(h.kptr_off[i]);
  }
  out->kptr_percpu = Once(h.kptr_percpu);
  out->wq_off_plus1 = Once(h.wq_off_plus1);
  out->task_work_off_plus1 = Once(h.task_work_off_plus1);
  out->kernel_version = Once(h.kernel_version);
  for (size_t i = 0; i < sizeof(h.name); ++i) out->name[i] = Once(h.name[i]);
  out->region_size = Once(h.region_size);
  out->id = Once(h.id);
  out->map_extra = Once(h.map_extra);
  out->inner.present = Once(h.inner.present);
  out->inner.map_type = Once(h.inner.map_type);
  out->inner.key_size = Once(h.inner.key_size);
  out->inner.value_size = Once(h.inner.value_size);
  out->inner.max_entries = Once(h.inner.max_entries);
  out->inner.map_flags = Once(h.inner.map_flags);
  out->inner.spin_lock_off = Once(h.inner.spin_lock_off);
}

}  // namespace

Map::Map(ShmRegion region)
    : region_(std::move(region)), hdr_(region_.At<MapHeader>(0)) {
  SnapshotHeader(*hdr_, &snap_);
}

Map::~Map() {
  if (snap_.timer_off >= 0 || snap_.wq_off_plus1 > 0) TimerFreeMap(this);
  if (snap_.task_work_off_plus1 > 0) TaskWorkFreeMap(this);
  // bpf_obj_free_fields() of every value: the lists and rbtrees this
  // process built in the map's memory drop their objects (emu/graph_obj.h).
  const auto base = reinterpret_cast<uint64_t>(region_.base());
  graph::ReleaseRange(base, base + region_.mapped_size());
}

void Map::FreeTimer(const uint8_t* value) const {
  if (snap_.timer_off >= 0) {
    TimerFreeAt(id(), RegionOffset(value + snap_.timer_off));
  }
  // bpf_obj_free_workqueue(): the struct bpf_wq's work, cancelled.
  if (snap_.wq_off_plus1 > 0) {
    TimerFreeAt(id(), RegionOffset(value + (snap_.wq_off_plus1 - 1)));
  }
  // bpf_task_work_cancel_and_free(): a pending task_work, cancelled.
  if (snap_.task_work_off_plus1 > 0) {
    TaskWorkFreeAt(id(), RegionOffset(value + (snap_.task_work_off_plus1 - 1)));
  }
}

// bpf_obj_free_fields()'s BPF_KPTR_* cases (kernel/bpf/syscall.c): each
// field is exchanged with NULL and what it held released.
void Map::FreeKptrs(const uint8_t* value) const {
  for (uint32_t i = 0; i < snap_.nkptrs; ++i) {
    graph::KptrRelease(const_cast<uint8_t*>(value) + snap_.kptr_off[i]);
  }
}

bool Map::WqSiteOf(uint8_t* wq, TimerSite* site) const {
  if (snap_.wq_off_plus1 <= 0) return false;
  uint8_t* value = wq - (snap_.wq_off_plus1 - 1);
  site->index = 0;
  site->key = nullptr;
  if (!ValueKey(value, &site->index, &site->key)) return false;
  site->owner = this;
  site->map_id = id();
  site->off = RegionOffset(wq);
  site->value = value;
  return true;
}

bool Map::TaskWorkSiteOf(uint8_t* tw, TimerSite* site) const {
  if (snap_.task_work_off_plus1 <= 0) return false;
  uint8_t* value = tw - (snap_.task_work_off_plus1 - 1);
  site->index = 0;
  site->key = nullptr;
  if (!ValueKey(value, &site->index, &site->key)) return false;
  site->owner = this;
  site->map_id = id();
  site->off = RegionOffset(tw);
  site->value = value;
  return true;
}

bool Map::TimerSiteOf(uint8_t* timer, TimerSite* site) const {
  if (snap_.timer_off < 0) return false;
  uint8_t* value = timer - snap_.timer_off;
  site->index = 0;
  site->key = nullptr;
  if (!ValueKey(value, &site->index, &site->key)) return false;
  site->owner = this;
  site->map_id = id();
  site->off = RegionOffset(timer);
  site->value = value;
  return true;
}

int Map::CheckAttachHeader() const {
  const MapHeader& h = snap_;
  if (h.magic != MapHeader::kMagic || h.layout_version != kLayoutVersion ||
      h.region_size != region_.size() || h.region_size < kBodyOffset) {
    return -EINVAL;
  }
  if (h.nr_cpus == 0 || h.nr_cpus > kMaxCpus) return -EINVAL;
  // CheckSpinLock() (map_create.cc) at creation: -1, or a 4-aligned word
  // inside the value (AttachMapFd checks that the type allows one).
  if (h.spin_lock_off != -1) {
    if (h.spin_lock_off < 0 || h.spin_lock_off % 4 != 0 ||
        uint64_t(h.spin_lock_off) + kSpinLockSize > h.value_size) {
      return -EINVAL;
    }
  }
  // A struct bpf_timer (CheckTimer() at creation): -1, or 16 8-aligned
  // bytes inside the value, clear of the spin lock.
  if (h.timer_off != -1) {
    if ((h.map_type != BPF_MAP_TYPE_ARRAY && h.map_type != BPF_MAP_TYPE_HASH &&
         h.map_type != BPF_MAP_TYPE_LRU_HASH) ||
        h.timer_off < 0 || h.timer_off % 8 != 0 ||
        uint64_t(h.timer_off) + kTimerSize > h.value_size ||
        (h.spin_lock_off >= 0 && h.spin_lock_off >= h.timer_off &&
         h.spin_lock_off < h.timer_off + int32_t{kTimerSize})) {
      return -EINVAL;
    }
  }
  // A struct bpf_wq (wq_off + 1, 0 for none): 16 8-aligned bytes inside
  // the value.
  if (h.wq_off_plus1 != 0) {
    const int64_t off = int64_t{h.wq_off_plus1} - 1;
    if (off < 0 || off % 8 != 0 || uint64_t(off) + kTimerSize > h.value_size) {
      return -EINVAL;
    }
  }
  // A struct bpf_task_work (task_work_off + 1, 0 for none): 8 8-aligned
  // bytes inside the value of an ARRAY, HASH or LRU_HASH.
  if (h.task_work_off_plus1 != 0) {
    const int64_t off = int64_t{h.task_work_off_plus1} - 1;
    if ((h.map_type != BPF_MAP_TYPE_ARRAY && h.map_type != BPF_MAP_TYPE_HASH &&
         h.map_type != BPF_MAP_TYPE_LRU_HASH) ||
        off < 0 || off % 8 != 0 ||
        uint64_t(off) + kTaskWorkSize > h.value_size) {
      return -EINVAL;
    }
  }
  // kptr fields (CheckKptrs() at creation): at most kMaxKptrs, each 8
  // 8-aligned bytes inside the value.
  if (h.nkptrs > kMaxKptrs) return -EINVAL;
  for (uint32_t i = 0; i < h.nkptrs; ++i) {
    if (h.kptr_off[i] < 0 || h.kptr_off[i] % 8 != 0 ||
        uint64_t(h.kptr_off[i]) + kKptrSize > h.value_size) {
      return -EINVAL;
    }
  }
  // The inner map template of a map-in-map is compared, never followed;
  // its spin lock offset is bounded the same way.
  if (h.inner.present > 1 || h.inner.spin_lock_off < -1) return -EINVAL;
  return 0;
}

MapAttr AttrFromHeader(const MapHeader& h) {
  MapAttr attr;
  attr.map_type = h.map_type;
  attr.key_size = h.key_size;
  attr.value_size = h.value_size;
  attr.max_entries = h.max_entries;
  attr.map_flags = h.map_flags;
  std::memcpy(attr.map_name, h.name, sizeof(attr.map_name));
  attr.map_extra = h.map_extra;
  attr.spin_lock_off = h.spin_lock_off;
  attr.timer_off = h.timer_off;
  attr.nkptrs = h.nkptrs;
  std::memcpy(attr.kptr_off, h.kptr_off, sizeof(attr.kptr_off));
  attr.kptr_percpu = h.kptr_percpu;
  attr.wq_off = h.wq_off_plus1 - 1;
  attr.task_work_off = h.task_work_off_plus1 - 1;
  return attr;
}

std::string Map::name() const {
  return std::string(snap_.name, strnlen(snap_.name, sizeof(snap_.name)));
}

uint64_t Map::Memlock() const {
  const KernelVersion v = kernel_version();
  if (ChargesMapMemUsage(v)) return MemUsage(BuildProfileFor(v));
  // bpf_map_memory_footprint(); bpf_map_value_size() is the syscall value
  // size (per-CPU: a rounded slot per possible CPU; fd maps: 4 bytes).
  const uint64_t slot = RoundUp(uint64_t{key_size()} + SyscallValueSize(), 8);
  return RoundUp(uint64_t{max_entries()} * slot, 4096);  // PAGE_SIZE
}

int Map::LookupAndDeleteElem(const void*, void*, uint64_t) {
  return -kENOTSUPP;
}

int Map::UpdateElemProg(const void* key, const void* value, uint64_t flags) {
  // The ops check unknown flags first; without the syscall layer in front,
  // BPF_F_LOCK on a value without a spin lock is theirs to refuse too.
  if ((flags & ~uint64_t{BPF_F_LOCK}) <= BPF_EXIST && (flags & BPF_F_LOCK) &&
      !HasSpinLock()) {
    return -EINVAL;
  }
  return UpdateElem(key, value, flags);
}

bool Map::BeginBatch(BatchArgs& a, bool check_flags, uint32_t* max_count,
                     int* ret) const {
  *ret = 0;
  if ((a.elem_flags & ~uint64_t{BPF_F_LOCK}) ||
      ((a.elem_flags & BPF_F_LOCK) && !HasSpinLock()) ||
      (check_flags && a.flags != 0)) {
    *ret = -EINVAL;
    return false;
  }
  *max_count = a.count;
  if (*max_count == 0) return false;
  a.count = 0;
  return true;
}

namespace {

// generic_map_update_batch / generic_map_delete_batch: `op` on element i
// (0, 1, ...) until the first error; count = elements applied.
template <typename Op>
int ForEachElem(BatchArgs& a, uint32_t max_count, bool needs_values, Op op) {
  uint32_t cp = 0;
  int err = 0;
  for (; cp < max_count; ++cp) {
    if (a.keys == nullptr || (needs_values && a.values == nullptr)) {
      err = -EFAULT;
      break;
    }
    if ((err = op(cp)) != 0) break;
  }
  a.count = cp;
  return err;
}

}  // namespace

// generic_map_lookup_batch(). batch.flags is not checked.
int Map::GenericLookupBatch(BatchArgs& a) {
  uint32_t max_count;
  if (int ret; !BeginBatch(a, /*check_flags=*/false, &max_count, &ret)) {
    return ret;
  }
  const uint32_t vsize = SyscallValueSize();
  std::vector<uint8_t> buf_a(key_size()), buf_b(key_size()), value(vsize);
  uint8_t* prev_key = nullptr;
  uint8_t* key = buf_a.data();
  if (a.in_batch != nullptr) {
    std::memcpy(buf_b.data(), a.in_batch, key_size());
    prev_key = buf_b.data();
  }
  uint32_t cp = 0;
  int err = 0;
  while (cp < max_count) {
    err = GetNextKey(prev_key, key);
    if (err != 0) break;
    err = LookupElem(key, value.data(), a.elem_flags);
    if (err != 0 && err != -ENOENT) return err;
    if (err == 0) {
      // A missing element (an empty map-in-map slot) is skipped, not counted.
      if (a.keys == nullptr || a.values == nullptr) return -EFAULT;
      std::memcpy(static_cast<uint8_t*>(a.keys) + uint64_t{cp} * key_size(),
                  key, key_size());
      std::memcpy(static_cast<uint8_t*>(a.values) + uint64_t{cp} * vsize,
                  value.data(), vsize);
      ++cp;
    }
    if (prev_key == nullptr) prev_key = buf_b.data();
    std::swap(prev_key, key);
  }
  a.count = cp;
  if (cp != 0) {
    if (a.out_batch == nullptr) return -EFAULT;
    std::memcpy(a.out_batch, prev_key, key_size());
  }
  return err;
}

int Map::LookupBatch(BatchArgs&) { return -kENOTSUPP; }
int Map::LookupAndDeleteBatch(BatchArgs&) { return -kENOTSUPP; }
int Map::UpdateBatch(BatchArgs&) { return -kENOTSUPP; }
int Map::DeleteBatch(BatchArgs&) { return -kENOTSUPP; }

// generic_map_update_batch(): BPF_NOEXIST / BPF_EXIST cannot be used, and
// batch.flags is not checked. Each element goes through bpf_map_update_value
// (UpdateElemSys), so a map-in-map resolves and checks each inner map fd as a
// single update does; a bad one stops the batch with count = elements done.
int Map::GenericUpdateBatch(BatchArgs& a) {
  uint32_t max_count;
  if (int ret; !BeginBatch(a, /*check_flags=*/false, &max_count, &ret)) {
    return ret;
  }
  const uint32_t vsize = SyscallValueSize();
  const auto* keys = static_cast<const uint8_t*>(a.keys);
  const auto* values = static_cast<const uint8_t*>(a.values);
  return ForEachElem(a, max_count, /*needs_values=*/true, [&](uint32_t i) {
    return UpdateElemSys(keys + uint64_t{i} * key_size(),
                         values + uint64_t{i} * vsize, a.elem_flags, a.map_fd);
  });
}

// generic_map_delete_batch().
int Map::GenericDeleteBatch(BatchArgs& a) {
  uint32_t max_count;
  if (int ret; !BeginBatch(a, /*check_flags=*/false, &max_count, &ret)) {
    return ret;
  }
  const auto* keys = static_cast<const uint8_t*>(a.keys);
  return ForEachElem(a, max_count, /*needs_values=*/false, [&](uint32_t i) {
    return DeleteElem(keys + uint64_t{i} * key_size());
  });
}

void Map::CopyValueIn(uint8_t* map_value, const void* src, bool locked) const {
  const int32_t off = snap_.spin_lock_off;
  if (!HasSpecialFields()) {
    CopyToMap(map_value, src, value_size());
    return;
  }
  if (locked) {
    SpinLockAcquire(map_value + off);
    LockPointReached(LockPoint::kValueLocked);
  }
  CopyAroundFields(map_value, static_cast<const uint8_t*>(src));
  if (locked) SpinLockRelease(map_value + off);
}

// copy_map_value(): every byte but the special fields' (the spin lock word,
// the struct bpf_timer, the kptrs), which keep what the map holds.
void Map::CopyAroundFields(uint8_t* map_value, const uint8_t* in) const {
  struct Field {
    int32_t off;
    uint32_t size;
  } fields[4 + kMaxKptrs];
  uint32_t n = 0;
  fields[n++] = {snap_.spin_lock_off, kSpinLockSize};
  fields[n++] = {snap_.timer_off, kTimerSize};
  fields[n++] = {snap_.wq_off_plus1 - 1, kTimerSize};  // struct bpf_wq
  fields[n++] = {snap_.task_work_off_plus1 - 1, kTaskWorkSize};
  for (uint32_t i = 0; i < snap_.nkptrs; ++i) {
    fields[n++] = {snap_.kptr_off[i], kKptrSize};
  }
  // In offset order, the absent (-1) ones first and skipped.
  std::sort(fields, fields + n,
            [](const Field& a, const Field& b) { return a.off < b.off; });
  uint32_t pos = 0;
  auto copy = [&](uint32_t end) {
    if (pos % 8 == 0) {
      CopyToMap(map_value + pos, in + pos, end - pos);
    } else {
      // Not 8-byte aligned (after the lock word): bytewise.
      for (uint32_t i = pos; i < end; ++i) {
        __atomic_store_n(map_value + i, in[i], __ATOMIC_RELAXED);
      }
    }
  };
  for (uint32_t i = 0; i < n; ++i) {
    const Field& f = fields[i];
    if (f.off < 0) continue;
    copy(static_cast<uint32_t>(f.off));
    pos = static_cast<uint32_t>(f.off) + f.size;
  }
  copy(value_size());
}

void Map::CopyLockedValueOut(void* dst, const uint8_t* map_value,
                             bool locked) const {
  const int32_t off = snap_.spin_lock_off;
  if (locked && read_only()) [[unlikely]] {
    // A read-only region's reader cannot take the value's lock. It copies
    // between two reads of the lock word that are equal and unlocked: every
    // unlock bumps the word's generation (SpinLockAcquire), so a writer's
    // whole section between the two reads changes the word. A holder is
    // waited out with ReadOnlyWait; when that gives up (a holder that died
    // with the lock, or one holding it for over a second: a crafted region
    // or a stuck program) the copy is taken between two equal reads of the
    // locked word - nobody stores meanwhile, unless its holder is alive -
    // and, failing that, as it stands. Not detected: exactly a multiple of
    // 1024 sections (the generation's 10 bits) during one copy
    // (docs/reliability.md).
    const auto* word = reinterpret_cast<const uint32_t*>(map_value + off);
    ReadOnlyWait wait;
    for (;;) {
      const uint32_t before = __atomic_load_n(word, __ATOMIC_ACQUIRE);
      if ((before & kValueLockTidMask) == 0) {
        CopyFromMap(dst, map_value, value_size());
        std::atomic_thread_fence(std::memory_order_acquire);
        if (__atomic_load_n(word, __ATOMIC_RELAXED) == before) break;
      }
      if (!wait.Next(before & kValueLockTidMask)) {
        for (int tries = 0; tries < 64; ++tries) {
          const uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
          CopyFromMap(dst, map_value, value_size());
          std::atomic_thread_fence(std::memory_order_acquire);
          if (__atomic_load_n(word, __ATOMIC_RELAXED) == seen) break;
        }
        break;
      }
    }
    ZeroFieldsOut(dst);
    return;
  }
  if (locked) SpinLockAcquire(const_cast<uint8_t*>(map_value) + off);
  CopyFromMap(dst, map_value, value_size());
  if (locked) SpinLockRelease(const_cast<uint8_t*>(map_value) + off);
  ZeroFieldsOut(dst);
}

void Map::ZeroFieldsOut(void* dst) const {
  auto* out = static_cast<uint8_t*>(dst);
  if (snap_.spin_lock_off >= 0) {
    std::memset(out + snap_.spin_lock_off, 0, kSpinLockSize);
  }
  if (snap_.timer_off >= 0) std::memset(out + snap_.timer_off, 0, kTimerSize);
  if (snap_.wq_off_plus1 > 0) {
    std::memset(out + snap_.wq_off_plus1 - 1, 0, kTimerSize);
  }
  if (snap_.task_work_off_plus1 > 0) {
    std::memset(out + snap_.task_work_off_plus1 - 1, 0, kTaskWorkSize);
  }
  for (uint32_t i = 0; i < snap_.nkptrs; ++i) {
    std::memset(out + snap_.kptr_off[i], 0, kKptrSize);
  }
}

void Map::InitHeader(const MapAttr& attr, uint32_t max_entries,
                     uint32_t nr_cpus, uint32_t seed, uint64_t region_size,
                     MapHeader* hdr) {
  hdr->magic = MapHeader::kMagic;
  hdr->layout_version = kLayoutVersion;
  hdr->map_type = attr.map_type;
  hdr->key_size = attr.key_size;
  hdr->value_size = attr.value_size;
  hdr->max_entries = max_entries;
  // bpf_map_flags_retain_permanent(): RDONLY/WRONLY describe the fd, not the
  // map, and are not reported back.
  hdr->map_flags = attr.map_flags & ~(BPF_F_RDONLY | BPF_F_WRONLY);
  hdr->nr_cpus = nr_cpus;
  hdr->seed = seed;
  hdr->spin_lock_off = attr.spin_lock_off;
  hdr->timer_off = attr.timer_off;
  hdr->nkptrs = attr.nkptrs;
  std::memcpy(hdr->kptr_off, attr.kptr_off, sizeof(hdr->kptr_off));
  hdr->kptr_percpu = attr.kptr_percpu;
  hdr->wq_off_plus1 = attr.wq_off + 1;
  hdr->task_work_off_plus1 = attr.task_work_off + 1;
  hdr->kernel_version = static_cast<uint32_t>(TargetKernel());
  std::memcpy(hdr->name, attr.map_name, sizeof(hdr->name));
  hdr->region_size = region_size;
  hdr->id = NextObjectId(IdKind::kMap);
  hdr->map_extra = attr.map_extra;
}

}  // namespace bpfemu
