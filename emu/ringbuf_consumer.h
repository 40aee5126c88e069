// SPDX-License-Identifier: Apache-2.0
// File: ringbuf_consumer.h
//
// RingBuffer: the consumer side of BPF ring buffers, with libbpf 1.1.2's
// contract (src/ringbuf.c: ring_buffer__new / __add / __poll / __consume /
// __epoll_fd / __free), over emulated RINGBUF maps. The libbpf-compatible
// C symbols (issue: drop-in library) are thin wrappers around it.
//
// Contract:
//   * Records are delivered in producer (position) order; a record still
//     being written (BUSY) stops the ring until it is committed; discarded
//     records are skipped; the callback gets the exact requested size.
//   * A callback returning < 0 stops processing and that value is returned;
//     the failing record still counts as consumed. Positive returns are
//     ignored. consumer_pos is store-released after every record.
//   * Consume() processes every ring. Poll(timeout_ms) follows epoll's
//     ready list as libbpf's epoll_wait meets it: a ring is listed when it
//     holds data at Add, or after a producer wake-up (bpf_ringbuf_commit's
//     rule: by default only when the consumer has caught up, always with
//     BPF_RB_FORCE_WAKEUP, never with BPF_RB_NO_WAKEUP); a listed ring with
//     data is processed at once and stays listed, a listed ring found empty
//     is dropped. With no listed ring holding data, Poll waits up to
//     timeout_ms for a wake-up. So a record committed without a wake-up
//     after the ring was found empty waits for the next wake-up (or
//     Consume), as on the kernel (measured on 6.18). Both return the number
//     of records (clamped to INT_MAX) or the first error.
//   * EpollFd() is a real epoll descriptor; it becomes readable on wake-ups
//     from producers in any process (issue 20), as ringbuf_map_poll makes
//     it readable in the kernel.
//
// Wake-up path: each ring has an eventfd in the epoll set and a watcher
// thread (all signals blocked) asleep on the ring's futex word
// (RingbufMap::WaitForWakeup); it signals the eventfd when the word moves
// past the value it last saw. The thread sleeps in the kernel, never polls,
// and is stopped and joined by the destructor (ring_buffer__free).
//
// Fork: a child's copy owns no thread. Its first Poll, Consume or EpollFd
// starts its own watchers; until then the parent's (while it lives) signal
// the eventfds both share. Freeing the copy in the child joins nothing the
// child does not own.
//
// Shared state is a trust boundary: positions and record headers are
// checked before use (ProcessRing) and a crafted ring answers -EINVAL; any
// value of the wake-up words only causes spurious or missed wake-ups.
//
// Differences from libbpf: the rings are read through the emulator's own
// mapping rather than user mmaps; one thread per ring (libbpf has none: the
// kernel does that part).

#ifndef BPFEMU_EMU_RINGBUF_CONSUMER_H_
#define BPFEMU_EMU_RINGBUF_CONSUMER_H_

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "emu/ringbuf.h"

namespace bpfemu {

// ring_buffer_sample_fn.
using RingBufferSampleFn = int (*)(void* ctx, void* data, size_t size);

class RingBuffer {
 public:
  // ring_buffer__new(): nullptr on failure with *err = -errno (EBADFD for a
  // closed fd, EINVAL for a map that is not a ring buffer).
  static std::unique_ptr<RingBuffer> New(int map_fd, RingBufferSampleFn cb,
                                         void* ctx, int* err);
  ~RingBuffer();  // ring_buffer__free()
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  int Add(int map_fd, RingBufferSampleFn cb, void* ctx);  // 0 or -errno
  int Poll(int timeout_ms);
  int Consume();
  int EpollFd();

 private:
  // One ring's sleeper: lives at a fixed address while its thread runs.
  struct Watcher {
    RingbufMap* map;
    int event_fd;
    uint32_t seen;                  // wakeups() when the thread started
    std::atomic<uint32_t> stop{0};  // futex word of this process
    pthread_t thread{};
  };
  struct Ring {
    int map_fd;
    std::shared_ptr<RingbufMap> map;
    RingBufferSampleFn cb;
    void* ctx;
    int event_fd;
    std::unique_ptr<Watcher> watcher;  // null until started
    bool listed = false;               // on epoll's ready list (Poll)
  };

  RingBuffer();
  // ringbuf_process_ring(): records processed or the callback's error.
  static long ProcessRing(Ring& r);
  // Reads the ring's pending wake-ups (listing it if any); true if any.
  static bool DrainEvents(Ring& r);
  static void* WatchLoop(void* arg);
  // 0 or -errno (thread creation).
  static int StartWatcher(Ring& r);
  // After a fork, the child's copy starts watchers of its own.
  void AdoptAfterFork();

  int epoll_fd_ = -1;
  std::vector<Ring> rings_;
  uint64_t fork_generation_;  // the process generation owning the threads
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_RINGBUF_CONSUMER_H_
