// SPDX-License-Identifier: Apache-2.0
// File: ringbuf_conformance.h
//
// RingbufConformance: BPF_MAP_TYPE_RINGBUF creation (ringbuf_map_alloc) and
// its element commands, which all fail: ENOTSUPP (524) from the map ops, or
// EINVAL when a key pointer is passed to a map without keys
// (__bpf_copy_key). Measured on 6.18 (kernel/bpf/ringbuf.c). Data-path
// behaviour is covered by emu/ringbuf_test.cc and, against the kernel, by
// kernel_compare/ringbuf_compare_test.cc.

#ifndef BPFEMU_TESTS_CONFORMANCE_RINGBUF_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_RINGBUF_CONFORMANCE_H_

#include <cstdint>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class RingbufConformance : public ConformanceTest<B> {};
TYPED_TEST_SUITE_P(RingbufConformance);

constexpr uint32_t kRingbuf = BPF_MAP_TYPE_RINGBUF;

// Only BPF_F_NUMA_NODE is a valid flag; key and value sizes must be 0; the
// size must be a power of two and a multiple of the page size.
TYPED_TEST_P(RingbufConformance, CreationRules) {
  EXPECT_GE(this->Create(Attr(kRingbuf, 0, 0, 4096)), 0);
  EXPECT_GE(this->Create(Attr(kRingbuf, 0, 0, 1 << 16)), 0);
  EXPECT_GE(this->Create(Attr(kRingbuf, 0, 0, 4096, BPF_F_NUMA_NODE)), 0);
  for (uint32_t size : {0u, 2048u, 12288u, 4097u, 6u * 4096}) {
    EXPECT_EQ(this->Create(Attr(kRingbuf, 0, 0, size)), -EINVAL) << size;
  }
  EXPECT_EQ(this->Create(Attr(kRingbuf, 4, 0, 4096)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(kRingbuf, 0, 8, 4096)), -EINVAL);
  for (uint32_t f : {uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_NO_PREALLOC},
                     uint32_t{BPF_F_MMAPABLE}, uint32_t{BPF_F_RDONLY},
                     uint32_t{BPF_F_ZERO_SEED}, 1u << 20}) {
    EXPECT_EQ(this->Create(Attr(kRingbuf, 0, 0, 4096, f)), -EINVAL) << f;
  }
  MapAttr numa1 = Attr(kRingbuf, 0, 0, 4096, BPF_F_NUMA_NODE);
  numa1.numa_node = 1;
  EXPECT_EQ(this->Create(numa1), -EINVAL);
}

// The element commands: 524 with a NULL key, EINVAL with a key pointer.
TYPED_TEST_P(RingbufConformance, ElementCommandsFail) {
  int fd = this->MustCreate(Attr(kRingbuf, 0, 0, 4096));
  uint32_t key = 0, next = 0;
  uint64_t value = 0;
  EXPECT_EQ(this->b().Lookup(fd, nullptr, &value, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().Lookup(fd, &key, &value, 0), -EINVAL);
  EXPECT_EQ(this->b().Update(fd, nullptr, &value, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().Update(fd, nullptr, nullptr, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().Update(fd, &key, &value, 0), -EINVAL);
  EXPECT_EQ(this->b().Delete(fd, nullptr), -kENOTSUPP);
  EXPECT_EQ(this->b().Delete(fd, &key), -EINVAL);
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), -kENOTSUPP);
  EXPECT_EQ(this->b().GetNextKey(fd, &key, &next), -EINVAL);
  EXPECT_EQ(this->b().LookupAndDelete(fd, nullptr, &value, 0), -kENOTSUPP);
  uint32_t count = 4, out;
  EXPECT_EQ(
      this->b().LookupBatch(fd, nullptr, &out, &key, &value, &count, 0, 0),
      -kENOTSUPP);
  EXPECT_EQ(this->b().UpdateBatch(fd, &key, &value, &count, 0, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().DeleteBatch(fd, &key, &count, 0, 0), -kENOTSUPP);
  EXPECT_EQ(count, 4u);
  MapInfo info{};
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.max_entries, 4096u);
  EXPECT_EQ(info.key_size, 0u);
}

REGISTER_TYPED_TEST_SUITE_P(RingbufConformance, CreationRules,
                            ElementCommandsFail);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_RINGBUF_CONFORMANCE_H_
