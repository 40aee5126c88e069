// SPDX-License-Identifier: Apache-2.0
// The emulated bpffs: pins outlive descriptors and cross processes, and no
// path (.., symbolic links, absolute paths elsewhere) can create or open
// anything outside the storage directory.
#include "emu/bpffs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
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
    MapAttr attr{.map_type = BPF_MAP_TYPE_HASH,
                 .key_size = 4,
                 .value_size = 8,
                 .max_entries = 4};
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

// ---- Hostile users (docs/reliability.md, threat model) ----------------------

constexpr uid_t kNobody = 65534;

// Runs `fn` in a child as uid/gid 65534 and returns its exit status (0: all
// its checks held), or -1. Bounded: the child is killed after 20 s.
int RunAsNobody(const std::function<int()>& fn) {
  const pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) {
    alarm(20);
    if (setresgid(kNobody, kNobody, kNobody) != 0 ||
        setresuid(kNobody, kNobody, kNobody) != 0) {
      _exit(100);
    }
    _exit(fn());
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

struct FileState {
  mode_t mode = 0;
  off_t size = -1;
  std::string content;
};
FileState StateOf(const std::string& path) {
  FileState f;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return f;
  f.mode = st.st_mode & 07777;
  f.size = st.st_size;
  FILE* in = std::fopen(path.c_str(), "r");
  if (in != nullptr) {
    char buf[256];
    const size_t n = std::fread(buf, 1, sizeof(buf), in);
    f.content.assign(buf, n);
    std::fclose(in);
  }
  return f;
}

// Two users on one machine: root runs the tests and a second uid (65534)
// plays the attacker. Directories live in a fresh world-traversable base
// below /tmp so that both uids can reach them.
class HostileUserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to run a second uid (setresuid)";
    }
    char tmpl[] = "/tmp/bpfemu-hostile-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    ASSERT_EQ(chmod(base_.c_str(), 01777), 0);  // like /dev/shm
    // A root-only file the attacker would like root to open for it.
    secret_ = base_ + "/secret";
    const int fd = open(secret_.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "root only", 9), 9);
    close(fd);
    before_ = StateOf(secret_);
  }
  void TearDown() override {
    SetBpffsSharedForTesting(false);
    if (!base_.empty()) {
      const std::string cmd = "rm -rf '" + base_ + "'";
      EXPECT_EQ(std::system(cmd.c_str()), 0);
    }
  }
  int NewMap() {
    MapAttr attr{.map_type = BPF_MAP_TYPE_HASH,
                 .key_size = 4,
                 .value_size = 8,
                 .max_entries = 4};
    return MapCreate(attr);
  }
  void ExpectSecretUnchanged() {
    const FileState now = StateOf(secret_);
    EXPECT_EQ(now.mode, before_.mode);
    EXPECT_EQ(now.size, before_.size);
    EXPECT_EQ(now.content, before_.content);
    EXPECT_EQ(now.content, "root only");
  }

  std::string base_, secret_;
  FileState before_;
};

// Issue 20 item 1: another user creates the storage directory first (0777)
// and plants `.ids` as a link to a root-only file. Root's process refuses
// the directory: no pin, and the file keeps its mode, size and content (the
// old code chmod-ed it 0666, truncated it to 4096 bytes and wrote an id).
TEST_F(HostileUserTest, SquattedStorageDirectoryIsRefused) {
  const std::string store = base_ + "/store";
  const std::string secret = secret_;
  ASSERT_EQ(
      RunAsNobody([&] {
        if (mkdir(store.c_str(), 0777) != 0) return 1;
        if (chmod(store.c_str(), 0777) != 0) return 2;
        return symlink(secret.c_str(), (store + "/.ids").c_str()) == 0 ? 0 : 3;
      }),
      0);
  SetBpffsForTesting("/sys/fs/bpf", store);
  const int fd = NewMap();
  ASSERT_GE(fd, 0);  // the map itself needs no storage (a memfd)
  EXPECT_EQ(ObjPin(fd, "/sys/fs/bpf/m"), -EACCES);
  EXPECT_EQ(ObjGet("/sys/fs/bpf/m"), -EACCES);
  EXPECT_EQ(BpffsMkdir("/sys/fs/bpf/d", 0700), -EACCES);
  int dir = BpffsStorageFd();
  EXPECT_EQ(dir, -EACCES);
  struct stat st;
  EXPECT_NE(lstat((store + "/m").c_str(), &st), 0);
  ExpectSecretUnchanged();
  CloseFd(fd);

  // The same directory, even owned by root, is refused while others may
  // write to it without the sticky bit (they could rename pins away).
  const std::string open_dir = base_ + "/open";
  ASSERT_EQ(mkdir(open_dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(open_dir.c_str(), 0777), 0);
  SetBpffsForTesting("/sys/fs/bpf", open_dir);
  dir = BpffsStorageFd();
  EXPECT_EQ(dir, -EACCES);
  SetBpffsSharedForTesting(true);
  dir = BpffsStorageFd();
  EXPECT_EQ(dir, -EACCES);  // shared mode too: not sticky

  // A link where the storage directory should be is never followed.
  const std::string linked = base_ + "/linked";
  SetBpffsSharedForTesting(false);
  ASSERT_EQ(symlink(store.c_str(), linked.c_str()), 0);
  SetBpffsForTesting("/sys/fs/bpf", linked);
  EXPECT_EQ(BpffsStorageFd(), -EACCES);
}

// Shared mode (BPFEMU_BPFFS_SHARED=1) on a root-owned sticky directory:
// another user may plant `.ids` before root's first id. Root pins anyway,
// refuses the link, and the file it points at is untouched.
TEST_F(HostileUserTest, PlantedIdsLinkIsNeverFollowed) {
  const std::string shared = base_ + "/shared";
  ASSERT_EQ(mkdir(shared.c_str(), 0700), 0);
  ASSERT_EQ(chmod(shared.c_str(), 01777), 0);
  const std::string secret = secret_;
  ASSERT_EQ(
      RunAsNobody([&] {
        return symlink(secret.c_str(), (shared + "/.ids").c_str()) == 0 ? 0 : 1;
      }),
      0);
  SetBpffsForTesting("/sys/fs/bpf", shared);
  SetBpffsSharedForTesting(true);
  const int fd = NewMap();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ObjPin(fd, "/sys/fs/bpf/m"), 0);
  ExpectSecretUnchanged();
  struct stat st;
  ASSERT_EQ(lstat((shared + "/.ids").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));  // left as found
  CloseFd(fd);
}

// The private default: another uid can neither add a pin (denying names to
// the owner), nor remove or replace one, nor open one.
TEST_F(HostileUserTest, OtherUsersCannotPinReplaceOrOpen) {
  const std::string store = base_ + "/private";
  SetBpffsForTesting("/sys/fs/bpf", store);
  ASSERT_GE(BpffsStorageFd(), 0);  // created, mode 0700
  struct stat st;
  ASSERT_EQ(stat(store.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  const int fd = NewMap();
  ASSERT_GE(fd, 0);
  const uint32_t k = 1;
  const uint64_t v = 42;
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  ASSERT_EQ(ObjPin(fd, "/sys/fs/bpf/m"), 0);
  EXPECT_EQ(RunAsNobody([&] {
              int bad = 0;
              if (ObjPin(fd, "/sys/fs/bpf/squat") != -EACCES) bad |= 1;
              if (BpffsUnlink("/sys/fs/bpf/m") != -EACCES) bad |= 2;
              if (ObjGet("/sys/fs/bpf/m") != -EACCES) bad |= 4;
              if (BpffsMkdir("/sys/fs/bpf/d", 0777) != -EACCES) bad |= 8;
              // Nor by the real path.
              if (unlink((store + "/m").c_str()) == 0) bad |= 16;
              return bad;
            }),
            0);
  EXPECT_NE(lstat((store + "/squat").c_str(), &st), 0);
  const int again = ObjGet("/sys/fs/bpf/m");
  ASSERT_GE(again, 0);
  uint64_t out = 0;
  EXPECT_EQ(MapLookupElem(again, &k, &out), 0);
  EXPECT_EQ(out, 42u);
  CloseFd(again);
  CloseFd(fd);
}

// Shared mode: pins carry mode bits (0600 minus the umask at pin time, as
// bpf_obj_do_pin) and BPF_OBJ_GET checks the access asked for against them
// (path_permission in bpf_obj_do_get). Measured on /sys/fs/bpf (Linux 6.18)
// for uid 65534 and a pin of root's: 0600 -> EACCES for every flag; 0644 ->
// flags 0 EACCES; 0666 -> every flag opens, with the fd's access.
TEST_F(HostileUserTest, SharedPinsCarryModeBits) {
  const std::string shared = base_ + "/shared";
  ASSERT_EQ(mkdir(shared.c_str(), 0700), 0);
  ASSERT_EQ(chmod(shared.c_str(), 01777), 0);
  SetBpffsForTesting("/sys/fs/bpf", shared);
  SetBpffsSharedForTesting(true);
  const int fd = NewMap();
  ASSERT_GE(fd, 0);
  const uint32_t k = 1;
  const uint64_t v = 7;
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  const mode_t old_umask = umask(022);
  ASSERT_EQ(ObjPin(fd, "/sys/fs/bpf/m"), 0);
  umask(old_umask);
  struct stat st;
  ASSERT_EQ(stat((shared + "/m").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto opens = [](uint32_t flags) {
    const int g = ObjGet("/sys/fs/bpf/m", flags);
    if (g >= 0) CloseFd(g);
    return g >= 0 ? 0 : g;
  };
  EXPECT_EQ(RunAsNobody([&] {
              int bad = 0;
              if (opens(0) != -EACCES) bad |= 1;
              if (opens(BPF_F_RDONLY) != -EACCES) bad |= 2;
              if (opens(BPF_F_WRONLY) != -EACCES) bad |= 4;
              // The sticky bit: nobody's own pins yes, root's no.
              if (BpffsUnlink("/sys/fs/bpf/m") != -EPERM) bad |= 8;
              return bad;
            }),
            0);
  ASSERT_EQ(chmod((shared + "/m").c_str(), 0644), 0);
  EXPECT_EQ(RunAsNobody([&] { return opens(0) == -EACCES ? 0 : 1; }), 0);
  ASSERT_EQ(chmod((shared + "/m").c_str(), 0666), 0);
  EXPECT_EQ(RunAsNobody([&] {
              int bad = 0;
              const int ro = ObjGet("/sys/fs/bpf/m", BPF_F_RDONLY);
              uint64_t out = 0;
              const uint64_t nv = 8;
              if (ro < 0 || MapLookupElem(ro, &k, &out) != 0 || out != 7) {
                bad |= 1;
              }
              if (ro >= 0 && MapUpdateElem(ro, &k, &nv, BPF_ANY) != -EPERM) {
                bad |= 2;
              }
              const int rw = ObjGet("/sys/fs/bpf/m");
              if (rw < 0 || MapUpdateElem(rw, &k, &nv, BPF_ANY) != 0) bad |= 4;
              // A pin of nobody's own in the shared directory.
              if (rw < 0 || ObjPin(rw, "/sys/fs/bpf/nobodys") != 0) bad |= 8;
              return bad;
            }),
            0);
  uint64_t out = 0;
  EXPECT_EQ(MapLookupElem(fd, &k, &out), 0);
  EXPECT_EQ(out, 8u);
  // A pin is a hard link to the region, so it shares the map's owner and
  // mode (on bpffs each pin is an inode of the pinning user; see
  // docs/reliability.md).
  ASSERT_EQ(lstat((shared + "/nobodys").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  CloseFd(fd);
}

}  // namespace
}  // namespace bpfemu
