// SPDX-License-Identifier: Apache-2.0
// BPF_MAP_TYPE_USER_RINGBUF (user_ringbuf.h): the drain's rules from
// kernel/bpf/ringbuf.c (bpf_user_ringbuf_drain, __bpf_user_ringbuf_peek),
// its mmap permissions as measured on 6.18, and crafted producer state.
#include "emu/user_ringbuf.h"

#include <linux/bpf.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

constexpr uint64_t P = 4096;

class UserRingbufTest : public ::testing::Test {
 protected:
  void Make(uint32_t size) {
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_USER_RINGBUF;
    a.max_entries = size;
    fd_ = MapCreate(a);
    ASSERT_GE(fd_, 0);
    rb_ = std::dynamic_pointer_cast<UserRingbufMap>(MapFromFd(fd_));
    ASSERT_NE(rb_, nullptr);
  }
  void TearDown() override {
    rb_.reset();
    if (fd_ >= 0) CloseFd(fd_);
  }
  // Writes a record header at the producer position as libbpf's
  // user_ring_buffer__reserve does, and the payload, then advances the
  // producer; returns the record's position.
  uint64_t Produce(uint32_t len_word, uint8_t fill = 0, bool advance = true) {
    const uint64_t pos = rb_->producer_pos().load();
    uint8_t* hdr = rb_->data() + (pos & rb_->mask());
    std::memcpy(hdr, &len_word, 4);
    std::memset(hdr + 4, 0, 4);
    const uint32_t len = len_word & ~(kRingbufBusyBit | kRingbufDiscardBit);
    std::memset(hdr + 8, fill, len);
    if (advance) rb_->producer_pos().store(pos + RingbufRecordFootprint(len));
    return pos;
  }
  struct Seen {
    std::vector<std::vector<uint8_t>> samples;
    uint64_t stop_after = ~uint64_t{0};
    UserRingbufMap* nested = nullptr;  // drained again from the callback
    long nested_ret = 0;
  };
  static uint64_t Record(void* arg, void* sample, uint32_t size) {
    auto* seen = static_cast<Seen*>(arg);
    auto* p = static_cast<uint8_t*>(sample);
    seen->samples.emplace_back(p, p + size);
    if (seen->nested != nullptr) {
      seen->nested_ret = seen->nested->Drain(&Record, seen, 0);
    }
    return seen->samples.size() >= seen->stop_after ? 1 : 0;
  }

  int fd_ = -1;
  std::shared_ptr<UserRingbufMap> rb_;
  Seen seen_;
};

TEST_F(UserRingbufTest, DrainsSubmittedSamplesInOrder) {
  Make(4096);
  Produce(3, 0xa1);
  Produce(16, 0xb2);
  Produce(0);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 3);
  ASSERT_EQ(seen_.samples.size(), 3u);
  EXPECT_EQ(seen_.samples[0], std::vector<uint8_t>(3, 0xa1));
  EXPECT_EQ(seen_.samples[1], std::vector<uint8_t>(16, 0xb2));
  EXPECT_TRUE(seen_.samples[2].empty());
  EXPECT_EQ(rb_->consumer_pos().load(), 16u + 24 + 8);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 0);  // empty: ENODATA ends it
}

// A callback returning 1 stops the drain; that sample counts and is
// consumed.
TEST_F(UserRingbufTest, CallbackOneStops) {
  Make(4096);
  for (int i = 0; i < 5; ++i) Produce(8, static_cast<uint8_t>(i));
  seen_.stop_after = 2;
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 2);
  EXPECT_EQ(rb_->consumer_pos().load(), 32u);
  seen_.stop_after = ~uint64_t{0};
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 3);
}

// Discarded records are skipped (consumer moves past them) and left out of
// the count; a busy record ends the drain without consuming it.
TEST_F(UserRingbufTest, DiscardedSkippedBusyStops) {
  Make(4096);
  Produce(8 | kRingbufDiscardBit);
  Produce(4, 0x11);
  Produce(8 | kRingbufDiscardBit);
  Produce(4 | kRingbufBusyBit);
  Produce(4, 0x22);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 1);
  ASSERT_EQ(seen_.samples.size(), 1u);
  EXPECT_EQ(rb_->consumer_pos().load(), 16u + 16 + 16);
  // The producer commits the busy record.
  uint32_t len = 4;
  std::memcpy(rb_->data() + 48, &len, 4);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 2);
}

TEST_F(UserRingbufTest, FlagsAndBusy) {
  Make(4096);
  Produce(4);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 4), -EINVAL);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, BPF_RB_FORCE_WAKEUP << 1), -EINVAL);
  // A drain of the same ring from inside the callback: EBUSY.
  Produce(4);
  seen_.nested = rb_.get();
  EXPECT_EQ(rb_->Drain(&Record, &seen_, BPF_RB_NO_WAKEUP), 2);
  EXPECT_EQ(seen_.nested_ret, -EBUSY);
  seen_.nested = nullptr;
  // The busy word is free again.
  Produce(4);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 1);
}

// Wake-ups: after a drain that consumed something (unless NO_WAKEUP), and
// always with FORCE_WAKEUP.
TEST_F(UserRingbufTest, WakeupRules) {
  Make(4096);
  const uint32_t w0 = rb_->wakeups().load();
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 0);
  EXPECT_EQ(rb_->wakeups().load(), w0);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, BPF_RB_FORCE_WAKEUP), 0);
  EXPECT_EQ(rb_->wakeups().load(), w0 + 1);
  Produce(4);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, BPF_RB_NO_WAKEUP), 1);
  EXPECT_EQ(rb_->wakeups().load(), w0 + 1);
  Produce(4);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 1);
  EXPECT_EQ(rb_->wakeups().load(), w0 + 2);
}

// The producer's state is untrusted: bogus positions and headers give the
// kernel's errno, never a read outside the ring.
TEST_F(UserRingbufTest, CraftedProducerStateIsAnError) {
  Make(4096);
  // Misaligned producer position.
  rb_->producer_pos().store(12);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), -EINVAL);
  // A header longer than what the producer position covers.
  rb_->producer_pos().store(0);
  Produce(100, 0, /*advance=*/false);
  rb_->producer_pos().store(16);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), -EINVAL);
  // A header longer than the ring (the producer claims it all).
  uint32_t huge = 4096;
  std::memcpy(rb_->data(), &huge, 4);
  rb_->producer_pos().store(uint64_t{1} << 40);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), -E2BIG);
  huge = (1u << 30) - 1;  // largest length word without flag bits
  std::memcpy(rb_->data(), &huge, 4);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), -E2BIG);
  // A producer far ahead of the consumer, with plausible headers: samples
  // are read inside the ring (the mirror makes the tail contiguous).
  rb_->consumer_pos().store(4096 - 8);
  uint32_t len = 4088;
  std::memcpy(rb_->data() + 4096 - 8, &len, 4);
  rb_->producer_pos().store(4096 - 8 + 4096);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 1);
  ASSERT_EQ(seen_.samples.size(), 1u);
  EXPECT_EQ(seen_.samples[0].size(), 4088u);
  EXPECT_TRUE(seen_.samples.empty() == false);
  // Samples before the bad one are consumed; the error is the result.
  rb_->consumer_pos().store(0);
  rb_->producer_pos().store(0);
  Produce(4);
  Produce(4);
  const uint64_t bad = rb_->producer_pos().load();
  len = 64;
  std::memcpy(rb_->data() + bad, &len, 4);
  rb_->producer_pos().store(bad + 8);
  seen_.samples.clear();
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), -EINVAL);
  EXPECT_EQ(seen_.samples.size(), 2u);
  EXPECT_EQ(rb_->consumer_pos().load(), bad);
}

// BPF_MAX_USER_RINGBUF_SAMPLES: one drain looks at 128Ki samples at most,
// discarded ones included.
TEST_F(UserRingbufTest, SampleLimitPerDrain) {
  Make(2 << 20);
  const uint64_t n = kMaxUserRingbufSamples + 5;
  for (uint64_t i = 0; i < n; ++i) {
    Produce(i % 2 == 0 ? 0 : kRingbufDiscardBit);
  }
  const long first = rb_->Drain(&Record, &seen_, 0);
  EXPECT_EQ(first, static_cast<long>(kMaxUserRingbufSamples / 2));
  EXPECT_EQ(rb_->consumer_pos().load(), kMaxUserRingbufSamples * 8);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 3);  // 5 left: 3 kept, 2 dropped
}

// ringbuf_map_mmap_user, measured on 6.18: a writable mapping may not start
// at the consumer page; the producer page and data may be writable.
TEST_F(UserRingbufTest, MmapRules) {
  Make(4096);
  int err;
  auto try_map = [&](size_t len, int prot, uint64_t off) {
    void* p = MapMmap(fd_, len, prot, MAP_SHARED, off, &err);
    if (p != nullptr) munmap(p, len);
    return p != nullptr ? 0 : err;
  };
  EXPECT_EQ(try_map(P, PROT_READ, 0), 0);
  EXPECT_EQ(try_map(P, PROT_READ | PROT_WRITE, 0), -EPERM);
  EXPECT_EQ(try_map(2 * P + 2 * 4096, PROT_READ | PROT_WRITE, 0), -EPERM);
  EXPECT_EQ(try_map(P, PROT_READ | PROT_WRITE, P), 0);
  EXPECT_EQ(try_map(P + 2 * 4096, PROT_READ | PROT_WRITE, P), 0);
  EXPECT_EQ(try_map(2 * P + 2 * 4096, PROT_READ, 0), 0);
  EXPECT_EQ(try_map(2 * 4096, PROT_READ | PROT_WRITE, 2 * P), 0);
  EXPECT_EQ(try_map(2 * P + 2 * 4096, PROT_READ | PROT_WRITE, P), -EINVAL);
  EXPECT_EQ(try_map(P, PROT_READ, 2 * P + 2 * 4096), -EINVAL);
  EXPECT_EQ(try_map(P, PROT_READ | PROT_EXEC, P), -EPERM);
  // What userspace writes through the producer mapping is what the drain
  // reads.
  void* prod =
      MapMmap(fd_, P + 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, P, &err);
  ASSERT_NE(prod, nullptr) << err;
  auto* data = static_cast<uint8_t*>(prod) + P;
  const uint32_t len = 5;
  std::memcpy(data, &len, 4);
  std::memcpy(data + 8, "hello", 5);
  __atomic_store_n(static_cast<uint64_t*>(prod), 16, __ATOMIC_RELEASE);
  EXPECT_EQ(rb_->Drain(&Record, &seen_, 0), 1);
  ASSERT_EQ(seen_.samples.size(), 1u);
  EXPECT_EQ(std::memcmp(seen_.samples[0].data(), "hello", 5), 0);
  // A freeze while the producer page is mapped writable: EBUSY.
  EXPECT_EQ(MapFreeze(fd_), -EBUSY);
  munmap(prod, P + 2 * 4096);
  EXPECT_EQ(MapFreeze(fd_), 0);
  EXPECT_EQ(try_map(P, PROT_READ | PROT_WRITE, P), -EPERM);
  EXPECT_EQ(try_map(P, PROT_READ, 0), 0);
}

// The RINGBUF consumer refuses a user ring, as libbpf's ring_buffer__add
// checks the type.
TEST_F(UserRingbufTest, RingBufferConsumerRefusesUserRing) {
  Make(4096);
  int err = 0;
  auto consumer = RingBuffer::New(
      fd_, [](void*, void*, size_t) { return 0; }, nullptr, &err);
  EXPECT_EQ(consumer, nullptr);
  EXPECT_EQ(err, -EINVAL);
}

}  // namespace
}  // namespace bpfemu
