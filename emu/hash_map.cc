// SPDX-License-Identifier: Apache-2.0
#include "emu/hash_map.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/jhash.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

// key_size + value_size must stay below KMALLOC_MAX_SIZE less
// sizeof(struct htab_elem), a figure of the kernel build (build_profile.h).
// include/linux/percpu.h: per-CPU values are bounded by PCPU_MIN_UNIT_SIZE.
constexpr uint64_t kPcpuMinUnitSize = 32768;
// sizeof(struct bucket) in the kernel, which bounds n_buckets.
constexpr uint64_t kKernelBucketSize = 16;

// HTAB_CREATE_FLAG_MASK.
constexpr uint32_t kHtabCreateFlagMask =
    BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | BPF_F_RDONLY |
    BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | BPF_F_ZERO_SEED;

uint64_t RoundupPowOfTwo(uint64_t x) {
  uint64_t n = 1;
  while (n < x) n <<= 1;
  return n;
}

// check_flags() in hashtab.c: BPF_F_LOCK is masked off before comparing.
int CheckFlags(bool exists, uint64_t flags) {
  uint64_t f = flags & ~uint64_t{BPF_F_LOCK};
  if (exists && f == BPF_NOEXIST) return -EEXIST;  // elem already exists
  if (!exists && f == BPF_EXIST) return -ENOENT;   // elem doesn't exist
  return 0;
}

// Bucket locks held by this thread, innermost last. The kernel holds a bucket
// lock with preemption disabled, so "held by this CPU" is, in bpfemu, "held
// by this thread" (a callback on the holder's thread is the interrupting
// program).
struct HeldBucket {
  const void* map;
  uint32_t bucket;
  bool owns_intent;  // this writer set the bucket's intent record
  bool tail;         // LRU elements to give back after the unlock
};
constexpr int kMaxHeld = 8;
thread_local HeldBucket t_held[kMaxHeld];
thread_local int t_num_held = 0;
// Non-zero inside DeleteNode, which the LRU calls holding one of its locks.
thread_local int t_in_delete_node = 0;

}  // namespace

// bpf_map_flags_access_ok(): BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG exclude
// each other.
static bool FlagsAccessOk(uint32_t flags) {
  return (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !=
         (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}

const MapOps HashMap::kHashOps = {&HashMap::AllocCheck,     &HashMap::Alloc,
                                  &HashMap::Attach,
                                  /*meta_alloc=*/nullptr,
                                  /*value_spin_lock=*/true, &HashMap::ForEach};
const MapOps HashMap::kPercpuHashOps = {
    &HashMap::AllocCheck,      &HashMap::Alloc,  &HashMap::Attach,
    /*meta_alloc=*/nullptr,
    /*value_spin_lock=*/false, &HashMap::ForEach};
const MapOps HashMap::kLruHashOps = {
    &HashMap::AllocCheck,      &HashMap::Alloc,  &HashMap::Attach,
    /*meta_alloc=*/nullptr,
    /*value_spin_lock=*/false, &HashMap::ForEach};
const MapOps HashMap::kLruPercpuHashOps = {
    &HashMap::AllocCheck,      &HashMap::Alloc,  &HashMap::Attach,
    /*meta_alloc=*/nullptr,
    /*value_spin_lock=*/false, &HashMap::ForEach};

int HashMap::AllocCheck(const MapAttr& attr) {
  const bool percpu = attr.map_type == BPF_MAP_TYPE_PERCPU_HASH ||
                      attr.map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const bool lru = attr.map_type == BPF_MAP_TYPE_LRU_HASH ||
                   attr.map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const bool percpu_lru = attr.map_flags & BPF_F_NO_COMMON_LRU;
  const bool prealloc = !(attr.map_flags & BPF_F_NO_PREALLOC);
  const bool numa = attr.map_flags & BPF_F_NUMA_NODE;
  // BPF_F_ZERO_SEED needs CAP_SYS_ADMIN; bpfemu answers as the kernel answers
  // root, so the EPERM branch is not taken.
  if ((attr.map_flags & ~kHtabCreateFlagMask) != 0 ||
      !FlagsAccessOk(attr.map_flags)) {
    return -EINVAL;
  }
  if (!lru && percpu_lru) return -EINVAL;
  if (lru && !prealloc) return -kENOTSUPP;
  if (numa && (percpu || percpu_lru)) return -EINVAL;
  if (attr.max_entries == 0 || attr.key_size == 0 || attr.value_size == 0) {
    return -EINVAL;
  }
  if (uint64_t{attr.key_size} + attr.value_size >=
      kKmallocMaxSize - BuildProfileFor(TargetKernel()).htab_elem) {
    return -E2BIG;
  }
  if (percpu && RoundUp(attr.value_size, 8) > kPcpuMinUnitSize) return -E2BIG;
  return 0;
}

int HashMap::ComputeGeometry(const MapHeader& h, Geometry* g) {
  const uint32_t max_entries = h.max_entries;
  const uint32_t nr_cpus = h.nr_cpus;
  if (max_entries > (uint32_t{1} << 31)) return -E2BIG;
  const uint64_t n_buckets = RoundupPowOfTwo(max_entries);
  if (n_buckets > UINT32_MAX / kKernelBucketSize) return -E2BIG;
  g->lru = h.map_type == BPF_MAP_TYPE_LRU_HASH ||
           h.map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  g->percpu = h.map_type == BPF_MAP_TYPE_PERCPU_HASH ||
              h.map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  g->percpu_lru = h.map_flags & BPF_F_NO_COMMON_LRU;
  // AllocCheck bounds both: key + value < 4 MiB, a per-CPU slot <= 32 KiB
  // (and nr_cpus <= kMaxCpus), so each fits in 32 bits.
  const uint64_t key_slot = RoundUp(h.key_size, 8);
  const uint64_t value_slot =
      RoundUp(h.value_size, 8) * (g->percpu ? nr_cpus : 1);
  const uint64_t elem_size = sizeof(ElemHeader) + key_slot + value_slot;
  if (elem_size > UINT32_MAX) return -E2BIG;
  // LRU maps have exactly max_entries elements, all owned by the LRU.
  const uint64_t n_elems =
      g->lru ? max_entries : uint64_t{max_entries} + nr_cpus;
  if (n_elems > UINT32_MAX) return -E2BIG;
  g->n_buckets = static_cast<uint32_t>(n_buckets);
  g->n_elems = static_cast<uint32_t>(n_elems);
  g->elem_size = static_cast<uint32_t>(elem_size);
  g->key_slot = static_cast<uint32_t>(key_slot);
  g->value_slot = static_cast<uint32_t>(value_slot);

  uint64_t off = kBodyOffset + RoundUp(sizeof(HashBody), 64);
  g->buckets_off = off;
  off = RoundUp(off + n_buckets * sizeof(Bucket), 64);
  g->freelists_off = off;
  off += uint64_t{nr_cpus} * sizeof(FreeList);
  g->extras_off = off;
  off = RoundUp(off + uint64_t{nr_cpus} * sizeof(Spare), 64);
  g->elems_off = off;
  off = RoundUp(off + n_elems * elem_size, 64);
  g->lru_off = off;
  if (g->lru) {
    off += LruList::RegionBytes(g->percpu_lru, g->n_elems, nr_cpus);
  }
  g->region_size = off;
  return 0;
}

void HashMap::Bind(const Geometry& g) {
  geo_ = g;
  body_ = region().At<HashBody>(kBodyOffset);
  buckets_ = region().At<Bucket>(g.buckets_off);
  freelists_ = region().At<FreeList>(g.freelists_off);
  extras_ = region().At<Spare>(g.extras_off);
  elems_ = region().At<uint8_t>(g.elems_off);
  elem_size_ = g.elem_size;
  key_slot_ = g.key_slot;
  bucket_mask_ = g.n_buckets - 1;
  key_size_ = key_size();
  seed_ = header().seed;
  hash_word_ = Jhash1Word(seed_);
  if (read_only()) {
    lookup_path_ = LookupPath::kReadOnly;
  } else if (key_size_ == 4) {
    lookup_path_ = LookupPath::kWordKey;
  } else if (key_size_ == 8) {
    lookup_path_ = LookupPath::kDwordKey;
  } else {
    lookup_path_ = LookupPath::kGeneric;
  }
  plain_value_ = !g.percpu && !HasSpecialFields();
  plain_value_size_ = value_size();
}

int HashMap::AllocWith(Factory make, const MapAttr& attr, uint32_t nr_cpus,
                       bool zero_seed, int* fd, std::unique_ptr<Map>* out) {
  const bool percpu_lru = attr.map_flags & BPF_F_NO_COMMON_LRU;
  uint32_t max_entries = attr.max_entries;
  if (percpu_lru) {
    // Every CPU's list gets the same, non-zero number of nodes: round up to
    // a multiple of the CPU count, or down if that overflows.
    uint64_t up = RoundUp(max_entries, nr_cpus);
    max_entries = up <= UINT32_MAX ? static_cast<uint32_t>(up)
                                   : max_entries / nr_cpus * nr_cpus;
  }
  MapHeader h{};
  h.map_type = attr.map_type;
  h.key_size = attr.key_size;
  h.value_size = attr.value_size;
  h.max_entries = max_entries;
  h.map_flags = attr.map_flags;
  h.nr_cpus = nr_cpus;
  Geometry g;
  if (int err = ComputeGeometry(h, &g); err != 0) return err;

  ShmRegion region;
  int map_fd;
  // htab_map_alloc() allocates a preallocated table whole; with
  // BPF_F_NO_PREALLOC it allocates the buckets, and elements come one by
  // one at update time: their pages are backed as the pool's bump index
  // reaches them (BackElem), ENOMEM from the update when they cannot be.
  const uint64_t reserve =
      (attr.map_flags & BPF_F_NO_PREALLOC) ? g.elems_off : g.region_size;
  if (int err = ShmRegion::Create("bpfemu-hash", g.region_size, &map_fd,
                                  &region, /*mirror_tail=*/0, reserve);
      err != 0) {
    return err;
  }
  const uint32_t seed = (attr.map_flags & BPF_F_ZERO_SEED) || zero_seed
                            ? 0
                            : absl::Uniform<uint32_t>(absl::BitGen());
  InitHeader(attr, max_entries, nr_cpus, seed, g.region_size,
             region.At<MapHeader>(0));
  auto* body = new (region.At<void>(kBodyOffset)) HashBody{};
  body->n_buckets = g.n_buckets;
  body->n_elems = g.n_elems;
  body->elem_size = g.elem_size;
  body->key_slot = g.key_slot;
  body->value_slot = g.value_slot;
  body->percpu = g.percpu;
  body->lru = g.lru;
  body->lru_off = g.lru_off;
  body->buckets_off = g.buckets_off;
  body->freelists_off = g.freelists_off;
  body->extras_off = g.extras_off;
  body->elems_off = g.elems_off;
  // Buckets and free lists are valid when zero-filled (kNil == 0).
  if (g.lru) {
    LruList::Init(region, g.lru_off, g.percpu_lru, g.n_elems, nr_cpus,
                  TargetKernel());
  }
  std::unique_ptr<HashMap> map = make(std::move(region));
  map->Bind(g);
  if (g.lru) {
    LruOwner* owner = map.get();  // a private base, reachable from here
    if (int err = LruList::Attach(map->region(), g.lru_off, g.percpu_lru,
                                  g.n_elems, nr_cpus, owner, &map->lru_);
        err != 0) {
      map.reset();
      close(map_fd);
      return err;
    }
  }
  if (!(attr.map_flags & BPF_F_NO_PREALLOC) && !g.percpu && !g.lru) {
    // alloc_extra_elems() (htab_has_extra_elems: not per-CPU, not LRU): park
    // one spare element per possible CPU.
    for (uint32_t cpu = 0; cpu < nr_cpus; ++cpu) {
      map->extras_[cpu].id.store(
          map->body_->next_unused.fetch_add(1, std::memory_order_relaxed) + 1,
          std::memory_order_relaxed);
    }
  }
  *fd = map_fd;
  *out = std::move(map);
  return 0;
}

// Attaching validates the region completely before it is used: the
// generic header checks, htab_map_alloc_check() on the header's
// attributes, the geometry recomputed as Alloc computes it and compared
// with every stored field, and the LRU state. Element links, free lists,
// spares and counts change legitimately and are checked where they are
// followed (ValidId, bounded walks).
int HashMap::AttachWith(Factory make, int (*alloc_check)(const MapAttr&),
                        ShmRegion region, std::unique_ptr<Map>* out) {
  std::unique_ptr<HashMap> map = make(std::move(region));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  if (alloc_check(AttrFromHeader(h)) != 0) return -EINVAL;
  // NO_COMMON_LRU gives every CPU the same number of nodes (Alloc).
  if ((h.map_flags & BPF_F_NO_COMMON_LRU) && h.max_entries % h.nr_cpus != 0) {
    return -EINVAL;
  }
  Geometry g;
  if (ComputeGeometry(h, &g) != 0 || g.region_size != h.region_size) {
    return -EINVAL;
  }
  const auto* body = map->region().At<HashBody>(kBodyOffset);
  auto once = [](const auto& v) {
    return __atomic_load_n(&v, __ATOMIC_RELAXED);
  };
  if (once(body->n_buckets) != g.n_buckets ||
      once(body->n_elems) != g.n_elems ||
      once(body->elem_size) != g.elem_size ||
      once(body->key_slot) != g.key_slot ||
      once(body->value_slot) != g.value_slot ||
      once(body->percpu) != uint32_t{g.percpu} ||
      once(body->lru) != uint32_t{g.lru} || once(body->lru_off) != g.lru_off ||
      once(body->buckets_off) != g.buckets_off ||
      once(body->freelists_off) != g.freelists_off ||
      once(body->extras_off) != g.extras_off ||
      once(body->elems_off) != g.elems_off) {
    return -EINVAL;
  }
  map->Bind(g);
  if (g.lru) {
    LruOwner* owner = map.get();
    if (LruList::Attach(map->region(), g.lru_off, g.percpu_lru, g.n_elems,
                        h.nr_cpus, owner, &map->lru_) != 0) {
      return -EINVAL;
    }
  }
  *out = std::move(map);
  return 0;
}

uint32_t HashMap::SyscallValueSize() const {
  return geo_.percpu ? geo_.value_slot : value_size();
}

void HashMap::CopyOut(void* dst, uint32_t id, uint64_t flags) const {
  if (geo_.percpu) {
    CopyFromMap(dst, ElemValue(id), geo_.value_slot);
  } else {
    CopyValueOut(dst, ElemValue(id), flags & BPF_F_LOCK);
  }
}

void HashMap::CopyPercpu(uint32_t id, const void* value, bool onallcpus,
                         bool fresh) {
  if (onallcpus) {
    CopyToMap(ElemValue(id), value, geo_.value_slot);
    return;
  }
  const uint64_t slot = RoundUp(value_size(), 8);
  const uint32_t current = CurrentCpu(nr_cpus());
  for (uint32_t cpu = 0; cpu < nr_cpus(); ++cpu) {
    uint8_t* dst = ElemValue(id) + slot * cpu;
    if (cpu == current) {
      CopyToMap(dst, value, value_size());
    } else if (fresh) {
      ZeroMap(dst, value_size());
    }
  }
}

void HashMap::FillNew(uint32_t id, const void* value, bool onallcpus) {
  if (geo_.percpu) {
    CopyPercpu(id, value, onallcpus, /*fresh=*/true);
    return;
  }
  if (HasSpinLock()) {
    // A fresh element's lock is unlocked (check_and_init_map_value), with
    // its generation bumped: a read-only BPF_F_LOCK reader still copying
    // the element's previous life sees the word change (SpinLockRelease).
    auto* lock =
        reinterpret_cast<uint32_t*>(ElemValue(id) + header().spin_lock_off);
    const uint32_t old = __atomic_load_n(lock, __ATOMIC_RELAXED);
    __atomic_store_n(lock,
                     ((old >> kValueLockTidBits) + 1) << kValueLockTidBits,
                     __ATOMIC_RELAXED);
  }
  CopyValueIn(ElemValue(id), value, /*locked=*/false);
}

// htab_map_hash(): a 4-byte key through the seed-folded jhash2 (the same
// value), every other size through HtabMapHash.
[[gnu::always_inline]] inline uint32_t HashMap::Hash(const void* key) const {
  if (key_size_ == 4) {
    uint32_t word;
    std::memcpy(&word, key, sizeof(word));
    return hash_word_(word);
  }
  return HtabMapHash(key, key_size_, seed_);
}

uint32_t HashMap::FindLocked(const Bucket& b, uint32_t hash, const void* key,
                             uint32_t* prev_out) const {
  uint32_t prev = kNil;
  // A chain holds at most every element once: a longer walk, or a link out
  // of the pool, is a corrupted region and ends the walk.
  uint32_t steps = 0;
  for (uint32_t id = b.head.load(std::memory_order_relaxed);
       ValidId(id) && steps < geo_.n_elems; id = Elem(id)->next, ++steps) {
    if (Elem(id)->hash == hash &&
        std::memcmp(ElemKey(id), key, key_size()) == 0) {
      if (prev_out != nullptr) *prev_out = prev;
      return id;
    }
    prev = id;
  }
  return kNil;
}

// The seqlock around every change of a bucket's chain (see FindLockFree).
// ThreadSanitizer does not model standalone fences; under it the fences
// become read-modify-writes of the count, which it does model.
namespace {

inline void SeqWriteFence(std::atomic<uint32_t>& seq) {
#if defined(__SANITIZE_THREAD__)
  seq.fetch_add(0, std::memory_order_acq_rel);
#else
  (void)seq;
  std::atomic_thread_fence(std::memory_order_release);
#endif
}

inline uint32_t SeqReadAgain(const std::atomic<uint32_t>& seq) {
#if defined(__SANITIZE_THREAD__)
  return const_cast<std::atomic<uint32_t>&>(seq).fetch_add(
      0, std::memory_order_acq_rel);
#else
  std::atomic_thread_fence(std::memory_order_acquire);
  return seq.load(std::memory_order_relaxed);
#endif
}

}  // namespace

void HashMap::BeginChainWrite(Bucket& b) {
  b.seq.store(b.seq.load(std::memory_order_relaxed) + 1,
              std::memory_order_relaxed);
  SeqWriteFence(b.seq);
}

void HashMap::EndChainWrite(Bucket& b) {
  b.seq.store(b.seq.load(std::memory_order_relaxed) + 1,
              std::memory_order_release);
}

void HashMap::UnlinkLocked(Bucket& b, uint32_t prev, uint32_t id) {
  const uint32_t next = Elem(id)->next.load(std::memory_order_relaxed);
  BeginChainWrite(b);
  LockPointReached(LockPoint::kChainWrite);
  if (prev == kNil) {
    b.head.store(next, std::memory_order_relaxed);
  } else {
    Elem(prev)->next.store(next, std::memory_order_relaxed);
  }
  EndChainWrite(b);
}

// The kernel's lookups run under RCU over hlist_nulls chains, without the
// bucket lock. Here a reader walks the chain with atomic loads and retries
// if the bucket's sequence count was odd or changed meanwhile: an element
// can only leave this chain by a change of this bucket, so an unchanged
// count means every element walked belonged to it. A walk longer than the
// pool (a chain changing under the reader) retries too.
//
// Retries are bounded: a count that stays odd or keeps moving for
// kLockFreeRetries rounds (a writer that died mid-change, a crafted region,
// or a storm of writers) makes the reader take the bucket lock and walk the
// chain under it, which needs no count.
namespace {
constexpr int kLockFreeRetries = 1024;
}  // namespace

// One walk of the chain of `b` for `key` (see FindLockFree): true with the
// answer in *out when the walk saw an unchanged, even sequence count.
template <uint32_t kKeySize>
[[gnu::always_inline]] inline bool HashMap::WalkOnce(
    const Bucket& b, uint32_t hash, const void* key, uint32_t* out,
    const uint8_t** key_out) const {
  static_assert(kKeySize == 0 || kKeySize == 4 || kKeySize == 8);
  const uint32_t seq = b.seq.load(std::memory_order_acquire);
  if (seq & 1) return false;
  // The geometry in locals: the compiler would otherwise re-read the
  // members after every atomic load of the walk.
  const uint32_t n_elems = geo_.n_elems;
  const uint8_t* const elems = elems_;
  const uint64_t elem_size = elem_size_;
  // A 4- or 8-byte key is compared as one word: equal words are equal keys
  // (and so equal hashes), so the stored hash would cost a load and save
  // none.
  uint64_t key_word = 0;
  if constexpr (kKeySize != 0) std::memcpy(&key_word, key, kKeySize);
  // A chain holds each element once: a walk past n_elems + 1 elements, or
  // a link out of the pool, is a chain changing under the reader (or a
  // corrupted region), and no answer.
  uint64_t budget = uint64_t{n_elems} + 1;
  uint32_t id = b.head.load(std::memory_order_relaxed);
  const uint8_t* k = nullptr;
  for (;;) {
    if (id - 1 >= n_elems) {
      if (id != kNil) return false;
      break;  // the end of the chain: not found
    }
    const auto* e = reinterpret_cast<const ElemHeader*>(
        elems + uint64_t{id - 1} * elem_size);
    k = reinterpret_cast<const uint8_t*>(e) + sizeof(ElemHeader);
    bool match;
    if constexpr (kKeySize == 4) {
      match =
          __atomic_load_n(reinterpret_cast<const uint32_t*>(k),
                          __ATOMIC_RELAXED) == static_cast<uint32_t>(key_word);
    } else if constexpr (kKeySize == 8) {
      match = __atomic_load_n(reinterpret_cast<const uint64_t*>(k),
                              __ATOMIC_RELAXED) == key_word;
    } else {
      match = e->hash.load(std::memory_order_relaxed) == hash &&
              EqualsMap(k, key, key_size_);
    }
    if (match) break;
    id = e->next.load(std::memory_order_relaxed);
    if (--budget == 0) return false;
  }
  // Only an unchanged count makes the walk an answer.
  if (SeqReadAgain(b.seq) != seq) return false;
  *out = id;
  if (key_out != nullptr) *key_out = k;
  return true;
}

template <uint32_t kKeySize>
[[gnu::always_inline]] inline uint32_t HashMap::FindLockFree(
    uint32_t hash, const void* key) const {
  uint32_t found;
  if (WalkOnce<kKeySize>(SelectBucket(hash), hash, key, &found, nullptr))
      [[likely]] {
    return found;
  }
  return FindLockFreeRetry<kKeySize>(hash, key);
}

template <uint32_t kKeySize>
[[gnu::noinline]] uint32_t HashMap::FindLockFreeRetry(uint32_t hash,
                                                      const void* key) const {
  const Bucket& b = SelectBucket(hash);
  for (int attempt = 0; attempt < kLockFreeRetries; ++attempt) {
    uint32_t found;
    if (WalkOnce<kKeySize>(b, hash, key, &found, nullptr)) return found;
    // A writer is inside its chain change - or died there: after the
    // bounded retries, FindLockedFallback waits for the bucket lock,
    // whose taking over from a dead writer repairs the count.
    CpuRelax();
  }
  return FindLockedFallback(hash, key);
}

class HashMap::WriteGuard {
 public:
  WriteGuard(HashMap* map, uint32_t index)
      : map_(map), index_(index), err_(map->LockBucket(index)) {}
  ~WriteGuard() {
    if (err_ == 0) map_->UnlockBucket(index_);
  }
  WriteGuard(const WriteGuard&) = delete;
  WriteGuard& operator=(const WriteGuard&) = delete;
  int error() const { return err_; }

 private:
  HashMap* const map_;
  const uint32_t index_;
  const int err_;
};

class HashMap::ReadGuard {
 public:
  ReadGuard(HashMap* map, uint32_t index)
      : map_(map), index_(index), locked_(map->LockBucketForRead(index)) {}
  ~ReadGuard() {
    if (locked_) map_->buckets_[index_].lock.Unlock();
  }
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;

 private:
  HashMap* const map_;
  const uint32_t index_;
  const bool locked_;
};

// The count re-read that ends a read-only walk: never a read-modify-write,
// which would fault on a PROT_READ page (SeqReadAgain's TSan variant is
// one).
namespace {
inline uint32_t SeqReadAgainNoWrite(const std::atomic<uint32_t>& seq) {
  std::atomic_thread_fence(std::memory_order_acquire);
  return seq.load(std::memory_order_relaxed);
}
}  // namespace

int HashMap::FindNoWrite(uint32_t hash, const void* key, uint32_t* out) const {
  const Bucket& b = SelectBucket(hash);
  ReadOnlyWait wait;
  for (;;) {
    const uint32_t seq = b.seq.load(std::memory_order_acquire);
    if (!(seq & 1)) {
      uint32_t found = kNil;
      uint32_t steps = 0;
      uint32_t id = b.head.load(std::memory_order_relaxed);
      for (; ValidId(id) && steps <= geo_.n_elems;
           id = Elem(id)->next.load(std::memory_order_relaxed), ++steps) {
        if (Elem(id)->hash.load(std::memory_order_relaxed) == hash &&
            EqualsMap(ElemKey(id), key, key_size_)) {
          found = id;
          break;
        }
      }
      if ((found != kNil || id == kNil) && steps <= geo_.n_elems &&
          SeqReadAgainNoWrite(b.seq) == seq) {
        *out = found;
        return 0;
      }
    }
    if (!wait.Next(b.lock.holder())) return -EBUSY;
  }
}

int HashMap::SnapshotBucket(uint32_t index, std::vector<uint8_t>* keys,
                            std::vector<uint8_t>* values, uint64_t elem_flags,
                            uint32_t* n) const {
  const Bucket& b = buckets_[index];
  const uint32_t ks = key_size();
  const uint32_t vsize = SyscallValueSize();
  ReadOnlyWait wait;
  for (;;) {
    const uint32_t seq = b.seq.load(std::memory_order_acquire);
    if (!(seq & 1)) {
      keys->clear();
      if (values != nullptr) values->clear();
      uint32_t count = 0;
      uint32_t id = b.head.load(std::memory_order_relaxed);
      for (; ValidId(id) && count <= geo_.n_elems;
           id = Elem(id)->next.load(std::memory_order_relaxed), ++count) {
        keys->resize(size_t{count + 1} * ks);
        CopyFromMap(keys->data() + size_t{count} * ks, ElemKey(id), ks);
        if (values != nullptr) {
          values->resize(size_t{count + 1} * vsize);
          CopyOut(values->data() + size_t{count} * vsize, id, elem_flags);
        }
      }
      // Whole (ended on kNil within the pool's size) and unchanged.
      if (id == kNil && count <= geo_.n_elems &&
          SeqReadAgainNoWrite(b.seq) == seq) {
        *n = count;
        return 0;
      }
    }
    if (!wait.Next(b.lock.holder())) return -EBUSY;
  }
}

int HashMap::GetNextKeyNoWrite(const void* key, void* next_key) const {
  const uint32_t ks = key_size();
  std::vector<uint8_t> keys;
  uint32_t n = 0;
  uint32_t start = 0;
  if (key != nullptr) {
    const uint32_t index = BucketIndex(Hash(key));
    if (int err = SnapshotBucket(index, &keys, nullptr, 0, &n); err != 0) {
      return err;
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (std::memcmp(&keys[size_t{i} * ks], key, ks) != 0) continue;
      if (i + 1 < n) {
        std::memcpy(next_key, &keys[size_t{i + 1} * ks], ks);
        return 0;
      }
      start = index + 1;
      break;
    }
    // A key that is not in the map restarts the walk at bucket 0.
  }
  for (uint32_t i = start; i < geo_.n_buckets; ++i) {
    if (buckets_[i].head.load(std::memory_order_relaxed) == kNil) continue;
    if (int err = SnapshotBucket(i, &keys, nullptr, 0, &n); err != 0) {
      return err;
    }
    if (n > 0) {
      std::memcpy(next_key, keys.data(), ks);
      return 0;
    }
  }
  return -ENOENT;
}

uint32_t HashMap::FindLockedFallback(uint32_t hash, const void* key) const {
  auto* self = const_cast<HashMap*>(this);
  ReadGuard l(self, BucketIndex(hash));
  return FindLocked(SelectBucket(hash), hash, key, nullptr);
}

int HashMap::LockBucket(uint32_t index) {
  const bool rqspinlock = HasResilientBucketLock(kernel_version());
  const uint32_t slot_mask = std::min<uint32_t>(7, geo_.n_buckets - 1);
  for (int i = 0; i < t_num_held; ++i) {
    const HeldBucket& h = t_held[i];
    if (h.map != this) continue;
    if (rqspinlock) {
      if (h.bucket == index) return -EDEADLK;  // AA deadlock detected
    } else if ((h.bucket & slot_mask) == (index & slot_mask)) {
      return -EBUSY;  // this CPU's map_locked[slot] is taken
    }
  }
  assert(t_num_held < kMaxHeld);
  AcquireBucket(index);
  // The intent record: set for as long as this writer holds the lock, so
  // a death anywhere between the steps of its change is seen by the next
  // taker. A live writer's tail (kTail) is taken over: this writer's
  // record replaces it. A nested writer (a program interrupting the
  // holder of another bucket) that finds a dead writer's record leaves it
  // for the next taker.
  Bucket& b = buckets_[index];
  const uint32_t v = b.intent.load(std::memory_order_relaxed);
  const bool owns = v == 0 || ((v & kTail) && t_num_held == 0);
  if (owns) b.intent.store(CurrentTid(), std::memory_order_relaxed);
  t_held[t_num_held++] = HeldBucket{this, index, owns, false};
  LockPointReached(LockPoint::kBucketLocked);
  if (locked_hook_) {
    std::function<void()> hook = std::move(locked_hook_);
    locked_hook_ = nullptr;
    hook();
  }
  return 0;
}

void HashMap::UnlockBucket(uint32_t index) {
  assert(t_num_held > 0 && t_held[t_num_held - 1].map == this &&
         t_held[t_num_held - 1].bucket == index);
  --t_num_held;
  if (t_held[t_num_held].owns_intent) {
    // An LRU writer's record outlives the lock until its elements are back
    // on the LRU (EndTail).
    buckets_[index].intent.store(
        t_held[t_num_held].tail ? kTail | CurrentTid() : 0,
        std::memory_order_relaxed);
  }
  buckets_[index].lock.Unlock();
}

bool HashMap::LockBucketForRead(uint32_t index) {
  for (int i = 0; i < t_num_held; ++i) {
    if (t_held[i].map == this && t_held[i].bucket == index) return false;
  }
  AcquireBucket(index);
  return true;
}

void HashMap::AcquireBucket(uint32_t index) {
  Bucket& b = buckets_[index];
  while (true) {
    if (b.lock.Lock()) RepairBucket(b);
    // Holding the lock, a non-zero intent is a dead writer's, or the tail
    // of an LRU writer, which may be alive.
    const uint32_t v = b.intent.load(std::memory_order_relaxed);
    if (__builtin_expect(v == 0, 1) || t_num_held != 0 ||
        ((v & kTail) && OwnerAlive(v & ~kTail))) {
      return;
    }
    b.lock.Unlock();
    Recover();
  }
}

// Intent records (issue 20). A writer's change of the table is several
// steps: a count reserved, an element taken from a free list (or the bump
// index, or a CPU's spare), linked, the replaced element unlinked and put
// back. Every one of them, for the non-LRU types, runs under the bucket
// lock of the key (the free-list locks nest inside it); for the LRU types
// the count and the chain change under it, and the elements the LRU hands
// out or takes back carry a mark in their `next` word while they are
// outside every chain (FlightMark: the tid of the thread holding them).
//
// The bucket's intent word holds the writer's tid for as long as it holds
// the lock, so a writer killed between two steps leaves it set: the next
// thread to take that lock (AcquireBucket), or an insert about to fail
// with E2BIG (RecoverIfOwnerDied: a leaked element or count makes a map
// look full), runs Recover(). Recover takes every bucket lock in index
// order (under the region's recover_lock, so two recoverers cannot
// deadlock; ordinary writers hold one bucket lock and never wait for it),
// which leaves no live writer between its steps, and rebuilds what the
// dead one left half done:
//   * a key linked twice (a replacing update killed after linking the new
//     element, before unlinking the old): the older copy, behind the newer
//     one in the chain, is unlinked - the update completed;
//   * pool elements in no chain, free list or spare slot (taken and not
//     linked, or unlinked and not given back): back onto a free list - an
//     insert that never happened, a delete or replacement that completed;
//   * LRU elements in no chain and unmarked: marked kOrphan, so the LRU's
//     next eviction scan reclaims them (DeleteNode), as it reclaims
//     elements marked with a dead thread's tid;
//   * the count: the number of linked elements.
// The result is the table as if the dead writer's operation had completed
// or never started. An LRU node half moved between two LRU lists (a death
// inside an LRU list lock) is not repaired (docs/reliability.md).
void HashMap::Recover() {
  std::vector<uint32_t> abandoned;
  {
    ShmMutexLock r(&body_->recover_lock);
    const uint32_t n = geo_.n_buckets;
    for (uint32_t i = 0; i < n; ++i) {
      if (buckets_[i].lock.Lock()) RepairBucket(buckets_[i]);
    }
    bool dirty = false;
    for (uint32_t i = 0; i < n && !dirty; ++i) {
      dirty = buckets_[i].intent.load(std::memory_order_relaxed) != 0;
    }
    if (dirty) abandoned = RebuildLocked();
    for (uint32_t i = 0; i < n; ++i) {
      buckets_[i].intent.store(0, std::memory_order_relaxed);
      buckets_[i].lock.Unlock();
    }
  }
  // LRU nodes go back to a free list at once rather than when an eviction
  // scan reaches them (one on ACTIVE may not be scanned for a long time):
  // with no bucket lock and not recover_lock held (LRU locks come first),
  // and not from inside an eviction (DeleteNode), whose thread holds an
  // LRU lock already - those are left to the eviction scans.
  if (t_in_delete_node == 0) {
    for (uint32_t id : abandoned) lru_->ReclaimAbandoned(id);
  }
}

std::vector<uint32_t> HashMap::RebuildLocked() {
  std::vector<uint32_t> abandoned;
  const uint32_t n_elems = geo_.n_elems;
  std::vector<bool> seen(uint64_t{n_elems} + 1);
  uint32_t live = 0;
  std::unordered_set<std::string> chain_keys;
  for (uint32_t i = 0; i < geo_.n_buckets; ++i) {
    Bucket& b = buckets_[i];
    uint32_t prev = kNil;
    chain_keys.clear();
    for (uint32_t id = b.head.load(std::memory_order_relaxed); id != kNil;) {
      if (!ValidId(id) || seen[id]) {
        // A link out of the pool or into another chain (a corrupted
        // region): the chain ends before it.
        BeginChainWrite(b);
        if (prev == kNil) {
          b.head.store(kNil, std::memory_order_relaxed);
        } else {
          Elem(prev)->next.store(kNil, std::memory_order_relaxed);
        }
        EndChainWrite(b);
        break;
      }
      const uint32_t next = Elem(id)->next.load(std::memory_order_relaxed);
      // An element of another bucket (a crafted region) is dropped like
      // a duplicate: lookups and key walks would never find it here. A
      // key already seen nearer the head is the older copy's twin: one
      // set per chain keeps this linear in the chain (a crafted chain
      // holding the whole pool must not take quadratic time).
      const uint32_t hash = Elem(id)->hash.load(std::memory_order_relaxed);
      std::string tagged(sizeof(hash) + key_size(), '\0');
      std::memcpy(tagged.data(), &hash, sizeof(hash));
      std::memcpy(tagged.data() + sizeof(hash), ElemKey(id), key_size());
      const bool dup = BucketIndex(hash) != i ||
                       !chain_keys.insert(std::move(tagged)).second;
      if (dup) {
        UnlinkLocked(b, prev, id);  // unseen: freed below
      } else {
        seen[id] = true;
        ++live;
        prev = id;
      }
      id = next;
    }
  }
  if (lru_) {
    for (uint32_t id = 1; id <= n_elems; ++id) {
      if (seen[id]) continue;
      uint32_t v = Elem(id)->next.load(std::memory_order_relaxed);
      // A live thread's mark stays; the CAS loses to a mark stored
      // meanwhile by an LRU pop. Free nodes are marked too (harmlessly:
      // a pop marks them anew); ReclaimAbandoned skips them.
      if (v < kMarkBits) {
        if (Elem(id)->next.compare_exchange_strong(v, kOrphan,
                                                   std::memory_order_relaxed)) {
          v = kOrphan;
        }
      }
      if (v == kOrphan || (v >= kMarkBits && !OwnerAlive(v & ~kMarkBits))) {
        abandoned.push_back(id);
      }
    }
  } else {
    const uint32_t ncpus = nr_cpus();
    for (uint32_t c = 0; c < ncpus; ++c) (void)freelists_[c].lock.Lock();
    for (uint32_t c = 0; c < ncpus; ++c) {
      const uint32_t id = extras_[c].id.load(std::memory_order_relaxed);
      if (id == kNil) continue;
      if (ValidId(id) && !seen[id]) {
        seen[id] = true;
      } else {
        extras_[c].id.store(kNil, std::memory_order_relaxed);
      }
    }
    for (uint32_t c = 0; c < ncpus; ++c) {
      FreeList& fl = freelists_[c];
      uint32_t prev = kNil;
      for (uint32_t id = fl.head; id != kNil;) {
        if (!ValidId(id) || seen[id]) {
          if (prev == kNil) {
            fl.head = kNil;
          } else {
            Elem(prev)->next.store(kNil, std::memory_order_relaxed);
          }
          break;
        }
        seen[id] = true;
        prev = id;
        id = Elem(id)->next.load(std::memory_order_relaxed);
      }
    }
    uint32_t used =
        std::min(body_->next_unused.load(std::memory_order_relaxed), n_elems);
    // A crafted bump index may point past the backed pages of an unbacked
    // pool: they are backed before they are written, or left alone.
    if (used > 0 && (map_flags() & BPF_F_NO_PREALLOC) &&
        region().Populate(geo_.elems_off, uint64_t{used} * elem_size_) != 0) {
      used = 0;
    }
    FreeList& fl = freelists_[CurrentCpu(ncpus)];
    for (uint32_t id = used; id >= 1; --id) {
      if (seen[id]) continue;
      Elem(id)->next.store(fl.head, std::memory_order_relaxed);
      fl.head = id;
    }
    for (uint32_t c = 0; c < ncpus; ++c) freelists_[c].lock.Unlock();
  }
  body_->count.store(live, std::memory_order_relaxed);
  return abandoned;
}

bool HashMap::AnyDeadIntent() const {
  for (uint32_t i = 0; i < geo_.n_buckets; ++i) {
    const uint32_t v = buckets_[i].intent.load(std::memory_order_relaxed);
    if (v != 0 && !OwnerAlive(v & ~kTail)) return true;
  }
  return false;
}

bool HashMap::RecoverIfOwnerDied() {
  if (t_num_held != 0) return false;
  // A large table is scanned at most every 100 ms per process, so a map
  // that is really full does not pay a scan for every refused insert.
  if (geo_.n_buckets > 65536) {
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = last_scan_ns_.load(std::memory_order_relaxed);
    if (now - last < 100'000'000 ||
        !last_scan_ns_.compare_exchange_strong(last, now)) {
      return false;
    }
  }
  if (!AnyDeadIntent()) return false;
  Recover();
  return true;
}

// The lock was taken over from a holder that died inside its section.
// Each chain change is two ordered stores (the new element's next, then the
// head; or one store that unlinks), so the chain itself is always whole;
// what a dead writer leaves is an odd sequence count, which would make
// every lock-free reader of the bucket spin forever. What it left between
// the steps of its change is its intent record's business (Recover).
void HashMap::RepairBucket(Bucket& b) {
  const uint32_t seq = b.seq.load(std::memory_order_relaxed);
  if (seq & 1) b.seq.store(seq + 1, std::memory_order_release);
}

void HashMap::LinkHeadLocked(Bucket& b, uint32_t id) {
  BeginChainWrite(b);
  Elem(id)->next.store(b.head.load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
  b.head.store(id, std::memory_order_relaxed);
  EndChainWrite(b);
}

bool HashMap::BackElem(uint32_t id) const {
  return !(map_flags() & BPF_F_NO_PREALLOC) ||
         region().PopulateSlot(geo_.elems_off, elem_size_, id - 1) == 0;
}

uint32_t HashMap::PopFree(uint32_t cpu, bool* no_memory) {
  const uint32_t ncpus = nr_cpus();
  auto pop = [&](uint32_t c) {
    FreeList& fl = freelists_[c];
    // A dead holder left the list whole: the head moves in one store.
    ShmMutexLock l(&fl.lock);
    LockPointReached(LockPoint::kFreeListLocked);
    uint32_t id = fl.head;
    if (!ValidId(id)) return kNil;  // empty (or corrupted: left as is)
    fl.head = Elem(id)->next.load(std::memory_order_relaxed);
    LockPointReached(LockPoint::kBetweenSteps);  // taken, in no list
    return id;
  };
  if (uint32_t id = pop(cpu); id != kNil) return id;
  uint32_t unused = body_->next_unused.load(std::memory_order_relaxed);
  while (unused < geo_.n_elems) {
    // The kernel allocates a BPF_F_NO_PREALLOC element here (kmalloc):
    // its pages are backed before it is handed out, or not at all.
    if (!BackElem(unused + 1)) {
      if (no_memory != nullptr) *no_memory = true;
      break;
    }
    if (body_->next_unused.compare_exchange_weak(unused, unused + 1,
                                                 std::memory_order_relaxed)) {
      LockPointReached(LockPoint::kBetweenSteps);
      return unused + 1;
    }
  }
  for (uint32_t i = 1; i < ncpus; ++i) {
    if (uint32_t id = pop((cpu + i) % ncpus); id != kNil) return id;
  }
  return kNil;
}

void HashMap::PushFree(uint32_t cpu, uint32_t id) {
  FreeList& fl = freelists_[cpu];
  ShmMutexLock l(&fl.lock);
  Elem(id)->next.store(fl.head, std::memory_order_relaxed);
  fl.head = id;
}

// htab_map_lookup_elem() through bpf_map_copy_value(): the walk
// specialised for a 4-byte key (the same chain, in the same order, the same
// answer) and a plain value copied inline; every other map takes
// LookupElemOther.
[[gnu::always_inline]] inline int HashMap::LookupImpl(const void* key,
                                                      void* value,
                                                      uint64_t flags) {
  if (lookup_path_ != LookupPath::kWordKey || !plain_value_) [[unlikely]] {
    return LookupElemOther(key, value, flags);
  }
  uint32_t word;
  std::memcpy(&word, key, sizeof(word));
  const uint32_t hash = hash_word_(word);
  uint32_t id;
  const uint8_t* elem_key;
  // A bucket being changed: LookupElemOther walks it again with the
  // bounded retries (nothing is live across that call).
  if (!WalkOnce<4>(SelectBucket(hash), hash, key, &id, &elem_key))
      [[unlikely]] {
    return LookupElemOther(key, value, flags);
  }
  if (id == kNil) return -ENOENT;
  // A 4-byte key's slot is 8 bytes: the value follows at a fixed offset.
  const uint8_t* src = elem_key + RoundUp(4, 8);
  if (plain_value_size_ == 8) {
    const uint64_t w = __atomic_load_n(reinterpret_cast<const uint64_t*>(src),
                                       __ATOMIC_RELAXED);
    std::memcpy(value, &w, sizeof(w));
  } else {
    CopyFromMap(value, src, plain_value_size_);
  }
  return 0;
}

int HashMap::LookupElem(const void* key, void* value, uint64_t flags) {
  return LookupImpl(key, value, flags);
}

int HashMap::LookupElemSys(const void* key, void* value, uint64_t flags) {
  return LookupImpl(key, value, flags);
}

int HashMap::LookupElemOther(const void* key, void* value, uint64_t flags) {
  uint32_t id;
  switch (lookup_path_) {
    case LookupPath::kWordKey:
      id = FindLockFree<4>(Hash(key), key);
      break;
    case LookupPath::kDwordKey:
      id = FindLockFree<8>(HtabMapHash(key, 8, seed_), key);
      break;
    case LookupPath::kGeneric:
      id = FindLockFree(Hash(key), key);
      break;
    case LookupPath::kReadOnly:
    default:
      if (int err = FindNoWrite(Hash(key), key, &id); err != 0) return err;
      break;
  }
  if (id == kNil) return -ENOENT;
  if (plain_value_) {
    CopyFromMap(value, ElemValue(id), plain_value_size_);
  } else {
    CopyOut(value, id, flags);
  }
  return 0;
}

int HashMap::Update(const void* key, const void* value, uint64_t flags,
                    bool onallcpus, void* replaced) {
  int ret = UpdateOnce(key, value, flags, onallcpus, replaced);
  // A map that looks full may hold a dead writer's element or count.
  if (ret == -E2BIG && RecoverIfOwnerDied()) {
    ret = UpdateOnce(key, value, flags, onallcpus, replaced);
  }
  return ret;
}

int HashMap::UpdateOnce(const void* key, const void* value, uint64_t flags,
                        bool onallcpus, void* replaced) {
  if (geo_.lru) return LruUpdate(key, value, flags, onallcpus);
  const bool percpu = geo_.percpu;
  // __htab_percpu_map_update_elem accepts no BPF_F_LOCK; htab_map_update_elem
  // masks it off.
  if ((percpu ? flags : flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) {
    return -EINVAL;
  }
  const uint32_t cpu = CurrentCpu(nr_cpus());
  const bool use_spares = !(map_flags() & BPF_F_NO_PREALLOC) && !percpu;
  const uint32_t hash = Hash(key);
  Bucket& b = SelectBucket(hash);
  WriteGuard l(this, BucketIndex(hash));
  if (l.error() != 0) return l.error();
  uint32_t prev = kNil;
  const uint32_t old = FindLocked(b, hash, key, &prev);
  if (int err = CheckFlags(old != kNil, flags); err != 0) return err;
  // The value the update replaces, read under the bucket lock (the inner
  // map id an fd htab puts once the update is done).
  if (old != kNil && replaced != nullptr) {
    CopyFromMap(replaced, ElemValue(old), value_size());
  }
  if (old != kNil && percpu) {
    // pcpu_copy_value() on the existing element, in place.
    CopyPercpu(old, value, onallcpus, /*fresh=*/false);
    return 0;
  }
  if (old != kNil && ReplacesInPlace()) {
    // The new inner map's id replaces the old one in place.
    CopyValueIn(ElemValue(old), value, /*locked=*/false);
    return 0;
  }
  if (old != kNil && (flags & BPF_F_LOCK)) {
    // copy_map_value_locked(): in place under the element's lock; the key
    // keeps its position.
    CopyValueIn(ElemValue(old), value, /*locked=*/true);
    return 0;
  }

  uint32_t id = kNil;
  if (old == kNil) {
    // is_map_full() / an empty pcpu_freelist: capacity is max_entries.
    uint32_t n = body_->count.load(std::memory_order_relaxed);
    do {
      if (n >= max_entries()) return -E2BIG;
    } while (!body_->count.compare_exchange_weak(n, n + 1,
                                                 std::memory_order_relaxed));
    LockPointReached(LockPoint::kBetweenSteps);  // counted, no element
    bool no_memory = false;
    id = PopFree(cpu, &no_memory);
    // The pool always has an element for a reserved count (live <=
    // max_entries and at most nr_cpus spares are parked) unless the region
    // was corrupted: then the update fails as an empty pcpu_freelist does;
    // or unless a BPF_F_NO_PREALLOC element's pages could not be backed:
    // ENOMEM, as from the kernel's failed element allocation.
    if (id == kNil) {
      body_->count.fetch_sub(1, std::memory_order_relaxed);
      return no_memory ? -ENOMEM : -E2BIG;
    }
  } else {
    // Replacement: prealloc maps write into this CPU's spare element.
    if (use_spares) {
      id = extras_[cpu].id.exchange(kNil, std::memory_order_relaxed);
      if (!ValidId(id)) id = kNil;
      LockPointReached(LockPoint::kBetweenSteps);  // the spare in hand
    }
    bool no_memory = false;
    if (id == kNil) id = PopFree(cpu, &no_memory);
    if (no_memory) return -ENOMEM;  // alloc_htab_elem() for the new copy
    if (id == kNil) {
      // More replacements in flight than spares (threads sharing one
      // emulated CPU): update in place. The key keeps its place in the
      // bucket (moving it would leave it unlinked for a moment, and so
      // lost if the writer died there).
      CopyValueIn(ElemValue(old), value, /*locked=*/false);
      FreeValueFields(ElemValue(old));  // the old element's timer
      return 0;
    }
  }
  ElemHeader* e = Elem(id);
  e->hash.store(hash, std::memory_order_relaxed);
  CopyToMap(ElemKey(id), key, key_size());
  FillNew(id, value, onallcpus);
  LockPointReached(LockPoint::kBetweenSteps);  // filled, not linked
  LinkHeadLocked(b, id);
  if (old != kNil) {
    LockPointReached(LockPoint::kBetweenSteps);  // the key linked twice
    // The new element is now the head, so `old`'s predecessor is unchanged
    // unless it was the head itself.
    UnlinkLocked(b, prev == kNil ? id : prev, old);
    LockPointReached(LockPoint::kBetweenSteps);  // old unlinked, not freed
    FreeValueFields(ElemValue(old));             // check_and_free_fields()
    uint32_t expected = kNil;
    if (!use_spares || !extras_[cpu].id.compare_exchange_strong(
                           expected, old, std::memory_order_relaxed)) {
      PushFree(cpu, old);
    }
  }
  return 0;
}

int HashMap::LookupAndDeleteElem(const void* key, void* value, uint64_t flags) {
  return Remove(key, value, flags);
}

int HashMap::Remove(const void* key, void* value_out, uint64_t flags) {
  const uint32_t cpu = CurrentCpu(nr_cpus());
  const uint32_t hash = Hash(key);
  Bucket& b = SelectBucket(hash);
  uint32_t id;
  {
    WriteGuard l(this, BucketIndex(hash));
    if (l.error() != 0) return l.error();
    uint32_t prev;
    id = FindLocked(b, hash, key, &prev);
    if (id == kNil) return -ENOENT;
    if (value_out != nullptr) CopyOut(value_out, id, flags);
    UnlinkLocked(b, prev, id);
    LockPointReached(LockPoint::kBetweenSteps);  // unlinked, not freed
    ReleaseLocked(cpu, id);
  }
  if (lru_) {
    LruFree(id);
    EndTail(BucketIndex(hash));
  }
  return 0;
}

// The element count drops only once the element is free again, as in the
// kernel (free_htab_elem runs after the unlink): until then a concurrent
// insert into a full map still sees it as taken. Here both happen under
// the bucket lock, where the intent record covers them (the kernel frees
// after the unlock; the difference is not observable).
void HashMap::ReleaseLocked(uint32_t cpu, uint32_t id) {
  FreeValueFields(ElemValue(id));  // check_and_free_fields()
  if (lru_) {
    Elem(id)->next.store(FlightMark(), std::memory_order_relaxed);
    t_held[t_num_held - 1].tail = true;  // this writer's bucket
  } else {
    PushFree(cpu, id);
    LockPointReached(LockPoint::kBetweenSteps);  // freed, still counted
  }
  body_->count.fetch_sub(1, std::memory_order_relaxed);
}

// htab_lru_push_free(), after the bucket unlock.
void HashMap::LruFree(uint32_t id) {
  LockPointReached(LockPoint::kBetweenSteps);  // unlinked, marked
  lru_->PushFree(id);
}

void HashMap::EndTail(uint32_t index) {
  uint32_t mine = kTail | CurrentTid();
  // Fails if a later writer of the bucket replaced the record.
  buckets_[index].intent.compare_exchange_strong(mine, 0,
                                                 std::memory_order_relaxed);
}

// htab_lru_map_delete_node(): the eviction callback of the LRU.
bool HashMap::DeleteNode(uint32_t id) {
  if (!ValidId(id)) return false;
  struct InDeleteNode {
    InDeleteNode() { ++t_in_delete_node; }
    ~InDeleteNode() { --t_in_delete_node; }
  } in_delete_node;
  const uint32_t hash = Elem(id)->hash;
  Bucket& b = SelectBucket(hash);
  WriteGuard l(this, BucketIndex(hash));
  if (l.error() != 0) return false;
  uint32_t prev = kNil;
  uint32_t steps = 0;
  for (uint32_t cur = b.head.load(std::memory_order_relaxed);
       ValidId(cur) && steps < geo_.n_elems;
       prev = cur, cur = Elem(cur)->next, ++steps) {
    if (cur == id) {
      UnlinkLocked(b, prev, id);
      FreeValueFields(ElemValue(id));
      // In this thread's hand until the LRU has moved it to a free list.
      Elem(id)->next.store(FlightMark(), std::memory_order_relaxed);
      body_->count.fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
  }
  // Not linked: an element some thread has in hand (popped and not yet
  // linked, or unlinked and not yet given back) - or had, if it died, or
  // one Recover() found in no chain. Those two are reclaimed here.
  return ClaimAbandoned(id);
}

bool HashMap::ClaimAbandoned(uint32_t id) {
  if (!ValidId(id)) return false;
  uint32_t mark = Elem(id)->next.load(std::memory_order_relaxed);
  if (mark == kOrphan ||
      (mark >= kMarkBits && !OwnerAlive(mark & ~kMarkBits))) {
    // Once: a concurrent DeleteNode or ReclaimAbandoned loses the CAS.
    return Elem(id)->next.compare_exchange_strong(mark, kNil,
                                                  std::memory_order_relaxed);
  }
  return false;
}

void HashMap::SetNodeHash(uint32_t id, uint32_t hash) {
  if (!ValidId(id)) return;  // a corrupted LRU list: PopFree refuses it
  Elem(id)->hash.store(hash, std::memory_order_relaxed);
  // Popped, under the LRU lock: this thread has it in hand until it links
  // it or gives it back.
  Elem(id)->next.store(FlightMark(), std::memory_order_relaxed);
}

int HashMap::LruUpdate(const void* key, const void* value, uint64_t flags,
                       bool onallcpus) {
  if (flags > BPF_EXIST) return -EINVAL;
  const bool percpu = geo_.percpu;
  const uint32_t cpu = CurrentCpu(nr_cpus());
  const uint32_t hash = Hash(key);
  // The node is taken before the bucket lock: taking it may evict keys,
  // which needs bucket locks. LRU_PERCPU_HASH skips it for BPF_EXIST.
  uint32_t fresh = kNil;
  if (!percpu || flags != BPF_EXIST) {
    fresh = lru_->PopFree(hash, cpu);
    if (fresh == kNil) return -ENOMEM;
    CopyToMap(ElemKey(fresh), key, key_size());
    if (!percpu) FillNew(fresh, value, onallcpus);  // per-CPU: below
    LockPointReached(LockPoint::kBetweenSteps);     // in hand, marked
  }
  uint32_t old = kNil;
  int ret;
  {
    Bucket& b = SelectBucket(hash);
    WriteGuard l(this, BucketIndex(hash));
    ret = l.error();
    if (ret == 0) {
      uint32_t prev = kNil;
      old = FindLocked(b, hash, key, &prev);
      ret = CheckFlags(old != kNil, flags);
      if (ret == 0 && !percpu) {
        // A new element at the bucket head; a replaced key's new element is
        // marked referenced.
        LinkHeadLocked(b, fresh);
        LockPointReached(LockPoint::kBetweenSteps);  // linked, not counted
        body_->count.fetch_add(1, std::memory_order_relaxed);
        if (old != kNil) {
          lru_->SetRef(fresh);
          LockPointReached(LockPoint::kBetweenSteps);  // the key twice
          UnlinkLocked(b, prev == kNil ? fresh : prev, old);
          LockPointReached(LockPoint::kBetweenSteps);  // unlinked, counted
          ReleaseLocked(cpu, old);
        }
        fresh = kNil;
      } else if (ret == 0 && old != kNil) {
        // Per-CPU: the existing element is updated in place and marked
        // referenced; the popped node goes back unused.
        lru_->SetRef(old);
        CopyPercpu(old, value, onallcpus, /*fresh=*/false);
        old = kNil;
      } else if (ret == 0) {
        FillNew(fresh, value, onallcpus);
        LinkHeadLocked(b, fresh);
        LockPointReached(LockPoint::kBetweenSteps);  // linked, not counted
        body_->count.fetch_add(1, std::memory_order_relaxed);
        fresh = kNil;
      }
    }
  }
  // After the bucket lock: the unused node, or the replaced element.
  if (fresh != kNil) lru_->PushFree(fresh);  // never linked: not counted
  if (ret == 0 && old != kNil) {
    LruFree(old);
    EndTail(BucketIndex(hash));
  }
  return ret;
}

bool HashMap::ValueKey(const uint8_t* value, uint32_t* index,
                       const uint8_t** key) const {
  const uint64_t head = sizeof(ElemHeader) + key_slot_;
  if (geo_.percpu || value < elems_ + head) return false;
  const uint64_t d = static_cast<uint64_t>(value - elems_) - head;
  if (d % elem_size_ != 0 || d / elem_size_ >= geo_.n_elems) return false;
  *index = 0;
  *key = ElemKey(static_cast<uint32_t>(d / elem_size_) + 1);
  return true;
}

void* HashMap::LookupElemProg(const void* key) {
  uint32_t id;
  if (key_size_ == 4) {
    id = FindLockFree<4>(Hash(key), key);
  } else if (key_size_ == 8) {
    id = FindLockFree<8>(Hash(key), key);
  } else {
    id = FindLockFree(Hash(key), key);
  }
  if (id == kNil) return nullptr;
  if (lru_) lru_->SetRef(id);
  uint8_t* value = ElemValue(id);
  if (geo_.percpu) {
    value += RoundUp(value_size(), 8) * CurrentCpu(nr_cpus());
  }
  return value;
}

uint64_t HashMap::MemUsage(const BuildProfile& build) const {
  const uint64_t ncpus = nr_cpus();
  const uint64_t value = RoundUp(value_size(), 8);
  const bool prealloc = !(map_flags() & BPF_F_NO_PREALLOC) || geo_.lru;
  // htab->elem_size: header, key, then the value or a per-CPU pointer.
  const uint64_t elem = build.htab_elem + RoundUp(key_size(), 8) +
                        (geo_.percpu ? sizeof(void*) : value);
  uint64_t usage = build.htab + 16 * uint64_t{geo_.n_buckets} +
                   sizeof(int) * ncpus * 8;  // HASHTAB_MAP_LOCK_COUNT
  if (prealloc) {
    uint64_t entries = max_entries();
    if (!geo_.percpu && !geo_.lru) entries += ncpus;  // extra elements
    usage += elem * entries;
    if (geo_.percpu) {
      usage += value * ncpus * entries;
    } else if (!geo_.lru) {
      usage += sizeof(void*) * ncpus;
    }
  } else {
    // Elements are allocated as keys are inserted (llist_node each).
    const uint64_t n = count();
    usage += (elem + 8) * n;
    if (geo_.percpu) usage += (8 + sizeof(void*)) * n + value * ncpus * n;
  }
  return usage;
}

int HashMap::WalkBatch(BatchArgs& a, bool do_delete) {
  uint32_t max_count;
  if (int ret; !BeginBatch(a, /*check_flags=*/true, &max_count, &ret)) {
    return ret;
  }
  uint32_t batch = 0;
  if (a.in_batch != nullptr) std::memcpy(&batch, a.in_batch, sizeof(batch));
  const uint32_t n_buckets = geo_.n_buckets;
  if (batch >= n_buckets) return -ENOENT;  // out_batch is not written

  const uint32_t ks = key_size();
  const uint32_t vsize = SyscallValueSize();
  const uint32_t cpu = CurrentCpu(nr_cpus());
  std::vector<uint8_t> keys, values;  // one bucket, copied under its lock
  std::vector<uint32_t> to_free;
  uint32_t total = 0;
  int ret = 0;
  while (true) {
    Bucket& b = buckets_[batch];
    uint32_t bucket_cnt = 0;
    // The lock is only taken for a bucket that has elements. A read-only
    // region (only a lookup batch reaches one) is copied without it.
    if (read_only() && b.head.load(std::memory_order_relaxed) != kNil) {
      if (int err =
              SnapshotBucket(batch, &keys, &values, a.elem_flags, &bucket_cnt);
          err != 0) {
        ret = err;
        break;
      }
      if (bucket_cnt > max_count - total) {
        if (total == 0) ret = -ENOSPC;
        break;
      }
    } else if (b.head.load(std::memory_order_relaxed) != kNil) {
      WriteGuard l(this, batch);
      if (l.error() != 0) {
        ret = l.error();
        break;
      }
      for (uint32_t id = b.head.load(std::memory_order_relaxed);
           ValidId(id) && bucket_cnt < geo_.n_elems; id = Elem(id)->next) {
        ++bucket_cnt;
      }
      if (bucket_cnt > max_count - total) {
        // A bucket is never split: stop here; with nothing copied yet the
        // caller's buffer is too small for this bucket.
        if (total == 0) ret = -ENOSPC;
        break;
      }
      keys.resize(size_t{bucket_cnt} * ks);
      values.resize(size_t{bucket_cnt} * vsize);
      uint32_t i = 0;
      // Bounded by the count: the buffers hold bucket_cnt elements.
      for (uint32_t id = b.head.load(std::memory_order_relaxed);
           ValidId(id) && i < bucket_cnt; ++i) {
        const uint32_t next = Elem(id)->next;
        std::memcpy(&keys[size_t{i} * ks], ElemKey(id), ks);
        CopyOut(&values[size_t{i} * vsize], id, a.elem_flags);
        if (do_delete) {
          UnlinkLocked(b, kNil, id);  // always the current head
          LockPointReached(LockPoint::kBetweenSteps);
          ReleaseLocked(cpu, id);
          to_free.push_back(id);
        }
        id = next;
      }
      bucket_cnt = i;  // fewer only if the chain was corrupted meanwhile
    }
    // LRU elements go back once the bucket lock is dropped (the LRU takes
    // its own locks); pool elements went back under it.
    if (lru_ && !to_free.empty()) {
      for (uint32_t id : to_free) LruFree(id);
      EndTail(batch);
    }
    if (do_delete && !to_free.empty()) {
      // free_htab_elem() after the unlock (htab_put_fd_value); `values`
      // holds the deleted values, as copied out.
      for (uint32_t i = 0; i < bucket_cnt; ++i) {
        PutFdValue(&values[size_t{i} * vsize]);
      }
    }
    to_free.clear();
    // Empty buckets are skipped without copying, except the last one.
    if (bucket_cnt == 0 && batch + 1 < n_buckets) {
      ++batch;
      continue;
    }
    if (bucket_cnt != 0) {
      // Copied out after the bucket lock is dropped, as the kernel does:
      // a bad buffer loses deleted elements and reports EFAULT, with the
      // count left at 0.
      if (a.keys == nullptr || a.values == nullptr) return -EFAULT;
      std::memcpy(static_cast<uint8_t*>(a.keys) + uint64_t{total} * ks,
                  keys.data(), keys.size());
      std::memcpy(static_cast<uint8_t*>(a.values) + uint64_t{total} * vsize,
                  values.data(), values.size());
    }
    total += bucket_cnt;
    ++batch;
    if (batch >= n_buckets) {
      ret = -ENOENT;
      break;
    }
  }
  if (a.out_batch == nullptr) return -EFAULT;
  std::memcpy(a.out_batch, &batch, sizeof(batch));
  a.count = total;
  return ret;
}

int HashMap::GetNextKey(const void* key, void* next_key) {
  if (read_only()) [[unlikely]]
    return GetNextKeyNoWrite(key, next_key);
  uint32_t start = 0;
  if (key != nullptr) {
    const uint32_t hash = Hash(key);
    Bucket& b = SelectBucket(hash);
    ReadGuard l(this, BucketIndex(hash));
    const uint32_t id = FindLocked(b, hash, key, nullptr);
    if (id != kNil) {
      // The next element of the same bucket, if any.
      if (uint32_t next = Elem(id)->next; ValidId(next)) {
        std::memcpy(next_key, ElemKey(next), key_size());
        return 0;
      }
      start = (hash & (geo_.n_buckets - 1)) + 1;
    }
    // A key that is not in the map restarts the walk at bucket 0.
  }
  for (uint32_t i = start; i < geo_.n_buckets; ++i) {
    Bucket& b = buckets_[i];
    // An empty bucket is skipped unless a writer's intent is set: then the
    // lock is taken, which recovers the map if that writer is dead (a
    // walk of the keys sees the map whole, count included).
    if (b.head.load(std::memory_order_relaxed) == kNil &&
        b.intent.load(std::memory_order_relaxed) == 0) {
      continue;
    }
    ReadGuard l(this, i);
    if (uint32_t head = b.head.load(std::memory_order_relaxed); ValidId(head)) {
      std::memcpy(next_key, ElemKey(head), key_size());
      return 0;
    }
  }
  return -ENOENT;
}

void HashMap::ChainIds(uint32_t index, ChainIdBuf* ids, uint32_t* seq) {
  ids->clear();
  Bucket& b = buckets_[index];
  ReadGuard l(this, index);
  *seq = b.seq.load(std::memory_order_relaxed);
  for (uint32_t id = b.head.load(std::memory_order_relaxed);
       ValidId(id) && ids->size() < geo_.n_elems;
       id = Elem(id)->next.load(std::memory_order_relaxed)) {
    ids->push_back(id);
  }
}

long HashMap::ForEach(Map& map, ForEachCallback fn, void* arg, uint64_t flags) {
  if (flags != 0) return -EINVAL;
  auto& h = static_cast<HashMap&>(map);
  const uint64_t cpu_offset =
      h.geo_.percpu ? RoundUp(h.value_size(), 8) * CurrentCpu(h.nr_cpus()) : 0;
  long visited = 0;
  ChainIdBuf chain, now;
  for (uint32_t i = 0; i < h.geo_.n_buckets; ++i) {
    const Bucket& b = h.buckets_[i];
    if (b.head.load(std::memory_order_relaxed) == kNil &&
        b.intent.load(std::memory_order_relaxed) == 0) {
      continue;
    }
    uint32_t seq;
    h.ChainIds(i, &chain, &seq);
    size_t pos = 0;
    while (pos < chain.size()) {
      // The successor as the kernel's walk reads it before the callback:
      // the next element of the chain taken at the bucket's start that is
      // still linked (an unlink rewrites its predecessor's next pointer).
      size_t next = pos + 1;
      if (b.seq.load(std::memory_order_acquire) != seq) {
        uint32_t now_seq;
        h.ChainIds(i, &now, &now_seq);
        while (next < chain.size() &&
               std::find(now.begin(), now.end(), chain[next]) == now.end()) {
          ++next;
        }
      }
      const uint32_t id = chain[pos];
      ++visited;
      if (fn(arg, h.ElemKey(id), h.ElemValue(id) + cpu_offset) != 0) {
        return visited;
      }
      pos = next;
    }
  }
  return visited;
}

}  // namespace bpfemu
