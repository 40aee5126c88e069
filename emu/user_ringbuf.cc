// SPDX-License-Identifier: Apache-2.0
#include "emu/user_ringbuf.h"

#include <sys/mman.h>

#include <cerrno>
#include <utility>

#include "emu/errno.h"

namespace bpfemu {
namespace {

constexpr uint64_t P = kRingbufPageSize;
// DYNPTR_MAX_SIZE (include/linux/bpf.h): bpf_dynptr_check_size's bound.
constexpr uint64_t kDynptrMaxSize = (1u << 24) - 1;

}  // namespace

const MapOps UserRingbufMap::kOps = {
    &RingbufMap::AllocCheck, &UserRingbufMap::Alloc, &UserRingbufMap::Attach,
    /*meta_alloc=*/nullptr,
    /*value_spin_lock=*/false};

RingbufMap* UserRingbufMap::Make(ShmRegion region) {
  return new UserRingbufMap(std::move(region));
}

int UserRingbufMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                          std::unique_ptr<Map>* out) {
  return AllocWith(&Make, attr, nr_cpus, fd, out);
}

int UserRingbufMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  return AttachWith(&Make, std::move(region), out);
}

// ringbuf_map_mmap_user(), after bpf_map_mmap's generic checks (syscall.h
// MapMmap): a writable mapping may not start at the consumer page; the
// consumer, producer and data pages are otherwise mapped as for RINGBUF.
void* UserRingbufMap::Mmap(int fd, size_t length, int prot, int flags,
                           uint64_t offset, int* err) {
  if (!(flags & MAP_SHARED) || length == 0 || offset % P != 0) {
    *err = -EINVAL;
    return nullptr;
  }
  if ((prot & PROT_EXEC) || ((prot & PROT_WRITE) && offset == 0)) {
    *err = -EPERM;
    return nullptr;
  }
  return MapUserPages(fd, length, prot, offset, err);
}

bool UserRingbufMap::BeginDrain() {
  // atomic_try_cmpxchg(&rb->busy, 0, 1). A drainer that died (its process
  // killed mid-drain) leaves its tid behind: the word is taken over, as the
  // kernel's busy bit is always cleared by the drain that set it.
  std::atomic<uint32_t>& owner = drain_owner();
  const uint32_t me = CurrentTid();
  uint32_t cur = 0;
  if (owner.compare_exchange_strong(cur, me, std::memory_order_acquire)) {
    return true;
  }
  if (cur != me && !OwnerAlive(cur)) {
    return owner.compare_exchange_strong(cur, me, std::memory_order_acquire);
  }
  return false;
}

void UserRingbufMap::EndDrain() {
  // atomic_set_release(&rb->busy, 0): after every position store.
  drain_owner().store(0, std::memory_order_release);
}

int UserRingbufMap::Peek(void** sample, uint32_t* size) {
  const uint64_t ring = mask() + 1;
  const uint64_t prod_pos = producer_pos().load(std::memory_order_acquire);
  if (prod_pos % 8 != 0) return -EINVAL;
  const uint64_t cons_pos = consumer_pos().load(std::memory_order_acquire);
  if (cons_pos >= prod_pos) return -ENODATA;
  uint8_t* hdr = data() + (cons_pos & mask());
  const uint32_t hdr_len =
      __atomic_load_n(reinterpret_cast<uint32_t*>(hdr), __ATOMIC_ACQUIRE);
  const uint32_t bits = hdr_len & (kRingbufBusyBit | kRingbufDiscardBit);
  const uint32_t sample_len = hdr_len & ~bits;
  // round_up(sample_len + 8, 8) in u32, as the kernel computes it (no
  // wrap: sample_len < 2^30).
  const uint32_t total_len =
      static_cast<uint32_t>(RingbufRecordFootprint(sample_len));
  if (total_len > prod_pos - cons_pos) return -EINVAL;
  if (total_len > ring) return -E2BIG;
  if (sample_len > kDynptrMaxSize) return -E2BIG;
  if (bits & kRingbufDiscardBit) {
    consumer_pos().store(cons_pos + total_len, std::memory_order_release);
    return -EAGAIN;
  }
  if (bits & kRingbufBusyBit) return -ENODATA;
  // Within the two copies of the data: (cons_pos + 8) & mask < ring, and
  // sample_len + 8 <= ring.
  *sample = data() + ((cons_pos + kRingbufHdrSize) & mask());
  *size = sample_len;
  return 0;
}

long UserRingbufMap::Drain(SampleFn fn, void* arg, uint64_t flags) {
  if (flags & ~uint64_t{BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP}) {
    return -EINVAL;
  }
  if (!BeginDrain()) return -EBUSY;
  long samples = 0, discarded = 0, ret = 0;
  bool failed = false;
  for (; samples < static_cast<long>(kMaxUserRingbufSamples) && ret == 0;
       ++samples) {
    void* sample;
    uint32_t size;
    const int err = Peek(&sample, &size);
    if (err == -ENODATA) break;
    if (err == -EAGAIN) {
      ++discarded;
      continue;
    }
    if (err != 0) {
      ret = err;
      failed = true;
      break;
    }
    ret = static_cast<long>(fn(arg, sample, size));
    // __bpf_user_ringbuf_sample_release(): the drain owns consumer_pos.
    const uint64_t cons = consumer_pos().load(std::memory_order_relaxed);
    consumer_pos().store(cons + RingbufRecordFootprint(size),
                         std::memory_order_release);
  }
  if (!failed) ret = samples - discarded;
  EndDrain();
  if ((flags & BPF_RB_FORCE_WAKEUP) ||
      (!(flags & BPF_RB_NO_WAKEUP) && samples > 0)) {
    Wake();
  }
  return ret;
}

}  // namespace bpfemu
