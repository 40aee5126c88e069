// SPDX-License-Identifier: Apache-2.0
// File: all_suites.h
//
// Every conformance suite, instantiated for one backend by
// INSTANTIATE_CONFORMANCE_SUITES(Prefix, BackendType) in that backend's test.

#ifndef BPFEMU_TESTS_CONFORMANCE_ALL_SUITES_H_
#define BPFEMU_TESTS_CONFORMANCE_ALL_SUITES_H_

#include "tests/conformance/access_conformance.h"
#include "tests/conformance/arena_conformance.h"
#include "tests/conformance/array_conformance.h"
#include "tests/conformance/batch_conformance.h"
#include "tests/conformance/bloom_conformance.h"
#include "tests/conformance/cgroup_conformance.h"
#include "tests/conformance/create_conformance.h"
#include "tests/conformance/devmap_conformance.h"
#include "tests/conformance/hash_conformance.h"
#include "tests/conformance/local_storage_conformance.h"
#include "tests/conformance/lock_conformance.h"
#include "tests/conformance/lpm_conformance.h"
#include "tests/conformance/lru_conformance.h"
#include "tests/conformance/map_in_map_batch_conformance.h"
#include "tests/conformance/percpu_conformance.h"
#include "tests/conformance/perf_event_array_conformance.h"
#include "tests/conformance/queue_stack_conformance.h"
#include "tests/conformance/reuseport_conformance.h"
#include "tests/conformance/ringbuf_conformance.h"
#include "tests/conformance/stack_trace_conformance.h"
#include "tests/conformance/struct_ops_conformance.h"
#include "tests/conformance/syscall_conformance.h"
#include "tests/conformance/user_ringbuf_conformance.h"
#include "tests/conformance/xsk_conformance.h"

#define INSTANTIATE_CONFORMANCE_SUITES(Prefix, BackendType)                    \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, CreateConformance, BackendType);      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, SyscallConformance, BackendType);     \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, HashConformance, BackendType);        \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, ArrayConformance, BackendType);       \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, PercpuConformance, BackendType);      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, LockConformance, BackendType);        \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, BatchConformance, BackendType);       \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, MapInMapBatchConformance,             \
                                 BackendType);                                 \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, LruConformance, BackendType);         \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, RingbufConformance, BackendType);     \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, AccessConformance, BackendType);      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, QueueStackConformance, BackendType);  \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, BloomConformance, BackendType);       \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, StackTraceConformance, BackendType);  \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, LpmConformance, BackendType);         \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, UserRingbufConformance, BackendType); \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, ReuseportConformance, BackendType);   \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, XskConformance, BackendType);         \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, CgroupConformance, BackendType);      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, DevmapConformance, BackendType);      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, LocalStorageConformance,              \
                                 BackendType);                                 \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, PerfEventArrayConformance,            \
                                 BackendType);                                 \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, ArenaConformance, BackendType);       \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, StructOpsConformance, BackendType)

#endif  // BPFEMU_TESTS_CONFORMANCE_ALL_SUITES_H_
