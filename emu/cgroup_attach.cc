// SPDX-License-Identifier: Apache-2.0
#include "emu/cgroup_attach.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <list>
#include <map>
#include <mutex>
#include <utility>

#include "emu/bpf_iter.h"
#include "emu/cgroup.h"
#include "emu/cgroup_storage.h"
#include "emu/errno.h"
#include "emu/link_files.h"
#include "emu/syscall.h"
#include "emu/trampoline.h"
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

// struct bpf_prog_list: the program and the flags it was attached with;
// for a link's entry, the link's id (pl->link) and its program
// (prog_list_prog). A program's entry and a link's never match each other
// (pl->prog is NULL in a link's).
struct Entry {
  std::shared_ptr<const Prog> prog;
  uint32_t flags = 0;
  uint32_t link = 0;
  bool Is(uint32_t prog_id) const { return link == 0 && prog->id == prog_id; }
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

// struct bpf_cgroup_link: the cgroup it is attached to (0 once detached:
// link->cgroup NULL), its attach type and program.
struct LinkState {
  uint64_t cgroup = 0;
  uint32_t type = 0;
  std::shared_ptr<const Prog> prog;
};

struct State {
  std::mutex mu;
  std::map<uint64_t, std::map<uint32_t, Hook>> cgroups;
  std::map<uint32_t, LinkState> links;
  uint32_t last_link = 0;
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
// before / after the anchor program - or with BPF_F_LINK the anchor link -
// with BPF_F_BEFORE / BPF_F_AFTER).
int Insert(Hook& h, const CgroupAttachArgs& a) {
  const uint32_t flags = a.flags;
  const bool is_link = flags & kFLink, is_id = flags & kFId;
  const bool before = flags & kFBefore, after = flags & kFAfter;
  const bool preorder = flags & kFPreorder;
  const bool anchored = is_link || is_id || a.relative != 0;
  if (anchored) {
    if (before == after) return -EINVAL;
    // A link is placed by links, a program by programs.
    if (is_link != (a.link != 0)) return -EINVAL;
  } else if (!h.progs.empty() && before && after) {
    return -EINVAL;
  }
  Entry e{a.prog, flags, a.link};
  if (anchored) {
    if (is_link ? a.anchor_link == 0 : a.anchor == nullptr) {
      return a.anchor_err;
    }
    for (auto it = h.progs.begin(); it != h.progs.end(); ++it) {
      if (is_link ? it->link != a.anchor_link : !it->Is(a.anchor->id)) {
        continue;
      }
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

// The cgroup storage maps a program uses, one of each kind at most
// (aux->cgroup_storage[]): cgroup_bpf_storages_compatible compares them.
std::pair<uint32_t, uint32_t> StorageMaps(const Prog& prog) {
  std::vector<uint32_t> ids;
  {
    std::lock_guard<std::mutex> l(prog.extra->mu);
    ids = prog.extra->load.map_ids;
  }
  std::pair<uint32_t, uint32_t> out{0, 0};
  for (uint32_t id : ids) {
    std::shared_ptr<Map> m = MapFromId(id);
    if (m == nullptr) continue;
    if (m->type() == BPF_MAP_TYPE_CGROUP_STORAGE) out.first = id;
    if (m->type() == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE) out.second = id;
  }
  return out;
}

// __cgroup_bpf_attach() under the lock.
int AttachLocked(State& s, const CgroupPath& cgrp, const CgroupAttachArgs& a);
// __cgroup_bpf_detach() under the lock: `prog` (may be null) or `link`.
int DetachLocked(State& s, uint64_t cgroup_id, const Prog* prog, uint32_t link,
                 uint32_t attach_type, uint64_t revision);

// A link fd's hold on its link: the last one gone releases it
// (bpf_cgroup_link_release: detached if it still is attached).
struct LinkHandle {
  uint32_t id = 0;
  LinkHandle() = default;
  LinkHandle(const LinkHandle&) = delete;
  LinkHandle& operator=(const LinkHandle&) = delete;
  ~LinkHandle() {
    State& s = St();
    std::lock_guard<std::mutex> l(s.mu);
    auto it = s.links.find(id);
    if (it == s.links.end()) return;
    if (it->second.cgroup != 0) {
      (void)DetachLocked(s, it->second.cgroup, nullptr, id, it->second.type, 0);
    }
    s.links.erase(it);
  }
};

// The cgroup links of this process by the file their fds refer to: a
// dup() of a link fd is the same link (emu/link_files.h).
using CgroupLinkFiles = LinkFiles<LinkHandle>;

bool ForgetLinkFd(int fd);

CgroupLinkFiles& LinkFds() {
  static auto* table = [] {
    AddFdForgetter(&ForgetLinkFd);  // a close of a link fd (emu/syscall.h)
    return new CgroupLinkFiles;
  }();
  return *table;
}

bool ForgetLinkFd(int fd) { return LinkFds().Forget(fd); }

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

namespace {

int AttachLocked(State& s, const CgroupPath& cgrp, const CgroupAttachArgs& a) {
  const uint32_t flags = a.flags;
  const uint32_t saved = flags & (BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI);
  if (((flags & BPF_F_ALLOW_OVERRIDE) && (flags & BPF_F_ALLOW_MULTI)) ||
      ((flags & BPF_F_REPLACE) && !(flags & BPF_F_ALLOW_MULTI))) {
    return -EINVAL;
  }
  if ((flags & BPF_F_REPLACE) && (flags & (kFBefore | kFAfter))) {
    return -EINVAL;
  }
  if (a.link != 0 && a.replace != nullptr) return -EINVAL;
  if ((a.replace != nullptr) != ((flags & BPF_F_REPLACE) != 0)) return -EINVAL;
  if (CgroupAttachProgType(a.attach_type) == 0) return -EINVAL;
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
      if (a.link == 0 && e.Is(a.prog->id) &&
          (a.replace == nullptr || a.prog->id != a.replace->id)) {
        return -EINVAL;  // the same program twice
      }
    }
    if (a.replace != nullptr) {
      for (Entry& e : h.progs) {
        if (e.Is(a.replace->id)) pl = &e;
      }
      if (pl == nullptr) return -ENOENT;
    }
  }
  if (pl != nullptr) {
    pl->prog = a.prog;
    pl->flags = flags;
    pl->link = a.link;
  } else if (int err = Insert(h, a); err != 0) {
    return err;
  }
  h.flags = saved;
  h.revision += 1;
  LinkStorages(*a.prog, cgrp.id, a.attach_type);
  return 0;
}

int DetachLocked(State& s, uint64_t cgroup_id, const Prog* prog, uint32_t link,
                 uint32_t attach_type, uint64_t revision) {
  if (CgroupAttachProgType(attach_type) == 0) return -EINVAL;
  Hook* h = Find(s, cgroup_id, attach_type);
  if (revision != 0 && revision != (h ? h->revision : 1)) return -ESTALE;
  // find_detach_entry().
  std::list<Entry>::iterator pl;
  if (!(FlagsOf(h) & BPF_F_ALLOW_MULTI)) {
    if (Length(h) == 0) return -ENOENT;
    pl = h->progs.begin();  // a legacy detach takes the one attached
  } else {
    if (prog == nullptr && link == 0) return -EINVAL;
    pl = std::find_if(h->progs.begin(), h->progs.end(), [&](const Entry& e) {
      return link != 0 ? e.link == link : e.Is(prog->id);
    });
    if (pl == h->progs.end()) return -ENOENT;
  }
  h->progs.erase(pl);
  h->revision += 1;
  if (h->progs.empty()) h->flags = 0;
  return 0;
}

}  // namespace

int CgroupProgAttach(const CgroupPath& cgrp, const CgroupAttachArgs& a) {
  State& s = St();
  std::lock_guard<std::mutex> l(s.mu);
  return AttachLocked(s, cgrp, a);
}

int CgroupProgDetach(const CgroupPath& cgrp,
                     const std::shared_ptr<const Prog>& prog,
                     uint32_t attach_type, uint64_t revision) {
  State& s = St();
  std::lock_guard<std::mutex> l(s.mu);
  return DetachLocked(s, cgrp.id, prog.get(), 0, attach_type, revision);
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
    std::reverse(items.begin() + (bstart + 1),
                 items.begin() + (init_bstart + 1));
  }
  out->ids = std::move(items);
}

int CgroupQueryCopyOut(
    const CgroupQueryResult& q, uint32_t cnt_in, bool has_ids, bool has_flags,
    bool effective,
    const std::function<int(bool flags, uint32_t i, uint32_t value)>& write) {
  const uint32_t total = static_cast<uint32_t>(q.ids.size());
  if (cnt_in == 0 || !has_ids || total == 0) return 0;
  const uint32_t n = std::min(cnt_in, total);
  for (uint32_t i = 0; i < n; ++i) {
    if (int err = write(false, i, q.ids[i]); err != 0) return err;
  }
  if (!effective && has_flags) {
    for (uint32_t i = 0; i < n; ++i) {
      if (int err = write(true, i, q.flags); err != 0) return err;
    }
  }
  return n < total ? -ENOSPC : 0;
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

// --- links ---

int CgroupLinkAttach(const CgroupPath& cgrp, CgroupAttachArgs args) {
  // bpf_link_prime(): the link's file first.
  const int fd = memfd_create("bpfemu-link", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  auto handle = std::make_shared<LinkHandle>();
  int err = 0;
  {
    State& s = St();
    std::lock_guard<std::mutex> l(s.mu);
    args.link = ++s.last_link;
    args.flags |= BPF_F_ALLOW_MULTI;
    err = AttachLocked(s, cgrp, args);
    if (err == 0) {
      s.links[args.link] = LinkState{cgrp.id, args.attach_type, args.prog};
      handle->id = args.link;
    }
  }
  if (err != 0) {
    close(fd);  // after the lock: a close may run fd forgetters
    return err;
  }
  LinkFds().Add(fd, std::move(handle));
  return fd;
}

bool IsCgroupLinkFd(int fd) { return LinkFds().ByFd(fd) != nullptr; }

uint32_t CgroupLinkIdOfFd(int fd) {
  std::shared_ptr<const LinkHandle> h = LinkFds().ByFd(fd);
  return h == nullptr ? 0 : h->id;
}

int CgroupLinkReplace(int link_fd, const std::shared_ptr<const Prog>& prog,
                      const std::shared_ptr<const Prog>& old) {
  const uint32_t id = CgroupLinkIdOfFd(link_fd);
  State& s = St();
  std::lock_guard<std::mutex> l(s.mu);
  auto it = s.links.find(id);
  if (it == s.links.end()) return -EINVAL;
  LinkState& link = it->second;
  if (link.cgroup == 0) return -ENOLINK;  // detached
  if (old != nullptr && old->id != link.prog->id) return -EPERM;
  // __cgroup_bpf_replace().
  if (link.prog->type != prog->type) return -EINVAL;
  Hook* h = Find(s, link.cgroup, link.type);
  Entry* pl = nullptr;
  if (h != nullptr) {
    for (Entry& e : h->progs) {
      if (e.link == id) pl = &e;
    }
  }
  if (pl == nullptr) return -ENOENT;
  if (StorageMaps(*link.prog) != StorageMaps(*prog)) return -EINVAL;
  h->revision += 1;
  link.prog = prog;
  pl->prog = prog;
  return 0;
}

int CgroupLinkDetach(int link_fd) {
  const uint32_t id = CgroupLinkIdOfFd(link_fd);
  State& s = St();
  std::lock_guard<std::mutex> l(s.mu);
  auto it = s.links.find(id);
  if (it == s.links.end()) return -EINVAL;
  if (it->second.cgroup != 0) {
    (void)DetachLocked(s, it->second.cgroup, nullptr, id, it->second.type, 0);
    it->second.cgroup = 0;
  }
  return 0;
}

// --- the commands ---

namespace {

// kernel/bpf/syscall.c BPF_F_ATTACH_MASK_BASE and _MPROG, and 6.1's
// BPF_F_ATTACH_MASK.
constexpr uint32_t kAttachMaskBase =
    BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI | BPF_F_REPLACE | kFPreorder;
constexpr uint32_t kAttachMaskMprog =
    BPF_F_REPLACE | kFBefore | kFAfter | kFId | kFLink;
constexpr uint32_t kAttachMask61 =
    BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI | BPF_F_REPLACE;
// kernel/bpf/cgroup.c BPF_F_LINK_ATTACH_MASK.
constexpr uint32_t kLinkAttachMask =
    kFId | kFBefore | kFAfter | kFPreorder | kFLink;

// bpf_prog_get_type(): the program of `fd` if it has type `type`.
int ProgOfType(CgroupFds& fds, int fd, uint32_t type,
               std::shared_ptr<const Prog>* out) {
  if (int err = fds.Prog(fd, out); err != 0) return err;
  return (*out)->type == type ? 0 : -EINVAL;
}

// bpf_prog_attach_check_attach_type() for the cgroup program types: the
// socket kinds attach only where they were loaded for (a CGROUP_SOCK
// program loaded without one is BPF_CGROUP_INET_SOCK_CREATE's,
// bpf_prog_load_fixup_attach_type); the others to a hook of their type.
int CheckAttachType(const Prog& prog, uint32_t type) {
  uint32_t expected = prog.expected_attach_type;
  switch (prog.type) {
    case BPF_PROG_TYPE_CGROUP_SOCK:
      if (expected == 0) expected = BPF_CGROUP_INET_SOCK_CREATE;
      [[fallthrough]];
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
      return expected == type ? 0 : -EINVAL;
    case BPF_PROG_TYPE_CGROUP_SKB:
      if (!CallerPrivileged()) return -EPERM;  // CAP_NET_ADMIN
      if (CgroupAttachProgType(type) != prog.type) return -EINVAL;
      // An egress program returning 2 or 3 stays at egress.
      return prog.enforce_expected_attach_type && expected != type ? -EINVAL
                                                                   : 0;
    default:
      return CgroupAttachProgType(type) == prog.type ? 0 : -EINVAL;
  }
}

// bpf_get_anchor_prog() / bpf_get_anchor_link(), into `args`: by id with
// BPF_F_ID, else by fd; the error is kept for when the list asks.
void ResolveAnchor(CgroupFds& fds, CgroupAttachArgs* args) {
  const uint32_t rel = args->relative;
  if (args->flags & kFLink) {
    if (args->flags & kFId) {
      State& s = St();
      std::lock_guard<std::mutex> l(s.mu);
      args->anchor_err = -ENOENT;
      if (s.links.contains(rel)) args->anchor_link = rel;
    } else if (rel != 0) {
      int local = -1;
      args->anchor_err = fds.Link(static_cast<int>(rel), &local);
      if (args->anchor_err == 0) args->anchor_link = CgroupLinkIdOfFd(local);
      if (args->anchor_err == 0 && args->anchor_link == 0) {
        args->anchor_err = -EINVAL;
      }
      // Another kind of link is an anchor no list holds.
      if (args->anchor_err == -EINVAL && fds.OtherLink(static_cast<int>(rel))) {
        args->anchor_err = -ENOENT;
      }
    }
    return;
  }
  if (args->flags & kFId) {
    args->anchor = ProgFromId(rel);
    args->anchor_err = -ENOENT;
  } else if (rel != 0) {
    args->anchor_err = fds.Prog(static_cast<int>(rel), &args->anchor);
  }
}

}  // namespace

int CgroupFds::Cgroup(int fd, CgroupPath* out) {
  return CgroupPathFromFd(fd, out);
}

int CgroupFds::Prog(int fd, std::shared_ptr<const bpfemu::Prog>* out) {
  return ProgFromFd(fd, out);
}

bool CgroupFds::OtherLink(int fd) {
  return IsIterLinkFd(fd) || IsTracingLinkFd(fd);
}

int CgroupFds::Link(int fd, int* local) {
  if (!IsCgroupLinkFd(fd)) return WrongFdErrno(fd);
  *local = fd;
  return 0;
}

bool AttachTypeKnown(uint32_t t) {
  switch (t) {
    case BPF_SK_MSG_VERDICT:
    case BPF_SK_SKB_STREAM_PARSER:
    case BPF_SK_SKB_STREAM_VERDICT:
    case BPF_SK_SKB_VERDICT:
    case BPF_LIRC_MODE2:
    case BPF_FLOW_DISSECTOR:
    case BPF_TRACE_ITER:
    case BPF_TRACE_RAW_TP:
    case BPF_TRACE_FENTRY:
    case BPF_TRACE_FEXIT:
    case BPF_MODIFY_RETURN:
    case BPF_LSM_MAC:
    case BPF_SK_LOOKUP:
    case BPF_XDP:
    case BPF_LSM_CGROUP:
      return true;
    case 47:  // BPF_TCX_INGRESS (6.6)
    case 48:  // BPF_TCX_EGRESS
    case 55:  // BPF_NETKIT_PRIMARY (6.7)
    case 56:  // BPF_NETKIT_PEER
      return AtLeast612();
    default:
      return CgroupAttachProgType(t) != 0;
  }
}

int CgroupAttachCommand(const ProgAttachAttr& a, CgroupFds& fds) {
  const uint32_t type = a.attach_type;
  const uint32_t flags = a.attach_flags;
  if (!AtLeast612() && (flags & ~kAttachMask61)) return -EINVAL;
  if (!AttachTypeKnown(type)) return -EINVAL;
  const uint32_t ptype = CgroupAttachProgType(type);
  if (ptype == 0) return kNotCgroupHook;
  if (AtLeast612() && (flags & ~(kAttachMaskBase | kAttachMaskMprog))) {
    return -EINVAL;
  }
  CgroupAttachArgs args;
  args.attach_type = type;
  args.flags = flags;
  args.relative = a.relative_fd;
  args.revision = a.expected_revision;
  if (int err = ProgOfType(fds, a.attach_bpf_fd, ptype, &args.prog); err != 0) {
    return err;
  }
  if (CheckAttachType(*args.prog, type) != 0) return -EINVAL;
  CgroupPath cgrp;
  if (int err = fds.Cgroup(a.target_fd, &cgrp); err != 0) return err;
  if ((flags & BPF_F_ALLOW_MULTI) && (flags & BPF_F_REPLACE)) {
    if (int err = ProgOfType(fds, a.replace_bpf_fd, ptype, &args.replace);
        err != 0) {
      return err;
    }
  }
  ResolveAnchor(fds, &args);
  return CgroupProgAttach(cgrp, args);
}

int CgroupDetachCommand(const ProgAttachAttr& a, CgroupFds& fds) {
  const uint32_t type = a.attach_type;
  const uint32_t ptype = CgroupAttachProgType(type);
  if (ptype == 0) return AttachTypeKnown(type) ? kNotCgroupHook : -EINVAL;
  if (a.attach_flags != 0 || a.relative_fd != 0) return -EINVAL;
  CgroupPath cgrp;
  if (int err = fds.Cgroup(a.target_fd, &cgrp); err != 0) return err;
  std::shared_ptr<const Prog> prog;
  if (ProgOfType(fds, a.attach_bpf_fd, ptype, &prog) != 0) prog.reset();
  return CgroupProgDetach(cgrp, prog, type, a.expected_revision);
}

int CgroupQueryCommand(int32_t target_fd, uint32_t type, uint32_t qflags,
                       bool prog_attach_flags, CgroupFds& fds,
                       CgroupQueryResult* out) {
  if (!CallerPrivileged()) return -EPERM;  // bpf_net_capable
  if (qflags & ~uint32_t{BPF_F_QUERY_EFFECTIVE}) return -EINVAL;
  if (CgroupAttachProgType(type) == 0) {
    return type == BPF_LSM_CGROUP || AttachTypeKnown(type) ? kNotCgroupHook
                                                           : -EINVAL;
  }
  CgroupPath cgrp;
  if (int err = fds.Cgroup(target_fd, &cgrp); err != 0) return err;
  const bool effective = qflags & BPF_F_QUERY_EFFECTIVE;
  if (effective && prog_attach_flags) return -EINVAL;
  CgroupProgQuery(cgrp, type, effective, out);
  return 0;
}

int CgroupLinkCreateCommand(const LinkCreateAttr& a, CgroupFds& fds) {
  CgroupAttachArgs args;
  if (int err = fds.Prog(a.prog_fd, &args.prog); err != 0) return err;
  switch (args.prog->type) {
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_CGROUP_SOCK:
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
    case BPF_PROG_TYPE_SOCK_OPS:
    case BPF_PROG_TYPE_CGROUP_DEVICE:
    case BPF_PROG_TYPE_CGROUP_SYSCTL:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
      break;
    case BPF_PROG_TYPE_EXT:  // attaches anywhere (as a freplace)
      return kNotCgroupHook;
    default:
      // bpf_prog_attach_check_attach_type(): no other program type
      // attaches to a cgroup hook.
      return CgroupAttachProgType(a.attach_type) != 0 ? -EINVAL
                                                      : kNotCgroupHook;
  }
  if (int err = CheckAttachType(*args.prog, a.attach_type); err != 0) {
    return err;
  }
  // cgroup_bpf_link_attach(): 6.1 takes no flags.
  if (a.flags & (AtLeast612() ? ~kLinkAttachMask : ~0u)) return -EINVAL;
  CgroupPath cgrp;
  if (int err = fds.Cgroup(a.target_fd, &cgrp); err != 0) return err;
  args.attach_type = a.attach_type;
  args.flags = a.flags;
  // 6.1's link_create has no cgroup members: the bytes after flags
  // (another link's target_btf_id or iter_info) are not read.
  if (AtLeast612()) {
    args.relative = a.relative_fd;
    args.revision = a.expected_revision;
  }
  ResolveAnchor(fds, &args);
  return CgroupLinkAttach(cgrp, std::move(args));
}

int CgroupLinkUpdateCommand(int32_t link_fd, int32_t new_prog_fd,
                            uint32_t flags, int32_t old_prog_fd,
                            CgroupFds& fds) {
  if (flags & ~uint32_t{BPF_F_REPLACE}) return -EINVAL;
  int local = -1;
  if (int err = fds.Link(link_fd, &local); err != 0) return err;
  std::shared_ptr<const Prog> prog, old;
  if (int err = fds.Prog(new_prog_fd, &prog); err != 0) return err;
  if (flags & BPF_F_REPLACE) {
    if (int err = fds.Prog(old_prog_fd, &old); err != 0) return err;
  } else if (old_prog_fd != 0) {
    return -EINVAL;
  }
  return CgroupLinkReplace(local, prog, old);
}

}  // namespace bpfemu
