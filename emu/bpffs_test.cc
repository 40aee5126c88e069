// SPDX-License-Identifier: Apache-2.0
// The emulated bpffs: pins outlive descriptors and cross processes, and no
// path (.., symbolic links, absolute paths elsewhere) can create or open
// anything outside the storage directory.
#include "emu/bpffs.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

class BpffsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/bpffs_test";
    outside_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/outside";
    mkdir(outside_.c_str(), 0700);
    SetBpffsForTesting("/sys/fs/bpf", root_);
    MapAttr attr{.map_type = BPF_MAP_TYPE_HASH, .key_size = 4,
                 .value_size = 8, .max_entries = 4};
    fd_ = MapCreate(attr);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override { CloseFd(fd_); }
  bool Exists(const std::string& p) {
    struct stat st;
    return lstat(p.c_str(), &st) == 0;
  }

  std::string root_, outside_;
  int fd_ = -1;
};

TEST_F(BpffsTest, PinnedMapOutlivesItsFdsAndCrossesProcesses) {
  const uint32_t k = 7;
  const uint64_t v = 77;
  ASSERT_EQ(MapUpdateElem(fd_, &k, &v, BPF_ANY), 0);
  ASSERT_EQ(ObjPin(fd_, "/sys/fs/bpf/counts"), 0);
  EXPECT_TRUE(Exists(root_ + "/counts"));
  CloseFd(fd_);
  fd_ = ObjGet("/sys/fs/bpf/counts");
  ASSERT_GE(fd_, 0);
  const pid_t child = fork();
  if (child == 0) {
    // Another process opens the pin by path and writes through it.
    const int fd = ObjGet("/sys/fs/bpf/counts");
    const uint64_t nv = 88;
    _exit(fd >= 0 && MapUpdateElem(fd, &k, &nv, BPF_ANY) == 0 ? 0 : 1);
  }
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  uint64_t out;
  ASSERT_EQ(MapLookupElem(fd_, &k, &out), 0);
  EXPECT_EQ(out, 88u);
  EXPECT_EQ(BpffsUnlink("/sys/fs/bpf/counts"), 0);
  EXPECT_EQ(ObjGet("/sys/fs/bpf/counts"), -ENOENT);
}

// BPF_OBJ_GET's file_flags give the new fd its access (bpf_get_file_flag),
// and a freeze made before the pin reaches fds opened from it (the frozen
// state is the map's, in its region).
TEST_F(BpffsTest, ObjGetTakesFileFlagsAndSeesTheFreeze) {
  const uint32_t k = 1;
  uint64_t v = 10;
  ASSERT_EQ(MapUpdateElem(fd_, &k, &v, BPF_ANY), 0);
  ASSERT_EQ(ObjPin(fd_, "/sys/fs/bpf/access"), 0);
  const int ro = ObjGet("/sys/fs/bpf/access", BPF_F_RDONLY);
  const int wo = ObjGet("/sys/fs/bpf/access", BPF_F_WRONLY);
  ASSERT_GE(ro, 0);
  ASSERT_GE(wo, 0);
  EXPECT_EQ(MapUpdateElem(ro, &k, &v, BPF_ANY), -EPERM);
  EXPECT_EQ(MapFreeze(ro), -EPERM);
  EXPECT_EQ(MapLookupElem(wo, &k, &v), -EPERM);
  EXPECT_EQ(MapUpdateElem(wo, &k, &v, BPF_ANY), 0);
  EXPECT_EQ(ObjGet("/sys/fs/bpf/access", BPF_F_RDONLY | BPF_F_WRONLY), -EINVAL);
  EXPECT_EQ(ObjGet("/sys/fs/bpf/access", BPF_F_RDONLY_PROG), -EINVAL);
  ASSERT_EQ(MapFreeze(fd_), 0);
  const int rw = ObjGet("/sys/fs/bpf/access");
  ASSERT_GE(rw, 0);
  EXPECT_EQ(MapFrozen(rw), 1);
  EXPECT_EQ(MapUpdateElem(rw, &k, &v, BPF_ANY), -EPERM);
  EXPECT_EQ(MapUpdateElem(wo, &k, &v, BPF_ANY), -EPERM);
  EXPECT_EQ(MapLookupElem(rw, &k, &v), 0);
  for (int fd : {ro, wo, rw}) CloseFd(fd);
  EXPECT_EQ(BpffsUnlink("/sys/fs/bpf/access"), 0);
}

TEST_F(BpffsTest, DotDotCannotLeaveTheFilesystem) {
  const std::string escape = "/sys/fs/bpf/../../.." + outside_ + "/x";
  EXPECT_EQ(ObjPin(fd_, escape.c_str()), -EPERM);
  EXPECT_FALSE(Exists(outside_ + "/x"));
  // ".." inside the mount point stays inside it.
  ASSERT_EQ(BpffsMkdir("/sys/fs/bpf/d", 0700), 0);
  EXPECT_EQ(ObjPin(fd_, "/sys/fs/bpf/d/../y"), 0);
  EXPECT_TRUE(Exists(root_ + "/y"));
  EXPECT_EQ(BpffsUnlink("/sys/fs/bpf/y"), 0);
  EXPECT_EQ(BpffsUnlink("/sys/fs/bpf/d"), 0);
}

TEST_F(BpffsTest, SymbolicLinksAreNeverFollowed) {
  // A directory link and a file link planted in the storage directory.
  ASSERT_EQ(symlink(outside_.c_str(), (root_ + "/dirlink").c_str()), 0);
  const std::string secret = outside_ + "/secret";
  FILE* f = std::fopen(secret.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("not a map", f);
  std::fclose(f);
  ASSERT_EQ(symlink(secret.c_str(), (root_ + "/filelink").c_str()), 0);
  EXPECT_EQ(ObjPin(fd_, "/sys/fs/bpf/dirlink/x"), -ENOENT);
  EXPECT_FALSE(Exists(outside_ + "/x"));
  EXPECT_EQ(ObjGet("/sys/fs/bpf/dirlink/secret"), -EACCES);
  EXPECT_EQ(ObjGet("/sys/fs/bpf/filelink"), -EACCES);
  EXPECT_EQ(BpffsMkdir("/sys/fs/bpf/dirlink/newdir", 0700), -ELOOP);
  EXPECT_FALSE(Exists(outside_ + "/newdir"));
  unlink((root_ + "/dirlink").c_str());
  unlink((root_ + "/filelink").c_str());
}

TEST_F(BpffsTest, OnlyMapsCanBeOpened) {
  // A plain file in the storage directory is not a pinned map.
  FILE* f = std::fopen((root_ + "/plain").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("junk", f);
  std::fclose(f);
  EXPECT_EQ(ObjGet("/sys/fs/bpf/plain"), -EACCES);
  EXPECT_EQ(ObjGet("/sys/fs/bpf"), -EACCES);
  EXPECT_EQ(ObjPin(fd_, "/sys/fs/bpf"), -EEXIST);
  EXPECT_EQ(ObjPin(1, "/sys/fs/bpf/stdout"), -EINVAL);
  unlink((root_ + "/plain").c_str());
}

}  // namespace
}  // namespace bpfemu
