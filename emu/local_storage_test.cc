// SPDX-License-Identifier: Apache-2.0
// SK_STORAGE, TASK_STORAGE and INODE_STORAGE through the syscall face:
// create checks in bpf_local_storage_map_alloc_check's order, owners named
// by fd (sockets, pidfds, any file), the update flags, the optmem charge of
// socket storage, and memlock. tests/conformance/local_storage_conformance.h
// runs the shared cases on the kernel too.

#include "emu/local_storage.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "emu/btf.h"
#include "emu/btf_blobs.h"
#include "emu/build_profile.h"
#include "emu/cgroup.h"
#include "emu/errno.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

// btftest::MapBtf(): u32 (1), u64 (2), struct pair (3, 8 bytes),
// struct locked { bpf_spin_lock lock; u64 v; } (7, 16 bytes).
int LoadMapBtf() {
  static const std::vector<uint8_t> blob = btftest::MapBtf();
  BtfLoadAttr a;
  a.btf = blob.data();
  a.btf_size = static_cast<uint32_t>(blob.size());
  return BtfLoad(a);
}

MapAttr Storage(uint32_t type, int btf_fd, uint32_t value_size = 8,
                uint32_t value_id = 2) {
  MapAttr a{.map_type = type,
            .key_size = 4,
            .value_size = value_size,
            .max_entries = 0,
            .map_flags = BPF_F_NO_PREALLOC};
  a.btf_fd = static_cast<uint32_t>(btf_fd);
  a.btf_key_type_id = 1;
  a.btf_value_type_id = value_id;
  return a;
}

class LocalStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    btf_ = LoadMapBtf();
    ASSERT_GE(btf_, 0);
  }
  void TearDown() override { CloseFd(btf_); }
  int btf_ = -1;
};

TEST_F(LocalStorageTest, CreateChecksInTheKernelsOrder) {
  for (uint32_t type : {BPF_MAP_TYPE_SK_STORAGE, BPF_MAP_TYPE_TASK_STORAGE,
                        BPF_MAP_TYPE_INODE_STORAGE}) {
    SCOPED_TRACE(type);
    MapAttr a = Storage(type, btf_);
    const int fd = MapCreate(a);
    ASSERT_GE(fd, 0);
    CloseFd(fd);
    a = Storage(type, btf_);
    a.map_flags = 0;  // BPF_F_NO_PREALLOC is required
    EXPECT_EQ(MapCreate(a), -EINVAL);
    a = Storage(type, btf_);
    a.map_flags |= BPF_F_RDONLY;  // not in the create flag mask
    EXPECT_EQ(MapCreate(a), -EINVAL);
    a = Storage(type, btf_);
    a.max_entries = 1;
    EXPECT_EQ(MapCreate(a), -EINVAL);
    a = Storage(type, btf_);
    a.key_size = 8;
    EXPECT_EQ(MapCreate(a), -EINVAL);
    a = Storage(type, btf_);
    a.btf_key_type_id = 0;  // BTF is required (alloc_check, not MapCreate)
    EXPECT_EQ(MapCreate(a), -EINVAL);
    a = Storage(type, btf_);
    a.btf_key_type_id = 3;  // a struct key: its size is not key_size
    EXPECT_EQ(MapCreate(a), -EINVAL);
    // E2BIG is checked after the EINVAL conditions, before any BTF.
    a = Storage(type, btf_, kLocalStorageMaxValueSize + 1);
    EXPECT_EQ(MapCreate(a), -E2BIG);
    a.max_entries = 1;
    EXPECT_EQ(MapCreate(a), -EINVAL);
    // BPF_F_CLONE is accepted.
    a = Storage(type, btf_);
    a.map_flags |= BPF_F_CLONE;
    const int clone = MapCreate(a);
    EXPECT_GE(clone, 0);
    CloseFd(clone);
  }
}

TEST_F(LocalStorageTest, SocketStorageFollowsTheSocket) {
  const int map = MapCreate(Storage(BPF_MAP_TYPE_SK_STORAGE, btf_));
  ASSERT_GE(map, 0);
  int sk = socket(AF_INET6, SOCK_STREAM, 0);
  ASSERT_GE(sk, 0);
  uint64_t v = 7, out = 0;
  EXPECT_EQ(MapLookupElem(map, &sk, &out, 0), -ENOENT);
  EXPECT_EQ(MapUpdateElem(map, &sk, &v, BPF_EXIST), -ENOENT);
  EXPECT_EQ(MapUpdateElem(map, &sk, &v, BPF_NOEXIST), 0);
  EXPECT_EQ(MapUpdateElem(map, &sk, &v, BPF_NOEXIST), -EEXIST);
  v = 8;
  EXPECT_EQ(MapUpdateElem(map, &sk, &v, BPF_EXIST), 0);
  EXPECT_EQ(MapLookupElem(map, &sk, &out, 0), 0);
  EXPECT_EQ(out, 8u);
  // Both BPF_NOEXIST and BPF_EXIST; BPF_F_LOCK without a spin lock.
  EXPECT_EQ(MapUpdateElem(map, &sk, &v, BPF_NOEXIST | BPF_EXIST), -EINVAL);
  EXPECT_EQ(MapUpdateElem(map, &sk, &v, BPF_F_LOCK), -EINVAL);
  // A dup names the same socket.
  int dup_sk = dup(sk);
  EXPECT_EQ(MapLookupElem(map, &dup_sk, &out, 0), 0);
  close(dup_sk);
  // get_next_key and batches are not supported.
  int next = 0;
  EXPECT_EQ(MapGetNextKey(map, nullptr, &next), -524);
  EXPECT_EQ(MapGetNextKey(map, &sk, &next), -524);
  uint32_t count = 1;
  int keys[1] = {sk};
  EXPECT_EQ(MapDeleteBatch(map, keys, &count), -524);
  EXPECT_EQ(MapLookupAndDeleteElem(map, &sk, &out, 0), -524);
  // A new socket on the same fd number has no storage.
  const int number = sk;
  close(sk);
  int sk2 = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(sk2, number);
  EXPECT_EQ(MapLookupElem(map, &sk2, &out, 0), -ENOENT);
  EXPECT_EQ(MapDeleteElem(map, &sk2), -ENOENT);
  EXPECT_EQ(MapUpdateElem(map, &sk2, &v, 0), 0);
  EXPECT_EQ(MapDeleteElem(map, &sk2), 0);
  EXPECT_EQ(MapDeleteElem(map, &sk2), -ENOENT);
  close(sk2);
  // The fd must be an open socket.
  EXPECT_EQ(MapLookupElem(map, &number, &out, 0), -EBADF);
  EXPECT_EQ(MapUpdateElem(map, &number, &v, 0), -EBADF);
  EXPECT_EQ(MapDeleteElem(map, &number), -EBADF);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  EXPECT_EQ(MapLookupElem(map, &pipe_fds[0], &out, 0), -ENOTSOCK);
  EXPECT_EQ(MapUpdateElem(map, &pipe_fds[0], &v, 0), -ENOTSOCK);
  EXPECT_EQ(MapDeleteElem(map, &pipe_fds[0]), -ENOTSOCK);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  CloseFd(map);
}

TEST_F(LocalStorageTest, SpinLockValueTakesBpfFLock) {
  const int map =
      MapCreate(Storage(BPF_MAP_TYPE_SK_STORAGE, btf_, 16, /*locked*/ 7));
  ASSERT_GE(map, 0);
  int sk = socket(AF_INET, SOCK_STREAM, 0);
  struct {
    uint32_t lock, pad;
    uint64_t v;
  } in = {1, 0, 5}, out = {};
  EXPECT_EQ(MapUpdateElem(map, &sk, &in, BPF_NOEXIST | BPF_F_LOCK), 0);
  EXPECT_EQ(MapLookupElem(map, &sk, &out, BPF_F_LOCK), 0);
  EXPECT_EQ(out.lock, 0u);
  EXPECT_EQ(out.v, 5u);
  in.v = 6;
  EXPECT_EQ(MapUpdateElem(map, &sk, &in, BPF_EXIST | BPF_F_LOCK), 0);
  EXPECT_EQ(MapUpdateElem(map, &sk, &in, BPF_NOEXIST | BPF_F_LOCK), -EEXIST);
  EXPECT_EQ(MapLookupElem(map, &sk, &out, 0), 0);
  EXPECT_EQ(out.v, 6u);
  EXPECT_EQ(out.lock, 0u);
  close(sk);
  CloseFd(map);
}

// bpf_sk_storage_charge: the socket's option memory bounds its storage;
// an update without BPF_F_LOCK holds the old and the new element at once.
TEST_F(LocalStorageTest, SocketStorageIsChargedToOptmem) {
  FILE* f = std::fopen("/proc/sys/net/core/optmem_max", "r");
  ASSERT_NE(f, nullptr);
  unsigned long optmem = 0;
  ASSERT_EQ(std::fscanf(f, "%lu", &optmem), 1);
  std::fclose(f);
  // The largest value whose replacement still fits: 176 + 2 * (72 + v)
  // < optmem.
  if (optmem < 2 * 72 + 176 + 16 || (optmem - 176 - 1) / 2 - 72 >= 65407) {
    GTEST_SKIP() << "optmem_max " << optmem << " out of the tested range";
  }
  const uint32_t fits = static_cast<uint32_t>((optmem - 176 - 1) / 2 - 72);
  for (uint32_t size : {fits, fits + 1}) {
    SCOPED_TRACE(size);
    btftest::Blob b;
    b.Int("unsigned int", 4, 32);
    const uint32_t byte = b.Int("unsigned char", 1, 8);
    const uint32_t arr = b.Array(byte, 1, size);
    std::vector<uint8_t> blob = b.Build();
    BtfLoadAttr la;
    la.btf = blob.data();
    la.btf_size = static_cast<uint32_t>(blob.size());
    const int btf = BtfLoad(la);
    ASSERT_GE(btf, 0);
    const int map = MapCreate(Storage(BPF_MAP_TYPE_SK_STORAGE, btf, size, arr));
    ASSERT_GE(map, 0);
    int sk = socket(AF_INET, SOCK_STREAM, 0);
    std::vector<uint8_t> v(size, 1);
    EXPECT_EQ(MapUpdateElem(map, &sk, v.data(), 0), 0);
    EXPECT_EQ(MapUpdateElem(map, &sk, v.data(), 0), size == fits ? 0 : -ENOMEM);
    close(sk);
    CloseFd(map);
    CloseFd(btf);
  }
}

TEST_F(LocalStorageTest, TaskStorageNamesTasksByPidfd) {
  const int map = MapCreate(Storage(BPF_MAP_TYPE_TASK_STORAGE, btf_));
  ASSERT_GE(map, 0);
  const int self = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  ASSERT_GE(self, 0);
  uint64_t v = 11, out = 0;
  EXPECT_EQ(MapUpdateElem(map, &self, &v, BPF_NOEXIST), 0);
  const int again = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  EXPECT_EQ(MapLookupElem(map, &again, &out, 0), 0);
  EXPECT_EQ(out, 11u);
  // A non-pidfd and a closed fd are EBADF.
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  EXPECT_EQ(MapLookupElem(map, &pipe_fds[0], &out, 0), -EBADF);
  EXPECT_EQ(MapUpdateElem(map, &pipe_fds[0], &v, 0), -EBADF);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  EXPECT_EQ(MapDeleteElem(map, &pipe_fds[0]), -EBADF);
  // A reaped child is ENOENT.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  const int child_fd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  ASSERT_GE(child_fd, 0);
  EXPECT_EQ(MapUpdateElem(map, &child_fd, &v, 0), 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_EQ(MapLookupElem(map, &child_fd, &out, 0), -ENOENT);
  EXPECT_EQ(MapUpdateElem(map, &child_fd, &v, 0), -ENOENT);
  EXPECT_EQ(MapDeleteElem(map, &child_fd), -ENOENT);
  EXPECT_EQ(MapDeleteElem(map, &self), 0);
  EXPECT_EQ(MapLookupElem(map, &again, &out, 0), -ENOENT);
  close(child_fd);
  close(self);
  close(again);
  CloseFd(map);
}

TEST_F(LocalStorageTest, InodeStorageNamesTheFilesInode) {
  const int map = MapCreate(Storage(BPF_MAP_TYPE_INODE_STORAGE, btf_));
  ASSERT_GE(map, 0);
  char path[] = "/tmp/bpfemu-inode-XXXXXX";
  const int file = mkstemp(path);
  ASSERT_GE(file, 0);
  const int by_path = open(path, O_PATH);
  ASSERT_GE(by_path, 0);
  uint64_t v = 3, out = 0;
  EXPECT_EQ(MapUpdateElem(map, &file, &v, BPF_NOEXIST), 0);
  EXPECT_EQ(MapLookupElem(map, &by_path, &out, 0), 0);
  EXPECT_EQ(out, 3u);
  EXPECT_EQ(MapUpdateElem(map, &by_path, &v, BPF_NOEXIST), -EEXIST);
  const int other = open("/", O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(MapLookupElem(map, &other, &out, 0), -ENOENT);
  close(other);
  EXPECT_EQ(MapDeleteElem(map, &by_path), 0);
  EXPECT_EQ(MapDeleteElem(map, &file), -ENOENT);
  close(by_path);
  close(file);
  unlink(path);
  EXPECT_EQ(MapLookupElem(map, &file, &out, 0), -EBADF);
  EXPECT_EQ(MapUpdateElem(map, &file, &v, 0), -EBADF);
  CloseFd(map);
}

// CGRP_STORAGE: owners are cgroup2 directories named by fd, the same
// cgroup through any of its fds; other fds are EBADF; a 6.1 target has no
// such type.
TEST_F(LocalStorageTest, CgroupStorageNamesTheCgroup) {
  const std::string& root = Cgroup2Mount();
  if (root.empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
  const int map = MapCreate(Storage(kBpfMapTypeCgrpStorage, btf_));
  ASSERT_GE(map, 0);
  const int cg = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  const int cg2 = open(root.c_str(), O_PATH | O_DIRECTORY);
  ASSERT_GE(cg, 0);
  ASSERT_GE(cg2, 0);
  uint64_t v = 9, out = 0;
  EXPECT_EQ(MapLookupElem(map, &cg, &out, 0), -ENOENT);
  EXPECT_EQ(MapUpdateElem(map, &cg, &v, BPF_EXIST), -ENOENT);
  EXPECT_EQ(MapUpdateElem(map, &cg, &v, BPF_NOEXIST), 0);
  EXPECT_EQ(MapLookupElem(map, &cg2, &out, 0), 0);
  EXPECT_EQ(out, 9u);
  EXPECT_EQ(MapUpdateElem(map, &cg2, &v, BPF_NOEXIST), -EEXIST);
  const int not_cgroup = open("/", O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(MapLookupElem(map, &not_cgroup, &out, 0), -EBADF);
  EXPECT_EQ(MapUpdateElem(map, &not_cgroup, &v, 0), -EBADF);
  EXPECT_EQ(MapDeleteElem(map, &not_cgroup), -EBADF);
  close(not_cgroup);
  uint32_t next = 0;
  EXPECT_EQ(MapGetNextKey(map, &cg, &next), -kENOTSUPP);
  EXPECT_EQ(MapDeleteElem(map, &cg), 0);
  EXPECT_EQ(MapDeleteElem(map, &cg2), -ENOENT);
  close(cg);
  close(cg2);
  CloseFd(map);
  SetTargetKernel(KernelVersion::k6_1);
  EXPECT_EQ(MapCreate(Storage(kBpfMapTypeCgrpStorage, btf_)), -EINVAL);
  SetTargetKernel(KernelVersion::k6_18);
}

// Many owners, inserted and deleted, exercise the table's probing and
// the reuse of deleted slots.
TEST_F(LocalStorageTest, ManySocketsInsertDeleteReinsert) {
  const int map = MapCreate(Storage(BPF_MAP_TYPE_SK_STORAGE, btf_));
  ASSERT_GE(map, 0);
  std::vector<int> sks;
  for (int i = 0; i < 500; ++i) {
    sks.push_back(socket(AF_INET, SOCK_DGRAM, 0));
    ASSERT_GE(sks.back(), 0);
    uint64_t v = static_cast<uint64_t>(i);
    ASSERT_EQ(MapUpdateElem(map, &sks.back(), &v, BPF_NOEXIST), 0);
  }
  for (size_t i = 0; i < sks.size(); i += 2) {
    ASSERT_EQ(MapDeleteElem(map, &sks[i]), 0);
  }
  for (size_t i = 0; i < sks.size(); ++i) {
    uint64_t out = 0;
    if (i % 2 == 0) {
      EXPECT_EQ(MapLookupElem(map, &sks[i], &out, 0), -ENOENT);
      uint64_t v = i + 1000;
      EXPECT_EQ(MapUpdateElem(map, &sks[i], &v, BPF_NOEXIST), 0);
    } else {
      EXPECT_EQ(MapLookupElem(map, &sks[i], &out, 0), 0);
      EXPECT_EQ(out, i);
    }
  }
  for (size_t i = 0; i < sks.size(); i += 2) {
    uint64_t out = 0;
    EXPECT_EQ(MapLookupElem(map, &sks[i], &out, 0), 0);
    EXPECT_EQ(out, i + 1000);
  }
  for (int sk : sks) close(sk);
  CloseFd(map);
}

// A region attached anew (another process's view: the file reopened and
// adopted) rebuilds the table from the header and sees the same owners.
TEST_F(LocalStorageTest, AttachedRegionSeesTheSameStorage) {
  const int map = MapCreate(Storage(BPF_MAP_TYPE_SK_STORAGE, btf_));
  ASSERT_GE(map, 0);
  int sk = socket(AF_INET, SOCK_DGRAM, 0);
  uint64_t v = 42, out = 0;
  ASSERT_EQ(MapUpdateElem(map, &sk, &v, BPF_NOEXIST), 0);
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", map);
  const int again = open(path, O_RDWR | O_CLOEXEC);
  ASSERT_GE(again, 0);
  ASSERT_EQ(AttachMapFd(again), 0);
  std::shared_ptr<Map> m = MapFromFd(again);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->type(), uint32_t{BPF_MAP_TYPE_SK_STORAGE});
  EXPECT_EQ(MapLookupElem(again, &sk, &out, 0), 0);
  EXPECT_EQ(out, 42u);
  v = 43;
  EXPECT_EQ(MapUpdateElem(again, &sk, &v, BPF_EXIST), 0);
  EXPECT_EQ(MapLookupElem(map, &sk, &out, 0), 0);
  EXPECT_EQ(out, 43u);
  m.reset();
  CloseFd(again);
  close(sk);
  CloseFd(map);
}

// The table is in the map's shared region: a forked child's update under
// an inherited socket is its parent's storage too.
TEST_F(LocalStorageTest, ChildProcessSharesTheStorage) {
  const int map = MapCreate(Storage(BPF_MAP_TYPE_SK_STORAGE, btf_));
  ASSERT_GE(map, 0);
  int sk = socket(AF_INET, SOCK_DGRAM, 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    uint64_t v = 77;
    _exit(MapUpdateElem(map, &sk, &v, BPF_NOEXIST) == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  uint64_t out = 0;
  EXPECT_EQ(MapLookupElem(map, &sk, &out, 0), 0);
  EXPECT_EQ(out, 77u);
  close(sk);
  CloseFd(map);
}

// bpf_local_storage_map_mem_usage(): the struct and 16 bytes per bucket,
// the possible CPUs rounded up to a power of two (at least 2).
TEST_F(LocalStorageTest, MemlockIsTheStructAndItsBuckets) {
  if (TargetKernel() == KernelVersion::k6_1) GTEST_SKIP() << "6.4+ formula";
  const int map = MapCreate(Storage(BPF_MAP_TYPE_TASK_STORAGE, btf_));
  ASSERT_GE(map, 0);
  std::shared_ptr<Map> m = MapFromFd(map);
  ASSERT_NE(m, nullptr);
  uint64_t buckets = 2;
  while (buckets < m->nr_cpus()) buckets *= 2;
  EXPECT_EQ(
      MapMemlock(map),
      static_cast<int64_t>(BuildProfileFor(TargetKernel()).local_storage_map +
                           16 * buckets));
  CloseFd(map);
}

}  // namespace
}  // namespace bpfemu
