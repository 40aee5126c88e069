// SPDX-License-Identifier: Apache-2.0
#include "emu/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
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
  // kfuncB47: a cgroup v1 cgroup's hierarchy id (0: cgroup2) and path.
  int v1 = 0;
  std::string path;
};

struct CgroupRefTable {
  std::mutex mu;
  std::map<uint64_t, CgroupRef*> by_id;
  std::map<std::pair<int, std::string>, CgroupRef*> by_v1_path;
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

namespace {

// The lines of /proc/TID/cgroup ("hierarchy:controllers:path"); the
// calling thread's own for tid <= 0 is not asked for (init_task).
std::vector<std::string> ProcCgroupLines(long tid) {
  std::vector<std::string> lines;
  const std::string file = tid == gettid()
                               ? std::string("/proc/thread-self/cgroup")
                               : "/proc/" + std::to_string(tid) + "/cgroup";
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Where the cgroup v1 hierarchy with these controllers ("memory",
// "cpu,cpuacct", "name=systemd") is mounted: the mount of fstype cgroup
// whose super options hold every one of them; "" when none is.
std::string V1Mount(const std::string& controllers) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype, source, opts;
    tail >> fstype >> source >> opts;
    if (fstype != "cgroup") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, point;
    head >> id >> parent >> dev >> root >> point;
    if (root != "/") continue;
    const std::string have = "," + opts + ",";
    bool all = true;
    std::istringstream want(controllers);
    std::string c;
    while (std::getline(want, c, ',')) {
      if (!c.empty() && have.find("," + c + ",") == std::string::npos) {
        all = false;
      }
    }
    if (all) return point;
  }
  return "";
}

// The handle (with a reference) of the v1 cgroup `path` of hierarchy
// `hid`, whose controllers are `controllers`. Called with t.mu held.
void* V1RefLocked(CgroupRefTable& t, int hid, const std::string& controllers,
                  const std::string& path) {
  CgroupRef*& r = t.by_v1_path[{hid, path}];
  if (r == nullptr) {
    r = new CgroupRef{0};
    r->v1 = hid;
    r->path = path;
    // The directory's inode is what a cgroup fd of it names (0 when the
    // hierarchy is not mounted here).
    const std::string mount = V1Mount(controllers);
    struct stat st;
    if (!mount.empty() &&
        stat((mount + (path == "/" ? "" : path)).c_str(), &st) == 0) {
      r->id = st.st_ino;
    }
    t.handles.insert(r);
  }
  ++r->refs;
  ++t.refs;
  return r;
}

// The controllers of v1 hierarchy `hid` in this process's /proc view.
std::string V1Controllers(int hid) {
  for (const std::string& line : ProcCgroupLines(gettid())) {
    const size_t c1 = line.find(':');
    const size_t c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    if (line.substr(0, c1) == std::to_string(hid)) {
      return line.substr(c1 + 1, c2 - c1 - 1);
    }
  }
  return "";
}

// The prefix of `path` of `level` components ("/" for 0), or "" when the
// path has fewer.
std::string PathPrefix(const std::string& path, int level) {
  if (level == 0) return "/";
  size_t end = 0;
  for (int i = 0; i < level; ++i) {
    if (end + 1 >= path.size()) return "";
    end = path.find('/', end + 1);
    if (end == std::string::npos) end = path.size();
  }
  return path.substr(0, end);
}

}  // namespace

std::string TaskCgroupPath(long tid) {
  if (tid <= 0) return "/";
  if (tid == gettid()) return CurrentCgroupPath();
  for (const std::string& line : ProcCgroupLines(tid)) {
    if (line.rfind("0::", 0) == 0) {
      const std::string path = line.substr(3);
      return path.empty() ? "/" : path;
    }
  }
  return "/";
}

bool TaskUnderCgroupRef(long tid, const void* cgrp) {
  uint64_t id = 0;
  {
    CgroupRefTable& t = RefTable();
    std::lock_guard<std::mutex> l(t.mu);
    if (t.handles.count(cgrp) == 0) return false;
    const auto* r = static_cast<const CgroupRef*>(cgrp);
    if (r->v1 != 0) return false;  // another hierarchy's root
    id = r->id;
  }
  if (id == kRootCgroupId) return true;
  // cgroup_is_descendant(): the task's cgroup and its ancestors.
  std::string path = TaskCgroupPath(tid);
  while (path.size() > 1) {
    if (IdOfPath(path) == id) return true;
    const size_t slash = path.rfind('/');
    path.resize(slash == 0 ? 1 : slash);
  }
  return IdOfPath("/") == id;
}

void* CgroupRefAncestor(const void* cgrp, int level) {
  CgroupRefTable& t = RefTable();
  int v1 = 0;
  uint64_t id = 0;
  std::string path;
  {
    std::lock_guard<std::mutex> l(t.mu);
    if (t.handles.count(cgrp) == 0) return nullptr;
    const auto* r = static_cast<const CgroupRef*>(cgrp);
    v1 = r->v1;
    id = r->id;
    path = r->path;
  }
  if (level < 0) return nullptr;
  if (v1 == 0) {
    // cgroup2: the root is level 0 whatever its inode.
    if (id == kRootCgroupId || (level == 0 && IdOfPath("/") == id)) {
      return level == 0 ? CgroupRefFromId(kRootCgroupId) : nullptr;
    }
    const uint64_t a = AncestorCgroupIdOf(id, level);
    if (a == 0) return nullptr;
    return CgroupRefFromId(level == 0 ? kRootCgroupId : a);
  }
  const std::string prefix = PathPrefix(path, level);
  if (prefix.empty()) return nullptr;
  const std::string controllers = V1Controllers(v1);
  std::lock_guard<std::mutex> l(t.mu);
  return V1RefLocked(t, v1, controllers, prefix);
}

void* CgroupRefOfTaskV1(long tid, int hierarchy_id) {
  if (hierarchy_id <= 0) return nullptr;
  // init_task (tid 0) is in every hierarchy's root; a task that is gone
  // in none (the kernel's task is alive while the program holds it).
  std::string controllers, path;
  for (const std::string& line : ProcCgroupLines(tid > 0 ? tid : gettid())) {
    const size_t c1 = line.find(':');
    const size_t c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    if (line.substr(0, c1) != std::to_string(hierarchy_id)) continue;
    controllers = line.substr(c1 + 1, c2 - c1 - 1);
    path = tid > 0 ? line.substr(c2 + 1) : "/";
    if (path.empty()) path = "/";
    break;
  }
  if (path.empty()) return nullptr;  // -ENOENT: no such hierarchy
  CgroupRefTable& t = RefTable();
  std::lock_guard<std::mutex> l(t.mu);
  return V1RefLocked(t, hierarchy_id, controllers, path);
}

bool CgroupRefOwner(const void* cgrp, uint64_t* id, uint64_t* hierarchy) {
  int v1 = 0;
  {
    CgroupRefTable& t = RefTable();
    std::lock_guard<std::mutex> l(t.mu);
    if (t.handles.count(cgrp) == 0) return false;
    const auto* r = static_cast<const CgroupRef*>(cgrp);
    v1 = r->v1;
    *id = r->id;
  }
  if (v1 == 0) {
    *hierarchy = 0;
    return true;
  }
  const std::string mount = V1Mount(V1Controllers(v1));
  struct stat st;
  if (*id == 0 || mount.empty() || stat(mount.c_str(), &st) != 0) return false;
  *hierarchy = static_cast<uint64_t>(st.st_dev);
  return true;
}

namespace {

// The path below the cgroup2 mount of cgroup2 cgroup `id` ("/" for the
// root), or "" when it is none.
std::string Cgroup2PathOf(uint64_t id) {
  const std::string& mount = Cgroup2Mount();
  if (mount.empty()) return "";
  if (id == kRootCgroupId || IdOfPath("/") == id) return "/";
  std::string path = CurrentCgroupPath();
  while (path.size() > 1) {
    if (IdOfPath(path) == id) return path;
    const size_t slash = path.rfind('/');
    path.resize(slash == 0 ? 1 : slash);
  }
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           mount, std::filesystem::directory_options::skip_permission_denied,
           ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st;
    if (it->is_directory(ec) && stat(it->path().c_str(), &st) == 0 &&
        st.st_ino == id) {
      return it->path().string().substr(mount.size());
    }
  }
  return "";
}

// The cgroup2 id of a handle, or 0 (no handle, a v1 cgroup).
uint64_t Cgroup2IdOf(const void* cgrp) {
  CgroupRefTable& t = RefTable();
  std::lock_guard<std::mutex> l(t.mu);
  if (t.handles.count(cgrp) == 0) return 0;
  const auto* r = static_cast<const CgroupRef*>(cgrp);
  return r->v1 == 0 ? r->id : 0;
}

// The child cgroups of `path`, in creation order: (id, name) by id.
std::vector<std::pair<uint64_t, std::string>> Children(
    const std::string& path) {
  std::vector<std::pair<uint64_t, std::string>> out;
  const std::string dir = Cgroup2Mount() + (path == "/" ? "" : path);
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (it->is_directory(ec) && stat(it->path().c_str(), &st) == 0) {
      out.emplace_back(st.st_ino, it->path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ParentPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

void* CgroupRefPeek(uint64_t id) {
  void* r = CgroupRefFromId(id);
  if (r != nullptr) CgroupRefRelease(r);
  return r;
}

void* CgroupRefParent(const void* cgrp) {
  const uint64_t id = Cgroup2IdOf(cgrp);
  if (id == 0) return nullptr;
  const std::string path = Cgroup2PathOf(id);
  if (path.empty() || path == "/") return nullptr;
  const std::string parent = ParentPath(path);
  return CgroupRefPeek(parent == "/" ? kRootCgroupId : IdOfPath(parent));
}

void* CgroupRefFirstChild(const void* cgrp) {
  const uint64_t id = Cgroup2IdOf(cgrp);
  if (id == 0) return nullptr;
  const std::string path = Cgroup2PathOf(id);
  if (path.empty()) return nullptr;
  const auto children = Children(path);
  return children.empty() ? nullptr : CgroupRefPeek(children[0].first);
}

void* CgroupRefNextSibling(const void* cgrp) {
  const uint64_t id = Cgroup2IdOf(cgrp);
  if (id == 0) return nullptr;
  const std::string path = Cgroup2PathOf(id);
  if (path.empty() || path == "/") return nullptr;
  const uint64_t own = IdOfPath(path);
  for (const auto& [child, name] : Children(ParentPath(path))) {
    if (child > own) return CgroupRefPeek(child);
  }
  return nullptr;
}

bool CgroupRefTasks(const void* cgrp, bool procs, std::vector<long>* tids) {
  const uint64_t id = Cgroup2IdOf(cgrp);
  if (id == 0) return false;
  const std::string path = Cgroup2PathOf(id);
  if (path.empty()) return false;
  std::ifstream in(Cgroup2Mount() + (path == "/" ? "" : path) +
                   (procs ? "/cgroup.procs" : "/cgroup.threads"));
  long tid;
  while (in >> tid) tids->push_back(tid);
  return true;
}

}  // namespace bpfemu
