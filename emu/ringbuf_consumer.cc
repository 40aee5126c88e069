// SPDX-License-Identifier: Apache-2.0
#include "emu/ringbuf_consumer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <utility>
#include <vector>

#include "emu/syscall.h"

namespace bpfemu {
namespace {

int Clamp(long v) { return v > INT_MAX ? INT_MAX : static_cast<int>(v); }

// Bumped in every forked child: a RingBuffer whose generation differs was
// copied by fork and owns none of the threads it records.
std::atomic<uint64_t> g_fork_generation{0};

uint64_t ForkGeneration() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] {
      g_fork_generation.fetch_add(1, std::memory_order_relaxed);
    });
    return true;
  }();
  (void)registered;
  return g_fork_generation.load(std::memory_order_relaxed);
}

}  // namespace

RingBuffer::RingBuffer() : fork_generation_(ForkGeneration()) {}

void* RingBuffer::WatchLoop(void* arg) {
  auto* w = static_cast<Watcher*>(arg);
  uint32_t seen = w->seen;
  const uint64_t one = 1;
  while (w->stop.load(std::memory_order_acquire) == 0) {
    w->map->WaitForWakeup(seen, &w->stop);
    const uint32_t now = w->map->wakeups().load(std::memory_order_acquire);
    if (now != seen) {
      seen = now;
      (void)!write(w->event_fd, &one, sizeof(one));
    }
  }
  return nullptr;
}

int RingBuffer::StartWatcher(Ring& r) {
  auto w = std::make_unique<Watcher>();
  w->map = r.map.get();
  w->event_fd = r.event_fd;
  // Wake-ups before this point need no signal: Poll sees the data itself.
  w->seen = r.map->wakeups().load(std::memory_order_acquire);
  // The thread takes no signals: they stay with the application's threads.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const int e = pthread_create(&w->thread, nullptr, &WatchLoop, w.get());
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (e != 0) return -e;
  r.watcher = std::move(w);
  return 0;
}

void RingBuffer::AdoptAfterFork() {
  const uint64_t gen = ForkGeneration();
  if (gen == fork_generation_) return;
  fork_generation_ = gen;
  for (Ring& r : rings_) {
    // The parent's thread does not exist here; its record is dropped
    // without a join.
    r.watcher.reset();
    (void)StartWatcher(r);  // without it, only the level is seen
  }
}

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
  const bool own_threads = ForkGeneration() == fork_generation_;
  for (Ring& r : rings_) {
    if (r.watcher != nullptr && own_threads) {
      RingbufMap::StopWaiter(&r.watcher->stop);
      pthread_join(r.watcher->thread, nullptr);
    }
    close(r.event_fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

int RingBuffer::EpollFd() {
  AdoptAfterFork();
  return epoll_fd_;
}

int RingBuffer::Add(int map_fd, RingBufferSampleFn cb, void* ctx) {
  std::shared_ptr<Map> map = MapFromFd(map_fd);
  if (map == nullptr) {
    // bpf_obj_get_info_by_fd: a closed fd is EBADFD, another file EINVAL.
    return fcntl(map_fd, F_GETFD) == -1 ? -EBADFD : -EINVAL;
  }
  auto ringbuf = std::dynamic_pointer_cast<RingbufMap>(map);
  if (ringbuf == nullptr || map->type() != BPF_MAP_TYPE_RINGBUF) {
    return -EINVAL;  // not BPF_MAP_TYPE_RINGBUF
  }
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
  AdoptAfterFork();  // before the new watcher, which this process owns
  Ring ring{map_fd, std::move(ringbuf), cb, ctx, efd, nullptr};
  // EPOLL_CTL_ADD polls the ring: one holding data is listed at once.
  ring.listed = ring.map->producer_pos().load(std::memory_order_acquire) !=
                ring.map->consumer_pos().load(std::memory_order_acquire);
  if (int e = StartWatcher(ring); e != 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, efd, nullptr);
    close(efd);
    return e;
  }
  rings_.push_back(std::move(ring));
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
      uint32_t len =
          __atomic_load_n(reinterpret_cast<uint32_t*>(hdr), __ATOMIC_ACQUIRE);
      // Not committed yet, unless its producer died holding it.
      if ((len & kRingbufBusyBit) && !m.ReapDeadRecord(cons & m.mask(), &len)) {
        return cnt;
      }
      // Nor does it write a record longer than the ring.
      if (RingbufRecordFootprint(len) > m.mask() + 1) {
        return cnt > 0 ? cnt : -EINVAL;
      }
      got_new = true;
      cons += RingbufRecordFootprint(len);
      if (!(len & kRingbufDiscardBit)) {
        const int err =
            r.cb(r.ctx, hdr + kRingbufHdrSize, len & ~kRingbufDiscardBit);
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

bool RingBuffer::DrainEvents(Ring& r) {
  uint64_t n;
  bool woken = false;
  while (read(r.event_fd, &n, sizeof(n)) == sizeof(n)) woken = true;
  // A wake-up puts the ring on the epoll ready list.
  if (woken) r.listed = true;
  return woken;
}

int RingBuffer::Consume() {
  AdoptAfterFork();
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
  AdoptAfterFork();
  // epoll's ready list (fs/eventpoll.c, level-triggered items): a ring is
  // on it after a wake-up (or when it held data at ring_buffer__add), and
  // stays while each epoll_wait finds data in it; a ring found empty leaves
  // it, and then only a wake-up brings it back, so records committed with
  // BPF_RB_NO_WAKEUP meanwhile wait (measured on 6.18 by
  // RingbufDiscardWakeups in tests/examples/examples_compare_test.cc).
  for (Ring& r : rings_) DrainEvents(r);  // wake-ups already signalled
  std::vector<size_t> ready;
  for (size_t i = 0; i < rings_.size(); ++i) {
    Ring& r = rings_[i];
    if (!r.listed) continue;
    const RingbufMap& m = *r.map;
    if (m.producer_pos().load(std::memory_order_acquire) !=
        m.consumer_pos().load(std::memory_order_acquire)) {
      ready.push_back(i);
    } else {
      r.listed = false;
    }
  }
  if (ready.empty()) {
    // Otherwise only a wake-up (or the timeout) ends the wait.
    std::vector<epoll_event> events(rings_.size());
    const int n = epoll_wait(epoll_fd_, events.data(),
                             static_cast<int>(events.size()), timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; ++i) {
      const size_t idx = events[i].data.u32;
      rings_[idx].listed = true;
      ready.push_back(idx);
    }
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
