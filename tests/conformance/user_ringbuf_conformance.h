// SPDX-License-Identifier: Apache-2.0
// File: user_ringbuf_conformance.h
//
// UserRingbufConformance: BPF_MAP_TYPE_USER_RINGBUF creation (the same
// ringbuf_map_alloc as RINGBUF), its element commands (all refused: ENOTSUPP
// from the map ops, EINVAL for a key pointer on a map without keys), its
// mmap rules (ringbuf_map_mmap_user: the consumer page may not be mapped
// writable, the producer page and the data may) and BPF_MAP_FREEZE against
// writable mappings. Measured on 6.18 (kernel/bpf/ringbuf.c). The drain is
// covered by emu/user_ringbuf_test.cc and, against the kernel, by
// kernel_compare/user_ringbuf_compare_test.cc.

#ifndef BPFEMU_TESTS_CONFORMANCE_USER_RINGBUF_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_USER_RINGBUF_CONFORMANCE_H_

#include <sys/mman.h>

#include <cstdint>
#include <cstring>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class UserRingbufConformance : public ConformanceTest<B> {
 protected:
  static constexpr size_t kPage = 4096;
  int TryMmap(int fd, size_t length, int prot, uint64_t offset,
              int flags = MAP_SHARED) {
    void* addr = nullptr;
    const int err = this->b().Mmap(fd, length, prot, flags, offset, &addr);
    if (err == 0) munmap(addr, length);
    return err;
  }
};
TYPED_TEST_SUITE_P(UserRingbufConformance);

constexpr uint32_t kUserRingbuf = BPF_MAP_TYPE_USER_RINGBUF;

TYPED_TEST_P(UserRingbufConformance, CreationRules) {
  EXPECT_GE(this->Create(Attr(kUserRingbuf, 0, 0, 4096)), 0);
  EXPECT_GE(this->Create(Attr(kUserRingbuf, 0, 0, 1 << 16)), 0);
  EXPECT_GE(this->Create(Attr(kUserRingbuf, 0, 0, 4096, BPF_F_NUMA_NODE)), 0);
  for (uint32_t size : {0u, 2048u, 12288u, 4097u, 6u * 4096}) {
    EXPECT_EQ(this->Create(Attr(kUserRingbuf, 0, 0, size)), -EINVAL) << size;
  }
  EXPECT_EQ(this->Create(Attr(kUserRingbuf, 4, 0, 4096)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(kUserRingbuf, 0, 8, 4096)), -EINVAL);
  for (uint32_t f :
       {uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_NO_PREALLOC},
        uint32_t{BPF_F_MMAPABLE}, uint32_t{BPF_F_RDONLY},
        uint32_t{BPF_F_WRONLY}, uint32_t{BPF_F_ZERO_SEED}, 1u << 20}) {
    EXPECT_EQ(this->Create(Attr(kUserRingbuf, 0, 0, 4096, f)), -EINVAL) << f;
  }
  MapAttr numa1 = Attr(kUserRingbuf, 0, 0, 4096, BPF_F_NUMA_NODE);
  numa1.numa_node = 1;
  EXPECT_EQ(this->Create(numa1), -EINVAL);
}

TYPED_TEST_P(UserRingbufConformance, ElementCommandsFail) {
  int fd = this->MustCreate(Attr(kUserRingbuf, 0, 0, 4096));
  uint32_t key = 0, next = 0;
  uint64_t value = 0;
  EXPECT_EQ(this->b().Lookup(fd, nullptr, &value, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().Lookup(fd, &key, &value, 0), -EINVAL);
  EXPECT_EQ(this->b().Update(fd, nullptr, &value, 0), -kENOTSUPP);
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
  MapInfo info{};
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.type, kUserRingbuf);
  EXPECT_EQ(info.max_entries, 4096u);
}

// ringbuf_map_mmap_user after bpf_map_mmap's generic checks. User offsets:
// the consumer page at 0, the producer page at P, the data twice from 2P.
TYPED_TEST_P(UserRingbufConformance, MmapRules) {
  constexpr size_t P = TestFixture::kPage;
  constexpr size_t S = 4096;
  int fd = this->MustCreate(Attr(kUserRingbuf, 0, 0, S));
  const int rw = PROT_READ | PROT_WRITE;
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ, 0), 0);
  EXPECT_EQ(this->TryMmap(fd, P, rw, 0), -EPERM);
  EXPECT_EQ(this->TryMmap(fd, 2 * P + 2 * S, rw, 0), -EPERM);
  EXPECT_EQ(this->TryMmap(fd, 2 * P + 2 * S, PROT_READ, 0), 0);
  EXPECT_EQ(this->TryMmap(fd, P, rw, P), 0);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_WRITE, P), 0);
  EXPECT_EQ(this->TryMmap(fd, P + 2 * S, rw, P), 0);
  EXPECT_EQ(this->TryMmap(fd, 2 * S, rw, 2 * P), 0);
  EXPECT_EQ(this->TryMmap(fd, P + 2 * S + P, rw, P), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, 3 * P + 2 * S, PROT_READ, 0), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ, 2 * P + 2 * S), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ, 0, MAP_PRIVATE), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, P, rw, P, MAP_PRIVATE), -EINVAL);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ | PROT_EXEC, P), -EPERM);
}

// A writable mapping of the producer page keeps BPF_MAP_FREEZE out (EBUSY);
// a frozen ring can no longer be mapped writable (EPERM) but still read.
TYPED_TEST_P(UserRingbufConformance, FreezeAndWritableMappings) {
  constexpr size_t P = TestFixture::kPage;
  int fd = this->MustCreate(Attr(kUserRingbuf, 0, 0, 4096));
  void* prod = nullptr;
  ASSERT_EQ(this->b().Mmap(fd, P, PROT_READ | PROT_WRITE, MAP_SHARED, P, &prod),
            0);
  EXPECT_EQ(this->b().Freeze(fd), -EBUSY);
  munmap(prod, P);
  EXPECT_EQ(this->b().Freeze(fd), 0);
  EXPECT_EQ(this->b().Frozen(fd), 1);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ | PROT_WRITE, P), -EPERM);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ, 0), 0);
  EXPECT_EQ(this->TryMmap(fd, P, PROT_READ, P), 0);
}

REGISTER_TYPED_TEST_SUITE_P(UserRingbufConformance, CreationRules,
                            ElementCommandsFail, MmapRules,
                            FreezeAndWritableMappings);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_USER_RINGBUF_CONFORMANCE_H_
