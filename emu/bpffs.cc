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

#include "emu/local_mutex.h"

namespace bpfemu {
namespace {

// Which directory is used, and how it may be shared. Process-wide.
struct Settings {
  std::string mount;
  std::string storage;
  bool shared = false;  // BPFEMU_BPFFS_SHARED=1 (see StorageFd)
  LocalMutex mu;
  // The id counters (NextObjectId), mapped on first use; reset when the
  // storage directory changes (SetBpffsForTesting).
  std::atomic<uint32_t>* counters ABSL_GUARDED_BY(mu) = nullptr;
  // The process-local fallback, when no storage directory is usable.
  std::atomic<uint32_t> local_counters[3] = {};
};

// Closes a descriptor of bpffs's own (never a map or program fd) with the
// system call itself: libbpfemu's close() hook (compat/fs_hooks.cc) takes
// the fd and program tables' locks, and ids are allocated while those are
// held (prog.cc), so going through it could deadlock.
void CloseOwn(int fd) { syscall(SYS_close, fd); }

// The per-user default: $XDG_RUNTIME_DIR/bpfemu-bpffs when that directory is
// the caller's own and private (as pam_systemd creates it), else
// /dev/shm/bpfemu-bpffs-<euid>.
std::string DefaultStorage() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  struct stat st;
  if (xdg != nullptr && *xdg == '/' && lstat(xdg, &st) == 0 &&
      S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
      (st.st_mode & 077) == 0) {
    return std::string(xdg) + "/bpfemu-bpffs";
  }
  return "/dev/shm/bpfemu-bpffs-" + std::to_string(geteuid());
}

Settings& Config() {
  static Settings* s = [] {
    auto* c = new Settings;
    const char* m = std::getenv("BPFEMU_BPFFS");
    const char* d = std::getenv("BPFEMU_BPFFS_DIR");
    const char* shared = std::getenv("BPFEMU_BPFFS_SHARED");
    c->mount = m != nullptr && *m == '/' ? m : "/sys/fs/bpf";
    c->storage = d != nullptr && *d == '/' ? d : DefaultStorage();
    c->shared = shared != nullptr && std::strcmp(shared, "1") == 0;
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

// Whether the directory `st` describes may hold this user's maps. Private
// mode: owned by the caller and writable by nobody else. Shared mode
// (BPFEMU_BPFFS_SHARED=1): owned by the caller or root, and if others may
// write to it, sticky, so that nobody can remove or replace another user's
// pins (the rules of /tmp and of the kernel's bpffs, mounted 1777 here).
bool StorageTrusted(const struct stat& st, bool shared) {
  if (!S_ISDIR(st.st_mode)) return false;
  const uid_t me = geteuid();
  if (!shared) return st.st_uid == me && (st.st_mode & 022) == 0;
  if (st.st_uid != me && st.st_uid != 0) return false;
  return (st.st_mode & 002) == 0 || (st.st_mode & S_ISVTX) != 0;
}

// The storage directory, created on first use (mode 0700); an O_PATH fd of
// it or -errno. The last component is never followed if it is a symbolic
// link, and a directory that fails StorageTrusted is refused with EACCES:
// nothing is created, chmod-ed or truncated in it.
int StorageFd() {
  const Settings& c = Config();
  const char* dir = c.storage.c_str();
  constexpr int kFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(dir, kFlags);
  if (fd < 0 && errno == ENOENT) {
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -errno;
    fd = open(dir, kFlags);
  }
  // A symbolic link: ELOOP (or ENOTDIR with O_PATH); refused as untrusted.
  if (fd < 0) return errno == ELOOP || errno == ENOTDIR ? -EACCES : -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !StorageTrusted(st, c.shared)) {
    CloseOwn(fd);
    return -EACCES;
  }
  return fd;
}

// Opens `name` in `dir` for reading and writing if it is a regular file
// (never a link, FIFO or device): O_PATH first, checked with fstat, then
// reopened through /proc/self/fd. `st` receives the file's stat.
int OpenRegularAt(int dir, const char* name, int access, struct stat* st) {
  const int path_fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (path_fd < 0) return -errno;
  int fd = -EACCES;
  if (fstat(path_fd, st) != 0) {
    fd = -errno;
  } else if (S_ISREG(st->st_mode)) {
    const std::string self = "/proc/self/fd/" + std::to_string(path_fd);
    fd = open(self.c_str(), access | O_CLOEXEC);
    if (fd < 0) fd = -errno;
  }
  CloseOwn(path_fd);
  return fd;
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
  Settings& c = Config();
  c.mount = Normalize(mount);
  c.storage = storage;
  LocalMutexLock l(&c.mu);
  c.counters = nullptr;  // the old mapping stays (tests only)
}

void SetBpffsSharedForTesting(bool shared) { Config().shared = shared; }

int BpffsStorageFd() { return StorageFd(); }

int BpffsOpenPinned(const BpffsPath& p, bool readable, bool writable) {
  if (p.kind != BpffsPath::kInside || p.parent_fd < 0) return -EACCES;
  // path_permission(&path, ACC_MODE(f_flags)) in bpf_obj_do_get(): the
  // pin's mode bits against the access asked for (the file system's own
  // check, so root's DAC override and groups behave as on bpffs).
  const int acc = readable && writable ? O_RDWR
                  : writable           ? O_WRONLY
                                       : O_RDONLY;
  struct stat st;
  const int check = OpenRegularAt(p.parent_fd, p.name.c_str(), acc, &st);
  if (check < 0) return check == -ELOOP || check == -EISDIR ? -EACCES : check;
  // BPF_F_RDONLY: the fd is a read-only file, as the kernel's is (no
  // FMODE_WRITE: write(2) on it is EBADF, a shared writable mmap EACCES).
  // AttachMapFd maps the region read-write if the caller may write the
  // file, else read-only (Map::read_only).
  if (acc != O_WRONLY) return check;
  CloseOwn(check);
  // BPF_F_WRONLY: the region cannot be mapped without read access, so a
  // write-only get needs read and write permission on the file: a user who
  // may only write a pin gets EACCES here (docs/reliability.md).
  return OpenRegularAt(p.parent_fd, p.name.c_str(), O_RDWR, &st);
}

int BpffsCreateAnonymous() {
  const int dir = StorageFd();
  if (dir < 0) return dir;
  // O_TMPFILE needs a real directory fd, not O_PATH, on some kernels.
  int fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  const int err = errno;
  CloseOwn(dir);
  return fd >= 0 ? fd : -err;
}

namespace {
std::atomic<void (*)()> g_unlink_hook{nullptr};
}  // namespace

BpffsPath::~BpffsPath() {
  if (parent_fd >= 0) CloseOwn(parent_fd);
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
  CloseOwn(dir);
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
  if (unlinkat(p.parent_fd, p.name.c_str(), flags) != 0) return -errno;
  if (void (*hook)() = g_unlink_hook.load()) hook();
  return 0;
}

void SetBpffsUnlinkHook(void (*hook)()) { g_unlink_hook.store(hook); }

int BpffsMkdir(const char* path, mode_t mode) {
  BpffsPath p;
  ResolveBpffsPath(path, &p);
  if (p.kind == BpffsPath::kOutside) return -EPERM;
  if (p.kind == BpffsPath::kRoot) return -EEXIST;
  if (p.error != 0) return p.error;
  return mkdirat(p.parent_fd, p.name.c_str(), mode) == 0 ? 0 : -errno;
}

namespace {

// <storage>/.ids: created here (a new file, published with linkat so no
// process sees it unsized), or an existing one opened without following
// links and used only if it is a regular file of 4096 bytes with one link
// whose owner is the caller (any owner in shared mode, where the sharing
// users all write it). Never chmod-ed or truncated once published.
std::atomic<uint32_t>* MapIds(bool shared) {
  const int dir = StorageFd();
  if (dir < 0) return nullptr;
  int fd = -1;
  struct stat st;
  for (int attempt = 0; attempt < 2 && fd < 0; ++attempt) {
    fd = OpenRegularAt(dir, ".ids", O_RDWR, &st);
    if (fd >= 0) {
      if (st.st_size != 4096 || st.st_nlink != 1 ||
          (!shared && st.st_uid != geteuid())) {
        CloseOwn(fd);
        fd = -1;
        break;
      }
    } else if (fd == -ENOENT) {
      // A fresh counter file, sized before it gets its name.
      const int tmp = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (tmp < 0) break;
      if ((shared && fchmod(tmp, 0666) != 0) || ftruncate(tmp, 4096) != 0) {
        CloseOwn(tmp);
        break;
      }
      const std::string self = "/proc/self/fd/" + std::to_string(tmp);
      if (linkat(AT_FDCWD, self.c_str(), dir, ".ids", AT_SYMLINK_FOLLOW) == 0) {
        fd = tmp;
      } else {
        CloseOwn(tmp);  // EEXIST: another process won; open theirs
        fd = -1;
      }
    } else {
      break;  // a link, a directory, ...: not ours to use
    }
  }
  CloseOwn(dir);
  if (fd < 0) return nullptr;
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CloseOwn(fd);
  return p == MAP_FAILED ? nullptr : static_cast<std::atomic<uint32_t>*>(p);
}

}  // namespace

uint32_t NextObjectId(IdKind kind) {
  // Three u32 counters in <storage>/.ids, shared by every process; without a
  // usable storage directory, process-local ones.
  Settings& c = Config();
  std::atomic<uint32_t>* counters;
  {
    LocalMutexLock l(&c.mu);
    counters = c.counters;
  }
  if (counters == nullptr) {
    // Mapped without the lock held (it does file-system calls); a thread
    // that loses the race keeps the winner's.
    std::atomic<uint32_t>* mine = MapIds(c.shared);
    if (mine == nullptr) mine = c.local_counters;
    LocalMutexLock l(&c.mu);
    if (c.counters == nullptr) c.counters = mine;
    counters = c.counters;
  }
  const auto i = static_cast<int>(kind);
  uint32_t id = counters[i].fetch_add(1, std::memory_order_relaxed) + 1;
  if (id == 0 || id > 0x7fffffff) {  // ids are positive ints, as idr's
    counters[i].store(1, std::memory_order_relaxed);
    id = 1;
  }
  return id;
}

}  // namespace bpfemu
