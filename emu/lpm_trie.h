// SPDX-License-Identifier: Apache-2.0
// File: lpm_trie.h
//
// LpmTrieMap mirrors kernel/bpf/lpm_trie.c (Linux 6.1, 6.12, 6.18) for
// BPF_MAP_TYPE_LPM_TRIE: a binary trie of prefixes, keys being struct
// bpf_lpm_trie_key_u8 (a host-order u32 prefixlen, then data_size bytes of
// big-endian data), searched for the longest stored prefix of a key.
//
// Semantics (docs/semantics.md, "LPM_TRIE"):
//   * Creation: max_entries 0, no BPF_F_NO_PREALLOC, flags beyond
//     BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | the access flags, both program
//     access flags, key_size outside 4 + [1, 256], value_size 0 or above
//     KMALLOC_MAX_SIZE - 256 - sizeof(struct lpm_trie_node) are EINVAL, all
//     in trie_alloc() (so after the capability check; 6.1 checks CAP_BPF
//     there first). map_extra must be 0 (map_create).
//   * Lookup: the value of the longest non-intermediate prefix matching the
//     key's first prefixlen bits, ENOENT if none or if prefixlen exceeds
//     data_size * 8.
//   * Update: flags above BPF_EXIST or prefixlen above the maximum are EINVAL;
//     an existing prefix is replaced (EEXIST with BPF_NOEXIST) without
//     counting against max_entries, even in a full trie; a new prefix is
//     ENOENT with BPF_EXIST, ENOSPC when n_entries == max_entries. Data bits
//     past prefixlen are stored as given and come back from get_next_key.
//   * Delete: exact prefix only (ENOENT otherwise, EINVAL above the
//     maximum); a node with two children becomes intermediate, a leaf under
//     an intermediate parent takes the parent with it.
//   * get_next_key: post-order (more specific prefixes first); a NULL,
//     over-long or absent key restarts at the first key; ENOENT after the
//     last.
//   * Batch: the generic lookup, update and delete batch ops;
//     lookup_and_delete (single or batch) is ENOTSUPP.
//   * memlock (6.4 on): (sizeof(struct lpm_trie_node) + data_size +
//     value_size) * n_entries; the node size is the build profile's
//     `lpm_node` (40 up to 6.12, 24 from 6.13's bpf_mem_alloc nodes).
//
// Layout (after MapHeader): LpmBody (lock, change sequence, counts, pool
// bookkeeping, root link), then a pool of fixed-size nodes addressed by
// index + 1 (0 is "none"): {link[2], prefixlen, flags, data[data_size]
// padded to 8, value[value_size] padded to 8}. A link (the root, a child) is
// a 64-bit word: the node's index + 1 in the low half, its prefixlen in the
// high half, so a walk learns the next node's address and the key bit to
// test there from one load (a node's prefixlen never changes while it is
// linked: an update links a new node). A link whose prefixlen is not its
// node's is a broken link. The pool holds 2 * max_entries nodes (at
// most n_entries leaves, fewer intermediates than leaves, and the one spare a
// replacement needs while the old node is still linked), capped at
// kMaxPoolBytes / (node size - kLinkGrowth) nodes: the cap counts nodes of
// the 16-byte header that 32-bit links had, so the 64-bit links (24-byte
// header) cost memory, not capacity - a full pool of the smallest nodes (40
// bytes, 32 before) is 320 MiB of the map's region, backed only as nodes are
// first used. Past the cap an update is ENOMEM, where the kernel's node
// allocation would fail. Free nodes are chained through link[0] in a FIFO
// (free_head .. free_tail); nodes past `fresh` were never used, so creation
// touches no pool page.
//
// Reuse: the kernel frees a deleted or replaced node with kfree_rcu, so a
// value pointer a program holds keeps the old value until the program ends.
// AllocNode hands out never-used nodes first and then the node freed longest
// ago, so a freed node is reused only after every fresh node and every node
// freed before it: a program's value pointer keeps its value across the
// program's own later updates unless they cycle through the whole pool.
// The cost: a trie that churns backs its whole pool's pages, as the kernel's
// delayed frees keep memory allocated. AllocNode and FreeNode tolerate a
// head and tail that disagree (a crafted region, a writer that died between
// the two stores): the chain is dropped, never followed out of the pool.
//
// Sharing: writers hold the process-shared lock and make the sequence odd
// while they change the trie. Readers (lookup and get_next_key, syscall and
// program faces) take no lock, like the kernel's RCU readers: they walk under
// the sequence and retry when it was odd or moved. In a process that may
// write, a sequence that stays odd or keeps moving for kLockFreeRetries walks
// (a writer that died mid-change, a storm of writers) makes the reader take
// the lock, which repairs after a dead holder; a read-only mapping waits with
// ReadOnlyWait instead and answers EBUSY for a dead writer.
//
// Lookup (trie_lookup_elem / longest_prefix_match): the key's data is read
// once into big-endian 64-bit words, each node's data is compared a word at a
// time (count-leading-zeros of the XOR, as the kernel's fls on be64/be32
// words), and the next child's bit comes from the key words in registers.
// Walks for 4-, 8- and 16-byte data are compiled for their size.
// Every walk checks each link it follows (an index inside the pool, the
// node's prefixlen, strictly above its parent's and at most the maximum), so a
// walk is at most max_prefixlen + 1 nodes deep and a crafted region can neither
// crash nor hang one: a broken link answers EINVAL. Attach checks the
// geometry and walks the whole trie (bounded by the pool size). A writer that
// finds the lock's previous holder dead rebuilds the free list and n_entries
// from the nodes reachable from the root (Repair).

#ifndef BPFEMU_EMU_LPM_TRIE_H_
#define BPFEMU_EMU_LPM_TRIE_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"
#include "emu/version.h"

namespace bpfemu {

class LpmTrieMap final : public Map {
 public:
  static const MapOps kOps;

  // The pool's upper bound (bytes) in nodes of the 32-bit-link layout,
  // whose header was kLinkGrowth bytes smaller; see the file comment.
  static constexpr uint64_t kMaxPoolBytes = uint64_t{256} << 20;
  static constexpr uint64_t kLinkGrowth = 8;
  // The pool's node count for these attributes (2 * max_entries, capped).
  static uint32_t PoolNodesFor(const MapAttr& attr) {
    return GeometryFor(attr).pool_nodes;
  }

  // No map_alloc_check: trie_alloc()'s attribute checks, run by Alloc.
  static int AllocCheck(const MapAttr& attr);
  // trie_alloc()'s checks; the value_size bound uses the node size of
  // kernel `v`'s build profile.
  static int CheckAttr(const MapAttr& attr, KernelVersion v);

  // trie_mem_usage().
  uint64_t MemUsage(const BuildProfile& build) const override;

  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  void* LookupElemProg(const void* key) override;

  // generic_map_{lookup,update,delete}_batch, as trie_map_ops names them.
  [[nodiscard]] int LookupBatch(BatchArgs& args) override {
    return GenericLookupBatch(args);
  }
  [[nodiscard]] int UpdateBatch(BatchArgs& args) override {
    return GenericUpdateBatch(args);
  }
  [[nodiscard]] int DeleteBatch(BatchArgs& args) override {
    return GenericDeleteBatch(args);
  }

  // For tests: the entries counted and the nodes linked (leaves and
  // intermediates), read under the lock.
  uint32_t EntriesForTest();
  uint32_t NodesForTest();

 private:
  struct LpmBody {
    ShmMutex lock;
    uint32_t seq;        // odd while a writer changes the trie
    uint32_t n_entries;  // non-intermediate nodes
    uint32_t pool_nodes;
    uint32_t fresh;      // nodes [0, fresh) have been handed out
    uint32_t free_head;  // index + 1 of the first free node
    uint64_t root;       // a link (MakeLink), 0: empty
    uint32_t format;     // kFormat
    uint32_t free_tail;  // index + 1 of the last free node (0: none)
  };
  // The body's format: 3, links carry the child's prefixlen and the free
  // list is a FIFO with a tail. Bodies of earlier builds have 0 (32-bit
  // links, the body's unused tail) or 2 (a LIFO free list, no tail) here.
  static constexpr uint32_t kFormat = 3;
  static_assert(sizeof(LpmBody) <= 64);
  struct Node {
    uint64_t link[2];  // the children's links; link[0] chains free nodes
    uint32_t prefixlen;
    uint32_t flags;
  };
  static uint64_t MakeLink(uint32_t ref, uint32_t prefixlen) {
    return ref | uint64_t{prefixlen} << 32;
  }
  static uint32_t RefOf(uint64_t link) { return static_cast<uint32_t>(link); }
  static uint32_t LenOf(uint64_t link) {
    return static_cast<uint32_t>(link >> 32);
  }
  struct Geometry {
    uint32_t data_size;
    uint32_t max_prefixlen;
    uint64_t value_off;  // within a node
    uint64_t node_size;
    uint32_t pool_nodes;
    uint64_t region_size;
  };
  static Geometry GeometryFor(const MapAttr& attr);

  LpmTrieMap(ShmRegion region, const Geometry& g);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  Node* At(uint32_t ref) const {
    return reinterpret_cast<Node*>(pool_ + uint64_t{ref - 1} * g_.node_size);
  }
  uint8_t* Data(Node* n) const {
    return reinterpret_cast<uint8_t*>(n) + sizeof(Node);
  }
  uint8_t* Value(Node* n) const {
    return reinterpret_cast<uint8_t*>(n) + g_.value_off;
  }
  static uint32_t Load(const uint32_t& v) {
    return __atomic_load_n(&v, __ATOMIC_RELAXED);
  }
  static void Store(uint32_t& v, uint32_t x) {
    __atomic_store_n(&v, x, __ATOMIC_RELAXED);
  }
  // Links are 64-bit: LoadLink / StoreLink, never a truncating Load.
  static uint32_t Load(const uint64_t& v) = delete;
  static void Store(uint64_t& v, uint64_t x) = delete;
  static uint64_t LoadLink(const uint64_t& v) {
    return __atomic_load_n(&v, __ATOMIC_RELAXED);
  }
  static void StoreLink(uint64_t& v, uint64_t x) {
    __atomic_store_n(&v, x, __ATOMIC_RELAXED);
  }
  // Links a node (filled before) into the trie for lock-free readers.
  static void PublishLink(uint64_t& v, uint64_t x) {
    __atomic_store_n(&v, x, __ATOMIC_RELEASE);
  }
  // The node `link` names as a child of a node of prefixlen `parent_len`
  // (-1: the root), or nullptr with *bad set when the link is broken.
  Node* Follow(uint64_t link, int64_t parent_len, bool* bad) const;
  uint32_t MatchLen(Node* n, uint32_t node_len, const uint8_t* key_data,
                    uint32_t key_len) const;

  // Runs `fn` (returns 0 or a negative errno, -EAGAIN for "broken link")
  // until it ran with the trie stable: under an even, unchanged sequence
  // (retried), else under the lock (a writable mapping) or EBUSY (a
  // read-only one whose writer died). A broken link seen with the trie
  // stable is EINVAL. `fn` may run several times and must only write its
  // own outputs.
  template <typename F>
  int ReadStable(F fn);
  // One run of `fn` under the sequence: false when it was odd or moved.
  template <typename F>
  bool ReadOnce(F& fn, int* ret) const;
  template <typename F>
  int ReadSlow(F& fn);

  // The lookup walk for data of kDataSize bytes (0: any size, g_.data_size):
  // the longest matching non-intermediate node's ref, 0 if none, kBroken
  // for a broken link.
  static constexpr uint32_t kBroken = ~uint32_t{0};
  template <uint32_t kDataSize>
  uint32_t FindLongest(const uint8_t* key) const;
  uint32_t FindLongestAny(const uint8_t* key) const;
  template <uint32_t kDataSize>
  void* LookupProg(const uint8_t* key);
  // The FindLongest specialization for a data size: 4, 8, 16 or 0.
  static uint32_t WalkSizeFor(uint32_t data_size) {
    return data_size == 4 || data_size == 8 || data_size == 16 ? data_size : 0;
  }
  // Takes the lock, repairing after a dead holder, with the sequence odd
  // around `fn`.
  template <typename F>
  int Write(F fn);
  void Repair();

  // The walks, called with the trie stable.
  int NextKeyWalk(const uint8_t* key, uint8_t* next_key) const;
  int UpdateLocked(const uint8_t* key, const void* value, uint64_t flags);
  int DeleteLocked(const uint8_t* key);
  uint32_t AllocNode();
  // A node unlinked from the trie (readers may still hold it): to the tail.
  void FreeNode(uint32_t ref);
  // A node AllocNode just handed out and never linked: back where it came
  // from (the fresh range or the head of the free list).
  void UnallocNode(uint32_t ref);
  int ValidateTree() const;

  LpmBody* body_;
  uint8_t* pool_;
  Geometry g_;
  uint32_t walk_size_;  // WalkSizeFor(g_.data_size)
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_LPM_TRIE_H_
