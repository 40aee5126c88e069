// SPDX-License-Identifier: Apache-2.0
// File: ringbuf.h
//
// RingbufMap mirrors kernel/bpf/ringbuf.c (Linux 6.18) for
// BPF_MAP_TYPE_RINGBUF: ringbuf_map_alloc, __bpf_ringbuf_reserve,
// bpf_ringbuf_commit (submit / discard / output), bpf_ringbuf_query, and the
// element ops, which all fail with ENOTSUPP.
//
// Layout: the region is laid out like the kernel's struct bpf_ringbuf, page
// by page (P = 4096, S = max_entries, a power of two and a multiple of P):
//
//   page 0        MapHeader, then RingbufBody (producer lock, wake-up count)
//   page 1        consumer_pos (u64), written by the consumer
//   page 2        producer_pos (u64), then pending_pos (u64)
//   pages 3..     data, S bytes, then a second copy of the data, S bytes
//
// so a record header's pg_off, (header address - region base) >> 12, is the
// kernel's `3 + ((pos & mask) >> 12)`, and a record that wraps is contiguous
// in memory. The kernel maps the data pages twice in a row; here the second
// copy is stored, so that the file can show the kernel's user view to a
// process that maps it itself (a child under `bpfemu exec`, docs/exec.md):
// the file is head-at-end (shm.h), page 0 on its last page, so file offset
// 0 is the consumer page, P the producer page, 2P the data and 2P + S its
// copy - ringbuf_map_mmap_kern's user offsets. A record is written from its
// header on, its end past the first copy landing in the second (as in the
// kernel's doubled mapping); its commit copies each part to the other copy
// (SyncCopies), so both copies read as one set of pages mapped twice, for
// readers that mask a position and for readers that read on. Mmap() maps
// user offsets straight from the file.
//
// Records: an 8-byte header {u32 len | BUSY (1 << 31) | DISCARD (1 << 30),
// u32 pg_off} then the payload; footprint round_up(len + 8, 8). Positions are
// free-running u64 byte counters; at most S - 8 bytes are ever outstanding.
//
// Wake-ups (bpf_ringbuf_commit): BPF_RB_FORCE_WAKEUP always; by default only
// when the consumer position is exactly at the committed record; never with
// BPF_RB_NO_WAKEUP. A wake-up bumps a counter in the region, the kernel's
// rb->waitq made a futex word, and FUTEX_WAKEs its sleepers when any may be
// asleep, in whatever process (issue 20). Consumers (ringbuf_consumer.h)
// sleep on it in a watcher thread that turns each wake-up into an eventfd
// signal, as the kernel's ringbuf_map_poll makes the epoll fd readable.
//
// As in the kernel, where irq_work wakes the waiters shortly after the
// commit, the epoll fd becomes readable shortly after the commit (once the
// watcher thread has run), not before the helper returns.

#ifndef BPFEMU_EMU_RINGBUF_H_
#define BPFEMU_EMU_RINGBUF_H_

#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

inline constexpr uint32_t kRingbufBusyBit = 1u << 31;
inline constexpr uint32_t kRingbufDiscardBit = 1u << 30;
inline constexpr uint32_t kRingbufHdrSize = 8;
inline constexpr uint64_t kRingbufPageSize = 4096;

// Bytes a record takes in the ring: header plus payload, rounded up to 8.
// `len` is the header's length word (BUSY and DISCARD bits are ignored) or a
// requested size.
inline uint64_t RingbufRecordFootprint(uint32_t len) {
  return RoundUp((len & ~(kRingbufBusyBit | kRingbufDiscardBit)) +
                     uint64_t{kRingbufHdrSize},
                 8);
}

class RingbufMap : public Map {
 public:
  static const MapOps kOps;
  ~RingbufMap() override;

  // The ring a reserved sample belongs to (bpf_ringbuf_restore_from_rec: the
  // record header's page offset leads to the ring), among the rings mapped in
  // this process; nullptr if none.
  static RingbufMap* FromSample(const void* sample);

  // ringbuf_map_mem_usage(): the struct, every page (3 meta pages and the
  // data), and the page-pointer array that maps the data twice.
  uint64_t MemUsage(const BuildProfile& build) const override {
    const uint64_t data_pages = max_entries() / 4096;
    return build.ringbuf_map + (3 + data_pages) * 4096 +
           (3 + 2 * data_pages) * sizeof(void*);
  }

  // Every element op of a ring buffer is ENOTSUPP (524).
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  void* LookupElemProg(const void* key) override;

  // The producer helpers, as BPF programs call them.
  // bpf_ringbuf_reserve(): the payload pointer, or nullptr (no space, size
  // too large, or flags != 0).
  void* Reserve(uint64_t size, uint64_t flags);
  // bpf_ringbuf_reserve_dynptr(): 0 and *sample, or -EINVAL (flags, or no
  // space) / -E2BIG (size above DYNPTR_MAX_SIZE) with *sample = nullptr.
  long ReserveDynptr(uint64_t size, uint64_t flags, void** sample);
  // bpf_ringbuf_submit() / bpf_ringbuf_discard(): `sample` from Reserve.
  void Submit(void* sample, uint64_t flags);
  void Discard(void* sample, uint64_t flags);
  // bpf_ringbuf_output(): 0, -EINVAL (flags), -EAGAIN (no space).
  long Output(const void* data, uint64_t size, uint64_t flags);
  // bpf_ringbuf_query(): AVAIL_DATA, RING_SIZE, CONS_POS, PROD_POS; 0 else.
  uint64_t Query(uint64_t flags) const;

  // The consumer's view.
  uint64_t mask() const { return max_entries() - 1; }
  std::atomic<uint64_t>& consumer_pos() const { return *consumer_pos_; }
  std::atomic<uint64_t>& producer_pos() const { return *producer_pos_; }
  // 2 * size bytes: the data and its copy (committed records agree).
  uint8_t* data() const { return data_; }
  // The region's size for a data area of `size` bytes: three pages and the
  // data twice.
  static constexpr uint64_t RegionSize(uint64_t size) {
    return 3 * kRingbufPageSize + 2 * size;
  }
  // Count of wake-ups so far (shared by every process).
  std::atomic<uint32_t>& wakeups() const;
  // A random id naming this ring buffer (the same in every process).
  uint64_t ring_id() const;

  // The consumer's sleep (from any process mapping the ring): returns once
  // wakeups() differs from `seen` or *stop is non-zero, or spuriously.
  // Never misses a wake-up that follows a read of wakeups() == seen.
  // *stop is a word of this process; StopWaiter sets it and wakes the
  // sleepers on it.
  // With `deadline` (CLOCK_MONOTONIC, absolute) it also returns once that
  // time has passed.
  void WaitForWakeup(uint32_t seen, std::atomic<uint32_t>* stop,
                     const timespec* deadline = nullptr);
  static void StopWaiter(std::atomic<uint32_t>* stop);

  // A busy record at data offset `offset` (header *hdr_len) whose producer
  // died between reserve and commit is committed as discarded on its
  // behalf, waking a consumer waiting at it: true, with *hdr_len the
  // record's header now. False if it is not known to be a dead producer's
  // (it may still be committed).
  bool ReapDeadRecord(uint64_t offset, uint32_t* hdr_len);

  // bpf_map_mmap() for this ring, whose fd is `fd`: see MapMmap in
  // syscall.h for the rules. The address, or nullptr with *err = -errno.
  void* Mmap(int fd, size_t length, int prot, int flags, uint64_t offset,
             int* err) override;
  bool HasMmap() const override { return true; }
  // The consumer page (file page 0: the file is head-at-end).
  void WritableFileRange(uint64_t* lo, uint64_t* hi) const override {
    *lo = 0;
    *hi = 4096;
  }

 protected:
  // ringbuf_map_alloc() and the attach checks are shared by both ring types
  // (the kernel's user_ringbuf_map_ops names the same map_alloc): `make`
  // builds the type's object over the region.
  using Factory = RingbufMap* (*)(ShmRegion region);
  static int AllocWith(Factory make, const MapAttr& attr, uint32_t nr_cpus,
                       int* fd, std::unique_ptr<Map>* out);
  static int AttachWith(Factory make, ShmRegion region,
                        std::unique_ptr<Map>* out);
  static int AllocCheck(const MapAttr& attr);
  explicit RingbufMap(ShmRegion region);
  // remap_vmalloc_range() of user offsets [offset, offset + length) (length
  // page-rounded, after the type's permission checks): the consumer and
  // producer pages, then the data and its copy, the file's own offsets.
  // EINVAL past the end.
  void* MapUserPages(int fd, size_t length, int prot, uint64_t offset,
                     int* err);
  // The user ring's rb->busy (bpf_user_ringbuf_drain): 0, or the tid of the
  // draining thread. In page 0, which no user mapping reaches.
  std::atomic<uint32_t>& drain_owner() const;
  std::atomic<uint64_t>& pending_pos() const { return *pending_pos_; }
  // irq_work_queue(&rb->work) -> bpf_ringbuf_notify(): wakes every sleeper.
  void Wake();

 private:
  struct RingbufBody;

  static RingbufMap* Make(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
  void Commit(void* sample, uint64_t flags, bool discard);
  // Copies the parts of the record at data offset `offset` (footprint
  // bytes) between the two data copies (see Layout).
  void SyncCopies(uint64_t offset, uint64_t footprint);
  // The reservation table (RingbufBody::inflight): records `offset` as
  // reserved by this thread; the holder word of the reservation at
  // `offset`, or nullptr.
  void TrackReservation(uint64_t offset);
  std::atomic<uint32_t>* FindReservation(uint64_t offset) const;

  RingbufBody* body_;
  std::atomic<uint64_t>* consumer_pos_;
  std::atomic<uint64_t>* producer_pos_;
  std::atomic<uint64_t>* pending_pos_;
  uint8_t* data_;
  uint64_t ring_id_ = 0;  // copied at creation / attach
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_RINGBUF_H_
