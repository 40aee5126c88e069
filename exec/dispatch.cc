// SPDX-License-Identifier: Apache-2.0
// The bpf() commands of a supervised process, served on the emulator:
// __sys_bpf() of kernel/bpf/syscall.c (attr size rules, CHECK_ATTR, the
// command switch), with every user pointer read from or written to the
// caller's memory as copy_from_user / copy_to_user would (EFAULT). The
// commands' own checks are the emulator's (emu/syscall.h, emu/prog.h,
// loader/bytecode.h); what is answered here, and why, is in docs/exec.md.
#include <dirent.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "emu/bpf_attr.h"
#include "emu/bpffs.h"
#include "emu/btf.h"
#include "emu/cgroup_attach.h"
#include "emu/errno.h"
#include "emu/map.h"
#include "emu/map_in_map.h"
#include "emu/perf_event.h"
#include "emu/prog.h"
#include "emu/ringbuf.h"
#include "emu/socket_probe.h"
#include "emu/stream.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "exec/dispatch.h"
#include "loader/bytecode.h"
#include "loader/test_run.h"

namespace bpfemu::exec {
namespace {

constexpr uint32_t kPathFdFlag = 1u << 14;  // BPF_F_PATH_FD (6.5)
constexpr uint32_t kPage = 4096;
// Buffers a single command may make the supervisor allocate.
constexpr uint64_t kMaxBuffer = uint64_t{256} << 20;

template <typename T>
T Get(const uint8_t* attr, size_t off) {
  T v;
  std::memcpy(&v, attr + off, sizeof(v));
  return v;
}

// Commands that exist but that an unprivileged process cannot use on this
// machine's kernel (kernel.unprivileged_bpf_disabled: __sys_bpf answers
// EPERM before anything else): links, queries of tasks, iterators,
// tokens. bpfemu has no kernel objects to attach to. (BPF_PROG_ATTACH,
// _DETACH, _QUERY and BPF_LINK_CREATE, _UPDATE, _DETACH are served for
// cgroups, CgroupAttach and LinkCreate.)
bool AnsweredEperm(int cmd) {
  switch (cmd) {
    case BPF_RAW_TRACEPOINT_OPEN:
    case BPF_TASK_FD_QUERY:
    case BPF_LINK_GET_FD_BY_ID:
    case BPF_LINK_GET_NEXT_ID:
    case BPF_ITER_CREATE:
    case 36:  // BPF_TOKEN_CREATE (6.9)
      return true;
    default:
      return false;
  }
}

// The file a caller holds for a link: p[0] of a
// stream socket pair whose other end p[1] stays with the supervisor, shut
// for writing, so that the caller's read() answers 0 at once and poll()
// reports it readable (the kernel's link file: read EINVAL, poll ready), while
// p[1] still sees the caller's last close (PeerClosed). 0, or -1 with errno.
int HalfClosedPair(int p[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0) return -1;
  if (shutdown(p[1], SHUT_WR) != 0) {
    const int saved = errno;
    close(p[0]);
    close(p[1]);
    errno = saved;
    return -1;
  }
  return 0;
}

// Whether the caller's side of a HalfClosedPair is closed everywhere: both
// directions of p[1] are shut then (POLLHUP).
bool PeerClosed(int supervisor_end) {
  struct pollfd pfd = {supervisor_end, POLLIN, 0};
  return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

bool HashBatchCursor(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_HASH_OF_MAPS:
      return true;
    default:
      return false;
  }
}

// A key pointer as the emulator takes it: NULL stays NULL; for a map
// without keys any other pointer is refused before it is read (EINVAL);
// else the bytes read, or NULL when they cannot be (the emulator then
// answers EFAULT at the kernel's point).
const void* KeyArg(Call& c, uint64_t ptr, uint32_t key_size,
                   std::vector<uint8_t>* buf) {
  static const uint8_t kNoKey = 0;
  if (ptr == 0) return nullptr;
  if (key_size == 0) return &kNoKey;
  buf->assign(key_size, 0);
  if (c.Read(ptr, buf->data(), key_size) != 0) return nullptr;
  return buf->data();
}

}  // namespace

// The thread group of caller thread `tid` (/proc/TID/status), or tid.
pid_t CallerTgidOf(pid_t tid) {
  pid_t tgid = tid;
  std::FILE* f =
      std::fopen(("/proc/" + std::to_string(tid) + "/status").c_str(), "re");
  if (f == nullptr) return tgid;
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, "Tgid:", 5) == 0) {
      tgid = static_cast<pid_t>(std::strtol(line + 5, nullptr, 10));
      break;
    }
  }
  std::fclose(f);
  return tgid;
}

int64_t Dispatcher::Serve(Call& c, int cmd, uint64_t uattr, uint32_t size) {
  if (!interrupted_.empty() && cmd != BPF_PROG_TEST_RUN) {
    interrupted_.erase(c.pid());
  }
  // __sys_bpf(): unprivileged_bpf_disabled answers these before anything.
  if (AnsweredEperm(cmd)) return -EPERM;
  // bpf_check_uarg_tail_zero(): at most a page; bytes beyond the kernel's
  // union must be zero (E2BIG), and readable (EFAULT).
  const uint32_t asz = BpfAttrSize();
  if (size > kPage) return -E2BIG;
  if (size > asz) {
    std::vector<uint8_t> tail(size - asz);
    if (c.Read(uattr + asz, tail.data(), tail.size()) != 0) return -EFAULT;
    for (uint8_t b : tail) {
      if (b != 0) return -E2BIG;
    }
    size = asz;
  }
  uint8_t attr[168] = {};
  if (c.Read(uattr, attr, size) != 0) return -EFAULT;
  const uint32_t end = BpfAttrLastFieldEnd(cmd);
  if (end == 0) return -EINVAL;  // the switch's default
  // CHECK_ATTR(): nothing beyond the command's last field.
  for (uint32_t i = end; i < asz; ++i) {
    if (attr[i] != 0) return -EINVAL;
  }
  switch (cmd) {
    case BPF_MAP_CREATE:
      return MapCreate(c, attr);
    case BPF_MAP_LOOKUP_ELEM:
    case BPF_MAP_UPDATE_ELEM:
    case BPF_MAP_DELETE_ELEM:
    case BPF_MAP_GET_NEXT_KEY:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
    case BPF_MAP_FREEZE:
      return Elem(c, cmd, attr);
    case BPF_MAP_LOOKUP_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
    case BPF_MAP_UPDATE_BATCH:
    case BPF_MAP_DELETE_BATCH:
      return Batch(c, cmd, uattr, attr);
    case BPF_OBJ_PIN:
      return ObjPin(c, attr);
    case BPF_OBJ_GET:
      return ObjGet(c, attr);
    case BPF_OBJ_GET_INFO_BY_FD:
      return GetInfo(c, uattr, attr);
    case BPF_MAP_GET_NEXT_ID:
    case BPF_PROG_GET_NEXT_ID:
    case BPF_BTF_GET_NEXT_ID:
      return NextId(c, cmd, uattr, attr);
    case BPF_MAP_GET_FD_BY_ID:
    case BPF_PROG_GET_FD_BY_ID:
    case BPF_BTF_GET_FD_BY_ID:
      return FdById(c, cmd, attr);
    case BPF_BTF_LOAD:
      return BtfLoad(c, uattr, attr, size);
    case BPF_PROG_BIND_MAP:
      return BindMap(c, attr);
    case BPF_PROG_ATTACH:
      return CgroupAttach(c, attr);
    case BPF_PROG_DETACH:
      return CgroupDetach(c, attr);
    case BPF_PROG_QUERY:
      return CgroupQuery(c, uattr, attr, size);
    case BPF_LINK_CREATE:
      return LinkCreate(c, attr);
    case BPF_LINK_UPDATE:
      return LinkUpdate(c, attr);
    case BPF_LINK_DETACH:
      return LinkDetach(c, attr);
    case BPF_ENABLE_STATS:
      return EnableStats(c, attr);
    case kBpfProgStreamReadByFd:
      return StreamRead(c, attr);
    case BPF_PROG_LOAD:
      return ProgLoad(c, uattr, attr, size);
    case BPF_PROG_TEST_RUN:
      return TestRun(c, uattr, attr);
    default:
      return -EINVAL;
  }
}

// --- descriptors ---

int64_t Dispatcher::UpdateWithCallerSocket(Call& c, int local, const void* key,
                                           std::vector<uint8_t>* value,
                                           uint64_t flags) {
  int64_t ufd;
  if (value->size() == sizeof(uint64_t)) {
    uint64_t fd64;
    std::memcpy(&fd64, value->data(), sizeof(fd64));
    // Above INT_MAX: the map's own EINVAL, after its earlier checks.
    if (fd64 > INT32_MAX)
      return bpfemu::MapUpdateElem(local, key, value->data(), flags);
    ufd = static_cast<int64_t>(fd64);
  } else {
    int32_t fd32;
    std::memcpy(&fd32, value->data(), sizeof(fd32));
    ufd = fd32;
  }
  const int lfd = c.GetFd(static_cast<int>(ufd));
  // Not open in the caller: an fd this process does not have (EBADF from
  // the map, after the checks that precede it).
  const int64_t passed = lfd >= 0 ? lfd : INT32_MAX;
  std::memcpy(value->data(), &passed, value->size());
  int r;
  {
    bpfemu::ScopedSocketOwner owner(CallerTgidOf(c.pid()),
                                    static_cast<int>(ufd));
    r = bpfemu::MapUpdateElem(local, key, value->data(), flags);
  }
  if (lfd >= 0) close(lfd);
  return r;
}

int Dispatcher::NotAMapFd() {
  if (not_a_map_ < 0) not_a_map_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return not_a_map_;
}

Dispatcher::~Dispatcher() {
  DropLost();
  if (not_a_map_ >= 0) close(not_a_map_);
  for (auto& [key, fd] : maps_) (void)CloseFd(fd);
  for (auto& [key, fd] : progs_) (void)CloseFd(fd);
  for (auto& [key, fd] : btfs_) (void)CloseFd(fd);
  for (auto& [key, fd] : held_) (void)CloseFd(fd);
  for (auto& [key, fd] : perfs_) (void)PerfEventClose(fd);
  for (int fd : stats_) close(fd);
  for (auto& [key, l] : links_) {
    close(l.write_end);
    (void)CloseFd(l.local);
  }
  for (auto& [key, l] : link_pins_) {
    close(l.file);
    (void)CloseFd(l.local);
  }
}

int Dispatcher::MapFdForId(uint32_t id) const {
  for (const auto& [key, fd] : maps_) {
    std::shared_ptr<Map> m = MapFromFd(fd);
    if (m != nullptr && m->id() == id) return fd;
  }
  return -1;
}

std::vector<uint32_t> Dispatcher::MapIds() const {
  std::vector<uint32_t> ids;
  for (const auto& [key, fd] : maps_) {
    std::shared_ptr<Map> m = MapFromFd(fd);
    if (m != nullptr) ids.push_back(m->id());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

size_t Dispatcher::OpenFds() const {
  size_t lost = 0;
  for (const auto& [tid, l] : lost_) lost += l.fd >= 0;
  return maps_.size() + progs_.size() + btfs_.size() + held_.size() +
         perfs_.size() + stats_.size() + 2 * links_.size() +
         2 * link_pins_.size() + (not_a_map_ >= 0) + polls_.OpenFds() + lost;
}

namespace {

// kcmp(KCMP_FILE): whether the caller's fd and ours are one struct file
// (kernel/kcmp.c). One system call instead of pidfd_open, pidfd_getfd,
// fstat, fcntl and two closes; not built without CONFIG_KCMP.
bool SameFile(pid_t pid, int child_fd, int local) {
  static const pid_t self = getpid();
  static const bool available =
      syscall(SYS_kcmp, self, self, 0 /* KCMP_FILE */, 0, 0) >= 0 ||
      errno != ENOSYS;
  // getpid() again: a supervisor that forked is another process.
  return available && syscall(SYS_kcmp, pid, getpid(), 0 /* KCMP_FILE */,
                              child_fd, local) == 0;
}

}  // namespace

bool Dispatcher::Cached(Call& c, int child_fd, int kind, int* local) {
  auto it = fd_cache_.find({c.pid(), child_fd});
  if (it == fd_cache_.end() || it->second.kind != kind) return false;
  if (!SameFile(c.pid(), child_fd, it->second.local)) {
    fd_cache_.erase(it);
    return false;
  }
  *local = it->second.local;
  c.NoteFd(child_fd, *local);
  return true;
}

void Dispatcher::Remember(Call& c, int child_fd, int kind, int local) {
  if (fd_cache_.size() >= 4096) fd_cache_.clear();
  if (SameFile(c.pid(), child_fd, local)) {
    fd_cache_[{c.pid(), child_fd}] = {local, kind};
  }
}

int Dispatcher::LocalMap(Call& c, int child_fd, int* local) {
  if (Cached(c, child_fd, 1, local)) return 0;
  const int err = LocalMapSlow(c, child_fd, local);
  if (err == 0) Remember(c, child_fd, 1, *local);
  return err;
}

int Dispatcher::LocalMapSlow(Call& c, int child_fd, int* local) {
  const int t = c.GetFd(child_fd);
  if (t < 0) return t;
  struct stat st;
  if (fstat(t, &st) != 0) {
    close(t);
    return -EBADF;
  }
  const int acc = fcntl(t, F_GETFL) & O_ACCMODE;
  const FileKey key{st.st_dev, st.st_ino, acc};
  if (auto it = maps_.find(key); it != maps_.end()) {
    close(t);
    *local = it->second;
    return 0;
  }
  if (progs_.count({st.st_dev, st.st_ino, 0}) != 0 || !S_ISREG(st.st_mode)) {
    close(t);
    return -EINVAL;  // __bpf_map_get: a file that is not a map
  }
  // A map file this process has not seen (opened by path, received from
  // another supervisor's child): attached and validated as any region.
  if (AttachMapFd(t, acc != O_WRONLY, acc != O_RDONLY) != 0) {
    close(t);
    return -EINVAL;
  }
  maps_[key] = t;
  *local = t;
  return 0;
}

int Dispatcher::LocalProg(Call& c, int child_fd, int* local) {
  return LocalObject(c, child_fd, 2, progs_, local);
}

int Dispatcher::LocalBtf(Call& c, int child_fd, int* local) {
  return LocalObject(c, child_fd, 3, btfs_, local);
}

int Dispatcher::LocalObject(Call& c, int child_fd, int kind,
                            const std::map<FileKey, int>& table, int* local) {
  if (Cached(c, child_fd, kind, local)) return 0;
  const int t = c.GetFd(child_fd);
  if (t < 0) return t;
  struct stat st;
  const bool ok = fstat(t, &st) == 0;
  close(t);
  if (!ok) return -EBADF;
  auto it = table.find({st.st_dev, st.st_ino, 0});
  // bpf_prog_get / btf_get_by_fd: a file of another kind.
  if (it == table.end()) return -EINVAL;
  *local = it->second;
  Remember(c, child_fd, kind, *local);
  return 0;
}

int Dispatcher::GiveMap(Call& c, int local, bool readable, bool writable) {
  struct stat st;
  if (fstat(local, &st) != 0) {
    (void)CloseFd(local);
    return -EBADF;
  }
  const int acc = readable && writable ? O_RDWR
                  : readable           ? O_RDONLY
                                       : O_WRONLY;
  const FileKey key{st.st_dev, st.st_ino, acc};
  auto it = maps_.find(key);
  if (it != maps_.end()) {
    // Known: the caller gets that file (the kernel would open another
    // struct file with the same mode; nothing tells them apart but
    // F_SETFL flags and the file position, which maps do not use). The
    // new fd is not needed: the known one holds the map.
    (void)CloseFd(local);
  } else if ((fcntl(local, F_GETFL) & O_ACCMODE) == acc) {
    maps_[key] = local;
    UndoEntry(&maps_, key);
  } else {
    // The access mode travels in the file's own mode, as f_mode carries
    // BPF_F_RDONLY / BPF_F_WRONLY in the kernel.
    const std::string self = "/proc/self/fd/" + std::to_string(local);
    const int t = open(self.c_str(), acc | O_CLOEXEC);
    if (t < 0) {
      const int err = -errno;
      (void)CloseFd(local);
      return err;
    }
    if (int err = AttachMapFd(t, readable, writable); err != 0) {
      close(t);
      (void)CloseFd(local);
      return err;
    }
    maps_[key] = t;
    held_[key] = local;
    UndoEntry(&maps_, key);
  }
  const int err = c.AnswerWithFd(maps_[key]);
  // Collected after the answer (Answered): the child holds the map then.
  ++given_;
  return err;
}

int Dispatcher::GiveObject(Call& c, int local, std::map<FileKey, int>* table) {
  struct stat st;
  if (fstat(local, &st) != 0) {
    (void)CloseFd(local);
    return -EBADF;
  }
  const FileKey key{st.st_dev, st.st_ino, 0};
  auto it = table->find(key);
  if (it == table->end()) {
    (*table)[key] = local;
    UndoEntry(table, key);
  } else if (it->second != local) {
    (void)CloseFd(local);
  }
  const int err = c.AnswerWithFd((*table)[key]);
  ++given_;
  return err;
}

namespace {
std::set<std::pair<uint64_t, uint64_t>> FilesHeldElsewhere();
}  // namespace

const std::set<std::pair<uint64_t, uint64_t>>& Dispatcher::HeldForUndo() {
  if (!undo_held_) undo_held_ = FilesHeldElsewhere();
  return *undo_held_;
}

void Dispatcher::UndoEntry(std::map<FileKey, int>* table, const FileKey& key) {
  undo_.push_back([this, table, key] {
    auto it = table->find(key);
    if (it == table->end()) return;
    // A caller already holds the object (another thread got it by id or
    // by path before the lost call was given up, and holds its fd or a
    // mapping of it): it stays, as the kernel's finished call left it.
    if (HeldForUndo().count({key.dev, key.ino}) != 0) return;
    (void)CloseFd(it->second);
    table->erase(it);
    if (table == &maps_) {
      if (auto h = held_.find(key); h != held_.end()) {
        (void)CloseFd(h->second);
        held_.erase(h);
      }
    }
  });
}

// --- lost answers ---

bool Dispatcher::IsBpfCall(const struct seccomp_data& d) {
  // x86-64 (and x32) bpf is 321, i386's 357.
  return (d.arch == AUDIT_ARCH_X86_64 && (d.nr & ~0x40000000) == 321) ||
         (d.arch == AUDIT_ARCH_I386 && d.nr == 357);
}

std::vector<uint8_t> Dispatcher::AttrOf(const Call& c,
                                        const struct seccomp_data& d) {
  std::vector<uint8_t> attr;
  if (!IsBpfCall(d)) return attr;
  attr.resize(
      std::min<uint64_t>(static_cast<uint32_t>(d.args[2]), BpfAttrSize()));
  if (c.Read(d.args[1], attr.data(), attr.size()) != 0) attr.clear();
  return attr;
}

void Dispatcher::Undo(Lost* l) {
  // One scan of /proc for all of this call's entries (HeldForUndo).
  undo_held_.reset();
  for (auto it = l->undo.rbegin(); it != l->undo.rend(); ++it) (*it)();
  undo_held_.reset();
  l->undo.clear();
  if (l->fd >= 0) close(l->fd);
  l->fd = -1;
  fd_cache_.clear();  // fds closed here may be reused
}

bool Dispatcher::Replay(Call& c, const struct seccomp_notif& n, int64_t* r) {
  if (lost_.empty()) return false;
  auto it = lost_.find(c.pid());
  if (it == lost_.end()) return false;
  Lost& l = it->second;
  const bool same =
      l.data.nr == n.data.nr && l.data.arch == n.data.arch &&
      l.data.instruction_pointer == n.data.instruction_pointer &&
      std::memcmp(l.data.args, n.data.args, sizeof(l.data.args)) == 0 &&
      AttrOf(c, n.data) == l.attr && c.StillSees(l.seen);
  // The restart's answer depends on what the lost call read; another call
  // reads its own.
  if (same) {
    c.SetSeen(std::move(l.seen));
  } else {
    c.ForgetSeen();
  }
  if (!same) {
    // Another call: the lost one was not restarted (the caller saw EINTR
    // and moved on); what it made goes.
    Undo(&l);
    lost_.erase(it);
    return false;
  }
  *r = l.r;
  int err = 0;
  if (l.fd >= 0) err = c.AnswerWithFd(l.fd, l.cloexec);
  if (err != 0) {
    Undo(&l);
    lost_.erase(it);
    *r = err;
    return true;
  }
  // The restart owns the answer now: lost again, it is kept again
  // (Unanswered), with the same undo entries.
  undo_ = std::move(l.undo);
  if (l.fd >= 0) close(l.fd);
  lost_.erase(it);
  return true;
}

void Dispatcher::Unanswered(Call& c, const struct seccomp_notif& n, int64_t r,
                            bool keep) {
  polls_.Unanswered();
  Lost l;
  l.data = n.data;
  l.r = r;
  l.fd = c.TakeAnswerFd(&l.cloexec);
  l.undo = std::move(undo_);
  undo_.clear();
  if (!keep) {
    Undo(&l);
    return;
  }
  l.seen = c.TakeSeen();
  l.attr = AttrOf(c, n.data);
  if (auto old = lost_.find(c.pid()); old != lost_.end()) {
    Undo(&old->second);
    lost_.erase(old);
  }
  lost_.emplace(c.pid(), std::move(l));
}

void Dispatcher::Answered() {
  undo_.clear();
  // A kept answer whose caller is gone is not restarted.
  for (auto it = lost_.begin(); it != lost_.end();) {
    if (kill(it->first, 0) != 0 && errno == ESRCH) {
      Undo(&it->second);
      it = lost_.erase(it);
    } else {
      ++it;
    }
  }
  if (given_ >= kCollectEvery) Collect();
}

void Dispatcher::DropLost() {
  for (auto& [tid, l] : lost_) Undo(&l);
  lost_.clear();
}

// --- maps ---

int64_t Dispatcher::MapCreate(Call& c, const uint8_t* a) {
  MapAttr attr;
  if (int err = MapAttrFromBpfAttr(a, &attr); err != 0) return err;
  // The inner map template of a map-of-maps is the caller's fd.
  const uint32_t inner = Get<uint32_t>(a, 20);
  if (inner != 0 && (attr.map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
                     attr.map_type == BPF_MAP_TYPE_HASH_OF_MAPS)) {
    int local;
    if (int err = LocalMap(c, static_cast<int>(inner), &local); err != 0) {
      return err;
    }
    attr.inner_map_fd = static_cast<uint32_t>(local);
  } else {
    attr.inner_map_fd = inner;
  }
  // map_create(): the BTF fd is looked at only when a type id is given;
  // it is the caller's. A file that is not BTF stays one for the
  // emulator (EINVAL), a closed number stays closed (EBADF).
  if (attr.btf_key_type_id != 0 || attr.btf_value_type_id != 0 ||
      attr.btf_vmlinux_value_type_id != 0) {
    int btf;
    const int err = LocalBtf(c, static_cast<int>(attr.btf_fd), &btf);
    attr.btf_fd = static_cast<uint32_t>(err == 0        ? btf
                                        : err == -EBADF ? -1
                                                        : NotAMapFd());
  }
  const int local = bpfemu::MapCreate(attr);
  if (local < 0) return local;
  return GiveMap(c, local, !(attr.map_flags & BPF_F_WRONLY),
                 !(attr.map_flags & BPF_F_RDONLY));
}

int64_t Dispatcher::Elem(Call& c, int cmd, const uint8_t* a) {
  const int child_fd = Get<int32_t>(a, 0);
  const uint64_t key_ptr = Get<uint64_t>(a, 8);
  const uint64_t val_ptr = Get<uint64_t>(a, 16);
  const uint64_t flags = Get<uint64_t>(a, 24);
  // Checked before the fd, as map_lookup_elem does.
  if ((cmd == BPF_MAP_LOOKUP_ELEM || cmd == BPF_MAP_LOOKUP_AND_DELETE_ELEM) &&
      (flags & ~uint64_t{BPF_F_LOCK})) {
    return -EINVAL;
  }
  int local;
  if (int err = LocalMap(c, child_fd, &local); err != 0) return err;
  if (cmd == BPF_MAP_FREEZE) return bpfemu::MapFreeze(local);
  std::shared_ptr<Map> m = MapFromFd(local);
  if (m == nullptr) return -EINVAL;
  std::vector<uint8_t> kbuf, vbuf;
  const void* key = KeyArg(c, key_ptr, m->key_size(), &kbuf);
  // Local storage keys are the caller's fds (a socket, a pidfd, any file:
  // sockfd_lookup, pidfd_get_pid, fdget_raw): a copy of the caller's file
  // stands in for the call, or a closed number (EBADF) when it has none.
  struct KeyFile {
    int fd = -1;
    ~KeyFile() {
      if (fd >= 0) close(fd);
    }
  } key_file;
  const uint32_t type = m->type();
  if (key != nullptr &&
      (type == BPF_MAP_TYPE_SK_STORAGE || type == BPF_MAP_TYPE_TASK_STORAGE ||
       type == BPF_MAP_TYPE_INODE_STORAGE)) {
    key_file.fd = c.GetFd(Get<int32_t>(kbuf.data(), 0));
    const int32_t local_key = key_file.fd >= 0 ? key_file.fd : INT32_MAX;
    std::memcpy(kbuf.data(), &local_key, sizeof(local_key));
  }
  const uint32_t vsize = m->SyscallValueSize();
  switch (cmd) {
    case BPF_MAP_LOOKUP_ELEM:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM: {
      void* value = nullptr;
      if (val_ptr != 0) {
        vbuf.assign(vsize, 0);
        value = vbuf.data();
        // A value the lookup reads (bloom filter): unreadable is EFAULT.
        if (m->LookupTakesValue() && c.Read(val_ptr, value, vsize) != 0) {
          value = nullptr;
        }
      }
      const int r =
          cmd == BPF_MAP_LOOKUP_ELEM
              ? bpfemu::MapLookupElem(local, key, value, flags)
              : bpfemu::MapLookupAndDeleteElem(local, key, value, flags);
      if (r != 0) return r;
      if (m->LookupTakesValue()) return 0;
      return c.Write(val_ptr, vbuf.data(), vsize);
    }
    case BPF_MAP_UPDATE_ELEM: {
      const void* value = nullptr;
      if (val_ptr != 0) {
        vbuf.assign(vsize, 0);
        if (c.Read(val_ptr, vbuf.data(), vsize) == 0) value = vbuf.data();
      }
      // REUSEPORT_SOCKARRAY's and XSKMAP's value is a socket fd of the
      // caller (u32, or u64 up to INT_MAX): its duplicate here, and the
      // caller recorded as the process whose descriptor keeps the socket in
      // the map.
      if (value != nullptr && (m->type() == BPF_MAP_TYPE_REUSEPORT_SOCKARRAY ||
                               m->type() == BPF_MAP_TYPE_XSKMAP)) {
        return UpdateWithCallerSocket(c, local, key, &vbuf, flags);
      }
      // Values that are fds: the caller's fd, resolved here
      // (map_fd_get_ptr). A cgroup is a real directory: the caller's fd
      // is taken over (pidfd_getfd) for the update. Sockets have no
      // emulated files to find: an fd no process holds.
      if (value != nullptr && vsize == sizeof(uint32_t)) {
        const uint32_t t = m->type();
        const int32_t ufd = Get<int32_t>(vbuf.data(), 0);
        int lfd = -1;
        int err = 0;
        if (t == BPF_MAP_TYPE_CGROUP_ARRAY) {
          const int cgroup_fd = ufd >= 0 ? c.GetFd(ufd) : -EBADF;
          const int32_t pass = cgroup_fd >= 0 ? cgroup_fd : INT32_MAX;
          std::memcpy(vbuf.data(), &pass, sizeof(pass));
          const int r = bpfemu::MapUpdateElem(local, key, value, flags);
          if (cgroup_fd >= 0) close(cgroup_fd);
          return r;
        }
        if (t == BPF_MAP_TYPE_ARRAY_OF_MAPS || t == BPF_MAP_TYPE_HASH_OF_MAPS) {
          err = LocalMap(c, ufd, &lfd);
        } else if (t == BPF_MAP_TYPE_PROG_ARRAY) {
          err = LocalProg(c, ufd, &lfd);
        } else if (t == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
          // perf_event_get(): any file but a perf event is EBADF; the
          // emulated events are the ones perf_event_open handed out here
          // (perf_open.cc), a kernel perf event is not one of them.
          err = LocalPerf(c, ufd, &lfd) == 0 ? 0 : -EBADF;
        } else if (t == BPF_MAP_TYPE_SOCKMAP || t == BPF_MAP_TYPE_SOCKHASH) {
          err = -EBADF;
        } else {
          lfd = ufd;
        }
        // The caller's answer for a bad fd comes from the map's own
        // update, after the checks that precede it: an fd no process has
        // open (EBADF), or an open file that is not a map (EINVAL).
        if (err != 0) lfd = err == -EBADF ? INT32_MAX : NotAMapFd();
        std::memcpy(vbuf.data(), &lfd, sizeof(lfd));
      }
      return bpfemu::MapUpdateElem(local, key, value, flags);
    }
    case BPF_MAP_DELETE_ELEM:
      return bpfemu::MapDeleteElem(local, key);
    case BPF_MAP_GET_NEXT_KEY: {
      std::vector<uint8_t> next(m->key_size());
      // A NULL key asks for the first key; an unreadable one is EFAULT.
      if (key_ptr != 0 && key == nullptr) return -EFAULT;
      const int r = bpfemu::MapGetNextKey(local, key,
                                          val_ptr != 0 ? next.data() : nullptr);
      if (r != 0) return r;
      return c.Write(val_ptr, next.data(), next.size());
    }
  }
  return -EINVAL;
}

int64_t Dispatcher::Batch(Call& c, int cmd, uint64_t uattr, const uint8_t* a) {
  const uint64_t in_ptr = Get<uint64_t>(a, 0);
  const uint64_t out_ptr = Get<uint64_t>(a, 8);
  const uint64_t keys_ptr = Get<uint64_t>(a, 16);
  const uint64_t values_ptr = Get<uint64_t>(a, 24);
  const uint32_t count = Get<uint32_t>(a, 32);
  const int child_fd = Get<int32_t>(a, 36);
  const uint64_t elem_flags = Get<uint64_t>(a, 40);
  const uint64_t flags = Get<uint64_t>(a, 48);
  int local;
  if (int err = LocalMap(c, child_fd, &local); err != 0) return err;
  std::shared_ptr<Map> m = MapFromFd(local);
  if (m == nullptr) return -EINVAL;
  const uint64_t ksz = m->key_size();
  const uint64_t vsz = m->SyscallValueSize();
  const bool lookup =
      cmd == BPF_MAP_LOOKUP_BATCH || cmd == BPF_MAP_LOOKUP_AND_DELETE_BATCH;
  // A lookup returns at most max_entries elements; an update or delete
  // walks the caller's arrays, read here up front.
  uint64_t n = count;
  if (lookup)
    n = std::min<uint64_t>(n, std::max<uint32_t>(m->max_entries(), 1));
  if (n * (ksz + vsz) > kMaxBuffer) return -ENOMEM;
  std::vector<uint8_t> keys(n * ksz), values(n * vsz);
  const size_t csz = HashBatchCursor(m->type()) ? sizeof(uint32_t) : ksz;
  std::vector<uint8_t> in(std::max<size_t>(csz, 1)), out(in.size(), 0xa5);
  std::vector<uint8_t> out_before = out;
  uint32_t cnt = static_cast<uint32_t>(n);
  uint64_t readable = n;
  if (!lookup) {
    // The kernel copies element by element and stops at the first that
    // faults (EFAULT, count = the elements done): find that element.
    auto ok = [&](uint64_t i) {
      if (keys_ptr != 0 && ksz != 0 &&
          c.Read(keys_ptr + i * ksz, keys.data() + i * ksz, ksz) != 0) {
        return false;
      }
      if (cmd == BPF_MAP_UPDATE_BATCH && values_ptr != 0 && vsz != 0 &&
          c.Read(values_ptr + i * vsz, values.data() + i * vsz, vsz) != 0) {
        return false;
      }
      return true;
    };
    const bool all =
        (keys_ptr == 0 || c.Read(keys_ptr, keys.data(), keys.size()) == 0) &&
        (cmd != BPF_MAP_UPDATE_BATCH || values_ptr == 0 ||
         c.Read(values_ptr, values.data(), values.size()) == 0);
    if (!all) {
      readable = 0;
      while (readable < n && ok(readable)) ++readable;
      cnt = static_cast<uint32_t>(readable);
    }
  } else {
    if (in_ptr != 0 && c.Read(in_ptr, in.data(), csz) != 0) return -EFAULT;
    if (out_ptr != 0) {
      (void)c.Read(out_ptr, out.data(), csz);
      out_before = out;
    }
  }
  // Values that are fds (map-of-maps, program arrays): each the caller's,
  // resolved here as for a single update; a bad one fails its element
  // with the kernel's errno from the emulator's update.
  if (cmd == BPF_MAP_UPDATE_BATCH && vsz == sizeof(uint32_t) &&
      values_ptr != 0) {
    const uint32_t t = m->type();
    const bool maps =
        t == BPF_MAP_TYPE_ARRAY_OF_MAPS || t == BPF_MAP_TYPE_HASH_OF_MAPS;
    if (maps || t == BPF_MAP_TYPE_PROG_ARRAY) {
      for (uint32_t i = 0; i < cnt; ++i) {
        int32_t ufd;
        std::memcpy(&ufd, values.data() + i * vsz, sizeof(ufd));
        int lfd = -1;
        const int err = maps ? LocalMap(c, ufd, &lfd) : LocalProg(c, ufd, &lfd);
        if (err != 0) lfd = err == -EBADF ? INT32_MAX : NotAMapFd();
        std::memcpy(values.data() + i * vsz, &lfd, sizeof(lfd));
      }
    }
  }
  void* kp = keys_ptr != 0 ? keys.data() : nullptr;
  void* vp = values_ptr != 0 ? values.data() : nullptr;
  int r;
  switch (cmd) {
    case BPF_MAP_LOOKUP_BATCH:
      r = bpfemu::MapLookupBatch(local, in_ptr != 0 ? in.data() : nullptr,
                                 out_ptr != 0 ? out.data() : nullptr, kp, vp,
                                 &cnt, elem_flags, flags);
      break;
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
      r = bpfemu::MapLookupAndDeleteBatch(
          local, in_ptr != 0 ? in.data() : nullptr,
          out_ptr != 0 ? out.data() : nullptr, kp, vp, &cnt, elem_flags, flags);
      break;
    case BPF_MAP_UPDATE_BATCH:
      r = bpfemu::MapUpdateBatch(local, kp, vp, &cnt, elem_flags, flags);
      break;
    default:
      r = bpfemu::MapDeleteBatch(local, kp, &cnt, elem_flags, flags);
      break;
  }
  if (r == 0 && !lookup && readable < count) r = -EFAULT;
  if (lookup && cnt > 0 && (r == 0 || r == -ENOENT)) {
    if (kp != nullptr && c.Write(keys_ptr, keys.data(), cnt * ksz) != 0) {
      r = -EFAULT;
    }
    if (vp != nullptr && c.Write(values_ptr, values.data(), cnt * vsz) != 0) {
      r = -EFAULT;
    }
  }
  if (out_ptr != 0 && out != out_before &&
      c.Write(out_ptr, out.data(), csz) != 0) {
    r = -EFAULT;
  }
  if (cnt != count && c.Write(uattr + 32, &cnt, sizeof(cnt)) != 0) r = -EFAULT;
  return r;
}

// The caller's fds for the cgroup commands: its cgroup directory fd is
// taken over (pidfd_getfd) and resolved (cgroup_get_from_fd: -EBADF for a
// number not open or a file that is no cgroup2 directory), its program and
// link fds are those this supervisor handed out.
class Dispatcher::CallerFds : public CgroupFds {
 public:
  CallerFds(Dispatcher& d, Call& c) : d_(d), c_(c) {}
  int Cgroup(int fd, CgroupPath* out) override {
    const int t = c_.GetFd(fd);
    if (t < 0) return -EBADF;
    const int err = CgroupPathFromFd(t, out);
    close(t);
    return err;
  }
  int Prog(int fd, std::shared_ptr<const bpfemu::Prog>* out) override {
    int local;
    if (int err = d_.LocalProg(c_, fd, &local); err != 0) return err;
    return ProgFromFd(local, out) == 0 ? 0 : -EINVAL;
  }
  int Link(int fd, int* local) override {
    const int t = c_.GetFd(fd);
    if (t < 0) return -EBADF;
    struct stat st;
    const bool ok = fstat(t, &st) == 0;
    close(t);
    if (!ok) return -EBADF;
    auto it = d_.links_.find({st.st_dev, st.st_ino, 0});
    if (it == d_.links_.end()) return -EINVAL;  // bpf_link_get_from_fd
    *local = it->second.local;
    return 0;
  }
  // A caller's links are cgroup links only (Link).
  bool OtherLink(int fd) override {
    (void)fd;
    return false;
  }

 private:
  Dispatcher& d_;
  Call& c_;
};

// --- pins and ids ---

int64_t Dispatcher::ObjPin(Call& c, const uint8_t* a) {
  const uint64_t path_ptr = Get<uint64_t>(a, 0);
  const int child_fd = Get<int32_t>(a, 8);
  const uint32_t file_flags = Get<uint32_t>(a, 12);
  const int path_fd = Get<int32_t>(a, 16);
  if (file_flags & ~kPathFdFlag) return -EINVAL;
  if (!(file_flags & kPathFdFlag) && path_fd != 0) return -EINVAL;
  ReapLinks();
  int local;
  int err = LocalMap(c, child_fd, &local);
  bool is_prog = false, is_link = false;
  if (err == -EINVAL) {
    err = LocalProg(c, child_fd, &local);
    is_prog = err == 0;
  }
  if (err == -EINVAL) {
    CallerFds fds(*this, c);
    err = fds.Link(child_fd, &local);
    is_link = err == 0;
  }
  if (err != 0) return err;
  std::string path;
  if (int e = c.ReadString(path_ptr, PATH_MAX, &path); e != 0) return e;
  const std::string abs =
      c.Absolute(path, (file_flags & kPathFdFlag) ? path_fd : AT_FDCWD);
  // A pin a call whose answer was lost made stays (Dispatcher::Replay):
  // the kernel's call had finished, and a bpffs file that was linked once
  // cannot be linked again (O_TMPFILE's I_LINKABLE).
  if (is_link) return PinLink(local, abs);
  return is_prog ? PinProg(local, abs) : bpfemu::ObjPin(local, abs.c_str());
}

// A program lives in this process (its code is the interpreter's), so its
// pin is a small file on the emulated bpffs naming it, and the program is
// found again through this supervisor's table: BPF_OBJ_GET of it works for
// the supervisor's lifetime (docs/exec.md, limits). The file is made as
// bpf_obj_do_pin makes a pin: a new name (EEXIST), mode 0600 minus umask.
int Dispatcher::PinProg(int local, const std::string& abs) {
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(local, &prog); err != 0) return err;
  FileKey key;
  const int f =
      MakePin(abs, "bpfemu program " + std::to_string(prog->id), &key);
  if (f < 0) return f;
  close(f);
  prog_pins_[key] = local;
  return 0;
}

// A cgroup link's pin: a file naming the link on the emulated bpffs, as a
// program's; the pin holds the link (a copy of the emulator's link fd)
// until the file is unlinked (ReapLinks sees its link count drop to 0).
int Dispatcher::PinLink(int local, const std::string& abs) {
  FileKey key;
  const int f = MakePin(
      abs, "bpfemu link " + std::to_string(CgroupLinkIdOfFd(local)), &key);
  if (f < 0) return f;
  const int held = fcntl(local, F_DUPFD_CLOEXEC, 3);
  if (held < 0) {
    const int err = -errno;
    close(f);
    BpffsUnlink(abs.c_str());
    return err;
  }
  link_pins_[key] = LinkPin{held, f};
  return 0;
}

// The file key of `abs`, a file inside a bpffs mount; false otherwise.
static bool BpffsFileKey(const std::string& abs, dev_t* dev, ino_t* ino) {
  BpffsPath p;
  ResolveBpffsPath(abs.c_str(), &p);
  if (p.kind != BpffsPath::kInside || p.error != 0) return false;
  struct stat st;
  if (fstatat(p.parent_fd, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return false;
  }
  *dev = st.st_dev;
  *ino = st.st_ino;
  return true;
}

int Dispatcher::PinnedLink(const std::string& abs) {
  dev_t dev;
  ino_t ino;
  if (link_pins_.empty() || !BpffsFileKey(abs, &dev, &ino)) return -1;
  auto it = link_pins_.find({dev, ino, 0});
  if (it == link_pins_.end()) return -1;
  // A new fd of the same link (its file: emu/cgroup_attach.h).
  return fcntl(it->second.local, F_DUPFD_CLOEXEC, 3);
}

int Dispatcher::MakePin(const std::string& abs, const std::string& what,
                        FileKey* key) {
  BpffsPath p;
  ResolveBpffsPath(abs.c_str(), &p);
  if (p.kind == BpffsPath::kRoot) return -EEXIST;
  if (p.kind == BpffsPath::kOutside) return -EPERM;
  if (p.error != 0) return p.error == -ELOOP ? -ENOENT : p.error;
  const mode_t mask = umask(0);
  umask(mask);
  const int f = openat(p.parent_fd, p.name.c_str(),
                       O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                       0600 & ~mask);
  if (f < 0) return -errno;
  const std::string text = what + "\n";
  const bool ok =
      write(f, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  struct stat st;
  const bool stat_ok = fstat(f, &st) == 0;
  if (!ok || !stat_ok) {
    close(f);
    unlinkat(p.parent_fd, p.name.c_str(), 0);
    return -EIO;
  }
  *key = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
          0};
  return f;
}

int Dispatcher::PinnedProg(const std::string& abs) {
  dev_t dev;
  ino_t ino;
  if (prog_pins_.empty() || !BpffsFileKey(abs, &dev, &ino)) return -1;
  auto it = prog_pins_.find({dev, ino, 0});
  if (it == prog_pins_.end()) return -1;
  // A new fd of the program, as the kernel opens a new file.
  std::shared_ptr<const Prog> prog;
  if (ProgFromFd(it->second, &prog) != 0) return -1;
  return ProgGetFdById(prog->id);
}

int64_t Dispatcher::ObjGet(Call& c, const uint8_t* a) {
  const uint64_t path_ptr = Get<uint64_t>(a, 0);
  const uint32_t bpf_fd = Get<uint32_t>(a, 8);
  const uint32_t file_flags = Get<uint32_t>(a, 12);
  const int path_fd = Get<int32_t>(a, 16);
  if (bpf_fd != 0 ||
      (file_flags & ~(BPF_F_RDONLY | BPF_F_WRONLY | kPathFdFlag))) {
    return -EINVAL;
  }
  if (!(file_flags & kPathFdFlag) && path_fd != 0) return -EINVAL;
  const uint32_t acc = file_flags & (BPF_F_RDONLY | BPF_F_WRONLY);
  if (acc == (BPF_F_RDONLY | BPF_F_WRONLY)) return -EINVAL;
  std::string path;
  if (int e = c.ReadString(path_ptr, PATH_MAX, &path); e != 0) return e;
  const std::string abs =
      c.Absolute(path, (file_flags & kPathFdFlag) ? path_fd : AT_FDCWD);
  if (int prog = PinnedProg(abs); prog >= 0) return GiveProg(c, prog);
  ReapLinks();
  if (int link = PinnedLink(abs); link >= 0) return GiveLink(c, link);
  const int local = bpfemu::ObjGet(abs.c_str(), acc);
  if (local < 0) return local;
  return GiveMap(c, local, !(acc & BPF_F_WRONLY), !(acc & BPF_F_RDONLY));
}

int64_t Dispatcher::GetInfo(Call& c, uint64_t uattr, const uint8_t* a) {
  const int child_fd = Get<int32_t>(a, 0);
  const uint32_t info_len = Get<uint32_t>(a, 4);
  const uint64_t info_ptr = Get<uint64_t>(a, 8);
  int local;
  int err = LocalMap(c, child_fd, &local);
  const bool is_map = err == 0;
  if (err == -EINVAL) err = LocalProg(c, child_fd, &local);
  if (err == -EINVAL && LocalBtf(c, child_fd, &local) == 0) {
    return BtfInfo(c, uattr, local, info_ptr, info_len);
  }
  if (err == -EBADF) return -EBADFD;  // bpf_obj_get_info_by_fd: no file
  if (err != 0) return err;
  if (info_len > kPage) return -E2BIG;  // bpf_check_uarg_tail_zero
  std::vector<uint8_t> buf(std::max<uint32_t>(info_len, 1));
  if (c.Read(info_ptr, buf.data(), info_len) != 0) return -EFAULT;
  uint32_t len = info_len;
  if (is_map) {
    if (int r = MapGetInfoByFd(local, buf.data(), &len); r != 0) return r;
  } else if (int64_t r = ProgInfo(c, local, &buf, &len); r != 0) {
    return r;
  }
  if (c.Write(info_ptr, buf.data(), len) != 0) return -EFAULT;
  if (c.Write(uattr + 4, &len, sizeof(len)) != 0) return -EFAULT;
  return 0;
}

namespace {

// The files (dev, ino) that processes other than this one hold open or
// mapped: their fds, and their file mappings (/proc/PID/maps: a map
// mmapped and its fd closed is held by the vma).
std::set<std::pair<uint64_t, uint64_t>> FilesHeldElsewhere() {
  std::set<std::pair<uint64_t, uint64_t>> held;
  const std::string self = std::to_string(getpid());
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return held;
  while (const dirent* p = readdir(proc)) {
    if (p->d_name[0] < '1' || p->d_name[0] > '9' || p->d_name == self) {
      continue;
    }
    const std::string dir = std::string("/proc/") + p->d_name + "/fd";
    DIR* fds = opendir(dir.c_str());
    if (fds == nullptr) continue;  // gone, or another user's
    while (const dirent* f = readdir(fds)) {
      if (f->d_name[0] == '.') continue;
      struct stat st;
      if (stat((dir + "/" + f->d_name).c_str(), &st) == 0) {
        held.insert({st.st_dev, st.st_ino});
      }
    }
    closedir(fds);
    // The mapped files: /proc/PID/maps names each one's device and inode
    // (fs/proc/task_mmu.c show_map_vma); map_files would need
    // CAP_SYS_ADMIN of the initial namespace.
    FILE* maps =
        fopen((std::string("/proc/") + p->d_name + "/maps").c_str(), "re");
    if (maps == nullptr) continue;
    char line[4096];
    while (fgets(line, sizeof(line), maps) != nullptr) {
      unsigned maj = 0, min = 0;
      unsigned long long ino = 0;
      if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &ino) == 3 &&
          ino != 0) {
        held.insert({makedev(maj, min), ino});
      }
    }
    fclose(maps);
  }
  closedir(proc);
  return held;
}

}  // namespace

void Dispatcher::Collect() {
  given_ = 0;
  ReapLinks();  // a released link no longer holds its program
  auto held = FilesHeldElsewhere();
  // A kept answer (Unanswered) is the supervisor's own fd until its call
  // is restarted: its object is held too.
  for (const auto& [tid, l] : lost_) {
    struct stat st;
    if (l.fd >= 0 && fstat(l.fd, &st) == 0) held.insert({st.st_dev, st.st_ino});
  }
  auto unheld = [&](const FileKey& k) { return !held.count({k.dev, k.ino}); };
  // Programs, then what only live programs keep: their records and maps.
  // A program attached to a cgroup is held by its attachment.
  auto attached = [](int local) {
    std::shared_ptr<const Prog> p;
    return ProgFromFd(local, &p) == 0 && CgroupProgIsAttached(p->id);
  };
  for (auto it = progs_.begin(); it != progs_.end();) {
    if (unheld(it->first) && !attached(it->second)) {
      (void)CloseFd(it->second);
      it = progs_.erase(it);
    } else {
      ++it;
    }
  }
  std::set<uint32_t> used;
  for (auto it = loaded_progs_.begin(); it != loaded_progs_.end();) {
    std::shared_ptr<const Prog> p = ProgFromId(*it);
    if (p == nullptr) {
      it = loaded_progs_.erase(it);
      continue;
    }
    std::lock_guard<std::mutex> l(p->extra->mu);
    used.insert(p->extra->load.map_ids.begin(), p->extra->load.map_ids.end());
    ++it;
  }
  for (auto it = btfs_.begin(); it != btfs_.end();) {
    if (unheld(it->first)) {
      (void)CloseFd(it->second);
      it = btfs_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = maps_.begin(); it != maps_.end();) {
    std::shared_ptr<Map> m = MapFromFd(it->second);
    struct stat st;
    const bool pinned = fstat(it->second, &st) == 0 && st.st_nlink > 0;
    if (!unheld(it->first) || m == nullptr || pinned ||
        used.count(m->id()) != 0 || InnerMapRefCount(m->id()) > 0) {
      ++it;
      continue;
    }
    m.reset();
    polls_.Forget(it->second);
    (void)CloseFd(it->second);
    if (auto h = held_.find(it->first); h != held_.end()) {
      polls_.Forget(h->second);
      (void)CloseFd(h->second);
      held_.erase(h);
    }
    it = maps_.erase(it);
  }
  // Perf events: the kernel's event lives while a file or a
  // PERF_EVENT_ARRAY entry holds it.
  for (auto it = perfs_.begin(); it != perfs_.end();) {
    std::shared_ptr<PerfEvent> ev = PerfEventFromFd(it->second);
    if (!unheld(it->first) ||
        (ev != nullptr && PerfEventReferenced(ev->id()))) {
      ++it;
      continue;
    }
    ev.reset();
    polls_.Forget(it->second);
    (void)PerfEventClose(it->second);
    it = perfs_.erase(it);
  }
  fd_cache_.clear();  // its fds may be reused by the next objects
}

int64_t Dispatcher::NextId(Call& c, int cmd, uint64_t uattr, const uint8_t* a) {
  const uint32_t start = Get<uint32_t>(a, 0);
  if (start == 0) Collect();  // a walk begins: what is alive now
  uint32_t next = 0;
  const int r = cmd == BPF_MAP_GET_NEXT_ID    ? MapGetNextId(start, &next)
                : cmd == BPF_PROG_GET_NEXT_ID ? ProgGetNextId(start, &next)
                                              : BtfGetNextId(start, &next);
  if (r != 0) return r;
  return c.Write(uattr + 4, &next, sizeof(next));
}

int64_t Dispatcher::FdById(Call& c, int cmd, const uint8_t* a) {
  const uint32_t id = Get<uint32_t>(a, 0);
  if (cmd == BPF_BTF_GET_FD_BY_ID) {
    // 6.18: open_flags may only name a token fd, and no token is valid.
    const uint32_t open_flags = Get<uint32_t>(a, 8);
    if (open_flags & ~kBpfFTokenFd) return -EINVAL;
    if (open_flags & kBpfFTokenFd) {
      const int t = c.GetFd(Get<int32_t>(a, 12));
      if (t < 0) return -EBADF;
      close(t);
      return -EINVAL;
    }
    const int local = BtfGetFdById(id);
    if (local < 0) return local;
    return GiveBtf(c, local);
  }
  if (cmd == BPF_PROG_GET_FD_BY_ID) {
    const int local = ProgGetFdById(id);
    if (local < 0) return local;
    return GiveProg(c, local);
  }
  const uint32_t open_flags = Get<uint32_t>(a, 8);
  const int local = MapGetFdById(id, open_flags);
  if (local < 0) return local;
  return GiveMap(c, local, !(open_flags & BPF_F_WRONLY),
                 !(open_flags & BPF_F_RDONLY));
}

// --- programs ---

int64_t Dispatcher::ProgLoad(Call& c, uint64_t uattr, const uint8_t* a,
                             uint32_t size) {
  const uint32_t type = Get<uint32_t>(a, 0);
  const uint32_t insn_cnt = Get<uint32_t>(a, 4);
  const uint64_t insns_ptr = Get<uint64_t>(a, 8);
  const uint64_t license_ptr = Get<uint64_t>(a, 16);
  const uint32_t log_level = Get<uint32_t>(a, 24);
  const uint32_t log_size = Get<uint32_t>(a, 28);
  const uint64_t log_buf = Get<uint64_t>(a, 32);
  const uint32_t prog_flags = Get<uint32_t>(a, 44);
  char name[BPF_OBJ_NAME_LEN + 1] = {};
  std::memcpy(name, a + 48, BPF_OBJ_NAME_LEN);
  const uint32_t expected_attach_type = Get<uint32_t>(a, 68);
  const uint32_t prog_ifindex = Get<uint32_t>(a, 64);
  // bpf_prog_load(): the flags the version knows.
  if (!ProgFlagsKnown(prog_flags)) return -EINVAL;
  if (insn_cnt == 0 || insn_cnt > 1000000) return -E2BIG;
  // Instructions, then the license (strncpy_from_bpfptr of 127 bytes: a
  // longer one is cut, not refused), then the verifier log's attributes
  // (bpf_check -> bpf_vlog_init).
  std::vector<interp::RawInsn> insns(insn_cnt);
  if (c.Read(insns_ptr, insns.data(), insns.size() * sizeof(insns[0])) != 0) {
    return -EFAULT;
  }
  std::string license;
  if (int e = c.ReadString(license_ptr, 127, &license);
      e != 0 && e != -ENAMETOOLONG) {
    return e;
  }
  // A device binding, before the verifier looks at anything.
  if (prog_ifindex != 0) {
    if (int e = ProgDevBoundInit(type, prog_flags, prog_ifindex); e != 0) {
      return e;
    }
  }
  if (TargetKernel() == KernelVersion::k6_1) {
    // 6.1: any log attribute asks for a complete, sane log.
    if ((log_level != 0 || log_buf != 0 || log_size != 0) &&
        (log_size < 128 || log_size > (UINT32_MAX >> 2) || log_level == 0 ||
         log_buf == 0 || (log_level & ~0x7u))) {
      return -EINVAL;
    }
  } else if ((log_buf != 0) != (log_size != 0) ||
             (log_buf != 0 && log_level == 0) || (log_level & ~0xfu) ||
             log_size > (UINT32_MAX >> 2)) {
    // bpf_verifier_log_attr_valid(): buffer and size together, a level
    // with a buffer, BPF_LOG_MASK.
    return -EINVAL;
  }
  // BTF function and line info (check_btf_info_early, check_btf_func_early,
  // check_btf_line): the BTF object, record sizes, at most one record per
  // instruction. Kept for bpf_prog_info and read for the exception
  // callback (loader/exception_cb.h), not checked against the program.
  native::ProgLoadFlags load_flags;
  const uint32_t func_cnt = Get<uint32_t>(a, 88);
  const uint32_t line_cnt = Get<uint32_t>(a, 104);
  if (func_cnt != 0 || line_cnt != 0) {
    int btf;
    if (int err = LocalBtf(c, Get<int32_t>(a, 72), &btf); err != 0) {
      return err;
    }
    if (int err = BtfRawFromFd(btf, &load_flags.btf_raw, &load_flags.btf_id);
        err != 0)
      return err;
    struct Records {
      uint32_t cnt, rec_size, keep;
      uint64_t ptr;
      std::vector<uint8_t>* out;
    };
    for (const Records& r :
         {Records{func_cnt, Get<uint32_t>(a, 76), 8, Get<uint64_t>(a, 80),
                  &load_flags.func_info},
          Records{line_cnt, Get<uint32_t>(a, 92), 16, Get<uint64_t>(a, 96),
                  &load_flags.line_info}}) {
      if (r.cnt == 0) continue;
      if (r.rec_size < r.keep || r.rec_size > 252 || r.rec_size % 4 != 0 ||
          r.cnt > insn_cnt) {
        return -EINVAL;
      }
      std::vector<uint8_t> in(uint64_t{r.cnt} * r.rec_size);
      if (c.Read(r.ptr, in.data(), in.size()) != 0) return -EFAULT;
      for (uint32_t i = 0; i < r.cnt; ++i) {
        const uint8_t* at = in.data() + uint64_t{i} * r.rec_size;
        r.out->insert(r.out->end(), at, at + r.keep);
      }
    }
    load_flags.nr_func_info = func_cnt;
    load_flags.nr_line_info = line_cnt;
  }
  // Map references are the caller's fds (BPF_PSEUDO_MAP_FD,
  // BPF_PSEUDO_MAP_VALUE in a ld_imm64): the emulator's fds for them.
  for (uint32_t i = 0; i + 1 < insn_cnt; ++i) {
    interp::RawInsn& in = insns[i];
    if (in.code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
    if (in.src == BPF_PSEUDO_MAP_FD || in.src == BPF_PSEUDO_MAP_VALUE) {
      int local;
      if (int err = LocalMap(c, in.imm, &local); err != 0) return err;
      in.imm = local;
    }
    ++i;
  }
  // fd_array (offset 120): kfunc calls with off > 0 index it, and
  // BPF_PSEUDO_MAP_IDX(_VALUE) names the caller's map fd at an index.
  load_flags.prog_flags = prog_flags;
  const uint64_t fd_array = Get<uint64_t>(a, 120);
  load_flags.has_fd_array = fd_array != 0;
  load_flags.fd_array_entry = [this, &c, fd_array](uint32_t index, int* fd) {
    int child_fd;
    if (c.Read(fd_array + uint64_t{index} * sizeof(child_fd), &child_fd,
               sizeof(child_fd)) != 0) {
      return -EFAULT;
    }
    return LocalMap(c, child_fd, fd);
  };
  load_flags.attach_btf_id = Get<uint32_t>(a, 108);  // attach_btf_id
  std::string verifier_log;
  load_flags.log = &verifier_log;
  const int local =
      native::ProgLoadBytecode(type, expected_attach_type, name, insns.data(),
                               insn_cnt, license.c_str(), load_flags);
  if (log_level != 0 && log_buf != 0) {
    // The emulator has no verifier and writes no verifier log: the log
    // says so, honestly, in place of the kernel's.
    // A refusal ends with the kernel verifier's line when the loader made
    // it (a reader such as cilium/ebpf reports the log's last line).
    std::string msg =
        local >= 0
            ? "bpfemu: no verifier log; the program was checked by "
              "the interpreter's loader\n"
            : "bpfemu: the interpreter's loader refused the "
              "program: " +
                  std::string(std::strerror(-local)) + "\n" + verifier_log;
    const uint32_t true_size = static_cast<uint32_t>(msg.size() + 1);
    const bool truncated = msg.size() + 1 > log_size;
    if (truncated) msg.resize(log_size - 1);
    if (c.Write(log_buf, msg.c_str(), msg.size() + 1) != 0) {
      if (local >= 0) (void)CloseFd(local);
      return -EFAULT;
    }
    // log_true_size (6.4), when the caller's attr has it.
    if (AtLeast612() && size >= 144) {
      (void)c.Write(uattr + 140, &true_size, sizeof(true_size));
    }
    // A log that did not fit fails the load (bpf_vlog_finalize: ENOSPC).
    if (truncated && local >= 0) {
      (void)CloseFd(local);
      return -ENOSPC;
    }
  }
  if (local < 0) return local;
  std::shared_ptr<const Prog> p;
  if (ProgFromFd(local, &p) == 0 && loaded_progs_.insert(p->id).second) {
    undo_.push_back([this, id = p->id] {
      // Kept when its file stayed (UndoEntry, undone before this).
      for (const auto& [k, fd] : progs_) {
        std::shared_ptr<const Prog> q;
        if (ProgFromFd(fd, &q) == 0 && q->id == id) return;
      }
      loaded_progs_.erase(id);
    });
  }
  return GiveProg(c, local);
}

int64_t Dispatcher::ProgInfo(Call& c, int local, std::vector<uint8_t>* buf,
                             uint32_t* len) {
  // bpf_prog_get_info_by_fd(): the caller's struct, bytes past the kernel's
  // struct zero (E2BIG), then each field the kernel fills.
  struct bpf_prog_info info = {};
  for (size_t i = sizeof(info); i < buf->size() && i < *len; ++i) {
    if ((*buf)[i] != 0) return -E2BIG;
  }
  *len = std::min<uint32_t>(*len, sizeof(info));
  std::memcpy(&info, buf->data(), *len);
  std::shared_ptr<const Prog> p;
  if (int r = ProgFromFd(local, &p); r != 0) return r;
  const int err = native::ProgFillInfo(
      *p, &info, [&c](uint64_t ptr, const void* data, size_t bytes) {
        return c.Write(ptr, data, bytes) == 0 ? 0 : -EFAULT;
      });
  if (err != 0) return err;
  std::memcpy(buf->data(), &info, *len);
  return 0;
}

int64_t Dispatcher::BindMap(Call& c, const uint8_t* a) {
  // bpf_prog_bind_map(): flags, the program, the map; a map already in
  // use is no change.
  if (Get<uint32_t>(a, 8) != 0) return -EINVAL;
  int prog, map;
  if (int err = LocalProg(c, Get<int32_t>(a, 0), &prog); err != 0) return err;
  if (int err = LocalMap(c, Get<int32_t>(a, 4), &map); err != 0) return err;
  std::shared_ptr<const Prog> p;
  std::shared_ptr<Map> m = MapFromFd(map);
  if (ProgFromFd(prog, &p) != 0 || m == nullptr) return -EINVAL;
  // The program holds the map (emu/prog.h ProgExtra, as libbpfemu's
  // bpf_prog_bind_map keeps it).
  std::lock_guard<std::mutex> l(p->extra->mu);
  for (const std::shared_ptr<Map>& b : p->extra->bound_maps) {
    if (b->id() == m->id()) return 0;
  }
  p->extra->bound_maps.push_back(std::move(m));
  return 0;
}

// --- cgroup attachment and links (emu/cgroup_attach.h) ---

void Dispatcher::ReapLinks() {
  for (auto it = links_.begin(); it != links_.end();) {
    if (PeerClosed(it->second.write_end)) {
      // The caller's last fd of the link was closed.
      close(it->second.write_end);
      (void)CloseFd(it->second.local);
      it = links_.erase(it);
    } else {
      ++it;
    }
  }
  // A link pin unlinked (bpf_fs's evict of the pin) lets its link go.
  for (auto it = link_pins_.begin(); it != link_pins_.end();) {
    struct stat st;
    if (fstat(it->second.file, &st) != 0 || st.st_nlink == 0) {
      close(it->second.file);
      (void)CloseFd(it->second.local);
      it = link_pins_.erase(it);
    } else {
      ++it;
    }
  }
}

int Dispatcher::GiveLink(Call& c, int local) {
  int p[2];
  if (HalfClosedPair(p) != 0) {
    const int err = -errno;
    (void)CloseFd(local);
    return err;
  }
  struct stat st;
  if (fstat(p[0], &st) != 0) {
    const int err = -errno;
    close(p[0]);
    close(p[1]);
    (void)CloseFd(local);
    return err;
  }
  const FileKey key{st.st_dev, st.st_ino, 0};
  const int err = c.AnswerWithFd(p[0], /*cloexec=*/true);
  close(p[0]);
  if (err < 0) {
    close(p[1]);
    (void)CloseFd(local);
    return err;
  }
  links_[key] = LinkFile{local, p[1]};
  undo_.push_back([this, key] {
    auto it = links_.find(key);
    if (it == links_.end()) return;
    close(it->second.write_end);
    (void)CloseFd(it->second.local);
    links_.erase(it);
  });
  return 0;
}

// BPF_PROG_ATTACH (emu/cgroup_attach.h CgroupAttachCommand): other hooks
// than a cgroup's are not served (EPERM).
int64_t Dispatcher::CgroupAttach(Call& c, const uint8_t* a) {
  return ProgAttachOrDetach(c, a, /*detach=*/false);
}

int64_t Dispatcher::CgroupDetach(Call& c, const uint8_t* a) {
  return ProgAttachOrDetach(c, a, /*detach=*/true);
}

// union bpf_attr's BPF_PROG_ATTACH / BPF_PROG_DETACH members (detach
// ignores replace_bpf_fd), then the command; EPERM off a cgroup's hook.
int64_t Dispatcher::ProgAttachOrDetach(Call& c, const uint8_t* a, bool detach) {
  ReapLinks();
  const ProgAttachAttr attr{
      .target_fd = Get<int32_t>(a, 0),
      .attach_bpf_fd = Get<int32_t>(a, 4),
      .attach_type = Get<uint32_t>(a, 8),
      .attach_flags = Get<uint32_t>(a, 12),
      .replace_bpf_fd = Get<int32_t>(a, 16),
      .relative_fd = Get<uint32_t>(a, 20),
      .expected_revision = Get<uint64_t>(a, 24),
  };
  CallerFds fds(*this, c);
  const int r =
      detach ? CgroupDetachCommand(attr, fds) : CgroupAttachCommand(attr, fds);
  return r == kNotCgroupHook ? -EPERM : r;
}

// BPF_PROG_QUERY (CgroupQueryCommand), then __cgroup_bpf_query's
// copy-out: attach_flags, prog_cnt and (6.12+, when the caller's attr
// holds it) revision written back, and as many ids as prog_cnt allows
// (ENOSPC when fewer than attached), each with its attach flags.
int64_t Dispatcher::CgroupQuery(Call& c, uint64_t uattr, const uint8_t* a,
                                uint32_t size) {
  ReapLinks();
  const uint64_t ids_ptr = Get<uint64_t>(a, 16);
  const uint32_t cnt_in = Get<uint32_t>(a, 24);
  const uint64_t flags_ptr = Get<uint64_t>(a, 32);
  CallerFds fds(*this, c);
  CgroupQueryResult q;
  const int r =
      CgroupQueryCommand(Get<int32_t>(a, 0), Get<uint32_t>(a, 4),
                         Get<uint32_t>(a, 8), flags_ptr != 0, fds, &q);
  if (r == kNotCgroupHook) return -EPERM;
  if (r != 0) return r;
  const bool effective = Get<uint32_t>(a, 8) & BPF_F_QUERY_EFFECTIVE;
  const uint32_t total = static_cast<uint32_t>(q.ids.size());
  if (c.Write(uattr + 12, &q.flags, 4) != 0) return -EFAULT;
  if (c.Write(uattr + 24, &total, 4) != 0) return -EFAULT;
  if (AtLeast612() && size >= 64 && c.Write(uattr + 56, &q.revision, 8) != 0) {
    return -EFAULT;
  }
  return CgroupQueryCopyOut(
      q, cnt_in, ids_ptr != 0, flags_ptr != 0, effective,
      [&](bool flags, uint32_t i, uint32_t v) {
        const uint64_t at = (flags ? flags_ptr : ids_ptr) + 4 * uint64_t{i};
        return c.Write(at, &v, 4) != 0 ? -EFAULT : 0;
      });
}

// BPF_LINK_CREATE of a cgroup program (CgroupLinkCreateCommand): the
// caller's link fd is one end of a socket pair whose other end stays here
// (HalfClosedPair), so that the last close of it anywhere shows as POLLHUP
// (ReapLinks) and
// the link is released then, before the next cgroup command. Other
// programs' links are not served (EPERM).
int64_t Dispatcher::LinkCreate(Call& c, const uint8_t* a) {
  ReapLinks();
  LinkCreateAttr attr;
  attr.prog_fd = Get<int32_t>(a, 0);
  attr.target_fd = Get<int32_t>(a, 4);
  attr.attach_type = Get<uint32_t>(a, 8);
  attr.flags = Get<uint32_t>(a, 12);
  attr.relative_fd = Get<uint32_t>(a, 16);
  attr.expected_revision = Get<uint64_t>(a, 24);
  if (attr.attach_type == 44) return -EPERM;  // BPF_STRUCT_OPS: not served
  CallerFds fds(*this, c);
  const int r = CgroupLinkCreateCommand(attr, fds);
  if (r == kNotCgroupHook) return -EPERM;
  if (r < 0) return r;
  return GiveLink(c, r);
}

int64_t Dispatcher::LinkUpdate(Call& c, const uint8_t* a) {
  ReapLinks();
  CallerFds fds(*this, c);
  return CgroupLinkUpdateCommand(Get<int32_t>(a, 0), Get<int32_t>(a, 4),
                                 Get<uint32_t>(a, 8), Get<int32_t>(a, 12), fds);
}

// BPF_LINK_DETACH: the caller's links are cgroup links
// (bpf_cgroup_link_detach).
int64_t Dispatcher::LinkDetach(Call& c, const uint8_t* a) {
  ReapLinks();
  CallerFds fds(*this, c);
  int local = -1;
  if (int err = fds.Link(Get<int32_t>(a, 0), &local); err != 0) return err;
  return CgroupLinkDetach(local);
}

// --- BTF (emu/btf.h) ---

int64_t Dispatcher::BtfLoad(Call& c, uint64_t uattr, const uint8_t* a,
                            uint32_t size) {
  BtfLoadAttr attr;
  const uint64_t btf_ptr = Get<uint64_t>(a, 0);
  const uint64_t log_ptr = Get<uint64_t>(a, 8);
  attr.btf_size = Get<uint32_t>(a, 16);
  attr.log_size = Get<uint32_t>(a, 20);
  attr.log_level = Get<uint32_t>(a, 24);
  attr.log_true_size = Get<uint32_t>(a, 28);
  attr.btf_flags = Get<uint32_t>(a, 32);
  attr.btf_token_fd = Get<int32_t>(a, 36);
  if ((attr.btf_flags & kBpfFTokenFd) &&
      TargetKernel() != KernelVersion::k6_1) {
    // No BPF tokens here: the caller's fd decides EBADF or EINVAL.
    const int t = c.GetFd(attr.btf_token_fd);
    if (t >= 0) close(t);
    attr.btf_token_fd = t >= 0 ? NotAMapFd() : -1;
  }
  // The blob: at most BTF_MAX_SIZE is read (the emulator refuses larger
  // sizes before reading); NULL stays NULL (EFAULT there).
  std::vector<uint8_t> blob;
  if (btf_ptr != 0 && attr.btf_size <= kBtfMaxSize) {
    blob.resize(attr.btf_size);
    if (c.Read(btf_ptr, blob.data(), blob.size()) != 0) return -EFAULT;
    attr.btf = blob.data();
  }
  // The log is written into a local buffer of the caller's size (bounded:
  // the emulator's BTF log is a few header lines and one message, far
  // below 16 MiB) and copied out as far as it was written.
  std::vector<char> log;
  if (log_ptr != 0) {
    log.assign(std::clamp<uint32_t>(attr.log_size, 1, kBtfMaxSize), 0);
    attr.log_buf = log.data();
    if (attr.log_size > kBtfMaxSize && attr.log_size <= (UINT32_MAX >> 2)) {
      attr.log_size = kBtfMaxSize;
    }
  }
  uint32_t true_size = 0;
  const int local = bpfemu::BtfLoad(attr, &true_size);
  const size_t written = log.empty() ? 0 : strnlen(log.data(), log.size());
  if (written > 0 &&
      c.Write(log_ptr, log.data(), std::min(written + 1, log.size())) != 0) {
    if (local >= 0) (void)CloseFd(local);
    return -EFAULT;
  }
  // btf_log_true_size (6.4): written back whenever the attr holds it.
  if (TargetKernel() != KernelVersion::k6_1 && size >= 32 &&
      c.Write(uattr + 28, &true_size, sizeof(true_size)) != 0) {
    if (local >= 0) (void)CloseFd(local);
    return -EFAULT;
  }
  if (local < 0) return local;
  return GiveBtf(c, local);
}

int64_t Dispatcher::BtfInfo(Call& c, uint64_t uattr, int local,
                            uint64_t info_ptr, uint32_t info_len) {
  if (info_len > kPage) return -E2BIG;  // bpf_check_uarg_tail_zero
  std::vector<uint8_t> buf(std::max<uint32_t>(info_len, 1));
  if (c.Read(info_ptr, buf.data(), info_len) != 0) return -EFAULT;
  // The caller's pointers are replaced by local buffers of what the
  // emulator writes: min(btf_size, blob size) bytes, and the name's NUL.
  BpfBtfInfo in = {};
  std::memcpy(&in, buf.data(), std::min<size_t>(info_len, sizeof(in)));
  // The blob's size first, from an info that asks for no bytes.
  BpfBtfInfo probe = {};
  uint32_t probe_len = sizeof(probe);
  if (int err = BtfGetInfoByFd(local, &probe, &probe_len); err != 0) {
    return err;
  }
  std::vector<uint8_t> blob(std::min(in.btf_size, probe.btf_size));
  char name = 1;
  BpfBtfInfo local_in = in;
  if (in.btf != 0 && !blob.empty()) {
    local_in.btf = reinterpret_cast<uintptr_t>(blob.data());
  }
  if (in.name != 0) local_in.name = reinterpret_cast<uintptr_t>(&name);
  std::memcpy(buf.data(), &local_in, std::min<size_t>(info_len, sizeof(in)));
  uint32_t len = info_len;
  if (int r = BtfGetInfoByFd(local, buf.data(), &len); r != 0) return r;
  if (in.btf != 0 && !blob.empty() &&
      c.Write(in.btf, blob.data(), blob.size()) != 0) {
    return -EFAULT;
  }
  if (in.name != 0 && name == 0 && c.Write(in.name, &name, 1) != 0) {
    return -EFAULT;
  }
  BpfBtfInfo out;
  std::memcpy(&out, buf.data(), std::min<size_t>(len, sizeof(out)));
  out.btf = in.btf;
  out.name = in.name;
  std::memcpy(buf.data(), &out, std::min<size_t>(len, sizeof(out)));
  if (c.Write(info_ptr, buf.data(), len) != 0) return -EFAULT;
  if (c.Write(uattr + 4, &len, sizeof(len)) != 0) return -EFAULT;
  return 0;
}

// BPF_ENABLE_STATS (kernel/bpf/syscall.c bpf_enable_stats): CAP_SYS_ADMIN
// (EPERM), only BPF_STATS_RUN_TIME (EINVAL), then a read-only close-on-exec
// file; test runs count into bpf_prog_info's run_time_ns and run_cnt while
// one is open.
int64_t Dispatcher::StreamRead(Call& c, const uint8_t* a) {
  // prog_stream_read(): the program, then bpf_prog_stream_read() copying
  // into the caller's buffer (a fault: EFAULT, nothing consumed).
  int prog;
  if (int err = LocalProg(c, Get<int32_t>(a, 16), &prog); err != 0) {
    return err;
  }
  std::shared_ptr<const Prog> p;
  if (int err = ProgFromFd(prog, &p); err != 0) return err;
  const uint64_t buf = Get<uint64_t>(a, 0);
  return ::bpfemu::StreamRead(
      *p, Get<uint32_t>(a, 12), Get<uint32_t>(a, 8),
      [&c, buf](size_t pos, const char* data, size_t n) {
        return n == 0 || c.Write(buf + pos, data, n) == 0 ? 0 : -EFAULT;
      });
}

int64_t Dispatcher::EnableStats(Call& c, const uint8_t* a) {
  if (!CallerPrivileged()) return -EPERM;
  if (Get<uint32_t>(a, 0) != BPF_STATS_RUN_TIME) return -EINVAL;
  // The read end of a pipe: read-only as the kernel's file (a read of it
  // blocks, docs/exec.md Limits).
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -errno;
  const int err = c.AnswerWithFd(p[0], /*cloexec=*/true);
  close(p[0]);
  if (err < 0) {
    close(p[1]);
    return err;
  }
  stats_.push_back(p[1]);
  undo_.push_back([this, w = p[1]] {
    if (std::erase(stats_, w) != 0) close(w);
  });
  return 0;
}

bool Dispatcher::StatsOn() {
  std::erase_if(stats_, [](int fd) {
    struct pollfd pfd = {fd, POLLOUT, 0};
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR) != 0) {
      close(fd);
      return true;
    }
    return false;
  });
  return !stats_.empty();
}

int64_t Dispatcher::TestRun(Call& c, uint64_t uattr, const uint8_t* a) {
  // union bpf_attr's test fields; the caller's buffers are read here and
  // the results written back (loader/test_run.h runs the command).
  const int child_fd = Get<int32_t>(a, 0);
  const uint64_t data_in = Get<uint64_t>(a, 16);
  const uint64_t data_out = Get<uint64_t>(a, 24);
  const uint64_t ctx_in = Get<uint64_t>(a, 48);
  const uint64_t ctx_out = Get<uint64_t>(a, 56);
  native::TestRunAttr t;
  t.data_size_in = Get<uint32_t>(a, 8);
  t.data_size_out = Get<uint32_t>(a, 12);
  t.data_out = data_out != 0;
  t.repeat = Get<uint32_t>(a, 32);
  t.duration = Get<uint32_t>(a, 36);
  t.ctx_size_in = Get<uint32_t>(a, 40);
  t.ctx_size_out = Get<uint32_t>(a, 44);
  t.ctx_out = ctx_out != 0;
  t.flags = Get<uint32_t>(a, 64);
  t.cpu = Get<uint32_t>(a, 68);
  t.batch_size = Get<uint32_t>(a, 72);
  // Presence first: bpf_prog_test_run() checks the pairs before the fd.
  static const uint8_t kPresent = 0;
  t.ctx_in = ctx_in != 0 ? &kPresent : nullptr;
  t.data_in = data_in != 0 ? &kPresent : nullptr;
  if (int err = native::CheckTestRunAttr(t); err != 0) return err;
  int local;
  if (int err = LocalProg(c, child_fd, &local); err != 0) return err;
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(local, &prog); err != 0) return err;
  // A run that a signal interrupted: the kernel's test run returns EINTR
  // (bpf_test_timer_continue: signal_pending). Here the signal ended the
  // caller's wait instead, and the caller restarted the call (SA_RESTART):
  // the restarted call is answered EINTR.
  if (interrupted_.erase(c.pid()) != 0) return -EINTR;
  // The buffers (bounded: a packet's linear part and fragments stay far
  // below 128 KiB; a syscall program's context below 64 KiB).
  std::vector<uint8_t> in, ctx;
  if (data_in != 0 && t.data_size_in <= 128 * 1024) {
    in.resize(t.data_size_in);
    if (c.Read(data_in, in.data(), in.size()) != 0) return -EFAULT;
    t.data_in = in.empty() ? &kPresent : in.data();
  } else if (data_in != 0) {
    // More than MAX_SKB_FRAGS pages: XDP runs out of fragments (ENOMEM),
    // a socket buffer is longer than one page (EINVAL).
    return prog->type == BPF_PROG_TYPE_XDP ? -ENOMEM : -EINVAL;
  }
  if (ctx_in != 0 && t.ctx_size_in <= 65536) {
    ctx.resize(t.ctx_size_in);
    if (c.Read(ctx_in, ctx.data(), ctx.size()) != 0) return -EFAULT;
    t.ctx_in = ctx.empty() ? &kPresent : ctx.data();
  } else if (ctx_in != 0) {
    return -EINVAL;
  }
  native::TestRunOutput out;
  // A signal ends the caller's wait for this answer (the notification is
  // no longer valid): stop, as the kernel stops at a pending signal, and
  // answer its restart with EINTR.
  auto valid = [](void* call) { return static_cast<Call*>(call)->Valid(); };
  int err = native::TestRun(*prog, t, &out, valid, &c);
  if (err == -EINTR && !c.Valid()) interrupted_.insert(c.pid());
  if (out.runs != 0 && StatsOn()) {
    prog->extra->CountRuns(out.run_ns, out.runs);
  }
  if (out.write_data) {
    const uint32_t full = static_cast<uint32_t>(out.data.size());
    if ((out.data_copy != 0 &&
         c.Write(data_out, out.data.data(), out.data_copy) != 0) ||
        c.Write(uattr + 12, &full, 4) != 0) {
      return -EFAULT;
    }
  }
  if (out.write_retval && c.Write(uattr + 4, &out.retval, 4) != 0) {
    return -EFAULT;
  }
  if (out.write_data && c.Write(uattr + 36, &out.duration, 4) != 0) {
    return -EFAULT;
  }
  if (out.write_ctx) {
    const uint32_t full = static_cast<uint32_t>(out.ctx.size());
    if (c.Write(ctx_out, out.ctx.data(), out.ctx_copy) != 0 ||
        c.Write(uattr + 44, &full, 4) != 0) {
      return -EFAULT;
    }
  }
  if (out.ctx_to_ctx_in && c.Write(ctx_in, out.ctx.data(), out.ctx_copy) != 0) {
    return -EFAULT;
  }
  return err;
}

}  // namespace bpfemu::exec

namespace bpfemu::exec {
namespace {

// "/proc/self/fd/N", "/proc/thread-self/fdinfo/N", "/proc/PID/fd/N" with
// PID the caller's (thread or process) id: N, or -1. `kind` is "fd" or
// "fdinfo".
int ProcFdNumber(const std::string& path, const char* kind, pid_t tid) {
  static const char kProc[] = "/proc/";
  if (path.rfind(kProc, 0) != 0) return -1;
  size_t at = sizeof(kProc) - 1;
  const size_t slash = path.find('/', at);
  if (slash == std::string::npos) return -1;
  const std::string who = path.substr(at, slash - at);
  bool mine =
      who == "self" || who == "thread-self" || who == std::to_string(tid);
  if (!mine && !who.empty() &&
      who.find_first_not_of("0123456789") == std::string::npos) {
    // The caller's process id (thread group), from its status.
    std::FILE* f =
        std::fopen(("/proc/" + std::to_string(tid) + "/status").c_str(), "re");
    if (f != nullptr) {
      char line[256];
      while (std::fgets(line, sizeof(line), f) != nullptr) {
        if (std::strncmp(line, "Tgid:", 5) == 0) {
          mine = std::strtol(line + 5, nullptr, 10) == std::stol(who);
          break;
        }
      }
      std::fclose(f);
    }
  }
  if (!mine) return -1;
  at = slash + 1;
  const std::string prefix = std::string(kind) + "/";
  if (path.compare(at, prefix.size(), prefix) != 0) return -1;
  const std::string num = path.substr(at + prefix.size());
  if (num.empty() || num.size() > 9 ||
      num.find_first_not_of("0123456789") != std::string::npos) {
    return -1;
  }
  return std::stoi(num);
}

}  // namespace

bool Dispatcher::ServeEpoll(Call& c, uint32_t nr, const struct seccomp_data& d,
                            int64_t* ret) {
  const int epfd = static_cast<int>(d.args[0]);
  if (nr != 233) {
    // epoll_wait / epoll_pwait / epoll_pwait2: readiness of the rings this
    // epoll instance watches is brought up to date, then the wait runs.
    if (!polls_.empty()) polls_.BeforeWait(c, epfd);
    return false;
  }
  // epoll_ctl(epfd, op, fd, event): a ring buffer or user ring buffer fd
  // is served (the kernel's map file polls; the child's region file would
  // be EPERM).
  int local;
  const int kind = Identify(c, static_cast<int>(d.args[2]), &local);
  if (kind == 3) {
    std::shared_ptr<PerfEvent> ev = PerfEventFromFd(local);
    if (ev == nullptr) return false;
    *ret = polls_.CtlPerf(c, epfd, static_cast<int>(d.args[1]),
                          static_cast<int>(d.args[2]), d.args[3], std::move(ev),
                          local);
    return true;
  }
  if (kind != 1) return false;
  std::shared_ptr<Map> m = MapFromFd(local);
  if (m == nullptr || (m->type() != BPF_MAP_TYPE_RINGBUF &&
                       m->type() != BPF_MAP_TYPE_USER_RINGBUF)) {
    return false;
  }
  *ret = polls_.Ctl(c, epfd, static_cast<int>(d.args[1]),
                    static_cast<int>(d.args[2]), d.args[3],
                    std::dynamic_pointer_cast<RingbufMap>(m), local);
  return true;
}

int Dispatcher::Identify(Call& c, int child_fd, int* local) {
  const int t = c.GetFd(child_fd);
  if (t < 0) return 0;
  struct stat st;
  const bool ok = fstat(t, &st) == 0;
  const int acc = fcntl(t, F_GETFL) & O_ACCMODE;
  close(t);
  if (!ok) return 0;
  if (auto it = maps_.find({st.st_dev, st.st_ino, acc}); it != maps_.end()) {
    *local = it->second;
    return 1;
  }
  if (auto it = progs_.find({st.st_dev, st.st_ino, 0}); it != progs_.end()) {
    *local = it->second;
    return 2;
  }
  if (auto it = perfs_.find({st.st_dev, st.st_ino, 0}); it != perfs_.end()) {
    *local = it->second;
    return 3;
  }
  return 0;
}

bool Dispatcher::ServeProc(Call& c, const struct seccomp_data& d,
                           int64_t* ret) {
  const uint32_t nr = static_cast<uint32_t>(d.nr) & ~0x40000000u;
  if (nr == 9) {
    // mmap(addr, len, prot, flags, fd, off) of a map fd this supervisor
    // handed out. bpf_map_mmap's checks run here on the supervisor's own
    // description of the same file and access (MapMmap: a mapping it
    // makes, then drops). A mapping the map refuses gets the kernel's
    // errno. One it allows proceeds in the caller when the file shows the
    // kernel's layout from offset 0 (a BPF_F_MMAPABLE array,
    // Map::FileShowsMmapView: a BPF_F_MMAPABLE array, a ring buffer); for
    // the other maps (arenas) the file starts with the emulator's header,
    // and no process can map memory into another, so it is ENODEV
    // (docs/exec.md, Limits).
    // Letting the call proceed decides nothing the caller could not do
    // itself: it holds that file and may read and write it; should it swap
    // the fd before the call continues, it maps whatever file it put there.
    int local;
    const int kind = Identify(c, static_cast<int>(d.args[4]), &local);
    if (kind == 3) return ServePerfMmap(c, local, d, ret);
    if (kind != 1) return false;
    int err = 0;
    void* addr = MapMmap(local, d.args[1], static_cast<int>(d.args[2]),
                         static_cast<int>(d.args[3]), d.args[5], &err);
    if (addr != nullptr) {
      munmap(addr, d.args[1]);
      std::shared_ptr<Map> m = MapFromFd(local);
      if (m != nullptr && m->FileShowsMmapView()) return false;
      err = -ENODEV;
    }
    *ret = err;
    return true;
  }
  if (nr == 233 || nr == 232 || nr == 281 || nr == 441) {
    return ServeEpoll(c, nr, d, ret);
  }
  if (nr == 298 || nr == 16) return ServePerf(c, nr, d, ret);
  if (nr == 137 || nr == 83 || nr == 84 || nr == 87 || nr == 258 || nr == 263) {
    return ServeBpffs(c, nr, d, ret);
  }
  const bool is_open = nr == 2 || nr == 257;
  const bool is_readlink = nr == 89 || nr == 267;
  if (!is_open && !is_readlink) return false;
  // open(path, flags) / openat(dirfd, path, flags) and readlink(path, buf,
  // size) / readlinkat(dirfd, path, buf, size): only absolute paths.
  const bool at = nr == 257 || nr == 267;
  const uint64_t path_ptr = d.args[at ? 1 : 0];
  std::string path;
  if (c.ReadString(path_ptr, PATH_MAX, &path) != 0 || path.empty() ||
      path[0] != '/') {
    return false;
  }
  const int n = ProcFdNumber(path, is_open ? "fdinfo" : "fd", c.pid());
  if (n < 0) return false;
  int local;
  const int kind = Identify(c, n, &local);
  if (kind == 0) return false;
  // A perf event's fdinfo is the file's own (perf has no show_fdinfo).
  if (kind == 3 && !is_readlink) return false;
  if (is_readlink) {
    // An anonymous inode's name, as the kernel's bpf and perf files have.
    const std::string target = kind == 1   ? "anon_inode:bpf-map"
                               : kind == 2 ? "anon_inode:bpf-prog"
                                           : "anon_inode:[perf_event]";
    const uint64_t buf = d.args[at ? 2 : 1];
    const int64_t size = static_cast<int32_t>(d.args[at ? 3 : 2]);
    if (size <= 0) {
      *ret = -EINVAL;
      return true;
    }
    const size_t len = std::min<size_t>(target.size(), size);
    *ret = c.Write(buf, target.data(), len) == 0 ? int64_t(len) : -EFAULT;
    return true;
  }
  const uint64_t flags = d.args[at ? 2 : 1];
  if ((flags & O_ACCMODE) != O_RDONLY) return false;
  // The real file's fdinfo (pos, flags, mnt_id, ino), then what
  // bpf_map_show_fdinfo / bpf_prog_show_fdinfo add.
  std::string text;
  {
    const std::string real =
        "/proc/" + std::to_string(c.pid()) + "/fdinfo/" + std::to_string(n);
    std::FILE* f = std::fopen(real.c_str(), "re");
    if (f == nullptr) return false;
    char line[512];
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      if (std::strncmp(line, "pos:", 4) == 0 ||
          std::strncmp(line, "flags:", 6) == 0 ||
          std::strncmp(line, "mnt_id:", 7) == 0 ||
          std::strncmp(line, "ino:", 4) == 0) {
        text += line;
      }
    }
    std::fclose(f);
  }
  char buf[1024];
  if (kind == 1) {
    std::shared_ptr<Map> m = MapFromFd(local);
    if (m == nullptr) return false;
    const MapHeader& h = m->header();
    std::snprintf(buf, sizeof(buf),
                  "map_type:\t%u\nkey_size:\t%u\nvalue_size:\t%u\n"
                  "max_entries:\t%u\nmap_flags:\t%#x\nmap_extra:\t%#llx\n"
                  "memlock:\t%lld\nmap_id:\t%u\nfrozen:\t%d\n",
                  h.map_type, h.key_size, h.value_size, h.max_entries,
                  h.map_flags, static_cast<unsigned long long>(h.map_extra),
                  static_cast<long long>(MapMemlock(local)), h.id,
                  MapFrozen(local) == 1 ? 1 : 0);
  } else {
    std::shared_ptr<const Prog> p;
    if (ProgFromFd(local, &p) != 0) return false;
    char tag[2 * BPF_TAG_SIZE + 1];
    {
      std::lock_guard<std::mutex> l(p->extra->mu);
      for (int i = 0; i < BPF_TAG_SIZE; ++i) {
        std::snprintf(tag + 2 * i, 3, "%02x", p->extra->load.tag[i]);
      }
    }
    std::snprintf(buf, sizeof(buf),
                  "prog_type:\t%u\nprog_jited:\t0\nprog_tag:\t%s\n"
                  "memlock:\t4096\nprog_id:\t%u\nrun_time_ns:\t%llu\n"
                  "run_cnt:\t%llu\nrecursion_misses:\t0\nverified_insns:\t0\n",
                  p->type, tag, p->id,
                  static_cast<unsigned long long>(p->extra->run_time_ns.load()),
                  static_cast<unsigned long long>(p->extra->run_cnt.load()));
  }
  text += buf;
  const int mfd = memfd_create("bpfemu-fdinfo", MFD_CLOEXEC);
  if (mfd < 0) return false;
  if (write(mfd, text.data(), text.size()) !=
          static_cast<ssize_t>(text.size()) ||
      lseek(mfd, 0, SEEK_SET) != 0) {
    close(mfd);
    return false;
  }
  // The caller gets a read-only file of the text.
  const std::string self = "/proc/self/fd/" + std::to_string(mfd);
  const int ro = open(self.c_str(), O_RDONLY | O_CLOEXEC);
  close(mfd);
  if (ro < 0) return false;
  *ret = c.AnswerWithFd(ro, (flags & O_CLOEXEC) != 0);
  close(ro);
  return true;
}

bool Dispatcher::ServeBpffs(Call& c, uint32_t nr, const struct seccomp_data& d,
                            int64_t* ret) {
  // statfs(path, buf), mkdir(path, mode), rmdir(path), unlink(path),
  // mkdirat(dirfd, path, mode), unlinkat(dirfd, path, flags).
  const bool at = nr == 258 || nr == 263;
  std::string path;
  if (c.ReadString(d.args[at ? 1 : 0], PATH_MAX, &path) != 0 || path.empty()) {
    return false;  // the kernel answers EFAULT / ENOENT itself
  }
  const int dir_fd = at ? static_cast<int>(d.args[0]) : AT_FDCWD;
  const std::string abs = c.Absolute(path, dir_fd);
  BpffsPath p;
  ResolveBpffsPath(abs.c_str(), &p);
  if (p.kind == BpffsPath::kOutside) return false;
  switch (nr) {
    case 137: {  // statfs: the bpffs's magic for paths that exist there
      if (p.kind == BpffsPath::kInside) {
        struct stat st;
        if (p.error != 0) {
          *ret = p.error;
          return true;
        }
        if (fstatat(p.parent_fd, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) !=
            0) {
          *ret = -errno;
          return true;
        }
      }
      struct statfs sf = {};
      sf.f_type = 0xcafe4a11;  // BPF_FS_MAGIC
      sf.f_bsize = 4096;
      sf.f_namelen = 255;
      sf.f_frsize = 4096;
      *ret = c.Write(d.args[1], &sf, sizeof(sf));
      return true;
    }
    case 83:
    case 258:
      *ret = BpffsMkdir(abs.c_str(), static_cast<mode_t>(d.args[at ? 2 : 1]));
      return true;
    default:  // rmdir, unlink, unlinkat
      *ret = BpffsUnlink(abs.c_str());
      return true;
  }
}

}  // namespace bpfemu::exec
