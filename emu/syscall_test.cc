// SPDX-License-Identifier: Apache-2.0
// Emulator-only properties of the fd layer: real descriptors, lifetime, fork
// and attaching from another descriptor. Kernel-shared semantics (errnos of
// every command) live in tests/conformance and run on both backends.
#include "emu/syscall.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

MapAttr HashAttr(uint32_t max_entries = 64) {
  return MapAttr{.map_type = BPF_MAP_TYPE_HASH,
                 .key_size = 4,
                 .value_size = 8,
                 .max_entries = max_entries};
}

TEST(Syscall, MapFdsAreDistinctCloexecDescriptors) {
  std::set<int> fds;
  for (int i = 0; i < 8; ++i) {
    int fd = MapCreate(HashAttr());
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(fds.insert(fd).second);
    EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  }
  // An ordinary file opened now cannot collide with any of them.
  int other = open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(fds.count(other), 0u);
  uint32_t k = 0;
  uint64_t v = 0;
  EXPECT_EQ(MapUpdateElem(other, &k, &v, 0), -EINVAL);  // open, not a map
  close(other);
  for (int fd : fds) EXPECT_EQ(CloseFd(fd), 0);
  EXPECT_EQ(MapUpdateElem(*fds.begin(), &k, &v, 0), -EBADF);
}

TEST(Syscall, CloseFdKeepsMapAliveForHeldReferences) {
  int fd = MapCreate(HashAttr());
  ASSERT_GE(fd, 0);
  uint32_t k = 3;
  uint64_t v = 30;
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  std::shared_ptr<Map> map = MapFromFd(fd);
  ASSERT_EQ(CloseFd(fd), 0);
  EXPECT_EQ(MapFromFd(fd), nullptr);
  uint64_t out = 0;
  EXPECT_EQ(map->LookupElem(&k, &out, 0), 0);
  EXPECT_EQ(out, 30u);
}

TEST(Syscall, UnemulatedTypeIsEinvalLikeAKernelWithoutIt) {
  MapAttr attr = HashAttr();
  attr.map_type = BPF_MAP_TYPE_STRUCT_OPS;
  EXPECT_EQ(MapCreate(attr), -EINVAL);
  attr.map_type = 1000;
  EXPECT_EQ(MapCreate(attr), -EINVAL);
}

// A parent creates a map, forks children that update and delete keys
// concurrently (each on its own emulated CPU), and then sees exactly their
// results, as with a kernel map.
TEST(Syscall, ForkedChildrenShareTheMap) {
  SetNumPossibleCpus(4);
  int fd = MapCreate(HashAttr(1024));
  SetNumPossibleCpus(0);
  ASSERT_GE(fd, 0);
  int afd = MapCreate(MapAttr{.map_type = BPF_MAP_TYPE_ARRAY,
                              .key_size = 4,
                              .value_size = 8,
                              .max_entries = 4});
  ASSERT_GE(afd, 0);
  // Keys 0..99 exist before the fork; children delete the even ones of their
  // own range and insert 1000 + child * 100 + i.
  for (uint32_t k = 0; k < 100; ++k) {
    uint64_t v = k;
    ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_NOEXIST), 0);
  }
  constexpr int kChildren = 4;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ScopedCpu cpu(c);
      int bad = 0;
      for (uint32_t i = 0; i < 25; ++i) {
        uint32_t k = static_cast<uint32_t>(c * 25) + i;
        if (k % 2 == 0 && MapDeleteElem(fd, &k) != 0) ++bad;
        uint32_t nk = 1000 + static_cast<uint32_t>(c) * 100 + i;
        uint64_t v = nk * 2;
        if (MapUpdateElem(fd, &nk, &v, BPF_NOEXIST) != 0) ++bad;
      }
      uint32_t slot = static_cast<uint32_t>(c);
      uint64_t done = 1;
      if (MapUpdateElem(afd, &slot, &done, BPF_ANY) != 0) ++bad;
      _exit(bad);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  std::set<uint32_t> expected;
  for (uint32_t k = 0; k < 100; ++k) {
    if (k % 2 == 1) expected.insert(k);
  }
  for (uint32_t c = 0; c < kChildren; ++c) {
    for (uint32_t i = 0; i < 25; ++i) expected.insert(1000 + c * 100 + i);
  }
  std::set<uint32_t> seen;
  uint32_t k, next;
  const void* prev = nullptr;
  while (MapGetNextKey(fd, prev, &next) == 0) {
    EXPECT_TRUE(seen.insert(next).second) << "duplicate " << next;
    uint64_t v;
    ASSERT_EQ(MapLookupElem(fd, &next, &v), 0);
    EXPECT_EQ(v, next >= 1000 ? next * 2 : next);
    k = next;
    prev = &k;
  }
  EXPECT_EQ(seen, expected);
  for (uint32_t c = 0; c < kChildren; ++c) {
    uint64_t done = 0;
    ASSERT_EQ(MapLookupElem(afd, &c, &done), 0);
    EXPECT_EQ(done, 1u);
  }
  CloseFd(fd);
  CloseFd(afd);
}

// Another descriptor of the same memfd (as another process would get through
// /proc/PID/fd or a unix socket) attaches to the same map.
TEST(Syscall, AttachMapFdOpensTheSameMap) {
  int fd = MapCreate(HashAttr());
  ASSERT_GE(fd, 0);
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  int fd2 = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd2, 0);
  ASSERT_EQ(AttachMapFd(fd2), 0);
  uint32_t k = 9;
  uint64_t v = 90, out = 0;
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  ASSERT_EQ(MapLookupElem(fd2, &k, &out), 0);
  EXPECT_EQ(out, 90u);
  EXPECT_EQ(MapFromFd(fd2)->type(), uint32_t{BPF_MAP_TYPE_HASH});
  CloseFd(fd);
  CloseFd(fd2);
}

// The frozen state lives in the region: a descriptor attached later (as
// another process opening /proc/PID/fd would) and a fork() child see it, and
// a child's freeze is the parent's.
TEST(Syscall, FrozenStateIsSharedThroughTheRegion) {
  int fd = MapCreate(HashAttr());
  ASSERT_GE(fd, 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(MapFreeze(fd) == 0 ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(MapFrozen(fd), 1);
  uint32_t k = 1;
  uint64_t v = 1;
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), -EPERM);

  std::string path = "/proc/self/fd/" + std::to_string(fd);
  int fd2 = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd2, 0);
  ASSERT_EQ(AttachMapFd(fd2), 0);
  EXPECT_EQ(MapFrozen(fd2), 1);
  EXPECT_EQ(MapUpdateElem(fd2, &k, &v, BPF_ANY), -EPERM);
  EXPECT_EQ(MapFreeze(fd2), -EPERM);
  // The program face is not the syscall's: it still writes.
  EXPECT_EQ(MapFromFd(fd2)->UpdateElemProg(&k, &v, BPF_ANY), 0);
  uint64_t out = 0;
  ASSERT_EQ(MapLookupElem(fd, &k, &out), 0);
  EXPECT_EQ(out, 1u);
  CloseFd(fd2);
  CloseFd(fd);
  EXPECT_EQ(MapFrozen(fd), -EBADF);
}

// A writable mapping made through one descriptor blocks a freeze through
// another, and one made by a child (which keeps it) blocks the parent's.
TEST(Syscall, FreezeFindsWritableMappingsOfOtherFds) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_ARRAY,
               .key_size = 4,
               .value_size = 8,
               .max_entries = 4,
               .map_flags = BPF_F_MMAPABLE};
  int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  int fd2 = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd2, 0);
  ASSERT_EQ(AttachMapFd(fd2), 0);
  int err = 0;
  void* m = MapMmap(fd2, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err);
  ASSERT_NE(m, nullptr) << ErrnoName(err);
  static_cast<uint64_t*>(m)[2] = 42;
  uint32_t k = 2;
  uint64_t out = 0;
  ASSERT_EQ(MapLookupElem(fd, &k, &out), 0);
  EXPECT_EQ(out, 42u);
  EXPECT_EQ(MapFreeze(fd), -EBUSY);
  munmap(m, 4096);
  // Read-only mappings do not count.
  m = MapMmap(fd, 4096, PROT_READ, MAP_SHARED, 0, &err);
  ASSERT_NE(m, nullptr) << ErrnoName(err);
  EXPECT_EQ(MapFreeze(fd), 0);
  munmap(m, 4096);
  CloseFd(fd2);
  CloseFd(fd);
}

// 6.1's map_freeze: no fd access check (a read-only fd freezes), a second
// freeze is EBUSY, a spin-lock value may be frozen; measured in the 6.1
// guest (tools/kmatrix). Later versions: EPERM, EPERM, ENOTSUPP.
TEST(Syscall, FreezeFollowsTheKernelVersion) {
  for (KernelVersion v : {KernelVersion::k6_1, KernelVersion::k6_18}) {
    SetTargetKernel(v);
    const bool v61 = v == KernelVersion::k6_1;
    MapAttr attr{.map_type = BPF_MAP_TYPE_HASH,
                 .key_size = 4,
                 .value_size = 8,
                 .max_entries = 4,
                 .map_flags = BPF_F_RDONLY};
    const int rd = MapCreate(attr);
    ASSERT_GE(rd, 0);
    EXPECT_EQ(MapFreeze(rd), v61 ? 0 : -EPERM);
    EXPECT_EQ(CloseFd(rd), 0);
    attr.map_flags = 0;
    const int fd = MapCreate(attr);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(MapFreeze(fd), 0);
    EXPECT_EQ(MapFreeze(fd), v61 ? -EBUSY : -EPERM);
    EXPECT_EQ(CloseFd(fd), 0);
    attr.spin_lock_off = 0;
    const int locked = MapCreate(attr);
    ASSERT_GE(locked, 0);
    EXPECT_EQ(MapFreeze(locked), v61 ? 0 : -kENOTSUPP);
    EXPECT_EQ(CloseFd(locked), 0);
  }
  SetTargetKernel(KernelVersion::k6_18);
}

TEST(Syscall, AttachMapFdRejectsOtherFiles) {
  int dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(AttachMapFd(dn), -EINVAL);
  close(dn);
  EXPECT_EQ(AttachMapFd(-1), -EBADF);
  char tmpl[] = "/tmp/bpfemu-XXXXXX";
  int tf = mkstemp(tmpl);
  ASSERT_GE(tf, 0);
  unlink(tmpl);
  ASSERT_EQ(ftruncate(tf, 4096), 0);
  EXPECT_EQ(AttachMapFd(tf), -EINVAL);  // no map header
  close(tf);
}

// Fault injection: the next N operations of the chosen kinds fail with the
// chosen errno; argument errors are still reported first, and other kinds
// of operation are unaffected.
TEST(Syscall, InjectedFaults) {
  int fd = MapCreate(HashAttr(4));
  ASSERT_GE(fd, 0);
  uint32_t k = 1;
  uint64_t v = 10;
  ASSERT_EQ(InjectFaults(fd, kFaultUpdate, 2, -ENOMEM), 0);
  EXPECT_EQ(MapUpdateElem(fd, nullptr, &v, BPF_ANY), -EFAULT);  // args first
  // Update flags are the map operation's own check, which a fault replaces.
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, 8), -ENOMEM);
  EXPECT_EQ(MapLookupElem(fd, &k, &v), -ENOENT);  // lookups unaffected
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), -ENOMEM);
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);  // faults used up
  ASSERT_EQ(InjectFaults(fd, kFaultDelete | kFaultLookupAndDelete, 1, -EBUSY),
            0);
  EXPECT_EQ(MapDeleteElem(fd, &k), -EBUSY);
  EXPECT_EQ(MapLookupAndDeleteElem(fd, &k, &v), 0);
  ASSERT_EQ(InjectFaults(fd, kFaultAll, 5, -E2BIG), 0);
  ASSERT_EQ(InjectFaults(fd, kFaultAll, 0, -E2BIG), 0);  // cleared
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  ASSERT_EQ(InjectFaults(fd, kFaultBatch | kFaultGetNextKey, 2, -EAGAIN), 0);
  uint32_t next, count = 4, keys[4];
  EXPECT_EQ(MapGetNextKey(fd, nullptr, &next), -EAGAIN);
  EXPECT_EQ(MapDeleteBatch(fd, keys, &count), -EAGAIN);
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(MapGetNextKey(fd, nullptr, &next), 0);
  EXPECT_EQ(InjectFaults(-1, kFaultAll, 1, -ENOMEM), -EBADF);
  CloseFd(fd);
}

// map_lookup_elem() with no value buffer: the lookup runs into the
// kernel's own buffer and its error wins (ENOENT), else the copy out fails
// (EFAULT); a bloom filter reads the value it is asked about first
// (EFAULT). With a buffer both kinds answer as the map does.
TEST(Syscall, LookupWithoutAValueBuffer) {
  const int fd = MapCreate(HashAttr());
  ASSERT_GE(fd, 0);
  const uint32_t present = 1, absent = 2;
  const uint64_t v = 42;
  ASSERT_EQ(MapUpdateElem(fd, &present, &v, BPF_ANY), 0);
  uint64_t out = 0;
  EXPECT_EQ(MapLookupElem(fd, &present, nullptr), -EFAULT);
  EXPECT_EQ(MapLookupElem(fd, &absent, nullptr), -ENOENT);
  EXPECT_EQ(MapLookupElem(fd, &present, &out), 0);
  EXPECT_EQ(out, 42u);
  EXPECT_EQ(MapLookupElem(fd, &absent, &out), -ENOENT);
  CloseFd(fd);
  const int bloom = MapCreate(MapAttr{.map_type = BPF_MAP_TYPE_BLOOM_FILTER,
                                      .key_size = 0,
                                      .value_size = 8,
                                      .max_entries = 64});
  ASSERT_GE(bloom, 0);
  ASSERT_EQ(MapUpdateElem(bloom, nullptr, &v, BPF_ANY), 0);
  EXPECT_EQ(MapLookupElem(bloom, nullptr, nullptr), -EFAULT);
  uint64_t probe = v;  // a bloom filter's lookup reads it
  EXPECT_EQ(MapLookupElem(bloom, nullptr, &probe), 0);
  probe = 7;
  EXPECT_EQ(MapLookupElem(bloom, nullptr, &probe), -ENOENT);
  CloseFd(bloom);
}

TEST(Errno, NamesKernelCodes) {
  EXPECT_EQ(ErrnoName(-E2BIG), "E2BIG");
  EXPECT_EQ(ErrnoName(524), "ENOTSUPP");
  EXPECT_EQ(ErrnoName(0), "OK");
  EXPECT_EQ(ErrnoName(-4242), "4242");
}

}  // namespace
}  // namespace bpfemu

namespace bpfemu {
namespace {

// The opt-in unprivileged caller: creation and id commands fail with EPERM
// (kernel.unprivileged_bpf_disabled), fds already held keep working.
TEST(UnprivilegedCallerTest, CreationAndIdsAreRefusedFdsKeepWorking) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_HASH,
               .key_size = 4,
               .value_size = 8,
               .max_entries = 4};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  SetCallerPrivileged(false);
  EXPECT_EQ(MapCreate(attr), -EPERM);
  attr.key_size = 0;  // attribute checks still come first
  EXPECT_EQ(MapCreate(attr), -EINVAL);
  uint32_t next;
  EXPECT_EQ(MapGetNextId(0, &next), -EPERM);
  EXPECT_EQ(MapGetNextId(INT32_MAX, &next), -EINVAL);
  EXPECT_EQ(MapGetFdById(1), -EPERM);
  const uint32_t k = 1;
  const uint64_t v = 2;
  EXPECT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  SetCallerPrivileged(true);
  EXPECT_EQ(MapGetNextId(0, &next), 0);
  CloseFd(fd);
}

}  // namespace
}  // namespace bpfemu
