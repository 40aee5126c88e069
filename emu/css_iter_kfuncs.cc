// SPDX-License-Identifier: Apache-2.0
// File: css_iter_kfuncs.cc
//
// kernel/bpf/cgroup_iter.c bpf_iter_css_* (css_next_descendant_pre,
// css_next_descendant_post, the parent walk) and kernel/bpf/task_iter.c
// bpf_iter_css_task_* (css_task_iter) over the cgroup handles
// (css_iter_kfuncs.h).

#include "emu/css_iter_kfuncs.h"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include "emu/cgroup.h"
#include "emu/task_kfuncs.h"

namespace bpfemu {

namespace {

// struct bpf_iter_css_kern: the start, the position, the order.
struct IterCss {
  void* start;
  void* pos;
  uint64_t flags;
};
static_assert(sizeof(IterCss) == kIterCssSize);

// The leftmost leaf below `c` (css_leftmost_descendant).
void* Leftmost(void* c) {
  for (void* child = CgroupRefFirstChild(c); child != nullptr;
       child = CgroupRefFirstChild(c)) {
    c = child;
  }
  return c;
}

// The css_task iterator's data: the tasks listed at _new, the next one.
struct CssTasks {
  std::vector<long> tids;
  size_t next = 0;
};
std::mutex live_mu;
std::set<const CssTasks*>& Live() {
  static auto* s = new std::set<const CssTasks*>;
  return *s;
}

CssTasks* LoadTasks(const void* it) {
  CssTasks* d = nullptr;
  std::memcpy(&d, it, sizeof(d));
  std::lock_guard<std::mutex> l(live_mu);
  return Live().count(d) != 0 ? d : nullptr;
}

bool IsCgroup(const void* p) {
  uint64_t id = 0;
  return CgroupRefId(p, &id);
}

void NeedIter(interp::Vm& vm, uint64_t p, size_t size, const char* name) {
  if (!vm.Writable(p, size)) {
    vm.Fault("%s: R1 is not a writable %zu-byte iterator", name, size);
  }
}

}  // namespace

int IterCssNew(void* it, void* start, uint32_t flags) {
  IterCss k{nullptr, nullptr, 0};
  std::memcpy(it, &k, sizeof(k));
  switch (flags) {
    case kCgroupIterDescendantsPre:
    case kCgroupIterDescendantsPost:
    case kCgroupIterAncestorsUp:
      break;
    default:
      return -EINVAL;
  }
  k = {start, nullptr, flags};
  std::memcpy(it, &k, sizeof(k));
  return 0;
}

void* IterCssNext(void* it) {
  IterCss k;
  std::memcpy(&k, it, sizeof(k));
  if (k.start == nullptr) return nullptr;
  void* next = nullptr;
  switch (k.flags) {
    case kCgroupIterDescendantsPre:
      // css_next_descendant_pre: the start, then a first child, else the
      // next sibling of the position or of its nearest ancestor below the
      // start that has one.
      if (k.pos == nullptr) {
        next = k.start;
      } else if ((next = CgroupRefFirstChild(k.pos)) == nullptr) {
        for (void* p = k.pos; p != k.start && p != nullptr;
             p = CgroupRefParent(p)) {
          if ((next = CgroupRefNextSibling(p)) != nullptr) break;
        }
      }
      break;
    case kCgroupIterDescendantsPost:
      // css_next_descendant_post: the leftmost leaf, then the leftmost
      // leaf below the next sibling, else the parent; the start last.
      if (k.pos == nullptr) {
        next = Leftmost(k.start);
      } else if (k.pos != k.start) {
        void* sib = CgroupRefNextSibling(k.pos);
        next = sib != nullptr ? Leftmost(sib) : CgroupRefParent(k.pos);
      }
      break;
    case kCgroupIterAncestorsUp:
      next = k.pos == nullptr ? k.start : CgroupRefParent(k.pos);
      break;
    default:
      break;
  }
  k.pos = next;
  std::memcpy(it, &k, sizeof(k));
  return next;
}

int IterCssTaskNew(void* it, void* css, uint32_t flags) {
  CssTasks* none = nullptr;
  std::memcpy(it, &none, sizeof(none));
  switch (flags) {
    case kCssTaskIterProcs | kCssTaskIterThreaded:
    case kCssTaskIterProcs:
    case 0:
      break;
    default:
      return -EINVAL;
  }
  auto* d = new CssTasks;
  // A css that is no cgroup2 handle (a v1 cgroup) lists no task here.
  CgroupRefTasks(css, (flags & kCssTaskIterProcs) != 0, &d->tids);
  {
    std::lock_guard<std::mutex> l(live_mu);
    Live().insert(d);
  }
  std::memcpy(it, &d, sizeof(d));
  return 0;
}

const void* IterCssTaskNext(void* it) {
  CssTasks* d = LoadTasks(it);
  if (d == nullptr) return nullptr;
  const TaskKfuncOps* ops = GetTaskKfuncOps();
  while (ops != nullptr && d->next < d->tids.size()) {
    // A task gone since the list was read is passed over.
    const long tid = d->tids[d->next++];
    if (const void* t = ops->from_pid(static_cast<int32_t>(tid))) return t;
  }
  return nullptr;
}

void IterCssTaskDestroy(void* it) {
  CssTasks* d = LoadTasks(it);
  if (d == nullptr) return;
  {
    std::lock_guard<std::mutex> l(live_mu);
    Live().erase(d);
  }
  delete d;
}

uint64_t InterpIterCssNew(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterCssSize, "bpf_iter_css_new");
  if (!IsCgroup(reinterpret_cast<const void*>(r2))) {
    vm.Fault("bpf_iter_css_new: R2 is not a trusted cgroup_subsys_state");
  }
  const int ret =
      IterCssNew(reinterpret_cast<void*>(r1), reinterpret_cast<void*>(r2),
                 static_cast<uint32_t>(r3));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpIterCssNext(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterCssSize, "bpf_iter_css_next");
  return reinterpret_cast<uint64_t>(IterCssNext(reinterpret_cast<void*>(r1)));
}

uint64_t InterpIterCssDestroy(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                              uint64_t, uint64_t) {
  // Nothing to free (the kernel's destroy is empty).
  NeedIter(vm, r1, kIterCssSize, "bpf_iter_css_destroy");
  return 0;
}

uint64_t InterpIterCssTaskNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterCssTaskSize, "bpf_iter_css_task_new");
  if (!IsCgroup(reinterpret_cast<const void*>(r2))) {
    vm.Fault("bpf_iter_css_task_new: R2 is not a trusted cgroup_subsys_state");
  }
  const int ret =
      IterCssTaskNew(reinterpret_cast<void*>(r1), reinterpret_cast<void*>(r2),
                     static_cast<uint32_t>(r3));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpIterCssTaskNext(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                               uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterCssTaskSize, "bpf_iter_css_task_next");
  const void* t = IterCssTaskNext(reinterpret_cast<void*>(r1));
  if (t != nullptr) AddTaskViewRegions(vm);
  return reinterpret_cast<uint64_t>(t);
}

uint64_t InterpIterCssTaskDestroy(interp::Vm& vm, uint64_t r1, uint64_t,
                                  uint64_t, uint64_t, uint64_t) {
  NeedIter(vm, r1, kIterCssTaskSize, "bpf_iter_css_task_destroy");
  IterCssTaskDestroy(reinterpret_cast<void*>(r1));
  return 0;
}

}  // namespace bpfemu
