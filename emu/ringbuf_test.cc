// SPDX-License-Identifier: Apache-2.0
// Ring buffer producer and consumer, checked against the figures measured on
// 6.18 (kernel/bpf/ sources; measured on 6.18).
#include "emu/ringbuf.h"

#include <linux/bpf.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "emu/cpu.h"
#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

class RingbufTest : public ::testing::Test {
 protected:
  void Make(uint32_t size) {
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_RINGBUF;
    a.max_entries = size;
    fd_ = MapCreate(a);
    ASSERT_GE(fd_, 0);
    rb_ = std::dynamic_pointer_cast<RingbufMap>(MapFromFd(fd_));
    ASSERT_NE(rb_, nullptr);
  }
  void TearDown() override {
    consumer_.reset();
    rb_.reset();
    if (fd_ >= 0) CloseFd(fd_);
  }
  // A consumer that records what it receives.
  struct Seen {
    std::vector<size_t> sizes;
    std::vector<std::vector<uint8_t>> payloads;
    int ret = 0;
  };
  static int Record(void* ctx, void* data, size_t size) {
    auto* seen = static_cast<Seen*>(ctx);
    seen->sizes.push_back(size);
    auto* p = static_cast<uint8_t*>(data);
    seen->payloads.emplace_back(p, p + size);
    return seen->ret;
  }
  void Consumer() {
    int err;
    consumer_ = RingBuffer::New(fd_, &Record, &seen_, &err);
    ASSERT_NE(consumer_, nullptr) << err;
  }
  uint32_t HeaderLenAt(uint64_t pos) {
    uint32_t len;
    std::memcpy(&len, rb_->data() + (pos & rb_->mask()), 4);
    return len;
  }
  uint32_t HeaderPgOffAt(uint64_t pos) {
    uint32_t pg;
    std::memcpy(&pg, rb_->data() + (pos & rb_->mask()) + 4, 4);
    return pg;
  }

  int fd_ = -1;
  std::shared_ptr<RingbufMap> rb_;
  std::unique_ptr<RingBuffer> consumer_;
  Seen seen_;
};

// §1.3's measured sequence on an empty 4096-byte ring.
TEST_F(RingbufTest, RecordSequence) {
  Make(4096);
  struct Step {
    uint32_t size;
    bool discard;
    uint64_t pos, prod_after;
    uint32_t header;
  };
  const Step steps[] = {
      {0, false, 0, 8, 0x0},   {1, false, 8, 24, 0x1},
      {7, false, 24, 40, 0x7}, {8, false, 40, 56, 0x8},
      {9, false, 56, 80, 0x9}, {20, true, 80, 112, 0x40000014}};
  for (const Step& s : steps) {
    void* p = rb_->Reserve(s.size, 0);
    ASSERT_NE(p, nullptr) << s.size;
    EXPECT_EQ(static_cast<uint8_t*>(p) - rb_->data(),
              static_cast<ptrdiff_t>(s.pos + 8));
    EXPECT_EQ(HeaderLenAt(s.pos), s.size | kRingbufBusyBit);
    if (s.discard)
      rb_->Discard(p, 0);
    else
      rb_->Submit(p, 0);
    EXPECT_EQ(HeaderLenAt(s.pos), s.header);
    EXPECT_EQ(rb_->Query(BPF_RB_PROD_POS), s.prod_after);
  }
  const uint8_t five[5] = {1, 2, 3, 4, 5};
  EXPECT_EQ(rb_->Output(five, 5, 0), 0);
  EXPECT_EQ(HeaderLenAt(112), 5u);
  EXPECT_EQ(rb_->Query(BPF_RB_PROD_POS), 128u);
  EXPECT_EQ(rb_->Reserve(8, 1), nullptr);       // flags != 0
  EXPECT_EQ(rb_->Output(five, 5, 4), -EINVAL);  // unknown flag
  EXPECT_EQ(rb_->Query(BPF_RB_PROD_POS), 128u);
  Consumer();
  EXPECT_EQ(consumer_->Consume(), 6);
  EXPECT_EQ(seen_.sizes, (std::vector<size_t>{0, 1, 7, 8, 9, 5}));
  EXPECT_EQ(seen_.payloads.back(), std::vector<uint8_t>(five, five + 5));
  EXPECT_EQ(rb_->Query(BPF_RB_CONS_POS), 128u);
  EXPECT_EQ(rb_->Query(BPF_RB_AVAIL_DATA), 0u);
  EXPECT_EQ(rb_->Query(BPF_RB_RING_SIZE), 4096u);
  EXPECT_EQ(rb_->Query(4), 0u);
  EXPECT_EQ(rb_->Query(99), 0u);
}

// At most S - 8 bytes outstanding: 4080 fits an empty 4096 ring, 4081 does
// not; after 2000 + 2000, 100 and 72 fail and 64 fits.
TEST_F(RingbufTest, SpaceLimits) {
  Make(4096);
  EXPECT_EQ(rb_->Reserve(4081, 0), nullptr);
  void* big = rb_->Reserve(4080, 0);
  ASSERT_NE(big, nullptr);
  rb_->Discard(big, 0);
  Consumer();
  EXPECT_EQ(consumer_->Consume(), 0);
  ASSERT_NE(rb_->Reserve(2000, 0), nullptr);
  ASSERT_NE(rb_->Reserve(2000, 0), nullptr);
  EXPECT_EQ(rb_->Reserve(100, 0), nullptr);
  EXPECT_EQ(rb_->Reserve(72, 0), nullptr);
  EXPECT_NE(rb_->Reserve(64, 0), nullptr);
  EXPECT_EQ(rb_->Reserve(uint64_t{1} << 30, 0), nullptr);
}

// A 16 KiB ring takes exactly 78 outputs of 200 bytes; the 79th is EAGAIN.
// Header pg_off is 3 + the data page of the header.
TEST_F(RingbufTest, FullRingAndPageOffsets) {
  Make(16384);
  uint8_t rec[200] = {};
  for (int i = 0; i < 78; ++i) ASSERT_EQ(rb_->Output(rec, 200, 0), 0) << i;
  EXPECT_EQ(rb_->Output(rec, 200, 0), -EAGAIN);
  EXPECT_EQ(HeaderPgOffAt(0), 3u);
  EXPECT_EQ(HeaderPgOffAt(208 * 19), 3u);  // pos 3952
  EXPECT_EQ(HeaderPgOffAt(208 * 39), 4u);  // pos 8112
  EXPECT_EQ(HeaderPgOffAt(208 * 59), 5u);  // pos 12272
}

// A record that crosses the end of the data area is contiguous (the data
// pages are mapped twice) and arrives whole.
TEST_F(RingbufTest, WrappingRecordIsContiguous) {
  Make(4096);
  Consumer();
  std::vector<uint8_t> first(3000, 0x11);
  ASSERT_EQ(rb_->Output(first.data(), first.size(), 0), 0);
  ASSERT_EQ(consumer_->Consume(), 1);
  std::vector<uint8_t> wrap(2000);
  for (size_t i = 0; i < wrap.size(); ++i) wrap[i] = static_cast<uint8_t>(i);
  ASSERT_EQ(rb_->Output(wrap.data(), wrap.size(), 0), 0);  // crosses 4096
  ASSERT_EQ(consumer_->Consume(), 1);
  EXPECT_EQ(seen_.payloads.back(), wrap);
}

// Positions are assigned at reserve time: a busy record holds back later
// committed ones; committing it (even as a discard) releases them.
TEST_F(RingbufTest, BusyRecordStopsTheConsumer) {
  Make(4096);
  Consumer();
  void* a = rb_->Reserve(100, 0);
  void* b = rb_->Reserve(3, 0);
  ASSERT_TRUE(a && b);
  rb_->Submit(b, 0);
  EXPECT_EQ(consumer_->Consume(), 0);
  rb_->Discard(a, 0);
  EXPECT_EQ(consumer_->Consume(), 1);
  EXPECT_EQ(seen_.sizes, (std::vector<size_t>{3}));
}

// A callback returning < 0 stops consumption with that value; the record it
// failed on counts as consumed. Positive returns are ignored.
TEST_F(RingbufTest, CallbackErrors) {
  Make(4096);
  Consumer();
  for (uint32_t n : {10u, 11u, 12u}) {
    std::vector<uint8_t> v(n, 7);
    ASSERT_EQ(rb_->Output(v.data(), n, 0), 0);
  }
  seen_.ret = -7;
  EXPECT_EQ(consumer_->Consume(), -7);
  EXPECT_EQ(rb_->Query(BPF_RB_CONS_POS), 24u);
  EXPECT_EQ(consumer_->Consume(), -7);
  seen_.ret = 5;
  EXPECT_EQ(consumer_->Consume(), 1);
  EXPECT_EQ(seen_.sizes, (std::vector<size_t>{10, 11, 12}));
  EXPECT_EQ(consumer_->Poll(0), 0);
}

// A consumer position moved past the producer makes every reservation fail
// and AVAIL_DATA wraps.
TEST_F(RingbufTest, ConsumerPastProducer) {
  Make(4096);
  rb_->consumer_pos().store(64, std::memory_order_release);
  EXPECT_EQ(rb_->Reserve(8, 0), nullptr);
  EXPECT_EQ(rb_->Query(BPF_RB_AVAIL_DATA), uint64_t(0) - 64);
}

// Wake-ups (§1.5): a consumer blocked in Poll is released by a default
// commit (it had caught up) or a forced one, but not by BPF_RB_NO_WAKEUP;
// the record it left waits, as on the kernel (epoll's ready list dropped
// the ring when a poll found it empty), until Consume or a wake-up.
TEST_F(RingbufTest, WakeupRules) {
  Make(16384);
  Consumer();
  for (uint64_t flags : {uint64_t{0}, uint64_t{BPF_RB_FORCE_WAKEUP},
                         uint64_t{BPF_RB_NO_WAKEUP}}) {
    SCOPED_TRACE(flags);
    std::thread producer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      uint8_t v[4] = {};
      EXPECT_EQ(rb_->Output(v, 4, flags), 0);
    });
    const int got = consumer_->Poll(/*timeout_ms=*/400);
    producer.join();
    EXPECT_EQ(got, flags == BPF_RB_NO_WAKEUP ? 0 : 1);
    if (flags == BPF_RB_NO_WAKEUP) {
      EXPECT_EQ(consumer_->Poll(50), 0);  // still not woken
      EXPECT_EQ(consumer_->Consume(), 1);
    }
  }
  // The epoll fd itself becomes readable on a wake-up, shortly after the
  // commit (the consumer's watcher thread signals it, as the kernel's
  // irq_work does).
  uint8_t v[4] = {};
  ASSERT_EQ(rb_->Output(v, 4, BPF_RB_FORCE_WAKEUP), 0);
  pollfd p{consumer_->EpollFd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 5000), 1);
  EXPECT_EQ(consumer_->Consume(), 1);
}

// User mmaps have the kernel's layout (digest §1.2): libbpf's consumer maps
// the consumer page read-write and the producer page plus the doubled data
// read-only, and reads positions and records directly.
TEST_F(RingbufTest, MmapHasTheKernelLayout) {
  constexpr size_t P = 4096, S = 4096;
  Make(S);
  int err;
  auto* cons = static_cast<uint64_t*>(
      MapMmap(fd_, P, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err));
  ASSERT_NE(cons, nullptr) << err;
  auto* prod = static_cast<uint8_t*>(
      MapMmap(fd_, P + 2 * S, PROT_READ, MAP_SHARED, P, &err));
  ASSERT_NE(prod, nullptr) << err;
  const uint8_t* data = prod + P;
  // A record that wraps: 3000 bytes, then 2000 crossing the end.
  std::vector<uint8_t> a(3000, 1), b(2000);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 3);
  ASSERT_EQ(rb_->Output(a.data(), a.size(), 0), 0);
  *cons = 3008;  // consume the first record by hand
  EXPECT_EQ(rb_->Query(BPF_RB_CONS_POS), 3008u);
  ASSERT_EQ(rb_->Output(b.data(), b.size(), 0), 0);
  uint64_t producer;
  std::memcpy(&producer, prod, 8);
  EXPECT_EQ(producer, 3008u + 2008u);
  uint32_t len;
  std::memcpy(&len, data + 3008, 4);
  EXPECT_EQ(len, 2000u);
  EXPECT_EQ(std::vector<uint8_t>(data + 3016, data + 3016 + 2000), b);
  // A read-only mapping cannot become writable.
  EXPECT_EQ(mprotect(prod, P, PROT_READ | PROT_WRITE), -1);
  EXPECT_EQ(errno, EACCES);
  munmap(cons, P);
  munmap(prod, P + 2 * S);

  // The measured error rows.
  const int rw = PROT_READ | PROT_WRITE;
  EXPECT_EQ(MapMmap(fd_, P, rw, MAP_SHARED, P, &err), nullptr);
  EXPECT_EQ(err, -EPERM);
  EXPECT_EQ(MapMmap(fd_, 2 * P, rw, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -EPERM);
  EXPECT_EQ(MapMmap(fd_, P, PROT_READ, MAP_PRIVATE, 0, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  EXPECT_EQ(MapMmap(fd_, 5 * P, PROT_READ, MAP_SHARED, 0, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  void* whole = MapMmap(fd_, 4 * P, PROT_READ, MAP_SHARED, 0, &err);
  EXPECT_NE(whole, nullptr);
  munmap(whole, 4 * P);
  void* second_copy = MapMmap(fd_, S, PROT_READ, MAP_SHARED, 2 * P + S, &err);
  EXPECT_NE(second_copy, nullptr);
  munmap(second_copy, S);
}

// The data is stored twice (ringbuf.h): after each commit both copies
// hold every record, as the kernel's one set of pages mapped twice shows
// it, and the file itself has the kernel's user offsets (head-at-end), so a
// process that maps or reads the fd sees them without the emulator.
TEST_F(RingbufTest, BothDataCopiesHoldEveryCommittedRecord) {
  constexpr size_t P = 4096, S = 4096;
  Make(S);
  Consumer();
  std::vector<uint8_t> a(3000, 0x5a), b(2000);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7);
  ASSERT_EQ(rb_->Output(a.data(), a.size(), 0), 0);
  ASSERT_EQ(consumer_->Consume(), 1);
  // A reserved record written in place past the end of the first copy.
  auto* w = static_cast<uint8_t*>(rb_->Reserve(b.size(), 0));
  ASSERT_NE(w, nullptr);
  std::memcpy(w, b.data(), b.size());
  const uint8_t* d = rb_->data();
  // Before the commit the wrapped part is only in the second copy.
  EXPECT_NE(std::memcmp(d, d + S, 1000), 0);
  rb_->Submit(w, 0);
  EXPECT_EQ(std::memcmp(d, d + S, S), 0);
  // A reader that masks the sample's position (cilium/ebpf) reads it too.
  std::vector<uint8_t> masked(b.size());
  for (size_t i = 0; i < b.size(); ++i) masked[i] = d[(3008 + 8 + i) % S];
  EXPECT_EQ(masked, b);
  // The file: consumer page at 0, producer page at P, data at 2P, its copy
  // at 2P + S.
  uint64_t cons_file = 0, prod_file = 0;
  ASSERT_EQ(pread(fd_, &cons_file, 8, 0), 8);
  ASSERT_EQ(pread(fd_, &prod_file, 8, P), 8);
  EXPECT_EQ(cons_file, 3008u);
  EXPECT_EQ(prod_file, 3008u + 2008u);
  // The record read on from its header in the file, across into the copy.
  std::vector<uint8_t> file(b.size());
  ASSERT_EQ(pread(fd_, file.data(), file.size(), 2 * P + 3016),
            static_cast<ssize_t>(file.size()));
  EXPECT_EQ(file, b);
  ASSERT_EQ(consumer_->Consume(), 1);
  EXPECT_EQ(seen_.payloads.back(), b);
}

TEST_F(RingbufTest, ConsumerErrors) {
  Make(4096);
  int err;
  EXPECT_EQ(RingBuffer::New(1 << 20, &Record, &seen_, &err), nullptr);
  EXPECT_EQ(err, -EBADFD);
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  int afd = MapCreate(a);
  EXPECT_EQ(RingBuffer::New(afd, &Record, &seen_, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  CloseFd(afd);
  Consumer();
  EXPECT_EQ(consumer_->Add(fd_, &Record, &seen_), -EEXIST);
}

// Two producers on different CPUs, one consumer: every record arrives
// whole, and each producer's records arrive in order. BPFEMU_RINGBUF_RECORDS
// sets the total (default 400000; the 10M run is in the closing notes).
TEST_F(RingbufTest, ConcurrentProducersNeverTearOrReorder) {
  Make(1 << 16);
  Consumer();
  const char* env = std::getenv("BPFEMU_RINGBUF_RECORDS");
  const uint32_t kPerProducer =
      (env != nullptr ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10))
                      : 400000u) /
      2;
  struct Check {
    uint32_t next[2] = {0, 0};
    uint64_t bad = 0, total = 0;
  } check;
  auto cb = [](void* ctx, void* data, size_t size) -> int {
    auto* c = static_cast<Check*>(ctx);
    uint32_t rec[4];
    if (size != sizeof(rec)) return ++c->bad, 0;
    std::memcpy(rec, data, sizeof(rec));
    // {producer, seq, ~seq, producer ^ seq}
    if (rec[0] > 1 || rec[1] != c->next[rec[0]] || rec[2] != ~rec[1] ||
        rec[3] != (rec[0] ^ rec[1])) {
      ++c->bad;
    } else {
      ++c->next[rec[0]];
    }
    ++c->total;
    return 0;
  };
  int err;
  auto consumer = RingBuffer::New(fd_, cb, &check, &err);
  ASSERT_NE(consumer, nullptr);
  std::atomic<int> done{0};
  auto producer = [&](uint32_t id) {
    ScopedCpu cpu(static_cast<int>(id));
    for (uint32_t seq = 0; seq < kPerProducer;) {
      const uint32_t rec[4] = {id, seq, ~seq, id ^ seq};
      if (rb_->Output(rec, sizeof(rec), 0) == 0) ++seq;
    }
    done.fetch_add(1);
  };
  std::thread p0(producer, 0), p1(producer, 1);
  while (done.load() < 2 || rb_->Query(BPF_RB_AVAIL_DATA) != 0) {
    ASSERT_GE(consumer->Poll(10), 0);
  }
  p0.join();
  p1.join();
  EXPECT_EQ(check.bad, 0u);
  EXPECT_EQ(check.total, 2u * kPerProducer);
  EXPECT_EQ(check.next[0], kPerProducer);
  EXPECT_EQ(check.next[1], kPerProducer);
}

}  // namespace
}  // namespace bpfemu
