// SPDX-License-Identifier: Apache-2.0
#include "emu/cgroup.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace bpfemu {
namespace {

// The cgroup2 root, or -1 with a reason.
int OpenRoot(std::string* why) {
  if (Cgroup2Mount().empty()) {
    *why = "no cgroup2 hierarchy is mounted";
    return -1;
  }
  int fd = open(Cgroup2Mount().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) *why = "cannot open " + Cgroup2Mount();
  return fd;
}

TEST(CgroupTest, RootIdIsOneAndTheKernfsHandle) {
  std::string why;
  int fd = OpenRoot(&why);
  if (fd < 0) GTEST_SKIP() << why;
  uint64_t id = 0;
  ASSERT_EQ(CgroupIdFromFd(fd, &id), 0);
  EXPECT_EQ(id, kRootCgroupId);
  // The kernel's own account of cgroup_id(): a kernfs file handle is the
  // 8-byte node id (FILEID_KERNFS).
  struct {
    struct file_handle h;
    unsigned char bytes[64];
  } fh{};
  fh.h.handle_bytes = sizeof(fh.bytes);
  int mount_id;
  if (name_to_handle_at(fd, "", &fh.h, &mount_id, AT_EMPTY_PATH) == 0) {
    ASSERT_EQ(fh.h.handle_bytes, 8u);
    uint64_t kn_id;
    std::memcpy(&kn_id, fh.h.f_handle, sizeof(kn_id));
    EXPECT_EQ(id, kn_id);
  }
  close(fd);
}

TEST(CgroupTest, ProcessCgroupIdMatchesItsDirectory) {
  std::string why;
  int root = OpenRoot(&why);
  if (root < 0) GTEST_SKIP() << why;
  close(root);
  const std::string path = Cgroup2Mount() + CurrentCgroupPath();
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "cannot open " << path;
  uint64_t id = 0;
  ASSERT_EQ(CgroupIdFromFd(fd, &id), 0);
  EXPECT_EQ(CurrentCgroupId(), id);
  EXPECT_TRUE(CurrentUnderCgroup(id));
  EXPECT_TRUE(CurrentUnderCgroup(kRootCgroupId));
  EXPECT_EQ(CurrentAncestorCgroupId(0), kRootCgroupId);
  close(fd);
}

TEST(CgroupTest, NonCgroupFdsAreEbadf) {
  uint64_t id = 7;
  EXPECT_EQ(CgroupIdFromFd(-1, &id), -EBADF);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[1]);
  EXPECT_EQ(CgroupIdFromFd(fds[1], &id), -EBADF);  // closed
  EXPECT_EQ(CgroupIdFromFd(fds[0], &id), -EBADF);  // a pipe
  close(fds[0]);
  int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  EXPECT_EQ(CgroupIdFromFd(dir, &id), -EBADF);  // a directory, not cgroup2
  close(dir);
  int sock = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  EXPECT_EQ(CgroupIdFromFd(sock, &id), -EBADF);
  close(sock);
  EXPECT_EQ(id, 7u);
  if (!Cgroup2Mount().empty()) {
    // A file of a cgroup directory is not the cgroup.
    int file =
        open((Cgroup2Mount() + "/cgroup.procs").c_str(), O_RDONLY | O_CLOEXEC);
    if (file >= 0) {
      EXPECT_EQ(CgroupIdFromFd(file, &id), -EBADF);
      close(file);
    }
  }
}

// CGRP_STORAGE's cgroup_v1v2_get_from_fd: a cgroup v1 directory too (the
// kernel takes it; measured on 6.18 by the kernel_compare campaign), kept
// apart from cgroup2 ids by its device; cgroup_get_from_fd refuses it.
TEST(CgroupTest, V1DirectoriesAreCgroupsForV1V2Only) {
  const int fd = open("/sys/fs/cgroup/cpu", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct statfs sfs;
  if (fd < 0 || fstatfs(fd, &sfs) != 0 || sfs.f_type != 0x27e0eb) {
    if (fd >= 0) close(fd);
    GTEST_SKIP() << "no cgroup v1 hierarchy at /sys/fs/cgroup/cpu";
  }
  uint64_t id = 0, hierarchy = 0;
  EXPECT_EQ(CgroupIdFromFd(fd, &id), -EBADF);
  ASSERT_EQ(CgroupV1V2FromFd(fd, &id, &hierarchy), 0);
  EXPECT_NE(hierarchy, 0u);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(id, st.st_ino);
  close(fd);
  int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_EQ(CgroupV1V2FromFd(dir, &id, &hierarchy), -EBADF);
  close(dir);
}

TEST(CgroupTest, SetCurrentCgroupIsPerThreadAndUnderItsAncestors) {
  std::string why;
  int root = OpenRoot(&why);
  if (root < 0) GTEST_SKIP() << why;
  close(root);
  const std::string mount = Cgroup2Mount();
  const std::string child = "/bpfemu-cgroup-test-" + std::to_string(getpid());
  const std::string grandchild = child + "/inner";
  if (mkdir((mount + child).c_str(), 0755) != 0) {
    GTEST_SKIP() << "cannot create a child cgroup (" << std::strerror(errno)
                 << "): the cgroup2 root is not writable";
  }
  ASSERT_EQ(mkdir((mount + grandchild).c_str(), 0755), 0);
  struct stat c, g;
  ASSERT_EQ(stat((mount + child).c_str(), &c), 0);
  ASSERT_EQ(stat((mount + grandchild).c_str(), &g), 0);

  SetCurrentCgroup(grandchild.substr(1));  // a leading '/' is added
  EXPECT_EQ(CurrentCgroupPath(), grandchild);
  EXPECT_EQ(CurrentCgroupId(), g.st_ino);
  EXPECT_TRUE(CurrentUnderCgroup(g.st_ino));
  EXPECT_TRUE(CurrentUnderCgroup(c.st_ino));
  EXPECT_TRUE(CurrentUnderCgroup(kRootCgroupId));
  EXPECT_EQ(CurrentAncestorCgroupId(0), kRootCgroupId);
  EXPECT_EQ(CurrentAncestorCgroupId(1), c.st_ino);
  EXPECT_EQ(CurrentAncestorCgroupId(2), g.st_ino);
  EXPECT_EQ(CurrentAncestorCgroupId(3), 0u);
  EXPECT_EQ(CurrentAncestorCgroupId(-1), 0u);
  SetCurrentCgroup(child);
  EXPECT_FALSE(CurrentUnderCgroup(g.st_ino));  // a descendant, not ancestor
  EXPECT_TRUE(CurrentUnderCgroup(c.st_ino));
  EXPECT_EQ(CurrentAncestorCgroupId(2), 0u);
  SetCurrentCgroup(std::nullopt);
  EXPECT_NE(CurrentCgroupId(), c.st_ino);
  rmdir((mount + grandchild).c_str());
  rmdir((mount + child).c_str());
}

// kptr46: the handles of bpf_cgroup_from_id / _acquire / _release.
TEST(CgroupTest, CgroupRefsCountReferencesPerHandle) {
  if (Cgroup2Mount().empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
  const uint64_t refs = CgroupRefs();
  void* root = CgroupRefFromId(kRootCgroupId);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(CgroupRefFromId(kRootCgroupId), root);  // one handle per cgroup
  uint64_t id = 0;
  EXPECT_TRUE(CgroupRefId(root, &id));
  EXPECT_EQ(id, kRootCgroupId);
  EXPECT_EQ(CgroupRefAcquire(root), root);
  EXPECT_EQ(CgroupRefs(), refs + 3);
  // No cgroup with that id, no handle at that address.
  EXPECT_EQ(CgroupRefFromId(0), nullptr);
  EXPECT_EQ(CgroupRefFromId(0xfffffff0), nullptr);
  int other = 0;
  EXPECT_EQ(CgroupRefAcquire(&other), nullptr);
  EXPECT_EQ(CgroupRefRelease(&other), -EINVAL);
  EXPECT_FALSE(CgroupRefId(&other, &id));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(CgroupRefRelease(root), 0);
  EXPECT_EQ(CgroupRefs(), refs);
  if (refs == 0) EXPECT_EQ(CgroupRefRelease(root), -EINVAL);  // none left
  // The current cgroup is found by its id too.
  const uint64_t cur = CurrentCgroupId();
  void* c = CgroupRefFromId(cur);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(CgroupRefId(c, &id));
  EXPECT_EQ(id, cur);
  EXPECT_EQ(CgroupRefRelease(c), 0);
}

}  // namespace
}  // namespace bpfemu
