// SPDX-License-Identifier: Apache-2.0
// File: perf_event_array_conformance.h
//
// PerfEventArrayConformance: BPF_MAP_TYPE_PERF_EVENT_ARRAY creation
// (fd_array_map_alloc_check, array_map_alloc_check) and its syscall
// commands (kernel/bpf/arraymap.c perf_event_array_map_ops,
// kernel/bpf/syscall.c), measured on 6.18. The output path is covered by
// emu/perf_event_array_test.cc, compat/perf_buffer_compat_test.cc and,
// against the kernel, kernel_compare/perf_buffer_compare_test.cc.

#ifndef BPFEMU_TESTS_CONFORMANCE_PERF_EVENT_ARRAY_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_PERF_EVENT_ARRAY_CONFORMANCE_H_

#include <linux/perf_event.h>
#include <sys/mman.h>

#include <cstdint>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class PerfEventArrayConformance : public ConformanceTest<B> {};
TYPED_TEST_SUITE_P(PerfEventArrayConformance);

constexpr uint32_t kPerfArray = BPF_MAP_TYPE_PERF_EVENT_ARRAY;

// key 4 and value 4; max_entries 0 is refused (the CPU-count default is
// libbpf's); NUMA_NODE, RDONLY, WRONLY and PRESERVE_ELEMS are accepted.
TYPED_TEST_P(PerfEventArrayConformance, CreationRules) {
  EXPECT_GE(this->Create(Attr(kPerfArray, 4, 4, 4)), 0);
  EXPECT_GE(this->Create(Attr(kPerfArray, 4, 4, 1000)), 0);
  EXPECT_EQ(this->Create(Attr(kPerfArray, 4, 4, 0)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(kPerfArray, 8, 4, 4)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(kPerfArray, 4, 8, 4)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(kPerfArray, 4, 0, 4)), -EINVAL);
  for (uint32_t f : {uint32_t{BPF_F_NUMA_NODE}, uint32_t{BPF_F_RDONLY},
                     uint32_t{BPF_F_WRONLY}, uint32_t{BPF_F_PRESERVE_ELEMS}}) {
    EXPECT_GE(this->Create(Attr(kPerfArray, 4, 4, 4, f)), 0) << f;
  }
  for (uint32_t f :
       {uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_WRONLY_PROG},
        uint32_t{BPF_F_MMAPABLE}, uint32_t{BPF_F_NO_PREALLOC},
        uint32_t{BPF_F_INNER_MAP}, uint32_t{BPF_F_ZERO_SEED}, 1u << 20}) {
    EXPECT_EQ(this->Create(Attr(kPerfArray, 4, 4, 4, f)), -EINVAL) << f;
  }
}

// Lookup is ENOTSUPP (no map_fd_sys_lookup_elem) whether or not the slot is
// filled; update takes BPF_ANY only, then the index, then a perf event fd
// (EBADF for anything else); delete and get_next_key are the array's.
TYPED_TEST_P(PerfEventArrayConformance, Commands) {
  const int fd = this->MustCreate(Attr(kPerfArray, 4, 4, 4));
  uint32_t key = 0, value = 0, next = 9;
  EXPECT_EQ(this->b().Lookup(fd, &key, &value, 0), -kENOTSUPP);
  key = 7;
  EXPECT_EQ(this->b().Lookup(fd, &key, &value, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &key, &value, 0), -kENOTSUPP);
  key = 0;
  EXPECT_EQ(this->b().Delete(fd, &key), -ENOENT);
  key = 4;
  EXPECT_EQ(this->b().Delete(fd, &key), -E2BIG);
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 3;
  EXPECT_EQ(this->b().GetNextKey(fd, &key, &next), -ENOENT);
  key = 9;
  EXPECT_EQ(this->b().GetNextKey(fd, &key, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 0;
  value = 0;  // stdin
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), -EBADF);
  value = 99999;
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), -EBADF);
  value = static_cast<uint32_t>(fd);
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), -EBADF);

  const int pe = this->b().OpenPerfEvent(0, PERF_COUNT_SW_BPF_OUTPUT);
  ASSERT_GE(pe, 0);
  const int clock = this->b().OpenPerfEvent(0, PERF_COUNT_SW_CPU_CLOCK);
  ASSERT_GE(clock, 0);
  const int task = this->b().OpenPerfEvent(-1, PERF_COUNT_SW_BPF_OUTPUT);
  ASSERT_GE(task, 0);
  value = static_cast<uint32_t>(pe);
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_EXIST), -EINVAL);
  key = 4;
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), -E2BIG);
  key = 0;
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), 0);
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), 0);
  EXPECT_EQ(this->b().Lookup(fd, &key, &value, 0), -kENOTSUPP);
  // Any software event is stored (the helper checks the kind).
  key = 1;
  value = static_cast<uint32_t>(clock);
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), 0);
  key = 2;
  value = static_cast<uint32_t>(task);
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), 0);
  for (uint32_t k : {0u, 1u, 2u}) {
    EXPECT_EQ(this->b().Delete(fd, &k), 0) << k;
    EXPECT_EQ(this->b().Delete(fd, &k), -ENOENT) << k;
  }
  EXPECT_EQ(this->b().Freeze(fd), 0);
  void* addr = nullptr;
  EXPECT_EQ(this->b().Mmap(fd, 4096, PROT_READ, MAP_SHARED, 0, &addr),
            -kENOTSUPP);
  this->b().ClosePerfEvent(pe);
  this->b().ClosePerfEvent(clock);
  this->b().ClosePerfEvent(task);
}

// perf_event_fd_array_release: an entry goes when the map file it was
// stored through is released - its last descriptor closed - unless the map
// has BPF_F_PRESERVE_ELEMS; entries stored through another file of the map
// (BPF_MAP_GET_FD_BY_ID) stay. A dup shares the file.
TYPED_TEST_P(PerfEventArrayConformance, EntriesGoWithTheFileThatStoredThem) {
  const int pe = this->b().OpenPerfEvent(0, PERF_COUNT_SW_BPF_OUTPUT);
  ASSERT_GE(pe, 0) << ErrnoName(pe);
  for (const uint32_t flags : {0u, uint32_t{BPF_F_PRESERVE_ELEMS}}) {
    SCOPED_TRACE(flags);
    const bool preserve = flags != 0;
    const int a = this->b().CreateMap(Attr(kPerfArray, 4, 4, 4, flags));
    ASSERT_GE(a, 0) << ErrnoName(a);
    MapInfo info;
    ASSERT_EQ(this->b().GetMapInfo(a, &info), 0);
    const int other = this->Track(this->b().GetFdById(info.id, 0));
    ASSERT_GE(other, 0) << ErrnoName(other);
    uint32_t value = static_cast<uint32_t>(pe);
    for (uint32_t key = 0; key < 3; ++key) {
      ASSERT_EQ(this->b().Update(a, &key, &value, BPF_ANY), 0);
    }
    uint32_t key = 3;
    ASSERT_EQ(this->b().Update(other, &key, &value, BPF_ANY), 0);
    // A's file lives on in its dup.
    const int dup = this->b().Dup(a);
    ASSERT_GE(dup, 0) << ErrnoName(dup);
    EXPECT_EQ(this->b().Close(a), 0);
    key = 0;
    EXPECT_EQ(this->b().Delete(other, &key), 0);
    // Its last descriptor closed: the entries it stored go.
    EXPECT_EQ(this->b().Close(dup), 0);
    for (key = 1; key < 3; ++key) {
      EXPECT_EQ(this->b().Delete(other, &key), preserve ? 0 : -ENOENT) << key;
    }
    key = 3;
    EXPECT_EQ(this->b().Delete(other, &key), 0);
    // An entry re-stored through the surviving file stays when a third
    // file that never stored anything is closed.
    ASSERT_EQ(this->b().Update(other, &key, &value, BPF_ANY), 0);
    const int third = this->b().GetFdById(info.id, 0);
    ASSERT_GE(third, 0) << ErrnoName(third);
    EXPECT_EQ(this->b().Close(third), 0);
    EXPECT_EQ(this->b().Delete(other, &key), 0);
  }
  this->b().ClosePerfEvent(pe);
}

TYPED_TEST_P(PerfEventArrayConformance, BatchOpsUnsupported) {
  const int fd = this->MustCreate(Attr(kPerfArray, 4, 4, 4));
  uint32_t keys[4], values[4], count = 4, out = 0;
  EXPECT_EQ(
      this->b().LookupBatch(fd, nullptr, &out, keys, values, &count, 0, 0),
      -kENOTSUPP);
  count = 4;
  EXPECT_EQ(this->b().DeleteBatch(fd, keys, &count, 0, 0), -kENOTSUPP);
}

REGISTER_TYPED_TEST_SUITE_P(PerfEventArrayConformance, CreationRules, Commands,
                            EntriesGoWithTheFileThatStoredThem,
                            BatchOpsUnsupported);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_PERF_EVENT_ARRAY_CONFORMANCE_H_
