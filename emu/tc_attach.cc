// SPDX-License-Identifier: Apache-2.0
#include "emu/tc_attach.h"

#include <linux/bpf.h>

#include <array>
#include <cerrno>
#include <climits>
#include <map>
#include <memory>

#include "emu/local_mutex.h"
#include "emu/netdev.h"
#include "emu/prog.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

// One cls_bpf program (struct cls_bpf_prog).
struct Filter {
  uint32_t handle = 0;
  std::shared_ptr<const Prog> prog;
  std::string name;
  bool direct_action = false;
};

// One tcf_proto of kind "bpf": its filters in the order they were added
// (cls_bpf lists the newest first).
struct Proto {
  uint16_t protocol = 0;
  std::vector<Filter> filters;
};

enum Hook { kIngress = 0, kEgress = 1, kHooks = 2 };

struct Dev {
  bool ingress_queue = false;
  bool clsact = false;
  // Chain 0 of each block: protos keyed by priority (the 16-bit major).
  std::array<std::map<uint16_t, Proto>, kHooks> chain;
};

using Chain = std::map<uint16_t, Proto>;
using Table = PerNetdev<Dev>;

// __dev_get_by_index on a tcm_ifindex.
int DevCheck(int ifindex) {
  if (ifindex <= 0 || !NetdevExists(static_cast<uint32_t>(ifindex))) {
    return -ENODEV;
  }
  return 0;
}

// __tcf_qdisc_find + __tcf_qdisc_cl_find + clsact_tcf_block: the block
// behind `parent`. The only qdisc with a handle is clsact (ffff:): any
// other major finds nothing (-EINVAL, "Parent Qdisc doesn't exists"); a
// class of clsact other than its two is -ENOENT.
int FindHook(const Dev* dev, uint32_t parent, Hook* hook) {
  if ((parent & 0xFFFF0000u) != kTcClsactHandle || dev == nullptr ||
      !dev->clsact) {
    return -EINVAL;
  }
  switch (parent & 0xFFFFu) {
    case kTcParentIngress & 0xFFFFu:
      *hook = kIngress;
      return 0;
    case kTcParentEgress & 0xFFFFu:
      *hook = kEgress;
      return 0;
    default:
      return -ENOENT;
  }
}

Dev* FindDev(Table& t, int ifindex) {
  auto it = t.devs.find(static_cast<uint32_t>(ifindex));
  return it == t.devs.end() ? nullptr : &it->second;
}

// tc_new_tfilter, tc_del_tfilter and tc_get_tfilter alike, with the table
// locked by the caller: the device's block behind `parent` (its chain 0).
int FindChain(Table& t, int ifindex, uint32_t parent, Hook* hook,
              Chain** chain) {
  Dev* dev = FindDev(t, ifindex);
  if (int err = FindHook(dev, parent, hook); err != 0) return err;
  *chain = &dev->chain[*hook];
  return 0;
}

Filter* FindFilter(Proto& tp, uint32_t handle) {
  for (Filter& f : tp.filters) {
    if (f.handle == handle) return &f;
  }
  return nullptr;
}

TcFilter Describe(Hook hook, uint16_t priority, const Proto& tp,
                  const Filter& f) {
  TcFilter out;
  out.parent = hook == kIngress ? kTcParentIngress : kTcParentEgress;
  out.priority = priority;
  out.protocol = tp.protocol;
  out.handle = f.handle;
  out.prog_id = f.prog->id;
  out.name = f.name;
  out.direct_action = f.direct_action;
  return out;
}

// tcf_chain_tp_find for an auto-allocated priority: the search starts at
// 0x8000 (TC_H_MAKE(0x80000000U, 0U)); a proto there is a collision, else
// tcf_auto_prio takes one below the first proto above it, or 0xC000.
int AutoPriority(const Chain& chain, uint16_t* prio) {
  auto it = chain.lower_bound(0x8000);
  if (it != chain.end() && it->first == 0x8000) {
    return TcAutoPrioCollisionIsEnospc(TargetKernel()) ? -ENOSPC : -EINVAL;
  }
  // TC_H_MAJ(tp->prio - 1): the priority just below the next proto's.
  *prio = it == chain.end() ? 0xC000 : static_cast<uint16_t>(it->first - 1);
  return 0;
}

// cls_bpf_change's idr_alloc_u32(..., 1, INT_MAX): the lowest free handle.
int AutoHandle(const Proto& tp, uint32_t* handle) {
  for (uint32_t h = 1; h <= static_cast<uint32_t>(INT_MAX); ++h) {
    bool used = false;
    for (const Filter& f : tp.filters) used |= f.handle == h;
    if (!used) {
      *handle = h;
      return 0;
    }
  }
  return -ENOSPC;
}

}  // namespace

int TcClsactCreate(int ifindex) {
  if (!CallerPrivileged()) return -EPERM;
  if (int err = DevCheck(ifindex); err != 0) return err;
  Table& t = Table::Get();
  LocalMutexLock l(&t.mu);
  Dev& dev = t.devs[static_cast<uint32_t>(ifindex)];
  // tc_modify_qdisc under TC_H_INGRESS: dev_ingress_queue_create, then an
  // existing qdisc with the requested handle and NLM_F_EXCL is -EEXIST.
  dev.ingress_queue = true;
  if (dev.clsact) return -EEXIST;
  dev.clsact = true;
  return 0;
}

int TcClsactDelete(int ifindex) {
  if (!CallerPrivileged()) return -EPERM;
  if (int err = DevCheck(ifindex); err != 0) return err;
  Table& t = Table::Get();
  LocalMutexLock l(&t.mu);
  Dev* dev = FindDev(t, ifindex);
  // tc_get_qdisc: no ingress queue, no qdisc; the queue's default qdisc
  // (noop, handle 0) does not carry the requested handle ffff:.
  if (dev == nullptr || !dev->ingress_queue) return -ENOENT;
  if (!dev->clsact) return -EINVAL;
  // qdisc_graft(..., NULL): clsact_destroy puts both blocks.
  dev->clsact = false;
  for (auto& chain : dev->chain) chain.clear();
  return 0;
}

bool TcClsactExists(uint32_t ifindex) {
  Table& t = Table::Get();
  LocalMutexLock l(&t.mu);
  const Dev* dev = FindDev(t, static_cast<int>(ifindex));
  return dev != nullptr && dev->clsact;
}

int TcFilterNew(int ifindex, uint32_t parent, uint32_t handle,
                uint16_t priority, uint16_t protocol, int prog_fd,
                const std::string& name, bool direct_action, bool replace,
                TcFilter* out) {
  if (!CallerPrivileged()) return -EPERM;
  // libbpf always sends NLM_F_CREATE, so priority 0 allocates one.
  if (int err = DevCheck(ifindex); err != 0) return err;
  Table& t = Table::Get();
  LocalMutexLock l(&t.mu);
  Hook hook;
  Chain* chain;
  if (int err = FindChain(t, ifindex, parent, &hook, &chain); err != 0) {
    return err;
  }
  // tcf_chain_tp_find.
  const bool allocate = priority == 0;
  if (allocate) {
    if (int err = AutoPriority(*chain, &priority); err != 0) return err;
  }
  auto tp_it = chain->find(priority);
  bool created = false;
  if (tp_it != chain->end()) {
    if (protocol != 0 && tp_it->second.protocol != protocol) return -EINVAL;
  } else {
    // A new proto needs a protocol ("Filter kind and protocol must be
    // specified").
    if (protocol == 0) return -EINVAL;
    tp_it = chain->emplace(priority, Proto{protocol, {}}).first;
    created = true;
  }
  Proto& tp = tp_it->second;
  // A proto this request created goes away again when it stays empty.
  auto fail = [&](int err) {
    if (created) chain->erase(tp_it);
    return err;
  };
  Filter* old = handle != 0 ? FindFilter(tp, handle) : nullptr;
  if (old != nullptr && !replace) return fail(-EEXIST);
  // cls_bpf_change: the handle, then the program.
  if (old == nullptr && handle == 0) {
    if (int err = AutoHandle(tp, &handle); err != 0) return fail(err);
  }
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(prog_fd, &prog); err != 0) return fail(err);
  if (prog->type != BPF_PROG_TYPE_SCHED_CLS) return fail(-EINVAL);
  Filter f{handle, std::move(prog), name, direct_action};
  if (old != nullptr) {
    *old = std::move(f);
  } else {
    tp.filters.push_back(std::move(f));
    old = &tp.filters.back();
  }
  if (out != nullptr) *out = Describe(hook, priority, tp, *old);
  return 0;
}

int TcFilterDelete(int ifindex, uint32_t parent, uint32_t handle,
                   uint16_t priority, uint16_t protocol) {
  if (!CallerPrivileged()) return -EPERM;
  // tc_del_tfilter: a flush names nothing but the hook.
  if (priority == 0 && (protocol != 0 || handle != 0)) return -ENOENT;
  if (int err = DevCheck(ifindex); err != 0) return err;
  Table& t = Table::Get();
  LocalMutexLock l(&t.mu);
  Hook hook;
  Chain* chain;
  if (int err = FindChain(t, ifindex, parent, &hook, &chain); err != 0) {
    return err;
  }
  // A chain that does not exist flushes to 0 and has no filter to delete.
  if (priority == 0) {
    chain->clear();
    return 0;
  }
  if (chain->empty()) return -ENOENT;
  auto tp_it = chain->find(priority);
  if (tp_it == chain->end()) return -ENOENT;
  Proto& tp = tp_it->second;
  if (protocol != 0 && tp.protocol != protocol) return -ENOENT;
  if (handle == 0) {
    // The whole proto (libbpf never asks for this: it needs a handle).
    chain->erase(tp_it);
    return 0;
  }
  for (auto it = tp.filters.begin(); it != tp.filters.end(); ++it) {
    if (it->handle != handle) continue;
    tp.filters.erase(it);
    // cls_bpf_delete's `last`: an empty proto leaves the chain->
    if (tp.filters.empty()) chain->erase(tp_it);
    return 0;
  }
  return -ENOENT;
}

int TcFilterGet(int ifindex, uint32_t parent, uint32_t handle,
                uint16_t priority, uint16_t protocol, TcFilter* out) {
  // RTM_GETTFILTER needs no capability.
  if (priority == 0) return -ENOENT;
  if (int err = DevCheck(ifindex); err != 0) return err;
  Table& t = Table::Get();
  LocalMutexLock l(&t.mu);
  Hook hook;
  Chain* chain;
  if (int err = FindChain(t, ifindex, parent, &hook, &chain); err != 0) {
    return err;
  }
  // tcf_chain_get(block, 0, false) finds no chain->
  if (chain->empty()) return -EINVAL;
  auto tp_it = chain->find(priority);
  if (tp_it == chain->end()) return -ENOENT;
  Proto& tp = tp_it->second;
  if (protocol != 0 && tp.protocol != protocol) return -ENOENT;
  const Filter* f = FindFilter(tp, handle);
  if (f == nullptr) return -ENOENT;
  if (out != nullptr) *out = Describe(hook, priority, tp, *f);
  return 0;
}

std::vector<TcFilter> TcFilterList(uint32_t ifindex) {
  std::vector<TcFilter> out;
  Table& t = Table::Get();
  LocalMutexLock l(&t.mu);
  const Dev* dev = FindDev(t, static_cast<int>(ifindex));
  if (dev == nullptr || !NetdevExists(ifindex)) return out;
  for (int h = 0; h < kHooks; ++h) {
    for (const auto& [prio, tp] : dev->chain[h]) {
      for (auto it = tp.filters.rbegin(); it != tp.filters.rend(); ++it) {
        out.push_back(Describe(static_cast<Hook>(h), prio, tp, *it));
      }
    }
  }
  return out;
}

}  // namespace bpfemu
