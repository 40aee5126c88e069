// SPDX-License-Identifier: Apache-2.0
// BPF_MAP_TYPE_CGROUP_ARRAY (emu/fd_array.h, kernel/bpf/arraymap.c
// cgroup_array_map_ops) through the emulated bpf() commands.
#include <fcntl.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>

#include "emu/cgroup.h"
#include "emu/errno.h"
#include "emu/fd_array.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

class CgroupArrayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Cgroup2Mount().empty()) {
      cg_ = open(Cgroup2Mount().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    fd_ = MapCreate(MapAttr{.map_type = BPF_MAP_TYPE_CGROUP_ARRAY,
                            .key_size = 4,
                            .value_size = 4,
                            .max_entries = 4});
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) CloseFd(fd_);
    if (cg_ >= 0) close(cg_);
  }
  void NeedCgroup() {
    if (cg_ < 0) GTEST_SKIP() << "no cgroup2 hierarchy to open";
  }
  int fd_ = -1;
  int cg_ = -1;
};

TEST(CgroupArrayCreate, ValueAndKeyMustBeFour) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_CGROUP_ARRAY,
               .key_size = 4,
               .value_size = 8,
               .max_entries = 1};
  EXPECT_EQ(MapCreate(attr), -EINVAL);
  attr.value_size = 4;
  attr.key_size = 8;
  EXPECT_EQ(MapCreate(attr), -EINVAL);
  attr.key_size = 4;
  attr.max_entries = 0;
  EXPECT_EQ(MapCreate(attr), -EINVAL);
  attr.max_entries = 1;
  attr.map_flags = BPF_F_RDONLY_PROG;
  EXPECT_EQ(MapCreate(attr), -EINVAL);
  attr.map_flags = BPF_F_MMAPABLE;
  EXPECT_EQ(MapCreate(attr), -EINVAL);
  attr.map_flags = 0;
  int fd = MapCreate(attr);
  EXPECT_GE(fd, 0);
  CloseFd(fd);
}

TEST_F(CgroupArrayTest, UpdateRulesInKernelOrder) {
  uint32_t key = 0;
  int32_t value = cg_ >= 0 ? cg_ : 0;
  EXPECT_EQ(MapUpdateElem(fd_, &key, &value, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(MapUpdateElem(fd_, &key, &value, BPF_EXIST), -EINVAL);
  key = 4;
  EXPECT_EQ(MapUpdateElem(fd_, &key, &value, BPF_ANY), -E2BIG);
  key = 0;
  value = -1;
  EXPECT_EQ(MapUpdateElem(fd_, &key, &value, BPF_ANY), -EBADF);
  value = fd_;  // a map fd is not a cgroup
  EXPECT_EQ(MapUpdateElem(fd_, &key, &value, BPF_ANY), -EBADF);
  int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  value = dir;
  EXPECT_EQ(MapUpdateElem(fd_, &key, &value, BPF_ANY), -EBADF);
  close(dir);
}

TEST_F(CgroupArrayTest, LookupIsEnotsuppDeleteAndNextKey) {
  NeedCgroup();
  uint32_t key = 1;
  int32_t value = cg_;
  ASSERT_EQ(MapUpdateElem(fd_, &key, &value, BPF_ANY), 0);
  ASSERT_EQ(MapUpdateElem(fd_, &key, &value, BPF_ANY), 0);  // replace
  uint32_t out = 0;
  EXPECT_EQ(MapLookupElem(fd_, &key, &out), -kENOTSUPP);
  key = 0;
  EXPECT_EQ(MapLookupElem(fd_, &key, &out), -kENOTSUPP);  // empty too
  key = 9;
  EXPECT_EQ(MapLookupElem(fd_, &key, &out), -kENOTSUPP);
  EXPECT_EQ(MapDeleteElem(fd_, &key), -E2BIG);
  key = 0;
  EXPECT_EQ(MapDeleteElem(fd_, &key), -ENOENT);
  key = 1;
  EXPECT_EQ(MapDeleteElem(fd_, &key), 0);
  EXPECT_EQ(MapDeleteElem(fd_, &key), -ENOENT);
  // array_map_get_next_key: every index, slot content aside.
  uint32_t next = 7;
  EXPECT_EQ(MapGetNextKey(fd_, nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 3;
  EXPECT_EQ(MapGetNextKey(fd_, &key, &next), -ENOENT);
  key = 100;
  EXPECT_EQ(MapGetNextKey(fd_, &key, &next), 0);
  EXPECT_EQ(next, 0u);
}

TEST_F(CgroupArrayTest, CurrentTaskUnderCgroup) {
  NeedCgroup();
  std::shared_ptr<Map> map = MapFromFd(fd_);
  auto* array = static_cast<FdArrayMap*>(map.get());
  EXPECT_EQ(array->CurrentTaskUnderCgroup(4), -E2BIG);
  EXPECT_EQ(array->CurrentTaskUnderCgroup(0), -EAGAIN);
  uint32_t key = 0;
  int32_t value = cg_;
  ASSERT_EQ(MapUpdateElem(fd_, &key, &value, BPF_ANY), 0);
  EXPECT_EQ(array->IdAt(0), kRootCgroupId);
  EXPECT_EQ(array->CurrentTaskUnderCgroup(0), 1);  // every task is under root
  // A cgroup the current one is not under: a sibling path's id.
  const std::string path = Cgroup2Mount() + CurrentCgroupPath();
  int own = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(own, 0);
  key = 1;
  value = own;
  ASSERT_EQ(MapUpdateElem(fd_, &key, &value, BPF_ANY), 0);
  EXPECT_EQ(array->CurrentTaskUnderCgroup(1), 1);
  const bool own_is_root = CurrentCgroupPath() == "/";
  SetCurrentCgroup("/bpfemu-no-such-cgroup");
  EXPECT_EQ(array->CurrentTaskUnderCgroup(0), 1);
  EXPECT_EQ(array->CurrentTaskUnderCgroup(1), own_is_root ? 1 : 0);
  SetCurrentCgroup(std::nullopt);
  close(own);
}

TEST_F(CgroupArrayTest, BatchOpsAreEnotsupp) {
  uint32_t count = 1, keys[1], vals[1], out_batch;
  EXPECT_EQ(MapLookupBatch(fd_, nullptr, &out_batch, keys, vals, &count, 0, 0),
            -kENOTSUPP);
}

}  // namespace
}  // namespace bpfemu
