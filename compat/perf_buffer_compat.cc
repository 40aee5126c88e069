// SPDX-License-Identifier: Apache-2.0
// libbpf 1.1's perf_buffer__* consumer API (tools/lib/bpf/libbpf.c:
// perf_buffer__new, __new_raw, __poll, __consume, __consume_buffer,
// __buffer_cnt, __buffer_fd, __buffer, __epoll_fd, __free and
// perf_event_read_simple) over emulated perf events (emu/perf_event.h).
// It exports libbpf's symbol names, so it must never be linked into a
// binary together with real libbpf. Pointer-returning calls give NULL with
// errno set; int-returning calls give a negative errno and set errno.
//
// As libbpf does, perf_buffer__new opens one BPF_OUTPUT software event per
// possible CPU (up to the map's max_entries), maps 1 + page_cnt pages of
// each, stores the event fd in the map at the CPU's index and watches the
// event with epoll (here: the event's wake-up eventfd). Each ring is read
// from data_tail to data_head; a record is copied out when it wraps.
// Shared memory is untrusted: a record header smaller than 8 bytes or larger
// than the ring, or a sample whose size word overruns its record, stops the
// buffer's processing with -EINVAL (libbpf would loop or read past the
// record).
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "compat/libbpf_conventions.h"
#include "emu/cpu.h"
#include "emu/perf_event.h"
#include "emu/syscall.h"

namespace {

struct CpuBuf {
  struct perf_buffer* pb = nullptr;
  void* base = nullptr;  // mmap of 1 + page_cnt pages
  std::vector<uint8_t> copy;
  int fd = -1;
  int wake_fd = -1;
  int cpu = 0;
  int map_key = 0;
};

}  // namespace

struct perf_buffer {
  perf_buffer_event_fn event_cb = nullptr;
  perf_buffer_sample_fn sample_cb = nullptr;
  perf_buffer_lost_fn lost_cb = nullptr;
  void* ctx = nullptr;
  size_t page_size = 4096;
  size_t mmap_size = 0;  // data bytes
  int epoll_fd = -1;
  int map_fd = -1;
  std::vector<CpuBuf*> cpu_bufs;    // by buffer index
  std::vector<epoll_event> events;  // epoll_wait's array
};

using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;

namespace {

void FreeCpuBuf(struct perf_buffer* pb, CpuBuf* b) {
  if (b == nullptr) return;
  if (b->fd >= 0) {
    // perf_buffer__free: the map entry goes first.
    (void)bpfemu::MapDeleteElem(pb->map_fd, &b->map_key);
  }
  if (b->base != nullptr) munmap(b->base, pb->mmap_size + pb->page_size);
  if (b->fd >= 0) bpfemu::PerfEventClose(b->fd);
  delete b;
}

void FreePb(struct perf_buffer* pb) {
  for (CpuBuf* b : pb->cpu_bufs) FreeCpuBuf(pb, b);
  if (pb->epoll_fd >= 0) close(pb->epoll_fd);
  delete pb;
}

// perf_buffer__open_cpu_buf().
int OpenCpuBuf(struct perf_buffer* pb, const struct perf_event_attr* attr,
               int cpu, int map_key, CpuBuf** out) {
  auto* b = new CpuBuf;
  b->pb = pb;
  b->cpu = cpu;
  b->map_key = map_key;
  b->fd = bpfemu::PerfEventOpen(attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  int err = b->fd < 0 ? b->fd : 0;
  if (err == 0) {
    b->base = bpfemu::PerfEventMmap(nullptr, pb->mmap_size + pb->page_size,
                                    PROT_READ | PROT_WRITE, MAP_SHARED, b->fd,
                                    0, &err);
  }
  if (err != 0) {
    if (b->fd >= 0) bpfemu::PerfEventClose(b->fd);
    b->fd = -1;
    delete b;
    return err;
  }
  b->wake_fd = bpfemu::PerfEventFromFd(b->fd)->wake_fd();
  *out = b;
  return 0;
}

struct PerfBufferParams {
  struct perf_event_attr* attr;
  perf_buffer_event_fn event_cb;
  perf_buffer_sample_fn sample_cb;
  perf_buffer_lost_fn lost_cb;
  void* ctx;
  int cpu_cnt;
  int* cpus;
  int* map_keys;
};

// __perf_buffer__new().
struct perf_buffer* NewPb(int map_fd, size_t page_cnt,
                          const PerfBufferParams& p) {
  if (page_cnt == 0 || (page_cnt & (page_cnt - 1)) != 0) {
    errno = EINVAL;
    return nullptr;
  }
  bpfemu::BpfMapInfo map{};
  uint32_t len = sizeof(map);
  // Best-effort sanity checks: EINVAL from the info call is ignored.
  if (const int err = bpfemu::MapGetInfoByFd(map_fd, &map, &len); err != 0) {
    if (err != -EINVAL) {
      errno = -err;
      return nullptr;
    }
  } else if (map.type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
    errno = EINVAL;
    return nullptr;
  }
  auto* pb = new perf_buffer;
  pb->event_cb = p.event_cb;
  pb->sample_cb = p.sample_cb;
  pb->lost_cb = p.lost_cb;
  pb->ctx = p.ctx;
  pb->page_size = 4096;
  pb->mmap_size = pb->page_size * page_cnt;
  pb->map_fd = map_fd;
  pb->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (pb->epoll_fd < 0) {
    const int err = errno;
    FreePb(pb);
    errno = err;
    return nullptr;
  }
  int cpu_cnt = p.cpu_cnt > 0 ? p.cpu_cnt : bpfemu::NumPossibleCpus();
  if (p.cpu_cnt <= 0 && map.max_entries != 0 &&
      map.max_entries < static_cast<uint32_t>(cpu_cnt)) {
    cpu_cnt = static_cast<int>(map.max_entries);
  }
  pb->events.resize(static_cast<size_t>(cpu_cnt));
  for (int i = 0; i < cpu_cnt; ++i) {
    const int cpu = p.cpu_cnt > 0 ? p.cpus[i] : i;
    const int map_key = p.cpu_cnt > 0 ? p.map_keys[i] : i;
    CpuBuf* b = nullptr;
    int err = OpenCpuBuf(pb, p.attr, cpu, map_key, &b);
    if (err == 0) {
      pb->cpu_bufs.push_back(b);
      err = bpfemu::MapUpdateElem(map_fd, &map_key, &b->fd, BPF_ANY);
    }
    if (err == 0) {
      epoll_event& ev = pb->events[pb->cpu_bufs.size() - 1];
      ev.events = EPOLLIN;
      ev.data.ptr = b;
      if (epoll_ctl(pb->epoll_fd, EPOLL_CTL_ADD, b->wake_fd, &ev) < 0) {
        err = -errno;
      }
    }
    if (err != 0) {
      FreePb(pb);
      errno = -err;
      return nullptr;
    }
  }
  return pb;
}

// perf_event_read_simple() with perf_buffer__process_record() as the
// callback: records from data_tail to data_head, data_tail advanced past
// each. 0, or a negative errno (a callback error or a malformed record).
int ProcessRecords(struct perf_buffer* pb, CpuBuf* b) {
  // The wake-up is consumed, as a read of the kernel's poll state.
  uint64_t drained;
  ssize_t n = read(b->wake_fd, &drained, sizeof(drained));
  (void)n;
  auto* page = static_cast<struct perf_event_mmap_page*>(b->base);
  const uint64_t size = pb->mmap_size;
  auto* data = static_cast<uint8_t*>(b->base) + pb->page_size;
  const uint64_t head = __atomic_load_n(&page->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = __atomic_load_n(&page->data_tail, __ATOMIC_RELAXED);
  int ret = 0;
  while (tail != head) {
    const uint64_t off = tail & (size - 1);
    struct perf_event_header h;
    for (size_t i = 0; i < sizeof(h); ++i) {
      reinterpret_cast<uint8_t*>(&h)[i] = data[(off + i) & (size - 1)];
    }
    if (h.size < sizeof(h) || h.size > size || h.size > head - tail) {
      ret = -EINVAL;
      break;
    }
    uint8_t* rec = data + off;
    if (off + h.size > size) {
      b->copy.resize(h.size);
      const uint64_t first = size - off;
      std::memcpy(b->copy.data(), data + off, first);
      std::memcpy(b->copy.data() + first, data, h.size - first);
      rec = b->copy.data();
    }
    auto* eh = reinterpret_cast<struct perf_event_header*>(rec);
    if (pb->event_cb != nullptr) {
      const int r = pb->event_cb(pb->ctx, b->cpu, eh);
      tail += h.size;
      if (r != LIBBPF_PERF_EVENT_CONT) {
        ret = r == LIBBPF_PERF_EVENT_DONE ? 0 : r;
        break;
      }
      continue;
    }
    if (h.type == PERF_RECORD_SAMPLE) {
      uint32_t sz = 0;
      if (h.size < sizeof(h) + sizeof(sz)) {
        ret = -EINVAL;
        break;
      }
      std::memcpy(&sz, rec + sizeof(h), sizeof(sz));
      if (sz > h.size - sizeof(h) - sizeof(sz)) {
        ret = -EINVAL;
        break;
      }
      if (pb->sample_cb != nullptr) {
        pb->sample_cb(pb->ctx, b->cpu, rec + sizeof(h) + sizeof(sz), sz);
      }
    } else if (h.type == PERF_RECORD_LOST) {
      uint64_t lost[2];
      if (h.size < sizeof(h) + sizeof(lost)) {
        ret = -EINVAL;
        break;
      }
      std::memcpy(lost, rec + sizeof(h), sizeof(lost));
      if (pb->lost_cb != nullptr) pb->lost_cb(pb->ctx, b->cpu, lost[1]);
    } else {
      // libbpf: "unknown perf sample type", LIBBPF_PERF_EVENT_ERROR.
      tail += h.size;
      ret = LIBBPF_PERF_EVENT_ERROR;
      break;
    }
    tail += h.size;
  }
  __atomic_store_n(&page->data_tail, tail, __ATOMIC_RELEASE);
  return ret;
}

}  // namespace

extern "C" {

struct perf_buffer* perf_buffer__new(int map_fd, size_t page_cnt,
                                     perf_buffer_sample_fn sample_cb,
                                     perf_buffer_lost_fn lost_cb, void* ctx,
                                     const struct perf_buffer_opts* opts) {
  if (!OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  struct perf_event_attr attr {};
  attr.size = sizeof(attr);
  attr.config = PERF_COUNT_SW_BPF_OUTPUT;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  PerfBufferParams p{&attr, nullptr, sample_cb, lost_cb,
                     ctx,   0,       nullptr,   nullptr};
  return NewPb(map_fd, page_cnt, p);
}

struct perf_buffer* perf_buffer__new_raw(
    int map_fd, size_t page_cnt, struct perf_event_attr* attr,
    perf_buffer_event_fn event_cb, void* ctx,
    const struct perf_buffer_raw_opts* opts) {
  if (attr == nullptr || !OptsValid(opts)) {
    errno = EINVAL;
    return nullptr;
  }
  const int cpu_cnt = BPFEMU_OPTS_GET(opts, cpu_cnt, 0);
  int* cpus = BPFEMU_OPTS_GET(opts, cpus, nullptr);
  int* keys = BPFEMU_OPTS_GET(opts, map_keys, nullptr);
  PerfBufferParams p{attr, event_cb, nullptr, nullptr,
                     ctx,  cpu_cnt,  cpus,    keys};
  return NewPb(map_fd, page_cnt, p);
}

void perf_buffer__free(struct perf_buffer* pb) {
  if (pb == nullptr) return;
  FreePb(pb);
}

int perf_buffer__epoll_fd(const struct perf_buffer* pb) { return pb->epoll_fd; }

int perf_buffer__poll(struct perf_buffer* pb, int timeout_ms) {
  const int cnt = epoll_wait(pb->epoll_fd, pb->events.data(),
                             static_cast<int>(pb->cpu_bufs.size()), timeout_ms);
  if (cnt < 0) return LibbpfErr(-errno);
  for (int i = 0; i < cnt; ++i) {
    auto* b = static_cast<CpuBuf*>(pb->events[i].data.ptr);
    if (int err = ProcessRecords(pb, b); err != 0) return LibbpfErr(err);
  }
  return cnt;
}

int perf_buffer__consume(struct perf_buffer* pb) {
  for (CpuBuf* b : pb->cpu_bufs) {
    if (int err = ProcessRecords(pb, b); err != 0) return LibbpfErr(err);
  }
  return 0;
}

int perf_buffer__consume_buffer(struct perf_buffer* pb, size_t buf_idx) {
  if (buf_idx >= pb->cpu_bufs.size()) return LibbpfErr(-EINVAL);
  CpuBuf* b = pb->cpu_bufs[buf_idx];
  if (b == nullptr) return LibbpfErr(-ENOENT);
  return LibbpfErr(ProcessRecords(pb, b));
}

size_t perf_buffer__buffer_cnt(const struct perf_buffer* pb) {
  return pb->cpu_bufs.size();
}

int perf_buffer__buffer_fd(const struct perf_buffer* pb, size_t buf_idx) {
  if (buf_idx >= pb->cpu_bufs.size()) return LibbpfErr(-EINVAL);
  const CpuBuf* b = pb->cpu_bufs[buf_idx];
  if (b == nullptr) return LibbpfErr(-ENOENT);
  return b->fd;
}

int perf_buffer__buffer(struct perf_buffer* pb, int buf_idx, void** buf,
                        size_t* buf_size) {
  if (buf_idx < 0 || static_cast<size_t>(buf_idx) >= pb->cpu_bufs.size()) {
    return LibbpfErr(-EINVAL);
  }
  CpuBuf* b = pb->cpu_bufs[static_cast<size_t>(buf_idx)];
  if (b == nullptr) return LibbpfErr(-ENOENT);
  *buf = b->base;
  *buf_size = pb->mmap_size;
  return 0;
}

}  // extern "C"
