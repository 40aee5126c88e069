// SPDX-License-Identifier: Apache-2.0
// File: user_ringbuf.h
//
// UserRingbufMap mirrors the user ring buffer half of kernel/bpf/ringbuf.c
// (Linux 6.18) for BPF_MAP_TYPE_USER_RINGBUF: user_ringbuf_map_ops (the same
// ringbuf_map_alloc, element ops and memlock as RINGBUF, its own
// ringbuf_map_mmap_user), __bpf_user_ringbuf_peek,
// __bpf_user_ringbuf_sample_release and bpf_user_ringbuf_drain.
//
// The region is RingbufMap's (ringbuf.h), with the roles of the two
// position pages swapped: userspace produces (libbpf's user_ring_buffer,
// compat/user_ringbuf_compat.cc) by writing records into the data pages and
// advancing producer_pos, both mapped writable; BPF programs consume with
// bpf_user_ringbuf_drain(), which advances consumer_pos, a page user
// mappings may only read. Everything the producer writes - the producer
// position and each record header - is untrusted and checked where it is
// read, exactly as the kernel checks it (Peek).
//
// Wake-ups: a drain that consumed a sample (or any drain with
// BPF_RB_FORCE_WAKEUP, none with BPF_RB_NO_WAKEUP) bumps the ring's wake-up
// count and wakes its sleepers in any process (RingbufMap::Wake), which is
// what a producer blocked in user_ring_buffer__reserve_blocking waits on,
// as the kernel's ringbuf_map_poll_user reports EPOLLOUT.

#ifndef BPFEMU_EMU_USER_RINGBUF_H_
#define BPFEMU_EMU_USER_RINGBUF_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/ringbuf.h"
#include "emu/shm.h"

namespace bpfemu {

// BPF_MAX_USER_RINGBUF_SAMPLES (include/linux/bpf.h): the most samples one
// drain looks at, discarded ones included.
inline constexpr uint64_t kMaxUserRingbufSamples = 128 * 1024;

class UserRingbufMap : public RingbufMap {
 public:
  static const MapOps kOps;

  // What a drain calls for each sample: `sample` and `size` are the
  // record's payload (contiguous: the data area is mapped twice), `arg` the
  // caller's. The BPF callback's return value: 0 continues, anything else
  // stops the drain (the verifier allows only 0 and 1).
  using SampleFn = uint64_t (*)(void* arg, void* sample, uint32_t size);

  // bpf_user_ringbuf_drain(): the number of samples consumed or discarded,
  // or -EINVAL (flags other than BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP, or
  // a producer position that is not 8-byte aligned, or a record longer than
  // the producer position says was written), -E2BIG (a record longer than
  // the ring or than a dynptr can hold), -EBUSY (another drain of this ring
  // is running, in any process). An error stops the drain after the
  // samples before it were consumed.
  long Drain(SampleFn fn, void* arg, uint64_t flags);

  // The drain's busy word outlives a drain that never returns (a BPF
  // callback the interpreter stopped): BeginDrain / EndDrain are Drain's
  // two halves for callers that must release it themselves.
  [[nodiscard]] bool BeginDrain();
  void EndDrain();

  // ringbuf_map_mmap_user: any page but the consumer page may be writable.
  void* Mmap(int fd, size_t length, int prot, int flags, uint64_t offset,
             int* err) override;
  // The producer page and the data (file offsets P to 2P + 2S: the file is
  // head-at-end, ringbuf.h).
  void WritableFileRange(uint64_t* lo, uint64_t* hi) const override {
    *lo = 4096;
    *hi = 2 * 4096 + 2 * uint64_t{max_entries()};
  }

 private:
  explicit UserRingbufMap(ShmRegion region) : RingbufMap(std::move(region)) {}
  static RingbufMap* Make(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
  // __bpf_user_ringbuf_peek(): 0 with the next sample, -ENODATA (none, or
  // the producer still holds it), -EAGAIN (a discarded record, skipped),
  // -EINVAL / -E2BIG (a bogus producer position or header).
  int Peek(void** sample, uint32_t* size);
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_USER_RINGBUF_H_
