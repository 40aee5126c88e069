// SPDX-License-Identifier: Apache-2.0
#include "native/task_model.h"

#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"

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

// Writes task i's fields and cred.
void Fill(ThreadTasks& tt, const Layout& l, size_t i) {
  const Task& t = tt.tasks[i];
  uint8_t* task = TaskAt(tt, l, i);
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

bool TaskViewOwner(const void* task, LocalStorageMap::Owner* owner) {
  const Layout* l = GetLayout();
  ThreadTasks& tt = t_tasks;
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

}  // namespace bpfemu::native
