// SPDX-License-Identifier: Apache-2.0
// File: lru_list.h
//
// LruList mirrors kernel/bpf/bpf_lru_list.c (Linux 6.18; 6.1's fixed refill
// target selectable): the free-node allocator of LRU_HASH and
// LRU_PERCPU_HASH, which decides which keys an insert evicts.
//
// Model (all state lives in the map's shared-memory region, by node id):
//   * Every element has a node {prev, next, cpu, type, ref}. Types: ACTIVE,
//     INACTIVE, FREE (on an LRU list), LOCAL_FREE, LOCAL_PENDING (on a CPU's
//     local list, common mode only). `ref` is the second-chance bit that
//     program-side lookups and updates of existing keys set.
//   * Lists are circular with a sentinel node; "add" links at the head (the
//     newest end), scans for victims walk from the tail (the oldest end).
//   * Common LRU (default): one global list {ACTIVE, INACTIVE, FREE, counts,
//     rotation cursor} and per-CPU local lists {FREE, PENDING, next_steal}.
//     A CPU takes nodes from its local free list; when that is empty it
//     refills `target_free` nodes from the global list under the global lock:
//     flush its pending list into the global lists, rotate, take free nodes,
//     and shrink (evict) for the rest. When even that fails it steals from
//     other CPUs' local lists, round-robin from next_steal.
//   * Per-CPU LRU (BPF_F_NO_COMMON_LRU): each CPU owns a full list and
//     max_entries / ncpu nodes; new nodes enter its INACTIVE list.
//   * Constants: LOCAL_FREE_TARGET = nr_scans = 128 (common),
//     PERCPU_FREE_TARGET = nr_scans = 4 (per-CPU). target_free: 128 on 6.1;
//     clamp((nodes / ncpu) / 2, 1, 128) on 6.12.y and 6.16+.
//
// Locking (as in the kernel): a CPU's local lock, then the global list lock,
// then (through the owner's DeleteNode) a bucket lock. Push-free never runs
// under a bucket lock. Unlike the kernel, a steal holds the thief's and the
// victim's local locks together (lower address first), so the stolen node
// moves in one step (below).
//
// Owner death (no kernel counterpart; docs/reliability.md, "Locks and owner
// death"): a node's move between lists is a dozen stores (unlink, counts,
// rotation cursor, type, ref, link), and a process can be killed between
// any two. Each move is therefore planned first - every value it will
// store, computed from the lists as they are - and the plan written to an
// intent record beside the lock it runs under (the List's for every move
// made under a List lock, whether or not a local lock is held too; the
// Local's for moves under a local lock only) before the first store; the
// record is cleared after the last (a steal's, under two local locks, is
// the thief's record). Every stored value comes from the plan,
// none is read back from the lists, so replaying a plan from its start
// ends in the same lists however much of it had been done. A thread that
// takes a lock over from a dead holder (ShmMutex::Lock() reports it)
// replays that lock's record; a local lock's taker also replays the global
// list's record, since a move under both locks (a refill) changes the
// local lists too, and the other local records (steals). A record is replayed
// once: its taker claims it with a compare-and-swap of its state word, and a
// thread that finds it claimed by a live thread waits for the replay to finish.
//
// The owner (the hash table) supplies the two hash-table hooks the kernel
// passes as del_from_htab and hash_offset.

#ifndef BPFEMU_EMU_LRU_LIST_H_
#define BPFEMU_EMU_LRU_LIST_H_

#include <cstdint>
#include <memory>
#include <string>

#include "emu/shm.h"
#include "emu/version.h"

namespace bpfemu {

class LruOwner {
 public:
  // htab_lru_map_delete_node(): unlinks element `id` from its bucket if it is
  // still there; false when it is not (or its bucket lock cannot be taken).
  virtual bool DeleteNode(uint32_t id) = 0;
  // Records the hash of the key a popped node is about to carry.
  virtual void SetNodeHash(uint32_t id, uint32_t hash) = 0;
  // Whether node `id`, on an ACTIVE, INACTIVE or pending list but holding
  // no key, was abandoned (its holder died): if so it is claimed, once.
  // Called under the lock of the list the node is on.
  virtual bool ClaimAbandoned(uint32_t id) = 0;

 protected:
  ~LruOwner() = default;
};

class LruList {
 public:
  enum Type : uint8_t {
    kActive = 0,
    kInactive = 1,
    kFree = 2,
    kLocalFree = 3,
    kLocalPending = 4,
  };
  static constexpr uint32_t kLocalFreeTarget = 128;
  static constexpr uint32_t kPercpuFreeTarget = 4;

  // Bytes of region the LRU needs for `nr_nodes` nodes.
  static uint64_t RegionBytes(bool percpu, uint32_t nr_nodes, uint32_t nr_cpus);
  // Builds the lists at `offset` of a zero-filled region and puts every node
  // on a free list (bpf_lru_populate).
  static void Init(const ShmRegion& region, uint64_t offset, bool percpu,
                   uint32_t nr_nodes, uint32_t nr_cpus, KernelVersion version);

  // Attaches to lists built by Init with the same parameters, which the
  // caller recomputed from a validated header: -EINVAL unless the region's
  // LRU state records exactly them (offsets, node count, CPU count, scan
  // and free targets). Node links and CPU numbers stay in shared memory
  // and are bounds-checked wherever they are followed: a corrupted link
  // lands on a process-local scratch node, never outside the region, and
  // every walk is bounded by the node count.
  [[nodiscard]] static int Attach(const ShmRegion& region, uint64_t offset,
                                  bool percpu, uint32_t nr_nodes,
                                  uint32_t nr_cpus, LruOwner* owner,
                                  std::unique_ptr<LruList>* out);
  LruList(const LruList&) = delete;
  LruList& operator=(const LruList&) = delete;

  // bpf_lru_pop_free(): a node for a new key with `hash`, taken on `cpu`;
  // may evict other keys. 0 when none can be had.
  uint32_t PopFree(uint32_t hash, uint32_t cpu);
  // bpf_lru_push_free(): gives a node back.
  void PushFree(uint32_t id);
  // bpf_lru_node_set_ref().
  void SetRef(uint32_t id);
  // Owner-death recovery (no kernel counterpart): gives node `id` back to
  // a free list if, under its list's lock, it is still on an ACTIVE,
  // INACTIVE or pending list and the owner claims it (ClaimAbandoned).
  // Never called under a bucket lock.
  void ReclaimAbandoned(uint32_t id);

  // Introspection for tests.
  uint8_t TypeOf(uint32_t id) const;
  bool RefOf(uint32_t id) const;
  uint32_t target_free() const;
  // Takes every list lock (replaying what a dead holder left half done) and
  // walks every list: "" when each is a whole circle (every next's prev
  // points back), every node is on exactly one list of its type (a pending
  // node on its CPU's list, a per-CPU node on its CPU's) and the ACTIVE and
  // INACTIVE counts are the lists' lengths; else what is wrong. Only for a
  // map no other thread changes meanwhile.
  std::string CheckLists();

  // Moves, for the test sites (LockPoint::kLruListStore: site = op * 16 +
  // the store, 0 before the first, 12 after the last).
  enum Op : uint8_t {
    kOpMove = 1,        // within or between ACTIVE, INACTIVE and FREE
    kOpMoveToFree = 2,  // evicted or given out to a local free list
    kOpMoveIn = 3,      // a pending node into ACTIVE or INACTIVE
    kOpPopToPending = 4,
    kOpStealFree = 5,     // off a victim's local free list onto the
                          // thief's pending list
    kOpStealPending = 6,  // off a victim's pending list onto the thief's
    kOpPushLocal = 8,     // a pending node back to its local free list
  };

 private:
  struct Node;
  struct Plan;
  struct Intent;
  struct List;
  struct Local;
  struct Shared;

  LruList(const ShmRegion& region, uint64_t offset, bool percpu,
          uint32_t nr_nodes, uint32_t nr_cpus, LruOwner* owner);

  Node& N(uint32_t id) const;
  // Whether `id` is an element's node (1 .. nr_nodes), not a sentinel.
  bool IsNode(uint32_t id) const { return id - 1 < nr_nodes_; }
  // A CPU number read from a node, bounded to the lists that exist.
  uint32_t ListOf(uint32_t cpu) const { return cpu < nr_lists_ ? cpu : 0; }
  uint32_t LocalOf(uint32_t cpu) const { return cpu < nr_locals_ ? cpu : 0; }
  // list.h primitives over node ids.
  void ListAdd(uint32_t id, uint32_t head);  // Init only
  bool ListEmpty(uint32_t head) const;

  // Planned moves (see "Owner death" above).
  Plan MovePlan(uint8_t op, uint32_t id, uint32_t head, uint8_t type) const;
  void WithCounts(Plan& p, const List& l) const;
  void Run(Intent& rec, const Plan& p);
  template <bool kSites>
  void Apply(const Plan& p);
  void Repair(Intent& rec);
  void RepairLocalTaker(Local& loc);

  static void CountInc(uint32_t* counts, uint8_t type);
  static void CountDec(uint32_t* counts, uint8_t type);
  void MoveToFree(List& l, uint32_t id, uint32_t free_head, uint8_t type);
  void MoveIn(List& l, uint32_t id, uint8_t type);
  void Move(List& l, uint32_t id, uint8_t type);
  void RotateActive(List& l);
  void RotateInactive(List& l);
  void Rotate(List& l);
  uint32_t ShrinkInactive(List& l, uint32_t want, uint32_t free_head,
                          uint8_t free_type);
  uint32_t Shrink(List& l, uint32_t want, uint32_t free_head,
                  uint8_t free_type);
  void LocalFlush(List& l, Local& loc);
  void RefillLocal(Local& loc);
  uint32_t PendingVictim(Local& loc);
  uint32_t StealFrom(Local& loc, Local& victim, uint32_t cpu, uint32_t hash);
  uint32_t PercpuPopFree(uint32_t hash, uint32_t cpu);
  uint32_t CommonPopFree(uint32_t hash, uint32_t cpu);

  Shared* shared_;
  Node* nodes_;
  List* lists_;
  Local* locals_;
  LruOwner* const owner_;
  // Process-local copies of the immutable state (checked by Attach).
  bool percpu_ = false;
  uint32_t nr_nodes_ = 0, nr_cpus_ = 1, nr_lists_ = 1, nr_locals_ = 0;
  uint32_t total_ = 0;  // node ids: 0 .. total_ - 1 (nodes and sentinels)
  uint32_t target_free_ = 1, nr_scans_ = 1;
  mutable uint32_t scratch_[3] = {};  // where a corrupted link lands (a Node)
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_LRU_LIST_H_
