// SPDX-License-Identifier: Apache-2.0
#include "emu/ringbuf.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <new>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "emu/errno.h"
#include "emu/local_mutex.h"

namespace bpfemu {

namespace {
constexpr uint32_t kInflightSlots = 128;
}  // namespace

// Lives in page 0 after the MapHeader.
struct RingbufMap::RingbufBody {
  ShmMutex lock;                  // rb->spinlock: serialises producers
  std::atomic<uint32_t> wakeups;  // wake-ups so far; the futex word
  uint64_t ring_id;
  // Consumer watchers that may be asleep on `wakeups`, in any process. A
  // watcher killed asleep leaves it raised: producers then make one futex
  // call per wake-up that wakes nobody. Any value is safe to read.
  std::atomic<uint32_t> sleepers;
  // Reserved records not yet committed, with the thread that holds each
  // (issue 20): a producer killed between reserve and commit would leave
  // its record busy for ever, stopping every consumer at it and, once the
  // ring fills, every producer. A busy record whose holder is dead is
  // committed as discarded on its behalf (ReapDeadRecord). Slots are found
  // by probing from the record's offset; tid 0 is a free slot. Any value
  // is safe to read: an entry only ever names a record to check.
  struct Inflight {
    std::atomic<uint64_t> offset;  // the header's offset in the data area
    std::atomic<uint32_t> tid;
    uint32_t reserved;
  };
  Inflight inflight[kInflightSlots];
  // BPF_MAP_TYPE_USER_RINGBUF's rb->busy (user_ringbuf.h): 0 or the tid of
  // the thread draining the ring.
  std::atomic<uint32_t> drain_owner;
};

namespace {

constexpr uint64_t P = kRingbufPageSize;
constexpr uint64_t kConsumerPage = 1;
constexpr uint64_t kProducerPage = 2;
constexpr uint64_t kDataPage = 3;
// RINGBUF_MAX_RECORD_SZ.
constexpr uint64_t kMaxRecordSize = UINT32_MAX / 4;
// DYNPTR_MAX_SIZE (include/linux/bpf.h).
constexpr uint64_t kDynptrMaxSize = (1u << 24) - 1;
// bpf_ringbuf_query flags and wake-up flags (include/uapi/linux/bpf.h).
constexpr uint64_t kNoWakeup = BPF_RB_NO_WAKEUP;
constexpr uint64_t kForceWakeup = BPF_RB_FORCE_WAKEUP;

uint32_t LoadAcquire32(const void* p) {
  return __atomic_load_n(static_cast<const uint32_t*>(p), __ATOMIC_ACQUIRE);
}

long Futex(std::atomic<uint32_t>* word, int op, uint32_t val,
           const timespec* timeout = nullptr) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, val, timeout,
                 nullptr, 0);
}

// futex_waitv (Linux 5.16) is used while it works; without it (ENOSYS under
// some sandboxes) a sleeper re-checks its stop word every 50 ms.
std::atomic<bool> g_waitv_missing{false};
constexpr timespec kStopCheckInterval = {0, 50 * 1000 * 1000};

// The rings mapped in this process, by region base (for FromSample).
struct SampleRegistry {
  LocalMutex mu;
  absl::flat_hash_map<const uint8_t*, RingbufMap*> rings ABSL_GUARDED_BY(mu);

  static SampleRegistry& Get() {
    static auto* r = new SampleRegistry;
    return *r;
  }
};

}  // namespace

const MapOps RingbufMap::kOps = {&RingbufMap::AllocCheck, &RingbufMap::Alloc,
                                 &RingbufMap::Attach, /*meta_alloc=*/nullptr,
                                 /*value_spin_lock=*/false};

// The ring buffer has no map_alloc_check; ringbuf_map_alloc does it all.
int RingbufMap::AllocCheck(const MapAttr&) { return 0; }

RingbufMap* RingbufMap::Make(ShmRegion region) {
  return new RingbufMap(std::move(region));
}

int RingbufMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                      std::unique_ptr<Map>* out) {
  return AllocWith(&Make, attr, nr_cpus, fd, out);
}

int RingbufMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  return AttachWith(&Make, std::move(region), out);
}

int RingbufMap::AllocWith(Factory make, const MapAttr& attr, uint32_t nr_cpus,
                          int* fd, std::unique_ptr<Map>* out) {
  if (attr.map_flags & ~uint32_t{BPF_F_NUMA_NODE}) return -EINVAL;
  const uint32_t size = attr.max_entries;
  if (attr.key_size != 0 || attr.value_size != 0 || size == 0 ||
      (size & (size - 1)) != 0 || size % P != 0) {
    return -EINVAL;
  }
  static_assert(sizeof(MapHeader) + sizeof(RingbufBody) <= kHeadAtEndBytes);
  static_assert(kHeadAtEndBytes == P);
  const uint64_t file_size = RegionSize(size);
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-ringbuf", file_size, &map_fd, &region,
                                  /*mirror_tail=*/0, /*reserve=*/UINT64_MAX,
                                  /*head_at_end=*/true);
      err != 0) {
    return err;
  }
  InitHeader(attr, size, nr_cpus, /*seed=*/0, file_size,
             region.At<MapHeader>(0));
  auto* body = new (region.At<void>(kBodyOffset)) RingbufBody{};
  body->ring_id = absl::Uniform<uint64_t>(absl::BitGen());
  auto map = std::unique_ptr<RingbufMap>(make(std::move(region)));
  map->ring_id_ = body->ring_id;
  *fd = map_fd;
  *out = std::move(map);
  return 0;
}

// Validated before use: generic header checks, ringbuf_map_alloc's checks
// on the header's attributes (max_entries a power-of-two multiple of the
// page size), the region size recomputed as Alloc computes it (both data
// copies), the whole of it mapped, and the head-at-end layout. Positions
// change and are checked where they are read (Reserve,
// RingBuffer::ProcessRing).
int RingbufMap::AttachWith(Factory make, ShmRegion region,
                           std::unique_ptr<Map>* out) {
  const uint64_t mapped = region.mapped_size();
  auto map = std::unique_ptr<RingbufMap>(make(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  const uint64_t size = h.max_entries;
  if ((h.map_flags & ~uint32_t{BPF_F_NUMA_NODE}) != 0 || h.key_size != 0 ||
      h.value_size != 0 || size == 0 || (size & (size - 1)) != 0 ||
      size % P != 0 || h.region_size != RegionSize(size) ||
      mapped != h.region_size || !map->region().head_at_end()) {
    return -EINVAL;
  }
  map->ring_id_ = __atomic_load_n(&map->body_->ring_id, __ATOMIC_RELAXED);
  *out = std::move(map);
  return 0;
}

RingbufMap::RingbufMap(ShmRegion region) : Map(std::move(region)) {
  body_ = this->region().At<RingbufBody>(kBodyOffset);
  consumer_pos_ = this->region().At<std::atomic<uint64_t>>(kConsumerPage * P);
  producer_pos_ = this->region().At<std::atomic<uint64_t>>(kProducerPage * P);
  pending_pos_ =
      this->region().At<std::atomic<uint64_t>>(kProducerPage * P + 8);
  data_ = this->region().At<uint8_t>(kDataPage * P);
  SampleRegistry& r = SampleRegistry::Get();
  LocalMutexLock l(&r.mu);
  r.rings[this->region().base()] = this;
}

RingbufMap::~RingbufMap() {
  SampleRegistry& r = SampleRegistry::Get();
  LocalMutexLock l(&r.mu);
  r.rings.erase(region().base());
}

RingbufMap* RingbufMap::FromSample(const void* sample) {
  const auto* hdr = static_cast<const uint8_t*>(sample) - kRingbufHdrSize;
  const uint32_t pg_off = __atomic_load_n(
      reinterpret_cast<const uint32_t*>(hdr + 4), __ATOMIC_RELAXED);
  const auto page = reinterpret_cast<uintptr_t>(hdr) & ~uintptr_t{P - 1};
  const auto* base =
      reinterpret_cast<const uint8_t*>(page - uintptr_t{pg_off} * P);
  SampleRegistry& r = SampleRegistry::Get();
  LocalMutexLock l(&r.mu);
  auto it = r.rings.find(base);
  return it == r.rings.end() ? nullptr : it->second;
}

std::atomic<uint32_t>& RingbufMap::wakeups() const { return body_->wakeups; }
std::atomic<uint32_t>& RingbufMap::drain_owner() const {
  return body_->drain_owner;
}
uint64_t RingbufMap::ring_id() const { return ring_id_; }

int RingbufMap::LookupElem(const void*, void*, uint64_t) { return -kENOTSUPP; }
int RingbufMap::UpdateElem(const void*, const void*, uint64_t) {
  return -kENOTSUPP;
}
int RingbufMap::DeleteElem(const void*) { return -kENOTSUPP; }
int RingbufMap::GetNextKey(const void*, void*) { return -kENOTSUPP; }
void* RingbufMap::LookupElemProg(const void*) { return nullptr; }

// __bpf_ringbuf_reserve().
void* RingbufMap::Reserve(uint64_t size, uint64_t flags) {
  if (flags != 0) return nullptr;
  if (size > kMaxRecordSize) return nullptr;
  const uint64_t len = RingbufRecordFootprint(static_cast<uint32_t>(size));
  if (len > mask() + 1) return nullptr;
  const uint64_t cons_pos = consumer_pos_->load(std::memory_order_acquire);
  // A dead holder left at most a pending_pos advanced over committed
  // records (any prefix of that walk is valid); producer_pos and the record
  // header are stored after every check. A record it reserved and never
  // committed stays busy, as a program that never submits leaves it.
  ShmMutexLock l(&body_->lock);
  LockPointReached(LockPoint::kRingbufLocked);
  const uint64_t prod_pos = producer_pos_->load(std::memory_order_relaxed);
  const uint64_t new_prod_pos = prod_pos + len;
  // Advance past records committed since the last reservation; a busy one
  // stops the walk (the consumer may have moved past it).
  uint64_t pend_pos = pending_pos_->load(std::memory_order_relaxed);
  // The kernel's positions never let pending fall behind the producer by
  // more than the ring, nor the producer run ahead of the consumer by more:
  // positions that say otherwise were corrupted, and nothing is reserved.
  if (prod_pos - pend_pos > mask() + 1 || prod_pos - cons_pos > mask() + 1) {
    return nullptr;
  }
  // Each step advances by at least 8 bytes and stops at the producer. A
  // record a dead producer left busy is committed as discarded first.
  while (static_cast<int64_t>(prod_pos - pend_pos) > 0) {
    uint32_t hdr_len = LoadAcquire32(data_ + (pend_pos & mask()));
    if ((hdr_len & kRingbufBusyBit) &&
        !ReapDeadRecord(pend_pos & mask(), &hdr_len)) {
      break;
    }
    pend_pos += RingbufRecordFootprint(hdr_len);
  }
  pending_pos_->store(pend_pos, std::memory_order_relaxed);
  // Never let the producer overrun the consumer or an uncommitted record.
  if (new_prod_pos - cons_pos > mask() || new_prod_pos - pend_pos > mask()) {
    return nullptr;
  }
  uint8_t* hdr = data_ + (prod_pos & mask());
  const uint32_t pg_off =
      static_cast<uint32_t>((hdr - region().base()) / kRingbufPageSize);
  __atomic_store_n(reinterpret_cast<uint32_t*>(hdr + 4), pg_off,
                   __ATOMIC_RELAXED);
  __atomic_store_n(reinterpret_cast<uint32_t*>(hdr),
                   static_cast<uint32_t>(size) | kRingbufBusyBit,
                   __ATOMIC_RELAXED);
  producer_pos_->store(new_prod_pos, std::memory_order_release);
  // Tracked once reserved: a producer killed before this line leaves its
  // record untracked (busy, as before), never an entry without a record.
  TrackReservation(prod_pos & mask());
  return hdr + kRingbufHdrSize;
}

namespace {
uint32_t FirstSlot(uint64_t offset) {
  return static_cast<uint32_t>(offset / 8) % kInflightSlots;
}
}  // namespace

// REQUIRES: body_->lock held.
void RingbufMap::TrackReservation(uint64_t offset) {
  const uint32_t first = FirstSlot(offset);
  for (uint32_t i = 0; i < kInflightSlots; ++i) {
    auto& slot = body_->inflight[(first + i) % kInflightSlots];
    if (slot.tid.load(std::memory_order_relaxed) != 0) continue;
    slot.offset.store(offset, std::memory_order_relaxed);
    slot.tid.store(CurrentTid(), std::memory_order_release);
    return;
  }
  // More records in flight than slots: this one is not tracked, and stays
  // busy if its producer dies (docs/reliability.md).
}

std::atomic<uint32_t>* RingbufMap::FindReservation(uint64_t offset) const {
  const uint32_t first = FirstSlot(offset);
  for (uint32_t i = 0; i < kInflightSlots; ++i) {
    auto& slot = body_->inflight[(first + i) % kInflightSlots];
    if (slot.tid.load(std::memory_order_acquire) != 0 &&
        slot.offset.load(std::memory_order_relaxed) == offset) {
      return &slot.tid;
    }
  }
  return nullptr;
}

bool RingbufMap::ReapDeadRecord(uint64_t offset, uint32_t* hdr_len) {
  std::atomic<uint32_t>* holder = FindReservation(offset);
  if (holder == nullptr) return false;
  uint32_t tid = holder->load(std::memory_order_acquire);
  if (tid == 0 || OwnerAlive(tid)) return false;
  // The holder is dead: its commit, as a discard. The header may only move
  // from the busy value seen to the discarded one, once.
  auto* len = reinterpret_cast<uint32_t*>(data_ + offset);
  uint32_t busy = *hdr_len;
  const uint32_t done = (busy & ~kRingbufBusyBit) | kRingbufDiscardBit;
  if (!__atomic_compare_exchange_n(len, &busy, done, false, __ATOMIC_SEQ_CST,
                                   __ATOMIC_ACQUIRE)) {
    *hdr_len = busy;  // someone reaped it already
    return !(busy & kRingbufBusyBit);
  }
  holder->compare_exchange_strong(tid, 0, std::memory_order_release);
  *hdr_len = done;
  // bpf_ringbuf_commit's wake-up rule: a consumer waiting at this record.
  if ((consumer_pos_->load(std::memory_order_acquire) & mask()) == offset) {
    Wake();
  }
  return true;
}

// bpf_ringbuf_commit().
void RingbufMap::Commit(void* sample, uint64_t flags, bool discard) {
  uint8_t* hdr = static_cast<uint8_t*>(sample) - kRingbufHdrSize;
  auto* len = reinterpret_cast<uint32_t*>(hdr);
  // The record's offset in the first data copy; the sample pointer is always
  // in the first copy.
  const uint64_t rec_pos = static_cast<uint64_t>(hdr - data_);
  const uint32_t cur = __atomic_load_n(len, __ATOMIC_RELAXED);
  // A record committed already (the verifier lets no program commit one
  // twice): nothing to do, rather than making it busy again.
  if (!(cur & kRingbufBusyBit)) return;
  if (std::atomic<uint32_t>* holder = FindReservation(rec_pos)) {
    holder->store(0, std::memory_order_release);
  }
  uint32_t new_len = cur ^ kRingbufBusyBit;
  if (discard) new_len |= kRingbufDiscardBit;
  // Both copies of the data show the record before it is committed.
  SyncCopies(rec_pos, RingbufRecordFootprint(new_len));
  __atomic_store_n(reinterpret_cast<uint32_t*>(data_ + mask() + 1 + rec_pos),
                   new_len, __ATOMIC_RELAXED);
  __atomic_exchange_n(len, new_len, __ATOMIC_SEQ_CST);
  const uint64_t cons_pos =
      consumer_pos_->load(std::memory_order_acquire) & mask();
  if (flags & kForceWakeup) {
    Wake();
  } else if (cons_pos == rec_pos && !(flags & kNoWakeup)) {
    Wake();
  }
}

// The data area is stored twice (ringbuf.h): a record at `offset` of
// `footprint` bytes was written from data_ + offset on, its end past the
// first copy landing at the start of the second. Each part is copied to the
// other copy, so that both read as the kernel's one set of pages mapped
// twice: a reader that masks a position (cilium/ebpf reads a sample at
// (pos + 8) & mask) and one that reads on from the header both see it.
void RingbufMap::SyncCopies(uint64_t offset, uint64_t footprint) {
  const uint64_t size = mask() + 1;
  if (offset >= size || footprint > size) return;
  auto copy = [](uint8_t* dst, const uint8_t* src, uint64_t n) {
    for (uint64_t i = 0; i + 8 <= n; i += 8) {
      __atomic_store_n(
          reinterpret_cast<uint64_t*>(dst + i),
          __atomic_load_n(reinterpret_cast<const uint64_t*>(src + i),
                          __ATOMIC_RELAXED),
          __ATOMIC_RELAXED);
    }
  };
  const uint64_t first = std::min(footprint, size - offset);
  copy(data_ + size + offset, data_ + offset, first);
  if (footprint > first) copy(data_, data_ + size, footprint - first);
}

long RingbufMap::ReserveDynptr(uint64_t size, uint64_t flags, void** sample) {
  *sample = nullptr;
  if (flags != 0) return -EINVAL;
  if (size > kDynptrMaxSize) return -E2BIG;  // bpf_dynptr_check_size
  *sample = Reserve(size, 0);
  return *sample != nullptr ? 0 : -EINVAL;
}

void RingbufMap::Submit(void* sample, uint64_t flags) {
  Commit(sample, flags, /*discard=*/false);
}

void RingbufMap::Discard(void* sample, uint64_t flags) {
  Commit(sample, flags, /*discard=*/true);
}

long RingbufMap::Output(const void* data, uint64_t size, uint64_t flags) {
  if (flags & ~(kNoWakeup | kForceWakeup)) return -EINVAL;
  void* rec = Reserve(size, 0);
  if (rec == nullptr) return -EAGAIN;
  CopyToMap(rec, data, size);
  Commit(rec, flags, /*discard=*/false);
  return 0;
}

uint64_t RingbufMap::Query(uint64_t flags) const {
  switch (flags) {
    case BPF_RB_AVAIL_DATA:
      return producer_pos_->load(std::memory_order_acquire) -
             consumer_pos_->load(std::memory_order_acquire);
    case BPF_RB_RING_SIZE:
      return mask() + 1;
    case BPF_RB_CONS_POS:
      return consumer_pos_->load(std::memory_order_acquire);
    case BPF_RB_PROD_POS:
      return producer_pos_->load(std::memory_order_acquire);
    default:
      return 0;
  }
}

// bpf_map_mmap() / ringbuf_map_mmap_kern().
void* RingbufMap::Mmap(int fd, size_t length, int prot, int flags,
                       uint64_t offset, int* err) {
  if (!(flags & MAP_SHARED) || length == 0 || offset % P != 0) {
    *err = -EINVAL;
    return nullptr;
  }
  if (prot & PROT_EXEC) {
    *err = -EPERM;
    return nullptr;
  }
  // ringbuf_map_mmap_kern: only the consumer page may be writable.
  if ((prot & PROT_WRITE) && (offset != 0 || length != P)) {
    *err = -EPERM;
    return nullptr;
  }
  return MapUserPages(fd, length, prot, offset, err);
}

void* RingbufMap::MapUserPages(int fd, size_t length, int prot, uint64_t offset,
                               int* err) {
  const uint64_t S = max_entries();
  const uint64_t len = RoundUp(length, P);
  if (offset + len > 2 * P + 2 * S) {  // remap_vmalloc_range
    *err = -EINVAL;
    return nullptr;
  }
  const MappingFd map_fd(fd, prot);
  if (map_fd.fd() < 0) {
    *err = map_fd.fd();
    return nullptr;
  }
  // The file shows the kernel's user offsets (head-at-end, ringbuf.h): the
  // consumer and producer pages, then the data and its second copy.
  void* base = mmap(nullptr, len, prot, MAP_SHARED, map_fd.fd(),
                    static_cast<off_t>(offset));
  if (base == MAP_FAILED) {
    *err = -ENOMEM;
    return nullptr;
  }
  *err = 0;
  return base;
}

// rb->waitq's wake_up_all, across processes: the count moves first, then
// the sleepers are read. A sleeper raises `sleepers` before it compares the
// count (WaitForWakeup), so of the two orders one always sees the other: the
// producer calls FUTEX_WAKE, or the sleeper finds the new count and does not
// sleep. Both sides are sequentially consistent for that reason.
void RingbufMap::Wake() {
  body_->wakeups.fetch_add(1, std::memory_order_seq_cst);
  if (body_->sleepers.load(std::memory_order_seq_cst) != 0) {
    Futex(&body_->wakeups, FUTEX_WAKE, INT_MAX);
  }
}

void RingbufMap::WaitForWakeup(uint32_t seen, std::atomic<uint32_t>* stop,
                               const timespec* deadline) {
  body_->sleepers.fetch_add(1, std::memory_order_seq_cst);
  if (body_->wakeups.load(std::memory_order_seq_cst) == seen &&
      stop->load(std::memory_order_seq_cst) == 0) {
    bool waited = false;
    if (!g_waitv_missing.load(std::memory_order_relaxed)) {
      // Both words are compared by the kernel as it queues the sleeper: a
      // wake-up or a stop that lands first makes it return at once.
      futex_waitv w[2] = {};
      w[0].uaddr = reinterpret_cast<uintptr_t>(&body_->wakeups);
      w[0].val = seen;
      w[0].flags = FUTEX_32;  // shared: producers are in other processes
      w[1].uaddr = reinterpret_cast<uintptr_t>(stop);
      w[1].val = 0;
      w[1].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
      // EAGAIN: a word had changed; EINTR: a signal. Any other failure
      // (ENOSYS, or EPERM from a seccomp filter) would return at once
      // forever, so the timed wait takes over.
      if (syscall(SYS_futex_waitv, w, 2, 0, deadline, CLOCK_MONOTONIC) == -1 &&
          errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
        g_waitv_missing.store(true, std::memory_order_relaxed);
      } else {
        waited = true;
      }
    }
    if (!waited) {
      timespec wait = kStopCheckInterval;
      if (deadline != nullptr) {
        timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        const int64_t left = (deadline->tv_sec - now.tv_sec) * 1000000000LL +
                             (deadline->tv_nsec - now.tv_nsec);
        const int64_t cap = kStopCheckInterval.tv_nsec;
        const int64_t ns = left <= 0 ? 0 : (left < cap ? left : cap);
        wait = {0, static_cast<long>(ns)};
      }
      if (wait.tv_nsec > 0) Futex(&body_->wakeups, FUTEX_WAIT, seen, &wait);
    }
  }
  body_->sleepers.fetch_sub(1, std::memory_order_seq_cst);
}

void RingbufMap::StopWaiter(std::atomic<uint32_t>* stop) {
  stop->store(1, std::memory_order_seq_cst);
  Futex(stop, FUTEX_WAKE_PRIVATE, INT_MAX);
}

}  // namespace bpfemu
