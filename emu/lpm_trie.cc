// SPDX-License-Identifier: Apache-2.0
#include "emu/lpm_trie.h"

#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "emu/build_profile.h"
#include "emu/errno.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

// LPM_CREATE_FLAG_MASK, LPM_DATA_SIZE_{MIN,MAX}, LPM_TREE_NODE_FLAG_IM.
constexpr uint32_t kLpmCreateFlagMask =
    BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | kBpfFAccessMask;
constexpr uint32_t kDataSizeMin = 1;
constexpr uint32_t kDataSizeMax = 256;
constexpr uint32_t kPrefixLenSize = 4;  // struct bpf_lpm_trie_key_u8
constexpr uint32_t kFlagIm = 1;

uint32_t KeyPrefixLen(const uint8_t* key) {
  uint32_t len;
  std::memcpy(&len, key, sizeof(len));
  return len;
}

// Bit `index` of big-endian data, most significant bit first.
uint32_t ExtractBit(const uint8_t* data, uint32_t index) {
  return (data[index / 8] >> (7 - index % 8)) & 1;
}

// The 8 bytes of map memory at `p` (8-byte aligned: a node's data slot is
// padded to 8) as a big-endian word: bit 0 of the data is bit 63.
inline uint64_t MapWordBe(const uint8_t* p) {
  return __builtin_bswap64(
      __atomic_load_n(reinterpret_cast<const uint64_t*>(p), __ATOMIC_RELAXED));
}

// Word `i` of a caller's key data of `size` bytes the same way, zero past
// `size` (the caller's buffer ends there).
inline uint64_t KeyWordBe(const uint8_t* data, uint32_t size, uint32_t i) {
  uint8_t buf[8] = {};
  std::memcpy(buf, data + 8 * i, std::min<uint32_t>(8, size - 8 * i));
  uint64_t w;
  std::memcpy(&w, buf, 8);
  return __builtin_bswap64(w);
}

// Walks of a sequence that stays odd or keeps moving before a reader of a
// writable mapping takes the lock instead.
constexpr int kLockFreeRetries = 1024;

}  // namespace

const MapOps LpmTrieMap::kOps = {&LpmTrieMap::AllocCheck, &LpmTrieMap::Alloc,
                                 &LpmTrieMap::Attach};

int LpmTrieMap::AllocCheck(const MapAttr& /*attr*/) {
  // 6.1's trie_alloc() asks for CAP_BPF before looking at the attributes;
  // later kernels ask in map_create(), which the syscall layer mirrors.
  if (TargetKernel() == KernelVersion::k6_1 && !CallerPrivileged()) {
    return -EPERM;
  }
  return 0;
}

int LpmTrieMap::CheckAttr(const MapAttr& attr, KernelVersion v) {
  const uint32_t f = attr.map_flags;
  const uint64_t node = BuildProfileFor(v).lpm_node;
  const uint64_t value_max = kKmallocMaxSize - kDataSizeMax - node;
  if (attr.max_entries == 0 || !(f & BPF_F_NO_PREALLOC) ||
      (f & ~kLpmCreateFlagMask) != 0 ||
      (f & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) ==
          (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG) ||
      attr.key_size < kPrefixLenSize + kDataSizeMin ||
      attr.key_size > kPrefixLenSize + kDataSizeMax || attr.value_size == 0 ||
      attr.value_size > value_max) {
    return -EINVAL;
  }
  return 0;
}

LpmTrieMap::Geometry LpmTrieMap::GeometryFor(const MapAttr& attr) {
  Geometry g;
  g.data_size = attr.key_size - kPrefixLenSize;
  g.max_prefixlen = g.data_size * 8;
  g.value_off = sizeof(Node) + RoundUp(g.data_size, 8);
  g.node_size = g.value_off + RoundUp(attr.value_size, 8);
  const uint64_t wanted = uint64_t{attr.max_entries} * 2;
  // Counted in nodes of the 32-bit-link layout (kLinkGrowth bytes smaller),
  // so the 64-bit links did not lower the number of nodes a trie can hold.
  const uint64_t cap =
      std::max<uint64_t>(2, kMaxPoolBytes / (g.node_size - kLinkGrowth));
  g.pool_nodes = static_cast<uint32_t>(std::min(wanted, cap));
  g.region_size = kBodyOffset + RoundUp(sizeof(LpmBody), 64) +
                  uint64_t{g.pool_nodes} * g.node_size;
  return g;
}

LpmTrieMap::LpmTrieMap(ShmRegion region, const Geometry& g)
    : Map(std::move(region)), g_(g), walk_size_(WalkSizeFor(g.data_size)) {
  body_ = this->region().At<LpmBody>(kBodyOffset);
  pool_ =
      this->region().At<uint8_t>(kBodyOffset + RoundUp(sizeof(LpmBody), 64));
}

int LpmTrieMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                      std::unique_ptr<Map>* out) {
  if (int err = CheckAttr(attr, TargetKernel()); err != 0) return err;
  const Geometry g = GeometryFor(attr);
  ShmRegion region;
  int map_fd;
  // Nodes come one by one at update time, as the kernel allocates them: the
  // pool's pages are backed as AllocNode first hands each node out
  // (docs/reliability.md).
  const uint64_t reserve = kBodyOffset + RoundUp(sizeof(LpmBody), 64);
  if (int err = ShmRegion::Create("bpfemu-lpm-trie", g.region_size, &map_fd,
                                  &region, /*mirror_tail=*/0, reserve);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, g.region_size,
             region.At<MapHeader>(0));
  auto* body = new (region.At<void>(kBodyOffset)) LpmBody{};
  body->pool_nodes = g.pool_nodes;
  body->format = kFormat;
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new LpmTrieMap(std::move(region), g));
  return 0;
}

int LpmTrieMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  const Geometry placeholder{};
  auto map = std::unique_ptr<LpmTrieMap>(
      new LpmTrieMap(std::move(region), placeholder));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapAttr attr = AttrFromHeader(map->header());
  // The bound of the kernel the map was made for, not this process's.
  if (CheckAttr(attr, map->kernel_version()) != 0) return -EINVAL;
  map->g_ = GeometryFor(attr);
  map->walk_size_ = WalkSizeFor(map->g_.data_size);
  const LpmBody& b = *map->body_;
  if (map->header().region_size != map->g_.region_size ||
      Load(b.format) != kFormat || Load(b.pool_nodes) != map->g_.pool_nodes ||
      Load(b.fresh) > map->g_.pool_nodes ||
      Load(b.free_head) > map->g_.pool_nodes ||
      Load(b.free_tail) > map->g_.pool_nodes ||
      RefOf(LoadLink(b.root)) > map->g_.pool_nodes) {
    return -EINVAL;
  }
  if (int err = map->ReadStable([&] { return map->ValidateTree(); });
      err != 0) {
    return err == -EBUSY ? err : -EINVAL;
  }
  *out = std::move(map);
  return 0;
}

uint64_t LpmTrieMap::MemUsage(const BuildProfile& build) const {
  const uint64_t elem =
      uint64_t{build.lpm_node} + g_.data_size + uint64_t{value_size()};
  return elem * Load(body_->n_entries);
}

LpmTrieMap::Node* LpmTrieMap::Follow(uint64_t link, int64_t parent_len,
                                     bool* bad) const {
  const uint32_t ref = RefOf(link);
  if (ref == 0 || ref > g_.pool_nodes) {
    *bad = true;
    return nullptr;
  }
  Node* n = At(ref);
  const uint32_t len = Load(n->prefixlen);
  if (len != LenOf(link) || len > g_.max_prefixlen ||
      int64_t{len} <= parent_len) {
    *bad = true;
    return nullptr;
  }
  return n;
}

// __longest_prefix_match(): the leading bits `n` and the key share, capped
// at min(node_len, key_len), compared 64 bits at a time. Bits past data_size
// (the node's padding, the key's zero fill) lie past the cap.
uint32_t LpmTrieMap::MatchLen(Node* n, uint32_t node_len,
                              const uint8_t* key_data, uint32_t key_len) const {
  const uint32_t limit = std::min(node_len, key_len);
  const uint8_t* data = Data(n);
  for (uint32_t i = 0, bit = 0; bit < limit; ++i, bit += 64) {
    const uint64_t diff =
        MapWordBe(data + 8 * i) ^ KeyWordBe(key_data, g_.data_size, i);
    if (diff != 0) {
      return std::min(bit + static_cast<uint32_t>(__builtin_clzll(diff)),
                      limit);
    }
  }
  return limit;
}

template <typename F>
[[gnu::always_inline]] inline bool LpmTrieMap::ReadOnce(F& fn, int* ret) const {
  const uint32_t s1 = __atomic_load_n(&body_->seq, __ATOMIC_ACQUIRE);
  if (s1 & 1) return false;
  const int r = fn();
  std::atomic_thread_fence(std::memory_order_acquire);
  if (Load(body_->seq) != s1) return false;
  *ret = r == -EAGAIN ? -EINVAL : r;
  return true;
}

template <typename F>
[[gnu::always_inline]] inline int LpmTrieMap::ReadStable(F fn) {
  int ret;
  if (ReadOnce(fn, &ret)) [[likely]] {
    return ret;
  }
  return ReadSlow(fn);
}

template <typename F>
[[gnu::noinline]] int LpmTrieMap::ReadSlow(F& fn) {
  int ret;
  if (read_only()) {
    // No lock to take: wait for the writer, EBUSY if it died.
    ReadOnlyWait wait;
    for (;;) {
      if (!wait.Next(body_->lock.holder())) return -EBUSY;
      if (ReadOnce(fn, &ret)) return ret;
    }
  }
  for (int attempt = 0; attempt < kLockFreeRetries; ++attempt) {
    __builtin_ia32_pause();
    if (ReadOnce(fn, &ret)) return ret;
  }
  // A writer inside its change for that long, or dead there: the lock
  // waits for it, or repairs after it.
  ShmMutexLock l(&body_->lock);
  if (l.recovered()) Repair();
  ret = fn();
  return ret == -EAGAIN ? -EINVAL : ret;
}

template <typename F>
int LpmTrieMap::Write(F fn) {
  ShmMutexLock l(&body_->lock);
  if (l.recovered()) Repair();
  __atomic_store_n(&body_->seq, Load(body_->seq) | 1, __ATOMIC_RELAXED);
  std::atomic_thread_fence(std::memory_order_release);
  const int ret = fn();
  __atomic_store_n(&body_->seq, Load(body_->seq) + 1, __ATOMIC_RELEASE);
  return ret == -EAGAIN ? -EINVAL : ret;
}

// A writer died holding the lock: its change may be half done. The trie it
// leaves is always walkable (a node is filled before it is linked and freed
// after it is unlinked), so the nodes reachable from the root are the trie;
// every other node handed out is free. Links a walk would refuse are cut.
// The sequence is odd while it works (readers take no lock) and ends one
// above where it started or where the dead writer left it, never back at a
// value a reader may have read before the dead writer's change.
void LpmTrieMap::Repair() {
  __atomic_store_n(&body_->seq, Load(body_->seq) | 1, __ATOMIC_RELAXED);
  std::atomic_thread_fence(std::memory_order_release);
  const uint32_t pool = g_.pool_nodes;
  std::vector<uint8_t> seen(pool, 0);
  struct Item {
    uint64_t* slot;
    int64_t parent_len;
  };
  std::vector<Item> stack{{&body_->root, -1}};
  uint32_t entries = 0, high = 0;
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    const uint64_t link = LoadLink(*it.slot);
    const uint32_t ref = RefOf(link);
    if (ref == 0) continue;
    bool bad = false;
    Node* n = Follow(link, it.parent_len, &bad);
    if (bad || seen[ref - 1]) {
      StoreLink(*it.slot, 0);
      continue;
    }
    seen[ref - 1] = 1;
    high = std::max(high, ref);
    if (!(Load(n->flags) & kFlagIm)) ++entries;
    stack.push_back({&n->link[0], LenOf(link)});
    stack.push_back({&n->link[1], LenOf(link)});
  }
  const uint32_t fresh = std::max(std::min(Load(body_->fresh), pool), high);
  uint32_t head = 0, tail = 0;
  for (uint32_t i = fresh; i > 0; --i) {
    if (seen[i - 1]) continue;
    StoreLink(At(i)->link[0], head);
    head = i;
    if (tail == 0) tail = i;
  }
  Store(body_->fresh, fresh);
  Store(body_->free_head, head);
  Store(body_->free_tail, tail);
  Store(body_->n_entries, entries);
  __atomic_store_n(&body_->seq, Load(body_->seq) + 1, __ATOMIC_RELEASE);
}

int LpmTrieMap::ValidateTree() const {
  std::vector<uint8_t> seen(g_.pool_nodes, 0);
  struct Item {
    uint64_t link;
    int64_t parent_len;
  };
  std::vector<Item> stack;
  if (const uint64_t root = LoadLink(body_->root); RefOf(root) != 0) {
    stack.push_back({root, -1});
  }
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    bool bad = false;
    Node* n = Follow(it.link, it.parent_len, &bad);
    if (bad || seen[RefOf(it.link) - 1]) return -EAGAIN;
    seen[RefOf(it.link) - 1] = 1;
    for (uint64_t& c : n->link) {
      if (const uint64_t link = LoadLink(c); RefOf(link) != 0) {
        stack.push_back({link, LenOf(it.link)});
      }
    }
  }
  return 0;
}

// Never-used nodes first, then the free list's head (the node freed longest
// ago): see "Reuse" in lpm_trie.h.
uint32_t LpmTrieMap::AllocNode() {
  const uint32_t fresh = Load(body_->fresh);
  if (fresh >= g_.pool_nodes) {
    const uint32_t ref = Load(body_->free_head);
    if (ref != 0 && ref <= g_.pool_nodes) {
      const uint32_t next = RefOf(LoadLink(At(ref)->link[0]));
      Store(body_->free_head, next);
      if (next == 0 || ref == Load(body_->free_tail)) {
        Store(body_->free_head, 0);
        Store(body_->free_tail, 0);
      }
      return ref;
    }
    Store(body_->free_head, 0);  // a corrupted chain is dropped
    Store(body_->free_tail, 0);
    return 0;
  }
  // The pool is created unbacked (the kernel allocates nodes per update):
  // a never-used node's pages are backed before it is handed out, and a
  // storage that cannot back them is the kernel's failed allocation
  // (ENOMEM from the caller), never a SIGBUS at the first store.
  const auto pool_off = static_cast<uint64_t>(pool_ - region().base());
  if (region().PopulateSlot(pool_off, g_.node_size, fresh) != 0) return 0;
  Store(body_->fresh, fresh + 1);
  return fresh + 1;
}

void LpmTrieMap::FreeNode(uint32_t ref) {
  StoreLink(At(ref)->link[0], 0);
  const uint32_t tail = Load(body_->free_tail);
  if (tail != 0 && tail <= g_.pool_nodes && Load(body_->free_head) != 0) {
    StoreLink(At(tail)->link[0], ref);
  } else {
    Store(body_->free_head, ref);  // empty (or a corrupted chain, dropped)
  }
  Store(body_->free_tail, ref);
}

void LpmTrieMap::UnallocNode(uint32_t ref) {
  if (ref == Load(body_->fresh)) {
    Store(body_->fresh, ref - 1);  // its pages stay backed for the next use
    return;
  }
  const uint32_t head = Load(body_->free_head);
  StoreLink(At(ref)->link[0], head);
  Store(body_->free_head, ref);
  if (head == 0) Store(body_->free_tail, ref);
}

// trie_lookup_elem(): the walk down from the root, one node per stored
// prefix length on the key's path. The key's data is read once into
// big-endian words (kw). A link holds the child's prefixlen beside its
// index, so one load gives both the next node's address and the key bit to
// test there: the dependent loads per node are its link and its data word.
// Each link is checked as Follow checks it (inside the pool, the node's own
// prefixlen, longer than its parent's, at most the maximum), so a walk ends
// within max_prefixlen + 1 nodes even on a crafted or changing region.
template <uint32_t kDataSize>
[[gnu::always_inline]] inline uint32_t LpmTrieMap::FindLongest(
    const uint8_t* key) const {
  constexpr uint32_t kMaxWords =
      kDataSize != 0 ? (kDataSize + 7) / 8 : kDataSizeMax / 8;
  const uint32_t data_size = kDataSize != 0 ? kDataSize : g_.data_size;
  const uint32_t max_len = data_size * 8;
  const uint32_t key_len = KeyPrefixLen(key);
  if (key_len > max_len) return 0;
  const uint8_t* key_data = key + kPrefixLenSize;
  uint64_t kw[kMaxWords];
  const uint32_t words = (data_size + 7) / 8;
  for (uint32_t i = 0; i < words; ++i)
    kw[i] = KeyWordBe(key_data, data_size, i);
  // The geometry in locals: the compiler would re-read the members after
  // every atomic load.
  const uint8_t* const pool = pool_;
  const uint64_t node_size = g_.node_size;
  const uint32_t pool_nodes = g_.pool_nodes;
  uint32_t found = 0, min_len = 0;
  for (uint64_t link = LoadLink(body_->root);;) {
    const uint32_t ref = RefOf(link), len = LenOf(link);
    if (ref == 0) break;
    if (ref - 1 >= pool_nodes || len > max_len || len < min_len) {
      return kBroken;
    }
    const auto* n =
        reinterpret_cast<const Node*>(pool + uint64_t{ref - 1} * node_size);
    if (Load(n->prefixlen) != len) return kBroken;
    // __longest_prefix_match(), a word at a time.
    const uint32_t limit = std::min(len, key_len);
    const uint8_t* data = reinterpret_cast<const uint8_t*>(n) + sizeof(Node);
    uint32_t match = limit;
    for (uint32_t i = 0, bit = 0; bit < limit; ++i, bit += 64) {
      const uint64_t diff = MapWordBe(data + 8 * i) ^ kw[i];
      if (diff != 0) {
        match =
            std::min(bit + static_cast<uint32_t>(__builtin_clzll(diff)), limit);
        break;
      }
    }
    if (match == max_len) return ref;
    if (match < len) break;
    if (!(Load(n->flags) & kFlagIm)) found = ref;
    min_len = len + 1;
    // extract_bit(key, len): len < max_len here (match == len, not the
    // maximum), so the word exists.
    const uint64_t word = kMaxWords == 1 ? kw[0] : kw[len / 64];
    link = LoadLink(n->link[(word >> (63 - len % 64)) & 1]);
  }
  return found;
}

uint32_t LpmTrieMap::FindLongestAny(const uint8_t* key) const {
  switch (walk_size_) {
    case 4:
      return FindLongest<4>(key);
    case 8:
      return FindLongest<8>(key);
    case 16:
      return FindLongest<16>(key);
    default:
      return FindLongest<0>(key);
  }
}

int LpmTrieMap::LookupElem(const void* key, void* value, uint64_t /*flags*/) {
  const auto* k = static_cast<const uint8_t*>(key);
  const uint32_t size = value_size();
  // The value is copied under the sequence into a buffer of this call's, so
  // a walk that must be retried leaves the caller's untouched (the kernel
  // copies to the user only once the lookup succeeded).
  alignas(8) uint8_t small[256];
  std::vector<uint8_t> large;
  uint8_t* copy = small;
  if (size > sizeof(small)) {
    large.resize(size);
    copy = large.data();
  }
  const int ret = ReadStable([&] {
    const uint32_t found = FindLongestAny(k);
    if (found == kBroken) return -EAGAIN;
    if (found == 0) return -ENOENT;
    CopyFromMap(copy, Value(At(found)), size);
    return 0;
  });
  if (ret == 0) std::memcpy(value, copy, size);
  return ret;
}

template <uint32_t kDataSize>
void* LpmTrieMap::LookupProg(const uint8_t* key) {
  uint32_t found = 0;
  const int ret = ReadStable([&] {
    found = FindLongest<kDataSize>(key);
    return found == kBroken ? -EAGAIN : 0;
  });
  return ret == 0 && found != 0 ? Value(At(found)) : nullptr;
}

// The value in place, as trie_lookup_elem returns it.
void* LpmTrieMap::LookupElemProg(const void* key) {
  const auto* k = static_cast<const uint8_t*>(key);
  switch (walk_size_) {
    case 4:
      return LookupProg<4>(k);
    case 8:
      return LookupProg<8>(k);
    case 16:
      return LookupProg<16>(k);
    default:
      return LookupProg<0>(k);
  }
}

int LpmTrieMap::UpdateElem(const void* key, const void* value, uint64_t flags) {
  if (flags > BPF_EXIST) return -EINVAL;
  const auto* k = static_cast<const uint8_t*>(key);
  if (KeyPrefixLen(k) > g_.max_prefixlen) return -EINVAL;
  return Write([&] { return UpdateLocked(k, value, flags); });
}

// trie_update_elem() under the lock.
int LpmTrieMap::UpdateLocked(const uint8_t* key, const void* value,
                             uint64_t flags) {
  const uint32_t key_len = KeyPrefixLen(key);
  const uint8_t* key_data = key + kPrefixLenSize;
  const uint32_t fresh = AllocNode();
  if (fresh == 0) return -ENOMEM;
  Node* nn = At(fresh);
  StoreLink(nn->link[0], 0);
  StoreLink(nn->link[1], 0);
  Store(nn->prefixlen, key_len);
  Store(nn->flags, 0);
  CopyToMap(Data(nn), key_data, g_.data_size);
  CopyToMap(Value(nn), value, value_size());

  // trie_check_add_elem().
  auto add = [&]() -> int {
    if (flags == BPF_EXIST) return -ENOENT;
    if (Load(body_->n_entries) == max_entries()) return -ENOSPC;
    Store(body_->n_entries, Load(body_->n_entries) + 1);
    return 0;
  };
  auto fail = [&](int err) {
    UnallocNode(fresh);
    return err;
  };

  const uint64_t fresh_link = MakeLink(fresh, key_len);
  uint64_t* slot = &body_->root;
  Node* node = nullptr;
  uint64_t link = 0;
  uint32_t ref = 0, len = 0, match = 0;
  int64_t parent_len = -1;
  while ((ref = RefOf(link = LoadLink(*slot))) != 0) {
    bool bad = false;
    node = Follow(link, parent_len, &bad);
    if (bad) return fail(-EAGAIN);
    len = LenOf(link);  // Follow checked it against the node
    match = MatchLen(node, len, key_data, key_len);
    if (len != match || len == key_len || len == g_.max_prefixlen) break;
    parent_len = len;
    slot = &node->link[ExtractBit(key_data, len)];
  }

  if (ref == 0) {
    if (int err = add(); err != 0) return fail(err);
    LockPointReached(LockPoint::kTrieChange);  // counted, not linked
    PublishLink(*slot, fresh_link);
    return 0;
  }

  if (len == match) {  // the same prefix: replace the node
    if (!(Load(node->flags) & kFlagIm)) {
      if (flags == BPF_NOEXIST) return fail(-EEXIST);
    } else if (int err = add(); err != 0) {
      return fail(err);
    }
    StoreLink(nn->link[0], LoadLink(node->link[0]));
    StoreLink(nn->link[1], LoadLink(node->link[1]));
    PublishLink(*slot, fresh_link);
    FreeNode(ref);
    return 0;
  }

  if (int err = add(); err != 0) return fail(err);

  if (match == key_len) {  // the new prefix is an ancestor of `node`
    StoreLink(nn->link[ExtractBit(Data(node), match)], link);
    PublishLink(*slot, fresh_link);
    return 0;
  }

  const uint32_t im_ref = AllocNode();
  if (im_ref == 0) {
    Store(body_->n_entries, Load(body_->n_entries) - 1);
    return fail(-ENOMEM);
  }
  Node* im = At(im_ref);
  Store(im->prefixlen, match);
  Store(im->flags, kFlagIm);
  std::vector<uint8_t> data(g_.data_size);
  CopyFromMap(data.data(), Data(node), g_.data_size);
  CopyToMap(Data(im), data.data(), g_.data_size);
  const uint32_t bit = ExtractBit(key_data, match);
  StoreLink(im->link[bit], fresh_link);
  StoreLink(im->link[bit ^ 1], link);
  PublishLink(*slot, MakeLink(im_ref, match));
  return 0;
}

int LpmTrieMap::DeleteElem(const void* key) {
  const auto* k = static_cast<const uint8_t*>(key);
  if (KeyPrefixLen(k) > g_.max_prefixlen) return -EINVAL;
  return Write([&] { return DeleteLocked(k); });
}

// trie_delete_elem() under the lock.
int LpmTrieMap::DeleteLocked(const uint8_t* key) {
  const uint32_t key_len = KeyPrefixLen(key);
  const uint8_t* key_data = key + kPrefixLenSize;
  uint64_t* trim = &body_->root;
  uint64_t* trim2 = trim;
  uint32_t parent = 0, ref = 0, len = 0, match = 0;
  Node* node = nullptr;
  int64_t parent_len = -1;
  uint64_t link;
  while ((ref = RefOf(link = LoadLink(*trim))) != 0) {
    bool bad = false;
    node = Follow(link, parent_len, &bad);
    if (bad) return -EAGAIN;
    len = LenOf(link);  // Follow checked it against the node
    match = MatchLen(node, len, key_data, key_len);
    if (len != match || len == key_len) break;
    parent = ref;
    trim2 = trim;
    parent_len = len;
    trim = &node->link[ExtractBit(key_data, len)];
  }
  if (ref == 0 || len != key_len || len != match ||
      (Load(node->flags) & kFlagIm)) {
    return -ENOENT;
  }
  Store(body_->n_entries, Load(body_->n_entries) - 1);
  LockPointReached(LockPoint::kTrieChange);  // uncounted, still linked

  const uint64_t c0 = LoadLink(node->link[0]), c1 = LoadLink(node->link[1]);
  const bool has0 = RefOf(c0) != 0, has1 = RefOf(c1) != 0;
  if (has0 && has1) {  // keeps its place as an intermediate node
    Store(node->flags, Load(node->flags) | kFlagIm);
    return 0;
  }
  if (parent != 0 && (Load(At(parent)->flags) & kFlagIm) && !has0 && !has1) {
    // The intermediate parent goes too; its other child takes its place.
    Node* p = At(parent);
    const uint64_t other = RefOf(LoadLink(p->link[0])) == ref
                               ? LoadLink(p->link[1])
                               : LoadLink(p->link[0]);
    PublishLink(*trim2, other);
    FreeNode(parent);
    FreeNode(ref);
    return 0;
  }
  PublishLink(*trim, has0 ? c0 : has1 ? c1 : 0);
  FreeNode(ref);
  return 0;
}

int LpmTrieMap::GetNextKey(const void* key, void* next_key) {
  std::vector<uint8_t> out(key_size());
  const int ret = ReadStable([&] {
    return NextKeyWalk(static_cast<const uint8_t*>(key), out.data());
  });
  if (ret == 0) std::memcpy(next_key, out.data(), key_size());
  return ret;
}

// trie_get_next_key(): post-order successor of the exact node `key` names;
// the first node in post-order when `key` is NULL, too long or absent.
int LpmTrieMap::NextKeyWalk(const uint8_t* key, uint8_t* next_key) const {
  uint64_t search_root = LoadLink(body_->root);
  if (RefOf(search_root) == 0) return -ENOENT;
  int64_t search_parent_len = -1;
  uint32_t next = 0;

  if (key != nullptr && KeyPrefixLen(key) <= g_.max_prefixlen) {
    const uint32_t key_len = KeyPrefixLen(key);
    const uint8_t* key_data = key + kPrefixLenSize;
    // The links of the path from the root (their lengths checked by
    // Follow); at most max_prefixlen + 1 nodes, since each link Follow
    // accepts lengthens the prefix.
    std::vector<uint64_t> path;
    path.reserve(g_.max_prefixlen + 1);
    uint64_t link = search_root;
    uint32_t len = 0, match = 0;
    Node* node = nullptr;
    int64_t parent_len = -1;
    while (RefOf(link) != 0) {
      bool bad = false;
      node = Follow(link, parent_len, &bad);
      if (bad) return -EAGAIN;
      path.push_back(link);
      len = LenOf(link);  // Follow checked it against the node
      match = MatchLen(node, len, key_data, key_len);
      if (len != match || len == key_len) break;
      parent_len = len;
      link = LoadLink(node->link[ExtractBit(key_data, len)]);
    }
    const uint32_t ref = RefOf(link);
    if (ref != 0 && len == match && !(Load(node->flags) & kFlagIm)) {
      // Climb until a parent has an unvisited right subtree or is itself
      // a real node.
      uint32_t cur = RefOf(path.back());
      size_t depth = path.size() - 1;
      bool found = false;
      while (depth > 0) {
        const uint64_t up = path[depth - 1];
        Node* p = At(RefOf(up));
        if (RefOf(LoadLink(p->link[0])) == cur) {
          const uint64_t right = LoadLink(p->link[1]);
          if (RefOf(right) != 0) {
            search_root = right;
            search_parent_len = LenOf(up);
            found = true;
            break;
          }
        }
        if (!(Load(p->flags) & kFlagIm)) {
          next = RefOf(up);
          break;
        }
        cur = RefOf(up);
        --depth;
      }
      if (next == 0 && !found) return -ENOENT;
    }
  }

  if (next == 0) {
    // The leftmost non-intermediate node below search_root.
    int64_t parent_len = search_parent_len;
    for (uint64_t link = search_root; RefOf(link) != 0;) {
      bool bad = false;
      Node* n = Follow(link, parent_len, &bad);
      if (bad) return -EAGAIN;
      parent_len = LenOf(link);  // Follow checked it against the node
      if (Load(n->flags) & kFlagIm) {
        link = LoadLink(n->link[0]);
      } else {
        next = RefOf(link);
        link = LoadLink(n->link[0]);
        if (RefOf(link) == 0) link = LoadLink(n->link[1]);
      }
    }
    if (next == 0) return -EAGAIN;  // an intermediate node without children
  }
  Node* n = At(next);
  const uint32_t len = Load(n->prefixlen);
  std::memcpy(next_key, &len, sizeof(len));
  CopyFromMap(next_key + kPrefixLenSize, Data(n), g_.data_size);
  return 0;
}

uint32_t LpmTrieMap::EntriesForTest() {
  ShmMutexLock l(&body_->lock);
  return Load(body_->n_entries);
}

uint32_t LpmTrieMap::NodesForTest() {
  ShmMutexLock l(&body_->lock);
  uint32_t count = 0;
  std::vector<uint32_t> stack;
  if (RefOf(body_->root) != 0) stack.push_back(RefOf(body_->root));
  while (!stack.empty() && count <= g_.pool_nodes) {
    Node* n = At(stack.back());
    stack.pop_back();
    ++count;
    for (uint64_t c : n->link) {
      if (RefOf(c) != 0) stack.push_back(RefOf(c));
    }
  }
  return count;
}

}  // namespace bpfemu
