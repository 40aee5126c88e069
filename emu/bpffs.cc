// SPDX-License-Identifier: Apache-2.0
#include "emu/bpffs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace bpfemu {
namespace {

struct Settings {
  std::string mount;
  std::string storage;
};

Settings& Config() {
  static Settings* s = [] {
    auto* c = new Settings;
    const char* m = std::getenv("BPFEMU_BPFFS");
    const char* d = std::getenv("BPFEMU_BPFFS_DIR");
    c->mount = m != nullptr && *m == '/' ? m : "/sys/fs/bpf";
    c->storage = d != nullptr && *d == '/' ? d : "/dev/shm/bpfemu-bpffs";
    return c;
  }();
  return *s;
}

// "a//b/./c/../d" -> "/a/b/d"; `path` is absolute.
std::string Normalize(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    i = j + 1;
  }
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

// The storage directory, created on first use (mode 01777, shared by users
// like /tmp); an O_PATH fd of it or -errno.
int StorageFd() {
  const std::string& dir = Config().storage;
  int fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (mkdir(dir.c_str(), 01777) == 0) chmod(dir.c_str(), 01777);
    fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  return fd >= 0 ? fd : -errno;
}

int OpenBeneath(int dirfd, const std::string& rel, uint64_t flags) {
  open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const long fd = syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof(how));
  return fd >= 0 ? static_cast<int>(fd) : -errno;
}

}  // namespace

const std::string& BpffsMount() { return Config().mount; }
const std::string& BpffsStorage() { return Config().storage; }

void SetBpffsForTesting(const std::string& mount, const std::string& storage) {
  Config().mount = Normalize(mount);
  Config().storage = storage;
}

int BpffsCreateAnonymous() {
  const int dir = StorageFd();
  if (dir < 0) return dir;
  // O_TMPFILE needs a real directory fd, not O_PATH, on some kernels.
  int fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  const int err = errno;
  close(dir);
  return fd >= 0 ? fd : -err;
}

BpffsPath::~BpffsPath() {
  if (parent_fd >= 0) close(parent_fd);
}

void ResolveBpffsPath(const char* path, BpffsPath* out) {
  std::string p = path;
  if (p.empty() || p[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) cwd[0] = '\0';
    p = std::string(cwd) + "/" + p;
  }
  out->absolute = Normalize(p);
  const std::string& mount = Config().mount;
  if (out->absolute == mount) {
    out->kind = BpffsPath::kRoot;
    return;
  }
  if (out->absolute.compare(0, mount.size(), mount) != 0 ||
      out->absolute[mount.size()] != '/') {
    out->kind = BpffsPath::kOutside;
    return;
  }
  out->kind = BpffsPath::kInside;
  const std::string rel = out->absolute.substr(mount.size() + 1);
  const size_t slash = rel.rfind('/');
  out->name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  const std::string parent =
      slash == std::string::npos ? "." : rel.substr(0, slash);
  const int dir = StorageFd();
  if (dir < 0) {
    out->error = dir;
    return;
  }
  const int fd = OpenBeneath(dir, parent, O_PATH | O_DIRECTORY);
  close(dir);
  if (fd < 0) {
    out->error = fd;
  } else {
    out->parent_fd = fd;
  }
}

int BpffsUnlink(const char* path) {
  BpffsPath p;
  ResolveBpffsPath(path, &p);
  if (p.kind == BpffsPath::kOutside) return -EPERM;
  if (p.kind == BpffsPath::kRoot) return -EBUSY;
  if (p.error != 0) return p.error;
  struct stat st;
  if (fstatat(p.parent_fd, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return -errno;
  }
  const int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
  return unlinkat(p.parent_fd, p.name.c_str(), flags) == 0 ? 0 : -errno;
}

int BpffsMkdir(const char* path, mode_t mode) {
  BpffsPath p;
  ResolveBpffsPath(path, &p);
  if (p.kind == BpffsPath::kOutside) return -EPERM;
  if (p.kind == BpffsPath::kRoot) return -EEXIST;
  if (p.error != 0) return p.error;
  return mkdirat(p.parent_fd, p.name.c_str(), mode) == 0 ? 0 : -errno;
}

uint32_t NextObjectId(IdKind kind) {
  // Two u32 counters in <storage>/.ids, shared by every process.
  static std::atomic<uint32_t>* counters = [] {
    std::atomic<uint32_t>* c = nullptr;
    const std::string file = Config().storage + "/.ids";
    if (int dir = StorageFd(); dir >= 0) close(dir);
    const int fd = open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd >= 0) {
      fchmod(fd, 0666);
      if (ftruncate(fd, 4096) == 0) {
        void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                       0);
        if (p != MAP_FAILED) c = static_cast<std::atomic<uint32_t>*>(p);
      }
      close(fd);
    }
    if (c == nullptr) c = new std::atomic<uint32_t>[2]();  // process-local
    return c;
  }();
  const auto i = static_cast<int>(kind);
  uint32_t id = counters[i].fetch_add(1, std::memory_order_relaxed) + 1;
  if (id == 0 || id > 0x7fffffff) {  // ids are positive ints, as idr's
    counters[i].store(1, std::memory_order_relaxed);
    id = 1;
  }
  return id;
}

}  // namespace bpfemu
