// SPDX-License-Identifier: Apache-2.0
// kernel/cgroup/rstat.c css_rstat_updated and the pending set a flush
// takes: emu/rstat_kfuncs.h.

#include "emu/rstat_kfuncs.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>

#include "emu/cgroup.h"
#include "emu/cpu.h"

namespace bpfemu::rstatk {

namespace {

struct Pending {
  std::mutex mu;
  // cgroup id -> the CPUs it is pending on, and its parent (0: the root),
  // as the kernel's per-CPU updated_next links record it.
  std::map<uint64_t, std::set<int>> cpus;
  std::map<uint64_t, uint64_t> parent;
};

Pending& State() {
  static Pending* p = new Pending;
  return *p;
}

}  // namespace

int CssRstatUpdated(const void* css, int cpu) {
  uint64_t id = 0;
  if (!CgroupRefId(css, &id) || cpu < 0 || cpu >= NumPossibleCpus()) {
    return -EINVAL;
  }
  Pending& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  // The css, then each ancestor up to the root, until one already pending
  // on this CPU (the kernel's walk stops at an rstatc already linked).
  const void* at = css;
  while (at != nullptr) {
    uint64_t at_id = 0;
    if (!CgroupRefId(at, &at_id)) break;
    if (!s.cpus[at_id].insert(cpu).second) break;
    const void* up = CgroupRefParent(at);
    uint64_t up_id = 0;
    if (up != nullptr && CgroupRefId(up, &up_id)) s.parent[at_id] = up_id;
    at = up;
  }
  return 0;
}

bool RstatPending(uint64_t id, int cpu) {
  Pending& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  const auto it = s.cpus.find(id);
  return it != s.cpus.end() && it->second.count(cpu) != 0;
}

std::vector<uint64_t> RstatFlush(uint64_t id) {
  Pending& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  // Post order over the pending cgroups below `id` (and `id` itself).
  std::vector<uint64_t> out;
  auto under = [&](uint64_t c) {
    for (uint64_t at = c;;) {
      if (at == id) return true;
      const auto p = s.parent.find(at);
      if (p == s.parent.end()) return false;
      at = p->second;
    }
  };
  auto depth = [&](uint64_t c) {
    int d = 0;
    for (auto p = s.parent.find(c); p != s.parent.end();
         p = s.parent.find(p->second)) {
      ++d;
    }
    return d;
  };
  for (const auto& [c, cpus] : s.cpus) {
    if (!cpus.empty() && under(c)) out.push_back(c);
  }
  std::stable_sort(out.begin(), out.end(),
                   [&](uint64_t a, uint64_t b) { return depth(a) > depth(b); });
  for (uint64_t c : out) s.cpus.erase(c);
  return out;
}

uint64_t InterpCssRstatUpdated(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t, uint64_t, uint64_t) {
  uint64_t id = 0;
  if (!CgroupRefId(reinterpret_cast<const void*>(r1), &id)) {
    vm.Fault("css_rstat_updated: R1 is not a struct cgroup_subsys_state");
  }
  const int cpu = static_cast<int>(r2);
  if (CssRstatUpdated(reinterpret_cast<const void*>(r1), cpu) != 0) {
    vm.Fault("css_rstat_updated: CPU %d is not a possible CPU", cpu);
  }
  return 0;
}

}  // namespace bpfemu::rstatk
