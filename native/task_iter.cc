// SPDX-License-Identifier: Apache-2.0
// File: task_iter.cc
//
// kfuncB47: kernel/bpf/task_iter.c's open-coded task iterators
// (bpf_iter_task_new / _next / _destroy, bpf_iter_task_vma_new / _next /
// _destroy) over native/task_model.h's views (task_iter.h): what the
// native face (native/task_iter_kfuncs.cc) calls and the operations
// emu/task_iter_kfuncs.h's interpreter bindings call, registered here.
//
// The task iterator walks the tasks /proc shows, as the kernel walks its
// task list from init_task: BPF_TASK_ITER_ALL_PROCS every process (group
// leader), _ALL_THREADS every thread of each, _PROC_THREADS the given task
// and the threads of its process after it. The task list is read as the
// iteration goes, as the kernel's is walked under RCU. The vma iterator
// walks /proc/TID/smaps from the address given, one vma snapshot at a time
// (the kernel's snapshot in the iterator's allocated data).

#include "native/task_iter.h"

#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

#include "emu/task_iter_kfuncs.h"
#include "native/task_model.h"

namespace bpfemu::native {
namespace {

// struct bpf_iter_task's 24 bytes: the process and thread of the next
// task, the flags, whether there is one (the kernel's kit->pos != NULL).
struct TaskIter {
  int64_t tgid;
  int64_t tid;
  uint32_t flags;
  uint32_t live;
};
static_assert(sizeof(TaskIter) == kIterTaskSize);

TaskIter LoadIter(const void* it) {
  TaskIter k;
  std::memcpy(&k, it, sizeof(k));
  return k;
}

}  // namespace

int TaskIterNew(void* it, const void* task, uint32_t flags) {
  TaskIter k{};
  std::memcpy(it, &k, sizeof(k));
  switch (flags) {
    case kTaskIterAllProcs:
    case kTaskIterAllThreads:
      break;
    case kTaskIterProcThreads:
      if (task == nullptr) return -EINVAL;
      break;
    default:
      return -EINVAL;
  }
  if (flags == kTaskIterProcThreads) {
    long tid = 0;
    if (!TaskViewTid(task, &tid)) return -EINVAL;
    k.tid = tid;
    k.tgid = TaskTgid(tid);
  }  // else init_task: 0, 0
  k.flags = flags;
  k.live = 1;
  std::memcpy(it, &k, sizeof(k));
  return 0;
}

const void* TaskIterNext(void* it) {
  TaskIter k = LoadIter(it);
  for (;;) {
    if (k.live == 0) {
      std::memcpy(it, &k, sizeof(k));
      return nullptr;
    }
    const long pos = static_cast<long>(k.tid);
    bool next_process = k.flags == kTaskIterAllProcs;
    if (!next_process) {
      const long t = NextThread(static_cast<long>(k.tgid), pos);
      if (t != 0) {
        k.tid = t;
      } else if (k.flags == kTaskIterProcThreads) {
        k.live = 0;
      } else {
        next_process = true;
      }
    }
    if (next_process) {
      const long p = NextProcess(static_cast<long>(k.tgid));
      if (p == 0) {
        k.live = 0;
      } else {
        k.tgid = k.tid = p;
      }
    }
    // A task gone since the list was read is passed over.
    if (const void* view = TaskViewOfTid(pos); view != nullptr) {
      std::memcpy(it, &k, sizeof(k));
      return view;
    }
  }
}

namespace {

// The vma iterator's data (the kernel's bpf_iter_task_vma_kern_data).
struct VmaIter {
  long tid;
  uint64_t next_addr;
  std::vector<uint8_t> snapshot;
};
// The live iterators' data: a pointer that is none of them (an iterator
// that failed, or was destroyed) finds nothing.
thread_local std::set<const VmaIter*> t_vma_iters;

VmaIter* LoadVma(const void* it) {
  VmaIter* d = nullptr;
  std::memcpy(&d, it, sizeof(d));
  return t_vma_iters.count(d) != 0 ? d : nullptr;
}

}  // namespace

int VmaIterNew(void* it, const void* task, uint64_t addr) {
  VmaIter* none = nullptr;
  std::memcpy(it, &none, sizeof(none));
  long tid = 0;
  if (!TaskViewTid(task, &tid)) return -EINVAL;
  // No mm: init_task, a kernel thread, a task that exited.
  std::vector<uint8_t> probe;
  size_t size = 0;
  uint64_t end = 0;
  if (tid <= 0 || IsKernelThread(tid) ||
      !NextVma(tid, 0, &probe, &size, &end)) {
    return -ENOENT;
  }
  auto* d = new VmaIter{tid, addr, {}};
  t_vma_iters.insert(d);
  std::memcpy(it, &d, sizeof(d));
  return 0;
}

const void* VmaIterNext(void* it, size_t* size) {
  VmaIter* d = LoadVma(it);
  if (d == nullptr) return nullptr;
  size_t vma_size = 0;
  uint64_t end = 0;
  // The snapshot is laid out in place (its vm_file points into it) and
  // keeps its address from one vma to the next, as the kernel's.
  if (!NextVma(d->tid, d->next_addr, &d->snapshot, &vma_size, &end)) {
    return nullptr;
  }
  d->next_addr = end;
  *size = d->snapshot.size();
  return d->snapshot.data();
}

void VmaIterDestroy(void* it) {
  VmaIter* d = LoadVma(it);
  if (d == nullptr) return;
  t_vma_iters.erase(d);
  delete d;
}

namespace {

bool IsView(const void* p) {
  long tid = 0;
  return TaskViewTid(p, &tid);
}

void OwnViews(const uint8_t** data, size_t* size) {
  const TaskBlock b = CurrentTaskBlock();
  *data = b.data;
  *size = b.size;
}

constexpr TaskIterOps kIterOps = {
    TaskIterNew,    TaskIterNext, VmaIterNew,     VmaIterNext,
    VmaIterDestroy, IsView,       ExtraTaskBlock, OwnViews,
};

[[maybe_unused]] const bool kIterOpsSet = (SetTaskIterOps(&kIterOps), true);

}  // namespace
}  // namespace bpfemu::native
