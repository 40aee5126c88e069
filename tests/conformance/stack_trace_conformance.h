// SPDX-License-Identifier: Apache-2.0
// File: stack_trace_conformance.h
//
// StackTraceConformance: BPF_MAP_TYPE_STACK_TRACE through the syscall,
// mirroring kernel/bpf/stackmap.c (stack_map_alloc, bpf_stackmap_copy,
// stack_map_delete_elem, stack_map_get_next_key) and the routing in
// kernel/bpf/syscall.c; every value was measured on 6.18. Only programs
// fill the map (bpf_get_stackid): tests/examples/stack_profiler.bpf.c runs
// one on both sides (examples_compare_test).

#ifndef BPFEMU_TESTS_CONFORMANCE_STACK_TRACE_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_STACK_TRACE_CONFORMANCE_H_

#include <fstream>

#include "emu/version.h"
#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class StackTraceConformance : public ConformanceTest<B> {
 protected:
  static constexpr uint32_t kStackTrace = BPF_MAP_TYPE_STACK_TRACE;
  // kernel.perf_event_max_stack of this machine (both backends read it).
  static uint32_t MaxStack() {
    std::ifstream f("/proc/sys/kernel/perf_event_max_stack");
    uint32_t v = 127;
    f >> v;
    return v;
  }
};
TYPED_TEST_SUITE_P(StackTraceConformance);

// key_size 4; value_size a non-zero multiple of 8 (32 with build ids) of at
// most perf_event_max_stack frames; max_entries in [1, 2^31]; flags only
// NUMA, RDONLY, WRONLY and STACK_BUILD_ID (no *_PROG access flags).
TYPED_TEST_P(StackTraceConformance, CreateChecks) {
  constexpr uint32_t t = TestFixture::kStackTrace;
  const uint32_t max = TestFixture::MaxStack();
  EXPECT_GE(this->Create(Attr(t, 4, 8, 1)), 0);
  EXPECT_GE(this->Create(Attr(t, 4, 8 * max, 1)), 0);
  EXPECT_EQ(this->Create(Attr(t, 4, 8 * (max + 1), 1)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(t, 8, 8, 1)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(t, 0, 8, 1)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(t, 4, 0, 1)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(t, 4, 4, 1)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(t, 4, 12, 1)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(t, 4, 8, 0)), -EINVAL);
  EXPECT_GE(this->Create(Attr(t, 4, 32, 2, BPF_F_STACK_BUILD_ID)), 0);
  EXPECT_EQ(this->Create(Attr(t, 4, 40, 2, BPF_F_STACK_BUILD_ID)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(t, 4, 32 * (max + 1), 2, BPF_F_STACK_BUILD_ID)),
            -EINVAL);
  for (uint32_t f : {uint32_t{BPF_F_NO_PREALLOC}, uint32_t{BPF_F_RDONLY_PROG},
                     uint32_t{BPF_F_WRONLY_PROG}, uint32_t{BPF_F_ZERO_SEED},
                     uint32_t{BPF_F_MMAPABLE}}) {
    EXPECT_EQ(this->Create(Attr(t, 4, 8, 1, f)), -EINVAL) << f;
  }
  EXPECT_GE(this->Create(Attr(t, 4, 8, 1, BPF_F_RDONLY)), 0);
  EXPECT_GE(this->Create(Attr(t, 4, 8, 1, BPF_F_WRONLY)), 0);
  // Refused before anything is allocated.
  EXPECT_EQ(this->Create(Attr(t, 4, 8, (1u << 31) + 1)), -E2BIG);
  EXPECT_EQ(this->Create(Attr(t, 4, 8, 0xffffffffu)), -E2BIG);
  MapInfo info{};
  const int fd = this->MustCreate(Attr(t, 4, 24, 5));
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.type, t);
  EXPECT_EQ(info.key_size, 4u);
  EXPECT_EQ(info.value_size, 24u);
  EXPECT_EQ(info.max_entries, 5u);
}

// An empty map: lookups are ENOENT (past n_buckets too), delete is ENOENT
// in range and E2BIG past n_buckets = roundup_pow_of_two(max_entries),
// update is EINVAL, get_next_key has nothing to give.
TYPED_TEST_P(StackTraceConformance, EmptyMapCommands) {
  const int fd = this->MustCreate(Attr(TestFixture::kStackTrace, 4, 16, 5));
  uint64_t v[2] = {0xa5a5a5a5a5a5a5a5, 0xa5a5a5a5a5a5a5a5};
  for (uint32_t key : {0u, 5u, 7u, 8u, 1000u}) {
    EXPECT_EQ(this->b().Lookup(fd, &key, v, 0), -ENOENT) << key;
    EXPECT_EQ(this->b().Delete(fd, &key), key < 8 ? -ENOENT : -E2BIG) << key;
    EXPECT_EQ(this->b().Update(fd, &key, v, BPF_ANY), -EINVAL) << key;
  }
  EXPECT_EQ(v[0], 0xa5a5a5a5a5a5a5a5u);
  uint32_t next = 0, key = 3;
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), -ENOENT);
  EXPECT_EQ(this->b().GetNextKey(fd, &key, &next), -ENOENT);
}

// The commands the type does not have, and the flags. 6.18 has
// lookup_and_delete (ENOENT on an empty map; 6.12 and 6.1: ENOTSUPP).
TYPED_TEST_P(StackTraceConformance, RefusedCommandsAndFlags) {
  const int fd = this->MustCreate(Attr(TestFixture::kStackTrace, 4, 8, 4));
  uint32_t key = 0, count = 1;
  uint64_t v = 0;
  for (uint32_t k : {0u, 100u}) {
    EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0),
              TargetKernel() < KernelVersion::k6_18 ? -kENOTSUPP : -ENOENT);
  }
  EXPECT_EQ(this->b().LookupAndDelete(fd, &key, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &key, &v, 8), -EINVAL);
  EXPECT_EQ(this->b().Lookup(fd, &key, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->b().Lookup(fd, &key, &v, 4), -EINVAL);
  EXPECT_EQ(this->b().Update(fd, &key, &v, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(this->b().LookupBatch(fd, nullptr, &key, &key, &v, &count, 0, 0),
            -kENOTSUPP);
  EXPECT_EQ(this->b().UpdateBatch(fd, &key, &v, &count, 0, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().DeleteBatch(fd, &key, &count, 0, 0), -kENOTSUPP);
}

// A read-only fd may look up but not delete; a write-only fd may delete
// but not look up or walk.
TYPED_TEST_P(StackTraceConformance, AccessModes) {
  constexpr uint32_t t = TestFixture::kStackTrace;
  uint32_t key = 0, next = 0;
  uint64_t v = 0;
  const int rd = this->MustCreate(Attr(t, 4, 8, 4, BPF_F_RDONLY));
  EXPECT_EQ(this->b().Lookup(rd, &key, &v, 0), -ENOENT);
  EXPECT_EQ(this->b().Delete(rd, &key), -EPERM);
  EXPECT_EQ(this->b().Update(rd, &key, &v, BPF_ANY), -EPERM);
  const int wr = this->MustCreate(Attr(t, 4, 8, 4, BPF_F_WRONLY));
  EXPECT_EQ(this->b().Lookup(wr, &key, &v, 0), -EPERM);
  EXPECT_EQ(this->b().GetNextKey(wr, nullptr, &next), -EPERM);
  EXPECT_EQ(this->b().Delete(wr, &key), -ENOENT);
}

REGISTER_TYPED_TEST_SUITE_P(StackTraceConformance, CreateChecks,
                            EmptyMapCommands, RefusedCommandsAndFlags,
                            AccessModes);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_STACK_TRACE_CONFORMANCE_H_
