// SPDX-License-Identifier: Apache-2.0
// File: perf_buffer.h
//
// PerfBuffer: the consumer side of a BPF_MAP_TYPE_PERF_EVENT_ARRAY, as
// libbpf's struct perf_buffer (tools/lib/bpf/libbpf.c: __perf_buffer__new,
// perf_buffer__open_cpu_buf, perf_buffer__poll, perf_buffer__consume,
// perf_buffer__process_record, perf_event_read_simple) does it against
// the kernel, over the emulated perf events of emu/perf_event.h.
// compat/perf_buffer_compat.cc exports it under libbpf's names.
//
// New opens one BPF_OUTPUT software event per possible CPU (or per
// requested CPU), up to the map's max_entries, maps 1 + page_cnt pages of
// each, stores the event's fd in the map at the CPU's index and adds the
// event's wake-up eventfd to an epoll set. Rings are read from data_tail to
// data_head; a record that wraps is copied out first.
//
// The rings are shared memory a producer (or anyone who can write the
// event's file) controls, so records are validated: a header smaller than
// 8 bytes, larger than the ring or past data_head, a sample whose size word
// overruns its record, or a lost record shorter than its fields stops the
// buffer's processing with -EINVAL (libbpf would spin on a zero size, or
// read past the record).

#ifndef BPFEMU_EMU_PERF_BUFFER_H_
#define BPFEMU_EMU_PERF_BUFFER_H_

#include <linux/perf_event.h>
#include <linux/types.h>
#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace bpfemu {

class PerfBuffer {
 public:
  // libbpf's perf_buffer_sample_fn, perf_buffer_lost_fn and
  // perf_buffer_event_fn (the latter returns LIBBPF_PERF_EVENT_DONE 0,
  // _ERROR -1 or _CONT -2).
  using SampleFn = void (*)(void* ctx, int cpu, void* data, __u32 size);
  using LostFn = void (*)(void* ctx, int cpu, __u64 cnt);
  using EventFn = int (*)(void* ctx, int cpu, struct perf_event_header* event);
  static constexpr int kEventDone = 0;
  static constexpr int kEventError = -1;
  static constexpr int kEventCont = -2;

  struct Params {
    const struct perf_event_attr* attr = nullptr;
    EventFn event_cb = nullptr;
    SampleFn sample_cb = nullptr;
    LostFn lost_cb = nullptr;
    void* ctx = nullptr;
    int cpu_cnt = 0;  // > 0: cpus[] and map_keys[] name the buffers
    const int* cpus = nullptr;
    const int* map_keys = nullptr;
  };

  // The attributes perf_buffer__new uses: BPF_OUTPUT, PERF_SAMPLE_RAW,
  // wakeup_events 1.
  static struct perf_event_attr DefaultAttr();

  // __perf_buffer__new(): nullptr with *err = -EINVAL (page_cnt not a power
  // of two, not a PERF_EVENT_ARRAY), the info call's error (other than
  // EINVAL), or the first open / mmap / map update / epoll error.
  static std::unique_ptr<PerfBuffer> New(int map_fd, size_t page_cnt,
                                         const Params& p, int* err);
  ~PerfBuffer();
  PerfBuffer(const PerfBuffer&) = delete;
  PerfBuffer& operator=(const PerfBuffer&) = delete;

  // epoll_wait, then the records of every ready buffer: the number of
  // ready buffers, or a negative errno.
  int Poll(int timeout_ms);
  // Every buffer's records: 0 or the first error.
  int Consume();
  // One buffer: -EINVAL past the end, else as Consume.
  int ConsumeBuffer(size_t idx);
  size_t BufferCnt() const { return bufs_.size(); }
  int BufferFd(size_t idx) const;
  // The buffer's mapping (page 0 first) and its data size.
  int Buffer(size_t idx, void** buf, size_t* size) const;
  int EpollFd() const { return epoll_fd_; }

 private:
  struct CpuBuf;
  PerfBuffer() = default;
  int OpenCpuBuf(const struct perf_event_attr* attr, int cpu, int map_key,
                 CpuBuf** out);
  int ProcessRecords(CpuBuf* b);

  EventFn event_cb_ = nullptr;
  SampleFn sample_cb_ = nullptr;
  LostFn lost_cb_ = nullptr;
  void* ctx_ = nullptr;
  size_t page_size_ = 4096;
  size_t mmap_size_ = 0;  // data bytes
  int epoll_fd_ = -1;
  int map_fd_ = -1;
  std::vector<CpuBuf*> bufs_;
  std::vector<epoll_event> events_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_PERF_BUFFER_H_
