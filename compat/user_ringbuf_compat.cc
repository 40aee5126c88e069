// SPDX-License-Identifier: Apache-2.0
// libbpf's user ring buffer producer (tools/lib/bpf/ringbuf.c,
// user_ring_buffer__*) over emulated BPF_MAP_TYPE_USER_RINGBUF maps
// (emu/user_ringbuf.h), with libbpf 1.1.2's conventions: NULL with errno
// set (EINVAL for bad opts, a map of another type or a bad timeout; E2BIG
// for a size with the busy/discard bits or larger than the ring; ENOSPC
// when the ring has no room, also when a blocking reserve's timeout ends).
//
// The producer works on the mappings libbpf makes - the consumer page
// read-only, the producer page and the data (twice) read-write - and writes
// records as libbpf does: an 8-byte header {len | BUSY, 0} at the producer
// position, producer_pos advanced by round_up(len + 8, 8) with a release
// store, and at commit the header's length word exchanged for len (|
// DISCARD). Where libbpf sleeps in epoll_wait for the map's EPOLLOUT, a
// blocking reserve sleeps on the ring's wake-up count, which each draining
// BPF program bumps from any process (RingbufMap::WaitForWakeup).
//
// Plain extern "C" definitions of libbpf's names: never link this together
// with real libbpf.
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include "compat/libbpf_conventions.h"
#include "emu/syscall.h"
#include "emu/user_ringbuf.h"

struct user_ring_buffer {
  std::shared_ptr<bpfemu::UserRingbufMap> map;
  uint64_t* consumer_pos = nullptr;  // read-only mapping, one page
  uint64_t* producer_pos = nullptr;  // read-write: page + 2 * ring
  uint8_t* data = nullptr;
  uint64_t mask = 0;
  size_t page_size = 0;
  std::atomic<uint32_t> stop{0};  // never set: waits end by wake-up or time
};

namespace {

using bpfemu::compat::OptsValid;

constexpr uint32_t kBusy = BPF_RINGBUF_BUSY_BIT;
constexpr uint32_t kDiscard = BPF_RINGBUF_DISCARD_BIT;
constexpr uint32_t kHdr = BPF_RINGBUF_HDR_SZ;

void Unmap(user_ring_buffer* rb) {
  if (rb->consumer_pos != nullptr) munmap(rb->consumer_pos, rb->page_size);
  if (rb->producer_pos != nullptr) {
    munmap(rb->producer_pos, rb->page_size + 2 * (rb->mask + 1));
  }
  rb->consumer_pos = rb->producer_pos = nullptr;
}

// user_ringbuf_map(): 0 or -errno.
int MapRing(user_ring_buffer* rb, int map_fd) {
  bpfemu::BpfMapInfo info{};
  uint32_t len = sizeof(info);
  if (int err = bpfemu::MapGetInfoByFd(map_fd, &info, &len); err != 0) {
    return err;
  }
  if (info.type != BPF_MAP_TYPE_USER_RINGBUF) return -EINVAL;
  rb->map = std::dynamic_pointer_cast<bpfemu::UserRingbufMap>(
      bpfemu::MapFromFd(map_fd));
  if (rb->map == nullptr) return -EINVAL;
  rb->mask = info.max_entries - 1;
  int err = 0;
  void* cons =
      bpfemu::MapMmap(map_fd, rb->page_size, PROT_READ, MAP_SHARED, 0, &err);
  if (cons == nullptr) return err;
  rb->consumer_pos = static_cast<uint64_t*>(cons);
  const uint64_t mmap_sz = rb->page_size + 2 * uint64_t{info.max_entries};
  void* prod = bpfemu::MapMmap(map_fd, mmap_sz, PROT_READ | PROT_WRITE,
                               MAP_SHARED, rb->page_size, &err);
  if (prod == nullptr) return err;
  rb->producer_pos = static_cast<uint64_t*>(prod);
  rb->data = static_cast<uint8_t*>(prod) + rb->page_size;
  return 0;
}

void Commit(user_ring_buffer* rb, void* sample, bool discard) {
  const uint64_t off =
      rb->mask + 1 + (static_cast<uint8_t*>(sample) - rb->data) - kHdr;
  auto* len = reinterpret_cast<uint32_t*>(rb->data + (off & rb->mask));
  uint32_t new_len = __atomic_load_n(len, __ATOMIC_RELAXED) & ~kBusy;
  if (discard) new_len |= kDiscard;
  // Pairs with the drain's load-acquire of the header.
  __atomic_exchange_n(len, new_len, __ATOMIC_ACQ_REL);
}

int64_t NsBetween(const timespec& a, const timespec& b) {
  return (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
}

}  // namespace

extern "C" {

struct user_ring_buffer* user_ring_buffer__new(
    int map_fd, const struct user_ring_buffer_opts* opts) {
  if (!OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  auto* rb = new user_ring_buffer;
  rb->page_size = static_cast<size_t>(getpagesize());
  if (int err = MapRing(rb, map_fd); err != 0) {
    user_ring_buffer__free(rb);
    errno = -err;
    return nullptr;
  }
  return rb;
}

void user_ring_buffer__free(struct user_ring_buffer* rb) {
  if (rb == nullptr) return;
  Unmap(rb);
  delete rb;
}

void* user_ring_buffer__reserve(struct user_ring_buffer* rb, __u32 size) {
  if (size & (kBusy | kDiscard)) {
    errno = E2BIG;
    return nullptr;
  }
  const uint64_t cons = __atomic_load_n(rb->consumer_pos, __ATOMIC_ACQUIRE);
  const uint64_t prod = __atomic_load_n(rb->producer_pos, __ATOMIC_ACQUIRE);
  // libbpf's u32 arithmetic: a ring of 4 GiB is out of reach (max_entries
  // is a u32), and size < 2^30 here.
  const uint32_t max_size = static_cast<uint32_t>(rb->mask + 1);
  const uint32_t avail = max_size - static_cast<uint32_t>(prod - cons);
  const uint32_t total = (size + kHdr + 7) / 8 * 8;
  if (total > max_size) {
    errno = E2BIG;
    return nullptr;
  }
  if (avail < total) {
    errno = ENOSPC;
    return nullptr;
  }
  uint8_t* hdr = rb->data + (prod & rb->mask);
  const uint32_t len = size | kBusy, pad = 0;
  std::memcpy(hdr, &len, 4);
  std::memcpy(hdr + 4, &pad, 4);
  // Pairs with the drain's load-acquire of producer_pos.
  __atomic_store_n(rb->producer_pos, prod + total, __ATOMIC_RELEASE);
  return rb->data + ((prod + kHdr) & rb->mask);
}

void* user_ring_buffer__reserve_blocking(struct user_ring_buffer* rb,
                                         __u32 size, int timeout_ms) {
  if (timeout_ms < 0 && timeout_ms != -1) {
    errno = EINVAL;
    return nullptr;
  }
  timespec start{};
  if (timeout_ms != -1) clock_gettime(CLOCK_MONOTONIC, &start);
  int ms_remaining = timeout_ms;
  do {
    // The count is read before trying, so a drain that frees room after
    // the try ends the wait at once.
    const uint32_t seen = rb->map->wakeups().load(std::memory_order_seq_cst);
    void* sample = user_ring_buffer__reserve(rb, size);
    if (sample != nullptr) return sample;
    if (errno != ENOSPC) return nullptr;
    if (timeout_ms == -1) {
      rb->map->WaitForWakeup(seen, &rb->stop);
      continue;
    }
    timespec deadline = start;
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec += 1;
      deadline.tv_nsec -= 1000000000L;
    }
    rb->map->WaitForWakeup(seen, &rb->stop, &deadline);
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms_remaining =
        timeout_ms - static_cast<int>(NsBetween(start, now) / 1000000);
  } while (ms_remaining > 0);
  // One more try once the time is up, as libbpf makes.
  return user_ring_buffer__reserve(rb, size);
}

void user_ring_buffer__submit(struct user_ring_buffer* rb, void* sample) {
  Commit(rb, sample, /*discard=*/false);
}

void user_ring_buffer__discard(struct user_ring_buffer* rb, void* sample) {
  Commit(rb, sample, /*discard=*/true);
}

}  // extern "C"
