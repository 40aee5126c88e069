// SPDX-License-Identifier: Apache-2.0
#include "emu/ringbuf_consumer.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

#include "emu/syscall.h"

namespace bpfemu {
namespace {

int Clamp(long v) { return v > INT_MAX ? INT_MAX : static_cast<int>(v); }

}  // namespace

std::unique_ptr<RingBuffer> RingBuffer::New(int map_fd, RingBufferSampleFn cb,
                                            void* ctx, int* err) {
  std::unique_ptr<RingBuffer> rb(new RingBuffer);
  rb->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (rb->epoll_fd_ < 0) {
    *err = -errno;
    return nullptr;
  }
  if (int e = rb->Add(map_fd, cb, ctx); e != 0) {
    *err = e;
    return nullptr;
  }
  *err = 0;
  return rb;
}

RingBuffer::~RingBuffer() {
  for (Ring& r : rings_) {
    RingbufMap::RemoveWakeupFd(r.map->ring_id(), r.event_fd);
    close(r.event_fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

int RingBuffer::Add(int map_fd, RingBufferSampleFn cb, void* ctx) {
  std::shared_ptr<Map> map = MapFromFd(map_fd);
  if (map == nullptr) {
    // bpf_obj_get_info_by_fd: a closed fd is EBADFD, another file EINVAL.
    return fcntl(map_fd, F_GETFD) == -1 ? -EBADFD : -EINVAL;
  }
  auto ringbuf = std::dynamic_pointer_cast<RingbufMap>(map);
  if (ringbuf == nullptr) return -EINVAL;  // not BPF_MAP_TYPE_RINGBUF
  // The consumer position is written: libbpf's mmap of that page read-write
  // fails with EACCES on a read-only fd, as it does here on a read-only
  // mapping (Map::read_only).
  if (ringbuf->read_only()) return -EACCES;
  for (const Ring& r : rings_) {
    if (r.map_fd == map_fd) return -EEXIST;  // epoll_ctl(ADD) of the same fd
  }
  const int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return -errno;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = static_cast<uint32_t>(rings_.size());
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, efd, &ev) != 0) {
    int e = -errno;
    close(efd);
    return e;
  }
  RingbufMap::AddWakeupFd(ringbuf->ring_id(), efd);
  rings_.push_back(Ring{map_fd, std::move(ringbuf), cb, ctx, efd});
  return 0;
}

long RingBuffer::ProcessRing(Ring& r) {
  RingbufMap& m = *r.map;
  long cnt = 0;
  uint64_t cons = m.consumer_pos().load(std::memory_order_acquire);
  bool got_new;
  do {
    got_new = false;
    const uint64_t prod = m.producer_pos().load(std::memory_order_acquire);
    // A kernel producer never runs more than the ring's size ahead; a ring
    // whose positions say otherwise was corrupted: stop, as no record in it
    // can be trusted.
    if (prod - cons > m.mask() + 1) return cnt > 0 ? cnt : -EINVAL;
    while (cons < prod) {
      uint8_t* hdr = m.data() + (cons & m.mask());
      const uint32_t len =
          __atomic_load_n(reinterpret_cast<uint32_t*>(hdr), __ATOMIC_ACQUIRE);
      if (len & kRingbufBusyBit) return cnt;  // not committed yet
      // Nor does it write a record longer than the ring.
      if (RingbufRecordFootprint(len) > m.mask() + 1) {
        return cnt > 0 ? cnt : -EINVAL;
      }
      got_new = true;
      cons += RingbufRecordFootprint(len);
      if (!(len & kRingbufDiscardBit)) {
        const int err = r.cb(r.ctx, hdr + kRingbufHdrSize,
                             len & ~kRingbufDiscardBit);
        if (err < 0) {
          m.consumer_pos().store(cons, std::memory_order_release);
          return err;
        }
        ++cnt;
      }
      m.consumer_pos().store(cons, std::memory_order_release);
    }
  } while (got_new);
  return cnt;
}

void RingBuffer::DrainEvents(const Ring& r) {
  uint64_t n;
  while (read(r.event_fd, &n, sizeof(n)) == sizeof(n)) {
  }
}

int RingBuffer::Consume() {
  long total = 0;
  for (Ring& r : rings_) {
    DrainEvents(r);
    const long n = ProcessRing(r);
    if (n < 0) return static_cast<int>(n);
    total += n;
  }
  return Clamp(total);
}

int RingBuffer::Poll(int timeout_ms) {
  // A newly arriving waiter sees the level: rings holding data are
  // processed at once, whatever wake-up flags the producer used.
  std::vector<size_t> ready;
  for (size_t i = 0; i < rings_.size(); ++i) {
    const RingbufMap& m = *rings_[i].map;
    if (m.producer_pos().load(std::memory_order_acquire) !=
        m.consumer_pos().load(std::memory_order_acquire)) {
      ready.push_back(i);
    }
  }
  if (ready.empty()) {
    // Otherwise only a wake-up (or the timeout) ends the wait.
    std::vector<epoll_event> events(rings_.size());
    const int n = epoll_wait(epoll_fd_, events.data(),
                             static_cast<int>(events.size()), timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; ++i) ready.push_back(events[i].data.u32);
  }
  long total = 0;
  for (size_t i : ready) {
    Ring& r = rings_[i];
    DrainEvents(r);
    const long n = ProcessRing(r);
    if (n < 0) return static_cast<int>(n);
    total += n;
  }
  return Clamp(total);
}

}  // namespace bpfemu
