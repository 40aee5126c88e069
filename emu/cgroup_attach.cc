// SPDX-License-Identifier: Apache-2.0
#include "emu/cgroup_attach.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <list>
#include <map>
#include <mutex>

#include "emu/cgroup.h"
#include "emu/cgroup_storage.h"
#include "emu/syscall.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

// include/uapi/linux/bpf.h attach flags newer than this system's header.
constexpr uint32_t kFBefore = 1u << 3;
constexpr uint32_t kFAfter = 1u << 4;
constexpr uint32_t kFId = 1u << 5;
constexpr uint32_t kFPreorder = 1u << 6;
constexpr uint32_t kFLink = 1u << 13;
// BPF_CGROUP_MAX_PROGS.
constexpr size_t kMaxProgs = 64;

// struct bpf_prog_list: the program and the flags it was attached with.
struct Entry {
  std::shared_ptr<const Prog> prog;
  uint32_t flags = 0;
};

// One cgroup's state for one attach type: progs[atype], flags[atype],
// revisions[atype] of struct cgroup_bpf.
struct Hook {
  std::list<Entry> progs;
  uint32_t flags = 0;
  // 1 before the first change (measured on 6.18: a new cgroup's query
  // answers revision 1).
  uint64_t revision = 1;
};

struct State {
  std::mutex mu;
  std::map<uint64_t, std::map<uint32_t, Hook>> cgroups;
};

State& St() {
  static auto* s = new State;
  return *s;
}

Hook* Find(State& s, uint64_t id, uint32_t type) {
  auto c = s.cgroups.find(id);
  if (c == s.cgroups.end()) return nullptr;
  auto h = c->second.find(type);
  return h == c->second.end() ? nullptr : &h->second;
}

// prog_list_length(): the programs of a hook, and how many of them were
// attached with BPF_F_PREORDER.
size_t Length(const Hook* h, size_t* preorder = nullptr) {
  if (h == nullptr) return 0;
  if (preorder != nullptr) {
    for (const Entry& e : h->progs) *preorder += (e.flags & kFPreorder) != 0;
  }
  return h->progs.size();
}

uint32_t FlagsOf(const Hook* h) { return h == nullptr ? 0 : h->flags; }

// hierarchy_allows_attach(): the nearest ancestor with programs decides:
// BPF_F_ALLOW_MULTI or BPF_F_ALLOW_OVERRIDE allow, a single program
// attached without either forbids.
bool HierarchyAllows(State& s, const CgroupPath& cgrp, uint32_t type) {
  for (uint64_t p : cgrp.parents) {
    const Hook* h = Find(s, p, type);
    const uint32_t flags = FlagsOf(h);
    if (flags & BPF_F_ALLOW_MULTI) return true;
    if (Length(h) == 1) return (flags & BPF_F_ALLOW_OVERRIDE) != 0;
  }
  return true;
}

// get_prog_list() and insert_pl_to_hlist(): where a new entry goes (the
// head of an empty list; before the first or after the last entry, or
// before / after the anchor program with BPF_F_BEFORE / BPF_F_AFTER).
int Insert(Hook& h, const CgroupAttachArgs& a) {
  const uint32_t flags = a.flags;
  const bool is_link = flags & kFLink, is_id = flags & kFId;
  const bool before = flags & kFBefore, after = flags & kFAfter;
  const bool preorder = flags & kFPreorder;
  if (is_link || is_id || a.relative != 0) {
    if (before == after) return -EINVAL;
    if (is_link) return -EINVAL;  // a program, not a link, is attached
  } else if (!h.progs.empty() && before && after) {
    return -EINVAL;
  }
  Entry e{a.prog, flags};
  if (is_id || a.relative != 0) {
    if (a.anchor == nullptr) return a.anchor_err;
    for (auto it = h.progs.begin(); it != h.progs.end(); ++it) {
      if (it->prog->id != a.anchor->id) continue;
      if (((it->flags & kFPreorder) != 0) != preorder) return -EINVAL;
      h.progs.insert(before ? it : std::next(it), std::move(e));
      return 0;
    }
    return -ENOENT;
  }
  if (h.progs.empty() || !before) {
    h.progs.push_back(std::move(e));
  } else {
    h.progs.push_front(std::move(e));
  }
  return 0;
}

// bpf_cgroup_storages_alloc() + bpf_cgroup_storages_link(): the storage
// maps the program uses get the (cgroup, attach type) storage.
void LinkStorages(const Prog& prog, uint64_t cgroup_id, uint32_t type) {
  std::vector<uint32_t> ids;
  {
    std::lock_guard<std::mutex> l(prog.extra->mu);
    ids = prog.extra->load.map_ids;
  }
  for (uint32_t id : ids) {
    std::shared_ptr<Map> m = MapFromId(id);
    if (m != nullptr && (m->type() == BPF_MAP_TYPE_CGROUP_STORAGE ||
                         m->type() == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE)) {
      CgroupStorageLink(*m, cgroup_id, type);
    }
  }
}

}  // namespace

int CgroupPathFromFd(int fd, CgroupPath* out) {
  if (int err = CgroupIdFromFd(fd, &out->id); err != 0) return err;
  out->parents.clear();
  // The ancestors: ".." of each directory while it is a cgroup2 cgroup
  // (the mount's parent is not). Unlike cgroup_parent() in
  // kernel/bpf/cgroup.c, this stops at the mount's root, which under a
  // cgroup namespace or a subtree mount is not kRootCgroupId: the
  // ancestors above it are not seen (docs/exec.md, Limits).
  int cur = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  uint64_t id = out->id;
  while (cur >= 0 && id != kRootCgroupId) {
    if (CgroupIdFromFd(cur, &id) != 0) break;
    out->parents.push_back(id);
    const int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(cur);
    cur = up;
  }
  if (cur >= 0) close(cur);
  return 0;
}

uint32_t CgroupAttachProgType(uint32_t t) {
  // The AF_UNIX hooks (6.7) are unknown attach types to 6.1.
  if (t >= kBpfCgroupUnixConnect && t <= kBpfCgroupUnixGetsockname &&
      TargetKernel() < KernelVersion::k6_12) {
    return 0;
  }
  switch (t) {
    case BPF_CGROUP_INET_INGRESS:
    case BPF_CGROUP_INET_EGRESS:
      return BPF_PROG_TYPE_CGROUP_SKB;
    case BPF_CGROUP_INET_SOCK_CREATE:
    case BPF_CGROUP_INET_SOCK_RELEASE:
    case BPF_CGROUP_INET4_POST_BIND:
    case BPF_CGROUP_INET6_POST_BIND:
      return BPF_PROG_TYPE_CGROUP_SOCK;
    case BPF_CGROUP_INET4_BIND:
    case BPF_CGROUP_INET6_BIND:
    case BPF_CGROUP_INET4_CONNECT:
    case BPF_CGROUP_INET6_CONNECT:
    case kBpfCgroupUnixConnect:
    case BPF_CGROUP_INET4_GETPEERNAME:
    case BPF_CGROUP_INET6_GETPEERNAME:
    case kBpfCgroupUnixGetpeername:
    case BPF_CGROUP_INET4_GETSOCKNAME:
    case BPF_CGROUP_INET6_GETSOCKNAME:
    case kBpfCgroupUnixGetsockname:
    case BPF_CGROUP_UDP4_SENDMSG:
    case BPF_CGROUP_UDP6_SENDMSG:
    case kBpfCgroupUnixSendmsg:
    case BPF_CGROUP_UDP4_RECVMSG:
    case BPF_CGROUP_UDP6_RECVMSG:
    case kBpfCgroupUnixRecvmsg:
      return BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
    case BPF_CGROUP_SOCK_OPS:
      return BPF_PROG_TYPE_SOCK_OPS;
    case BPF_CGROUP_DEVICE:
      return BPF_PROG_TYPE_CGROUP_DEVICE;
    case BPF_CGROUP_SYSCTL:
      return BPF_PROG_TYPE_CGROUP_SYSCTL;
    case BPF_CGROUP_GETSOCKOPT:
    case BPF_CGROUP_SETSOCKOPT:
      return BPF_PROG_TYPE_CGROUP_SOCKOPT;
    default:
      return 0;
  }
}

int CgroupProgAttach(const CgroupPath& cgrp, const CgroupAttachArgs& a) {
  const uint32_t flags = a.flags;
  const uint32_t saved = flags & (BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI);
  if (((flags & BPF_F_ALLOW_OVERRIDE) && (flags & BPF_F_ALLOW_MULTI)) ||
      ((flags & BPF_F_REPLACE) && !(flags & BPF_F_ALLOW_MULTI))) {
    return -EINVAL;
  }
  if ((flags & BPF_F_REPLACE) && (flags & (kFBefore | kFAfter))) {
    return -EINVAL;
  }
  if ((a.replace != nullptr) != ((flags & BPF_F_REPLACE) != 0)) return -EINVAL;
  if (CgroupAttachProgType(a.attach_type) == 0) return -EINVAL;
  State& s = St();
  std::lock_guard<std::mutex> l(s.mu);
  Hook* existing = Find(s, cgrp.id, a.attach_type);
  if (a.revision != 0 && a.revision != (existing ? existing->revision : 1)) {
    return -ESTALE;
  }
  if (!HierarchyAllows(s, cgrp, a.attach_type)) return -EPERM;
  if (Length(existing) != 0 && existing->flags != saved) return -EPERM;
  if (Length(existing) >= kMaxProgs) return -E2BIG;
  Hook& h = s.cgroups[cgrp.id][a.attach_type];
  // find_attach_entry().
  Entry* pl = nullptr;
  if (!(flags & BPF_F_ALLOW_MULTI)) {
    if (!h.progs.empty()) pl = &h.progs.front();
  } else {
    for (const Entry& e : h.progs) {
      if (e.prog->id == a.prog->id &&
          (a.replace == nullptr || a.prog->id != a.replace->id)) {
        return -EINVAL;  // the same program twice
      }
    }
    if (a.replace != nullptr) {
      for (Entry& e : h.progs) {
        if (e.prog->id == a.replace->id) pl = &e;
      }
      if (pl == nullptr) return -ENOENT;
    }
  }
  if (pl != nullptr) {
    pl->prog = a.prog;
    pl->flags = flags;
  } else if (int err = Insert(h, a); err != 0) {
    return err;
  }
  h.flags = saved;
  h.revision += 1;
  LinkStorages(*a.prog, cgrp.id, a.attach_type);
  return 0;
}

int CgroupProgDetach(const CgroupPath& cgrp,
                     const std::shared_ptr<const Prog>& prog,
                     uint32_t attach_type, uint64_t revision) {
  if (CgroupAttachProgType(attach_type) == 0) return -EINVAL;
  State& s = St();
  std::lock_guard<std::mutex> l(s.mu);
  Hook* h = Find(s, cgrp.id, attach_type);
  if (revision != 0 && revision != (h ? h->revision : 1)) return -ESTALE;
  // find_detach_entry().
  std::list<Entry>::iterator pl;
  if (!(FlagsOf(h) & BPF_F_ALLOW_MULTI)) {
    if (Length(h) == 0) return -ENOENT;
    pl = h->progs.begin();  // a legacy detach takes the one attached
  } else {
    if (prog == nullptr) return -EINVAL;
    pl = std::find_if(h->progs.begin(), h->progs.end(),
                      [&](const Entry& e) { return e.prog->id == prog->id; });
    if (pl == h->progs.end()) return -ENOENT;
  }
  h->progs.erase(pl);
  h->revision += 1;
  if (h->progs.empty()) h->flags = 0;
  return 0;
}

void CgroupProgQuery(const CgroupPath& cgrp, uint32_t attach_type,
                     bool effective, CgroupQueryResult* out) {
  State& s = St();
  std::lock_guard<std::mutex> l(s.mu);
  out->ids.clear();
  const Hook* own = Find(s, cgrp.id, attach_type);
  if (!effective) {
    out->flags = FlagsOf(own);
    out->revision = own ? own->revision : 1;
    if (own != nullptr) {
      for (const Entry& e : own->progs) out->ids.push_back(e.prog->id);
    }
    return;
  }
  out->flags = 0;
  out->revision = 0;
  // compute_effective_progs(): this cgroup's programs, then each
  // ancestor's while the levels below allow more (BPF_F_ALLOW_MULTI);
  // BPF_F_PREORDER programs run first, the outermost level's first.
  std::vector<const Hook*> chain{own};
  for (uint64_t p : cgrp.parents) chain.push_back(Find(s, p, attach_type));
  size_t cnt = 0, preorder = 0;
  for (const Hook* h : chain) {
    if (cnt == 0 || (FlagsOf(h) & BPF_F_ALLOW_MULTI)) {
      cnt += Length(h, &preorder);
    }
  }
  std::vector<uint32_t> items(cnt);
  long fstart = static_cast<long>(preorder), bstart = fstart - 1;
  cnt = 0;
  for (const Hook* h : chain) {
    if (cnt > 0 && !(FlagsOf(h) & BPF_F_ALLOW_MULTI)) continue;
    const long init_bstart = bstart;
    if (h != nullptr) {
      for (const Entry& e : h->progs) {
        if (e.flags & kFPreorder) {
          items[bstart--] = e.prog->id;
        } else {
          items[fstart++] = e.prog->id;
        }
        ++cnt;
      }
    }
    std::reverse(items.begin() + (bstart + 1), items.begin() + init_bstart + 1);
  }
  out->ids = std::move(items);
}

size_t CgroupProgsAttached() {
  State& s = St();
  std::lock_guard<std::mutex> l(s.mu);
  size_t n = 0;
  for (const auto& [id, hooks] : s.cgroups) {
    for (const auto& [type, h] : hooks) n += h.progs.size();
  }
  return n;
}

bool CgroupProgIsAttached(uint32_t id) {
  State& s = St();
  std::lock_guard<std::mutex> l(s.mu);
  for (const auto& [cg, hooks] : s.cgroups) {
    for (const auto& [type, h] : hooks) {
      for (const Entry& e : h.progs) {
        if (e.prog->id == id) return true;
      }
    }
  }
  return false;
}

}  // namespace bpfemu
