// SPDX-License-Identifier: Apache-2.0
// BPF_MAP_TYPE_PERF_EVENT_ARRAY and the emulated perf events, against the
// errnos and record layout measured on 6.18 (kernel/bpf/arraymap.c,
// kernel/trace/bpf_trace.c, kernel/events/ring_buffer.c).
#include "emu/perf_event_array.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/perf_buffer.h"
#include "emu/perf_event.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

MapAttr Attr(uint32_t k, uint32_t v, uint32_t n, uint32_t flags = 0) {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY;
  a.key_size = k;
  a.value_size = v;
  a.max_entries = n;
  a.map_flags = flags;
  return a;
}

int OpenOutput(int cpu, uint32_t wakeup_events = 1,
               uint64_t config = PERF_COUNT_SW_BPF_OUTPUT) {
  struct perf_event_attr at {};
  at.size = sizeof(at);
  at.type = PERF_TYPE_SOFTWARE;
  at.config = config;
  at.sample_type = PERF_SAMPLE_RAW;
  at.sample_period = 1;
  at.wakeup_events = wakeup_events;
  return PerfEventOpen(&at, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

TEST(PerfEventArrayTest, CreateChecks) {
  SetNumPossibleCpus(2);
  EXPECT_EQ(MapCreate(Attr(4, 4, 0)), -EINVAL);
  EXPECT_EQ(MapCreate(Attr(8, 4, 4)), -EINVAL);
  EXPECT_EQ(MapCreate(Attr(4, 8, 4)), -EINVAL);
  for (uint32_t f : {BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_F_MMAPABLE,
                     BPF_F_NO_PREALLOC, BPF_F_INNER_MAP, BPF_F_ZERO_SEED}) {
    EXPECT_EQ(MapCreate(Attr(4, 4, 4, f)), -EINVAL) << f;
  }
  for (uint32_t f : {BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_PRESERVE_ELEMS}) {
    const int fd = MapCreate(Attr(4, 4, 4, f));
    EXPECT_GE(fd, 0) << f;
    CloseFd(fd);
  }
}

TEST(PerfEventArrayTest, Commands) {
  SetNumPossibleCpus(2);
  const int fd = MapCreate(Attr(4, 4, 4));
  ASSERT_GE(fd, 0);
  uint32_t k = 0, v = 0, nk = 7;
  EXPECT_EQ(MapLookupElem(fd, &k, &v), -kENOTSUPP);
  EXPECT_EQ(MapLookupAndDeleteElem(fd, &k, &v), -kENOTSUPP);
  EXPECT_EQ(MapDeleteElem(fd, &k), -ENOENT);
  k = 4;
  EXPECT_EQ(MapDeleteElem(fd, &k), -E2BIG);
  EXPECT_EQ(MapGetNextKey(fd, nullptr, &nk), 0);
  EXPECT_EQ(nk, 0u);
  k = 3;
  EXPECT_EQ(MapGetNextKey(fd, &k, &nk), -ENOENT);
  k = 0;
  v = 0;  // stdin: not a perf event
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), -EBADF);
  v = static_cast<uint32_t>(fd);
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), -EBADF);
  const int pe = OpenOutput(0);
  ASSERT_GE(pe, 0);
  v = static_cast<uint32_t>(pe);
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_EXIST), -EINVAL);
  k = 4;
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), -E2BIG);
  k = 0;
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  EXPECT_EQ(MapLookupElem(fd, &k, &v), -kENOTSUPP);
  EXPECT_EQ(MapDeleteElem(fd, &k), 0);
  EXPECT_EQ(MapDeleteElem(fd, &k), -ENOENT);
  int err = 0;
  EXPECT_EQ(MapMmap(fd, 4096, PROT_READ, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -kENOTSUPP);
  EXPECT_EQ(MapMemlock(fd), 344);
  PerfEventClose(pe);
  CloseFd(fd);
}

struct Ring {
  uint8_t* base = nullptr;
  size_t len = 0;
  perf_event_mmap_page* page() const {
    return reinterpret_cast<perf_event_mmap_page*>(base);
  }
};

// Reads every record between data_tail and data_head: (type, payload).
std::vector<std::pair<uint32_t, std::vector<uint8_t>>> Drain(const Ring& r) {
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> out;
  const uint64_t size = r.page()->data_size;
  uint64_t tail = r.page()->data_tail;
  const uint64_t head = __atomic_load_n(&r.page()->data_head, __ATOMIC_ACQUIRE);
  while (tail < head) {
    std::vector<uint8_t> rec;
    perf_event_header h;
    for (size_t i = 0; i < sizeof(h); ++i) {
      reinterpret_cast<uint8_t*>(&h)[i] = r.base[4096 + ((tail + i) % size)];
    }
    for (size_t i = sizeof(h); i < h.size; ++i) {
      rec.push_back(r.base[4096 + ((tail + i) % size)]);
    }
    out.emplace_back(h.type, rec);
    tail += h.size;
  }
  __atomic_store_n(&r.page()->data_tail, tail, __ATOMIC_RELEASE);
  return out;
}

TEST(PerfEventArrayTest, OutputRulesAndRecords) {
  SetNumPossibleCpus(2);
  const int fd = MapCreate(Attr(4, 4, 2));
  ASSERT_GE(fd, 0);
  auto map = std::dynamic_pointer_cast<PerfEventArrayMap>(MapFromFd(fd));
  ASSERT_NE(map, nullptr);
  const int pe0 = OpenOutput(0);
  const int pe1 = OpenOutput(1);
  const int clock = OpenOutput(1, 1, PERF_COUNT_SW_CPU_CLOCK);
  ASSERT_GE(pe0, 0);
  ASSERT_GE(pe1, 0);
  ASSERT_GE(clock, 0);
  const char msg[] = "hello";
  uint32_t k = 0, v = static_cast<uint32_t>(pe0);
  // Bad flags, out-of-range index, empty slot.
  EXPECT_EQ(map->Output(1ULL << 32, msg, 5, 0), -EINVAL);
  EXPECT_EQ(map->Output(2, msg, 5, 0), -E2BIG);
  EXPECT_EQ(map->Output(BPF_F_CURRENT_CPU, msg, 5, 0), -ENOENT);
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  // No ring mapped yet: ENOSPC, nothing counted as lost.
  EXPECT_EQ(map->Output(BPF_F_CURRENT_CPU, msg, 5, 0), -ENOSPC);
  // The event is on CPU 0; a program on CPU 1 indexing slot 0.
  EXPECT_EQ(map->Output(0, msg, 5, 1), -EOPNOTSUPP);
  k = 1;
  v = static_cast<uint32_t>(clock);
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  EXPECT_EQ(map->Output(BPF_F_CURRENT_CPU, msg, 5, 1), -EINVAL);
  v = static_cast<uint32_t>(pe1);
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);

  int err;
  // mmap rules: 1 + 2^n pages (or 1), shared, offset 0.
  EXPECT_EQ(PerfEventMmap(nullptr, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                          pe0, 0, &err),
            nullptr);
  EXPECT_EQ(err, -EINVAL);
  EXPECT_EQ(PerfEventMmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE, pe0, 0, &err),
            nullptr);
  EXPECT_EQ(PerfEventMmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                          0, 0, &err),
            nullptr);
  EXPECT_EQ(err, -EBADF);
  Ring r;
  r.len = 2 * 4096;  // one data page
  r.base = static_cast<uint8_t*>(PerfEventMmap(
      nullptr, r.len, PROT_READ | PROT_WRITE, MAP_SHARED, pe0, 0, &err));
  ASSERT_NE(r.base, nullptr) << err;
  EXPECT_EQ(r.page()->data_offset, 4096u);
  EXPECT_EQ(r.page()->data_size, 4096u);
  EXPECT_EQ(PerfEventMmap(nullptr, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                          pe0, 0, &err),
            nullptr);

  EXPECT_EQ(map->Output(BPF_F_CURRENT_CPU, msg, 5, 0), 0);
  auto recs = Drain(r);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].first, uint32_t{PERF_RECORD_SAMPLE});
  // header 8 + u32 size + 5 bytes padded: 4 + 5 -> 16, so size word 12.
  ASSERT_EQ(recs[0].second.size(), 16u);
  uint32_t raw;
  std::memcpy(&raw, recs[0].second.data(), 4);
  EXPECT_EQ(raw, 12u);
  EXPECT_EQ(std::memcmp(recs[0].second.data() + 4, msg, 5), 0);

  // Fill the one-page ring with 64-byte records (8 + 4 + 52): the last
  // byte is never used (CIRC_SPACE), so 63 fit, then samples are lost.
  std::vector<uint8_t> big(52, 0xab);
  int ok = 0, lost = 0;
  for (int i = 0; i < 70; ++i) {
    const long ret = map->Output(0, big.data(), big.size(), 0);
    if (ret == 0) {
      ++ok;
    } else {
      EXPECT_EQ(ret, -ENOSPC);
      ++lost;
    }
  }
  // 24 bytes already consumed were freed by the drain, so the ring holds
  // (4096 - 1) / 64 = 63 records.
  EXPECT_EQ(ok, 63);
  EXPECT_EQ(lost, 7);
  recs = Drain(r);
  EXPECT_EQ(recs.size(), 63u);
  // The next sample carries the lost record first.
  EXPECT_EQ(map->Output(0, msg, 5, 0), 0);
  recs = Drain(r);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].first, uint32_t{PERF_RECORD_LOST});
  uint64_t id_lost[2];
  std::memcpy(id_lost, recs[0].second.data(), 16);
  EXPECT_EQ(id_lost[1], 7u);
  EXPECT_EQ(recs[1].first, uint32_t{PERF_RECORD_SAMPLE});

  // A crafted data_tail far ahead of the head cannot make the producer
  // write outside the ring.
  r.page()->data_tail = ~0ULL - 5;
  for (int i = 0; i < 10; ++i) (void)map->Output(0, big.data(), big.size(), 0);

  munmap(r.base, r.len);
  PerfEventClose(pe0);
  PerfEventClose(pe1);
  PerfEventClose(clock);
  CloseFd(fd);
}

// perf_event_fd_array_release across processes: a forked child closing its
// copy of the parent's fd releases nothing (the file lives on in the
// parent); a child that stored an entry through a file of its own and
// exited without closing it leaves the entry until the next close of any
// descriptor of the map. Output's answer shows the slot: ENOSPC (an entry,
// no ring mapped) or ENOENT (empty).
TEST(PerfEventArrayTest, EntriesOfAnExitedProcessesFileGoAtTheNextClose) {
  SetNumPossibleCpus(2);
  const int fd = MapCreate(Attr(4, 4, 2));
  ASSERT_GE(fd, 0);
  auto map = std::dynamic_pointer_cast<PerfEventArrayMap>(MapFromFd(fd));
  ASSERT_NE(map, nullptr);
  const int pe = OpenOutput(0);
  ASSERT_GE(pe, 0);
  uint32_t k = 0, v = static_cast<uint32_t>(pe);
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  const char msg[] = "x";
  auto run_child = [](auto body) {
    const pid_t pid = fork();
    if (pid == 0) _exit(body());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  };
  // The child's copy of fd shares the parent's file.
  EXPECT_EQ(run_child([&] { return CloseFd(fd) == 0 ? 0 : 1; }), 0);
  EXPECT_EQ(map->Output(0, msg, 1, 0), -ENOSPC);
  // A file of the child's own, left open at exit.
  EXPECT_EQ(run_child([&] {
              const std::string self = "/proc/self/fd/" + std::to_string(fd);
              const int own = open(self.c_str(), O_RDWR | O_CLOEXEC);
              if (own < 0 || AttachMapFd(own) != 0) return 1;
              uint32_t key = 1;
              return MapUpdateElem(own, &key, &v, BPF_ANY) == 0 ? 0 : 2;
            }),
            0);
  EXPECT_EQ(map->Output(1, msg, 1, 0), -ENOSPC);
  const int other = DupMapFd(fd, 0);
  ASSERT_GE(other, 0);
  EXPECT_EQ(CloseFd(other), 0);
  EXPECT_EQ(map->Output(1, msg, 1, 0), -ENOENT);
  EXPECT_EQ(map->Output(0, msg, 1, 0), -ENOSPC);
  map.reset();
  EXPECT_EQ(CloseFd(fd), 0);
  PerfEventClose(pe);
}

TEST(PerfEventArrayTest, WakeupEvents) {
  SetNumPossibleCpus(1);
  const int fd = MapCreate(Attr(4, 4, 1));
  auto map = std::dynamic_pointer_cast<PerfEventArrayMap>(MapFromFd(fd));
  const int pe = OpenOutput(0, /*wakeup_events=*/3);
  uint32_t k = 0, v = static_cast<uint32_t>(pe);
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  int err;
  void* base = PerfEventMmap(nullptr, 5 * 4096, PROT_READ | PROT_WRITE,
                             MAP_SHARED, pe, 0, &err);
  ASSERT_NE(base, nullptr);
  auto ev = PerfEventFromFd(pe);
  uint64_t n = 0;
  // Records 1 and 2 do not wake; record 3 does.
  for (int i = 0; i < 2; ++i) ASSERT_EQ(map->Output(0, &i, 4, 0), 0);
  EXPECT_EQ(read(ev->wake_fd(), &n, sizeof(n)), -1);
  ASSERT_EQ(map->Output(0, &n, 4, 0), 0);
  ASSERT_EQ(read(ev->wake_fd(), &n, sizeof(n)), 8);
  EXPECT_EQ(n, 1u);
  // A pending signal coalesces later wake-ups until the consumer takes it
  // (records 4..9: wake-ups at 6 and 9, one signal).
  for (int i = 0; i < 6; ++i) ASSERT_EQ(map->Output(0, &i, 4, 0), 0);
  ev->ConsumeWakeup();
  EXPECT_EQ(read(ev->wake_fd(), &n, sizeof(n)), -1);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(map->Output(0, &i, 4, 0), 0);
  ASSERT_EQ(read(ev->wake_fd(), &n, sizeof(n)), 8);
  EXPECT_EQ(n, 1u);
  munmap(base, 5 * 4096);
  PerfEventClose(pe);
  CloseFd(fd);
}

// perf_mmap's other rings (measured on 6.18 in tests/exec/perfbuf_raw.c):
// a read-only first mapping makes an overwrite ring, whose producer never
// looks at data_tail; page 0 alone a ring without data pages, which drops
// every sample uncounted (rb->paused); a disabled event is on no CPU.
TEST(PerfEventArrayTest, OverwriteDatalessAndDisabledRings) {
  SetNumPossibleCpus(1);
  const int fd = MapCreate(Attr(4, 4, 1));
  auto map = std::dynamic_pointer_cast<PerfEventArrayMap>(MapFromFd(fd));
  const int ro = OpenOutput(0);
  uint32_t k = 0, v = static_cast<uint32_t>(ro);
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  int err;
  Ring r;
  r.len = 2 * 4096;
  r.base = static_cast<uint8_t*>(
      PerfEventMmap(nullptr, r.len, PROT_READ, MAP_SHARED, ro, 0, &err));
  ASSERT_NE(r.base, nullptr) << err;
  std::vector<uint8_t> big(504, 7);
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(map->Output(0, big.data(), big.size(), 0), 0) << i;
  }
  EXPECT_EQ(r.page()->data_head, 9u * 520u);
  EXPECT_EQ(r.page()->data_tail, 0u);
  EXPECT_EQ(PerfEventFromFd(ro)->PendingLost(), 0u);
  munmap(r.base, r.len);

  const int none = OpenOutput(0);
  v = static_cast<uint32_t>(none);
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  void* p0 = PerfEventMmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                           none, 0, &err);
  ASSERT_NE(p0, nullptr) << err;
  EXPECT_EQ(static_cast<perf_event_mmap_page*>(p0)->data_size, 0u);
  EXPECT_EQ(PerfEventMmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                          none, 0, &err),
            nullptr);
  EXPECT_EQ(err, -EINVAL);
  EXPECT_EQ(map->Output(0, big.data(), 8, 0), -ENOSPC);
  EXPECT_EQ(PerfEventFromFd(none)->PendingLost(), 0u);
  munmap(p0, 4096);

  PerfEventFromFd(none)->SetEnabled(false);
  EXPECT_EQ(map->Output(0, big.data(), 8, 0), -EOPNOTSUPP);
  PerfEventClose(ro);
  PerfEventClose(none);
  CloseFd(fd);
}

// Two producer threads on one (task-bound) event while a third consumes
// through PerfBuffer: every sample arrives whole (its 8 bytes are one
// producer's counter, in order per producer), and samples + lost = sent.
TEST(PerfEventArrayTest, ConcurrentProducersNeverTear) {
  SetNumPossibleCpus(1);
  const int fd = MapCreate(Attr(4, 4, 1));
  auto map = std::dynamic_pointer_cast<PerfEventArrayMap>(MapFromFd(fd));
  struct Seen {
    uint64_t samples = 0, lost = 0, torn = 0, reordered = 0;
    uint64_t last[2] = {0, 0};
  } seen;
  struct perf_event_attr attr = PerfBuffer::DefaultAttr();
  PerfBuffer::Params p;
  p.attr = &attr;
  p.cpu_cnt = 1;
  const int cpus[1] = {0}, keys[1] = {0};
  p.cpus = cpus;
  p.map_keys = keys;
  p.ctx = &seen;
  p.sample_cb = [](void* ctx, int, void* data, __u32 size) {
    auto* s = static_cast<Seen*>(ctx);
    ++s->samples;
    // 12 bytes: a counter and the complement of its low half (4 + 12 is
    // already a multiple of 8, so no padding).
    if (size != 12) {
      ++s->torn;
      return;
    }
    uint64_t v0;
    uint32_t check;
    std::memcpy(&v0, data, 8);
    std::memcpy(&check, static_cast<uint8_t*>(data) + 8, 4);
    const uint64_t who = v0 >> 63, n = v0 & ~(1ULL << 63);
    if (check != ~static_cast<uint32_t>(v0)) ++s->torn;
    if (n <= s->last[who] && s->last[who] != 0) ++s->reordered;
    s->last[who] = n;
  };
  p.lost_cb = [](void* ctx, int, __u64 n) {
    static_cast<Seen*>(ctx)->lost += n;
  };
  int err;
  auto pb = PerfBuffer::New(fd, 4, p, &err);
  ASSERT_NE(pb, nullptr) << err;
  constexpr uint64_t kPerProducer = 20000;
  std::atomic<int> running{2};
  auto produce = [&](uint64_t who) {
    ScopedCpu on(0);
    for (uint64_t i = 1; i <= kPerProducer; ++i) {
      uint64_t v[2] = {(who << 63) | i, 0};
      v[1] = ~v[0];
      const long r = map->Output(0, v, 12, 0);
      EXPECT_TRUE(r == 0 || r == -ENOSPC) << r;
      (void)r;
    }
    running.fetch_sub(1);
  };
  std::thread a(produce, 0), b(produce, 1);
  while (running.load() > 0) (void)pb->Poll(10);
  a.join();
  b.join();
  EXPECT_EQ(pb->Consume(), 0);
  // A pending loss is reported only by the next sample that fits.
  {
    ScopedCpu on(0);
    uint64_t v[2] = {(1ULL << 63) | (kPerProducer + 1), 0};
    v[1] = ~v[0];
    ASSERT_EQ(map->Output(0, v, 12, 0), 0);
  }
  EXPECT_EQ(pb->Consume(), 0);
  EXPECT_EQ(seen.samples + seen.lost, 2 * kPerProducer + 1);
  EXPECT_EQ(seen.torn, 0u);
  EXPECT_EQ(seen.reordered, 0u);
  pb.reset();
  CloseFd(fd);
  SetNumPossibleCpus(0);
}

}  // namespace
}  // namespace bpfemu
