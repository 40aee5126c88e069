// SPDX-License-Identifier: Apache-2.0
// File: graph_obj.h
//
// Program-allocated objects and the collections they go into: the work of
// the kfuncs bpf_obj_new_impl / bpf_obj_drop_impl, bpf_list_push_front_impl
// / _back_impl, bpf_list_pop_front / _back, bpf_list_front / _back,
// bpf_rbtree_add_impl, bpf_rbtree_first, bpf_rbtree_remove and
// bpf_rbtree_root / _left / _right, and of
// bpf_refcount_acquire_impl, bpf_percpu_obj_new_impl / _drop_impl and the
// helpers bpf_kptr_xchg, bpf_per_cpu_ptr and bpf_this_cpu_ptr
// (kernel/bpf/helpers.c), shared by the interpreter's bindings
// (emu/kfunc.cc, loader/bytecode.cc) and the native face
// (native/graph_kfuncs.cc).
//
// The collections live where the kernel's do, in the program's memory:
//   struct bpf_list_head (16 bytes)  next, prev: a circular list of links,
//                                    all zero until first used (the
//                                    kernel's lazy INIT_LIST_HEAD)
//   struct bpf_list_node (24 bytes)  next, prev, owner (the head it is on)
//   struct bpf_rb_root   (16 bytes)  root node, leftmost node
//   struct bpf_rb_node   (32 bytes)  parent, right, left, owner (the root)
// as struct list_head, bpf_list_node_kern, rb_root_cached and
// bpf_rb_node_kern lay them out. Every pointer read back from that memory
// is checked against the live objects before it is followed, so a program
// that scribbles over a node (the kernel's verifier refuses such stores)
// gets NULL or -EINVAL, never a crash of the emulator.
//
// Where bpfemu differs (docs/semantics.md, "Allocated objects"):
// - The verifier's ownership rules are checked at run time by the callers:
//   an object must be live and not in a collection to be dropped or added.
// - The object's special fields are learnt from use, not from BTF: a list
//   head or rb root inside an object is recorded when something is first
//   added to it, and drained (its objects dropped) when the object is.
// - Objects a run still owns when the outermost run on the thread ends (a
//   program the kernel's verifier would refuse: "Unreleased reference") are
//   dropped then and counted (LeakedObjects()).
// - The rbtree is lib/rbtree.c's red-black tree (the kernel's insertion
//   walk, `less(new, parent)` goes left, else right, then its rebalancing;
//   rb_erase's), so its shape, which bpf_rbtree_root / _left / _right
//   show, and the calls of `less` are the kernel's.

#ifndef BPFEMU_EMU_GRAPH_OBJ_H_
#define BPFEMU_EMU_GRAPH_OBJ_H_

#include <cstdint>

namespace bpfemu::graph {

inline constexpr uint32_t kListHeadSize = 16;
inline constexpr uint32_t kListNodeSize = 24;
inline constexpr uint32_t kRbRootSize = 16;
inline constexpr uint32_t kRbNodeSize = 32;

// bpf_obj_new_impl: `size` zeroed bytes owned by the calling run, or
// nullptr (size 0 or above 1 MiB, which no BTF struct the verifier accepts
// reaches, or allocation failure).
void* ObjNew(uint64_t size);
// bpf_obj_drop_impl: drops an owning reference the calling run holds; the
// last reference frees the object after draining the collections and kptr
// fields inside it. -EINVAL (nothing done) if `p` is not the start of a
// live object the run owns.
int ObjDrop(void* p);
// bpf_percpu_obj_new_impl (kernel/bpf/helpers.c): an object with `ncpus`
// zeroed copies of `size` bytes, one per possible CPU, owned by the calling
// run; nullptr for size 0 or above kMaxPercpuObjSize (the verifier's
// BPF_GLOBAL_PERCPU_MA_MAX_SIZE) or allocation failure. bpfemu hands out
// CPU 0's copy as the object's pointer (the kernel's is a __percpu one).
inline constexpr uint64_t kMaxPercpuObjSize = 512;
void* PercpuObjNew(uint64_t size, uint32_t ncpus);
// bpf_percpu_obj_drop_impl: ObjDrop for a per-CPU object; -EINVAL for
// another pointer.
int PercpuObjDrop(void* p);
// bpf_per_cpu_ptr on a per-CPU object: CPU `cpu`'s copy, nullptr for a cpu
// at or past its count. *is_percpu says whether `p` is a live per-CPU
// object's start (nullptr is returned when it is not).
void* PerCpuPtr(void* p, uint64_t cpu, bool* is_percpu);
// bpf_refcount_acquire_impl (kernel/bpf/helpers.c): a new owning reference
// to the live object `p` (owned by the run or in a collection); nullptr if
// `p` is no live object. Every object counts references as one with a
// struct bpf_refcount does; the verifier's rule that only such a type may
// be acquired is not checked.
void* RefcountAcquire(void* p);
// bpf_kptr_xchg (kernel/bpf/helpers.c): stores `p` (an object the run owns,
// whose reference moves to the field, or nullptr) at the kptr field
// `field`, and gives in *old what the field held, now owned by the run
// (nullptr for none, or for a pointer that is no live object of this
// process). -EPERM (nothing done) when `p` is no object the run owns or
// the field lies inside `p` itself: what the verifier refuses.
int KptrXchg(void* field, void* p, void** old);
// bpf_obj_free_fields()'s kptr case: the field is exchanged with NULL and
// the object it held loses that reference.
void KptrRelease(void* field);

// Whether [addr, addr + size) lies inside one live object.
bool InObject(uint64_t addr, uint64_t size);
// The start of the live object holding [addr, addr + size), or 0.
uint64_t ObjectOf(uint64_t addr, uint64_t size);
// Live objects in the process, and objects dropped at run end because the
// run still owned them.
uint64_t LiveObjects();
uint64_t LeakedObjects();
// The end of the outermost run on this thread (emu/prog.cc ProgRun): drops
// what the run still owns. Inline and without a call while the thread's
// runs own nothing (a run's fixed cost).
extern constinit thread_local bool run_owns;  // Own() sets it
void EndRunOwned();
inline void EndRun() {
  if (run_owns) EndRunOwned();
}

// The list kfuncs. `node` must be a bpf_list_node inside a live object the
// run owns: otherwise -EPERM and nothing changes (what the verifier
// refuses). A node already in a collection (an object with more than one
// owning reference, bpf_refcount_acquire's) is -EINVAL, and the reference
// passed is dropped, as __bpf_list_add does.
int ListPush(void* head, void* node, bool tail);
// NULL for an empty list (or a corrupted one); the node's object is owned
// by the run again.
void* ListPop(void* head, bool tail);
// bpf_list_front / bpf_list_back (6.18): the node, not taken off.
void* ListPeek(void* head, bool tail);

// bpf_rbtree_add_impl: `less(ctx, a, b)` is the program's callback.
using RbLess = bool (*)(void* ctx, void* a, const void* b);
int RbAdd(void* root, void* node, RbLess less, void* ctx);
void* RbFirst(void* root);
// bpf_rbtree_remove: NULL if `node` is not in `root`.
void* RbRemove(void* root, void* node);
// bpf_rbtree_root / bpf_rbtree_left / bpf_rbtree_right (6.16): the root
// node, and a node's children; NULL for none, and for a node that is not
// in `root` (the kernel's owner check).
void* RbRootNode(void* root);
void* RbChild(void* root, void* node, bool right);
// lib/rbtree.c's invariants over the tree at `root` (tests): the search
// order by `less`, parent links, the root black, no red node with a red
// child, the same black count on every path. The black height, or -1.
int RbCheck(void* root, RbLess less, void* ctx);

// Drops every object in the collections whose heads and roots (list heads
// and rb roots outside any object that have held something), and the
// objects in the kptr fields, that lie in [lo, hi): a map's memory about to
// be freed.
void ReleaseRange(uint64_t lo, uint64_t hi);

}  // namespace bpfemu::graph

#endif  // BPFEMU_EMU_GRAPH_OBJ_H_
