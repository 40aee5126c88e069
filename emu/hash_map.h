// SPDX-License-Identifier: Apache-2.0
// File: hash_map.h
//
// HashMap mirrors kernel/bpf/hashtab.c (Linux 6.18) for BPF_MAP_TYPE_HASH,
// BPF_MAP_TYPE_PERCPU_HASH (preallocated or BPF_F_NO_PREALLOC),
// BPF_MAP_TYPE_LRU_HASH and BPF_MAP_TYPE_LRU_PERCPU_HASH: htab_map_alloc_check,
// htab_map_alloc, htab_map_update_elem / htab_percpu_map_update_elem /
// htab_lru_map_update_elem / __htab_lru_percpu_map_update_elem,
// htab_map_delete_elem, htab_map_get_next_key,
// htab_map_lookup_and_delete_elem, htab_lru_map_delete_node.
//
// LRU maps take every element from an LruList (lru_list.h) instead of the
// free lists: the node is popped before the bucket lock (possibly evicting
// other keys, or the very key being updated) and given back after it, so a
// failed update can still have evicted something, exactly as in the kernel.
// NO_COMMON_LRU rounds max_entries up to a multiple of the CPU count.
//
// Layout (inside the map's region, after MapHeader):
//
//   HashBody      n_buckets, pool geometry, live-element count, offsets
//   Bucket[n_buckets]       { ShmSpinLock lock; atomic<u32> head, seq, intent }
//   FreeList[nr_cpus]       { ShmMutex lock; u32 head } per CPU, 64 bytes
//   u32 extra[nr_cpus]      each CPU's parked spare element (prealloc)
//   Elem[n_elems]           { u32 next; u32 hash; key; value area }
//
// The value area is round_up(value_size, 8) bytes, or for PERCPU_HASH one
// such slot per possible CPU in CPU order, which is exactly the buffer a
// syscall caller passes (bpf_map_value_size()): syscall lookups copy every
// slot, padding included, and syscall updates write every slot.
//
// Elements are addressed by 1-based id (0, kNil, ends a list), so a
// zero-filled region is already a valid empty table. The pool holds
// max_entries + nr_cpus elements: max_entries for live keys and one spare per
// CPU, which an update of an existing key uses exactly as the kernel uses
// htab->extra_elems (the new value goes into the spare, which is linked at the
// bucket head; the old element becomes the spare). Elements never handed out
// are taken from a bump index, so creating a large map touches no memory.
//
// Semantics that follow the kernel (see docs/semantics.md):
//   * n_buckets = roundup_pow_of_two(max_entries); bucket = hash & (n-1);
//     hash = htab_map_hash (jhash2 / jhash, seed 0 with BPF_F_ZERO_SEED).
//   * Insertion is at the bucket head; an update of an existing key links a
//     new element at the head and unlinks the old one, so the key moves to the
//     front of its bucket. get_next_key walks buckets upward, each head first;
//     a key that is not found restarts the walk at bucket 0.
//   * Capacity is exactly max_entries live elements, prealloc or not. Error
//     precedence: flags (EINVAL), then EEXIST / ENOENT, then E2BIG; replacing
//     an existing key never fails for capacity.
//   * PERCPU_HASH updates an existing key in place (pcpu_copy_value): its
//     position does not change, and it needs no spare elements.
//   * Deleted elements go back to the current CPU's free list and are reused
//     LIFO, as the kernel's pcpu_freelist does.
//
// Locking: every update or delete takes the spin lock of its key's bucket
// (ShmSpinLock, like the kernel's raw bucket spinlocks); the free-list lock
// nests inside it (order: bucket lock -> free-list lock), as in the kernel,
// where alloc_htab_elem runs under the bucket lock. Every step of a change
// runs under it (the kernel frees after the unlock; not observable), and
// its intent record lets the next taker repair a writer killed between two
// steps (hash_map.cc, "Intent records"; docs/reliability.md).
//
// Re-entry (htab_lock_bucket): the kernel holds a bucket lock with preemption
// off, so only a program that interrupts the holder on the same CPU (a
// tracing program) can ask for a bucket lock of the same map again. Then, by
// the map's kernel version:
//   * up to 6.14: -EBUSY when the nested op's lock slot, bucket &
//     min(7, n_buckets - 1), is one this CPU holds (per-CPU map_locked);
//   * from 6.15: -EDEADLK when it needs the very bucket this CPU holds
//     (rqspinlock AA detection); other buckets are taken normally.
// In bpfemu the interrupting program is a callback on the holder's thread
// (SetBucketLockedHookForTesting); update, delete, lookup_and_delete and the
// batch walker can fail this way, lookups and get_next_key cannot (RCU
// readers in the kernel).
//
// Lookups (syscall and program) take no lock, like the kernel's RCU
// readers: they walk the chain under a per-bucket sequence count that every
// link and unlink bumps, and retry if it moved (FindLockFree). A 4- or
// 8-byte key is compared as one word (no stored-hash load) and a 4-byte
// key is hashed by Jhash1Word, jhash2's value with the seed folded in.
//
// A map over a read-only region (Map::read_only: a BPF_F_RDONLY get by a
// user who may not write the pin) cannot take bucket locks: its lookups,
// get_next_key and lookup batches read each bucket under its sequence count
// only (FindNoWrite, SnapshotBucket), waiting out writers with ReadOnlyWait,
// and answer EBUSY for a bucket a writer died in until a writer repairs it.
//
// Differences from the kernel:
//   * get_next_key takes the bucket lock (unless the calling thread already
//     holds it) instead of running under RCU; results are the same.
//   * -ETIMEDOUT (6.15+, a lock not acquired within the rqspinlock timeout)
//     is not produced: contention between emulated CPUs just waits.

#ifndef BPFEMU_EMU_HASH_MAP_H_
#define BPFEMU_EMU_HASH_MAP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "emu/jhash.h"
#include "emu/lru_list.h"
#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

// Subclasses (the kernel's other users of hashtab.c's table) override the
// fd-value hooks: HashOfMaps (hash_of_maps.h) and SockHash (sock_map.h).
class HashMap : public Map, private LruOwner {
 public:
  // htab_map_ops, htab_percpu_map_ops, htab_lru_map_ops,
  // htab_lru_percpu_map_ops.
  static const MapOps kHashOps;
  static const MapOps kPercpuHashOps;
  static const MapOps kLruHashOps;
  static const MapOps kLruPercpuHashOps;

  // htab_map_alloc_check() for the hash family, in the kernel's order.
  static int AllocCheck(const MapAttr& attr);

  uint32_t SyscallValueSize() const override;
  // The program face (bpf_map_lookup_elem from BPF): a pointer into the
  // element's value (per-CPU maps: the current CPU's slot) or nullptr. LRU
  // maps mark the element referenced (htab_lru_map_lookup_elem); the syscall
  // LookupElem does not (htab_lru_map_lookup_elem_sys).
  void* LookupElemProg(const void* key) override;
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  // The syscall's lookup is LookupElem itself, called without a second
  // virtual call (SockHash overrides this with the socket's cookie; a
  // member that overrides LookupElem must override this too).
  [[nodiscard]] int LookupElemSys(const void* key, void* value,
                                  uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override {
    return Update(key, value, flags, /*onallcpus=*/true);
  }
  // Per-CPU types write the current CPU's slot (pcpu_copy_value with
  // onallcpus false); a new element's other slots are zeroed
  // (pcpu_init_value).
  [[nodiscard]] int UpdateElemProg(const void* key, const void* value,
                                   uint64_t flags) override {
    if ((flags & BPF_F_LOCK) && !HasSpinLock() && !geo_.percpu &&
        (flags & ~uint64_t{BPF_F_LOCK}) <= BPF_EXIST) {
      return -EINVAL;
    }
    return Update(key, value, flags, /*onallcpus=*/false);
  }
  [[nodiscard]] int DeleteElem(const void* key) override {
    return Remove(key, nullptr, 0);
  }
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  // bpf_for_each_hash_elem (kernel/bpf/hashtab.c), the four hash types'
  // for_each_callback: buckets 0..n_buckets-1, each chain from its head,
  // the callback handed the element's own key and value (per-CPU: the slot
  // of the CPU the walk started on). No bucket lock is held while the
  // callback runs, so it may update or delete, the visited element
  // included. As hlist_nulls_for_each_entry_safe, the walk reads the next
  // element before calling back: an element the callback deletes is still
  // visited if it was that next one, elements inserted meanwhile are not
  // visited in the bucket being walked. LRU reference bits are left as
  // they are (the kernel's walk does not call bpf_lru_node_set_ref).
  static long ForEach(Map& map, ForEachCallback fn, void* arg, uint64_t flags);
  [[nodiscard]] int LookupAndDeleteElem(const void* key, void* value,
                                        uint64_t flags) override;
  // The bucket walker: the cursor is a u32 bucket index, buckets are never
  // split across calls.
  [[nodiscard]] int LookupBatch(BatchArgs& args) override {
    return WalkBatch(args, false);
  }
  [[nodiscard]] int LookupAndDeleteBatch(BatchArgs& args) override {
    return WalkBatch(args, true);
  }
  // htab_map_ops and htab_of_maps_map_ops (BATCH_OPS(htab)): generic update
  // and delete batches.
  [[nodiscard]] int UpdateBatch(BatchArgs& args) override {
    return GenericUpdateBatch(args);
  }
  [[nodiscard]] int DeleteBatch(BatchArgs& args) override {
    return GenericDeleteBatch(args);
  }

  uint32_t n_buckets() const { return geo_.n_buckets; }
  bool percpu() const { return geo_.percpu; }
  // htab_map_mem_usage().
  uint64_t MemUsage(const BuildProfile& build) const override;

  // Runs `hook` once, the next time an update, delete, lookup_and_delete or
  // batch walk of this map holds a bucket lock, on the thread that holds it:
  // the emulator's stand-in for a tracing program that interrupts the map op
  // on the same CPU. Not thread-safe against concurrent ops on this map.
  void SetBucketLockedHookForTesting(std::function<void()> hook) {
    locked_hook_ = std::move(hook);
  }
  // The LRU lists (LRU types only), for tests.
  const LruList* lru() const { return lru_.get(); }
  LruList* lru() { return lru_.get(); }
  // Live elements (for tests and invariant checks).
  uint32_t count() const {
    return body_->count.load(std::memory_order_relaxed);
  }

 protected:
  explicit HashMap(ShmRegion region) : Map(std::move(region)) {}

  // htab_map_alloc() / attaching for a family member of class T (a
  // HashMap): `zero_seed` hashes with seed 0 whatever the flags say
  // (SOCKHASH), `alloc_check` is the member's own.
  template <typename T>
  static int AllocAs(const MapAttr& attr, uint32_t nr_cpus, bool zero_seed,
                     int* fd, std::unique_ptr<Map>* out) {
    return AllocWith(
        [](ShmRegion r) -> std::unique_ptr<HashMap> {
          return std::unique_ptr<HashMap>(new T(std::move(r)));
        },
        attr, nr_cpus, zero_seed, fd, out);
  }
  template <typename T>
  static int AttachAs(int (*alloc_check)(const MapAttr&), ShmRegion region,
                      std::unique_ptr<Map>* out) {
    return AttachWith(
        [](ShmRegion r) -> std::unique_ptr<HashMap> {
          return std::unique_ptr<HashMap>(new T(std::move(r)));
        },
        alloc_check, std::move(region), out);
  }

  // The fd-value hooks of the types whose values reference other objects.
  // htab_put_fd_value(): a deleted element's value lets go of what it held
  // (a batch delete calls it once the bucket lock is dropped).
  virtual void PutFdValue(const void* /*value*/) {}
  // Whether replacing an existing key's value writes it in place instead of
  // through a new element (HASH_OF_MAPS from 6.13).
  virtual bool ReplacesInPlace() const { return false; }

  // Deletes `key`, first copying its value to `value_out` unless NULL
  // (htab_map_delete_elem / htab_map_lookup_and_delete_elem).
  int Remove(const void* key, void* value_out, uint64_t flags);
  // htab_map_update_elem / __htab_percpu_map_update_elem: `onallcpus` for
  // the syscall (a value per CPU), not for programs (one value). If
  // `replaced` is not NULL, a non-LRU, non-per-CPU update of an existing key
  // copies the old value (value_size bytes) there under the bucket lock.
  int Update(const void* key, const void* value, uint64_t flags, bool onallcpus,
             void* replaced = nullptr);
  int UpdateOnce(const void* key, const void* value, uint64_t flags,
                 bool onallcpus, void* replaced);
  // The bucket walker (__htab_map_lookup_and_delete_batch).
  int WalkBatch(BatchArgs& args, bool do_delete);

 private:
  static constexpr uint32_t kNil = 0;

  using Factory = std::unique_ptr<HashMap> (*)(ShmRegion);
  static int AllocWith(Factory make, const MapAttr& attr, uint32_t nr_cpus,
                       bool zero_seed, int* fd, std::unique_ptr<Map>* out);
  static int AttachWith(Factory make, int (*alloc_check)(const MapAttr&),
                        ShmRegion region, std::unique_ptr<Map>* out);

  struct HashBody {
    uint32_t n_buckets;
    uint32_t n_elems;       // pool size: max_entries + nr_cpus
    uint32_t elem_size;     // sizeof(ElemHeader) + key slot + value slot
    uint32_t key_slot;      // round_up(key_size, 8)
    uint32_t value_slot;    // value area: round_up(value_size, 8) [* nr_cpus]
    uint32_t percpu;        // 1 for PERCPU_HASH and LRU_PERCPU_HASH
    uint32_t lru;           // 1 for the LRU types
    ShmMutex recover_lock;  // serializes Recover() across processes
    uint64_t lru_off;       // LruList state
    std::atomic<uint32_t> count;        // live elements
    std::atomic<uint32_t> next_unused;  // pool elements never handed out
    uint64_t buckets_off;
    uint64_t freelists_off;
    uint64_t extras_off;
    uint64_t elems_off;
  };
  struct Bucket {
    ShmSpinLock lock;
    std::atomic<uint32_t> head;  // written under lock, read without
    std::atomic<uint32_t> seq;   // odd while the chain changes
    // The intent record: the writer's tid while it holds the lock and may
    // be between the steps of a change (0 otherwise). Found set by the
    // next taker of the lock, it means the writer died there: Recover().
    std::atomic<uint32_t> intent;
  };
  struct alignas(64) FreeList {
    ShmMutex lock;
    uint32_t head;
  };
  struct ElemHeader {
    std::atomic<uint32_t> next;  // bucket chain or free list
    std::atomic<uint32_t> hash;
  };

  // The body's geometry, computed from the header exactly as creation
  // computes it. A process-local copy is all the hot paths read; Attach
  // requires the copy stored in the region to match it field by field.
  struct Geometry {
    uint32_t n_buckets, n_elems, elem_size, key_slot, value_slot;
    bool percpu, lru, percpu_lru;
    uint64_t buckets_off, freelists_off, extras_off, elems_off, lru_off;
    uint64_t region_size;
  };
  // htab_map_alloc()'s sizing for a header's attributes (max_entries after
  // the NO_COMMON_LRU rounding): 0, or -E2BIG when the table is too large.
  static int ComputeGeometry(const MapHeader& h, Geometry* g);

  // Points the object at its body; `g` has been checked against it.
  void Bind(const Geometry& g);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out) {
    return AllocAs<HashMap>(attr, nr_cpus, /*zero_seed=*/false, fd, out);
  }
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out) {
    return AttachAs<HashMap>(&AllocCheck, std::move(region), out);
  }

  // Whether `id`, read from shared memory, names an element of the pool.
  // Every id read from a chain, a free list, a spare slot or the LRU is
  // checked before it is followed (kNil is not valid).
  bool ValidId(uint32_t id) const { return id - 1 < geo_.n_elems; }
  // REQUIRES: ValidId(id).
  ElemHeader* Elem(uint32_t id) const {
    return reinterpret_cast<ElemHeader*>(elems_ +
                                         uint64_t{id - 1} * elem_size_);
  }
  uint8_t* ElemKey(uint32_t idx) const {
    return reinterpret_cast<uint8_t*>(Elem(idx)) + sizeof(ElemHeader);
  }
  uint8_t* ElemValue(uint32_t idx) const { return ElemKey(idx) + key_slot_; }
  bool ValueKey(const uint8_t* value, uint32_t* index,
                const uint8_t** key) const override;
  uint32_t BucketIndex(uint32_t hash) const { return hash & bucket_mask_; }
  Bucket& SelectBucket(uint32_t hash) const {
    return buckets_[BucketIndex(hash)];
  }
  uint32_t Hash(const void* key) const;

  // REQUIRES: b.lock held. Index of the element holding `key`, or kNil;
  // *prev_out receives its predecessor (kNil at the head).
  uint32_t FindLocked(const Bucket& b, uint32_t hash, const void* key,
                      uint32_t* prev_out) const;
  // Lookups without the bucket lock (the kernel's RCU readers): the element
  // holding `key`, or kNil. kKeySize 4 or 8 (the key size, known at compile
  // time) compares the key word alone, one load per element; 0 compares
  // the stored hash, then key_size_ bytes.
  template <uint32_t kKeySize = 0>
  uint32_t FindLockFree(uint32_t hash, const void* key) const;
  // FindLockFree's pieces: one walk under an unchanged sequence count
  // (false if the count was odd or moved; *key_out, unless NULL, is the
  // found element's key slot), and the bounded retries.
  template <uint32_t kKeySize>
  bool WalkOnce(const Bucket& b, uint32_t hash, const void* key, uint32_t* out,
                const uint8_t** key_out) const;
  template <uint32_t kKeySize>
  uint32_t FindLockFreeRetry(uint32_t hash, const void* key) const;
  // LookupElem's body (both LookupElem and LookupElemSys inline it), and
  // its way for every map but a 4-byte key with a plain value.
  int LookupImpl(const void* key, void* value, uint64_t flags);
  int LookupElemOther(const void* key, void* value, uint64_t flags);
  // FindLockFree's way out when the count never settles: FindLocked under
  // the bucket lock (unless this thread holds it).
  uint32_t FindLockedFallback(uint32_t hash, const void* key) const;
  // The read paths of a read-only region (Map::read_only), which may not
  // take a bucket lock or repair a count: FindLockFree that waits with
  // ReadOnlyWait instead of falling back to the lock (0 with *out, kNil if
  // absent, or -EBUSY), and a copy of one bucket's chain - keys, and values
  // as a syscall lookup with `elem_flags` copies them unless `values` is
  // NULL - made under one unchanged sequence count (0 with *n, or -EBUSY).
  int FindNoWrite(uint32_t hash, const void* key, uint32_t* out) const;
  int SnapshotBucket(uint32_t index, std::vector<uint8_t>* keys,
                     std::vector<uint8_t>* values, uint64_t elem_flags,
                     uint32_t* n) const;
  int GetNextKeyNoWrite(const void* key, void* next_key) const;
  // The ids of bucket `index`'s chain, head first, read under its lock;
  // the bucket's sequence count at that time is *seq.
  // (Inline storage: a fault in a bytecode callback leaves the walk with a
  // longjmp, past any destructor.)
  using ChainIdBuf = absl::InlinedVector<uint32_t, 32>;
  void ChainIds(uint32_t index, ChainIdBuf* ids, uint32_t* seq);
  // Lock take-over repair (see hash_map.cc): an odd sequence count left by
  // a dead writer is made even by whoever takes its lock over.
  static void RepairBucket(Bucket& b);
  static void BeginChainWrite(Bucket& b);
  static void EndChainWrite(Bucket& b);
  // REQUIRES: b.lock held.
  void UnlinkLocked(Bucket& b, uint32_t prev, uint32_t idx);
  // REQUIRES: b.lock held. Links element `id` at the head of `b`.
  void LinkHeadLocked(Bucket& b, uint32_t id);
  // A syscall copy of element `id`'s value: every CPU's slot, or the value
  // with its spin lock zeroed (under that lock with BPF_F_LOCK).
  void CopyOut(void* dst, uint32_t id, uint64_t flags) const;
  // The LRU update paths (htab_lru_map_update_elem,
  // __htab_lru_percpu_map_update_elem with onallcpus).
  int LruUpdate(const void* key, const void* value, uint64_t flags,
                bool onallcpus);
  // Writes a per-CPU element's value: every slot from a syscall buffer, or
  // `value_size` bytes into the current CPU's slot, zeroing the other
  // slots' values when `fresh` (pcpu_copy_value / pcpu_init_value).
  void CopyPercpu(uint32_t id, const void* value, bool onallcpus, bool fresh);
  // REQUIRES: the bucket lock of the element just unlinked. It leaves the
  // count; a pool element goes back to `cpu`'s free list, an LRU element
  // is marked in flight (FlightMark), for LruFree after the unlock.
  void ReleaseLocked(uint32_t cpu, uint32_t id);
  // Gives an LRU element released by ReleaseLocked back to the LRU. Never
  // called under a bucket lock.
  void LruFree(uint32_t id);

  // Owner-death recovery (issue 20). See hash_map.cc "Intent records".
  // Element `next` words of LRU elements outside every chain: the tid of
  // the thread that has the element in hand, or kOrphan.
  static constexpr uint32_t kMarkBits = 0xC0000000u;
  static constexpr uint32_t kOrphan = 0xFFFFFFFFu;
  // An intent record with this bit: the writer (tid in the other bits)
  // has released the bucket lock and still gives LRU elements back.
  static constexpr uint32_t kTail = 0x80000000u;
  // Clears this thread's tail record of bucket `index`, if still there.
  void EndTail(uint32_t index);
  static uint32_t FlightMark() { return kMarkBits | CurrentTid(); }
  // With every bucket lock (and so no writer between its steps) held:
  // makes the table whole again after a writer died between the steps of
  // a change, as if its operation had completed or never started.
  void Recover();
  // Returns the LRU elements found abandoned, for ReclaimAbandoned once
  // the bucket locks are released.
  std::vector<uint32_t> RebuildLocked();
  // Whether a bucket's intent names a writer that no longer exists (an
  // intent only outlives its writer's lock if the writer died).
  bool AnyDeadIntent() const;
  // Recover() if a dead writer's intent is found (the E2BIG path: a leaked
  // element or count reservation makes a map look full). True if it did.
  bool RecoverIfOwnerDied();
  // LruOwner.
  bool DeleteNode(uint32_t id) override;
  bool ClaimAbandoned(uint32_t id) override;
  void SetNodeHash(uint32_t id, uint32_t hash) override;

  // Initialises the value of a newly linked element.
  void FillNew(uint32_t id, const void* value, bool onallcpus);

  // Takes bucket `index` for a writer: 0, or -EBUSY / -EDEADLK on re-entry
  // as described above. Runs the test hook once it holds the lock.
  [[nodiscard]] int LockBucket(uint32_t index);
  void UnlockBucket(uint32_t index);
  // Readers: lock unless this thread already holds the bucket.
  bool LockBucketForRead(uint32_t index);
  // Takes bucket `index`'s lock; one that a dead writer's intent marks is
  // released, the map Recover()ed, and the lock taken again (unless this
  // thread holds other bucket locks: then it is left to the next taker).
  void AcquireBucket(uint32_t index);
  class WriteGuard;
  class ReadGuard;

  // Pool management (pcpu_freelist): pop from this CPU's list, then never-used
  // elements, then the other CPUs' lists in wrap-around order. kNil when
  // none is left; *no_memory is then set if a never-used element's pages
  // could not be backed (a BPF_F_NO_PREALLOC pool on a full storage).
  uint32_t PopFree(uint32_t cpu, bool* no_memory = nullptr);
  // Backs the pages of never-used element `id` that element id - 1 did not
  // already reach (a BPF_F_NO_PREALLOC pool is created unbacked).
  [[nodiscard]] bool BackElem(uint32_t id) const;
  void PushFree(uint32_t cpu, uint32_t idx);

  HashBody* body_;
  Bucket* buckets_;
  FreeList* freelists_;
  // One spare element per CPU, each on its own cache line (the CPUs
  // exchange them on every replacing update).
  struct alignas(64) Spare {
    std::atomic<uint32_t> id;
  };
  Spare* extras_;
  uint8_t* elems_;
  // Copies of immutable region fields, kept in the object for the hot paths.
  Geometry geo_{};
  std::atomic<int64_t> last_scan_ns_{0};  // RecoverIfOwnerDied on a large table
  uint32_t elem_size_, key_slot_, bucket_mask_, key_size_, seed_;
  // htab_map_hash() of a 4-byte key with this map's seed folded in.
  Jhash1Word hash_word_;
  // The syscall lookup's path, chosen at Bind from the key size and the
  // region's mode (hash_map.cc LookupElem).
  enum class LookupPath : uint8_t { kGeneric, kWordKey, kDwordKey, kReadOnly };
  LookupPath lookup_path_ = LookupPath::kGeneric;
  // A value copied out as plain bytes (not per-CPU, no special fields), of
  // plain_value_size_ bytes.
  bool plain_value_ = false;
  uint32_t plain_value_size_ = 0;
  std::unique_ptr<LruList> lru_;       // LRU types only
  std::function<void()> locked_hook_;  // process-local, test only
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_HASH_MAP_H_
