// SPDX-License-Identifier: Apache-2.0
// CGROUP_STORAGE and PERCPU_CGROUP_STORAGE (emu/cgroup_storage.h,
// kernel/bpf/local_storage.c) through the emulated bpf() commands, and a
// test run's storages (net/bpf/test_run.c bpf_test_run).
#include "emu/cgroup_storage.h"

#include <fcntl.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

MapAttr Storage(uint32_t type, uint32_t key_size, uint32_t value_size,
                uint32_t flags = 0, uint32_t max_entries = 0) {
  return MapAttr{.map_type = type,
                 .key_size = key_size,
                 .value_size = value_size,
                 .max_entries = max_entries,
                 .map_flags = flags};
}

constexpr uint32_t kShared = BPF_MAP_TYPE_CGROUP_STORAGE;
constexpr uint32_t kPercpu = BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;

int CreateOk(const MapAttr& attr) {
  const int fd = MapCreate(attr);
  if (fd >= 0) CloseFd(fd);
  return fd >= 0 ? 0 : fd;
}

TEST(CgroupStorageCreate, ChecksInKernelOrder) {
  for (uint32_t type : {kShared, kPercpu}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(CreateOk(Storage(type, 16, 8)), 0);  // the padded struct
    EXPECT_EQ(CreateOk(Storage(type, 8, 8)), 0);
    EXPECT_EQ(CreateOk(Storage(type, 4, 8)), -EINVAL);
    EXPECT_EQ(CreateOk(Storage(type, 12, 8)), -EINVAL);
    EXPECT_EQ(CreateOk(Storage(type, 8, 0)), -EINVAL);
    EXPECT_EQ(CreateOk(Storage(type, 8, 8, 0, 1)), -EINVAL);  // max_entries
    EXPECT_EQ(CreateOk(Storage(type, 8, 8, BPF_F_NO_PREALLOC)), -EINVAL);
    EXPECT_EQ(CreateOk(Storage(type, 8, 8, BPF_F_MMAPABLE)), -EINVAL);
    EXPECT_EQ(
        CreateOk(Storage(type, 8, 8, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)),
        -EINVAL);
    EXPECT_EQ(CreateOk(Storage(type, 8, 8, BPF_F_RDONLY_PROG)), 0);
    EXPECT_EQ(CreateOk(Storage(type, 8, 8, BPF_F_NUMA_NODE)), 0);
    // Key before value before size before flags before max_entries.
    EXPECT_EQ(CreateOk(Storage(type, 4, 0)), -EINVAL);
    EXPECT_EQ(CreateOk(Storage(type, 8, 70000, BPF_F_MMAPABLE)), -E2BIG);
  }
  EXPECT_EQ(CreateOk(Storage(kShared, 8, 65407)), 0);
  EXPECT_EQ(CreateOk(Storage(kShared, 8, 65408)), -E2BIG);
  EXPECT_EQ(CreateOk(Storage(kPercpu, 8, 32768)), 0);
  EXPECT_EQ(CreateOk(Storage(kPercpu, 8, 32769)), -E2BIG);
}

TEST(CgroupStorageCommands, AnUnattachedMapHoldsNoStorage) {
  for (uint32_t type : {kShared, kPercpu}) {
    SCOPED_TRACE(type);
    const int fd = MapCreate(Storage(type, 16, 8));
    ASSERT_GE(fd, 0);
    struct bpf_cgroup_storage_key key = {.cgroup_inode_id = 1,
                                         .attach_type = 0};
    std::vector<uint8_t> value(8 * NumPossibleCpus(), 0);
    EXPECT_EQ(MapLookupElem(fd, &key, value.data()), -ENOENT);
    EXPECT_EQ(MapUpdateElem(fd, &key, value.data(), BPF_ANY), -ENOENT);
    EXPECT_EQ(MapUpdateElem(fd, &key, value.data(), BPF_EXIST), -ENOENT);
    EXPECT_EQ(MapUpdateElem(fd, &key, value.data(), BPF_NOEXIST), -EINVAL);
    EXPECT_EQ(MapUpdateElem(fd, &key, value.data(), BPF_F_LOCK), -EINVAL);
    EXPECT_EQ(MapDeleteElem(fd, &key), -EINVAL);
    struct bpf_cgroup_storage_key next;
    EXPECT_EQ(MapGetNextKey(fd, nullptr, &next), -ENOENT);
    EXPECT_EQ(MapGetNextKey(fd, &key, &next), -ENOENT);
    uint32_t count = 1;
    EXPECT_EQ(MapLookupBatch(fd, nullptr, &next, &key, value.data(), &count),
              -kENOTSUPP);
    CloseFd(fd);
  }
}

TEST(CgroupStorageRunTest, ZeroedPerRunKeptAcrossRepeatsPerCpu) {
  const int fd = MapCreate(Storage(kShared, 8, 12));
  const int pfd = MapCreate(Storage(kPercpu, 8, 4));
  ASSERT_GE(fd, 0);
  ASSERT_GE(pfd, 0);
  std::shared_ptr<Map> shared = MapFromFd(fd);
  std::shared_ptr<Map> percpu = MapFromFd(pfd);
  EXPECT_EQ(GetLocalStorage(*shared, 1), nullptr);  // flags must be 0
  {
    CgroupStorageRun run;
    auto* v = static_cast<uint32_t*>(GetLocalStorage(*shared, 0));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v[0] | v[1] | v[2], 0u);
    v[0] = 5;
    {
      CgroupStorageRun repeat;  // a repeat inside the run: same storage
      EXPECT_EQ(GetLocalStorage(*shared, 0), v);
    }
    EXPECT_EQ(static_cast<uint32_t*>(GetLocalStorage(*shared, 0))[0], 5u);
    if (NumPossibleCpus() >= 2) {
      uint32_t* c0;
      uint32_t* c1;
      {
        ScopedCpu on(0);
        c0 = static_cast<uint32_t*>(GetLocalStorage(*percpu, 0));
      }
      {
        ScopedCpu on(1);
        c1 = static_cast<uint32_t*>(GetLocalStorage(*percpu, 0));
      }
      EXPECT_NE(c0, c1);
      *c0 = 1;
      EXPECT_EQ(*c1, 0u);
    }
  }
  {
    CgroupStorageRun next_run;
    auto* v = static_cast<uint32_t*>(GetLocalStorage(*shared, 0));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v[0], 0u);  // a new run starts from zero
  }
  // The map itself never saw the storages.
  uint64_t key = 1;
  uint8_t value[16];
  EXPECT_EQ(MapLookupElem(fd, &key, value), -ENOENT);
  EXPECT_EQ(MapMemlock(fd), MapMemlock(pfd));
  CloseFd(fd);
  CloseFd(pfd);
}

// A region opened afresh (another process's view, /proc/self/fd) attaches
// through the type's own checks, for both cgroup families.
TEST(CgroupStorageAttach, RegionsReattach) {
  for (const MapAttr& attr : {Storage(kShared, 16, 24), Storage(kPercpu, 8, 4),
                              MapAttr{.map_type = BPF_MAP_TYPE_CGROUP_ARRAY,
                              .key_size = 4,
                              .value_size = 4,
                              .max_entries = 5}}) {
    SCOPED_TRACE(attr.map_type);
    const int fd = MapCreate(attr);
    ASSERT_GE(fd, 0);
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const int again = open(path.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(again, 0);
    ASSERT_EQ(AttachMapFd(again), 0);
    std::shared_ptr<Map> m = MapFromFd(again);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->type(), attr.map_type);
    EXPECT_EQ(m->value_size(), attr.value_size);
    EXPECT_EQ(m->max_entries(), attr.max_entries);
    EXPECT_EQ(MapMemlock(again), MapMemlock(fd));
    CloseFd(again);
    CloseFd(fd);
  }
}

}  // namespace
}  // namespace bpfemu
