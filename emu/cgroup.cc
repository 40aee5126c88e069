// SPDX-License-Identifier: Apache-2.0
#include "emu/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace bpfemu {
namespace {

// include/uapi/linux/magic.h.
constexpr long kCgroup2SuperMagic = 0x63677270;
constexpr long kCgroupSuperMagic = 0x27e0eb;  // cgroup v1

thread_local std::optional<std::string> current_override;

// The "0::<path>" line of /proc/self/cgroup (the cgroup2 membership).
std::string ProcessCgroupPath() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) {
      std::string path = line.substr(3);
      return path.empty() ? "/" : path;
    }
  }
  return "/";
}

// The inode number of the directory mount + path, or 0.
uint64_t IdOfPath(const std::string& path) {
  const std::string& mount = Cgroup2Mount();
  if (mount.empty()) return 0;
  struct stat st;
  if (stat((mount + path).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  return st.st_ino;
}

// cgroup_ancestor() of the cgroup at `path`: the id at `level` (0 the root)
// or 0 for a negative level or one deeper than the cgroup.
uint64_t AncestorOfPath(const std::string& path, int level) {
  if (level < 0) return 0;
  if (level == 0) {
    const uint64_t root = IdOfPath("/");
    return root != 0 ? root : kRootCgroupId;
  }
  // The prefix of `level` components.
  size_t end = 0;
  for (int i = 0; i < level; ++i) {
    if (end + 1 >= path.size()) return 0;  // deeper than the cgroup
    end = path.find('/', end + 1);
    if (end == std::string::npos) end = path.size();
  }
  return IdOfPath(path.substr(0, end));
}

}  // namespace

int CgroupIdFromFd(int fd, uint64_t* id) {
  // fdget_raw(): a bad fd; then css_tryget_online_from_dir and
  // cgroup_on_dfl: only a directory of cgroup2.
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return -EBADF;
  struct statfs sfs;
  if (fstatfs(fd, &sfs) != 0 ||
      static_cast<long>(sfs.f_type) != kCgroup2SuperMagic ||
      !S_ISDIR(st.st_mode)) {
    return -EBADF;
  }
  *id = st.st_ino;
  return 0;
}

int CgroupV1V2FromFd(int fd, uint64_t* id, uint64_t* hierarchy) {
  if (int err = CgroupIdFromFd(fd, id); err != -EBADF) {
    *hierarchy = 0;
    return err;
  }
  struct stat st;
  struct statfs sfs;
  if (fd < 0 || fstat(fd, &st) != 0 || fstatfs(fd, &sfs) != 0 ||
      static_cast<long>(sfs.f_type) != kCgroupSuperMagic ||
      !S_ISDIR(st.st_mode)) {
    return -EBADF;
  }
  *id = st.st_ino;
  *hierarchy = static_cast<uint64_t>(st.st_dev);
  return 0;
}

const std::string& Cgroup2Mount() {
  static const std::string* mount = [] {
    // mountinfo: "id parent major:minor root mountpoint opts ... - fstype".
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
      const size_t dash = line.find(" - ");
      if (dash == std::string::npos) continue;
      std::istringstream tail(line.substr(dash + 3));
      std::string fstype;
      tail >> fstype;
      if (fstype != "cgroup2") continue;
      std::istringstream head(line.substr(0, dash));
      std::string id, parent, dev, root, point;
      head >> id >> parent >> dev >> root >> point;
      if (root != "/") continue;  // a bind mount of a subtree
      return new std::string(point);
    }
    return new std::string();
  }();
  return *mount;
}

std::string CurrentCgroupPath() {
  if (current_override) return *current_override;
  static const std::string* process = new std::string(ProcessCgroupPath());
  return *process;
}

void SetCurrentCgroup(std::optional<std::string> path) {
  if (path && (path->empty() || (*path)[0] != '/')) path->insert(0, "/");
  current_override = std::move(path);
}

uint64_t CurrentCgroupId() {
  const uint64_t id = IdOfPath(CurrentCgroupPath());
  return id != 0 ? id : kRootCgroupId;
}

bool CurrentUnderCgroup(uint64_t id) {
  if (id == kRootCgroupId) return true;
  // cgroup_is_descendant(): walk from the current cgroup up to the root.
  std::string path = CurrentCgroupPath();
  while (path.size() > 1) {
    if (IdOfPath(path) == id) return true;
    const size_t slash = path.rfind('/');
    path.resize(slash == 0 ? 1 : slash);
  }
  return false;
}

uint64_t CurrentAncestorCgroupId(int level) {
  return AncestorOfPath(CurrentCgroupPath(), level);
}

uint64_t AncestorCgroupIdOf(uint64_t id, int level) {
  if (level < 0) return 0;
  std::string path = CurrentCgroupPath();
  if (IdOfPath(path) != id) {
    // Elsewhere in the hierarchy: its directory, searched from the root.
    path.clear();
    const std::string& mount = Cgroup2Mount();
    std::error_code ec;
    if (mount.empty()) return 0;
    for (auto it = std::filesystem::recursive_directory_iterator(
             mount, std::filesystem::directory_options::skip_permission_denied,
             ec);
         !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
      struct stat st;
      if (!it->is_directory(ec) || stat(it->path().c_str(), &st) != 0 ||
          st.st_ino != id) {
        continue;
      }
      path = it->path().string().substr(mount.size());
      break;
    }
    if (path.empty()) return 0;
  }
  return AncestorOfPath(path, level);
}

namespace {

// A cgroup handle (CgroupRefFromId): never freed, so a pointer a program
// kept stays a handle.
struct CgroupRef {
  uint64_t id;
  uint64_t refs = 0;
};

struct CgroupRefTable {
  std::mutex mu;
  std::map<uint64_t, CgroupRef*> by_id;
  std::set<const void*> handles;
  uint64_t refs = 0;
};

CgroupRefTable& RefTable() {
  static auto* t = new CgroupRefTable;
  return *t;
}

}  // namespace

void* CgroupRefFromId(uint64_t id) {
  // The root, or a directory of the cgroup2 hierarchy with that inode.
  if (id == 0 || Cgroup2Mount().empty()) return nullptr;
  if (id != kRootCgroupId && AncestorCgroupIdOf(id, 0) == 0) return nullptr;
  CgroupRefTable& t = RefTable();
  std::lock_guard<std::mutex> l(t.mu);
  CgroupRef*& r = t.by_id[id];
  if (r == nullptr) {
    r = new CgroupRef{id};
    t.handles.insert(r);
  }
  ++r->refs;
  ++t.refs;
  return r;
}

void* CgroupRefAcquire(void* cgrp) {
  CgroupRefTable& t = RefTable();
  std::lock_guard<std::mutex> l(t.mu);
  if (t.handles.count(cgrp) == 0) return nullptr;
  ++static_cast<CgroupRef*>(cgrp)->refs;
  ++t.refs;
  return cgrp;
}

int CgroupRefRelease(void* cgrp) {
  CgroupRefTable& t = RefTable();
  std::lock_guard<std::mutex> l(t.mu);
  if (t.handles.count(cgrp) == 0 || static_cast<CgroupRef*>(cgrp)->refs == 0) {
    return -EINVAL;
  }
  --static_cast<CgroupRef*>(cgrp)->refs;
  --t.refs;
  return 0;
}

bool CgroupRefId(const void* cgrp, uint64_t* id) {
  CgroupRefTable& t = RefTable();
  std::lock_guard<std::mutex> l(t.mu);
  if (t.handles.count(cgrp) == 0) return false;
  *id = static_cast<const CgroupRef*>(cgrp)->id;
  return true;
}

uint64_t CgroupRefs() {
  CgroupRefTable& t = RefTable();
  std::lock_guard<std::mutex> l(t.mu);
  return t.refs;
}

}  // namespace bpfemu
