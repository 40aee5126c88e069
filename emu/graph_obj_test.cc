// SPDX-License-Identifier: Apache-2.0
// emu/graph_obj.h on its own: bad input gets -EINVAL or NULL and changes
// nothing, lists and trees keep the kernel's order, and dropping an object
// or releasing a map's memory frees what their collections held.

#include "emu/graph_obj.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace bpfemu::graph {
namespace {

struct Elem {
  int64_t val;
  uint8_t node[kListNodeSize];
};

struct TElem {
  int64_t key;
  uint8_t node[kRbNodeSize];
};

struct Holder {
  uint8_t head[kListHeadSize];
  int64_t n;
};

Elem* NewElem(int64_t v) {
  auto* e = static_cast<Elem*>(ObjNew(sizeof(Elem)));
  e->val = v;
  return e;
}

Elem* ElemOf(void* node) {
  return reinterpret_cast<Elem*>(static_cast<uint8_t*>(node) -
                                 offsetof(Elem, node));
}

TEST(GraphObjTest, NewGivesZeroedObjectsAndRefusesBadSizes) {
  const uint64_t live = LiveObjects();
  EXPECT_EQ(ObjNew(0), nullptr);
  EXPECT_EQ(ObjNew(uint64_t{1} << 40), nullptr);
  auto* p = static_cast<uint8_t*>(ObjNew(64));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(LiveObjects(), live + 1);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(p[i], 0);
  const uint64_t a = reinterpret_cast<uint64_t>(p);
  EXPECT_TRUE(InObject(a, 64));
  EXPECT_TRUE(InObject(a + 60, 4));
  EXPECT_FALSE(InObject(a + 60, 8));
  EXPECT_EQ(ObjectOf(a + 10, 4), a);
  // Not an object's start, not an object at all.
  EXPECT_EQ(ObjDrop(p + 8), -EINVAL);
  int on_stack = 0;
  EXPECT_EQ(ObjDrop(&on_stack), -EINVAL);
  EXPECT_EQ(ObjDrop(nullptr), -EINVAL);
  EXPECT_EQ(ObjDrop(p), 0);
  EXPECT_EQ(ObjDrop(p), -EINVAL);  // twice
  EXPECT_FALSE(InObject(a, 1));
  EXPECT_EQ(LiveObjects(), live);
}

TEST(GraphObjTest, ListKeepsOrderAndRefusesBadNodes) {
  const uint64_t live = LiveObjects();
  uint8_t head[kListHeadSize] = {};
  EXPECT_EQ(ListPop(head, false), nullptr);  // empty (and never used)
  EXPECT_EQ(ListPeek(head, true), nullptr);
  Elem* a = NewElem(1);
  Elem* b = NewElem(2);
  Elem* c = NewElem(3);
  ASSERT_EQ(ListPush(head, a->node, false), 0);
  ASSERT_EQ(ListPush(head, b->node, true), 0);
  ASSERT_EQ(ListPush(head, c->node, false), 0);  // c a b
  // On it already, and not the run's: what the verifier refuses.
  EXPECT_EQ(ListPush(head, a->node, true), -EPERM);
  EXPECT_EQ(ObjDrop(a), -EINVAL);  // on a list, not the run's
  uint8_t loose[kListNodeSize] = {};
  EXPECT_EQ(ListPush(head, loose, true), -EPERM);  // not an object's
  Holder* self = static_cast<Holder*>(ObjNew(sizeof(Holder) + kListNodeSize));
  // Its own list cannot hold it.
  EXPECT_EQ(ListPush(self->head,
                     reinterpret_cast<uint8_t*>(self) + sizeof(Holder), false),
            -EPERM);
  EXPECT_EQ(ObjDrop(self), 0);
  EXPECT_EQ(ListPeek(head, false), c->node);
  EXPECT_EQ(ListPeek(head, true), b->node);
  std::vector<int64_t> got;
  while (void* n = ListPop(head, false)) {
    got.push_back(ElemOf(n)->val);
    EXPECT_EQ(ObjDrop(ElemOf(n)), 0);
  }
  EXPECT_EQ(got, (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(LiveObjects(), live);
}

TEST(GraphObjTest, CorruptedLinksGiveNullNotACrash) {
  const uint64_t live = LiveObjects();
  uint8_t head[kListHeadSize] = {};
  Elem* a = NewElem(1);
  ASSERT_EQ(ListPush(head, a->node, false), 0);
  uint64_t bad = 0x1234;
  std::memcpy(head, &bad, sizeof(bad));  // next points nowhere
  EXPECT_EQ(ListPop(head, false), nullptr);
  EXPECT_EQ(ListPush(head, NewElem(2)->node, false), -EPERM);
  // Repaired by hand, the list gives its node back.
  const uint64_t node = reinterpret_cast<uint64_t>(a->node);
  std::memcpy(head, &node, sizeof(node));
  void* n = ListPop(head, true);
  ASSERT_EQ(n, a->node);
  EXPECT_EQ(ObjDrop(a), 0);
  EndRun();  // the second element, never pushed
  EXPECT_EQ(LiveObjects(), live);
}

TEST(GraphObjTest, DroppingAnObjectDrainsItsList) {
  const uint64_t live = LiveObjects();
  auto* h = static_cast<Holder*>(ObjNew(sizeof(Holder)));
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(ListPush(h->head, NewElem(i)->node, true), 0);
  EXPECT_EQ(LiveObjects(), live + 6);
  EXPECT_EQ(ObjDrop(h), 0);
  EXPECT_EQ(LiveObjects(), live);
}

TEST(GraphObjTest, ReleaseRangeDrainsCollectionsOutsideObjects) {
  const uint64_t live = LiveObjects();
  uint8_t value[64] = {};  // a map value with a list head at 16
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(ListPush(value + 16, NewElem(i)->node, false), 0);
  EXPECT_EQ(LiveObjects(), live + 3);
  ReleaseRange(reinterpret_cast<uint64_t>(value),
               reinterpret_cast<uint64_t>(value) + 16);  // not the head
  EXPECT_EQ(LiveObjects(), live + 3);
  ReleaseRange(reinterpret_cast<uint64_t>(value),
               reinterpret_cast<uint64_t>(value) + sizeof(value));
  EXPECT_EQ(LiveObjects(), live);
}

TEST(GraphObjTest, EndRunDropsWhatTheRunStillOwns) {
  const uint64_t live = LiveObjects(), leaked = LeakedObjects();
  uint8_t head[kListHeadSize] = {};
  ObjNew(8);
  Elem* kept = NewElem(7);
  ASSERT_EQ(ListPush(head, kept->node, false), 0);
  EndRun();
  EXPECT_EQ(LeakedObjects(), leaked + 1);
  EXPECT_EQ(LiveObjects(), live + 1);  // the listed one stays
  void* n = ListPop(head, false);
  ASSERT_EQ(n, kept->node);
  EXPECT_EQ(ObjDrop(kept), 0);
  EXPECT_EQ(LiveObjects(), live);
}

bool KeyLess(void* calls, void* a, const void* b) {
  ++*static_cast<int*>(calls);
  const auto key = [](const void* node) {
    int64_t k;
    std::memcpy(&k, static_cast<const uint8_t*>(node) - offsetof(TElem, node),
                sizeof(k));
    return k;
  };
  return key(a) < key(b);
}

TEST(GraphObjTest, RbtreeOrdersByLessAndKeepsTiesInInsertionOrder) {
  const uint64_t live = LiveObjects();
  uint8_t root[kRbRootSize] = {};
  EXPECT_EQ(RbFirst(root), nullptr);
  int calls = 0;
  const int64_t keys[] = {5, 3, 8, 3, 1, 9, 5, 0};
  std::vector<TElem*> elems;
  for (int64_t k : keys) {
    auto* e = static_cast<TElem*>(ObjNew(sizeof(TElem)));
    e->key = k;
    elems.push_back(e);
    ASSERT_EQ(RbAdd(root, e->node, KeyLess, &calls), 0);
  }
  EXPECT_GT(calls, 0);
  EXPECT_EQ(RbAdd(root, elems[0]->node, KeyLess, &calls), -EPERM);
  uint8_t other[kRbRootSize] = {};
  EXPECT_EQ(RbRemove(other, elems[2]->node), nullptr);  // not its tree
  // Out of the middle (8, two children below it or not), then in order.
  ASSERT_EQ(RbRemove(root, elems[2]->node), elems[2]->node);
  EXPECT_EQ(RbRemove(root, elems[2]->node), nullptr);  // already out
  EXPECT_EQ(ObjDrop(elems[2]), 0);
  std::vector<TElem*> order;
  while (void* first = RbFirst(root)) {
    ASSERT_EQ(RbRemove(root, first), first);
    order.push_back(reinterpret_cast<TElem*>(static_cast<uint8_t*>(first) -
                                             offsetof(TElem, node)));
  }
  const std::vector<TElem*> want = {elems[7], elems[4], elems[1], elems[3],
                                    elems[0], elems[6], elems[5]};
  EXPECT_EQ(order, want);
  for (TElem* e : order) EXPECT_EQ(ObjDrop(e), 0);
  EXPECT_EQ(LiveObjects(), live);
}

TEST(GraphObjTest, RefcountAcquireGivesASecondOwningReference) {
  const uint64_t live = LiveObjects();
  uint8_t head[kListHeadSize] = {};
  Elem* a = NewElem(1);
  EXPECT_EQ(RefcountAcquire(a), a);
  ASSERT_EQ(ListPush(head, a->node, true), 0);
  // The second reference's push of the same node: -EINVAL, and that
  // reference is dropped (__bpf_list_add); the object stays on the list.
  EXPECT_EQ(ListPush(head, a->node, false), -EINVAL);
  EXPECT_EQ(LiveObjects(), live + 1);
  EXPECT_EQ(ObjDrop(a), -EINVAL);  // no reference left to the run
  int on_stack = 0;
  EXPECT_EQ(RefcountAcquire(&on_stack), nullptr);
  // Acquired while on the list: dropping that reference leaves it there.
  EXPECT_EQ(RefcountAcquire(a), a);
  EXPECT_EQ(ObjDrop(a), 0);
  EXPECT_EQ(LiveObjects(), live + 1);
  void* n = ListPop(head, false);
  ASSERT_EQ(n, a->node);
  EXPECT_EQ(ObjDrop(a), 0);
  EXPECT_EQ(LiveObjects(), live);
}

TEST(GraphObjTest, KptrFieldsHoldAReference) {
  const uint64_t live = LiveObjects();
  const uint64_t leaked = LeakedObjects();
  uint64_t field = 0;  // a kptr field of a map value
  void* old = reinterpret_cast<void*>(1);
  Elem* a = NewElem(1);
  ASSERT_EQ(KptrXchg(&field, a, &old), 0);
  EXPECT_EQ(old, nullptr);
  EXPECT_EQ(field, reinterpret_cast<uint64_t>(a));
  EXPECT_EQ(ObjDrop(a), -EINVAL);  // the field's now
  // Not the run's, not an object: refused, nothing changes.
  EXPECT_EQ(KptrXchg(&field, a, &old), -EPERM);
  int on_stack = 0;
  EXPECT_EQ(KptrXchg(&field, &on_stack, &old), -EPERM);
  EXPECT_EQ(field, reinterpret_cast<uint64_t>(a));
  // A field inside the object it would hold.
  auto* holder = static_cast<uint64_t*>(ObjNew(16));
  EXPECT_EQ(KptrXchg(holder + 1, holder, &old), -EPERM);
  // Exchanged: the old one is the run's again.
  Elem* b = NewElem(2);
  ASSERT_EQ(KptrXchg(&field, b, &old), 0);
  EXPECT_EQ(old, a);
  EXPECT_EQ(ObjDrop(a), 0);
  // A field inside an object: emptied when the object goes.
  ASSERT_EQ(KptrXchg(&field, nullptr, &old), 0);
  EXPECT_EQ(old, b);
  ASSERT_EQ(KptrXchg(holder + 1, b, &old), 0);
  EXPECT_EQ(LiveObjects(), live + 2);
  EXPECT_EQ(ObjDrop(holder), 0);
  EXPECT_EQ(LiveObjects(), live);
  // KptrRelease (an element deleted or overwritten) drops what a field
  // holds and leaves it NULL; a pointer that is no object is cleared only.
  Elem* c = NewElem(3);
  ASSERT_EQ(KptrXchg(&field, c, &old), 0);
  KptrRelease(&field);
  EXPECT_EQ(field, 0u);
  EXPECT_EQ(LiveObjects(), live);
  field = 0x1234;
  KptrRelease(&field);
  EXPECT_EQ(field, 0u);
  // Map memory freed (ReleaseRange): what its fields hold goes. (Static:
  // the stack may hold list heads earlier tests left noted.)
  static uint64_t value[2] = {};
  Elem* d = NewElem(4);
  EXPECT_EQ(LiveObjects(), live + 1);
  ASSERT_EQ(KptrXchg(&value[1], d, &old), 0);
  ReleaseRange(reinterpret_cast<uint64_t>(value),
               reinterpret_cast<uint64_t>(value + 2));
  EXPECT_EQ(value[1], 0u);
  EXPECT_EQ(LiveObjects(), live);
  EXPECT_EQ(LeakedObjects(), leaked);
}

// kfuncA47: the red-black invariants hold through random adds and removes
// (ties included), and the walk kfuncs' view: root, children, NULL for a
// node of another tree.
TEST(GraphObjTest, RbtreeStaysRedBlack) {
  const uint64_t live = LiveObjects();
  uint8_t root[kRbRootSize] = {};
  std::mt19937 rng(47);
  std::vector<TElem*> in;
  int calls = 0;
  for (int step = 0; step < 2000; ++step) {
    if (in.size() < 5 || rng() % 3 != 0) {
      auto* e = static_cast<TElem*>(ObjNew(sizeof(TElem)));
      e->key = static_cast<int64_t>(rng() % 100);
      ASSERT_EQ(RbAdd(root, e->node, KeyLess, &calls), 0);
      in.push_back(e);
    } else {
      const size_t i = rng() % in.size();
      ASSERT_EQ(RbRemove(root, in[i]->node), in[i]->node);
      EXPECT_EQ(ObjDrop(in[i]), 0);
      in.erase(in.begin() + static_cast<std::ptrdiff_t>(i));
    }
    const int bh = RbCheck(root, KeyLess, &calls);
    ASSERT_GT(bh, 0) << "step " << step;
    // A red-black tree of n nodes has black height at most log2(n + 1) + 1.
    ASSERT_LE(1u << (bh - 1), in.size() + 1) << "step " << step;
  }
  void* top = RbRootNode(root);
  ASSERT_NE(top, nullptr);
  uint8_t other[kRbRootSize] = {};
  EXPECT_EQ(RbChild(other, top, false), nullptr);
  EXPECT_EQ(RbRootNode(other), nullptr);
  // Down the left spine to the leftmost, which bpf_rbtree_first gives.
  void* n = top;
  while (void* l = RbChild(root, n, false)) n = l;
  EXPECT_EQ(n, RbFirst(root));
  EXPECT_EQ(RbChild(root, n, false), nullptr);
  while (void* first = RbFirst(root)) {
    ASSERT_EQ(RbRemove(root, first), first);
    EXPECT_EQ(ObjDrop(static_cast<uint8_t*>(first) - offsetof(TElem, node)), 0);
  }
  EXPECT_EQ(RbRootNode(root), nullptr);
  EXPECT_EQ(LiveObjects(), live);
}

}  // namespace
}  // namespace bpfemu::graph
