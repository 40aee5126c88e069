// SPDX-License-Identifier: Apache-2.0
#include "emu/lru_list.h"

#include <sched.h>
#include <algorithm>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bpfemu {

// A node. `type` and `ref` are also read and written outside the list locks
// (push-free peeks at the type, program lookups set ref), so they are
// accessed with relaxed atomics, like the kernel's READ_ONCE/WRITE_ONCE.
struct LruList::Node {
  uint32_t prev;
  uint32_t next;
  uint16_t cpu;
  uint8_t type;
  uint8_t ref;
};

// One move of node `id`, as every value it stores: unlinked from between
// del_prev and del_next (kDel), linked between head and first (kAdd), the
// list's counts and rotation cursor set (kCounts), its CPU, type and ref
// set. Applying it again from the start ends in the same state.
struct LruList::Plan {
  static constexpr uint8_t kDel = 1, kAdd = 2, kCounts = 4, kCpu = 8;
  static constexpr uint8_t kKeepRef = 0xff;
  uint32_t id;
  uint32_t del_prev, del_next;
  uint32_t head, first;
  uint32_t list;  // the List whose counts and rotation (kCounts)
  uint32_t counts[2];
  uint32_t rotation;
  uint16_t cpu;
  uint8_t type;
  uint8_t ref;  // kKeepRef: left as it is
  uint8_t flags;
  uint8_t op;  // Op, for the test sites
  uint8_t pad[2];
};

// The intent record of one lock: `state` is 0, the tid of the holder whose
// move `plan` is under way, or kClaimed | the tid of a thread replaying it.
struct LruList::Intent {
  static constexpr uint32_t kClaimed = 0x80000000u;
  std::atomic<uint32_t> state;
  uint32_t pad;
  Plan plan;
};

// bpf_lru_list: heads[] are sentinel node ids.
struct alignas(64) LruList::List {
  ShmMutex lock;
  uint32_t counts[2];  // ACTIVE, INACTIVE
  uint32_t rotation;   // next_inactive_rotation: a node id or heads[kInactive]
  uint32_t heads[3];   // ACTIVE, INACTIVE, FREE
  Intent intent;       // moves made under `lock`
};

// bpf_lru_locallist.
struct alignas(64) LruList::Local {
  ShmMutex lock;
  std::atomic<uint32_t> next_steal;
  uint32_t free_head;     // LOCAL_FREE nodes
  uint32_t pending_head;  // LOCAL_PENDING nodes
  Intent intent;          // moves made under `lock` alone
};

struct LruList::Shared {
  uint32_t percpu;  // BPF_F_NO_COMMON_LRU
  uint32_t target_free;
  uint32_t nr_scans;
  uint32_t nr_nodes;
  uint32_t nr_cpus;
  uint32_t reserved;
  uint64_t nodes_off;
  uint64_t lists_off;
  uint64_t locals_off;
};

namespace {

uint8_t LoadType(const void* p) {
  return __atomic_load_n(static_cast<const uint8_t*>(p), __ATOMIC_RELAXED);
}
void StoreU8(void* p, uint8_t v) {
  __atomic_store_n(static_cast<uint8_t*>(p), v, __ATOMIC_RELAXED);
}
uint16_t LoadCpu(const uint16_t* p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

struct Geometry {
  uint32_t nr_lists, nr_locals, nr_sentinels;
  uint64_t nodes_off, lists_off, locals_off, end;
};

Geometry Layout(uint64_t offset, bool percpu, uint32_t nr_nodes,
                uint32_t nr_cpus, size_t shared, size_t node, size_t list,
                size_t local) {
  Geometry g;
  g.nr_lists = percpu ? nr_cpus : 1;
  g.nr_locals = percpu ? 0 : nr_cpus;
  g.nr_sentinels = g.nr_lists * 3 + g.nr_locals * 2;
  g.nodes_off = RoundUp(offset + shared, 64);
  g.lists_off = RoundUp(
      g.nodes_off + node * (uint64_t{nr_nodes} + 1 + g.nr_sentinels), 64);
  g.locals_off = g.lists_off + list * g.nr_lists;
  g.end = g.locals_off + local * g.nr_locals;
  return g;
}

}  // namespace

uint64_t LruList::RegionBytes(bool percpu, uint32_t nr_nodes,
                              uint32_t nr_cpus) {
  Geometry g = Layout(0, percpu, nr_nodes, nr_cpus, sizeof(Shared),
                      sizeof(Node), sizeof(List), sizeof(Local));
  return g.end;
}

void LruList::Init(const ShmRegion& region, uint64_t offset, bool percpu,
                   uint32_t nr_nodes, uint32_t nr_cpus, KernelVersion version) {
  Geometry g = Layout(offset, percpu, nr_nodes, nr_cpus, sizeof(Shared),
                      sizeof(Node), sizeof(List), sizeof(Local));
  auto* s = new (region.At<void>(offset)) Shared{};
  s->percpu = percpu;
  s->nr_scans = percpu ? kPercpuFreeTarget : kLocalFreeTarget;
  s->nr_nodes = nr_nodes;
  s->nr_cpus = nr_cpus;
  s->nodes_off = g.nodes_off;
  s->lists_off = g.lists_off;
  s->locals_off = g.locals_off;
  if (percpu) {
    s->target_free = kPercpuFreeTarget;
  } else if (version == KernelVersion::k6_1) {
    s->target_free = kLocalFreeTarget;  // 6.1: always a full batch
  } else {
    // "Adjust free target to avoid global starvation" (6.16, backported to
    // 6.12.y): half of one CPU's share, at least 1, at most 128.
    s->target_free =
        std::clamp<uint32_t>((nr_nodes / nr_cpus) / 2, 1, kLocalFreeTarget);
  }

  LruList lru(region, offset, percpu, nr_nodes, nr_cpus, nullptr);
  uint32_t sentinel = nr_nodes + 1;
  auto init_head = [&](uint32_t* head) {
    *head = sentinel++;
    lru.N(*head).prev = lru.N(*head).next = *head;
  };
  for (uint32_t i = 0; i < g.nr_lists; ++i) {
    List& l = *new (&lru.lists_[i]) List{};
    for (uint32_t& h : l.heads) init_head(&h);
    l.rotation = l.heads[kInactive];
  }
  for (uint32_t c = 0; c < g.nr_locals; ++c) {
    Local& loc = *new (&lru.locals_[c]) Local{};
    init_head(&loc.free_head);
    init_head(&loc.pending_head);
    loc.next_steal.store(c, std::memory_order_relaxed);
  }

  if (!percpu) {
    // bpf_common_lru_populate: every node onto the global free list.
    for (uint32_t id = 1; id <= nr_nodes; ++id) {
      lru.N(id).type = kFree;
      lru.ListAdd(id, lru.lists_[0].heads[kFree]);
    }
    return;
  }
  // bpf_percpu_lru_populate: CPU c owns nodes [c * per, (c + 1) * per).
  const uint32_t per = nr_nodes / nr_cpus;
  uint32_t id = 1;
  for (uint32_t c = 0; c < nr_cpus && id <= nr_nodes; ++c) {
    for (uint32_t k = 0; k < per && id <= nr_nodes; ++k, ++id) {
      lru.N(id).cpu = static_cast<uint16_t>(c);
      lru.N(id).type = kFree;
      lru.ListAdd(id, lru.lists_[c].heads[kFree]);
    }
  }
}

LruList::LruList(const ShmRegion& region, uint64_t offset, bool percpu,
                 uint32_t nr_nodes, uint32_t nr_cpus, LruOwner* owner)
    : owner_(owner) {
  const Geometry g = Layout(offset, percpu, nr_nodes, nr_cpus, sizeof(Shared),
                            sizeof(Node), sizeof(List), sizeof(Local));
  shared_ = region.At<Shared>(offset);
  nodes_ = region.At<Node>(g.nodes_off);
  lists_ = region.At<List>(g.lists_off);
  locals_ = region.At<Local>(g.locals_off);
  percpu_ = percpu;
  nr_nodes_ = nr_nodes;
  nr_cpus_ = nr_cpus;
  nr_lists_ = g.nr_lists;
  nr_locals_ = g.nr_locals;
  total_ = nr_nodes + 1 + g.nr_sentinels;
  // Init fills these in before any list operation runs; Attach checks them.
  target_free_ = std::max<uint32_t>(1, shared_->target_free);
  nr_scans_ = std::max<uint32_t>(1, shared_->nr_scans);
}

int LruList::Attach(const ShmRegion& region, uint64_t offset, bool percpu,
                    uint32_t nr_nodes, uint32_t nr_cpus, LruOwner* owner,
                    std::unique_ptr<LruList>* out) {
  const Geometry g = Layout(offset, percpu, nr_nodes, nr_cpus, sizeof(Shared),
                            sizeof(Node), sizeof(List), sizeof(Local));
  if (nr_cpus == 0 || g.end > region.size() ||
      uint64_t{nr_nodes} + 1 + g.nr_sentinels > UINT32_MAX) {
    return -EINVAL;
  }
  // Each field read once; the object keeps the values it checked.
  const Shared* s = region.At<Shared>(offset);
  auto once = [](const auto& v) {
    return __atomic_load_n(&v, __ATOMIC_RELAXED);
  };
  const uint32_t target_free = once(s->target_free);
  const uint32_t nr_scans = once(s->nr_scans);
  if (once(s->percpu) != uint32_t{percpu} || once(s->nr_nodes) != nr_nodes ||
      once(s->nr_cpus) != nr_cpus || once(s->nodes_off) != g.nodes_off ||
      once(s->lists_off) != g.lists_off ||
      once(s->locals_off) != g.locals_off ||
      nr_scans != (percpu ? kPercpuFreeTarget : kLocalFreeTarget) ||
      target_free < 1 ||
      target_free > (percpu ? kPercpuFreeTarget : kLocalFreeTarget)) {
    return -EINVAL;
  }
  auto lru = std::unique_ptr<LruList>(
      new LruList(region, offset, percpu, nr_nodes, nr_cpus, owner));
  lru->target_free_ = target_free;
  lru->nr_scans_ = nr_scans;
  *out = std::move(lru);
  return 0;
}

// A node id read from shared memory: ids past the last sentinel (a
// corrupted link) land on a process-local scratch node, so a crafted region
// cannot make this process touch memory outside it.
LruList::Node& LruList::N(uint32_t id) const {
  static_assert(sizeof(Node) == sizeof(scratch_));
  if (id >= total_) return *reinterpret_cast<Node*>(scratch_);
  return nodes_[id];
}

void LruList::ListAdd(uint32_t id, uint32_t head) {
  const uint32_t first = N(head).next;
  N(id).prev = head;
  N(id).next = first;
  N(first).prev = id;
  N(head).next = id;
}

bool LruList::ListEmpty(uint32_t head) const { return N(head).next == head; }

void LruList::CountInc(uint32_t* counts, uint8_t type) {
  if (type <= kInactive) ++counts[type];
}

void LruList::CountDec(uint32_t* counts, uint8_t type) {
  if (type <= kInactive) --counts[type];
}

// The move of `id` from the list it is on to the head of `head`, as type
// `type`, its ref bit kept (callers may set it).
LruList::Plan LruList::MovePlan(uint8_t op, uint32_t id, uint32_t head,
                                uint8_t type) const {
  Plan p{};
  p.op = op;
  p.id = id;
  p.flags = Plan::kDel | Plan::kAdd;
  p.del_prev = N(id).prev;
  p.del_next = N(id).next;
  p.head = head;
  // The head's first node once `id` is unlinked.
  const uint32_t first = N(head).next;
  p.first = first == id ? p.del_next : first;
  p.type = type;
  p.ref = Plan::kKeepRef;
  return p;
}

void LruList::WithCounts(Plan& p, const List& l) const {
  p.flags |= Plan::kCounts;
  p.list = static_cast<uint32_t>(&l - lists_);
  p.counts[0] = l.counts[0];
  p.counts[1] = l.counts[1];
  p.rotation = l.rotation;
}

// Records `p` in `rec` (the record of the lock held), then applies it. The
// signal fences keep the compiler from moving a list store before the
// record is complete or after it is cleared; the stores of one thread
// reach memory in program order (x86-64), and a killed thread's stores are
// all visible to the process that takes its lock over.
void LruList::Run(Intent& rec, const Plan& p) {
  std::memcpy(static_cast<void*>(&rec.plan), &p, sizeof(p));
  rec.state.store(CurrentTid(), std::memory_order_release);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (__builtin_expect(g_lock_point_hook != nullptr, 0)) {
    LockPointReachedAt(LockPoint::kLruListStore, p.op * 16);
    Apply<true>(p);
  } else {
    Apply<false>(p);
  }
  std::atomic_signal_fence(std::memory_order_seq_cst);
  rec.state.store(0, std::memory_order_release);
}

// kSites: with the test points (a test set g_lock_point_hook).
template <bool kSites>
void LruList::Apply(const Plan& plan) {
  // A local copy and the node references taken once: the stores below
  // cannot alias them, so the compiler keeps them in registers.
  const Plan p = plan;
  auto at = [&p](int store) {
    if (kSites) LockPointReachedAt(LockPoint::kLruListStore, p.op * 16 + store);
  };
  Node& node = N(p.id);
  if (p.flags & Plan::kDel) {
    Node& prev = N(p.del_prev);
    Node& next = N(p.del_next);
    prev.next = p.del_next;
    at(1);
    next.prev = p.del_prev;
    at(2);
  }
  if (p.flags & Plan::kCounts) {
    List& l = lists_[ListOf(p.list)];
    l.counts[0] = p.counts[0];
    at(3);
    l.counts[1] = p.counts[1];
    at(4);
    l.rotation = p.rotation;
    at(5);
  }
  if (p.flags & Plan::kCpu) {
    __atomic_store_n(&node.cpu, p.cpu, __ATOMIC_RELAXED);
    at(6);
  }
  StoreU8(&node.type, p.type);
  at(7);
  if (p.ref != Plan::kKeepRef) {
    StoreU8(&node.ref, p.ref);
    at(8);
  }
  if (p.flags & Plan::kAdd) {
    Node& first = N(p.first);
    Node& head = N(p.head);
    node.prev = p.head;
    at(9);
    node.next = p.first;
    at(10);
    first.prev = p.id;
    at(11);
    head.next = p.id;
    at(12);
  }
}

// Called by a thread that took `rec`'s lock over from a dead holder (or,
// for the global list's record, a local lock's taker): replays the move the
// record holds if its writer, or the thread replaying it, is dead; waits
// while a live thread replays it; leaves a live writer's record alone.
// A replay takes microseconds; one claimed for over a second (ReadOnlyWait's
// bound) by a thread that still lives is a crafted record, replayed anyway.
void LruList::Repair(Intent& rec) {
  ReadOnlyWait wait;
  for (;;) {
    uint32_t s = rec.state.load(std::memory_order_acquire);
    if (s == 0) return;
    if (OwnerAlive(s & ~Intent::kClaimed)) {
      if (!(s & Intent::kClaimed)) return;  // a live holder's own move
      if (wait.Next(0)) continue;
    }
    if (!rec.state.compare_exchange_strong(s, CurrentTid() | Intent::kClaimed,
                                           std::memory_order_acquire)) {
      continue;
    }
    Plan p;
    std::memcpy(&p, static_cast<const void*>(&rec.plan), sizeof(p));
    Apply<false>(p);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    rec.state.store(0, std::memory_order_release);
    return;
  }
}

// A local lock taken over: its own record, the global list's, whose moves
// (refills, under both locks) change local lists too, and the other local
// lists' (a steal, under two local locks, is recorded in the thief's).
// Only records whose writer is dead are replayed, and such a writer still
// holds the lock its record belongs to, so no live thread is inside it.
void LruList::RepairLocalTaker(Local& loc) {
  Repair(loc.intent);
  for (uint32_t c = 0; c < nr_locals_; ++c) {
    if (&locals_[c] != &loc) Repair(locals_[c].intent);
  }
  if (!percpu_) Repair(lists_[0].intent);
}

void LruList::SetRef(uint32_t id) {
  if (!LoadType(&N(id).ref)) StoreU8(&N(id).ref, 1);
}

uint8_t LruList::TypeOf(uint32_t id) const { return LoadType(&N(id).type); }
bool LruList::RefOf(uint32_t id) const { return LoadType(&N(id).ref) != 0; }
uint32_t LruList::target_free() const { return target_free_; }

// __bpf_lru_node_move_to_free: the ref bit is left as it is.
void LruList::MoveToFree(List& l, uint32_t id, uint32_t free_head,
                         uint8_t type) {
  Plan p = MovePlan(kOpMoveToFree, id, free_head, type);
  WithCounts(p, l);
  if (id == l.rotation) p.rotation = p.del_prev;
  CountDec(p.counts, LoadType(&N(id).type));
  Run(l.intent, p);
}

// __bpf_lru_node_move_in: from a local pending list into the LRU list.
void LruList::MoveIn(List& l, uint32_t id, uint8_t type) {
  Plan p = MovePlan(kOpMoveIn, id, l.heads[type], type);
  p.ref = 0;
  WithCounts(p, l);
  CountInc(p.counts, type);
  Run(l.intent, p);
}

// __bpf_lru_node_move: between or within ACTIVE, INACTIVE and FREE; always
// clears ref.
void LruList::Move(List& l, uint32_t id, uint8_t type) {
  Plan p = MovePlan(kOpMove, id, l.heads[type], type);
  p.ref = 0;
  WithCounts(p, l);
  const uint8_t old = LoadType(&N(id).type);
  if (old != type) {
    CountDec(p.counts, old);
    CountInc(p.counts, type);
  }
  if (id == l.rotation) p.rotation = p.del_prev;
  Run(l.intent, p);
}

// From the tail of ACTIVE: referenced nodes get a second chance at the head
// of ACTIVE, the others go to the head of INACTIVE; at most nr_scans nodes,
// never past the node that was first when the scan began.
void LruList::RotateActive(List& l) {
  const uint32_t head = l.heads[kActive];
  const uint32_t first = N(head).next;
  uint32_t scanned = 0;
  for (uint32_t id = N(head).prev, prev = N(id).prev; id != head;
       id = prev, prev = N(id).prev) {
    Move(l, id, RefOf(id) ? kActive : kInactive);
    if (++scanned == nr_scans_ || id == first) break;
  }
}

// From the rotation cursor towards older nodes (wrapping past the sentinel):
// referenced nodes move to ACTIVE, the rest stay. The cursor ends on the node
// after the last one scanned, so successive calls sweep the list in windows.
void LruList::RotateInactive(List& l) {
  const uint32_t head = l.heads[kInactive];
  if (ListEmpty(head)) return;
  uint32_t last = N(l.rotation).next;
  if (last == head) last = N(last).next;
  uint32_t cur = l.rotation;
  uint32_t next = head;
  uint32_t scanned = 0;
  for (uint32_t steps = 0; scanned < nr_scans_ && steps < total_; ++steps) {
    if (cur == head) {
      cur = N(cur).prev;
      continue;
    }
    next = N(cur).prev;
    if (RefOf(cur)) Move(l, cur, kActive);
    if (cur == last) break;
    cur = next;
    ++scanned;
  }
  l.rotation = next;
}

void LruList::Rotate(List& l) {
  if (l.counts[kInactive] < l.counts[kActive]) RotateActive(l);
  RotateInactive(l);
}

// From the tail of INACTIVE: referenced nodes go to ACTIVE, unreferenced
// ones are evicted from the table onto `free_head`; stops after `want`
// evictions or nr_scans nodes.
uint32_t LruList::ShrinkInactive(List& l, uint32_t want, uint32_t free_head,
                                 uint8_t free_type) {
  const uint32_t head = l.heads[kInactive];
  uint32_t freed = 0, scanned = 0;
  for (uint32_t id = N(head).prev, prev = N(id).prev; id != head;
       id = prev, prev = N(id).prev) {
    if (RefOf(id)) {
      Move(l, id, kActive);
    } else if (IsNode(id) && owner_->DeleteNode(id)) {
      MoveToFree(l, id, free_head, free_type);
      if (++freed == want) break;
    }
    if (++scanned == nr_scans_) break;
  }
  return freed;
}

// When nothing unreferenced could be evicted, evict exactly one node anyway:
// the oldest deletable one of INACTIVE, or of ACTIVE if INACTIVE is empty.
uint32_t LruList::Shrink(List& l, uint32_t want, uint32_t free_head,
                         uint8_t free_type) {
  if (uint32_t n = ShrinkInactive(l, want, free_head, free_type); n != 0) {
    return n;
  }
  const uint32_t head =
      ListEmpty(l.heads[kInactive]) ? l.heads[kActive] : l.heads[kInactive];
  uint32_t steps = 0;
  for (uint32_t id = N(head).prev, prev = N(id).prev;
       id != head && steps < total_; id = prev, prev = N(id).prev, ++steps) {
    if (IsNode(id) && owner_->DeleteNode(id)) {
      MoveToFree(l, id, free_head, free_type);
      return 1;
    }
  }
  return 0;
}

// Pending nodes, oldest first, into the global lists by their ref bit.
void LruList::LocalFlush(List& l, Local& loc) {
  const uint32_t head = loc.pending_head;
  uint32_t steps = 0;
  for (uint32_t id = N(head).prev, prev = N(id).prev;
       id != head && steps < total_; id = prev, prev = N(id).prev, ++steps) {
    MoveIn(l, id, RefOf(id) ? kActive : kInactive);
  }
}

// bpf_lru_list_pop_free_to_local. REQUIRES: loc.lock held.
void LruList::RefillLocal(Local& loc) {
  List& l = lists_[0];
  ShmMutexLock lock(&l.lock);
  if (lock.recovered()) Repair(l.intent);
  LockPointReached(LockPoint::kLruListLocked);
  LocalFlush(l, loc);
  Rotate(l);
  const uint32_t local_free = loc.free_head;
  const uint32_t free_head = l.heads[kFree];
  uint32_t moved = 0;
  for (uint32_t id = N(free_head).next, next = N(id).next; id != free_head;
       id = next, next = N(id).next) {
    MoveToFree(l, id, local_free, kLocalFree);
    if (++moved == target_free_) break;
  }
  if (moved < target_free_) {
    Shrink(l, target_free_ - moved, local_free, kLocalFree);
  }
}

// The oldest pending node of `loc` whose key could be evicted (deleted
// from the table here): unreferenced ones first, then any; 0 if none.
uint32_t LruList::PendingVictim(Local& loc) {
  const uint32_t head = loc.pending_head;
  for (bool force : {false, true}) {
    uint32_t steps = 0;
    for (uint32_t id = N(head).prev; id != head && steps < total_;
         id = N(id).prev, ++steps) {
      if (IsNode(id) && (force || !RefOf(id)) && owner_->DeleteNode(id)) {
        return id;
      }
    }
  }
  return 0;
}

// Steals a node from `victim`'s free list, else from its pending list, onto
// `loc`'s pending list. The kernel pops it under the victim's lock and adds
// it under its own; here both locks are held (in index order, so two
// thieves cannot deadlock) and the node changes lists in one recorded move,
// never in a thread's hand on no list, where a death would leak it.
uint32_t LruList::StealFrom(Local& loc, Local& victim, uint32_t cpu,
                            uint32_t hash) {
  Local* first = &loc;
  Local* second = &victim;
  if (second < first) std::swap(first, second);
  ShmMutexLock lock1(&first->lock);
  if (lock1.recovered()) RepairLocalTaker(*first);
  std::optional<ShmMutexLock> lock2;
  if (second != first) {
    lock2.emplace(&second->lock);
    if (lock2->recovered()) RepairLocalTaker(*second);
  }
  uint8_t op = kOpStealFree;
  uint32_t id = N(victim.free_head).next;
  if (id == victim.free_head) {
    op = kOpStealPending;
    id = PendingVictim(victim);
  }
  if (id == 0) return 0;
  owner_->SetNodeHash(id, hash);
  Plan p = MovePlan(op, id, loc.pending_head, kLocalPending);
  p.flags |= Plan::kCpu;
  p.cpu = static_cast<uint16_t>(cpu);
  p.ref = 0;
  Run(loc.intent, p);
  return id;
}

uint32_t LruList::PercpuPopFree(uint32_t hash, uint32_t cpu) {
  List& l = lists_[ListOf(cpu)];
  ShmMutexLock lock(&l.lock);
  if (lock.recovered()) Repair(l.intent);
  LockPointReached(LockPoint::kLruListLocked);
  Rotate(l);
  const uint32_t free_head = l.heads[kFree];
  if (ListEmpty(free_head)) {
    Shrink(l, kPercpuFreeTarget, free_head, kFree);
  }
  if (ListEmpty(free_head)) return 0;
  const uint32_t id = N(free_head).next;
  owner_->SetNodeHash(id, hash);
  Move(l, id, kInactive);  // clears ref
  return id;
}

uint32_t LruList::CommonPopFree(uint32_t hash, uint32_t cpu) {
  Local& loc = locals_[cpu];
  uint32_t id;
  {
    ShmMutexLock lock(&loc.lock);
    if (lock.recovered()) RepairLocalTaker(loc);
    id = N(loc.free_head).next;
    if (id == loc.free_head) {
      RefillLocal(loc);
      id = N(loc.free_head).next;
    }
    if (id == loc.free_head) {
      id = 0;
    } else {
      // Off the local free list onto the pending list in one move: the
      // node is never in this thread's hand on no list.
      owner_->SetNodeHash(id, hash);
      Plan p = MovePlan(kOpPopToPending, id, loc.pending_head, kLocalPending);
      p.flags |= Plan::kCpu;
      p.cpu = static_cast<uint16_t>(cpu);
      p.ref = 0;
      Run(loc.intent, p);
    }
  }
  if (id != 0) return id;

  // Steal, round-robin from next_steal (which starts at the CPU itself).
  const uint32_t first =
      loc.next_steal.load(std::memory_order_relaxed) % nr_cpus_;
  uint32_t steal = first;
  do {
    id = StealFrom(loc, locals_[LocalOf(steal)], cpu, hash);
    steal = (steal + 1) % nr_cpus_;
  } while (id == 0 && steal != first);
  loc.next_steal.store(steal, std::memory_order_relaxed);
  return id;
}

uint32_t LruList::PopFree(uint32_t hash, uint32_t cpu) {
  const uint32_t id =
      percpu_ ? PercpuPopFree(hash, cpu) : CommonPopFree(hash, cpu);
  // Only a corrupted list yields a sentinel or an out-of-range id.
  return IsNode(id) ? id : 0;
}

void LruList::ReclaimAbandoned(uint32_t id) {
  if (!IsNode(id)) return;
  const uint8_t type = TypeOf(id);
  if (type == kLocalPending && !percpu_) {
    Local& loc = locals_[LocalOf(LoadCpu(&N(id).cpu))];
    ShmMutexLock lock(&loc.lock);
    if (lock.recovered()) RepairLocalTaker(loc);
    // A pending node changes lists only under its CPU's local lock.
    if (TypeOf(id) == kLocalPending && owner_->ClaimAbandoned(id)) {
      Plan p = MovePlan(kOpPushLocal, id, loc.free_head, kLocalFree);
      p.ref = 0;
      Run(loc.intent, p);
    }
    return;
  }
  if (type != kActive && type != kInactive) return;
  List& l = lists_[percpu_ ? ListOf(LoadCpu(&N(id).cpu)) : 0];
  ShmMutexLock lock(&l.lock);
  if (lock.recovered()) Repair(l.intent);
  const uint8_t now = TypeOf(id);
  if ((now == kActive || now == kInactive) && owner_->ClaimAbandoned(id)) {
    MoveToFree(l, id, l.heads[kFree], kFree);
  }
}

void LruList::PushFree(uint32_t id) {
  if (percpu_) {
    List& l = lists_[ListOf(LoadCpu(&N(id).cpu))];
    ShmMutexLock lock(&l.lock);
    if (lock.recovered()) Repair(l.intent);
    LockPointReached(LockPoint::kLruListLocked);
    Move(l, id, kFree);
    return;
  }
  if (TypeOf(id) == kLocalPending) {
    Local& loc = locals_[LocalOf(LoadCpu(&N(id).cpu))];
    ShmMutexLock lock(&loc.lock);
    if (lock.recovered()) RepairLocalTaker(loc);
    // Re-checked under the lock: a refill may have flushed it meanwhile.
    if (TypeOf(id) == kLocalPending) {
      Plan p = MovePlan(kOpPushLocal, id, loc.free_head, kLocalFree);
      p.ref = 0;
      Run(loc.intent, p);
      return;
    }
  }
  List& l = lists_[0];
  ShmMutexLock lock(&l.lock);
  if (lock.recovered()) Repair(l.intent);
  LockPointReached(LockPoint::kLruListLocked);
  Move(l, id, kFree);
}

std::string LruList::CheckLists() {
  // Local locks before list locks, as every path takes them.
  std::vector<std::unique_ptr<ShmMutexLock>> held;
  for (uint32_t c = 0; c < nr_locals_; ++c) {
    held.push_back(std::make_unique<ShmMutexLock>(&locals_[c].lock));
    if (held.back()->recovered()) RepairLocalTaker(locals_[c]);
  }
  for (uint32_t i = 0; i < nr_lists_; ++i) {
    held.push_back(std::make_unique<ShmMutexLock>(&lists_[i].lock));
    if (held.back()->recovered()) Repair(lists_[i].intent);
  }
  std::vector<uint8_t> seen(total_);
  std::string err;
  auto walk = [&](uint32_t head, uint8_t type, int cpu, const char* what,
                  uint32_t* length) {
    uint32_t n = 0, prev = head;
    for (uint32_t id = N(head).next; id != head; prev = id, id = N(id).next) {
      if (N(id).prev != prev) {
        err += std::string(what) + ": node " + std::to_string(id) +
               "'s prev is " + std::to_string(N(id).prev) + ", not " +
               std::to_string(prev) + "; ";
        return;
      }
      if (!IsNode(id) || seen[id] || ++n > nr_nodes_) {
        err += std::string(what) + ": node " + std::to_string(id) +
               (IsNode(id) ? " seen twice; " : " is not a node; ");
        return;
      }
      seen[id] = 1;
      if (TypeOf(id) != type) {
        err += std::string(what) + ": node " + std::to_string(id) +
               " has type " + std::to_string(TypeOf(id)) + "; ";
      }
      if (cpu >= 0 && LoadCpu(&N(id).cpu) != cpu) {
        err += std::string(what) + ": node " + std::to_string(id) +
               " has cpu " + std::to_string(LoadCpu(&N(id).cpu)) + "; ";
      }
    }
    if (N(head).prev != prev) {
      err += std::string(what) + ": the head's prev is " +
             std::to_string(N(head).prev) + ", not " + std::to_string(prev) +
             "; ";
    }
    if (length != nullptr) *length = n;
  };
  static const char* const kNames[3] = {"ACTIVE", "INACTIVE", "FREE"};
  for (uint32_t i = 0; i < nr_lists_; ++i) {
    List& l = lists_[i];
    uint32_t len[3] = {};
    for (uint8_t t = kActive; t <= kFree; ++t) {
      walk(l.heads[t], t, percpu_ ? static_cast<int>(i) : -1, kNames[t],
           &len[t]);
    }
    for (uint8_t t = kActive; t <= kInactive; ++t) {
      if (len[t] != l.counts[t]) {
        err += std::string(kNames[t]) + " count " +
               std::to_string(l.counts[t]) + ", list " +
               std::to_string(len[t]) + "; ";
      }
    }
    if (l.rotation != l.heads[kInactive] &&
        (!IsNode(l.rotation) || TypeOf(l.rotation) != kInactive)) {
      err += "rotation cursor " + std::to_string(l.rotation) +
             " is not on INACTIVE; ";
    }
  }
  for (uint32_t c = 0; c < nr_locals_; ++c) {
    walk(locals_[c].free_head, kLocalFree, -1, "LOCAL_FREE", nullptr);
    walk(locals_[c].pending_head, kLocalPending, static_cast<int>(c),
         "LOCAL_PENDING", nullptr);
  }
  uint32_t missing = 0;
  for (uint32_t id = 1; id <= nr_nodes_; ++id) missing += seen[id] == 0;
  if (missing != 0) {
    err += std::to_string(missing) + " node(s) on no list; ";
  }
  return err;
}

}  // namespace bpfemu
