// SPDX-License-Identifier: Apache-2.0
// libbpf's user_ring_buffer__* producer on emulated user ring buffers, with
// libbpf 1.1.2's conventions (tools/lib/bpf/ringbuf.c), drained by
// UserRingbufMap::Drain as a BPF program would. Blocking cases run in a
// child bounded by an alarm, so a missed wake-up fails instead of hanging.
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "emu/syscall.h"
#include "emu/user_ringbuf.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

class UserRingbufCompatTest : public ::testing::Test {
 protected:
  void Make(uint32_t size, uint32_t type = BPF_MAP_TYPE_USER_RINGBUF) {
    MapAttr a;
    a.map_type = type;
    a.max_entries = size;
    fd_ = MapCreate(a);
    ASSERT_GE(fd_, 0);
    map_ = std::dynamic_pointer_cast<UserRingbufMap>(MapFromFd(fd_));
  }
  void TearDown() override {
    map_.reset();
    if (fd_ >= 0) CloseFd(fd_);
  }
  static uint64_t Record(void* arg, void* sample, uint32_t size) {
    auto* out = static_cast<std::vector<std::vector<uint8_t>>*>(arg);
    auto* p = static_cast<uint8_t*>(sample);
    out->emplace_back(p, p + size);
    return 0;
  }
  long Drain(std::vector<std::vector<uint8_t>>* out, uint64_t flags = 0) {
    return map_->Drain(&Record, out, flags);
  }

  int fd_ = -1;
  std::shared_ptr<UserRingbufMap> map_;
};

TEST_F(UserRingbufCompatTest, NewChecksTypeAndOpts) {
  Make(4096, BPF_MAP_TYPE_RINGBUF);
  errno = 0;
  EXPECT_EQ(user_ring_buffer__new(fd_, nullptr), nullptr);
  EXPECT_EQ(errno, EINVAL);
  CloseFd(fd_);
  Make(4096);
  user_ring_buffer_opts bad{};
  bad.sz = 4;  // smaller than sizeof(size_t): OPTS_VALID fails
  errno = 0;
  EXPECT_EQ(user_ring_buffer__new(fd_, &bad), nullptr);
  EXPECT_EQ(errno, EINVAL);
  user_ring_buffer_opts ok{};
  ok.sz = sizeof(ok);
  user_ring_buffer* rb = user_ring_buffer__new(fd_, &ok);
  ASSERT_NE(rb, nullptr);
  user_ring_buffer__free(rb);
  user_ring_buffer__free(nullptr);
}

// The header libbpf writes, and what the drain makes of it.
TEST_F(UserRingbufCompatTest, ReserveSubmitDiscardLayout) {
  Make(4096);
  user_ring_buffer* rb = user_ring_buffer__new(fd_, nullptr);
  ASSERT_NE(rb, nullptr);
  auto* a = static_cast<uint8_t*>(user_ring_buffer__reserve(rb, 5));
  ASSERT_NE(a, nullptr);
  uint32_t hdr[2];
  std::memcpy(hdr, map_->data(), 8);
  EXPECT_EQ(hdr[0], 5u | BPF_RINGBUF_BUSY_BIT);
  EXPECT_EQ(hdr[1], 0u);
  EXPECT_EQ(map_->producer_pos().load(), 16u);
  std::memcpy(a, "abcde", 5);
  // The producer's own mapping: the same bytes as the ring's data.
  EXPECT_EQ(std::memcmp(map_->data() + 8, "abcde", 5), 0);
  // Busy: nothing to drain yet.
  std::vector<std::vector<uint8_t>> got;
  EXPECT_EQ(Drain(&got), 0);
  user_ring_buffer__submit(rb, a);
  std::memcpy(hdr, map_->data(), 8);
  EXPECT_EQ(hdr[0], 5u);
  auto* b = static_cast<uint8_t*>(user_ring_buffer__reserve(rb, 3));
  ASSERT_NE(b, nullptr);
  user_ring_buffer__discard(rb, b);
  std::memcpy(hdr, map_->data() + 16, 8);
  EXPECT_EQ(hdr[0], 3u | BPF_RINGBUF_DISCARD_BIT);
  EXPECT_EQ(Drain(&got), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(std::memcmp(got[0].data(), "abcde", 5), 0);
  EXPECT_EQ(map_->consumer_pos().load(), 32u);
  user_ring_buffer__free(rb);
}

TEST_F(UserRingbufCompatTest, ReserveErrnos) {
  Make(4096);
  user_ring_buffer* rb = user_ring_buffer__new(fd_, nullptr);
  ASSERT_NE(rb, nullptr);
  errno = 0;
  EXPECT_EQ(user_ring_buffer__reserve(rb, BPF_RINGBUF_BUSY_BIT), nullptr);
  EXPECT_EQ(errno, E2BIG);
  errno = 0;
  EXPECT_EQ(user_ring_buffer__reserve(rb, 4096 - 7), nullptr);
  EXPECT_EQ(errno, E2BIG);
  // The whole ring is one record (4088 + 8): allowed, unlike RINGBUF.
  void* all = user_ring_buffer__reserve(rb, 4096 - 8);
  ASSERT_NE(all, nullptr);
  errno = 0;
  EXPECT_EQ(user_ring_buffer__reserve(rb, 0), nullptr);
  EXPECT_EQ(errno, ENOSPC);
  errno = 0;
  EXPECT_EQ(user_ring_buffer__reserve_blocking(rb, 0, -2), nullptr);
  EXPECT_EQ(errno, EINVAL);
  // A timeout ends with libbpf's last try: ENOSPC, after the time.
  timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  errno = 0;
  EXPECT_EQ(user_ring_buffer__reserve_blocking(rb, 0, 50), nullptr);
  EXPECT_EQ(errno, ENOSPC);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const int64_t ms =
      (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  EXPECT_GE(ms, 49);
  EXPECT_LT(ms, 2000);
  errno = 0;
  EXPECT_EQ(user_ring_buffer__reserve_blocking(rb, 0, 0), nullptr);
  EXPECT_EQ(errno, ENOSPC);
  user_ring_buffer__submit(rb, all);
  std::vector<std::vector<uint8_t>> got;
  EXPECT_EQ(Drain(&got), 1);
  EXPECT_NE(user_ring_buffer__reserve_blocking(rb, 0, 0), nullptr);
  user_ring_buffer__free(rb);
}

// Records that wrap: the payload is contiguous (the data is mapped twice)
// and the drain reads back what was written.
TEST_F(UserRingbufCompatTest, WrappingRecords) {
  Make(4096);
  user_ring_buffer* rb = user_ring_buffer__new(fd_, nullptr);
  ASSERT_NE(rb, nullptr);
  std::vector<std::vector<uint8_t>> got;
  for (uint32_t i = 0; i < 200; ++i) {
    const uint32_t size = 1 + (i * 37) % 700;
    auto* p = static_cast<uint8_t*>(user_ring_buffer__reserve(rb, size));
    ASSERT_NE(p, nullptr) << i;
    std::memset(p, static_cast<int>(i), size);
    user_ring_buffer__submit(rb, p);
    got.clear();
    ASSERT_EQ(Drain(&got), 1);
    ASSERT_EQ(got[0].size(), size);
    EXPECT_EQ(got[0], std::vector<uint8_t>(size, static_cast<uint8_t>(i)));
  }
  user_ring_buffer__free(rb);
}

// A producer blocked in another process is woken by a drain here (the
// wake-up crosses processes), and by none with BPF_RB_NO_WAKEUP.
TEST_F(UserRingbufCompatTest, BlockedProducerWokenAcrossProcesses) {
  Make(4096);
  user_ring_buffer* rb = user_ring_buffer__new(fd_, nullptr);
  ASSERT_NE(rb, nullptr);
  void* all = user_ring_buffer__reserve(rb, 4096 - 8);
  ASSERT_NE(all, nullptr);
  user_ring_buffer__submit(rb, all);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(20);
    char c = 1;
    (void)!write(ready[1], &c, 1);
    void* s = user_ring_buffer__reserve_blocking(rb, 16, -1);
    if (s == nullptr) _exit(2);
    user_ring_buffer__submit(rb, s);
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  usleep(50 * 1000);  // let the child block (not needed for correctness)
  std::vector<std::vector<uint8_t>> got;
  EXPECT_EQ(Drain(&got), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  got.clear();
  EXPECT_EQ(Drain(&got), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].size(), 16u);
  close(ready[0]);
  close(ready[1]);
  user_ring_buffer__free(rb);
}

}  // namespace
}  // namespace bpfemu
