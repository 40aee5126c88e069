// SPDX-License-Identifier: Apache-2.0
#include "native/task_model.h"

#include <dirent.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"
#include "emu/task_kfuncs.h"

namespace bpfemu::native {
namespace {

// Where the modelled fields are, read once from the kernel BTF.
struct Layout {
  size_t task_size = 0, cred_size = 0;
  KernelBtf::Field pid, tgid, comm, real_parent, parent, group_leader,
      real_cred, cred;
  // struct cred's kuid_t / kgid_t members, in the order Ids holds them.
  KernelBtf::Field ids[8];
};

const Layout* GetLayout() {
  static const Layout* layout = []() -> const Layout* {
    const KernelBtf* btf = KernelBtf::Get();
    if (btf == nullptr) return nullptr;
    const int32_t task = btf->FindByNameKind("task_struct", BTF_KIND_STRUCT);
    const int32_t cred = btf->FindByNameKind("cred", BTF_KIND_STRUCT);
    if (task <= 0 || cred <= 0) return nullptr;
    auto* l = new Layout;
    l->task_size = static_cast<size_t>(std::max<int64_t>(btf->Size(task), 0));
    l->cred_size = static_cast<size_t>(std::max<int64_t>(btf->Size(cred), 0));
    l->pid = btf->FindMember(task, "pid");
    l->tgid = btf->FindMember(task, "tgid");
    l->comm = btf->FindMember(task, "comm");
    l->real_parent = btf->FindMember(task, "real_parent");
    l->parent = btf->FindMember(task, "parent");
    l->group_leader = btf->FindMember(task, "group_leader");
    l->real_cred = btf->FindMember(task, "real_cred");
    l->cred = btf->FindMember(task, "cred");
    const char* const ids[] = {"uid",  "gid",  "suid",  "sgid",
                               "euid", "egid", "fsuid", "fsgid"};
    for (int i = 0; i < 8; ++i) l->ids[i] = btf->FindMember(cred, ids[i]);
    return l;
  }();
  return layout;
}

// One task as /proc shows it.
struct Task {
  long pid = 0, tgid = 0, ppid = 0;
  std::string comm;
  uint32_t ids[8] = {};  // uid gid suid sgid euid egid fsuid fsgid
};

// /proc/PID/stat and /proc/PID/status: false if the task is gone.
bool ReadTask(long pid, Task* t) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return false;
  }
  t->pid = t->tgid = pid;
  t->comm = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 1));
  std::string state;
  rest >> state >> t->ppid;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    const bool uid = line.rfind("Uid:", 0) == 0;
    if (!uid && line.rfind("Gid:", 0) != 0) continue;
    std::istringstream v(line.substr(4));
    uint32_t real, eff, saved, fs;
    v >> real >> eff >> saved >> fs;
    const int b = uid ? 0 : 1;  // uid fields even, gid fields odd
    t->ids[b] = real;
    t->ids[2 + b] = saved;
    t->ids[4 + b] = eff;
    t->ids[6 + b] = fs;
  }
  return true;
}

// The calling thread itself: its ids and comm as the thread sees them now.
void ReadSelf(Task* t) {
  char name[16] = {};
  prctl(PR_GET_NAME, name);
  t->comm = name;
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  const uint32_t fsuid = static_cast<uint32_t>(setfsuid(-1));
  const uint32_t fsgid = static_cast<uint32_t>(setfsgid(-1));
  const uint32_t ids[8] = {r, gr, s, gs, e, ge, fsuid, fsgid};
  std::memcpy(t->ids, ids, sizeof(ids));
}

// The views of one thread: [0] the thread, then its group leader when the
// thread does not lead, then the parent, its parent ... pid 0; each task is
// followed by its cred.
struct ThreadTasks {
  std::vector<uint8_t> block;
  std::vector<Task> tasks;
  // Each task's storage owner, found on first use (it reads /proc).
  std::vector<LocalStorageMap::Owner> owners;
  std::vector<bool> owner_known;
  bool built = false;
};
thread_local ThreadTasks t_tasks;

uint8_t* TaskAt(ThreadTasks& tt, const Layout& l, size_t i) {
  return tt.block.data() + i * (l.task_size + l.cred_size);
}

void Put(uint8_t* base, const KernelBtf::Field& f, const void* v, size_t n) {
  if (f.offset >= 0 && f.size >= n) std::memcpy(base + f.offset, v, n);
}

void PutPtr(uint8_t* base, const KernelBtf::Field& f, const void* p) {
  const uint64_t v = reinterpret_cast<uint64_t>(p);
  Put(base, f, &v, 8);
}

// Writes a task's fields and its cred (right after the task).
void FillAt(uint8_t* task, const Task& t, const Layout& l) {
  uint8_t* cred = task + l.task_size;
  const int32_t pid = static_cast<int32_t>(t.pid),
                tgid = static_cast<int32_t>(t.tgid);
  Put(task, l.pid, &pid, 4);
  Put(task, l.tgid, &tgid, 4);
  char comm[16] = {};
  std::memcpy(comm, t.comm.data(), std::min<size_t>(t.comm.size(), 15));
  if (l.comm.offset >= 0) {
    std::memcpy(task + l.comm.offset, comm, std::min<size_t>(16, l.comm.size));
  }
  for (int k = 0; k < 8; ++k) Put(cred, l.ids[k], &t.ids[k], 4);
  PutPtr(task, l.real_cred, cred);
  PutPtr(task, l.cred, cred);
}

// Writes task i's fields and cred.
void Fill(ThreadTasks& tt, const Layout& l, size_t i) {
  FillAt(TaskAt(tt, l, i), tt.tasks[i], l);
}

void Build(ThreadTasks& tt, const Layout& l) {
  Task self;
  self.pid = gettid();
  self.tgid = getpid();
  self.ppid = getppid();
  ReadSelf(&self);
  tt.tasks.push_back(self);
  const bool leads = self.pid == self.tgid;
  if (!leads) {
    Task leader;
    if (!ReadTask(self.tgid, &leader)) leader = self;
    leader.pid = leader.tgid = self.tgid;
    tt.tasks.push_back(leader);
  }
  const size_t first_ancestor = tt.tasks.size();
  // The ancestors, up to pid 1 (a parent /proc no longer shows ends it).
  for (long p = self.ppid; p > 0 && tt.tasks.size() < 66;) {
    Task a;
    if (!ReadTask(p, &a)) break;
    tt.tasks.push_back(a);
    p = a.ppid;
  }
  Task idle;  // init_task: pid 0, its own parent
  idle.comm = "swapper/0";
  tt.tasks.push_back(idle);
  const size_t n = tt.tasks.size();
  tt.block.assign(n * (l.task_size + l.cred_size), 0);
  for (size_t i = 0; i < n; ++i) {
    Fill(tt, l, i);
    uint8_t* task = TaskAt(tt, l, i);
    // The thread and its leader have the process's parent; each ancestor
    // the next; pid 0 itself. The leader of a thread is its process's
    // first thread; every other task here leads its own.
    const size_t parent =
        i < first_ancestor ? first_ancestor : std::min(i + 1, n - 1);
    PutPtr(task, l.real_parent, TaskAt(tt, l, parent));
    PutPtr(task, l.parent, TaskAt(tt, l, parent));
    PutPtr(task, l.group_leader, TaskAt(tt, l, i == 0 && !leads ? 1 : i));
  }
  tt.owners.resize(n);
  tt.owner_known.assign(n, false);
  tt.built = true;
}

}  // namespace

const void* CurrentTask() {
  const Layout* l = GetLayout();
  if (l == nullptr || l->task_size == 0) return nullptr;
  ThreadTasks& tt = t_tasks;
  if (!tt.built) {
    Build(tt, *l);
  } else {
    // comm and the ids may have changed since (prctl, setresuid).
    ReadSelf(&tt.tasks[0]);
    Fill(tt, *l, 0);
  }
  return TaskAt(tt, *l, 0);
}

TaskBlock CurrentTaskBlock() {
  return {t_tasks.block.data(), t_tasks.block.size()};
}

namespace {

// kfuncB47: views of tasks beyond this thread's chain, which the task
// iterators reach (any thread of the system): one per thread id, made on
// first use in a reserved mapping of kMaxExtraViews slots, so a view's
// address never changes and the views of a thread are one region for a
// bytecode run.
constexpr size_t kMaxExtraViews = 8192;

struct ExtraViews {
  uint8_t* base = nullptr;
  size_t stride = 0;
  std::vector<long> tids;  // slot -> thread id
  std::map<long, size_t> slot_of;
  ~ExtraViews() {
    if (base != nullptr) munmap(base, kMaxExtraViews * stride);
  }
};
thread_local ExtraViews t_extra;

// The thread id of an extra view, or -1.
long ExtraViewTid(const void* p) {
  const ExtraViews& e = t_extra;
  const auto* b = static_cast<const uint8_t*>(p);
  if (e.base == nullptr || b < e.base ||
      b >= e.base + e.tids.size() * e.stride ||
      static_cast<size_t>(b - e.base) % e.stride != 0) {
    return -1;
  }
  return e.tids[static_cast<size_t>(b - e.base) / e.stride];
}

// /proc/TID/status's Tgid, or 0.
long TgidOf(long tid) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Tgid:", 0) == 0) return std::atol(line.c_str() + 5);
  }
  return 0;
}

}  // namespace

const void* TaskViewOfTid(long tid) {
  if (tid < 0 || CurrentTask() == nullptr) return nullptr;
  const Layout* l = GetLayout();
  ThreadTasks& tt = t_tasks;
  for (size_t i = 0; i < tt.tasks.size(); ++i) {
    if (tt.tasks[i].pid == tid) return TaskAt(tt, *l, i);
  }
  ExtraViews& e = t_extra;
  if (auto it = e.slot_of.find(tid); it != e.slot_of.end()) {
    return e.base + it->second * e.stride;
  }
  Task t;
  if (!ReadTask(tid, &t)) return nullptr;
  t.tgid = TgidOf(tid);
  if (t.tgid <= 0) return nullptr;
  if (e.base == nullptr) {
    e.stride = l->task_size + l->cred_size;
    void* m = mmap(nullptr, kMaxExtraViews * e.stride, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    e.base = static_cast<uint8_t*>(m);
  }
  if (e.tids.size() == kMaxExtraViews) return nullptr;
  const size_t slot = e.tids.size();
  e.tids.push_back(tid);
  e.slot_of[tid] = slot;
  uint8_t* view = e.base + slot * e.stride;
  FillAt(view, t, *l);
  // The parent process and the group leader, made as needed (a thread's
  // parent is its process's).
  const void* parent = TaskViewOfTid(t.ppid > 0 ? t.ppid : 0);
  PutPtr(view, l->real_parent, parent);
  PutPtr(view, l->parent, parent);
  PutPtr(view, l->group_leader, t.tgid == tid ? view : TaskViewOfTid(t.tgid));
  return view;
}

void ExtraTaskBlock(const uint8_t** data, size_t* size) {
  const ExtraViews& e = t_extra;
  *data = e.base;
  *size = e.tids.size() * e.stride;
}

namespace {

// The numbers of a /proc directory's numeric entries, ascending.
std::vector<long> ProcNumbers(const std::string& dir) {
  std::vector<long> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* de = readdir(d)) {
    char* end = nullptr;
    const long n = std::strtol(de->d_name, &end, 10);
    if (end != de->d_name && *end == '\0' && n > 0) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

long NextProcess(long after) {
  for (long p : ProcNumbers("/proc")) {
    if (p > after) return p;
  }
  return 0;
}

long NextThread(long tgid, long after) {
  if (tgid <= 0) return 0;
  for (long t : ProcNumbers("/proc/" + std::to_string(tgid) + "/task")) {
    if (t > after) return t;
  }
  return 0;
}

long TaskTgid(long tid) {
  if (tid <= 0) return 0;
  if (tid == gettid()) return getpid();
  return TgidOf(tid);
}

bool IsKernelThread(long tid) {
  if (tid <= 0) return true;  // init_task
  std::ifstream stat("/proc/" + std::to_string(tid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  // state ppid pgrp session tty_nr tpgid flags
  for (int i = 0; i < 7 && rest >> field; ++i) {
  }
  constexpr unsigned long kPfKthread = 0x00200000;
  return (std::strtoul(field.c_str(), nullptr, 10) & kPfKthread) != 0;
}

const void* TaskViewByPid(int32_t pid) {
  if (pid <= 0) return nullptr;
  // The chain's views first, then any thread /proc shows (kfuncB47).
  return TaskViewOfTid(pid);
}

bool IsTaskView(const void* p) {
  const Layout* l = GetLayout();
  ThreadTasks& tt = t_tasks;
  if (ExtraViewTid(p) >= 0) return true;
  if (l == nullptr || !tt.built) return false;
  const auto* b = static_cast<const uint8_t*>(p);
  const size_t stride = l->task_size + l->cred_size;
  return b >= tt.block.data() && b < tt.block.data() + tt.block.size() &&
         (b - tt.block.data()) % stride == 0;
}

namespace {

void TaskBlockOf(const uint8_t** data, size_t* size) {
  const TaskBlock b = CurrentTaskBlock();
  *data = b.data;
  *size = b.size;
}

constexpr TaskKfuncOps kTaskOps = {TaskViewByPid, IsTaskView, TaskBlockOf,
                                   TaskViewTid};

[[maybe_unused]] const bool kTaskOpsSet = (SetTaskKfuncOps(&kTaskOps), true);

}  // namespace

bool TaskViewOwner(const void* task, LocalStorageMap::Owner* owner) {
  const Layout* l = GetLayout();
  ThreadTasks& tt = t_tasks;
  if (const long extra = ExtraViewTid(task); extra >= 0) {
    return extra > 0 && LocalStorageMap::TaskOwner(extra, owner) == 0;
  }
  if (l == nullptr || !tt.built) return false;
  const auto* p = static_cast<const uint8_t*>(task);
  const size_t stride = l->task_size + l->cred_size;
  if (p < tt.block.data() || p >= tt.block.data() + tt.block.size() ||
      (p - tt.block.data()) % stride != 0) {
    return false;
  }
  const size_t i = static_cast<size_t>(p - tt.block.data()) / stride;
  if (!tt.owner_known[i]) {
    if (tt.tasks[i].pid <= 0 ||
        LocalStorageMap::TaskOwner(tt.tasks[i].pid, &tt.owners[i]) != 0) {
      return false;
    }
    tt.owner_known[i] = true;
  }
  *owner = tt.owners[i];
  return true;
}

bool TaskViewTid(const void* task, long* tid) {
  const Layout* l = GetLayout();
  ThreadTasks& tt = t_tasks;
  if (const long extra = ExtraViewTid(task); extra >= 0) {
    *tid = extra;
    return true;
  }
  if (l == nullptr || !tt.built) return false;
  const auto* p = static_cast<const uint8_t*>(task);
  const size_t stride = l->task_size + l->cred_size;
  if (p < tt.block.data() || p >= tt.block.data() + tt.block.size() ||
      (p - tt.block.data()) % stride != 0) {
    return false;
  }
  *tid = tt.tasks[static_cast<size_t>(p - tt.block.data()) / stride].pid;
  return true;
}

namespace {

// struct pt_regs on x86-64: 21 registers in this order.
enum PtReg {
  kR15,
  kR14,
  kR13,
  kR12,
  kBp,
  kBx,
  kR11,
  kR10,
  kR9,
  kR8,
  kAx,
  kCx,
  kDx,
  kSi,
  kDi,
  kOrigAx,
  kIp,
  kCs,
  kFlags,
  kSp,
  kSs,
  kNumPtRegs
};
constexpr uint64_t kUserCs = 0x33, kUserDs = 0x2b;  // __USER_CS, __USER_DS
constexpr uint64_t kNrBpf = 321;
constexpr uint64_t kNegEnosys = static_cast<uint64_t>(-38);
thread_local std::vector<uint64_t> t_regs;

// /proc/TID/syscall of a task blocked in a system call.
void ReadSyscallRegs(long tid, uint64_t* r) {
  std::ifstream f("/proc/" + std::to_string(tid) + "/syscall");
  std::string word;
  std::vector<uint64_t> v;
  while (f >> word && v.size() < 9) {
    char* end = nullptr;
    const unsigned long long x = std::strtoull(word.c_str(), &end, 0);
    if (end == word.c_str() || *end != '\0') return;  // "running", "-1"
    v.push_back(x);
  }
  if (v.size() != 9) return;
  r[kOrigAx] = v[0];
  r[kDi] = v[1];
  r[kSi] = v[2];
  r[kDx] = v[3];
  r[kR10] = v[4];
  r[kR8] = v[5];
  r[kR9] = v[6];
  r[kSp] = v[7];
  r[kIp] = v[8];
  r[kCx] = v[8];
  r[kAx] = kNegEnosys;
}

}  // namespace

const void* TaskPtRegs(const void* task, const uint8_t** block,
                       size_t* block_size) {
  long tid = -1;
  if (!TaskViewTid(task, &tid)) return nullptr;
  const Layout* l = GetLayout();
  ThreadTasks& tt = t_tasks;
  const size_t stride = l->task_size + l->cred_size;
  const size_t i =
      static_cast<size_t>(static_cast<const uint8_t*>(task) - tt.block.data()) /
      stride;
  if (t_regs.size() < tt.tasks.size() * kNumPtRegs) {
    // Room for many tasks at once, so that a block a bytecode run was
    // handed stays where it is when the thread's views grow.
    t_regs.reserve(std::max<size_t>(256, tt.tasks.size()) * kNumPtRegs);
    t_regs.resize(tt.tasks.size() * kNumPtRegs, 0);
  }
  uint64_t* r = t_regs.data() + i * kNumPtRegs;
  std::fill(r, r + kNumPtRegs, 0);
  if (tid != 0) {
    r[kCs] = kUserCs;
    r[kSs] = kUserDs;
    if (tid == gettid()) {
      r[kOrigAx] = kNrBpf;
      r[kAx] = kNegEnosys;
      r[kDi] = 10;  // BPF_PROG_TEST_RUN
      r[kIp] = reinterpret_cast<uint64_t>(__builtin_return_address(0));
      r[kCx] = r[kIp];
      r[kSp] = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
#if defined(__x86_64__)
      r[kFlags] = __builtin_ia32_readeflags_u64();
#endif
      r[kR11] = r[kFlags];
    } else {
      ReadSyscallRegs(tid, r);
    }
  }
  *block = reinterpret_cast<const uint8_t*>(t_regs.data());
  *block_size = t_regs.size() * sizeof(uint64_t);
  return r;
}

namespace {

// vm_area_struct's modelled fields, from the kernel BTF.
struct VmaLayout {
  size_t vma_size = 0, file_size = 0, socket_size = 0;
  KernelBtf::Field vm_start, vm_end, vm_flags, vm_pgoff, vm_file;
  KernelBtf::Field f_op, private_data;                // struct file
  KernelBtf::Field sock_state, sock_type, sock_file;  // struct socket
};

const VmaLayout* GetVmaLayout() {
  static const VmaLayout* layout = []() -> const VmaLayout* {
    const KernelBtf* btf = KernelBtf::Get();
    if (btf == nullptr) return nullptr;
    const int32_t vma = btf->FindByNameKind("vm_area_struct", BTF_KIND_STRUCT);
    const int32_t file = btf->FindByNameKind("file", BTF_KIND_STRUCT);
    if (vma <= 0 || file <= 0) return nullptr;
    auto* l = new VmaLayout;
    l->vma_size = static_cast<size_t>(std::max<int64_t>(btf->Size(vma), 0));
    l->file_size = static_cast<size_t>(std::max<int64_t>(btf->Size(file), 0));
    l->vm_start = btf->FindMember(vma, "vm_start");
    l->vm_end = btf->FindMember(vma, "vm_end");
    l->vm_flags = btf->FindMember(vma, "vm_flags");
    l->vm_pgoff = btf->FindMember(vma, "vm_pgoff");
    l->vm_file = btf->FindMember(vma, "vm_file");
    l->f_op = btf->FindMember(file, "f_op");
    l->private_data = btf->FindMember(file, "private_data");
    if (const int32_t sock = btf->FindByNameKind("socket", BTF_KIND_STRUCT);
        sock > 0) {
      l->socket_size =
          static_cast<size_t>(std::max<int64_t>(btf->Size(sock), 0));
      l->sock_state = btf->FindMember(sock, "state");
      l->sock_type = btf->FindMember(sock, "type");
      l->sock_file = btf->FindMember(sock, "file");
    }
    return l;
  }();
  return layout;
}

// What a socket file's f_op points at (net/socket.c socket_file_ops).
const char kSocketFileOps = 0;

// The type (SO_TYPE) and state of the socket with inode `inode` among
// thread `tid`'s process's descriptors: SS_CONNECTED (3) when it has a
// peer, else SS_UNCONNECTED (1). Another process's socket, which this one
// cannot ask, stays at type 0 and state SS_UNCONNECTED.
void SocketOf(long tid, uint64_t inode, int16_t* type, int32_t* state) {
  *state = 1;
  if (tid != gettid() && getpid() != tid) {
    std::ifstream status("/proc/" + std::to_string(tid) + "/status");
    std::string line;
    long tgid = -1;
    while (std::getline(status, line)) {
      if (line.rfind("Tgid:", 0) == 0)
        tgid = std::strtol(line.c_str() + 5, nullptr, 10);
    }
    if (tgid != getpid()) return;
  }
  const std::string want = "socket:[" + std::to_string(inode) + "]";
  for (int fd = 0; fd < 4096; ++fd) {
    char target[64] = {};
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0 || want != target) continue;
    int t = 0;
    socklen_t len = sizeof(t);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &len) == 0) {
      *type = static_cast<int16_t>(t);
    }
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<struct sockaddr*>(&peer), &plen) ==
        0) {
      *state = 3;
    }
    return;
  }
}

// fs/proc/task_mmu.c show_smap_vma_flags: each VmFlags mnemonic and its
// include/linux/mm.h bit (x86-64).
uint64_t VmFlagBit(const std::string& m) {
  static const struct {
    const char* name;
    uint64_t bit;
  } kFlags[] = {
      {"rd", 0x1},        {"wr", 0x2},        {"ex", 0x4},
      {"sh", 0x8},        {"mr", 0x10},       {"mw", 0x20},
      {"me", 0x40},       {"ms", 0x80},       {"gd", 0x100},
      {"um", 0x200},      {"pf", 0x400},      {"uw", 0x1000},
      {"lo", 0x2000},     {"io", 0x4000},     {"sr", 0x8000},
      {"rr", 0x10000},    {"dc", 0x20000},    {"de", 0x40000},
      {"lf", 0x80000},    {"ac", 0x100000},   {"nr", 0x200000},
      {"ht", 0x400000},   {"sf", 0x800000},   {"ar", 0x1000000},
      {"wf", 0x2000000},  {"dd", 0x4000000},  {"sd", 0x8000000},
      {"mm", 0x10000000}, {"hg", 0x20000000}, {"nh", 0x40000000},
      {"mg", 0x80000000},
  };
  for (const auto& f : kFlags) {
    if (m == f.name) return f.bit;
  }
  return 0;
}

}  // namespace

namespace {

// The vma holding `addr` (FindVma), or with `at_or_after` the first one
// ending above it (NextVma).
bool VmaOf(long tid, uint64_t addr, bool at_or_after,
           std::vector<uint8_t>* block, size_t* vma_size) {
  const VmaLayout* l = GetVmaLayout();
  if (l == nullptr || l->vma_size == 0 || tid <= 0) return false;
  std::ifstream smaps("/proc/" + std::to_string(tid) + "/smaps");
  std::string line;
  bool found = false;
  uint64_t start = 0, end = 0, offset = 0, inode = 0, flags = 0;
  std::string path;
  while (std::getline(smaps, line)) {
    if (found) {
      if (line.rfind("VmFlags:", 0) != 0) continue;
      std::istringstream v(line.substr(8));
      std::string m;
      while (v >> m) flags |= VmFlagBit(m);
      break;
    }
    // A vma's first line: "start-end perms offset dev inode [path]".
    const size_t dash = line.find('-');
    if (dash == std::string::npos || line.find(':') < dash) continue;
    std::istringstream h(line);
    std::string range, perms, dev;
    if (!(h >> range >> perms >> std::hex >> offset >> dev >> std::dec >>
          inode)) {
      continue;
    }
    path.clear();
    h >> path;
    start = std::stoull(range.substr(0, dash), nullptr, 16);
    end = std::stoull(range.substr(dash + 1), nullptr, 16);
    // The vsyscall page is the gate area, no vma of the mm.
    if (path == "[vsyscall]") continue;
    found = at_or_after ? addr < end : start <= addr && addr < end;
  }
  if (!found) return false;
  block->assign(l->vma_size + l->file_size + l->socket_size, 0);
  uint8_t* vma = block->data();
  Put(vma, l->vm_start, &start, 8);
  Put(vma, l->vm_end, &end, 8);
  Put(vma, l->vm_flags, &flags, 8);
  // A file vma's offset in pages; an anonymous vma's start page when it was
  // made; the process stack's, made at exec as the page below TASK_SIZE_MAX
  // (fs/exec.c setup_arg_pages moves it without changing vm_pgoff, and each
  // page it grows down by takes one off).
  uint64_t pgoff = inode != 0 ? offset / 4096 : start / 4096;
  if (inode == 0 && path == "[stack]") {
    constexpr uint64_t kTaskSizeMaxPages = ((uint64_t{1} << 47) - 4096) / 4096;
    pgoff = kTaskSizeMaxPages - (end - start) / 4096;
  }
  Put(vma, l->vm_pgoff, &pgoff, 8);
  if (inode != 0) PutPtr(vma, l->vm_file, vma + l->vma_size);
  if (inode != 0 && path.rfind("socket:[", 0) == 0 && l->socket_size != 0) {
    // A socket's file (sockfs names it "socket:[INODE]"): f_op is
    // socket_file_ops and private_data the struct socket, whose file
    // points back.
    uint8_t* file = vma + l->vma_size;
    uint8_t* sock = file + l->file_size;
    PutPtr(file, l->f_op, &kSocketFileOps);
    PutPtr(file, l->private_data, sock);
    PutPtr(sock, l->sock_file, file);
    int16_t type = 0;
    int32_t state = 0;
    SocketOf(tid, inode, &type, &state);
    Put(sock, l->sock_type, &type, 2);
    Put(sock, l->sock_state, &state, 4);
  }
  *vma_size = l->vma_size;
  return true;
}

}  // namespace

bool FindVma(long tid, uint64_t addr, std::vector<uint8_t>* block,
             size_t* vma_size) {
  return VmaOf(tid, addr, false, block, vma_size);
}

bool NextVma(long tid, uint64_t addr, std::vector<uint8_t>* block,
             size_t* vma_size, uint64_t* vm_end) {
  if (!VmaOf(tid, addr, true, block, vma_size)) return false;
  const VmaLayout* l = GetVmaLayout();
  *vm_end = 0;
  if (l->vm_end.offset >= 0) {
    std::memcpy(vm_end, block->data() + l->vm_end.offset, 8);
  }
  return true;
}

size_t FileViewSize() {
  const VmaLayout* l = GetVmaLayout();
  return l != nullptr ? l->file_size : 0;
}

void* SockFromFile(const void* file) {
  const VmaLayout* l = GetVmaLayout();
  if (l == nullptr || file == nullptr || l->f_op.offset < 0 ||
      l->private_data.offset < 0) {
    return nullptr;
  }
  const auto* f = static_cast<const uint8_t*>(file);
  uint64_t op = 0, priv = 0;
  std::memcpy(&op, f + l->f_op.offset, 8);
  if (op != reinterpret_cast<uint64_t>(&kSocketFileOps)) return nullptr;
  std::memcpy(&priv, f + l->private_data.offset, 8);
  return reinterpret_cast<void*>(priv);
}

}  // namespace bpfemu::native
