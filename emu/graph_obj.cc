// SPDX-License-Identifier: Apache-2.0
// File: graph_obj.cc
//
// Allocated objects, linked lists and rbtrees (graph_obj.h). Mirrors
// kernel/bpf/helpers.c bpf_obj_new_impl, __bpf_obj_drop_impl,
// __bpf_list_add, __bpf_list_del, __bpf_rbtree_add, bpf_rbtree_remove,
// bpf_rbtree_first and bpf_list_head_free / bpf_rb_root_free, in bpfemu's
// own words and with checks in place of the verifier's guarantees.

#include "emu/graph_obj.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace bpfemu::graph {
namespace {

// What the kernel's verifier lets bpf_obj_new allocate is a BTF struct;
// KMALLOC_MAX_CACHE_SIZE bounds bpf_mem_alloc's sizes.
constexpr uint64_t kMaxObjSize = uint64_t{1} << 20;

struct Link {
  Link* next;
  Link* prev;
};
struct ListNode {
  Link link;
  void* owner;
};
static_assert(sizeof(Link) == kListHeadSize);
static_assert(sizeof(ListNode) == kListNodeSize);

// The parent pointer carries the node's colour in bit 0 (1: black), as
// lib/rbtree.c's __rb_parent_color does.
struct RbNode {
  uintptr_t parent_color;
  RbNode* right;
  RbNode* left;
  void* owner;
};
struct RbRoot {
  RbNode* root;
  RbNode* leftmost;
};
static_assert(sizeof(RbNode) == kRbNodeSize);
static_assert(sizeof(RbRoot) == kRbRootSize);

// The owner a node has while bpf_rbtree_add walks the tree (the kernel's
// BPF_PTR_POISON without its delta): not a root, so a second add of it
// fails.
void* const kAdding = reinterpret_cast<void*>(uintptr_t{0xeB9F});

enum class Kind : uint8_t { kList, kRb, kKptr };

// An object's references (the kernel's struct bpf_refcount, which every
// object here has: for one without the field the verifier keeps the count
// at 1): the runs' owning references (`owned`), the collections it is in
// (`linked`) and the kptr fields that hold it (`stashed`).
struct Obj {
  uint64_t size;
  uint32_t refs = 1;
  uint32_t linked = 0;   // its nodes in collections
  uint32_t stashed = 0;  // kptr fields holding it
  // bpf_percpu_obj_new's objects: one copy of `unit` bytes per CPU, ncpus
  // of them; 0 for the others.
  uint64_t unit = 0;
  uint32_t ncpus = 0;
  // Collections and kptr fields inside it that held something.
  std::map<uint64_t, Kind> inner;
};

std::recursive_mutex mu;
std::map<uint64_t, Obj>& Objs() {
  static auto* objs = new std::map<uint64_t, Obj>;
  return *objs;
}
// Collections outside objects (map values, global sections).
std::map<uint64_t, Kind>& Roots() {
  static auto* roots = new std::map<uint64_t, Kind>;
  return *roots;
}
std::atomic<uint64_t> leaked{0};
// Objects live: InObject's answer without the lock while there are none
// (the interpreter asks it for every access its other checks refuse, an
// arena program's among them).
std::atomic<uint64_t> live{0};
// The owning references the runs on this thread hold, per object.
thread_local std::unordered_map<uint64_t, uint32_t> owned;

bool Owns(uint64_t start) {
  auto it = owned.find(start);
  return it != owned.end() && it->second != 0;
}
void Own(uint64_t start) {
  ++owned[start];
  run_owns = true;
}
void Disown(uint64_t start) {
  auto it = owned.find(start);
  if (it != owned.end() && --it->second == 0) owned.erase(it);
}

using Lock = std::lock_guard<std::recursive_mutex>;

// The live object holding [addr, addr + size), with its start.
Obj* Find(uint64_t addr, uint64_t size, uint64_t* start) {
  auto& objs = Objs();
  auto it = objs.upper_bound(addr);
  if (it == objs.begin()) return nullptr;
  --it;
  if (addr + size < addr || addr + size > it->first + it->second.size) {
    return nullptr;
  }
  if (start != nullptr) *start = it->first;
  return &it->second;
}

// Notes a collection at `head` that now holds a node of the object at
// `node_obj`: inside an object (drained when it is dropped) or outside
// (drained by ReleaseRange). A collection inside the node's own object is
// refused (-EINVAL): dropping it could never drain it.
int NoteCollection(uint64_t head, uint64_t size, uint64_t node_obj, Kind k) {
  uint64_t start = 0;
  if (Obj* o = Find(head, size, &start); o != nullptr) {
    if (start == node_obj) return -EINVAL;
    o->inner[head] = k;
  } else {
    Roots()[head] = k;
  }
  return 0;
}

// The run's owning reference becomes the collection's, and back.
void Linked(uint64_t obj_start, Obj* o) {
  ++o->linked;
  Disown(obj_start);
}
void Unlinked(uint64_t obj_start, Obj* o) {
  --o->linked;
  Own(obj_start);
}

void Put(uint64_t start);

// kptr fields: exchanges the pointer at `field` and, if it held a live
// object, takes the field's reference off it: the run now owns it (`own`),
// or it is put (bpf_obj_free_fields).
void* TakeKptr(void* field, bool own) {
  auto* slot = static_cast<uint64_t*>(field);
  const uint64_t old = __atomic_exchange_n(slot, 0, __ATOMIC_ACQ_REL);
  if (old == 0) return nullptr;
  auto it = Objs().find(old);
  if (it == Objs().end() || it->second.stashed == 0) return nullptr;
  --it->second.stashed;
  if (own) {
    Own(old);
  } else {
    Put(old);
  }
  return reinterpret_cast<void*>(old);
}

// A link of the list at `head`: the head itself, or a node of a live object
// whose owner is `head`.
bool ValidLink(const Link* l, const Link* head) {
  if (l == head) return true;
  if (Find(reinterpret_cast<uint64_t>(l), sizeof(ListNode), nullptr) ==
      nullptr) {
    return false;
  }
  return reinterpret_cast<const ListNode*>(l)->owner == head;
}

RbNode* Parent(const RbNode* n) {
  return reinterpret_cast<RbNode*>(n->parent_color & ~uintptr_t{1});
}
bool IsBlack(const RbNode* n) {
  return n == nullptr || (n->parent_color & 1) != 0;
}
bool IsRed(const RbNode* n) { return !IsBlack(n); }
void SetParent(RbNode* n, RbNode* p) {
  n->parent_color = reinterpret_cast<uintptr_t>(p) | (n->parent_color & 1);
}
void SetBlack(RbNode* n) { n->parent_color |= 1; }
void SetRed(RbNode* n) { n->parent_color &= ~uintptr_t{1}; }
void SetColorOf(RbNode* n, const RbNode* from) {
  n->parent_color =
      (n->parent_color & ~uintptr_t{1}) | (from->parent_color & 1);
}

// Puts `to` where `from` hangs (under from's parent, or as the root).
void ReplaceChild(RbRoot* r, RbNode* from, RbNode* to, RbNode* parent) {
  if (parent == nullptr) {
    r->root = to;
  } else if (parent->left == from) {
    parent->left = to;
  } else {
    parent->right = to;
  }
}

// A side of a node: lib/rbtree.c spells each fix-up out twice, mirrored;
// here one body serves both sides, indexed by the side it starts from.
enum Side : int { kLeft = 0, kRight = 1 };
Side Other(Side s) { return s == kLeft ? kRight : kLeft; }
RbNode*& Child(RbNode* n, Side s) { return s == kLeft ? n->left : n->right; }

// The rotations of lib/rbtree.c (colours stay with their nodes): `x` goes
// down on side `s` (kLeft: a left rotation) and its other child comes up.
void Rotate(RbRoot* r, RbNode* x, Side s) {
  RbNode* y = Child(x, Other(s));
  RbNode* p = Parent(x);
  Child(x, Other(s)) = Child(y, s);
  if (Child(y, s) != nullptr) SetParent(Child(y, s), x);
  SetParent(y, p);
  ReplaceChild(r, x, y, p);
  Child(y, s) = x;
  SetParent(x, y);
}

// rb_insert_color(): the red node `n` just linked, rebalanced.
void InsertColor(RbRoot* r, RbNode* n) {
  for (;;) {
    RbNode* p = Parent(n);
    if (p == nullptr) {
      SetBlack(n);
      return;
    }
    if (IsBlack(p)) return;
    RbNode* g = Parent(p);  // a red parent is not the root
    const Side side = p == g->left ? kLeft : kRight;
    RbNode* uncle = Child(g, Other(side));
    if (IsRed(uncle)) {
      SetBlack(p);
      SetBlack(uncle);
      SetRed(g);
      n = g;
      continue;
    }
    if (n == Child(p, Other(side))) {
      Rotate(r, p, side);
      p = n;
    }
    SetBlack(p);
    SetRed(g);
    Rotate(r, g, Other(side));
    return;
  }
}

// __rb_erase_color(): a black node was taken from under `parent` (its
// child there, `node`, null or black, is one black short).
void EraseColor(RbRoot* r, RbNode* node, RbNode* parent) {
  while (parent != nullptr) {
    const Side side = node != parent->right ? kLeft : kRight;
    RbNode* sib = Child(parent, Other(side));
    if (IsRed(sib)) {
      SetBlack(sib);
      SetRed(parent);
      Rotate(r, parent, side);
      sib = Child(parent, Other(side));
    }
    if (IsBlack(sib->left) && IsBlack(sib->right)) {
      SetRed(sib);
      if (IsRed(parent)) {
        SetBlack(parent);
        return;
      }
      node = parent;
      parent = Parent(node);
      continue;
    }
    if (IsBlack(Child(sib, Other(side)))) {
      SetBlack(Child(sib, side));
      SetRed(sib);
      Rotate(r, sib, Other(side));
      sib = Child(parent, Other(side));
    }
    SetColorOf(sib, parent);
    SetBlack(parent);
    SetBlack(Child(sib, Other(side)));
    Rotate(r, parent, side);
    return;
  }
}

// A node of the tree at `root`, or null.
bool ValidRb(const RbNode* n, const void* root) {
  if (n == nullptr) return true;
  return Find(reinterpret_cast<uint64_t>(n), sizeof(RbNode), nullptr) !=
             nullptr &&
         n->owner == root;
}

void Drain(uint64_t head, Kind k) {
  if (k == Kind::kKptr) {
    TakeKptr(reinterpret_cast<void*>(head), /*own=*/false);
    return;
  }
  void* (*take)(void*) = nullptr;
  if (k == Kind::kList) {
    take = [](void* h) { return ListPop(h, false); };
  } else {
    take = [](void* r) {
      void* first = RbFirst(r);
      return first == nullptr ? nullptr : RbRemove(r, first);
    };
  }
  void* const h = reinterpret_cast<void*>(head);
  while (void* n = take(h)) {
    uint64_t start = 0;
    if (Find(reinterpret_cast<uint64_t>(n), 1, &start) != nullptr) {
      ObjDrop(reinterpret_cast<void*>(start));
    }
  }
}

// Drops one reference; the last frees the object after draining the
// collections and kptr fields inside it (__bpf_obj_drop_impl,
// bpf_obj_free_fields).
void Put(uint64_t start) {
  auto it = Objs().find(start);
  if (it == Objs().end() || --it->second.refs != 0) return;
  // Draining cannot reach this object (NoteCollection), so `it` stays valid.
  const std::map<uint64_t, Kind> inner = it->second.inner;
  for (const auto& [head, k] : inner) Drain(head, k);
  Objs().erase(start);
  live.fetch_sub(1, std::memory_order_relaxed);
  owned.erase(start);
  std::free(reinterpret_cast<void*>(start));
}

}  // namespace

void* ObjNew(uint64_t size) {
  if (size == 0 || size > kMaxObjSize) return nullptr;
  void* p = std::calloc(1, size);
  if (p == nullptr) return nullptr;
  Lock l(mu);
  Objs()[reinterpret_cast<uint64_t>(p)] = Obj{size};
  live.fetch_add(1, std::memory_order_relaxed);
  Own(reinterpret_cast<uint64_t>(p));
  return p;
}

void* PercpuObjNew(uint64_t size, uint32_t ncpus) {
  if (size == 0 || size > kMaxPercpuObjSize || ncpus == 0) return nullptr;
  void* p = ObjNew(size * ncpus);
  if (p == nullptr) return nullptr;
  Lock l(mu);
  Obj& o = Objs()[reinterpret_cast<uint64_t>(p)];
  o.unit = size;
  o.ncpus = ncpus;
  return p;
}

int PercpuObjDrop(void* p) {
  Lock l(mu);
  auto it = Objs().find(reinterpret_cast<uint64_t>(p));
  if (it == Objs().end() || it->second.ncpus == 0) return -EINVAL;
  return ObjDrop(p);
}

void* PerCpuPtr(void* p, uint64_t cpu, bool* is_percpu) {
  Lock l(mu);
  auto it = Objs().find(reinterpret_cast<uint64_t>(p));
  *is_percpu = it != Objs().end() && it->second.ncpus != 0;
  if (!*is_percpu || cpu >= it->second.ncpus) return nullptr;
  return static_cast<uint8_t*>(p) + cpu * it->second.unit;
}

int ObjDrop(void* p) {
  Lock l(mu);
  const uint64_t start = reinterpret_cast<uint64_t>(p);
  if (Objs().count(start) == 0 || !Owns(start)) return -EINVAL;
  Disown(start);
  Put(start);
  return 0;
}

void* RefcountAcquire(void* p) {
  Lock l(mu);
  const uint64_t start = reinterpret_cast<uint64_t>(p);
  auto it = Objs().find(start);
  if (it == Objs().end()) return nullptr;
  ++it->second.refs;
  Own(start);
  return p;
}

int KptrXchg(void* field, void* p, void** old) {
  Lock l(mu);
  const auto start = reinterpret_cast<uint64_t>(p);
  if (p != nullptr && (Objs().count(start) == 0 || !Owns(start))) {
    return -EPERM;
  }
  const auto at = reinterpret_cast<uint64_t>(field);
  uint64_t holder = 0;
  if (Obj* o = Find(at, 8, &holder); o != nullptr) {
    // A kptr field of an object: drained when the object goes. Not of the
    // object itself (it could never be freed).
    if (holder == start) return -EPERM;
    o->inner[at] = Kind::kKptr;
  } else {
    Roots()[at] = Kind::kKptr;
  }
  *old = TakeKptr(field, /*own=*/true);
  if (p != nullptr) {
    Disown(start);
    ++Objs()[start].stashed;
    __atomic_store_n(static_cast<uint64_t*>(field), start, __ATOMIC_RELEASE);
  }
  return 0;
}

void KptrRelease(void* field) {
  if (__atomic_load_n(static_cast<uint64_t*>(field), __ATOMIC_ACQUIRE) == 0) {
    return;
  }
  Lock l(mu);
  TakeKptr(field, /*own=*/false);
}

bool InObject(uint64_t addr, uint64_t size) {
  if (live.load(std::memory_order_relaxed) == 0) return false;
  Lock l(mu);
  return Find(addr, size, nullptr) != nullptr;
}

uint64_t ObjectOf(uint64_t addr, uint64_t size) {
  Lock l(mu);
  uint64_t start = 0;
  return Find(addr, size, &start) != nullptr ? start : 0;
}

uint64_t LiveObjects() {
  Lock l(mu);
  return Objs().size();
}

uint64_t LeakedObjects() { return leaked.load(std::memory_order_relaxed); }

constinit thread_local bool run_owns = false;

void EndRunOwned() {
  run_owns = false;
  if (owned.empty()) return;
  Lock l(mu);
  const std::vector<std::pair<uint64_t, uint32_t>> left(owned.begin(),
                                                        owned.end());
  owned.clear();
  for (const auto& [p, n] : left) {
    for (uint32_t i = 0; i < n; ++i) {
      if (Objs().count(p) != 0) {
        Put(p);
        leaked.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
}

int ListPush(void* head, void* node, bool tail) {
  Lock l(mu);
  uint64_t obj = 0;
  Obj* o = Find(reinterpret_cast<uint64_t>(node), sizeof(ListNode), &obj);
  auto* n = static_cast<ListNode*>(node);
  if (o == nullptr || !Owns(obj)) return -EPERM;
  // __bpf_list_add(): a node already on a list is refused, and the
  // reference passed in dropped (a refcounted object's).
  if (n->owner != nullptr) {
    Disown(obj);
    Put(obj);
    return -EINVAL;
  }
  auto* h = static_cast<Link*>(head);
  if (h->next == nullptr) h->next = h->prev = h;  // INIT_LIST_HEAD
  Link* const prev = tail ? h->prev : h;
  Link* const next = tail ? h : h->next;
  if (!ValidLink(prev, h) || !ValidLink(next, h)) return -EPERM;
  if (NoteCollection(reinterpret_cast<uint64_t>(head), sizeof(Link), obj,
                     Kind::kList) != 0) {
    return -EPERM;
  }
  n->link.prev = prev;
  n->link.next = next;
  prev->next = &n->link;
  next->prev = &n->link;
  n->owner = head;
  Linked(obj, o);
  return 0;
}

void* ListPeek(void* head, bool tail) {
  Lock l(mu);
  auto* h = static_cast<Link*>(head);
  if (h->next == nullptr) h->next = h->prev = h;
  Link* const n = tail ? h->prev : h->next;
  if (n == h || !ValidLink(n, h)) return nullptr;
  return n;
}

void* ListPop(void* head, bool tail) {
  Lock l(mu);
  auto* const n = static_cast<Link*>(ListPeek(head, tail));
  if (n == nullptr) return nullptr;
  auto* h = static_cast<Link*>(head);
  if (!ValidLink(n->prev, h) || !ValidLink(n->next, h)) return nullptr;
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = n;  // list_del_init
  reinterpret_cast<ListNode*>(n)->owner = nullptr;
  uint64_t obj = 0;
  Obj* o = Find(reinterpret_cast<uint64_t>(n), sizeof(ListNode), &obj);
  Unlinked(obj, o);
  return n;
}

int RbAdd(void* root, void* node, RbLess less, void* ctx) {
  auto* n = static_cast<RbNode*>(node);
  auto* r = static_cast<RbRoot*>(root);
  uint64_t obj = 0;
  {
    Lock l(mu);
    if (Find(reinterpret_cast<uint64_t>(node), sizeof(RbNode), &obj) ==
            nullptr ||
        !Owns(obj)) {
      return -EPERM;
    }
    // __bpf_rbtree_add(): a node already in a tree is refused, and the
    // reference passed in dropped.
    if (n->owner != nullptr) {
      Disown(obj);
      Put(obj);
      return -EINVAL;
    }
    n->owner = kAdding;
  }
  // The walk calls the program, which may stop the run: the lock is not
  // held across it.
  RbNode* parent = nullptr;
  RbNode** link = &r->root;
  bool leftmost = true;
  for (;;) {
    RbNode* cur = *link;
    if (cur == nullptr) break;
    {
      Lock l(mu);
      if (!ValidRb(cur, root)) {
        n->owner = nullptr;
        return -EPERM;
      }
    }
    parent = cur;
    if (less(ctx, n, cur)) {
      link = &cur->left;
    } else {
      link = &cur->right;
      leftmost = false;
    }
  }
  Lock l(mu);
  Obj* o = Find(obj, sizeof(RbNode), nullptr);
  if (o == nullptr || !ValidRb(parent, root) ||
      NoteCollection(reinterpret_cast<uint64_t>(root), sizeof(RbRoot), obj,
                     Kind::kRb) != 0) {
    if (o != nullptr) n->owner = nullptr;
    return -EPERM;
  }
  n->parent_color = reinterpret_cast<uintptr_t>(parent);  // red
  n->left = n->right = nullptr;
  *link = n;
  if (leftmost) r->leftmost = n;
  n->owner = root;
  InsertColor(r, n);
  Linked(obj, o);
  return 0;
}

void* RbFirst(void* root) {
  Lock l(mu);
  RbNode* first = static_cast<RbRoot*>(root)->leftmost;
  return first != nullptr && ValidRb(first, root) ? first : nullptr;
}

void* RbRootNode(void* root) {
  Lock l(mu);
  RbNode* n = static_cast<RbRoot*>(root)->root;
  return n != nullptr && ValidRb(n, root) ? n : nullptr;
}

void* RbChild(void* root, void* node, bool right) {
  Lock l(mu);
  auto* n = static_cast<RbNode*>(node);
  if (Find(reinterpret_cast<uint64_t>(node), sizeof(RbNode), nullptr) ==
          nullptr ||
      n->owner != root) {
    return nullptr;
  }
  RbNode* c = right ? n->right : n->left;
  return c != nullptr && ValidRb(c, root) ? c : nullptr;
}

namespace {
int RbCheckBelow(RbNode* n, RbNode* parent, RbLess less, void* ctx) {
  if (n == nullptr) return 1;
  if (Parent(n) != parent) return -1;
  if (IsRed(n) && (IsRed(n->left) || IsRed(n->right))) return -1;
  if (n->left != nullptr && less(ctx, n, n->left)) return -1;
  if (n->right != nullptr && less(ctx, n->right, n)) return -1;
  const int l = RbCheckBelow(n->left, n, less, ctx);
  const int r = RbCheckBelow(n->right, n, less, ctx);
  if (l < 0 || l != r) return -1;
  return l + (IsBlack(n) ? 1 : 0);
}
}  // namespace

int RbCheck(void* root, RbLess less, void* ctx) {
  Lock l(mu);
  auto* r = static_cast<RbRoot*>(root);
  if (IsRed(r->root)) return -1;
  RbNode* first = r->root;
  while (first != nullptr && first->left != nullptr) first = first->left;
  if (first != r->leftmost) return -1;
  return RbCheckBelow(r->root, nullptr, less, ctx);
}

void* RbRemove(void* root, void* node) {
  Lock l(mu);
  auto* n = static_cast<RbNode*>(node);
  auto* r = static_cast<RbRoot*>(root);
  uint64_t obj = 0;
  Obj* o = Find(reinterpret_cast<uint64_t>(node), sizeof(RbNode), &obj);
  // bpf_rbtree_remove(): a node of another tree (or none) gives NULL.
  if (o == nullptr || n->owner != root || !ValidRb(Parent(n), root) ||
      !ValidRb(n->left, root) || !ValidRb(n->right, root)) {
    return nullptr;
  }
  RbNode* succ = nullptr;  // the leftmost after n, if n is it
  if (r->leftmost == n) {
    succ = n->right;
    while (succ != nullptr && succ->left != nullptr) {
      if (!ValidRb(succ->left, root)) return nullptr;
      succ = succ->left;
    }
    if (succ == nullptr) succ = Parent(n);
  }
  // rb_erase(): __rb_erase_augmented, then the colour fix-up.
  RbNode* child = n->right;
  RbNode* tmp = n->left;
  RbNode* rebalance = nullptr;  // the parent a black node left
  RbNode* gone_child = nullptr;
  if (tmp == nullptr) {
    // At most a right child, which (red) takes n's place and colour.
    RbNode* p = Parent(n);
    ReplaceChild(r, n, child, p);
    if (child != nullptr) {
      child->parent_color = n->parent_color;
    } else if (IsBlack(n)) {
      rebalance = p;
    }
  } else if (child == nullptr) {
    RbNode* p = Parent(n);
    ReplaceChild(r, n, tmp, p);
    tmp->parent_color = n->parent_color;
  } else {
    // Two children: the successor (leftmost of the right subtree) takes
    // n's place and colour; its own right child takes its old place.
    RbNode* successor = child;
    RbNode* parent = nullptr;
    RbNode* child2 = nullptr;
    if (child->left == nullptr) {
      parent = successor;
      child2 = successor->right;
    } else {
      do {
        if (!ValidRb(successor->left, root)) return nullptr;
        parent = successor;
        successor = successor->left;
      } while (successor->left != nullptr);
      child2 = successor->right;
      parent->left = child2;
      successor->right = child;
      SetParent(child, successor);
    }
    successor->left = tmp;
    SetParent(tmp, successor);
    const bool successor_black = IsBlack(successor);
    RbNode* p = Parent(n);
    ReplaceChild(r, n, successor, p);
    successor->parent_color = n->parent_color;
    if (child2 != nullptr) {
      child2->parent_color = reinterpret_cast<uintptr_t>(parent) | 1;
    } else if (successor_black) {
      rebalance = parent;
    }
  }
  if (rebalance != nullptr) EraseColor(r, gone_child, rebalance);
  if (r->leftmost == n) r->leftmost = succ;
  n->parent_color = 0;  // RB_CLEAR_NODE
  n->left = n->right = nullptr;
  n->owner = nullptr;
  Unlinked(obj, o);
  return n;
}

void ReleaseRange(uint64_t lo, uint64_t hi) {
  Lock l(mu);
  auto& roots = Roots();
  std::vector<std::pair<uint64_t, Kind>> in;
  for (auto it = roots.lower_bound(lo); it != roots.end() && it->first < hi;) {
    in.emplace_back(it->first, it->second);
    it = roots.erase(it);
  }
  for (const auto& [head, k] : in) Drain(head, k);
}

}  // namespace bpfemu::graph
