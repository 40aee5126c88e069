// SPDX-License-Identifier: Apache-2.0
#include "emu/perf_buffer.h"

#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "emu/cpu.h"
#include "emu/perf_event.h"
#include "emu/syscall.h"

namespace bpfemu {

struct PerfBuffer::CpuBuf {
  void* base = nullptr;  // mmap of 1 + page_cnt pages
  std::vector<uint8_t> copy;
  int fd = -1;
  int wake_fd = -1;
  std::shared_ptr<PerfEvent> event;
  int cpu = 0;
  int map_key = 0;
};

struct perf_event_attr PerfBuffer::DefaultAttr() {
  struct perf_event_attr attr {};
  attr.size = sizeof(attr);
  attr.config = PERF_COUNT_SW_BPF_OUTPUT;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  return attr;
}

PerfBuffer::~PerfBuffer() {
  for (CpuBuf* b : bufs_) {
    // perf_buffer__free: the map entry goes first.
    (void)MapDeleteElem(map_fd_, &b->map_key);
    if (b->base != nullptr) munmap(b->base, mmap_size_ + page_size_);
    PerfEventClose(b->fd);
    delete b;
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

// perf_buffer__open_cpu_buf().
int PerfBuffer::OpenCpuBuf(const struct perf_event_attr* attr, int cpu,
                           int map_key, CpuBuf** out) {
  const int fd = PerfEventOpen(attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return fd;
  int err;
  void* base = PerfEventMmap(nullptr, mmap_size_ + page_size_,
                             PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, &err);
  if (base == nullptr) {
    PerfEventClose(fd);
    return err;
  }
  auto* b = new CpuBuf;
  b->base = base;
  b->fd = fd;
  b->event = PerfEventFromFd(fd);
  b->wake_fd = b->event->wake_fd();
  b->cpu = cpu;
  b->map_key = map_key;
  *out = b;
  return 0;
}

std::unique_ptr<PerfBuffer> PerfBuffer::New(int map_fd, size_t page_cnt,
                                            const Params& p, int* err) {
  if (page_cnt == 0 || (page_cnt & (page_cnt - 1)) != 0) {
    *err = -EINVAL;
    return nullptr;
  }
  BpfMapInfo map{};
  uint32_t len = sizeof(map);
  // Best-effort sanity checks: EINVAL from the info call is ignored.
  if (const int e = MapGetInfoByFd(map_fd, &map, &len); e != 0) {
    if (e != -EINVAL) {
      *err = e;
      return nullptr;
    }
  } else if (map.type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
    *err = -EINVAL;
    return nullptr;
  }
  auto pb = std::unique_ptr<PerfBuffer>(new PerfBuffer);
  pb->event_cb_ = p.event_cb;
  pb->sample_cb_ = p.sample_cb;
  pb->lost_cb_ = p.lost_cb;
  pb->ctx_ = p.ctx;
  pb->mmap_size_ = pb->page_size_ * page_cnt;
  pb->map_fd_ = map_fd;
  pb->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (pb->epoll_fd_ < 0) {
    *err = -errno;
    return nullptr;
  }
  int cpu_cnt = p.cpu_cnt > 0 ? p.cpu_cnt : NumPossibleCpus();
  if (p.cpu_cnt <= 0 && map.max_entries != 0 &&
      map.max_entries < static_cast<uint32_t>(cpu_cnt)) {
    cpu_cnt = static_cast<int>(map.max_entries);
  }
  pb->events_.resize(static_cast<size_t>(cpu_cnt));
  for (int i = 0; i < cpu_cnt; ++i) {
    const int cpu = p.cpu_cnt > 0 ? p.cpus[i] : i;
    const int map_key = p.cpu_cnt > 0 ? p.map_keys[i] : i;
    CpuBuf* b = nullptr;
    int e = pb->OpenCpuBuf(p.attr, cpu, map_key, &b);
    if (e == 0) {
      pb->bufs_.push_back(b);
      e = MapUpdateElem(map_fd, &map_key, &b->fd, BPF_ANY);
    }
    if (e == 0) {
      epoll_event& ev = pb->events_[pb->bufs_.size() - 1];
      ev.events = EPOLLIN;
      ev.data.ptr = b;
      if (epoll_ctl(pb->epoll_fd_, EPOLL_CTL_ADD, b->wake_fd, &ev) < 0) {
        e = -errno;
      }
    }
    if (e != 0) {
      *err = e;
      return nullptr;
    }
  }
  *err = 0;
  return pb;
}

// perf_event_read_simple() with perf_buffer__process_record() as the
// callback: records from data_tail to data_head, data_tail advanced past
// each handled one.
int PerfBuffer::ProcessRecords(CpuBuf* b) {
  // The wake-up is consumed, as perf_poll consumes rb->poll.
  b->event->ConsumeWakeup();
  auto* page = static_cast<struct perf_event_mmap_page*>(b->base);
  const uint64_t size = mmap_size_;
  auto* data = static_cast<uint8_t*>(b->base) + page_size_;
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
    if (event_cb_ != nullptr) {
      const int r = event_cb_(ctx_, b->cpu,
                              reinterpret_cast<struct perf_event_header*>(rec));
      tail += h.size;
      if (r != kEventCont) {
        ret = r;
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
      if (sample_cb_ != nullptr) {
        sample_cb_(ctx_, b->cpu, rec + sizeof(h) + sizeof(sz), sz);
      }
    } else if (h.type == PERF_RECORD_LOST) {
      uint64_t lost[2];  // id, lost
      if (h.size < sizeof(h) + sizeof(lost)) {
        ret = -EINVAL;
        break;
      }
      std::memcpy(lost, rec + sizeof(h), sizeof(lost));
      if (lost_cb_ != nullptr) lost_cb_(ctx_, b->cpu, lost[1]);
    } else {
      // libbpf: "unknown perf sample type", LIBBPF_PERF_EVENT_ERROR.
      tail += h.size;
      ret = kEventError;
      break;
    }
    tail += h.size;
  }
  __atomic_store_n(&page->data_tail, tail, __ATOMIC_RELEASE);
  return ret;
}

int PerfBuffer::Poll(int timeout_ms) {
  const int cnt = epoll_wait(epoll_fd_, events_.data(),
                             static_cast<int>(bufs_.size()), timeout_ms);
  if (cnt < 0) return -errno;
  for (int i = 0; i < cnt; ++i) {
    if (int err = ProcessRecords(static_cast<CpuBuf*>(events_[i].data.ptr));
        err != 0) {
      return err;
    }
  }
  return cnt;
}

int PerfBuffer::Consume() {
  for (CpuBuf* b : bufs_) {
    if (int err = ProcessRecords(b); err != 0) return err;
  }
  return 0;
}

int PerfBuffer::ConsumeBuffer(size_t idx) {
  if (idx >= bufs_.size()) return -EINVAL;
  return ProcessRecords(bufs_[idx]);
}

int PerfBuffer::BufferFd(size_t idx) const {
  if (idx >= bufs_.size()) return -EINVAL;
  return bufs_[idx]->fd;
}

int PerfBuffer::Buffer(size_t idx, void** buf, size_t* size) const {
  if (idx >= bufs_.size()) return -EINVAL;
  *buf = bufs_[idx]->base;
  *size = mmap_size_;
  return 0;
}

}  // namespace bpfemu
