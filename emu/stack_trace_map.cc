// SPDX-License-Identifier: Apache-2.0
#include "emu/stack_trace_map.h"

#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "emu/build_profile.h"
#include "emu/errno.h"
#include "emu/jhash.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

// STACK_CREATE_FLAG_MASK: no BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG here.
constexpr uint32_t kStackCreateFlagMask =
    BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_STACK_BUILD_ID;
constexpr uint64_t kGetStackIdFlags = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK |
                                      BPF_F_FAST_STACK_CMP |
                                      BPF_F_REUSE_STACKID;
constexpr uint32_t kElemHeaderSize = 16;  // struct stack_map_bucket
constexpr uint32_t kNone = 0;

struct Geometry {
  uint32_t n_buckets;
  uint64_t buckets_off, elems_off, elem_size, region_size;
};

// The smallest power of two >= x; 0 when there is none in 32 bits (x above
// 2^31: an attached region's header may claim that before it is checked,
// and a doubling loop would then never end).
uint32_t RoundUpPow2(uint32_t x) {
  if (x > (uint32_t{1} << 31)) return 0;
  uint32_t p = 1;
  while (p < x) p <<= 1;
  return p;
}

Geometry Layout(uint32_t max_entries, uint32_t value_size) {
  Geometry g;
  g.n_buckets = RoundUpPow2(max_entries);
  g.buckets_off = kBodyOffset + 64;
  g.elems_off = RoundUp(g.buckets_off + uint64_t{g.n_buckets} * 4, 64);
  g.elem_size = kElemHeaderSize + uint64_t{value_size};
  g.region_size = g.elems_off + uint64_t{max_entries} * g.elem_size;
  return g;
}

}  // namespace

const MapOps StackTraceMap::kOps = {
    &StackTraceMap::AllocCheck, &StackTraceMap::Alloc, &StackTraceMap::Attach};

void StackTraceMap::BuildIdIpForm(const uint64_t* ips, uint32_t n,
                                  uint8_t* out) {
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t* e = out + size_t{i} * kBuildIdEntrySize;
    const int32_t status = BPF_STACK_BUILD_ID_IP;
    std::memcpy(e, &status, sizeof(status));
    std::memcpy(e + 24, &ips[i], sizeof(ips[i]));
  }
}

uint32_t StackTraceMap::MaxStack() {
  static const uint32_t max_stack = [] {
    unsigned v = 127;  // kernel/events/callchain.c PERF_MAX_STACK_DEPTH
    if (FILE* f = std::fopen("/proc/sys/kernel/perf_event_max_stack", "r")) {
      unsigned read = 0;
      if (std::fscanf(f, "%u", &read) == 1) v = read;
      std::fclose(f);
    }
    return static_cast<uint32_t>(v);
  }();
  return max_stack;
}

int StackTraceMap::AllocCheck(const MapAttr& attr) {
  if (TargetKernel() == KernelVersion::k6_1 && !CallerPrivileged()) {
    return -EPERM;
  }
  if (attr.map_flags & ~kStackCreateFlagMask) return -EINVAL;
  const uint32_t v = attr.value_size;
  if (attr.max_entries == 0 || attr.key_size != 4 || v < 8 || v % 8 != 0) {
    return -EINVAL;
  }
  if (attr.map_flags & BPF_F_STACK_BUILD_ID) {
    if (v % kBuildIdEntrySize != 0 || v / kBuildIdEntrySize > MaxStack()) {
      return -EINVAL;
    }
  } else if (v / 8 > MaxStack()) {
    return -EINVAL;
  }
  if (attr.max_entries > (uint32_t{1} << 31)) return -E2BIG;
  return 0;
}

StackTraceMap::StackTraceMap(ShmRegion region) : Map(std::move(region)) {
  const Geometry g = Layout(max_entries(), value_size());
  body_ = this->region().At<StackBody>(kBodyOffset);
  buckets_ = this->region().At<uint32_t>(g.buckets_off);
  elems_ = this->region().At<uint8_t>(g.elems_off);
  n_buckets_ = g.n_buckets;
  elem_size_ = g.elem_size;
}

int StackTraceMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                         std::unique_ptr<Map>* out) {
  const Geometry g = Layout(attr.max_entries, attr.value_size);
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-stack-trace", g.region_size, &map_fd,
                                  &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, g.region_size,
             region.At<MapHeader>(0));
  auto* body = new (region.At<void>(kBodyOffset)) StackBody{};
  body->n_buckets = g.n_buckets;
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new StackTraceMap(std::move(region)));
  return 0;
}

int StackTraceMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  // The geometry comes from the process-local header copy, as creation
  // computes it; the stored bucket count must agree.
  auto map =
      std::unique_ptr<StackTraceMap>(new StackTraceMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  if (AllocCheck(AttrFromHeader(h)) != 0 ||
      h.region_size != Layout(h.max_entries, h.value_size).region_size ||
      __atomic_load_n(&map->body_->n_buckets, __ATOMIC_RELAXED) !=
          map->n_buckets_) {
    return -EINVAL;
  }
  *out = std::move(map);
  return 0;
}

bool StackTraceMap::build_id() const {
  return map_flags() & BPF_F_STACK_BUILD_ID;
}

uint64_t StackTraceMap::MemUsage(const BuildProfile& build) const {
  return build.stack_map + uint64_t{n_buckets_} * 8 +
         uint64_t{max_entries()} * (kElemHeaderSize + uint64_t{value_size()});
}

uint32_t StackTraceMap::BucketElem(uint32_t b) const {
  const uint32_t id = __atomic_load_n(&buckets_[b], __ATOMIC_ACQUIRE);
  return ValidId(id) ? id : kNone;
}

uint32_t StackTraceMap::PopFreeLocked() {
  const uint32_t head = body_->free_head;
  if (ValidId(head)) {
    body_->free_head = Elem(head)->next;
    return head;
  }
  body_->free_head = kNone;  // empty (or corrupted: dropped)
  const uint32_t unused = body_->next_unused;
  if (unused >= max_entries()) return kNone;
  body_->next_unused = unused + 1;
  return unused + 1;
}

void StackTraceMap::PushFreeLocked(uint32_t id) {
  Elem(id)->next = body_->free_head;
  body_->free_head = id;
}

void StackTraceMap::CopyTrace(uint32_t id, void* value) const {
  // A count past the value (a crafted region) is cut to the value.
  const uint32_t nr = std::min(__atomic_load_n(&Elem(id)->nr, __ATOMIC_RELAXED),
                               value_size() / data_size());
  const uint32_t len = nr * data_size();
  CopyFromMap(value, ElemData(id), len);
  std::memset(static_cast<uint8_t*>(value) + len, 0, value_size() - len);
}

// A read-only region: the bucket and the element are read while the lock
// word reads free before and after, with the bucket unchanged.
int StackTraceMap::LookupNoWrite(uint32_t bucket, void* value) {
  std::vector<uint8_t> copy(value_size());
  ReadOnlyWait wait;
  for (;;) {
    const uint32_t holder = body_->lock.holder();
    if (holder == 0) {
      std::atomic_thread_fence(std::memory_order_acquire);
      const uint32_t id = BucketElem(bucket);
      if (id != kNone) CopyTrace(id, copy.data());
      std::atomic_thread_fence(std::memory_order_acquire);
      if (body_->lock.holder() == 0 && BucketElem(bucket) == id) {
        if (id == kNone) return -ENOENT;
        std::memcpy(value, copy.data(), value_size());
        return 0;
      }
    }
    if (!wait.Next(holder)) return -EBUSY;
  }
}

int StackTraceMap::LookupElem(const void* key, void* value,
                              uint64_t /*flags*/) {
  uint32_t bucket;
  std::memcpy(&bucket, key, sizeof(bucket));
  if (bucket >= n_buckets_) return -ENOENT;
  if (read_only()) [[unlikely]] {
    return LookupNoWrite(bucket, value);
  }
  ShmMutexLock l(&body_->lock);
  const uint32_t id = BucketElem(bucket);
  if (id == kNone) return -ENOENT;
  CopyTrace(id, value);
  return 0;
}

int StackTraceMap::LookupAndDeleteElem(const void* key, void* value,
                                       uint64_t /*flags*/) {
  if (kernel_version() < KernelVersion::k6_18) return -kENOTSUPP;
  uint32_t bucket;
  std::memcpy(&bucket, key, sizeof(bucket));
  if (bucket >= n_buckets_) return -ENOENT;
  ShmMutexLock l(&body_->lock);
  const uint32_t id = BucketElem(bucket);
  if (id == kNone) return -ENOENT;
  CopyTrace(id, value);
  __atomic_store_n(&buckets_[bucket], kNone, __ATOMIC_RELEASE);
  PushFreeLocked(id);
  return 0;
}

int StackTraceMap::UpdateElem(const void* /*key*/, const void* /*value*/,
                              uint64_t /*flags*/) {
  return -EINVAL;
}

int StackTraceMap::DeleteElem(const void* key) {
  uint32_t bucket;
  std::memcpy(&bucket, key, sizeof(bucket));
  if (bucket >= n_buckets_) return -E2BIG;
  ShmMutexLock l(&body_->lock);
  const uint32_t id = BucketElem(bucket);
  __atomic_store_n(&buckets_[bucket], kNone, __ATOMIC_RELEASE);
  if (id == kNone) return -ENOENT;
  PushFreeLocked(id);
  return 0;
}

int StackTraceMap::GetNextKey(const void* key, void* next_key) {
  uint32_t id = 0;
  if (key != nullptr) {
    std::memcpy(&id, key, sizeof(id));
    id = id >= n_buckets_ || BucketElem(id) == kNone ? 0 : id + 1;
  }
  while (id < n_buckets_ && BucketElem(id) == kNone) ++id;
  if (id >= n_buckets_) return -ENOENT;
  std::memcpy(next_key, &id, sizeof(id));
  return 0;
}

void* StackTraceMap::LookupElemProg(const void* /*key*/) { return nullptr; }

long StackTraceMap::GetStackId(const uint64_t* ips, uint32_t nr,
                               uint64_t flags) {
  if (flags & ~kGetStackIdFlags) return -EINVAL;
  const uint32_t skip = flags & BPF_F_SKIP_FIELD_MASK;
  // get_perf_callchain() stops at max_depth frames, skipped ones included.
  const uint32_t max_depth =
      std::min(value_size() / data_size() + skip, MaxStack());
  const uint32_t trace_nr = std::min(nr, max_depth);
  if (trace_nr <= skip) return -EFAULT;  // skipping the whole trace
  const uint32_t n = trace_nr - skip;
  const uint64_t* frames = ips + skip;
  std::vector<uint32_t> words(2 * size_t{n});
  std::memcpy(words.data(), frames, 8 * size_t{n});
  const uint32_t hash = Jhash2(words.data(), 2 * n, 0);
  const uint32_t bucket = hash & (n_buckets_ - 1);

  ShmMutexLock l(&body_->lock);
  const uint32_t cur = BucketElem(bucket);
  const bool hash_matches = cur != kNone && Elem(cur)->hash == hash;
  if (hash_matches && (flags & BPF_F_FAST_STACK_CMP)) return bucket;

  // The trace as the element stores it: the frames, or (build-id maps)
  // one struct bpf_stack_build_id per frame in the ip fallback form.
  std::vector<uint8_t> data(size_t{n} * data_size());
  if (build_id()) {
    BuildIdIpForm(frames, n, data.data());
  } else {
    std::memcpy(data.data(), frames, data.size());
  }
  auto same_trace = [&] {
    if (!hash_matches || Elem(cur)->nr != n) return false;
    std::vector<uint8_t> stored(data.size());
    CopyFromMap(stored.data(), ElemData(cur), stored.size());
    return stored == data;
  };
  uint32_t fresh = kNone;
  if (build_id()) {
    // The build-id path takes its element before it compares.
    fresh = PopFreeLocked();
    if (fresh == kNone) return -ENOMEM;
    if (same_trace()) {
      PushFreeLocked(fresh);
      return bucket;
    }
    if (cur != kNone && !(flags & BPF_F_REUSE_STACKID)) {
      PushFreeLocked(fresh);
      return -EEXIST;
    }
  } else {
    if (same_trace()) return bucket;
    if (cur != kNone && !(flags & BPF_F_REUSE_STACKID)) return -EEXIST;
    fresh = PopFreeLocked();
    if (fresh == kNone) return -ENOMEM;
  }
  CopyToMap(ElemData(fresh), data.data(), data.size());
  Elem(fresh)->hash = hash;
  Elem(fresh)->nr = n;
  __atomic_store_n(&buckets_[bucket], fresh, __ATOMIC_RELEASE);
  if (cur != kNone) PushFreeLocked(cur);
  return bucket;
}

}  // namespace bpfemu
