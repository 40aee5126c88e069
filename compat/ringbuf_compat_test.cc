// SPDX-License-Identifier: Apache-2.0
// libbpf's ring_buffer__* API on emulated ring buffers, with libbpf 1.1.2's
// error conventions (measured on 6.18 against libbpf's ring_buffer__*). Links the compat layer, never real libbpf.
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <vector>

#include "emu/ringbuf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

int Sizes(void* ctx, void*, size_t size) {
  static_cast<std::vector<size_t>*>(ctx)->push_back(size);
  return 0;
}

int Fail7(void*, void*, size_t) { return -7; }

class RingbufCompat : public ::testing::Test {
 protected:
  void SetUp() override {
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_RINGBUF;
    a.max_entries = 4096;
    fd_ = MapCreate(a);
    ASSERT_GE(fd_, 0);
    ring_ = std::dynamic_pointer_cast<RingbufMap>(MapFromFd(fd_));
  }
  void TearDown() override {
    ring_.reset();
    CloseFd(fd_);
  }
  void Produce(uint32_t size) {
    std::vector<uint8_t> v(size, 1);
    ASSERT_EQ(ring_->Output(v.data(), size, 0), 0);
  }
  int fd_ = -1;
  std::shared_ptr<RingbufMap> ring_;
};

TEST_F(RingbufCompat, ConsumeAndPoll) {
  std::vector<size_t> sizes;
  ring_buffer* rb = ring_buffer__new(fd_, &Sizes, &sizes, nullptr);
  ASSERT_NE(rb, nullptr);
  EXPECT_GE(ring_buffer__epoll_fd(rb), 0);
  Produce(10);
  Produce(11);
  EXPECT_EQ(ring_buffer__consume(rb), 2);
  Produce(12);
  EXPECT_EQ(ring_buffer__poll(rb, 100), 1);
  EXPECT_EQ(ring_buffer__poll(rb, 0), 0);
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 11, 12}));
  ring_buffer__free(rb);
  ring_buffer__free(nullptr);  // NULL-safe
}

TEST_F(RingbufCompat, ErrorConventions) {
  // Closed fd: NULL with errno EBADFD (77); another map type: EINVAL.
  errno = 0;
  EXPECT_EQ(ring_buffer__new(1 << 20, &Sizes, nullptr, nullptr), nullptr);
  EXPECT_EQ(errno, EBADFD);
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  const int afd = MapCreate(a);
  errno = 0;
  EXPECT_EQ(ring_buffer__new(afd, &Sizes, nullptr, nullptr), nullptr);
  EXPECT_EQ(errno, EINVAL);
  CloseFd(afd);
  // Options: sz below sizeof(size_t), or non-zero bytes past the struct.
  struct {
    ring_buffer_opts opts;
    uint64_t tail;
  } big = {{sizeof(big)}, 1};
  ring_buffer_opts small = {4};
  errno = 0;
  EXPECT_EQ(ring_buffer__new(fd_, &Sizes, nullptr, &small), nullptr);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(ring_buffer__new(fd_, &Sizes, nullptr, &big.opts), nullptr);
  EXPECT_EQ(errno, EINVAL);
  big.tail = 0;
  ring_buffer* rb = ring_buffer__new(fd_, &Fail7, nullptr, &big.opts);
  ASSERT_NE(rb, nullptr);
  // The same map twice: -EEXIST, errno set.
  errno = 0;
  EXPECT_EQ(ring_buffer__add(rb, fd_, &Sizes, nullptr), -EEXIST);
  EXPECT_EQ(errno, EEXIST);
  // A callback error is returned and lands in errno.
  Produce(10);
  errno = 0;
  EXPECT_EQ(ring_buffer__consume(rb), -7);
  EXPECT_EQ(errno, 7);
  ring_buffer__free(rb);
}

}  // namespace
}  // namespace bpfemu
