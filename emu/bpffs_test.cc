// SPDX-License-Identifier: Apache-2.0
// The emulated bpffs: pins outlive descriptors and cross processes, and no
// path (.., symbolic links, absolute paths elsewhere) can create or open
// anything outside the storage directory.
#include "emu/bpffs.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/map.h"
#include "emu/shm.h"
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

// ---- Sharing read-only (issue 20: BPF_F_RDONLY of a 0644 pin) ---------------

constexpr uid_t kBpfUser = 1001;  // the second local user, bpfuser

// Like RunAsNobody, as uid/gid 1001.
int RunAsBpfUser(const std::function<int()>& fn) {
  const pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) {
    alarm(60);
    if (setresgid(kBpfUser, kBpfUser, kBpfUser) != 0 ||
        setresuid(kBpfUser, kBpfUser, kBpfUser) != 0) {
      _exit(100);
    }
    _exit(fn());
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

// Everything a reader can see of a map, as text: the get_next_key walk with
// each key's lookup, a lookup of an absent key, and one lookup batch. The
// same map must read the same through a read-write and a read-only fd.
std::string Dump(int fd, uint32_t key_size) {
  constexpr size_t kValueBuf = 8 * 1024;  // any per-CPU value
  std::string out;
  std::vector<uint8_t> key(key_size + 8), next(key_size + 8), value(kValueBuf);
  const void* prev = nullptr;
  for (int i = 0; i < 200; ++i) {
    const int r = MapGetNextKey(fd, prev, next.data());
    out += "next " + std::to_string(r);
    if (r != 0) break;
    out += " " + Hex(next.data(), key_size);
    std::fill(value.begin(), value.end(), 0);
    const int l = MapLookupElem(fd, next.data(), value.data());
    out += " lookup " + std::to_string(l) + " " + Hex(value.data(), 64) + "\n";
    key = next;
    prev = key.data();
  }
  std::vector<uint8_t> absent(key_size + 8, 0xee);
  std::fill(value.begin(), value.end(), 0);
  const int l =
      MapLookupElem(fd, key_size != 0 ? absent.data() : nullptr, value.data());
  out += "\nabsent " + std::to_string(l) + " " + Hex(value.data(), 64);
  // Key 0 with BPF_F_LOCK (EINVAL without a spin lock in the value).
  std::vector<uint8_t> zero(key_size + 8, 0);
  std::fill(value.begin(), value.end(), 0);
  const int locked = MapLookupElem(fd, key_size != 0 ? zero.data() : nullptr,
                                   value.data(), BPF_F_LOCK);
  out += "\nlocked " + std::to_string(locked) + " " + Hex(value.data(), 64);
  uint8_t out_batch[64] = {};
  std::vector<uint8_t> keys(64 * (key_size + 8)), values(64 * kValueBuf);
  uint32_t count = 64;
  const int b = MapLookupBatch(fd, nullptr, out_batch, keys.data(),
                               values.data(), &count, 0, 0);
  out += "\nbatch " + std::to_string(b) + " " + std::to_string(count) + " " +
         Hex(keys.data(), size_t{count} * key_size);
  return out;
}

class ReadOnlyPinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to run a second uid (setresuid)";
    }
    char tmpl[] = "/tmp/bpfemu-rdonly-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    ASSERT_EQ(chmod(base_.c_str(), 0755), 0);
    // Shared mode: a root-owned sticky directory both users reach.
    const std::string shared = base_ + "/shared";
    ASSERT_EQ(mkdir(shared.c_str(), 0700), 0);
    ASSERT_EQ(chmod(shared.c_str(), 01777), 0);
    SetBpffsForTesting("/sys/fs/bpf", shared);
    SetBpffsSharedForTesting(true);
  }
  void TearDown() override {
    SetBpffsSharedForTesting(false);
    if (!base_.empty()) {
      const std::string cmd = "rm -rf '" + base_ + "'";
      EXPECT_EQ(std::system(cmd.c_str()), 0);
    }
  }
  // Pins `fd` at /sys/fs/bpf/<name> with mode 0644 (umask 022, as a root
  // shell's), as bpf_obj_do_pin gives it on bpffs.
  void Pin0644(int fd, const std::string& name) {
    const mode_t old_umask = umask(022);
    ASSERT_EQ(ObjPin(fd, ("/sys/fs/bpf/" + name).c_str()), 0);
    umask(old_umask);
    ASSERT_EQ(chmod((base_ + "/shared/" + name).c_str(), 0644), 0);
  }

  std::string base_;
};

// What uid 1001 may do with a read-only fd of root's 0644 pin, for each
// family: read exactly what root reads (lookup, get_next_key, lookup
// batch), and nothing else - update, delete, lookup_and_delete and freeze
// EPERM, write(2) on the fd EBADF; a read-write or write-only get EACCES.
// The region is mapped read-only in the child (Map::read_only), so every
// read path runs without writing shared memory: a write would be SIGSEGV.
// On 2a24bd8 the read-only get itself was EACCES (the region was always
// opened read-write).
TEST_F(ReadOnlyPinTest, EveryFamilyReadsThroughARdonlyGetOfA0644Pin) {
  struct Case {
    uint32_t type, key_size, value_size, max_entries, flags;
    int32_t spin_lock_off = -1;
  };
  const Case cases[] = {
      {BPF_MAP_TYPE_HASH, 4, 8, 64, 0},
      {BPF_MAP_TYPE_HASH, 4, 8, 64, BPF_F_NO_PREALLOC},
      {BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 64, 0},
      {BPF_MAP_TYPE_LRU_HASH, 4, 8, 64, 0},
      {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 64, 0},
      {BPF_MAP_TYPE_ARRAY, 4, 8, 16, 0},
      {BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_MMAPABLE},
      {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 16, 0},
      {BPF_MAP_TYPE_QUEUE, 0, 8, 16, 0},
      {BPF_MAP_TYPE_STACK, 0, 8, 16, 0},
      {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0},
      {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8, 0},
      {BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 8, 0},
      {BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 8, 0},
      {BPF_MAP_TYPE_SOCKMAP, 4, 8, 8, 0},
      {BPF_MAP_TYPE_SOCKHASH, 4, 8, 8, 0},
      // Values with a bpf_spin_lock: BPF_F_LOCK lookups re-check the word.
      {BPF_MAP_TYPE_ARRAY, 4, 16, 8, 0, 0},
      {BPF_MAP_TYPE_HASH, 4, 16, 16, 0, 8},
  };
  MapAttr inner_attr{.map_type = BPF_MAP_TYPE_ARRAY,
                     .key_size = 4,
                     .value_size = 8,
                     .max_entries = 4};
  const int inner = MapCreate(inner_attr);
  ASSERT_GE(inner, 0);
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE("map type " + std::to_string(c.type) + " flags " +
                 std::to_string(c.flags));
    MapAttr attr{.map_type = c.type,
                 .key_size = c.key_size,
                 .value_size = c.value_size,
                 .max_entries = c.max_entries,
                 .map_flags = c.flags,
                 .spin_lock_off = c.spin_lock_off};
    const bool of_maps = c.type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
                         c.type == BPF_MAP_TYPE_HASH_OF_MAPS;
    if (of_maps) attr.inner_map_fd = static_cast<uint32_t>(inner);
    const int fd = MapCreate(attr);
    ASSERT_GE(fd, 0);
    // Contents: keys 0..5 (or six pushes), values key * 1000 + 7 in every
    // per-CPU slot; an inner map in slots 0..5 of the map-in-maps.
    std::vector<uint8_t> value(8 * 1024);
    for (uint32_t k = 0; k < 6; ++k) {
      int r = 0;
      if (of_maps) {
        const int32_t ifd = inner;
        r = MapUpdateElem(fd, &k, &ifd, BPF_ANY);
      } else if (c.type == BPF_MAP_TYPE_QUEUE || c.type == BPF_MAP_TYPE_STACK) {
        const uint64_t v = k * 1000 + 7;
        r = MapUpdateElem(fd, nullptr, &v, BPF_ANY);
      } else if (c.value_size >= 8 && c.type != BPF_MAP_TYPE_SOCKMAP &&
                 c.type != BPF_MAP_TYPE_SOCKHASH) {
        for (size_t i = 0; i + 8 <= value.size(); i += 8) {
          const uint64_t v = k * 1000 + 7 + i;
          std::memcpy(&value[i], &v, 8);
        }
        r = MapUpdateElem(fd, &k, value.data(), BPF_ANY);
      }
      ASSERT_EQ(r, 0) << "key " << k;
    }
    const std::string name = "m" + std::to_string(n++);
    Pin0644(fd, name);
    const std::string expected = Dump(fd, c.key_size);
    const std::string path = "/sys/fs/bpf/" + name;
    const uint32_t ks = c.key_size;
    const uint32_t type = c.type;
    const int got = RunAsBpfUser([&] {
      int bad = 0;
      // The pin gives no write permission to others: no read-write or
      // write-only fd (path_permission).
      if (ObjGet(path.c_str()) != -EACCES) bad |= 1;
      if (ObjGet(path.c_str(), BPF_F_WRONLY) != -EACCES) bad |= 2;
      const int ro = ObjGet(path.c_str(), BPF_F_RDONLY);
      if (ro < 0) return bad | 4;
      std::shared_ptr<Map> m = MapFromFd(ro);
      if (m == nullptr || !m->read_only()) bad |= 8;
      if (Dump(ro, ks) != expected) bad |= 16;
      uint8_t key[8] = {}, val[8 * 1024] = {};
      const void* k = ks != 0 ? key : nullptr;
      if (MapUpdateElem(ro, k, val, BPF_ANY) != -EPERM) bad |= 32;
      if (MapDeleteElem(ro, k) != -EPERM) bad |= 64;
      if (MapLookupAndDeleteElem(ro, k, val) != -EPERM) bad |= 128;
      if (MapFreeze(ro) != -EPERM) bad |= 256;
      // The fd is a read-only file, as the kernel's: write(2) EBADF.
      if (write(ro, "x", 1) != -1 || errno != EBADF) bad |= 512;
      if (type == BPF_MAP_TYPE_ARRAY) {
        int err = 0;
        if (MapMmap(ro, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err) !=
            nullptr) {
          bad |= 1024;
        }
      }
      if (Dump(ro, ks) != expected) bad |= 2048;  // nothing changed
      CloseFd(ro);
      return bad;
    });
    EXPECT_EQ(got, 0);
    EXPECT_EQ(Dump(fd, c.key_size), expected);
    CloseFd(fd);
  }
  CloseFd(inner);
}

// A writer that died inside a bucket change (sequence count odd, bucket
// lock held by a dead thread) leaves that bucket to be repaired by the next
// writer. A read-only reader cannot repair it: it answers EBUSY for that
// bucket - promptly, without hanging and without writing - and reads the
// others. After root's next write to the bucket the reader sees it again.
TEST_F(ReadOnlyPinTest, DeadWriterGivesReadOnlyReadersEbusyNotAHang) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_HASH,
               .key_size = 4,
               .value_size = 8,
               .max_entries = 64};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  for (uint32_t k = 0; k < 32; ++k) {
    const uint64_t v = k + 100;
    ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  }
  Pin0644(fd, "h");
  // A root process deletes key 5 and is killed inside the unlink.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t victim = fork();
  if (victim == 0) {
    alarm(30);
    close(fds[0]);
    static int signal_fd;
    signal_fd = fds[1];
    g_lock_point_hook = [](LockPoint p) {
      if (p != LockPoint::kChainWrite) return;
      const char c = 1;
      (void)!write(signal_fd, &c, 1);
      for (;;) pause();
    };
    const uint32_t k = 5;
    (void)MapDeleteElem(fd, &k);
    _exit(3);
  }
  close(fds[1]);
  char c = 0;
  ASSERT_EQ(read(fds[0], &c, 1), 1);
  close(fds[0]);
  kill(victim, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(victim, &status, 0), victim);
  ASSERT_TRUE(WIFSIGNALED(status));

  // Which keys share key 5's bucket: root's own lookups (the read-write
  // mapping would repair the bucket only by taking its lock, which lookups
  // do only after 1024 rounds - so ask the reader instead).
  const int got = RunAsBpfUser([] {
    const int ro = ObjGet("/sys/fs/bpf/h", BPF_F_RDONLY);
    if (ro < 0) return 1;
    int busy = 0, found = 0, bad = 0;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t k = 0; k < 32; ++k) {
      uint64_t v = 0;
      const int r = MapLookupElem(ro, &k, &v);
      if (r == -EBUSY) {
        ++busy;
      } else if (r == 0 && v == k + 100) {
        ++found;
      } else {
        bad |= 2;
      }
    }
    uint32_t k5 = 5;
    uint64_t v = 0;
    if (MapLookupElem(ro, &k5, &v) != -EBUSY) bad |= 4;
    // A walk meets the bucket too (every key is in some bucket it visits).
    uint32_t key = 0, next = 0;
    const void* prev = nullptr;
    int r = 0;
    for (int i = 0; i < 100 && (r = MapGetNextKey(ro, prev, &next)) == 0; ++i) {
      key = next;
      prev = &key;
    }
    if (r != -EBUSY) bad |= 8;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    std::fprintf(stderr, "read-only reader: %d keys busy, %d found, %.3f s\n",
                 busy, found, secs);
    if (busy == 0 || found == 0 || busy + found != 32) bad |= 16;
    if (secs > 10) bad |= 32;
    CloseFd(ro);
    return bad;
  });
  EXPECT_EQ(got, 0);
  // Root's next write to that bucket takes the lock over and repairs it.
  const uint32_t k5 = 5;
  const uint64_t v5 = 555;
  ASSERT_EQ(MapUpdateElem(fd, &k5, &v5, BPF_ANY), 0);
  EXPECT_EQ(RunAsBpfUser([] {
              const int ro = ObjGet("/sys/fs/bpf/h", BPF_F_RDONLY);
              if (ro < 0) return 1;
              int bad = 0;
              for (uint32_t k = 0; k < 32; ++k) {
                uint64_t v = 0;
                if (MapLookupElem(ro, &k, &v) != 0) bad |= 2;
                if (v != (k == 5 ? 555 : k + 100)) bad |= 4;
              }
              CloseFd(ro);
              return bad;
            }),
            0);
  CloseFd(fd);
}

// Readers through a read-only mapping while root writes: every lookup finds
// its key or answers ENOENT, never EBUSY (the writer is alive and
// finishes), and get_next_key never fails.
TEST_F(ReadOnlyPinTest, ReadOnlyReadersRaceAWriter) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_HASH,
               .key_size = 4,
               .value_size = 16,
               .max_entries = 256};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  Pin0644(fd, "race");
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  const pid_t writer = fork();
  if (writer == 0) {
    alarm(60);
    close(go[1]);
    // Until the reader is done (its end of the pipe closes).
    for (uint64_t round = 1;; ++round) {
      for (uint32_t k = 0; k < 64; ++k) {
        const uint64_t v[2] = {round * 1000 + k, ~(round * 1000 + k)};
        if (round % 3 == 0 && k % 2 == 0) {
          (void)MapDeleteElem(fd, &k);
        } else {
          (void)MapUpdateElem(fd, &k, v, BPF_ANY);
        }
      }
      pollfd p = {go[0], POLLIN, 0};
      if (poll(&p, 1, 0) == 1) _exit(0);
    }
  }
  close(go[0]);
  const int got = RunAsBpfUser([&] {
    const int ro = ObjGet("/sys/fs/bpf/race", BPF_F_RDONLY);
    if (ro < 0) return 1;
    int bad = 0;
    uint64_t lookups = 0, hits = 0, walks = 0, stale = 0, long_walks = 0;
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
      for (uint32_t k = 0; k < 64; ++k) {
        uint64_t v[2] = {};
        const int r = MapLookupElem(ro, &k, v);
        ++lookups;
        if (r == 0) {
          ++hits;
          // A lookup copies the element it found after the walk, as the
          // kernel's RCU reader does: an element reused meanwhile (a
          // preallocated hash recycles the replaced one) gives another
          // value. Rare, and the same in the kernel; counted, not failed.
          if (v[0] % 1000 != k || v[1] != ~v[0]) ++stale;
        } else if (r != -ENOENT) {
          bad |= 4;
        }
      }
      uint32_t key = 0, next = 0;
      const void* prev = nullptr;
      int r = 0, steps = 0;
      while (steps < 1000 && (r = MapGetNextKey(ro, prev, &next)) == 0) {
        key = next;
        prev = &key;
        ++steps;
      }
      // A key deleted under the walk restarts it at bucket 0, as in the
      // kernel, so a walk may go on; it may not fail.
      if (r == 0) {
        ++long_walks;
      } else if (r != -ENOENT) {
        std::fprintf(stderr, "walk ended with %d after %d keys\n", r, steps);
        bad |= 8;
      }
      ++walks;
    }
    std::fprintf(stderr,
                 "read-only reader: %llu lookups (%llu hits, %llu stale), "
                 "%llu walks (%llu cut at 1000 keys)\n",
                 static_cast<unsigned long long>(lookups),
                 static_cast<unsigned long long>(hits),
                 static_cast<unsigned long long>(stale),
                 static_cast<unsigned long long>(walks),
                 static_cast<unsigned long long>(long_walks));
    if (hits == 0 || walks == 0 || stale * 100 > hits) bad |= 16;
    CloseFd(ro);
    return bad;
  });
  close(go[1]);
  int status = 0;
  ASSERT_EQ(waitpid(writer, &status, 0), writer);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(got, 0);
  CloseFd(fd);
}

// Issue 20: a BPF_F_LOCK lookup through a read-only mapping cannot take the
// value's bpf_spin_lock, so it copies between two reads of the lock word.
// With the word 0 whenever unlocked, a writer's whole locked section that
// fell between those two reads went unseen and the copy mixed two values.
// A root process updates one value of an array and one of a hash with
// BPF_F_LOCK, each update a new pattern in every word; uid 1001 looks them
// up with BPF_F_LOCK through a BPF_F_RDONLY get of the 0644 pins for 2 s
// and must never see two patterns in one copy, nor the lock word (copies
// show it as zeros, as the kernel's copy_map_value does).
TEST_F(ReadOnlyPinTest, RdonlyLockedLookupNeverSeesATornValue) {
  // 16 KiB values: a copy long enough for a writer's section to fit in it.
  constexpr uint32_t kWords = 2047;  // u64 words after the lock and padding
  struct Value {
    uint32_t lock;
    uint32_t pad;
    uint64_t w[kWords];
  };
  static_assert(sizeof(Value) == 16384);
  const uint32_t types[] = {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH};
  int fds[2];
  for (int i = 0; i < 2; ++i) {
    MapAttr attr{.map_type = types[i],
                 .key_size = 4,
                 .value_size = sizeof(Value),
                 .max_entries = 4,
                 .spin_lock_off = 0};
    fds[i] = MapCreate(attr);
    ASSERT_GE(fds[i], 0);
    Value v{};
    const uint32_t k = 0;
    ASSERT_EQ(MapUpdateElem(fds[i], &k, &v, BPF_ANY), 0);
    Pin0644(fds[i], i == 0 ? "locked_a" : "locked_h");
  }
  // Two writers (on two cores they also preempt the reader mid-copy).
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t writers[2];
  for (int wi = 0; wi < 2; ++wi) {
    writers[wi] = fork();
    if (writers[wi] == 0) {
      alarm(60);
      close(go[1]);
      auto v = std::make_unique<Value>();
      for (uint64_t round = wi + 1;; round += 2) {
        v->lock = 0x5a5a5a5au;  // ignored: an update never writes the lock
        for (uint64_t& w : v->w) w = round;
        const uint32_t k = 0;
        if (MapUpdateElem(fds[(round / 2) % 2], &k, v.get(), BPF_F_LOCK) != 0) {
          _exit(2);
        }
        sched_yield();  // leave the lock free most of the time
        if ((round / 2) % 256 == 0) {
          pollfd p = {go[0], POLLIN, 0};
          if (poll(&p, 1, 0) == 1) _exit(0);
        }
      }
    }
  }
  close(go[0]);
  const int got = RunAsBpfUser([] {
    int bad = 0;
    const int ro[2] = {ObjGet("/sys/fs/bpf/locked_a", BPF_F_RDONLY),
                       ObjGet("/sys/fs/bpf/locked_h", BPF_F_RDONLY)};
    if (ro[0] < 0 || ro[1] < 0) return 1;
    auto v = std::make_unique<Value>();
    uint64_t lookups = 0, torn = 0, busy = 0, changed = 0, last = 0;
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
      for (int i = 0; i < 2; ++i) {
        const uint32_t k = 0;
        std::memset(v.get(), 0xff, sizeof(Value));
        const int r = MapLookupElem(ro[i], &k, v.get(), BPF_F_LOCK);
        ++lookups;
        if (r == -EBUSY) {
          ++busy;
          continue;
        }
        if (r != 0) {
          bad |= 2;
          continue;
        }
        if (v->lock != 0) bad |= 4;
        bool mixed = false;
        for (uint64_t w : v->w) mixed |= w != v->w[0];
        if (mixed) ++torn;
        if (v->w[0] != last) ++changed;
        last = v->w[0];
      }
    }
    std::fprintf(stderr,
                 "read-only BPF_F_LOCK reader: %llu lookups, %llu torn, "
                 "%llu EBUSY, %llu saw a new value\n",
                 static_cast<unsigned long long>(lookups),
                 static_cast<unsigned long long>(torn),
                 static_cast<unsigned long long>(busy),
                 static_cast<unsigned long long>(changed));
    if (torn != 0) bad |= 8;
    if (busy != 0) bad |= 16;      // a live writer is always waited out
    if (changed < 100) bad |= 32;  // the writer really ran meanwhile
    CloseFd(ro[0]);
    CloseFd(ro[1]);
    return bad;
  });
  close(go[1]);
  for (const pid_t writer : writers) {
    int status = 0;
    ASSERT_EQ(waitpid(writer, &status, 0), writer);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(got, 0);
  CloseFd(fds[0]);
  CloseFd(fds[1]);
}

// "A RDONLY fd that lands on 0-2 becomes writable": the fd of a
// BPF_F_RDONLY get was a read-write file, so once it (or a copy, as
// libbpf's fd juggling makes) sat on fd 0 with stdin closed, anything
// written there (a stray write(0/1/2, ...), stdio) went into the map's
// region - here it overwrites the header's magic, and the map could no
// longer be opened. The kernel's fd has no FMODE_WRITE: write(2) is EBADF.
// Now the fd is a read-only file. Also: a read-write fd by id of that map
// (root) is a new read-write file and writes.
TEST_F(ReadOnlyPinTest, RdonlyFdOnStdinIsNotWritable) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_ARRAY,
               .key_size = 4,
               .value_size = 8,
               .max_entries = 2};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  const uint32_t k = 1;
  const uint64_t v = 9;
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  Pin0644(fd, "a");
  const int saved_stdin = fcntl(0, F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(saved_stdin, 0);
  const int got = ObjGet("/sys/fs/bpf/a", BPF_F_RDONLY);
  ASSERT_GE(got, 0);
  ASSERT_EQ(close(0), 0);
  const int ro = DupMapFd(got, 0);
  const ssize_t wrote = ro == 0 ? write(0, "garbage!", 8) : -2;
  const int werr = errno;
  ASSERT_EQ(dup2(saved_stdin, 0), 0);
  close(saved_stdin);
  ASSERT_EQ(ro, 0);
  (void)ForgetFd(0);  // stdin is back; the copy was fd 0
  EXPECT_EQ(wrote, -1);
  EXPECT_EQ(werr, EBADF);
  EXPECT_EQ(write(got, "garbage!", 8), -1);
  EXPECT_EQ(errno, EBADF);
  uint64_t out = 0;
  EXPECT_EQ(MapLookupElem(got, &k, &out), 0);
  EXPECT_EQ(out, 9u);
  EXPECT_EQ(MapUpdateElem(got, &k, &v, BPF_ANY), -EPERM);
  // The region is intact: a fresh get still attaches it.
  const int again = ObjGet("/sys/fs/bpf/a", BPF_F_RDONLY);
  EXPECT_GE(again, 0);
  // By id, read-write: a new read-write file of the same map.
  BpfMapInfo info = {};
  uint32_t len = sizeof(info);
  ASSERT_EQ(MapGetInfoByFd(fd, &info, &len), 0);
  CloseFd(fd);  // only the read-only fds hold the map in this process now
  const int rw = MapGetFdById(info.id);
  ASSERT_GE(rw, 0);
  EXPECT_EQ(fcntl(rw, F_GETFL) & O_ACCMODE, O_RDWR);
  const uint64_t nv = 10;
  EXPECT_EQ(MapUpdateElem(rw, &k, &nv, BPF_ANY), 0);
  EXPECT_EQ(MapLookupElem(got, &k, &out), 0);
  EXPECT_EQ(out, 10u);
  CloseFd(rw);
  if (again >= 0) CloseFd(again);
  CloseFd(got);
}

template <typename T>
void Poke(int fd, uint64_t off, T v) {
  ASSERT_EQ(pwrite(fd, &v, sizeof(v), static_cast<off_t>(off)),
            static_cast<ssize_t>(sizeof(v)));
}

template <typename T>
T Peek(int fd, uint64_t off) {
  T v{};
  EXPECT_EQ(pread(fd, &v, sizeof(v), static_cast<off_t>(off)),
            static_cast<ssize_t>(sizeof(v)));
  return v;
}

// A crafted hash region read through a read-only mapping (a BPF_F_RDONLY
// get of a pin the caller may not write): the readers may not take a
// bucket lock or repair anything, so each corrupted bucket must end in an
// errno (EBUSY) - not a hang, and not a store, which on the read-only pages
// would be SIGSEGV. The victim opens the file read-only and gives up root
// (uid 1001), so that AttachMapFd cannot reopen it read-write. Offsets: a
// HashBody at kBodyOffset (elem_size +8, buckets_off +48, elems_off +72),
// Bucket { lock, head, seq, reserved }, ElemHeader { next, hash }.
TEST_F(ReadOnlyPinTest, CraftedBucketsAreEbusyNotAHangOrAWrite) {
  enum Craft { kOddSeqNoHolder, kOddSeqDeadHolder, kSelfLoop, kHeadOutside };
  for (Craft craft :
       {kOddSeqNoHolder, kOddSeqDeadHolder, kSelfLoop, kHeadOutside}) {
    SCOPED_TRACE("craft " + std::to_string(craft));
    const int fd = MapCreate(MapAttr{.map_type = BPF_MAP_TYPE_HASH,
                                     .key_size = 4,
                                     .value_size = 8,
                                     .max_entries = 16});
    ASSERT_GE(fd, 0);
    for (uint32_t k = 0; k < 8; ++k) {
      const uint64_t v = k + 50;
      ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
    }
    const auto buckets_off = Peek<uint64_t>(fd, kBodyOffset + 48);
    const auto elems_off = Peek<uint64_t>(fd, kBodyOffset + 72);
    const auto elem_size = Peek<uint32_t>(fd, kBodyOffset + 8);
    // The first bucket with elements: { lock, head, seq, reserved }.
    uint64_t bucket = 0;
    uint32_t head = 0;
    for (uint32_t i = 0; i < 16 && head == 0; ++i) {
      bucket = buckets_off + uint64_t{i} * 16;
      head = Peek<uint32_t>(fd, bucket + 4);
    }
    ASSERT_NE(head, 0u);
    switch (craft) {
      case kOddSeqNoHolder:
        Poke<uint32_t>(fd, bucket + 8, 1);
        break;
      case kOddSeqDeadHolder:
        Poke<uint32_t>(fd, bucket, 0x3ffffff0);  // no such thread
        Poke<uint32_t>(fd, bucket + 8, 3);
        break;
      case kSelfLoop:  // the head element's next is itself
        Poke<uint32_t>(fd, elems_off + uint64_t{head - 1} * elem_size, head);
        break;
      case kHeadOutside:
        Poke<uint32_t>(fd, bucket + 4, 0x00ffffff);
        break;
    }
    const int ro = open(("/proc/self/fd/" + std::to_string(fd)).c_str(),
                        O_RDONLY | O_CLOEXEC);
    ASSERT_GE(ro, 0);
    const int got = RunAsBpfUser([&] {
      if (AttachMapFd(ro, true, false) != 0) return 10;
      std::shared_ptr<Map> m = MapFromFd(ro);
      if (m == nullptr || !m->read_only()) return 11;
      int busy = 0, found = 0;
      for (uint32_t k = 0; k < 8; ++k) {
        uint64_t v = 0;
        const int r = MapLookupElem(ro, &k, &v);
        if (r == -EBUSY) ++busy;
        if (r == 0 && v == k + 50) ++found;
      }
      uint32_t key = 0, next = 0;
      const void* prev = nullptr;
      int r = 0;
      for (int i = 0; i < 64 && (r = MapGetNextKey(ro, prev, &next)) == 0;
           ++i) {
        key = next;
        prev = &key;
      }
      uint32_t keys[16], batch = 0, count = 16;
      uint64_t values[16];
      const int b =
          MapLookupBatch(ro, nullptr, &batch, keys, values, &count, 0, 0);
      std::fprintf(stderr,
                   "lookups: %d busy, %d found; walk %d; batch %d (%u)\n", busy,
                   found, r, b, count);
      // The crafted bucket is unreadable, the others are read (a key at
      // the head of the self-looping chain is found before the loop).
      if ((busy == 0 && craft != kSelfLoop) || found == 0 || r != -EBUSY ||
          b != -EBUSY) {
        return 12;
      }
      return 0;
    });
    EXPECT_EQ(got, 0);
    close(ro);
    EXPECT_EQ(CloseFd(fd), 0);
  }
}

}  // namespace
}  // namespace bpfemu
