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
//   * Consume() processes every ring; Poll(timeout_ms) processes rings with
//     data when called (the level), otherwise waits up to timeout_ms for a
//     producer wake-up (bpf_ringbuf_commit's rule: by default only when the
//     consumer has caught up, always with BPF_RB_FORCE_WAKEUP, never with
//     BPF_RB_NO_WAKEUP) and processes the rings that were woken. Both return
//     the number of records (clamped to INT_MAX) or the first error.
//   * EpollFd() is a real epoll descriptor; it becomes readable on wake-ups.
//
// Differences from libbpf: wake-ups reach consumers in the producing
// process only (see ringbuf.h); the rings are read through the emulator's
// own mapping rather than user mmaps.

#ifndef BPFEMU_EMU_RINGBUF_CONSUMER_H_
#define BPFEMU_EMU_RINGBUF_CONSUMER_H_

#include <cstddef>
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
  int EpollFd() const { return epoll_fd_; }

 private:
  struct Ring {
    int map_fd;
    std::shared_ptr<RingbufMap> map;
    RingBufferSampleFn cb;
    void* ctx;
    int event_fd;
  };

  RingBuffer() = default;
  // ringbuf_process_ring(): records processed or the callback's error.
  static long ProcessRing(Ring& r);
  static void DrainEvents(const Ring& r);

  int epoll_fd_ = -1;
  std::vector<Ring> rings_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_RINGBUF_CONSUMER_H_
