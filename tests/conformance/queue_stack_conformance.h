// SPDX-License-Identifier: Apache-2.0
// File: queue_stack_conformance.h
//
// QueueStackConformance: BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK through
// the syscall, mirroring kernel/bpf/queue_stack_maps.c and the routing in
// kernel/bpf/syscall.c (update pushes, lookup peeks, lookup_and_delete
// pops); every value was measured on 6.18.

#ifndef BPFEMU_TESTS_CONFORMANCE_QUEUE_STACK_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_QUEUE_STACK_CONFORMANCE_H_

#include <cstdint>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class QueueStackConformance : public ConformanceTest<B> {
 protected:
  int Push(int fd, uint32_t v, uint64_t flags = BPF_ANY) {
    return this->b().Update(fd, nullptr, &v, flags);
  }
  // Pop (lookup_and_delete) or peek (lookup) into *v.
  int Pop(int fd, uint32_t* v) {
    return this->b().LookupAndDelete(fd, nullptr, v, 0);
  }
  int Peek(int fd, uint32_t* v) { return this->b().Lookup(fd, nullptr, v, 0); }
};
TYPED_TEST_SUITE_P(QueueStackConformance);

// Creation: key_size 0, a value, entries; only NUMA and access flags.
TYPED_TEST_P(QueueStackConformance, CreateChecks) {
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
    SCOPED_TRACE(type);
    EXPECT_GE(this->Create(Attr(type, 0, 4, 8)), 0);
    EXPECT_EQ(this->Create(Attr(type, 4, 4, 8)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 0, 0, 8)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 0, 4, 0)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 0, 4, 8, BPF_F_NO_PREALLOC)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 0, 4, 8, BPF_F_ZERO_SEED)), -EINVAL);
    EXPECT_EQ(this->Create(
                  Attr(type, 0, 4, 8, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)),
              -EINVAL);
    EXPECT_GE(this->Create(Attr(type, 0, 4, 8, BPF_F_RDONLY_PROG)), 0);
    // Refused before anything is allocated. (6.18 has no bound on
    // max_entries * value_size: probing one would build a giant map.)
    EXPECT_EQ(this->Create(Attr(type, 0, (1u << 22) + 1, 1)), -E2BIG);
  }
  MapInfo info{};
  const int fd = this->MustCreate(Attr(BPF_MAP_TYPE_STACK, 0, 12, 5));
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.type, uint32_t{BPF_MAP_TYPE_STACK});
  EXPECT_EQ(info.key_size, 0u);
  EXPECT_EQ(info.value_size, 12u);
  EXPECT_EQ(info.max_entries, 5u);
}

// A queue pops the oldest, a stack the newest; BPF_EXIST into a full map
// drops the oldest to make room; without it a full map is E2BIG.
TYPED_TEST_P(QueueStackConformance, OrderAndOverwrite) {
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
    SCOPED_TRACE(type);
    const bool stack = type == BPF_MAP_TYPE_STACK;
    const int fd = this->MustCreate(Attr(type, 0, 4, 3));
    for (uint32_t v : {1u, 2u, 3u}) EXPECT_EQ(this->Push(fd, v), 0);
    EXPECT_EQ(this->Push(fd, 4), -E2BIG);
    EXPECT_EQ(this->Push(fd, 4, BPF_EXIST), 0);  // drops 1
    uint32_t v = 0;
    EXPECT_EQ(this->Peek(fd, &v), 0);
    EXPECT_EQ(v, stack ? 4u : 2u);
    std::vector<uint32_t> popped;
    while (this->Pop(fd, &v) == 0) popped.push_back(v);
    const std::vector<uint32_t> want =
        stack ? std::vector<uint32_t>{4, 3, 2} : std::vector<uint32_t>{2, 3, 4};
    EXPECT_EQ(popped, want);
    // Wrapping around the ring many times keeps the order.
    for (uint32_t i = 0; i < 20; ++i) {
      ASSERT_EQ(this->Push(fd, 100 + i), 0);
      ASSERT_EQ(this->Pop(fd, &v), 0);
      EXPECT_EQ(v, 100 + i);
    }
  }
}

// Empty maps: ENOENT, and the caller's buffer is not written.
TYPED_TEST_P(QueueStackConformance, EmptyLeavesTheBufferAlone) {
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
    const int fd = this->MustCreate(Attr(type, 0, 4, 2));
    uint32_t v = 0xa5a5a5a5;
    EXPECT_EQ(this->Pop(fd, &v), -ENOENT);
    EXPECT_EQ(this->Peek(fd, &v), -ENOENT);
    EXPECT_EQ(v, 0xa5a5a5a5u);
  }
}

// The commands they refuse, and the flags push takes.
TYPED_TEST_P(QueueStackConformance, RefusedCommandsAndFlags) {
  const int fd = this->MustCreate(Attr(BPF_MAP_TYPE_QUEUE, 0, 4, 4));
  EXPECT_EQ(this->Push(fd, 1, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(this->Push(fd, 1, 4), -EINVAL);
  EXPECT_EQ(this->Push(fd, 1, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->Push(fd, 7, BPF_EXIST), 0);  // not full: a plain push
  uint32_t v = 0, key = 0;
  EXPECT_EQ(this->b().Delete(fd, nullptr), -EINVAL);
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &v), -EINVAL);
  // A key where there is none.
  EXPECT_EQ(this->b().Lookup(fd, &key, &v, 0), -EINVAL);
  EXPECT_EQ(this->b().Update(fd, &key, &v, 0), -EINVAL);
  // Lookup flags: only BPF_F_LOCK is known, and there is no lock.
  EXPECT_EQ(this->b().Lookup(fd, nullptr, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->b().LookupAndDelete(fd, nullptr, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->b().LookupAndDelete(fd, nullptr, &v, 4), -EINVAL);
  // No batch operations.
  uint32_t count = 1;
  EXPECT_EQ(this->b().LookupBatch(fd, nullptr, &key, &key, &v, &count, 0, 0),
            -kENOTSUPP);
  EXPECT_EQ(this->b().UpdateBatch(fd, &key, &v, &count, 0, 0), -kENOTSUPP);
  EXPECT_EQ(this->Pop(fd, &v), 0);
  EXPECT_EQ(v, 7u);
}

// Access modes: a write-only fd pushes but cannot peek or pop (EPERM), as
// test_maps' map_wronly checks; a read-only fd peeks but cannot push or pop.
TYPED_TEST_P(QueueStackConformance, AccessModes) {
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
    const int wr = this->MustCreate(Attr(type, 0, 4, 4, BPF_F_WRONLY));
    uint32_t v = 0;
    EXPECT_EQ(this->Push(wr, 1234), 0);
    EXPECT_EQ(this->Peek(wr, &v), -EPERM);
    EXPECT_EQ(this->Pop(wr, &v), -EPERM);
    const int rd = this->MustCreate(Attr(type, 0, 4, 4, BPF_F_RDONLY));
    EXPECT_EQ(this->Push(rd, 1), -EPERM);
    EXPECT_EQ(this->Peek(rd, &v), -ENOENT);
    EXPECT_EQ(this->Pop(rd, &v), -EPERM);
  }
}

REGISTER_TYPED_TEST_SUITE_P(QueueStackConformance, CreateChecks,
                            OrderAndOverwrite, EmptyLeavesTheBufferAlone,
                            RefusedCommandsAndFlags, AccessModes);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_QUEUE_STACK_CONFORMANCE_H_
