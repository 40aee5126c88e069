// SPDX-License-Identifier: Apache-2.0
#include "emu/perf_event.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "emu/cpu.h"

namespace bpfemu {

// The emulator's part of page 0, after struct perf_event_mmap_page.
struct PerfEvent::Ctl {
  static constexpr uint64_t kMagic = 0x31545645464d4521ULL;  // "!EMFEVT1"
  uint64_t magic;
  ShmMutex lock;  // serializes producers (the kernel's per-CPU nesting)
  uint32_t pad;
  uint64_t head;          // rb->head
  uint64_t lost;          // rb->lost: not yet reported
  uint64_t lost_samples;  // event->lost_samples
  uint64_t events;        // rb->events, for wakeup_events
  uint64_t wakeup_pos;    // rb->wakeup as a position, for the watermark
  uint64_t wakeups;       // wake-ups so far
  // 1 while the wake-up eventfd holds an unconsumed signal: producers skip
  // the write(2), as the kernel's perf_poll state coalesces wake-ups.
  uint32_t signalled;
  uint32_t pad2;
};
static_assert(sizeof(struct perf_event_mmap_page) <= kPerfCtlOffset);
static_assert(kPerfCtlOffset + sizeof(PerfEvent::Ctl) <= kPerfPageSize);

namespace {

struct Registry {
  std::mutex mu;
  std::unordered_map<int, std::shared_ptr<PerfEvent>> by_fd;
  std::unordered_map<uint32_t, std::shared_ptr<PerfEvent>> by_id;
  static Registry& Get() {
    static Registry* const r = new Registry;
    return *r;
  }
};

bool IsPowerOfTwo(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

uint64_t ClockNs(clockid_t clock) {
  struct timespec ts = {};
  clock_gettime(clock, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// The calling thread's counters a per-task software event counts:
// page faults, minor and major ones, context switches (voluntary and
// not), CPU migrations (/proc/thread-self/sched se.nr_migrations).
void ThreadCounts(uint64_t out[5]) {
  struct rusage ru = {};
  getrusage(RUSAGE_THREAD, &ru);
  out[0] = uint64_t(ru.ru_minflt) + uint64_t(ru.ru_majflt);
  out[1] = uint64_t(ru.ru_minflt);
  out[2] = uint64_t(ru.ru_majflt);
  out[3] = uint64_t(ru.ru_nvcsw) + uint64_t(ru.ru_nivcsw);
  out[4] = 0;
  if (FILE* f = std::fopen("/proc/thread-self/sched", "re")) {
    char line[256];
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      unsigned long long v;
      if (std::sscanf(line, "se.nr_migrations : %llu", &v) == 1) {
        out[4] = v;
        break;
      }
    }
    std::fclose(f);
  }
}

// Which of ThreadCounts' counters a software event's config counts (-1:
// none).
int CountIndex(uint64_t config) {
  switch (config) {
    case PERF_COUNT_SW_PAGE_FAULTS:
      return 0;
    case PERF_COUNT_SW_PAGE_FAULTS_MIN:
      return 1;
    case PERF_COUNT_SW_PAGE_FAULTS_MAJ:
      return 2;
    case PERF_COUNT_SW_CONTEXT_SWITCHES:
      return 3;
    case PERF_COUNT_SW_CPU_MIGRATIONS:
      return 4;
    default:
      return -1;
  }
}

}  // namespace

PerfEvent::~PerfEvent() {
  if (uint8_t* b = base_.load(); b != nullptr) munmap(b, map_len_);
  if (own_fd_ >= 0) close(own_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

int PerfEventOpen(const struct perf_event_attr* attr, int pid, int cpu,
                  int group_fd, unsigned long flags) {
  if (attr == nullptr) return -EFAULT;
  if (attr->size != 0 && attr->size < PERF_ATTR_SIZE_VER0) return -EINVAL;
  if (attr->type != PERF_TYPE_SOFTWARE) return -ENOENT;
  if (attr->config >= PERF_COUNT_SW_MAX) return -ENOENT;
  if (group_fd != -1 || (flags & ~PERF_FLAG_FD_CLOEXEC) != 0) return -EINVAL;
  if (pid == -1 && cpu == -1) return -EINVAL;
  if (pid != -1 && pid != 0) return -EINVAL;
  if (cpu < -1 || cpu >= NumPossibleCpus()) return -ENODEV;
  const int fd = memfd_create("bpfemu-perf-event", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (ftruncate(fd, kPerfPageSize) != 0 || fstat(fd, &st) != 0) {
    const int err = -errno;
    close(fd);
    return err;
  }
  auto ev = std::shared_ptr<PerfEvent>(new PerfEvent);
  ev->fd_ = fd;
  ev->own_fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  ev->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ev->own_fd_ < 0 || ev->wake_fd_ < 0) {
    close(fd);
    return -EMFILE;
  }
  ev->id_ = static_cast<uint32_t>(st.st_ino);
  ev->type_ = attr->type;
  ev->config_ = attr->config;
  ev->cpu_ = cpu;
  ev->wakeup_events_ = attr->wakeup_events;
  ev->watermark_ = attr->watermark != 0;
  ev->wakeup_watermark_ = attr->wakeup_watermark;
  ev->sample_type_ = attr->sample_type;
  // perf_swevent_init_hrtimer: a clock event in frequency mode samples
  // at the fixed period NSEC_PER_SEC / sample_freq (hrtimers have a fixed
  // rate); other events' frequency-mode periods adapt (0 here).
  const bool clock = attr->type == PERF_TYPE_SOFTWARE &&
                     (attr->config == PERF_COUNT_SW_CPU_CLOCK ||
                      attr->config == PERF_COUNT_SW_TASK_CLOCK);
  if (!attr->freq) {
    ev->sample_period_ = attr->sample_period;
  } else if (clock && attr->sample_freq != 0) {
    ev->sample_period_ = 1000000000ull / attr->sample_freq;
  }
  ev->inherit_ = attr->inherit != 0;
  ev->disabled_.store(attr->disabled != 0);
  if (pid == 0) {
    ev->target_tid_ = static_cast<long>(syscall(SYS_gettid));
    ev->open_ns_ = ClockNs(CLOCK_THREAD_CPUTIME_ID);
    ThreadCounts(ev->open_counts_);
  } else {
    ev->open_ns_ = ClockNs(CLOCK_MONOTONIC);
  }
  // The control block is written through a one-page mapping here; the
  // producer uses the full mapping PerfEventMmap makes.
  void* p =
      mmap(nullptr, kPerfPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return -ENOMEM;
  }
  auto* ctl = reinterpret_cast<PerfEvent::Ctl*>(static_cast<uint8_t*>(p) +
                                                kPerfCtlOffset);
  ctl->magic = PerfEvent::Ctl::kMagic;
  munmap(p, kPerfPageSize);
  Registry& r = Registry::Get();
  std::lock_guard<std::mutex> l(r.mu);
  r.by_fd[fd] = ev;
  r.by_id[ev->id_] = ev;
  return fd;
}

long PerfEvent::ReadLocal(uint32_t cur_cpu, uint64_t* value, uint64_t* enabled,
                          uint64_t* running) const {
  if (inherit_) return -EOPNOTSUPP;
  if (target_tid_ != 0 && target_tid_ != syscall(SYS_gettid)) return -EINVAL;
  if (target_tid_ == 0 && static_cast<uint32_t>(cpu_) != cur_cpu) {
    return -EINVAL;
  }
  uint64_t count = 0, time = 0;
  if (!disabled_.load(std::memory_order_acquire)) {
    time = target_tid_ != 0 ? ClockNs(CLOCK_THREAD_CPUTIME_ID) - open_ns_
                            : ClockNs(CLOCK_MONOTONIC) - open_ns_;
    if (type_ == PERF_TYPE_SOFTWARE &&
        (config_ == PERF_COUNT_SW_CPU_CLOCK ||
         (config_ == PERF_COUNT_SW_TASK_CLOCK && target_tid_ != 0))) {
      count = time;
    } else if (const int i = CountIndex(config_); i >= 0 && target_tid_ != 0) {
      uint64_t now[5];
      ThreadCounts(now);
      count = now[i] - open_counts_[i];
    }
  }
  *value = count;
  if (enabled != nullptr) *enabled = time;
  if (running != nullptr) *running = time;
  return 0;
}

void* PerfEventMmap(void* addr, size_t length, int prot, int flags, int fd,
                    off_t offset, int* err) {
  std::shared_ptr<PerfEvent> ev = PerfEventFromFd(fd);
  if (ev == nullptr) {
    *err = -EBADF;
    return nullptr;
  }
  *err = -EINVAL;
  // perf_mmap: no inherited per-task event; shared; offset 0 (an AUX area
  // needs a ring first); 1 + nr_pages pages, nr_pages 0 or a power of two.
  if ((ev->cpu_ == -1 && ev->inherit_) || (flags & MAP_SHARED) == 0 ||
      offset != 0 || length < kPerfPageSize || length % kPerfPageSize != 0) {
    return nullptr;
  }
  if (const uint64_t nr = length / kPerfPageSize - 1;
      nr != 0 && !IsPowerOfTwo(nr)) {
    return nullptr;
  }
  {
    Registry& r = Registry::Get();
    std::lock_guard<std::mutex> l(r.mu);
    if (ev->base_.load() == nullptr) {
      // rb_alloc: the page array (8 bytes a page) above an order-10
      // allocation, 4 MiB: more than 2^18 data pages are -ENOMEM.
      if (length / kPerfPageSize - 1 > (uint64_t{1} << 18)) {
        *err = -ENOMEM;
        return nullptr;
      }
      if (ftruncate(ev->own_fd_, static_cast<off_t>(length)) != 0) {
        *err = -ENOMEM;
        return nullptr;
      }
      void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED,
                     ev->own_fd_, 0);
      if (p == MAP_FAILED) {
        *err = -ENOMEM;
        return nullptr;
      }
      auto* page = static_cast<struct perf_event_mmap_page*>(p);
      page->version = 0;
      page->compat_version = 0;
      // perf_event_init_userpage and one perf_event_update_userpage, as
      // measured on 6.18: cap_bit0_is_deprecated, size 96, the seqcount
      // bumped twice. No counter index or times (index 0, as a software
      // event's).
      page->cap_bit0_is_deprecated = 1;
      page->size = 96;
      page->lock = 2;
      page->data_offset = kPerfPageSize;
      page->data_size = length - kPerfPageSize;
      ev->data_size_ = length - kPerfPageSize;
      ev->map_len_ = length;
      // rb_alloc without RING_BUFFER_WRITABLE: the overwrite mode.
      ev->overwrite_ = (prot & PROT_WRITE) == 0;
      ev->base_.store(static_cast<uint8_t*>(p), std::memory_order_release);
    } else if (ev->map_len_ != length) {
      return nullptr;
    }
  }
  void* p = mmap(addr, length, prot, flags, fd, 0);
  if (p == MAP_FAILED) {
    *err = -errno;
    return nullptr;
  }
  *err = 0;
  return p;
}

std::shared_ptr<PerfEvent> PerfEventFromFd(int fd) {
  Registry& r = Registry::Get();
  std::lock_guard<std::mutex> l(r.mu);
  auto it = r.by_fd.find(fd);
  return it != r.by_fd.end() ? it->second : nullptr;
}

std::shared_ptr<PerfEvent> PerfEventFromId(uint32_t id) {
  Registry& r = Registry::Get();
  std::lock_guard<std::mutex> l(r.mu);
  auto it = r.by_id.find(id);
  return it != r.by_id.end() ? it->second : nullptr;
}

int PerfEventClose(int fd) {
  {
    Registry& r = Registry::Get();
    std::lock_guard<std::mutex> l(r.mu);
    auto it = r.by_fd.find(fd);
    if (it != r.by_fd.end()) {
      r.by_id.erase(it->second->id());
      r.by_fd.erase(it);
    }
  }
  return close(fd) == 0 ? 0 : -errno;
}

uint64_t PerfEvent::PendingLost() const {
  uint8_t* base = base_.load(std::memory_order_acquire);
  if (base == nullptr) return 0;
  const auto* ctl = reinterpret_cast<const Ctl*>(base + kPerfCtlOffset);
  return __atomic_load_n(&ctl->lost, __ATOMIC_RELAXED);
}

long PerfEvent::Output(const void* data, uint64_t size, uint32_t cur_cpu) {
  if (type_ != PERF_TYPE_SOFTWARE || config_ != PERF_COUNT_SW_BPF_OUTPUT) {
    return -EINVAL;
  }
  // event->oncpu != cpu: another CPU's event, or a disabled one (on none).
  if ((cpu_ >= 0 && static_cast<uint32_t>(cpu_) != cur_cpu) ||
      disabled_.load(std::memory_order_acquire)) {
    return -EOPNOTSUPP;
  }
  uint8_t* base = base_.load(std::memory_order_acquire);
  // No ring buffer, or one without data pages (rb->paused):
  // perf_output_begin fails without counting a loss.
  if (base == nullptr || data_size_ == 0) return -ENOSPC;
  const bool raw = (sample_type_ & PERF_SAMPLE_RAW) != 0;
  const uint64_t raw_size = raw ? RoundUp(size + 4, 8) - 4 : 0;
  const uint64_t rec =
      sizeof(struct perf_event_header) + (raw ? 4 + raw_size : 0);
  if (rec > 0xfff8) return -E2BIG;
  auto* page = reinterpret_cast<struct perf_event_mmap_page*>(base);
  auto* ctl = reinterpret_cast<Ctl*>(base + kPerfCtlOffset);
  uint8_t* ring = base + kPerfPageSize;
  const uint64_t mask = data_size_ - 1;
  struct LostRecord {
    struct perf_event_header header;
    uint64_t id;
    uint64_t lost;
  };
  bool wake = false;
  {
    ShmMutexLock l(&ctl->lock);
    const uint64_t have_lost = ctl->lost;
    const uint64_t need = rec + (have_lost != 0 ? sizeof(LostRecord) : 0);
    const uint64_t tail = __atomic_load_n(&page->data_tail, __ATOMIC_ACQUIRE);
    uint64_t head = ctl->head;
    // ring_buffer_has_space: CIRC_SPACE(head, tail, size) >= size; an
    // overwrite ring (a read-only mapping) does not look at the tail.
    if (!overwrite_ && ((tail - (head + 1)) & mask) < need) {
      ctl->lost = have_lost + 1;
      ++ctl->lost_samples;
      return -ENOSPC;
    }
    auto put = [&](const void* src, uint64_t n) {
      const auto* s = static_cast<const uint8_t*>(src);
      while (n > 0) {
        const uint64_t off = head & mask;
        const uint64_t chunk = n < data_size_ - off ? n : data_size_ - off;
        std::memcpy(ring + off, s, chunk);
        s += chunk;
        n -= chunk;
        head += chunk;
      }
    };
    const uint64_t end = head + need;
    // __perf_output_begin: the watermark wake-up position.
    const uint64_t watermark =
        watermark_ && wakeup_watermark_ != 0
            ? (wakeup_watermark_ < data_size_ ? wakeup_watermark_ : data_size_)
            : data_size_ / 2;
    if (end - ctl->wakeup_pos > watermark) {
      ctl->wakeup_pos += watermark;
      wake = true;
    }
    if (have_lost != 0) {
      LostRecord lr{};
      lr.header.type = PERF_RECORD_LOST;
      lr.header.misc = 0;
      lr.header.size = sizeof(LostRecord);
      lr.id = id_;
      lr.lost = have_lost;
      ctl->lost = 0;
      put(&lr, sizeof(lr));
    }
    struct perf_event_header h;
    h.type = PERF_RECORD_SAMPLE;
    h.misc = PERF_RECORD_MISC_KERNEL;
    h.size = static_cast<uint16_t>(rec);
    put(&h, sizeof(h));
    if (raw) {
      const uint32_t sz = static_cast<uint32_t>(raw_size);
      put(&sz, sizeof(sz));
      put(data, size);
      head += raw_size - size;  // __output_skip of the pad
    }
    ctl->head = end;
    // perf_output_sample: every wakeup_events-th record wakes the reader.
    if (!watermark_ && wakeup_events_ != 0 && ++ctl->events >= wakeup_events_) {
      ctl->events -= wakeup_events_;
      wake = true;
    }
    if (wake) ++ctl->wakeups;
    __atomic_store_n(&page->data_head, end, __ATOMIC_RELEASE);
  }
  // Published data_head first; then signal unless a signal is pending. The
  // consumer clears the flag before it reads data_head (ConsumeWakeup), so
  // a skipped write never hides a record.
  if (wake && __atomic_exchange_n(&ctl->signalled, 1u, __ATOMIC_SEQ_CST) == 0) {
    const uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof(one));
    (void)n;
  }
  return 0;
}

uint64_t PerfEvent::Wakeups() const {
  uint8_t* base = base_.load(std::memory_order_acquire);
  if (base == nullptr) return 0;
  const auto* ctl = reinterpret_cast<const Ctl*>(base + kPerfCtlOffset);
  return __atomic_load_n(&ctl->wakeups, __ATOMIC_ACQUIRE);
}

bool PerfEvent::HasData() const {
  uint8_t* base = base_.load(std::memory_order_acquire);
  if (base == nullptr) return false;
  const auto* page = reinterpret_cast<const struct perf_event_mmap_page*>(base);
  return __atomic_load_n(&page->data_head, __ATOMIC_ACQUIRE) !=
         __atomic_load_n(&page->data_tail, __ATOMIC_ACQUIRE);
}

void PerfEvent::ConsumeWakeup() {
  uint8_t* base = base_.load(std::memory_order_acquire);
  if (base != nullptr) {
    auto* ctl = reinterpret_cast<Ctl*>(base + kPerfCtlOffset);
    __atomic_store_n(&ctl->signalled, 0u, __ATOMIC_SEQ_CST);
  }
  uint64_t drained;
  ssize_t n = read(wake_fd_, &drained, sizeof(drained));
  (void)n;
}

}  // namespace bpfemu
