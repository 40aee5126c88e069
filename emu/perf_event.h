// SPDX-License-Identifier: Apache-2.0
// File: perf_event.h
//
// PerfEvent emulates the part of the perf subsystem a BPF_MAP_TYPE_PERF_EVENT
// _ARRAY reaches: a software perf event per CPU (perf_event_open with
// PERF_TYPE_SOFTWARE / PERF_COUNT_SW_BPF_OUTPUT, kernel/events/core.c), its
// mmap-able ring buffer (kernel/events/ring_buffer.c: perf_mmap,
// __perf_output_begin, perf_output_end) and the output path of a BPF program
// (kernel/events/core.c perf_event_output / perf_output_sample with
// PERF_SAMPLE_RAW).
//
// The "perf event fd" is a memfd laid out as the kernel's perf mmap:
//
//   page 0      struct perf_event_mmap_page (data_head, data_tail,
//               data_offset = 4096, data_size), then at kCtlOffset the
//               emulator's PerfEventCtl (attributes, the producer's head,
//               lost count, wake-up state, a process-shared lock)
//   pages 1..   2^n data pages, sized by the first PerfEventMmap
//
// so mapping the fd (PerfEventMmap) gives a consumer exactly what mmap of a
// real perf event fd gives it. Page 0 is writable by the consumer (it writes
// data_tail), so it is a trust boundary: the producer keeps the geometry in
// process-local memory and masks every offset into the data area; the
// consumer (compat/perf_buffer_compat.cc) validates every record header.
//
// Records (PERF_SAMPLE_RAW only): PERF_RECORD_SAMPLE = {struct
// perf_event_header, u32 size, size bytes}, where size is the raw data
// rounded so that 4 + size is a multiple of 8 (perf_sample_save_raw_data);
// the pad bytes are skipped, not written (__output_skip). When samples were
// lost, the next record that fits is preceded by PERF_RECORD_LOST {header,
// u64 id, u64 lost}.
//
// Wake-ups (perf_output_put_handle / perf_output_sample): with
// wakeup_events = N (and no attr.watermark), every Nth record; with
// attr.watermark, each time the head passes the next multiple of
// wakeup_watermark (default: half the ring). A wake-up bumps a counter in
// page 0 and writes the event's eventfd (WakeFd), which is what the
// consumer's epoll set watches (the kernel's perf_poll).
//
// Events are found by fd and by id through a process-local registry; a
// PERF_EVENT_ARRAY slot holds the id. A process that inherits the registry
// by fork() reaches the events (their mappings are shared); an unrelated
// process that attaches the map by pin does not (the helper answers ENOENT
// for an id it does not know). Differences from the kernel: only software
// events on one CPU or the calling task; no aux area; records larger than 65528
// bytes are refused (E2BIG).
//
// Counting (bpf_perf_event_read(_value), kernel/events/core.c
// perf_event_read_local): an inherit event cannot be read (-EOPNOTSUPP,
// which also keeps it out of a PERF_EVENT_ARRAY); a per-task event only by
// the thread it counts (-EINVAL), a per-CPU event only on its CPU
// (-EINVAL). An event opened disabled (attr.disabled) reads 0 with zero
// times; in-process no ioctl enables an emulated one (bpfemu exec serves
// PERF_EVENT_IOC_ENABLE / _DISABLE: SetEnabled). A disabled event is on no
// CPU (event->oncpu is -1), so bpf_perf_event_output to it is -EOPNOTSUPP. A
// per-task event counts its thread from the open: its context time, which runs
// while the thread does, is the thread's CPU time (both times and the count of
// cpu-clock and task-clock), and page faults (all, minor, major), context
// switches and CPU migrations come from the thread's getrusage / schedstat. A
// per-CPU event's times are the wall time since the open, which is
// cpu-clock's count; the other per-CPU counts are the whole CPU's, which a
// process cannot see: bpfemu reads them as 0. alignment-faults and
// emulation-faults never count on x86-64; dummy, bpf-output and
// cgroup-switches read 0 (the last a divergence for a thread switching
// between cgroups).

#ifndef BPFEMU_EMU_PERF_EVENT_H_
#define BPFEMU_EMU_PERF_EVENT_H_

#include <linux/perf_event.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "emu/shm.h"

namespace bpfemu {

inline constexpr uint64_t kPerfPageSize = 4096;
inline constexpr uint64_t kPerfCtlOffset = 2048;

class PerfEvent {
 public:
  ~PerfEvent();
  PerfEvent(const PerfEvent&) = delete;
  PerfEvent& operator=(const PerfEvent&) = delete;

  // The emulator's control block in page 0 (perf_event.cc).
  struct Ctl;

  uint32_t id() const { return id_; }
  int fd() const { return fd_; }
  // An eventfd made readable by each wake-up (the event's poll).
  int wake_fd() const { return wake_fd_; }
  uint32_t type() const { return type_; }
  uint64_t config() const { return config_; }
  int cpu() const { return cpu_; }  // -1: bound to the calling task

  // __bpf_perf_event_output from `cur_cpu`: -EINVAL (not a BPF_OUTPUT
  // software event), -EOPNOTSUPP (event on another CPU), -ENOSPC (no ring
  // mapped, or no room: a lost sample), 0.
  long Output(const void* data, uint64_t size, uint32_t cur_cpu);

  // perf_event_read_local from the calling thread on `cur_cpu`: 0 with the
  // count and times, or -EOPNOTSUPP (inherit), -EINVAL (another task's
  // event, another CPU's event).
  long ReadLocal(uint32_t cur_cpu, uint64_t* value, uint64_t* enabled,
                 uint64_t* running) const;
  bool inherit() const { return inherit_; }
  // The period a perf_event program's sample reports
  // (native/perf_event_prog.h): attr.sample_period; in frequency mode
  // NSEC_PER_SEC / attr.sample_freq for cpu-clock and task-clock
  // (perf_swevent_init_hrtimer), 0 for other events, whose period the
  // kernel adapts.
  uint64_t sample_period() const { return sample_period_; }

  // The lost-sample count not yet reported (rb->lost).
  uint64_t PendingLost() const;
  // The consumer's side of a wake-up: clears the pending signal and drains
  // the eventfd; call before reading data_head.
  void ConsumeWakeup();

  // ioctl(PERF_EVENT_IOC_ENABLE / _DISABLE) (_perf_event_enable /
  // _perf_event_disable).
  void SetEnabled(bool on) { disabled_.store(!on, std::memory_order_release); }
  bool enabled() const { return !disabled_.load(std::memory_order_acquire); }
  // Wake-ups so far (perf_output_wakeup), 0 before the first mapping.
  uint64_t Wakeups() const;
  // Whether the ring holds records the consumer has not read (data_head !=
  // data_tail); false before the first mapping.
  bool HasData() const;
  bool mapped() const { return base_.load(std::memory_order_acquire); }

 private:
  friend int PerfEventOpen(const struct perf_event_attr*, int, int, int,
                           unsigned long);
  friend void* PerfEventMmap(void*, size_t, int, int, int, off_t, int*);
  PerfEvent() = default;

  uint32_t id_ = 0;
  int fd_ = -1;       // the caller's fd
  int own_fd_ = -1;   // our duplicate, keeping the file
  int wake_fd_ = -1;  // eventfd
  uint32_t type_ = 0;
  uint64_t config_ = 0;
  int cpu_ = -1;
  uint32_t wakeup_events_ = 0;
  bool watermark_ = false;
  uint32_t wakeup_watermark_ = 0;
  uint64_t sample_type_ = 0;
  uint64_t sample_period_ = 0;
  bool inherit_ = false;
  std::atomic<bool> disabled_{false};
  long target_tid_ = 0;  // the counted thread of a per-task event
  // What the counters read at the open (the counted thread's, for a
  // per-task event; the wall clock for a per-CPU one).
  uint64_t open_ns_ = 0;
  uint64_t open_counts_[5] = {};  // faults, minor, major, switches, migr.
  // Set once by the first PerfEventMmap (process-local, never re-read).
  std::atomic<uint8_t*> base_{nullptr};
  uint64_t data_size_ = 0;
  uint64_t map_len_ = 0;
  bool overwrite_ = false;  // the first mapping was read-only
};

// perf_event_open(attr, pid, cpu, group_fd, flags) for the emulated events:
// type PERF_TYPE_SOFTWARE only (others -ENOENT), attr->size >= 64 (EINVAL),
// pid -1 with cpu in [0, possible CPUs) or pid 0 (the caller) with cpu -1 or
// a CPU, group_fd -1 (EINVAL otherwise). A new fd (close-on-exec) or
// -errno.
int PerfEventOpen(const struct perf_event_attr* attr, int pid, int cpu,
                  int group_fd, unsigned long flags);
// mmap of an emulated perf event fd (perf_mmap): offset 0, MAP_SHARED,
// length 1 + nr_pages pages with nr_pages 0 (no data: every sample is
// dropped, -ENOSPC, uncounted) or a power of two, the same length as any
// earlier mapping, not an inherited per-task event; else nullptr with
// *err = -EINVAL (-ENOMEM beyond 2^18 data pages; -EBADF: not an emulated
// perf event). A first mapping
// without PROT_WRITE makes an overwrite ring (the producer ignores
// data_tail, as rb_alloc without RING_BUFFER_WRITABLE).
void* PerfEventMmap(void* addr, size_t length, int prot, int flags, int fd,
                    off_t offset, int* err);
// The event behind `fd` / `id` in this process, or nullptr.
std::shared_ptr<PerfEvent> PerfEventFromFd(int fd);
std::shared_ptr<PerfEvent> PerfEventFromId(uint32_t id);
// Forgets the event behind `fd` and closes fd (the caller's close()).
int PerfEventClose(int fd);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_PERF_EVENT_H_
