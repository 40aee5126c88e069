// SPDX-License-Identifier: Apache-2.0
// File: local_storage_conformance.h
//
// LocalStorageConformance: SK_STORAGE, TASK_STORAGE and INODE_STORAGE
// through the syscall, mirroring kernel/bpf/bpf_local_storage.c (create
// checks, update flags), net/core/bpf_sk_storage.c (socket fds, the optmem
// charge), kernel/bpf/bpf_task_storage.c (pidfds) and
// kernel/bpf/bpf_inode_storage.c (any fd). The maps need value BTF, loaded
// on each backend (Backend::LoadBtf).

#ifndef BPFEMU_TESTS_CONFORMANCE_LOCAL_STORAGE_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_LOCAL_STORAGE_CONFORMANCE_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/cgroup.h"
#include "emu/errno.h"
#include "emu/map.h"
#include "tests/conformance/fixture.h"

namespace bpfemu {

// Type ids of LocalStorageConformance::Btf(): u32 (1), u64 (2), struct
// pair (3, 8 bytes), struct locked { bpf_spin_lock lock; u64 v; } (7, 16
// bytes), and with an array size a byte array (9).
constexpr uint32_t kLsU32 = 1, kLsU64 = 2, kLsPair = 3, kLsLocked = 7,
                   kLsBytes = 9;

template <class B>
class LocalStorageConformance : public ConformanceTest<B> {
 protected:
  void TearDown() override {
    for (int fd : btfs_) this->b().Close(fd);
    ConformanceTest<B>::TearDown();
  }
  // A BTF object on this backend (closed after the case): `array_size` > 0
  // adds unsigned char (8) and a byte array of that size (kLsBytes).
  int Btf(uint32_t array_size = 0) {
    btftest::Blob blob;
    const uint32_t u32 = blob.Int("unsigned int", 4, 32);
    const uint32_t u64 = blob.Int("unsigned long", 8, 64);
    blob.Struct("pair", 8, {{"a", u32, 0}, {"b", u32, 32}});
    const uint32_t var =
        blob.Type(blob.Str("x"), btftest::Info(BTF_KIND_VAR), u32);
    blob.Word(BTF_VAR_GLOBAL_ALLOCATED);
    blob.Type(blob.Str(".bss"), btftest::Info(BTF_KIND_DATASEC, 1), 4);
    blob.Word(var);
    blob.Word(0);
    blob.Word(4);
    const uint32_t lock = blob.Struct("bpf_spin_lock", 4, {{"val", u32, 0}});
    blob.Struct("locked", 16, {{"lock", lock, 0}, {"v", u64, 64}});
    if (array_size > 0) {
      const uint32_t byte = blob.Int("unsigned char", 1, 8);
      blob.Array(byte, u32, array_size);
    }
    const std::vector<uint8_t> raw = blob.Build();
    const int fd =
        this->b().LoadBtf(raw.data(), static_cast<uint32_t>(raw.size()));
    if (fd >= 0) btfs_.push_back(fd);
    return fd;
  }
  static MapAttr Storage(uint32_t type, int btf, uint32_t value_size = 8,
                         uint32_t value_id = kLsU64) {
    MapAttr a = Attr(type, 4, value_size, 0, BPF_F_NO_PREALLOC);
    a.btf_fd = static_cast<uint32_t>(btf);
    a.btf_key_type_id = kLsU32;
    a.btf_value_type_id = value_id;
    return a;
  }
  static int Pidfd(pid_t pid) {
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  }

 private:
  std::vector<int> btfs_;
};
TYPED_TEST_SUITE_P(LocalStorageConformance);

constexpr uint32_t kLocalStorageTypes[] = {
    BPF_MAP_TYPE_SK_STORAGE, BPF_MAP_TYPE_TASK_STORAGE,
    BPF_MAP_TYPE_INODE_STORAGE, kBpfMapTypeCgrpStorage};

// bpf_local_storage_map_alloc_check(), then map_check_btf.
TYPED_TEST_P(LocalStorageConformance, CreateChecks) {
  const int btf = this->Btf();
  ASSERT_GE(btf, 0);
  for (uint32_t type : kLocalStorageTypes) {
    SCOPED_TRACE(type);
    const int fd = this->MustCreate(this->Storage(type, btf));
    MapInfo info{};
    ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
    EXPECT_EQ(info.type, type);
    EXPECT_EQ(info.max_entries, 0u);
    EXPECT_EQ(info.map_flags, uint32_t{BPF_F_NO_PREALLOC});
    MapAttr a = this->Storage(type, btf);
    a.map_flags |= BPF_F_CLONE;
    EXPECT_GE(this->Create(a), 0);
    a = this->Storage(type, btf);
    a.map_flags = 0;
    EXPECT_EQ(this->Create(a), -EINVAL);
    for (uint32_t flag :
         {uint32_t{BPF_F_RDONLY}, uint32_t{BPF_F_RDONLY_PROG},
          uint32_t{BPF_F_NUMA_NODE}, uint32_t{BPF_F_MMAPABLE}}) {
      a = this->Storage(type, btf);
      a.map_flags |= flag;
      EXPECT_EQ(this->Create(a), -EINVAL) << flag;
    }
    a = this->Storage(type, btf);
    a.max_entries = 1;
    EXPECT_EQ(this->Create(a), -EINVAL);
    a = this->Storage(type, btf);
    a.key_size = 8;
    a.btf_key_type_id = kLsU64;
    EXPECT_EQ(this->Create(a), -EINVAL);
    a = this->Storage(type, btf, 0);
    EXPECT_EQ(this->Create(a), -EINVAL);
    // BTF is required: no key id, no ids at all.
    a = this->Storage(type, btf);
    a.btf_key_type_id = 0;
    EXPECT_EQ(this->Create(a), -EINVAL);
    a.btf_value_type_id = 0;
    a.btf_fd = 0;
    EXPECT_EQ(this->Create(a), -EINVAL);
    // A key type whose size is not key_size; a u32 key over a value id of
    // the wrong size.
    a = this->Storage(type, btf);
    a.btf_key_type_id = kLsPair;
    EXPECT_EQ(this->Create(a), -EINVAL);
    a = this->Storage(type, btf, 8, kLsLocked);
    EXPECT_EQ(this->Create(a), -EINVAL);
    // A struct value of the right size is fine.
    EXPECT_GE(this->Create(this->Storage(type, btf, 8, kLsPair)), 0);
    EXPECT_GE(this->Create(this->Storage(type, btf, 16, kLsLocked)), 0);
    // E2BIG after every EINVAL of alloc_check.
    a = this->Storage(type, btf, 65408);
    EXPECT_EQ(this->Create(a), -E2BIG);
    a.max_entries = 1;
    EXPECT_EQ(this->Create(a), -EINVAL);
  }
  // The largest value.
  const int big = this->Btf(65407);
  ASSERT_GE(big, 0);
  EXPECT_GE(this->Create(
                this->Storage(BPF_MAP_TYPE_SK_STORAGE, big, 65407, kLsBytes)),
            0);
}

// The socket storage's commands and the errnos of sockfd_lookup().
TYPED_TEST_P(LocalStorageConformance, SocketCommands) {
  const int btf = this->Btf();
  ASSERT_GE(btf, 0);
  const int fd = this->MustCreate(this->Storage(BPF_MAP_TYPE_SK_STORAGE, btf));
  int sk = socket(AF_INET6, SOCK_STREAM, 0);
  ASSERT_GE(sk, 0);
  uint64_t out = 0;
  EXPECT_EQ(this->Lookup(fd, sk, &out), -ENOENT);
  EXPECT_EQ(this->Delete(fd, sk), -ENOENT);
  EXPECT_EQ(this->Update(fd, sk, 1, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Update(fd, sk, 1, BPF_NOEXIST), 0);
  EXPECT_EQ(this->Update(fd, sk, 2, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->Update(fd, sk, 3, BPF_EXIST), 0);
  EXPECT_EQ(this->Lookup(fd, sk, &out), 0);
  EXPECT_EQ(out, 3u);
  EXPECT_EQ(this->Update(fd, sk, 4, BPF_ANY), 0);
  EXPECT_EQ(this->Update(fd, sk, 4, BPF_NOEXIST | BPF_EXIST), -EINVAL);
  EXPECT_EQ(this->Update(fd, sk, 4, 8), -EINVAL);
  EXPECT_EQ(this->Update(fd, sk, 4, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->Lookup(fd, sk, &out, BPF_F_LOCK), -EINVAL);
  const int dup_sk = dup(sk);
  EXPECT_EQ(this->Lookup(fd, dup_sk, &out), 0);
  EXPECT_EQ(out, 4u);
  close(dup_sk);
  // No get_next_key, lookup_and_delete or batch ops.
  int next = -1;
  EXPECT_EQ(this->b().GetNextKey(fd, nullptr, &next), -kENOTSUPP);
  EXPECT_EQ(this->b().GetNextKey(fd, &sk, &next), -kENOTSUPP);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &sk, &out, 0), -kENOTSUPP);
  uint32_t count = 1;
  int keys[1] = {sk};
  uint64_t values[1] = {};
  uint64_t batch = 0;
  EXPECT_EQ(
      this->b().LookupBatch(fd, nullptr, &batch, keys, values, &count, 0, 0),
      -kENOTSUPP);
  count = 1;
  EXPECT_EQ(this->b().UpdateBatch(fd, keys, values, &count, 0, 0), -kENOTSUPP);
  count = 1;
  EXPECT_EQ(this->b().DeleteBatch(fd, keys, &count, 0, 0), -kENOTSUPP);
  EXPECT_EQ(this->Delete(fd, sk), 0);
  EXPECT_EQ(this->Delete(fd, sk), -ENOENT);
  EXPECT_EQ(this->Update(fd, sk, 5, BPF_ANY), 0);
  // A closed socket's storage is gone: the next socket on its fd number
  // starts empty.
  const int number = sk;
  close(sk);
  EXPECT_EQ(this->Lookup(fd, number, &out), -EBADF);
  EXPECT_EQ(this->Update(fd, number, 1, BPF_ANY), -EBADF);
  // The fd is resolved before bpf_local_storage_update checks the flags.
  EXPECT_EQ(this->Update(fd, number, 1, BPF_NOEXIST | BPF_EXIST), -EBADF);
  EXPECT_EQ(this->Delete(fd, number), -EBADF);
  sk = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_EQ(sk, number);
  EXPECT_EQ(this->Lookup(fd, sk, &out), -ENOENT);
  close(sk);
  // Not a socket.
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  EXPECT_EQ(this->Lookup(fd, pipe_fds[0], &out), -ENOTSOCK);
  EXPECT_EQ(this->Update(fd, pipe_fds[0], 1, BPF_ANY), -ENOTSOCK);
  EXPECT_EQ(this->Delete(fd, pipe_fds[0]), -ENOTSOCK);
  // An O_PATH descriptor of a socket file is no socket file.
  const int path_fd = open("/proc/self/exe", O_PATH);
  EXPECT_EQ(this->Lookup(fd, path_fd, &out), -EBADF);
  close(path_fd);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

// BPF_F_LOCK on a value holding a bpf_spin_lock: the lock word reads 0.
TYPED_TEST_P(LocalStorageConformance, SpinLockValue) {
  const int btf = this->Btf();
  ASSERT_GE(btf, 0);
  for (uint32_t type : kLocalStorageTypes) {
    SCOPED_TRACE(type);
    const int fd = this->MustCreate(this->Storage(type, btf, 16, kLsLocked));
    int owner = -1;
    if (type == BPF_MAP_TYPE_SK_STORAGE) owner = socket(AF_INET, SOCK_DGRAM, 0);
    if (type == BPF_MAP_TYPE_TASK_STORAGE) owner = this->Pidfd(getpid());
    if (type == BPF_MAP_TYPE_INODE_STORAGE) owner = open("/", O_RDONLY);
    if (type == kBpfMapTypeCgrpStorage) {
      if (Cgroup2Mount().empty()) continue;
      owner = open(Cgroup2Mount().c_str(), O_RDONLY | O_DIRECTORY);
    }
    ASSERT_GE(owner, 0);
    struct {
      uint32_t lock, pad;
      uint64_t v;
    } in = {7, 0, 0xabc}, out = {1, 1, 0};
    EXPECT_EQ(this->b().Update(fd, &owner, &in, BPF_EXIST | BPF_F_LOCK),
              -ENOENT);
    EXPECT_EQ(this->b().Update(fd, &owner, &in, BPF_NOEXIST | BPF_F_LOCK), 0);
    EXPECT_EQ(this->b().Lookup(fd, &owner, &out, BPF_F_LOCK), 0);
    EXPECT_EQ(out.lock, 0u);
    EXPECT_EQ(out.v, 0xabcu);
    in.v = 0xdef;
    EXPECT_EQ(this->b().Update(fd, &owner, &in, BPF_NOEXIST | BPF_F_LOCK),
              -EEXIST);
    EXPECT_EQ(this->b().Update(fd, &owner, &in, BPF_F_LOCK), 0);
    EXPECT_EQ(this->b().Lookup(fd, &owner, &out, 0), 0);
    EXPECT_EQ(out.lock, 0u);
    EXPECT_EQ(out.v, 0xdefu);
    in.v = 0x123;
    EXPECT_EQ(this->b().Update(fd, &owner, &in, BPF_EXIST), 0);
    EXPECT_EQ(this->b().Lookup(fd, &owner, &out, BPF_F_LOCK), 0);
    EXPECT_EQ(out.v, 0x123u);
    EXPECT_EQ(this->b().Delete(fd, &owner), 0);
    close(owner);
  }
}

// Tasks by pidfd: EBADF for other fds, ENOENT once the task is reaped.
TYPED_TEST_P(LocalStorageConformance, TaskCommands) {
  const int btf = this->Btf();
  ASSERT_GE(btf, 0);
  const int fd =
      this->MustCreate(this->Storage(BPF_MAP_TYPE_TASK_STORAGE, btf));
  const int self = this->Pidfd(getpid());
  ASSERT_GE(self, 0);
  uint64_t out = 0;
  EXPECT_EQ(this->Lookup(fd, self, &out), -ENOENT);
  EXPECT_EQ(this->Update(fd, self, 9, BPF_NOEXIST), 0);
  const int self2 = this->Pidfd(getpid());
  EXPECT_EQ(this->Lookup(fd, self2, &out), 0);
  EXPECT_EQ(out, 9u);
  EXPECT_EQ(this->Update(fd, self2, 9, BPF_NOEXIST), -EEXIST);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  EXPECT_EQ(this->Lookup(fd, pipe_fds[0], &out), -EBADF);
  EXPECT_EQ(this->Update(fd, pipe_fds[0], 1, BPF_ANY), -EBADF);
  EXPECT_EQ(this->Delete(fd, pipe_fds[0]), -EBADF);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  EXPECT_EQ(this->Lookup(fd, pipe_fds[0], &out), -EBADF);
  const pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  const int child_fd = this->Pidfd(child);
  ASSERT_GE(child_fd, 0);
  EXPECT_EQ(this->Update(fd, child_fd, 5, BPF_ANY), 0);
  EXPECT_EQ(this->Lookup(fd, child_fd, &out), 0);
  EXPECT_EQ(out, 5u);
  kill(child, SIGKILL);
  // A zombie is still a task.
  siginfo_t si{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &si, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(this->Lookup(fd, child_fd, &out), 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_EQ(this->Lookup(fd, child_fd, &out), -ENOENT);
  EXPECT_EQ(this->Update(fd, child_fd, 1, BPF_ANY), -ENOENT);
  EXPECT_EQ(this->Update(fd, child_fd, 1, BPF_NOEXIST | BPF_EXIST),
            -ENOENT);  // the task before the flags
  EXPECT_EQ(this->Delete(fd, child_fd), -ENOENT);
  EXPECT_EQ(this->Delete(fd, self), 0);
  EXPECT_EQ(this->Delete(fd, self2), -ENOENT);
  close(child_fd);
  close(self);
  close(self2);
}

// Inodes by any fd, O_PATH included.
TYPED_TEST_P(LocalStorageConformance, InodeCommands) {
  const int btf = this->Btf();
  ASSERT_GE(btf, 0);
  const int fd =
      this->MustCreate(this->Storage(BPF_MAP_TYPE_INODE_STORAGE, btf));
  char path[] = "/tmp/bpfemu-conformance-inode-XXXXXX";
  const int file = mkstemp(path);
  ASSERT_GE(file, 0);
  const int by_path = open(path, O_PATH);
  const int reopened = open(path, O_RDONLY);
  uint64_t out = 0;
  EXPECT_EQ(this->Lookup(fd, by_path, &out), -ENOENT);
  EXPECT_EQ(this->Update(fd, by_path, 21, BPF_NOEXIST), 0);
  EXPECT_EQ(this->Lookup(fd, reopened, &out), 0);
  EXPECT_EQ(out, 21u);
  EXPECT_EQ(this->Update(fd, file, 22, BPF_EXIST), 0);
  EXPECT_EQ(this->Lookup(fd, by_path, &out), 0);
  EXPECT_EQ(out, 22u);
  const int dir = open("/", O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(this->Lookup(fd, dir, &out), -ENOENT);
  close(dir);
  EXPECT_EQ(this->Delete(fd, reopened), 0);
  EXPECT_EQ(this->Delete(fd, file), -ENOENT);
  close(by_path);
  close(reopened);
  close(file);
  unlink(path);
  EXPECT_EQ(this->Lookup(fd, file, &out), -EBADF);
  EXPECT_EQ(this->Update(fd, file, 1, BPF_ANY), -EBADF);
  EXPECT_EQ(this->Delete(fd, file), -EBADF);
}

// kernel/bpf/bpf_cgrp_storage.c: the owner is a cgroup directory fd
// (cgroup_v1v2_get_from_fd), the same cgroup through any of its fds; a
// directory that is no cgroup is EBADF; no walk.
TYPED_TEST_P(LocalStorageConformance, CgroupCommands) {
  const std::string& root = Cgroup2Mount();
  if (root.empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
  const int btf = this->Btf();
  ASSERT_GE(btf, 0);
  const int fd = this->MustCreate(this->Storage(kBpfMapTypeCgrpStorage, btf));
  const int cg = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  const int again = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(cg, 0);
  uint64_t out = 0;
  EXPECT_EQ(this->Lookup(fd, cg, &out), -ENOENT);
  EXPECT_EQ(this->Update(fd, cg, 5, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Update(fd, cg, 6, BPF_NOEXIST), 0);
  EXPECT_EQ(this->Lookup(fd, again, &out), 0);
  EXPECT_EQ(out, 6u);
  EXPECT_EQ(this->Update(fd, again, 7, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->Update(fd, again, 7, BPF_EXIST), 0);
  const int dir = open("/", O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(this->Lookup(fd, dir, &out), -EBADF);
  EXPECT_EQ(this->Update(fd, dir, 1, BPF_ANY), -EBADF);
  EXPECT_EQ(this->Delete(fd, dir), -EBADF);
  close(dir);
  uint32_t next = 0;
  EXPECT_EQ(this->b().GetNextKey(fd, &cg, &next), -kENOTSUPP);
  EXPECT_EQ(this->Delete(fd, cg), 0);
  EXPECT_EQ(this->Delete(fd, again), -ENOENT);
  close(cg);
  close(again);
}

// bpf_sk_storage_charge: an element charges offsetof(elem, sdata.data) +
// value_size to the socket, the first also the socket's struct
// bpf_local_storage; both must stay below net.core.optmem_max, and an update
// without BPF_F_LOCK holds two elements for a moment.
TYPED_TEST_P(LocalStorageConformance, SocketOptmemCharge) {
  FILE* f = std::fopen("/proc/sys/net/core/optmem_max", "r");
  if (f == nullptr) GTEST_SKIP() << "no /proc/sys/net/core/optmem_max";
  unsigned long optmem = 0;
  const int got = std::fscanf(f, "%lu", &optmem);
  std::fclose(f);
  ASSERT_EQ(got, 1);
  if (optmem <= 176 + 2 * 72 + 16 || (optmem - 177) / 2 - 72 >= 65407) {
    GTEST_SKIP() << "optmem_max " << optmem << " outside the tested range";
  }
  const uint32_t fits = static_cast<uint32_t>((optmem - 177) / 2 - 72);
  for (uint32_t size : {fits, fits + 1}) {
    SCOPED_TRACE(size);
    const int btf = this->Btf(size);
    ASSERT_GE(btf, 0);
    const int fd = this->MustCreate(
        this->Storage(BPF_MAP_TYPE_SK_STORAGE, btf, size, kLsBytes));
    const int sk = socket(AF_INET, SOCK_STREAM, 0);
    std::vector<uint8_t> v(size, 0x5a), back(size);
    EXPECT_EQ(this->b().Update(fd, &sk, v.data(), BPF_NOEXIST), 0);
    EXPECT_EQ(this->b().Update(fd, &sk, v.data(), BPF_ANY),
              size == fits ? 0 : -ENOMEM);
    EXPECT_EQ(this->b().Lookup(fd, &sk, back.data(), 0), 0);
    EXPECT_EQ(back, v);
    close(sk);
  }
}

REGISTER_TYPED_TEST_SUITE_P(LocalStorageConformance, CreateChecks,
                            SocketCommands, SpinLockValue, TaskCommands,
                            InodeCommands, CgroupCommands, SocketOptmemCharge);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_LOCAL_STORAGE_CONFORMANCE_H_
