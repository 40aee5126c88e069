// SPDX-License-Identifier: Apache-2.0
// File: cgroup_conformance.h
//
// CgroupConformance: the map types that hold or key on cgroups, through the
// syscall. BPF_MAP_TYPE_CGROUP_ARRAY (kernel/bpf/arraymap.c
// cgroup_array_map_ops: fd_array_map_alloc_check, array_map_alloc_check,
// bpf_fd_array_map_update_elem with cgroup_fd_array_get_ptr ->
// kernel/cgroup/cgroup.c cgroup_get_from_fd). The cgroup is the cgroup2
// root, opened where the cgroup2 hierarchy is mounted (emu/cgroup.h
// Cgroup2Mount: /sys/fs/cgroup on a unified system, /sys/fs/cgroup/unified
// on a hybrid one); without one the cgroup cases skip.
// BPF_MAP_TYPE_CGROUP_STORAGE and PERCPU_CGROUP_STORAGE
// (kernel/bpf/local_storage.c): creation and the commands of a map no
// program is attached with (bpf_get_local_storage under a test run:
// tests/examples/cgroup_storage.bpf.c).

#ifndef BPFEMU_TESTS_CONFORMANCE_CGROUP_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_CGROUP_CONFORMANCE_H_

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "emu/cgroup.h"
#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class CgroupConformance : public ConformanceTest<B> {
 protected:
  void TearDown() override {
    for (int fd : files_) close(fd);
    ConformanceTest<B>::TearDown();
  }
  // A directory fd of the cgroup2 root, or -1.
  int OpenCgroupRoot() {
    if (Cgroup2Mount().empty()) return -1;
    return Keep(
        open(Cgroup2Mount().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  int Keep(int fd) {
    if (fd >= 0) files_.push_back(fd);
    return fd;
  }

 private:
  std::vector<int> files_;
};
TYPED_TEST_SUITE_P(CgroupConformance);

constexpr uint32_t kCgroupArray = BPF_MAP_TYPE_CGROUP_ARRAY;

// The fd arrays' create checks: value 4 and key 4, max_entries > 0, no
// program-side access flags, no array-only flags.
TYPED_TEST_P(CgroupConformance, CgroupArrayCreationRules) {
  EXPECT_GE(this->Create(Attr(kCgroupArray, 4, 4, 4)), 0);
  EXPECT_EQ(this->Create(Attr(kCgroupArray, 4, 4, 0)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(kCgroupArray, 8, 4, 4)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(kCgroupArray, 4, 8, 4)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(kCgroupArray, 4, 0, 4)), -EINVAL);
  for (uint32_t f : {uint32_t{BPF_F_NUMA_NODE}, uint32_t{BPF_F_RDONLY},
                     uint32_t{BPF_F_WRONLY}}) {
    EXPECT_GE(this->Create(Attr(kCgroupArray, 4, 4, 4, f)), 0) << f;
  }
  for (uint32_t f : {uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_WRONLY_PROG},
                     uint32_t{BPF_F_MMAPABLE}, uint32_t{BPF_F_NO_PREALLOC},
                     uint32_t{BPF_F_INNER_MAP}, uint32_t{BPF_F_PRESERVE_ELEMS},
                     uint32_t{BPF_F_ZERO_SEED}}) {
    EXPECT_EQ(this->Create(Attr(kCgroupArray, 4, 4, 4, f)), -EINVAL) << f;
  }
  MapInfo info{};
  const int fd = this->MustCreate(Attr(kCgroupArray, 4, 4, 3));
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.type, kCgroupArray);
  EXPECT_EQ(info.value_size, 4u);
  EXPECT_EQ(info.max_entries, 3u);
}

// Lookup is ENOTSUPP (no map_fd_sys_lookup_elem), filled or not; update
// takes BPF_ANY only, then the index, then a cgroup2 directory fd (EBADF
// for any other fd); delete and get_next_key are the array's.
TYPED_TEST_P(CgroupConformance, CgroupArrayCommands) {
  const int fd = this->MustCreate(Attr(kCgroupArray, 4, 4, 4));
  uint32_t key = 0, value = 0, next = 9;
  EXPECT_EQ(this->b().Lookup(fd, &key, &value, 0), -kENOTSUPP);
  key = 7;
  EXPECT_EQ(this->b().Lookup(fd, &key, &value, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &key, &value, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().Delete(fd, &key), -E2BIG);
  key = 0;
  EXPECT_EQ(this->b().Delete(fd, &key), -ENOENT);
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 3;
  EXPECT_EQ(this->b().GetNextKey(fd, &key, &next), -ENOENT);
  key = 9;
  EXPECT_EQ(this->b().GetNextKey(fd, &key, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 0;
  value = 99999;  // not open
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), -EBADF);
  value = static_cast<uint32_t>(fd);  // a map
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), -EBADF);
  const int slash = this->Keep(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_GE(slash, 0);
  value = static_cast<uint32_t>(slash);  // a directory of another fs
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), -EBADF);
  void* addr = nullptr;
  EXPECT_EQ(this->b().Mmap(fd, 4096, PROT_READ, MAP_SHARED, 0, &addr),
            -kENOTSUPP);

  const int cg = this->OpenCgroupRoot();
  if (cg < 0) GTEST_SKIP() << "no cgroup2 hierarchy to open";
  value = static_cast<uint32_t>(cg);
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_EXIST), -EINVAL);
  key = 4;
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), -E2BIG);
  for (key = 0; key < 4; ++key) {
    EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), 0) << key;
  }
  key = 1;
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), 0);  // replace
  EXPECT_EQ(this->b().Lookup(fd, &key, &value, 0), -kENOTSUPP);
  // A file inside the cgroup directory is not a cgroup.
  const int procs = this->Keep(
      open((Cgroup2Mount() + "/cgroup.procs").c_str(), O_RDONLY | O_CLOEXEC));
  if (procs >= 0) {
    value = static_cast<uint32_t>(procs);
    EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), -EBADF);
  }
  for (key = 0; key < 4; ++key) {
    EXPECT_EQ(this->b().Delete(fd, &key), 0) << key;
    EXPECT_EQ(this->b().Delete(fd, &key), -ENOENT) << key;
  }
  // The slot keeps no reference to the directory fd: closing it after the
  // update leaves the entry.
  const int again = open(Cgroup2Mount().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(again, 0);
  value = static_cast<uint32_t>(again);
  key = 2;
  EXPECT_EQ(this->b().Update(fd, &key, &value, BPF_ANY), 0);
  close(again);
  EXPECT_EQ(this->b().Delete(fd, &key), 0);
}

// No batch op: cgroup_array_map_ops has none.
TYPED_TEST_P(CgroupConformance, CgroupArrayBatchOpsAreEnotsupp) {
  const int fd = this->MustCreate(Attr(kCgroupArray, 4, 4, 4));
  uint32_t keys[4], values[4], out = 0, count = 4;
  EXPECT_EQ(
      this->b().LookupBatch(fd, nullptr, &out, keys, values, &count, 0, 0),
      -kENOTSUPP);
  count = 4;
  EXPECT_EQ(this->b().DeleteBatch(fd, keys, &count, 0, 0), -kENOTSUPP);
}

constexpr uint32_t kCgroupStorage = BPF_MAP_TYPE_CGROUP_STORAGE;
constexpr uint32_t kPercpuCgroupStorage = BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;

// cgroup_storage_map_alloc, in its order: key size (the padded struct
// bpf_cgroup_storage_key or a u64), value size, its bound, flags,
// max_entries (must be 0).
TYPED_TEST_P(CgroupConformance, CgroupStorageCreationRules) {
  for (uint32_t type : {kCgroupStorage, kPercpuCgroupStorage}) {
    SCOPED_TRACE(type);
    EXPECT_GE(this->Create(Attr(type, 16, 8, 0)), 0);
    EXPECT_GE(this->Create(Attr(type, 8, 1, 0)), 0);
    for (uint32_t key_size : {0u, 4u, 12u, 24u}) {
      EXPECT_EQ(this->Create(Attr(type, key_size, 8, 0)), -EINVAL) << key_size;
    }
    EXPECT_EQ(this->Create(Attr(type, 8, 0, 0)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 8, 8, 1)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 8, 8, 1024)), -EINVAL);
    for (uint32_t f : {uint32_t{BPF_F_NUMA_NODE}, uint32_t{BPF_F_RDONLY},
                       uint32_t{BPF_F_WRONLY}, uint32_t{BPF_F_RDONLY_PROG},
                       uint32_t{BPF_F_WRONLY_PROG}}) {
      EXPECT_GE(this->Create(Attr(type, 8, 8, 0, f)), 0) << f;
    }
    for (uint32_t f : {uint32_t{BPF_F_NO_PREALLOC}, uint32_t{BPF_F_MMAPABLE},
                       uint32_t{BPF_F_INNER_MAP}, uint32_t{BPF_F_ZERO_SEED},
                       uint32_t{BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG}}) {
      EXPECT_EQ(this->Create(Attr(type, 8, 8, 0, f)), -EINVAL) << f;
    }
    // Value size before flags before max_entries.
    EXPECT_EQ(this->Create(Attr(type, 8, 70000, 1, BPF_F_MMAPABLE)), -E2BIG);
    EXPECT_EQ(this->Create(Attr(type, 8, 8, 1, BPF_F_MMAPABLE)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(type, 4, 0, 0)), -EINVAL);
  }
  // BPF_LOCAL_STORAGE_MAX_VALUE_SIZE; PCPU_MIN_UNIT_SIZE for per-CPU.
  EXPECT_GE(this->Create(Attr(kCgroupStorage, 8, 65407, 0)), 0);
  EXPECT_EQ(this->Create(Attr(kCgroupStorage, 8, 65408, 0)), -E2BIG);
  EXPECT_GE(this->Create(Attr(kPercpuCgroupStorage, 8, 32768, 0)), 0);
  EXPECT_EQ(this->Create(Attr(kPercpuCgroupStorage, 8, 32769, 0)), -E2BIG);
  MapInfo info{};
  const int fd = this->MustCreate(Attr(kCgroupStorage, 16, 24, 0));
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.type, kCgroupStorage);
  EXPECT_EQ(info.key_size, 16u);
  EXPECT_EQ(info.value_size, 24u);
  EXPECT_EQ(info.max_entries, 0u);
}

// With no program attached to a cgroup the map holds no storage: lookup
// and update (which never creates) are ENOENT after the flags checks;
// delete is EINVAL; get_next_key ENOENT; no batch op, no mmap.
TYPED_TEST_P(CgroupConformance, CgroupStorageUnattachedCommands) {
  for (uint32_t type : {kCgroupStorage, kPercpuCgroupStorage}) {
    SCOPED_TRACE(type);
    const bool percpu = type == kPercpuCgroupStorage;
    for (uint32_t key_size : {16u, 8u}) {
      const int fd = this->MustCreate(Attr(type, key_size, 8, 0));
      const int ncpus = this->b().NumPossibleCpus();
      std::vector<uint64_t> value(percpu ? ncpus : 1, 7);
      uint64_t key[2] = {1, 0}, next[2] = {9, 9};
      EXPECT_EQ(this->b().Lookup(fd, key, value.data(), 0), -ENOENT);
      EXPECT_EQ(this->b().Update(fd, key, value.data(), BPF_ANY), -ENOENT);
      EXPECT_EQ(this->b().Update(fd, key, value.data(), BPF_EXIST), -ENOENT);
      EXPECT_EQ(this->b().Update(fd, key, value.data(), BPF_NOEXIST), -EINVAL);
      EXPECT_EQ(this->b().Update(fd, key, value.data(), BPF_F_LOCK), -EINVAL);
      EXPECT_EQ(this->b().Update(fd, key, value.data(), 8), -EINVAL);
      EXPECT_EQ(this->b().Delete(fd, key), -EINVAL);
      EXPECT_EQ(this->b().GetNextKey(fd, nullptr, next), -ENOENT);
      EXPECT_EQ(this->b().GetNextKey(fd, key, next), -ENOENT);
      EXPECT_EQ(next[0], 9u);
      EXPECT_EQ(this->b().LookupAndDelete(fd, key, value.data(), 0),
                -kENOTSUPP);
      uint32_t count = 1, out = 0;
      EXPECT_EQ(this->b().LookupBatch(fd, nullptr, &out, key, value.data(),
                                      &count, 0, 0),
                -kENOTSUPP);
      void* addr = nullptr;
      EXPECT_EQ(this->b().Mmap(fd, 4096, PROT_READ, MAP_SHARED, 0, &addr),
                -kENOTSUPP);
    }
  }
}

REGISTER_TYPED_TEST_SUITE_P(CgroupConformance, CgroupArrayCreationRules,
                            CgroupArrayCommands, CgroupArrayBatchOpsAreEnotsupp,
                            CgroupStorageCreationRules,
                            CgroupStorageUnattachedCommands);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_CGROUP_CONFORMANCE_H_
