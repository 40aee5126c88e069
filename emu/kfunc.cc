// SPDX-License-Identifier: Apache-2.0
// File: kfunc.cc
//
// The kfunc table and the verifier's kfunc-call checks (kfunc.h). Mirrors
// kernel/bpf/verifier.c (add_kfunc_call, find_kfunc_desc_btf,
// fetch_kfunc_meta, check_kfunc_call, fixup_kfunc_call), kernel/bpf/btf.c
// (btf_kfunc_id_set_contains, bpf_prog_type_to_kfunc_hook) and the
// registrations of kernel/bpf/helpers.c (common_btf_ids),
// kernel/bpf/bpf_iter.c (bpf_iter_num_*), kernel/bpf/arena.c
// (arena_kfuncs), kernel/bpf/map_iter.c (bpf_map_sum_elem_count) and
// net/core/filter.c (bpf_dynptr_from_skb / _from_xdp).

#include "emu/kfunc.h"

#include <linux/bpf.h>
#include <linux/btf.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "emu/cast_kfuncs.h"
#include "emu/cgroup.h"
#include "emu/cpu.h"
#include "emu/cpumask.h"
#include "emu/crypto_kfuncs.h"
#include "emu/css_iter_kfuncs.h"
#include "emu/ct_kfuncs.h"
#include "emu/dynptr_kern.h"
#include "emu/dynptr_kfuncs.h"
#include "emu/errno.h"
#include "emu/graph_obj.h"
#include "emu/iter_bits.h"
#include "emu/key_kfuncs.h"
#include "emu/kmem_iter_kfuncs.h"
#include "emu/lock_kfuncs.h"
#include "emu/pkt_kfuncs.h"
#include "emu/rstat_kfuncs.h"
#include "emu/sock_kern_kfuncs.h"
#include "emu/sock_kfuncs.h"
#include "emu/str_kfuncs.h"
#include "emu/stream.h"
#include "emu/task_cgroup_kfuncs.h"
#include "emu/task_iter_kfuncs.h"
#include "emu/task_kfuncs.h"
#include "emu/task_work_kfuncs.h"
#include "emu/tcp_ca.h"
#include "emu/test_run_kfuncs.h"
#include "emu/throw_kfuncs.h"
#include "emu/version.h"
#include "emu/wq_kfuncs.h"
#include "emu/xattr_kfuncs.h"
#include "emu/xdp_meta_kfuncs.h"
#include "emu/xfrm_kfuncs.h"

namespace bpfemu {

namespace {

// BPF_PROG_TYPE_NETFILTER (6.4), newer than the build's uapi headers.
constexpr uint32_t kProgTypeNetfilter = 32;

// include/linux/bpf.h BPF_MAX_LOOPS.
constexpr int64_t kMaxLoops = 8 * 1024 * 1024;

// kernel/bpf/bpf_iter.c struct bpf_iter_num_kern: the current value
// (inclusive) and the end (exclusive), in the 8 opaque bytes of struct
// bpf_iter_num.
struct IterNum {
  int32_t cur;
  int32_t end;
};
static_assert(sizeof(IterNum) == 8);

// include/linux/bpf.h struct bpf_dynptr_kern (emu/dynptr_kern.h).
using DynptrKern = dynptr::Kern;
constexpr uint64_t kDynptrKernSize = sizeof(DynptrKern);
constexpr uint32_t kDynptrSizeMask = dynptr::kSizeMask;
constexpr uint32_t kDynptrRdonlyBit = dynptr::kRdonlyBit;
constexpr uint32_t kDynptrTypeShift = dynptr::kTypeShift;
constexpr uint32_t kDynptrTypeLocal = dynptr::kTypeLocal;
constexpr uint32_t kDynptrTypeRingbuf = dynptr::kTypeRingbuf;
constexpr uint32_t kDynptrTypeSkb = dynptr::kTypeSkb;
constexpr uint32_t kDynptrTypeXdp = dynptr::kTypeXdp;

// The interpreter's side of each kfunc: its pointer arguments checked
// against what the run may touch (the verifier checks them at load), then
// the shared implementation.
uint64_t InterpIterNumNew(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t, uint64_t) {
  if (!vm.Writable(r1, sizeof(IterNum))) {
    vm.Fault("bpf_iter_num_new: R1 is not a writable 8-byte iterator");
  }
  const int ret =
      IterNumNew(reinterpret_cast<void*>(r1), static_cast<int32_t>(r2),
                 static_cast<int32_t>(r3));
  // An int return: the kernel's JITs leave it sign-extended in R0.
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpIterNumNext(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                           uint64_t, uint64_t) {
  if (!vm.Writable(r1, sizeof(IterNum))) {
    vm.Fault("bpf_iter_num_next: R1 is not a writable 8-byte iterator");
  }
  return reinterpret_cast<uint64_t>(IterNumNext(reinterpret_cast<void*>(r1)));
}

uint64_t InterpIterNumDestroy(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                              uint64_t, uint64_t) {
  if (!vm.Writable(r1, sizeof(IterNum))) {
    vm.Fault("bpf_iter_num_destroy: R1 is not a writable 8-byte iterator");
  }
  IterNumDestroy(reinterpret_cast<void*>(r1));
  return 0;
}

// bpf_rcu_read_lock / unlock: the emulator's maps need no RCU read side;
// the verifier's pairing checks have no counterpart (docs/interpreter.md).
uint64_t InterpNop(interp::Vm&, uint64_t, uint64_t, uint64_t, uint64_t,
                   uint64_t) {
  return 0;
}

// kernel/bpf/arena.c bpf_arena_alloc_pages / bpf_arena_free_pages: p__map
// is any map the program holds (KF_TRUSTED_ARGS: the verifier refuses
// anything else); one that is not the program's arena gives NULL / does
// nothing, as the kernel's map_type check. The work is the arena's
// (emu/arena.h ArenaMap::AllocPages / FreePages), which the native face
// (native/arena_kfuncs.cc) calls too.
uint64_t InterpArenaAllocPages(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t r5) {
  interp::ArenaWindow* arena = vm.ArenaOf(r1);
  if (arena == nullptr) {
    if (!vm.IsMapHandle(r1)) {
      vm.Fault("bpf_arena_alloc_pages: R1 is not a map");
    }
    return 0;
  }
  return arena->AllocPages(r2, static_cast<uint32_t>(r3),
                           static_cast<int32_t>(r4), r5);
}

uint64_t InterpArenaFreePages(interp::Vm& vm, uint64_t r1, uint64_t r2,
                              uint64_t r3, uint64_t, uint64_t) {
  interp::ArenaWindow* arena = vm.ArenaOf(r1);
  if (arena == nullptr) {
    if (!vm.IsMapHandle(r1)) {
      vm.Fault("bpf_arena_free_pages: R1 is not a map");
    }
    return 0;
  }
  arena->FreePages(r2, static_cast<uint32_t>(r3));
  return 0;
}

// The dynptr kfuncs (kernel/bpf/helpers.c): the dynptr arguments must be
// ones a helper initialized and the program left alone since (the
// verifier's is_dynptr_reg_valid_init; emu/dynptr_kern.h).
void NeedDynptr(interp::Vm& vm, uint64_t p, const char* name) {
  dynptr::Need(vm, p, name, 1);
}
uint64_t InterpDynptrAdjust(interp::Vm& vm, uint64_t r1, uint64_t r2,
                            uint64_t r3, uint64_t, uint64_t) {
  NeedDynptr(vm, r1, "bpf_dynptr_adjust");
  const int ret =
      DynptrAdjust(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2),
                   static_cast<uint32_t>(r3));
  dynptr::Mark(vm, r1);  // its offset and size changed
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}
uint64_t InterpDynptrIsNull(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t) {
  NeedDynptr(vm, r1, "bpf_dynptr_is_null");
  return DynptrIsNull(reinterpret_cast<void*>(r1)) ? 1 : 0;
}
uint64_t InterpDynptrIsRdonly(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                              uint64_t, uint64_t) {
  NeedDynptr(vm, r1, "bpf_dynptr_is_rdonly");
  return DynptrIsRdonly(reinterpret_cast<void*>(r1)) ? 1 : 0;
}
uint64_t InterpDynptrSize(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                          uint64_t, uint64_t) {
  NeedDynptr(vm, r1, "bpf_dynptr_size");
  return DynptrSize(reinterpret_cast<void*>(r1));  // a u32: zero-extended
}
uint64_t InterpDynptrClone(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                           uint64_t, uint64_t) {
  NeedDynptr(vm, r1, "bpf_dynptr_clone");
  if (!vm.Writable(r2, kDynptrKernSize)) {
    vm.Fault("bpf_dynptr_clone: R2 is not a writable 16-byte dynptr");
  }
  const int ret =
      DynptrClone(reinterpret_cast<void*>(r1), reinterpret_cast<void*>(r2));
  dynptr::Mark(vm, r2);  // a null clone too, as the verifier marks it
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

// bpf_dynptr_from_skb / _from_xdp: R1 the context (KF_TRUSTED_ARGS), R3
// the 16 bytes that become an initialized dynptr (null ones too).
void InterpDynptrFromCtx(interp::Vm& vm, uint64_t r1, uint64_t r3,
                         const char* name) {
  if (r1 != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("%s: R1 is not the context", name);
  }
  if (!vm.Writable(r3, kDynptrKernSize)) {
    vm.Fault("%s: R3 is not a writable 16-byte dynptr", name);
  }
  vm.RemoveRegion(r3);
  vm.AddRegion(r3, 0, false, kDynptrRegionTag);
}
uint64_t InterpDynptrFromSkb(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t, uint64_t) {
  InterpDynptrFromCtx(vm, r1, r3, "bpf_dynptr_from_skb");
  // The hooks hold program types whose context is no struct __sk_buff
  // (CGROUP_SOCK in the cgroup hook, NETFILTER, TRACING): the verifier
  // refuses their context as the argument.
  switch (vm.prog_type()) {
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_SK_SKB:
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL:
      break;
    default:
      vm.Fault("bpf_dynptr_from_skb: R1 is not a struct __sk_buff context");
  }
  const int ret = DynptrFromSkb(reinterpret_cast<void*>(r1), r2,
                                reinterpret_cast<void*>(r3), vm.prog_type());
  dynptr::Mark(vm, r3);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}
uint64_t InterpDynptrFromXdp(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t, uint64_t) {
  InterpDynptrFromCtx(vm, r1, r3, "bpf_dynptr_from_xdp");
  const int ret = DynptrFromXdp(reinterpret_cast<void*>(r1), r2,
                                reinterpret_cast<void*>(r3));
  dynptr::Mark(vm, r3);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}
// bpf_dynptr_slice(_rdwr): R3 NULL or `len` writable bytes (the
// verifier's buffer__opt / buffer__szk); the slice returned is memory the
// run may use, read-only for bpf_dynptr_slice (MEM_RDONLY).
template <bool kRdwr>
uint64_t InterpDynptrSlice(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t r4, uint64_t) {
  const char* name = kRdwr ? "bpf_dynptr_slice_rdwr" : "bpf_dynptr_slice";
  NeedDynptr(vm, r1, name);
  const auto len = static_cast<uint32_t>(r4);
  if (r3 != 0 && !vm.Writable(r3, len)) {
    vm.Fault("%s: R3 is neither NULL nor %u writable bytes", name, len);
  }
  auto* fn = kRdwr ? DynptrSliceRdwr : DynptrSlice;
  void* p = fn(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2),
               reinterpret_cast<void*>(r3), len);
  const auto addr = reinterpret_cast<uint64_t>(p);
  if (p != nullptr && addr != r3) vm.AddRegion(addr, len, kRdwr);
  return addr;
}

thread_local const BtfMapObject* current_btf_map = nullptr;
std::atomic<MapHandleElemCount> handle_elem_count{nullptr};

// bpf_map_sum_elem_count(const struct bpf_map *map), KF_TRUSTED_ARGS: the
// map an iterator shows, or one the program loaded.
uint64_t InterpMapSumElemCount(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                               uint64_t, uint64_t) {
  const BtfMapObject* m = current_btf_map;
  if (m != nullptr && r1 == reinterpret_cast<uint64_t>(m->addr)) {
    return static_cast<uint64_t>(m->sum_elem_count(m->arg));
  }
  const MapHandleElemCount by_handle =
      handle_elem_count.load(std::memory_order_acquire);
  if (by_handle == nullptr || !vm.IsMapHandle(r1)) {
    vm.Fault("bpf_map_sum_elem_count: R1 must be a trusted struct bpf_map");
  }
  return static_cast<uint64_t>(by_handle(r1));
}

// kernel/bpf/helpers.c's allocated objects, lists and rbtrees (the work is
// emu/graph_obj.h's, which the native face calls too). What the verifier
// proves at load is checked here and stops the run: the struct type of
// bpf_obj_new, owned objects for drop and push, and the bpf_spin_lock held
// around every list and rbtree call (check_reg_allocation_locked).
void NeedGraphLock(interp::Vm& vm, uint64_t head, uint64_t size,
                   const char* name, const char* what) {
  if (vm.held_lock() == 0) {
    vm.Fault("%s: bpf_spin_lock must be held for %s", name, what);
  }
  if (!vm.Writable(head, size)) vm.Fault("%s: R1 is not a %s", name, what);
}

uint64_t InterpObjNew(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                      uint64_t) {
  const int64_t size = vm.LocalTypeSize(static_cast<uint32_t>(r1));
  if (size <= 0) {
    vm.Fault("bpf_obj_new type ID argument must be of a struct");
  }
  return reinterpret_cast<uint64_t>(graph::ObjNew(static_cast<uint64_t>(size)));
}

uint64_t InterpObjDrop(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  if (graph::ObjDrop(reinterpret_cast<void*>(r1)) != 0) {
    vm.Fault("bpf_obj_drop: R1 must be an allocated object the program owns");
  }
  return 0;
}

template <bool kTail>
uint64_t InterpListPush(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                        uint64_t, uint64_t) {
  const char* name = kTail ? "bpf_list_push_back" : "bpf_list_push_front";
  NeedGraphLock(vm, r1, graph::kListHeadSize, name, "bpf_list_head");
  const int err = graph::ListPush(reinterpret_cast<void*>(r1),
                                  reinterpret_cast<void*>(r2), kTail);
  if (err == -EPERM) {
    vm.Fault("%s: R2 must be the bpf_list_node of an owned object", name);
  }
  return static_cast<uint64_t>(static_cast<int64_t>(err));
}

template <bool kTail>
uint64_t InterpListPop(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  NeedGraphLock(vm, r1, graph::kListHeadSize,
                kTail ? "bpf_list_pop_back" : "bpf_list_pop_front",
                "bpf_list_head");
  return reinterpret_cast<uint64_t>(
      graph::ListPop(reinterpret_cast<void*>(r1), kTail));
}

template <bool kTail>
uint64_t InterpListPeek(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                        uint64_t, uint64_t) {
  NeedGraphLock(vm, r1, graph::kListHeadSize,
                kTail ? "bpf_list_back" : "bpf_list_front", "bpf_list_head");
  return reinterpret_cast<uint64_t>(
      graph::ListPeek(reinterpret_cast<void*>(r1), kTail));
}

struct RbLessCall {
  interp::Vm* vm;
  uint64_t callback;
};

uint64_t InterpRbAdd(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                     uint64_t, uint64_t) {
  NeedGraphLock(vm, r1, graph::kRbRootSize, "bpf_rbtree_add", "bpf_rb_root");
  if (!vm.IsCallback(r3)) vm.Fault("bpf_rbtree_add: R3 is not a callback");
  RbLessCall call{&vm, r3};
  const auto less = [](void* ctx, void* a, const void* b) {
    auto* c = static_cast<RbLessCall*>(ctx);
    return c->vm->CallCallbackUnderLock(c->callback,
                                        reinterpret_cast<uint64_t>(a),
                                        reinterpret_cast<uint64_t>(b)) != 0;
  };
  const int err = graph::RbAdd(reinterpret_cast<void*>(r1),
                               reinterpret_cast<void*>(r2), less, &call);
  if (err == -EPERM) {
    vm.Fault("bpf_rbtree_add: R2 must be the bpf_rb_node of an owned object");
  }
  return static_cast<uint64_t>(static_cast<int64_t>(err));
}

uint64_t InterpRbFirst(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  NeedGraphLock(vm, r1, graph::kRbRootSize, "bpf_rbtree_first", "bpf_rb_root");
  return reinterpret_cast<uint64_t>(
      graph::RbFirst(reinterpret_cast<void*>(r1)));
}

// kfuncA47: bpf_rbtree_root(root) and bpf_rbtree_left / _right(root,
// node) (6.16): non-owning references, under the lock; the node must be a
// bpf_rb_node of an object (the verifier's PTR_TO_BTF_ID | NON_OWN_REF).
uint64_t InterpRbRoot(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                      uint64_t) {
  NeedGraphLock(vm, r1, graph::kRbRootSize, "bpf_rbtree_root", "bpf_rb_root");
  return reinterpret_cast<uint64_t>(
      graph::RbRootNode(reinterpret_cast<void*>(r1)));
}

template <bool kRight>
uint64_t InterpRbChild(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                       uint64_t, uint64_t) {
  const char* name = kRight ? "bpf_rbtree_right" : "bpf_rbtree_left";
  NeedGraphLock(vm, r1, graph::kRbRootSize, name, "bpf_rb_root");
  if (!graph::InObject(r2, graph::kRbNodeSize)) {
    vm.Fault("%s: R2 must be a bpf_rb_node of an object", name);
  }
  return reinterpret_cast<uint64_t>(graph::RbChild(
      reinterpret_cast<void*>(r1), reinterpret_cast<void*>(r2), kRight));
}

uint64_t InterpRbRemove(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                        uint64_t, uint64_t) {
  NeedGraphLock(vm, r1, graph::kRbRootSize, "bpf_rbtree_remove", "bpf_rb_root");
  return reinterpret_cast<uint64_t>(graph::RbRemove(
      reinterpret_cast<void*>(r1), reinterpret_cast<void*>(r2)));
}

// kptr46: kernel/bpf/helpers.c bpf_refcount_acquire_impl(p, meta): a new
// owning reference to an allocated object (emu/graph_obj.h
// RefcountAcquire). The verifier's proof that R1 is an object (owned, or in
// a collection under its lock) is checked here.
uint64_t InterpRefcountAcquire(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                               uint64_t, uint64_t) {
  void* p = graph::RefcountAcquire(reinterpret_cast<void*>(r1));
  if (p == nullptr) {
    vm.Fault("bpf_refcount_acquire: R1 must be an allocated object");
  }
  return reinterpret_cast<uint64_t>(p);
}

// kptr46: kernel/bpf/helpers.c bpf_percpu_obj_new_impl(type id, meta) and
// bpf_percpu_obj_drop_impl(p, meta) (emu/graph_obj.h PercpuObjNew). What
// the verifier refuses stops the run: a type that is no struct, or one over
// BPF_GLOBAL_PERCPU_MA_MAX_SIZE; a drop of anything but a per-CPU object
// the program owns.
uint64_t InterpPercpuObjNew(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t) {
  const int64_t size = vm.LocalTypeSize(static_cast<uint32_t>(r1));
  if (size <= 0) {
    vm.Fault("bpf_percpu_obj_new type ID argument must be of a struct");
  }
  if (static_cast<uint64_t>(size) > graph::kMaxPercpuObjSize) {
    vm.Fault("bpf_percpu_obj_new type size (%lld) is greater than %llu",
             static_cast<long long>(size),
             static_cast<unsigned long long>(graph::kMaxPercpuObjSize));
  }
  return reinterpret_cast<uint64_t>(graph::PercpuObjNew(
      static_cast<uint64_t>(size), static_cast<uint32_t>(NumPossibleCpus())));
}

uint64_t InterpPercpuObjDrop(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                             uint64_t, uint64_t) {
  if (graph::PercpuObjDrop(reinterpret_cast<void*>(r1)) != 0) {
    vm.Fault(
        "bpf_percpu_obj_drop: R1 must be a per-CPU object the program owns");
  }
  return 0;
}

// kptr46: kernel/bpf/helpers.c bpf_cgroup_from_id(cgid),
// bpf_cgroup_acquire(cgrp) and bpf_cgroup_release(cgrp) over emu/cgroup.h's
// handles. A release or acquire of anything but a handle (the verifier's
// trusted-pointer rule) stops the run.
uint64_t InterpCgroupFromId(interp::Vm&, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t) {
  return reinterpret_cast<uint64_t>(CgroupRefFromId(r1));
}

uint64_t InterpCgroupAcquire(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                             uint64_t, uint64_t) {
  void* c = CgroupRefAcquire(reinterpret_cast<void*>(r1));
  if (c == nullptr) vm.Fault("bpf_cgroup_acquire: R1 is not a struct cgroup");
  return reinterpret_cast<uint64_t>(c);
}

uint64_t InterpCgroupRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                             uint64_t, uint64_t) {
  if (CgroupRefRelease(reinterpret_cast<void*>(r1)) != 0) {
    vm.Fault(
        "bpf_cgroup_release: R1 must be a struct cgroup the program holds");
  }
  return 0;
}

constexpr uint32_t kCommon = HookBit(KfuncHook::kCommon);
// kernel/bpf/helpers.c generic_kfunc_set's program types.
constexpr uint32_t kGeneric =
    HookBit(KfuncHook::kTracing) | HookBit(KfuncHook::kTc) |
    HookBit(KfuncHook::kXdp) | HookBit(KfuncHook::kStructOps) |
    HookBit(KfuncHook::kSyscall) | HookBit(KfuncHook::kCgroup) |
    HookBit(KfuncHook::kSockOps);

// net/netfilter/nf_conntrack_bpf.c register_nf_conntrack_bpf's and
// nf_nat_bpf.c register_nf_nat_bpf's program types.
constexpr uint32_t kConntrack =
    HookBit(KfuncHook::kXdp) | HookBit(KfuncHook::kTc);

// kernel/bpf/cpumask.c cpumask_kfunc_init's program types.
constexpr uint32_t kCpumask = HookBit(KfuncHook::kTracing) |
                              HookBit(KfuncHook::kStructOps) |
                              HookBit(KfuncHook::kSyscall);

// net/bpf/test_run.c bpf_prog_test_run_init's program types.
constexpr uint32_t kTest61 = HookBit(KfuncHook::kTc) |
                             HookBit(KfuncHook::kTracing) |
                             HookBit(KfuncHook::kSyscall);

// The table. Kept sorted by nothing in particular: FindKfunc scans it (a
// load resolves each distinct kfunc once).
constexpr Kfunc kKfuncs[] = {
    // kernel/bpf/helpers.c common_btf_ids, registered for
    // BPF_PROG_TYPE_UNSPEC (every program type). bpf_iter_num_* came with
    // 6.4, bpf_rcu_read_* with 6.2: of the modelled versions, 6.12.
    {"bpf_iter_num_new", InterpIterNumNew, kCommon, kKfIterNew,
     KernelVersion::k6_12},
    {"bpf_iter_num_next", InterpIterNumNext, kCommon, kKfIterNext | kKfRetNull,
     KernelVersion::k6_12},
    {"bpf_iter_num_destroy", InterpIterNumDestroy, kCommon, kKfIterDestroy,
     KernelVersion::k6_12},
    {"bpf_rcu_read_lock", InterpNop, kCommon, 0, KernelVersion::k6_12},
    {"bpf_rcu_read_unlock", InterpNop, kCommon, 0, KernelVersion::k6_12},
    // The dynptr kfuncs of common_btf_ids, flags 0 (6.12 source; they came
    // with 6.5): of the modelled versions, 6.12.
    {"bpf_dynptr_adjust", InterpDynptrAdjust, kCommon, 0, KernelVersion::k6_12},
    {"bpf_dynptr_is_null", InterpDynptrIsNull, kCommon, 0,
     KernelVersion::k6_12},
    {"bpf_dynptr_is_rdonly", InterpDynptrIsRdonly, kCommon, 0,
     KernelVersion::k6_12},
    {"bpf_dynptr_size", InterpDynptrSize, kCommon, 0, KernelVersion::k6_12},
    {"bpf_dynptr_clone", InterpDynptrClone, kCommon, 0, KernelVersion::k6_12},
    // kernel/bpf/arena.c arena_kfuncs, registered for BPF_PROG_TYPE_UNSPEC
    // with KF_TRUSTED_ARGS | KF_SLEEPABLE (6.12 source; the type came with
    // 6.9): sleepable programs of any type.
    {"bpf_arena_alloc_pages", InterpArenaAllocPages, kCommon,
     kKfTrustedArgs | kKfSleepable, KernelVersion::k6_12},
    {"bpf_arena_free_pages", InterpArenaFreePages, kCommon,
     kKfTrustedArgs | kKfSleepable, KernelVersion::k6_12},
    // kernel/bpf/map_iter.c bpf_map_iter_kfunc_ids, registered for
    // BPF_PROG_TYPE_UNSPEC with KF_TRUSTED_ARGS (6.12 source; it came with
    // 6.6): of the modelled versions, 6.12.
    {"bpf_map_sum_elem_count", InterpMapSumElemCount, kCommon, kKfTrustedArgs,
     KernelVersion::k6_12},
    // net/core/filter.c bpf_kfunc_check_set_skb (KF_TRUSTED_ARGS), registered
    // in bpf_kfunc_init for SCHED_CLS, SCHED_ACT, SK_SKB, SOCKET_FILTER,
    // CGROUP_SKB (the CGROUP hook), the LWT types, NETFILTER and TRACING;
    // bpf_kfunc_check_set_xdp for XDP; kernel/bpf/helpers.c common_btf_ids'
    // bpf_dynptr_slice(_rdwr), KF_RET_NULL (6.12 source; they came with
    // 6.4): of the modelled versions, 6.12.
    {"bpf_dynptr_from_skb", InterpDynptrFromSkb,
     HookBit(KfuncHook::kTc) | HookBit(KfuncHook::kSchedAct) |
         HookBit(KfuncHook::kSockOps) | HookBit(KfuncHook::kSkSkb) |
         HookBit(KfuncHook::kSocketFilter) | HookBit(KfuncHook::kCgroup) |
         HookBit(KfuncHook::kLwt) | HookBit(KfuncHook::kNetfilter) |
         HookBit(KfuncHook::kTracing),
     kKfTrustedArgs, KernelVersion::k6_12},
    {"bpf_dynptr_from_xdp", InterpDynptrFromXdp, HookBit(KfuncHook::kXdp), 0,
     KernelVersion::k6_12},
    {"bpf_dynptr_slice", InterpDynptrSlice<false>, kCommon, kKfRetNull,
     KernelVersion::k6_12},
    {"bpf_dynptr_slice_rdwr", InterpDynptrSlice<true>, kCommon, kKfRetNull,
     KernelVersion::k6_12},
    // kernel/bpf/helpers.c generic_btf_ids, registered in kfunc_init for
    // TRACING, SCHED_CLS, XDP, STRUCT_OPS, SYSCALL and CGROUP_SKB (6.12
    // source); bpf_list_front / _back are 6.18's. kKfGraphApi marks the
    // ones callable under a bpf_spin_lock.
    {"bpf_obj_new_impl", InterpObjNew, kGeneric, kKfAcquire | kKfRetNull,
     KernelVersion::k6_12},
    {"bpf_obj_drop_impl", InterpObjDrop, kGeneric, kKfRelease,
     KernelVersion::k6_12},
    {"bpf_list_push_front_impl", InterpListPush<false>, kGeneric, kKfGraphApi,
     KernelVersion::k6_12},
    {"bpf_list_push_back_impl", InterpListPush<true>, kGeneric, kKfGraphApi,
     KernelVersion::k6_12},
    {"bpf_list_pop_front", InterpListPop<false>, kGeneric,
     kKfAcquire | kKfRetNull | kKfGraphApi, KernelVersion::k6_12},
    {"bpf_list_pop_back", InterpListPop<true>, kGeneric,
     kKfAcquire | kKfRetNull | kKfGraphApi, KernelVersion::k6_12},
    {"bpf_rbtree_remove", InterpRbRemove, kGeneric,
     kKfAcquire | kKfRetNull | kKfGraphApi, KernelVersion::k6_12},
    {"bpf_rbtree_add_impl", InterpRbAdd, kGeneric, kKfGraphApi,
     KernelVersion::k6_12},
    {"bpf_rbtree_first", InterpRbFirst, kGeneric, kKfRetNull | kKfGraphApi,
     KernelVersion::k6_12},
    // net/netfilter/nf_conntrack_bpf.c nf_ct_kfunc_set (6.0/6.1: 6.1 of the
    // modelled versions, measured in the 6.1 guest) and nf_nat_bpf.c
    // nf_nat_kfunc_set (6.2: 6.12), registered for XDP and SCHED_CLS.
    // 6.1's bpf_ct_opts is 12 bytes only (CtOptsHaveZone). emu/ct_kfuncs.h.
    {"bpf_xdp_ct_alloc", ct::InterpXdpAlloc, kConntrack,
     kKfAcquire | kKfRetNull, KernelVersion::k6_1},
    {"bpf_xdp_ct_lookup", ct::InterpXdpLookup, kConntrack,
     kKfAcquire | kKfRetNull, KernelVersion::k6_1},
    {"bpf_skb_ct_alloc", ct::InterpSkbAlloc, kConntrack,
     kKfAcquire | kKfRetNull, KernelVersion::k6_1},
    {"bpf_skb_ct_lookup", ct::InterpSkbLookup, kConntrack,
     kKfAcquire | kKfRetNull, KernelVersion::k6_1},
    {"bpf_ct_insert_entry", ct::InterpInsert, kConntrack,
     kKfAcquire | kKfRetNull | kKfRelease, KernelVersion::k6_1},
    {"bpf_ct_release", ct::InterpRelease, kConntrack, kKfRelease,
     KernelVersion::k6_1},
    {"bpf_ct_set_timeout", ct::InterpSetTimeout, kConntrack, kKfTrustedArgs,
     KernelVersion::k6_1},
    {"bpf_ct_change_timeout", ct::InterpChangeTimeout, kConntrack,
     kKfTrustedArgs, KernelVersion::k6_1},
    {"bpf_ct_set_status", ct::InterpSetStatus, kConntrack, kKfTrustedArgs,
     KernelVersion::k6_1},
    {"bpf_ct_change_status", ct::InterpChangeStatus, kConntrack, kKfTrustedArgs,
     KernelVersion::k6_1},
    {"bpf_ct_set_nat_info", ct::InterpSetNatInfo, kConntrack, kKfTrustedArgs,
     KernelVersion::k6_12},
    // kfuncA47: generic_btf_ids' rbtree walk (6.16: 6.18 only of the
    // modelled versions), KF_RET_NULL.
    {"bpf_rbtree_root", InterpRbRoot, kGeneric, kKfRetNull | kKfGraphApi,
     KernelVersion::k6_18},
    {"bpf_rbtree_left", InterpRbChild<false>, kGeneric,
     kKfRetNull | kKfGraphApi, KernelVersion::k6_18},
    {"bpf_rbtree_right", InterpRbChild<true>, kGeneric,
     kKfRetNull | kKfGraphApi, KernelVersion::k6_18},
    {"bpf_list_front", InterpListPeek<false>, kGeneric,
     kKfRetNull | kKfGraphApi, KernelVersion::k6_18},
    {"bpf_list_back", InterpListPeek<true>, kGeneric, kKfRetNull | kKfGraphApi,
     KernelVersion::k6_18},
    // generic_btf_ids' task kfuncs (6.12 source; 6.2's), emu/task_kfuncs.h.
    {"bpf_task_acquire", InterpTaskAcquire, kGeneric,
     kKfAcquire | kKfRcu | kKfRetNull, KernelVersion::k6_12},
    {"bpf_task_release", InterpTaskRelease, kGeneric, kKfRelease,
     KernelVersion::k6_12},
    {"bpf_task_from_pid", InterpTaskFromPid, kGeneric, kKfAcquire | kKfRetNull,
     KernelVersion::k6_12},
    // kernel/bpf/helpers.c's string kfuncs (6.18: common_btf_ids, every
    // program type, flags 0; none of them in 6.12), emu/str_kfuncs.h.
    {"bpf_strcmp", strk::InterpStrcmp, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strcasecmp", strk::InterpStrcasecmp, kCommon, 0,
     KernelVersion::k6_18},
    {"bpf_strchr", strk::InterpStrchr, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strchrnul", strk::InterpStrchrnul, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strnchr", strk::InterpStrnchr, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strrchr", strk::InterpStrrchr, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strlen", strk::InterpStrlen, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strnlen", strk::InterpStrnlen, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strspn", strk::InterpStrspn, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strcspn", strk::InterpStrcspn, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strstr", strk::InterpStrstr, kCommon, 0, KernelVersion::k6_18},
    {"bpf_strnstr", strk::InterpStrnstr, kCommon, 0, KernelVersion::k6_18},
    // kernel/bpf/helpers.c common_btf_ids' bit iterator (6.11; 6.12 source),
    // emu/iter_bits.h.
    {"bpf_iter_bits_new", InterpIterBitsNew, kCommon, kKfIterNew,
     KernelVersion::k6_12},
    {"bpf_iter_bits_next", InterpIterBitsNext, kCommon,
     kKfIterNext | kKfRetNull, KernelVersion::k6_12},
    {"bpf_iter_bits_destroy", InterpIterBitsDestroy, kCommon, kKfIterDestroy,
     KernelVersion::k6_12},
    // kernel/bpf/cpumask.c cpumask_kfunc_set, registered for TRACING,
    // STRUCT_OPS and SYSCALL (6.12 source; the set came with 6.3, of the
    // modelled versions 6.12; bpf_cpumask_populate is 6.16's), emu/cpumask.h.
    {"bpf_cpumask_create", cpumask::InterpCreate, kCpumask,
     kKfAcquire | kKfRetNull, KernelVersion::k6_12},
    {"bpf_cpumask_release", cpumask::InterpRelease, kCpumask, kKfRelease,
     KernelVersion::k6_12},
    {"bpf_cpumask_acquire", cpumask::InterpAcquire, kCpumask,
     kKfAcquire | kKfTrustedArgs, KernelVersion::k6_12},
    {"bpf_cpumask_first", cpumask::InterpFirst, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_first_zero", cpumask::InterpFirstZero, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_first_and", cpumask::InterpFirstAnd, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_set_cpu", cpumask::InterpSetCpu, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_clear_cpu", cpumask::InterpClearCpu, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_test_cpu", cpumask::InterpTestCpu, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_test_and_set_cpu", cpumask::InterpTestAndSetCpu, kCpumask,
     kKfRcu, KernelVersion::k6_12},
    {"bpf_cpumask_test_and_clear_cpu", cpumask::InterpTestAndClearCpu, kCpumask,
     kKfRcu, KernelVersion::k6_12},
    {"bpf_cpumask_setall", cpumask::InterpSetAll, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_clear", cpumask::InterpClear, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_and", cpumask::InterpAnd, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_or", cpumask::InterpOr, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_xor", cpumask::InterpXor, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_equal", cpumask::InterpEqual, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_intersects", cpumask::InterpIntersects, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_subset", cpumask::InterpSubset, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_empty", cpumask::InterpEmpty, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_full", cpumask::InterpFull, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_copy", cpumask::InterpCopy, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_any_distribute", cpumask::InterpAnyDistribute, kCpumask,
     kKfRcu, KernelVersion::k6_12},
    {"bpf_cpumask_any_and_distribute", cpumask::InterpAnyAndDistribute,
     kCpumask, kKfRcu, KernelVersion::k6_12},
    {"bpf_cpumask_weight", cpumask::InterpWeight, kCpumask, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_cpumask_populate", cpumask::InterpPopulate, kCpumask, kKfRcu,
     KernelVersion::k6_18},
    // kptr46: generic_btf_ids' bpf_refcount_acquire_impl (6.12 source; it
    // came with 6.4), KF_ACQUIRE | KF_RET_NULL | KF_RCU.
    {"bpf_refcount_acquire_impl", InterpRefcountAcquire, kGeneric,
     kKfAcquire | kKfRetNull, KernelVersion::k6_12},
    // kptr46: generic_btf_ids' bpf_percpu_obj_new_impl (KF_ACQUIRE |
    // KF_RET_NULL) and bpf_percpu_obj_drop_impl (KF_RELEASE), 6.7.
    {"bpf_percpu_obj_new_impl", InterpPercpuObjNew, kGeneric,
     kKfAcquire | kKfRetNull, KernelVersion::k6_12},
    {"bpf_percpu_obj_drop_impl", InterpPercpuObjDrop, kGeneric, kKfRelease,
     KernelVersion::k6_12},
    // kptr46: generic_btf_ids' cgroup kfuncs (6.2; modelled: 6.12).
    {"bpf_cgroup_acquire", InterpCgroupAcquire, kGeneric,
     kKfAcquire | kKfRetNull, KernelVersion::k6_12},
    {"bpf_cgroup_release", InterpCgroupRelease, kGeneric, kKfRelease,
     KernelVersion::k6_12},
    {"bpf_cgroup_from_id", InterpCgroupFromId, kGeneric,
     kKfAcquire | kKfRetNull, KernelVersion::k6_12},
    // kfuncB47: generic_btf_ids' task / cgroup kfuncs,
    // emu/task_cgroup_kfuncs.h: bpf_cgroup_ancestor (6.2),
    // bpf_task_under_cgroup (6.5), bpf_task_get_cgroup1 (6.8); 6.13's
    // bpf_task_from_vpid and bpf_send_signal_task (kernel/trace/bpf_trace.c,
    // in generic_btf_ids under CONFIG_BPF_EVENTS) of 6.18 only.
    {"bpf_cgroup_ancestor", InterpCgroupAncestor, kGeneric,
     kKfAcquire | kKfRcu | kKfRetNull, KernelVersion::k6_12},
    {"bpf_task_under_cgroup", InterpTaskUnderCgroup, kGeneric, kKfRcu,
     KernelVersion::k6_12},
    {"bpf_task_get_cgroup1", InterpTaskGetCgroup1, kGeneric,
     kKfAcquire | kKfRcu | kKfRetNull, KernelVersion::k6_12},
    {"bpf_task_from_vpid", InterpTaskFromVpid, kGeneric,
     kKfAcquire | kKfRetNull, KernelVersion::k6_18},
    {"bpf_send_signal_task", InterpSendSignalTask, kGeneric, kKfTrustedArgs,
     KernelVersion::k6_18},
    // kfuncB47: kernel/bpf/task_iter.c's open-coded iterators in
    // common_btf_ids (every program type), emu/task_iter_kfuncs.h;
    // bpf_iter_task_vma_* came with 6.7, bpf_iter_task_* with 6.8.
    {"bpf_iter_task_vma_new", InterpIterTaskVmaNew, kCommon,
     kKfIterNew | kKfRcu, KernelVersion::k6_12},
    {"bpf_iter_task_vma_next", InterpIterTaskVmaNext, kCommon,
     kKfIterNext | kKfRetNull, KernelVersion::k6_12},
    {"bpf_iter_task_vma_destroy", InterpIterTaskVmaDestroy, kCommon,
     kKfIterDestroy, KernelVersion::k6_12},
    {"bpf_iter_task_new", InterpIterTaskNew, kCommon,
     kKfIterNew | kKfTrustedArgs | kKfRcuProtected, KernelVersion::k6_12},
    {"bpf_iter_task_next", InterpIterTaskNext, kCommon,
     kKfIterNext | kKfRetNull, KernelVersion::k6_12},
    {"bpf_iter_task_destroy", InterpIterTaskDestroy, kCommon, kKfIterDestroy,
     KernelVersion::k6_12},
    // kfuncB47: kernel/bpf/helpers.c's workqueue kfuncs in common_btf_ids,
    // flags 0 (6.10), emu/wq_kfuncs.h.
    {"bpf_wq_init", InterpWqInit, kCommon, 0, KernelVersion::k6_12},
    {"bpf_wq_set_callback_impl", InterpWqSetCallback, kCommon, 0,
     KernelVersion::k6_12},
    {"bpf_wq_start", InterpWqStart, kCommon, 0, KernelVersion::k6_12},
    // tw50: the task_work kfuncs of common_btf_ids (6.18, KF_TRUSTED_ARGS),
    // emu/task_work_kfuncs.h.
    {"bpf_task_work_schedule_signal_impl", InterpTaskWorkScheduleSignal,
     kCommon, kKfTrustedArgs, KernelVersion::k6_18},
    {"bpf_task_work_schedule_resume_impl", InterpTaskWorkScheduleResume,
     kCommon, kKfTrustedArgs, KernelVersion::k6_18},
    // kfuncB47: the css iterators of common_btf_ids (6.7),
    // emu/css_iter_kfuncs.h.
    {"bpf_iter_css_task_new", InterpIterCssTaskNew, kCommon,
     kKfIterNew | kKfTrustedArgs, KernelVersion::k6_12},
    {"bpf_iter_css_task_next", InterpIterCssTaskNext, kCommon,
     kKfIterNext | kKfRetNull, KernelVersion::k6_12},
    {"bpf_iter_css_task_destroy", InterpIterCssTaskDestroy, kCommon,
     kKfIterDestroy, KernelVersion::k6_12},
    {"bpf_iter_css_new", InterpIterCssNew, kCommon,
     kKfIterNew | kKfTrustedArgs | kKfRcuProtected, KernelVersion::k6_12},
    {"bpf_iter_css_next", InterpIterCssNext, kCommon, kKfIterNext | kKfRetNull,
     KernelVersion::k6_12},
    {"bpf_iter_css_destroy", InterpIterCssDestroy, kCommon, kKfIterDestroy,
     KernelVersion::k6_12},
    // kfuncA47: kernel/bpf/helpers.c common_btf_ids' bpf_dynptr_copy
    // (6.14) and bpf_dynptr_memset (6.17), flags 0: 6.18 only of the
    // modelled versions (emu/dynptr_kfuncs.h).
    {"bpf_dynptr_copy", dynk::InterpCopy, kCommon, 0, KernelVersion::k6_18},
    {"bpf_dynptr_memset", dynk::InterpMemset, kCommon, 0, KernelVersion::k6_18},
    // kfuncA47: common_btf_ids' bpf_cast_to_kern_ctx and bpf_rdonly_cast
    // (6.2: 6.12 of the modelled versions), flags 0 (6.18 adds
    // bpf_fastcall), emu/cast_kfuncs.h.
    {"bpf_cast_to_kern_ctx", castk::InterpCastToKernCtx, kCommon, 0,
     KernelVersion::k6_12},
    {"bpf_rdonly_cast", castk::InterpRdonlyCast, kCommon, 0,
     KernelVersion::k6_12},
    // kfuncA47: common_btf_ids' bpf_preempt_disable / _enable (6.10: 6.12
    // of the modelled versions), bpf_local_irq_save / _restore (6.14) and
    // kernel/bpf/rqspinlock.c's resilient locks (6.15), flags 0 (6.18 only
    // of the modelled versions), emu/lock_kfuncs.h.
    {"bpf_preempt_disable", lockk::InterpPreemptDisable, kCommon, 0,
     KernelVersion::k6_12},
    {"bpf_preempt_enable", lockk::InterpPreemptEnable, kCommon, 0,
     KernelVersion::k6_12},
    {"bpf_local_irq_save", lockk::InterpIrqSave, kCommon, 0,
     KernelVersion::k6_18},
    {"bpf_local_irq_restore", lockk::InterpIrqRestore, kCommon, 0,
     KernelVersion::k6_18},
    {"bpf_res_spin_lock", lockk::InterpResLock, kCommon, 0,
     KernelVersion::k6_18},
    {"bpf_res_spin_unlock", lockk::InterpResUnlock, kCommon, 0,
     KernelVersion::k6_18},
    {"bpf_res_spin_lock_irqsave", lockk::InterpResLockIrqsave, kCommon, 0,
     KernelVersion::k6_18},
    {"bpf_res_spin_unlock_irqrestore", lockk::InterpResUnlockIrqrestore,
     kCommon, 0, KernelVersion::k6_18},
    // kfuncA47: kernel/trace/bpf_trace.c's dynptr copies (6.16, in
    // common_btf_ids; the copy_from_user ones KF_SLEEPABLE, the task ones
    // also KF_TRUSTED_ARGS) and helpers.c bpf_copy_from_user_str (6.12,
    // KF_SLEEPABLE) / bpf_copy_from_user_task_str (6.15, KF_SLEEPABLE |
    // KF_TRUSTED_ARGS), emu/dynptr_kfuncs.h.
    {"bpf_probe_read_user_dynptr",
     dynk::InterpCopyToDynptr<dynk::DynptrCopy::kProbeReadUser>, kCommon, 0,
     KernelVersion::k6_18},
    {"bpf_probe_read_kernel_dynptr",
     dynk::InterpCopyToDynptr<dynk::DynptrCopy::kProbeReadKernel>, kCommon, 0,
     KernelVersion::k6_18},
    {"bpf_probe_read_user_str_dynptr",
     dynk::InterpCopyToDynptr<dynk::DynptrCopy::kProbeReadUserStr>, kCommon, 0,
     KernelVersion::k6_18},
    {"bpf_probe_read_kernel_str_dynptr",
     dynk::InterpCopyToDynptr<dynk::DynptrCopy::kProbeReadKernelStr>, kCommon,
     0, KernelVersion::k6_18},
    {"bpf_copy_from_user_dynptr",
     dynk::InterpCopyToDynptr<dynk::DynptrCopy::kCopyFromUser>, kCommon,
     kKfSleepable, KernelVersion::k6_18},
    {"bpf_copy_from_user_str_dynptr",
     dynk::InterpCopyToDynptr<dynk::DynptrCopy::kCopyFromUserStr>, kCommon,
     kKfSleepable, KernelVersion::k6_18},
    {"bpf_copy_from_user_task_dynptr",
     dynk::InterpCopyToDynptr<dynk::DynptrCopy::kCopyFromUserTask>, kCommon,
     kKfSleepable | kKfTrustedArgs, KernelVersion::k6_18},
    {"bpf_copy_from_user_task_str_dynptr",
     dynk::InterpCopyToDynptr<dynk::DynptrCopy::kCopyFromUserTaskStr>, kCommon,
     kKfSleepable | kKfTrustedArgs, KernelVersion::k6_18},
    {"bpf_copy_from_user_str", dynk::InterpCopyFromUserStr, kCommon,
     kKfSleepable, KernelVersion::k6_12},
    {"bpf_copy_from_user_task_str", dynk::InterpCopyFromUserTaskStr, kCommon,
     kKfSleepable | kKfTrustedArgs, KernelVersion::k6_18},
    // kfy48: kernel/bpf/crypto.c crypto_kfunc_init (6.10: 6.12 of the
    // modelled versions): crypt_init_kfunc_set for SYSCALL, crypt_kfunc_set
    // for SCHED_CLS, SCHED_ACT and XDP, emu/crypto_kfuncs.h.
    {"bpf_crypto_ctx_create", cryptok::InterpCtxCreate,
     HookBit(KfuncHook::kSyscall), kKfAcquire | kKfRetNull | kKfSleepable,
     KernelVersion::k6_12},
    {"bpf_crypto_ctx_release", cryptok::InterpCtxRelease,
     HookBit(KfuncHook::kSyscall), kKfRelease, KernelVersion::k6_12},
    {"bpf_crypto_ctx_acquire", cryptok::InterpCtxAcquire,
     HookBit(KfuncHook::kSyscall), kKfAcquire | kKfRcu | kKfRetNull,
     KernelVersion::k6_12},
    {"bpf_crypto_decrypt", cryptok::InterpDecrypt,
     HookBit(KfuncHook::kTc) | HookBit(KfuncHook::kSchedAct) |
         HookBit(KfuncHook::kXdp),
     kKfRcu, KernelVersion::k6_12},
    {"bpf_crypto_encrypt", cryptok::InterpEncrypt,
     HookBit(KfuncHook::kTc) | HookBit(KfuncHook::kSchedAct) |
         HookBit(KfuncHook::kXdp),
     kKfRcu, KernelVersion::k6_12},
    // kfy48: common_btf_ids' slab-cache kfuncs (kernel/bpf/kmem_cache_iter.c,
    // 6.14; mm/slab_common.c bpf_get_kmem_cache, 6.13) and dma-buf
    // iterator (kernel/bpf/dmabuf_iter.c, 6.16): of the modelled versions,
    // 6.18. The iterators are KF_SLEEPABLE, emu/kmem_iter_kfuncs.h.
    {"bpf_get_kmem_cache", kmemk::InterpGetKmemCache, kCommon, kKfRetNull,
     KernelVersion::k6_18},
    {"bpf_iter_kmem_cache_new", kmemk::InterpIterKmemCacheNew, kCommon,
     kKfIterNew | kKfSleepable, KernelVersion::k6_18},
    {"bpf_iter_kmem_cache_next", kmemk::InterpIterKmemCacheNext, kCommon,
     kKfIterNext | kKfRetNull | kKfSleepable, KernelVersion::k6_18},
    {"bpf_iter_kmem_cache_destroy", kmemk::InterpIterKmemCacheDestroy, kCommon,
     kKfIterDestroy | kKfSleepable, KernelVersion::k6_18},
    {"bpf_iter_dmabuf_new", kmemk::InterpIterDmabufNew, kCommon,
     kKfIterNew | kKfSleepable, KernelVersion::k6_18},
    {"bpf_iter_dmabuf_next", kmemk::InterpIterDmabufNext, kCommon,
     kKfIterNext | kKfRetNull | kKfSleepable, KernelVersion::k6_18},
    {"bpf_iter_dmabuf_destroy", kmemk::InterpIterDmabufDestroy, kCommon,
     kKfIterDestroy | kKfSleepable, KernelVersion::k6_18},
    // kfy48: net/xfrm/xfrm_state_bpf.c xfrm_state_kfunc_set, registered for
    // XDP (6.8: 6.12 of the modelled versions), emu/xfrm_kfuncs.h.
    {"bpf_xdp_get_xfrm_state", xfrmk::InterpGetXfrmState,
     HookBit(KfuncHook::kXdp), kKfRetNull | kKfAcquire, KernelVersion::k6_12},
    {"bpf_xdp_xfrm_state_release", xfrmk::InterpXfrmStateRelease,
     HookBit(KfuncHook::kXdp), kKfRelease, KernelVersion::k6_12},
    // kfy48: kernel/trace/bpf_trace.c key_sig_kfunc_set (6.1).
    // 6.1 and 6.12 register it for TRACING only; 6.18 offers it to
    // generic_kfunc_set's program types (measured by
    // //kernel_compare:helper_offer_compare_test). emu/key_kfuncs.h.
    {"bpf_lookup_user_key", keyk::InterpLookupUserKey, kGeneric,
     kKfAcquire | kKfRetNull | kKfSleepable, KernelVersion::k6_1,
     HookBit(KfuncHook::kTracing), KernelVersion::k6_18},
    {"bpf_lookup_system_key", keyk::InterpLookupSystemKey, kGeneric,
     kKfAcquire | kKfRetNull, KernelVersion::k6_1, HookBit(KfuncHook::kTracing),
     KernelVersion::k6_18},
    {"bpf_key_put", keyk::InterpKeyPut, kGeneric, kKfRelease,
     KernelVersion::k6_1, HookBit(KfuncHook::kTracing), KernelVersion::k6_18},
    // kfy48: net/core/filter.c bpf_kfunc_set_tcp_reqsk, registered for
    // SCHED_CLS with KF_TRUSTED_ARGS (6.9: 6.12 of the modelled versions),
    // emu/sock_kfuncs.h.
    {"bpf_sk_assign_tcp_reqsk", sockk::InterpSkAssignTcpReqsk,
     HookBit(KfuncHook::kTc), kKfTrustedArgs, KernelVersion::k6_12},
    // kfx48: bpf_throw of generic_btf_ids (6.7: 6.12 of the modelled
    // versions) and common_btf_ids' __bpf_trap (6.16: 6.18 only), flags 0,
    // emu/throw_kfuncs.h.
    {"bpf_throw", throwk::InterpThrow, kGeneric, 0, KernelVersion::k6_12},
    {"__bpf_trap", throwk::InterpTrap, kCommon, 0, KernelVersion::k6_18},
    // kfx48: common_btf_ids' bpf_stream_vprintk_impl (6.17 as
    // bpf_stream_vprintk, 6.18's name: 6.18 only), flags 0, emu/stream.h.
    {"bpf_stream_vprintk_impl", InterpStreamVprintk, kCommon, 0,
     KernelVersion::k6_18},
    // kfx48: net/core/xdp.c xdp_metadata_kfunc_set, registered for every
    // program type (6.3; rx_vlan_tag 6.8: 6.12 of the modelled versions),
    // flags 0, emu/xdp_meta_kfuncs.h.
    {"bpf_xdp_metadata_rx_timestamp", xdpmeta::InterpRxTimestamp, kCommon, 0,
     KernelVersion::k6_12},
    {"bpf_xdp_metadata_rx_hash", xdpmeta::InterpRxHash, kCommon, 0,
     KernelVersion::k6_12},
    {"bpf_xdp_metadata_rx_vlan_tag", xdpmeta::InterpRxVlanTag, kCommon, 0,
     KernelVersion::k6_12},
    // kfx48: fs/bpf_fs_kfuncs.c bpf_cgroup_read_xattr, registered for every
    // program type (6.17: 6.18 only), KF_RCU, emu/xattr_kfuncs.h.
    {"bpf_cgroup_read_xattr", xattrk::InterpCgroupReadXattr, kCommon, kKfRcu,
     KernelVersion::k6_18},
    // kfx48: net/bpf/test_run.c bpf_prog_test_kfunc_set's release kfuncs
    // (SCHED_CLS, TRACING, SYSCALL; in 6.1's set, with the other test
    // kfuncs below), KF_RELEASE, emu/test_run_kfuncs.h.
    {"bpf_kfunc_call_test_release", testk::InterpTestRelease,
     HookBit(KfuncHook::kTc) | HookBit(KfuncHook::kTracing) |
         HookBit(KfuncHook::kSyscall),
     kKfRelease, KernelVersion::k6_1},
    {"bpf_kfunc_call_memb_release", testk::InterpMembRelease,
     HookBit(KfuncHook::kTc) | HookBit(KfuncHook::kTracing) |
         HookBit(KfuncHook::kSyscall),
     kKfRelease, KernelVersion::k6_1},
    // kfn50: kernel/cgroup/rstat.c bpf_rstat_kfunc_ids' css_rstat_updated
    // (6.16, registered for TRACING; flags 0), emu/rstat_kfuncs.h.
    {"css_rstat_updated", rstatk::InterpCssRstatUpdated,
     HookBit(KfuncHook::kTracing), 0, KernelVersion::k6_18},
    // kfn50: the rest of 6.1's test_sk_check_kfunc_ids (SCHED_CLS, TRACING,
    // SYSCALL), offered at 6.1 only (6.2 moved them to bpf_testmod),
    // emu/test_run_kfuncs.h.
    {"bpf_kfunc_call_test1", testk::InterpTest1, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test2", testk::InterpTest2, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test3", testk::InterpTest3, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_acquire", testk::InterpTestAcquire, kTest61,
     kKfAcquire | kKfRetNull, KernelVersion::k6_1, 0, KernelVersion::k6_1,
     KernelVersion::k6_1},
    {"bpf_kfunc_call_memb_acquire", testk::InterpMembAcquire, kTest61,
     kKfAcquire | kKfRetNull, KernelVersion::k6_1, 0, KernelVersion::k6_1,
     KernelVersion::k6_1},
    {"bpf_kfunc_call_memb1_release", testk::InterpRefused, kTest61, kKfRelease,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_get_rdwr_mem", testk::InterpGetRdwrMem, kTest61,
     kKfRetNull, KernelVersion::k6_1, 0, KernelVersion::k6_1,
     KernelVersion::k6_1},
    {"bpf_kfunc_call_test_get_rdonly_mem", testk::InterpGetRdonlyMem, kTest61,
     kKfRetNull, KernelVersion::k6_1, 0, KernelVersion::k6_1,
     KernelVersion::k6_1},
    {"bpf_kfunc_call_test_acq_rdonly_mem", testk::InterpRefused, kTest61,
     kKfAcquire | kKfRetNull, KernelVersion::k6_1, 0, KernelVersion::k6_1,
     KernelVersion::k6_1},
    {"bpf_kfunc_call_int_mem_release", testk::InterpRefused, kTest61,
     kKfRelease, KernelVersion::k6_1, 0, KernelVersion::k6_1,
     KernelVersion::k6_1},
    // And KF_KPTR_GET (6.1's bit 3; bpfemu records no such flag).
    {"bpf_kfunc_call_test_kptr_get", testk::InterpKptrGet, kTest61,
     kKfAcquire | kKfRetNull, KernelVersion::k6_1, 0, KernelVersion::k6_1,
     KernelVersion::k6_1},
    {"bpf_kfunc_call_test_pass_ctx", testk::InterpPassCtx, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_pass1", testk::InterpPass1, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_pass2", testk::InterpPass2, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_fail1", testk::InterpRefused, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_fail2", testk::InterpRefused, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_fail3", testk::InterpRefused, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_mem_len_pass1", testk::InterpMemLenPass1, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_mem_len_fail1", testk::InterpRefused, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_mem_len_fail2", testk::InterpMemLenFail2, kTest61, 0,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    // KF_TRUSTED_ARGS: bit 4 on 6.1 as later.
    {"bpf_kfunc_call_test_ref", testk::InterpTestRef, kTest61, kKfTrustedArgs,
     KernelVersion::k6_1, 0, KernelVersion::k6_1, KernelVersion::k6_1},
    {"bpf_kfunc_call_test_destructive", testk::InterpDestructive, kTest61,
     kKfDestructive, KernelVersion::k6_1, 0, KernelVersion::k6_1,
     KernelVersion::k6_1},
    // kfn49: kernel/bpf/helpers.c common_btf_ids' bpf_modify_return_test_tp
    // (net/bpf/test_run.c; every program type, flags 0; 6.12 of the
    // modelled versions), emu/test_run_kfuncs.h.
    {"bpf_modify_return_test_tp", testk::InterpModifyReturnTestTp, kCommon, 0,
     KernelVersion::k6_12},
    // kfn49: net/core/filter.c bpf_kfunc_check_set_skb_meta (SCHED_CLS and
    // SCHED_ACT, KF_TRUSTED_ARGS) and bpf_kfunc_check_set_xdp's
    // bpf_xdp_pull_data (XDP, flags 0); both 6.18's, emu/pkt_kfuncs.h.
    {"bpf_dynptr_from_skb_meta", pktk::InterpDynptrFromSkbMeta,
     HookBit(KfuncHook::kTc) | HookBit(KfuncHook::kSchedAct), kKfTrustedArgs,
     KernelVersion::k6_18},
    {"bpf_xdp_pull_data", pktk::InterpXdpPullData, HookBit(KfuncHook::kXdp), 0,
     KernelVersion::k6_18},
    // kfn49: net/core/filter.c bpf_kfunc_set_sock_addr's
    // bpf_sock_addr_set_sun_path (6.7: 6.12 of the modelled versions) and
    // bpf_kfunc_set_sock_ops' bpf_sock_ops_enable_tx_tstamp (6.15: 6.18),
    // offered on 6.18 to the cgroup hook's types and sock_ops (measured,
    // tools/kfunc_offer.txt), flags 0; every call bpfemu can reach is one
    // the verifier refuses, emu/sock_kern_kfuncs.h.
    {"bpf_sock_addr_set_sun_path", sockk::InterpSetSunPath,
     HookBit(KfuncHook::kCgroup) | HookBit(KfuncHook::kSockOps), 0,
     KernelVersion::k6_12},
    {"bpf_sock_ops_enable_tx_tstamp", sockk::InterpEnableTxTstamp,
     HookBit(KfuncHook::kCgroup) | HookBit(KfuncHook::kSockOps), 0,
     KernelVersion::k6_18},
    // sops50: net/ipv4/bpf_tcp_ca.c bpf_tcp_ca_check_kfunc_ids, registered
    // for BPF_PROG_TYPE_STRUCT_OPS (5.13; every modelled version), flags 0:
    // net/ipv4/tcp_cong.c's arithmetic on the congestion control's socket,
    // emu/tcp_ca.h.
    {"tcp_reno_ssthresh", tcpca::InterpRenoSsthresh,
     HookBit(KfuncHook::kStructOps), 0, KernelVersion::k6_1},
    {"tcp_reno_cong_avoid", tcpca::InterpRenoCongAvoid,
     HookBit(KfuncHook::kStructOps), 0, KernelVersion::k6_1},
    {"tcp_reno_undo_cwnd", tcpca::InterpRenoUndoCwnd,
     HookBit(KfuncHook::kStructOps), 0, KernelVersion::k6_1},
    {"tcp_slow_start", tcpca::InterpSlowStart, HookBit(KfuncHook::kStructOps),
     0, KernelVersion::k6_1},
    {"tcp_cong_avoid_ai", tcpca::InterpCongAvoidAi,
     HookBit(KfuncHook::kStructOps), 0, KernelVersion::k6_1},
};

// kernel/bpf/btf.c bpf_prog_type_to_kfunc_hook as a table: each program
// type's hook and the first modelled version that has it (HasWideKfuncHooks:
// 6.1 has only the XDP, TC, STRUCT_OPS, TRACING and SYSCALL ones). Measured
// on 6.18 (//kernel_compare:helper_offer_compare_test): sock_ops programs
// get generic_kfunc_set and bpf_dynptr_from_skb; 6.12 has no such hook.
struct ProgTypeHook {
  uint32_t prog_type;
  KfuncHook hook;
  KernelVersion since;
};
constexpr ProgTypeHook kProgTypeHooks[] = {
    {BPF_PROG_TYPE_XDP, KfuncHook::kXdp, KernelVersion::k6_1},
    {BPF_PROG_TYPE_SCHED_CLS, KfuncHook::kTc, KernelVersion::k6_1},
    {BPF_PROG_TYPE_STRUCT_OPS, KfuncHook::kStructOps, KernelVersion::k6_1},
    {BPF_PROG_TYPE_TRACING, KfuncHook::kTracing, KernelVersion::k6_1},
    {BPF_PROG_TYPE_LSM, KfuncHook::kTracing, KernelVersion::k6_1},
    {BPF_PROG_TYPE_SYSCALL, KfuncHook::kSyscall, KernelVersion::k6_1},
    {BPF_PROG_TYPE_UNSPEC, KfuncHook::kCommon, KernelVersion::k6_12},
    {BPF_PROG_TYPE_TRACEPOINT, KfuncHook::kTracing, KernelVersion::k6_12},
    {BPF_PROG_TYPE_PERF_EVENT, KfuncHook::kTracing, KernelVersion::k6_12},
    {BPF_PROG_TYPE_CGROUP_SKB, KfuncHook::kCgroup, KernelVersion::k6_12},
    {BPF_PROG_TYPE_CGROUP_SOCK, KfuncHook::kCgroup, KernelVersion::k6_12},
    {BPF_PROG_TYPE_CGROUP_DEVICE, KfuncHook::kCgroup, KernelVersion::k6_12},
    {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, KfuncHook::kCgroup, KernelVersion::k6_12},
    {BPF_PROG_TYPE_CGROUP_SOCKOPT, KfuncHook::kCgroup, KernelVersion::k6_12},
    {BPF_PROG_TYPE_CGROUP_SYSCTL, KfuncHook::kCgroup, KernelVersion::k6_12},
    {BPF_PROG_TYPE_SCHED_ACT, KfuncHook::kSchedAct, KernelVersion::k6_12},
    {BPF_PROG_TYPE_SK_SKB, KfuncHook::kSkSkb, KernelVersion::k6_12},
    {BPF_PROG_TYPE_SOCKET_FILTER, KfuncHook::kSocketFilter,
     KernelVersion::k6_12},
    {BPF_PROG_TYPE_LWT_OUT, KfuncHook::kLwt, KernelVersion::k6_12},
    {BPF_PROG_TYPE_LWT_IN, KfuncHook::kLwt, KernelVersion::k6_12},
    {BPF_PROG_TYPE_LWT_XMIT, KfuncHook::kLwt, KernelVersion::k6_12},
    {BPF_PROG_TYPE_LWT_SEG6LOCAL, KfuncHook::kLwt, KernelVersion::k6_12},
    {kProgTypeNetfilter, KfuncHook::kNetfilter, KernelVersion::k6_12},
    {BPF_PROG_TYPE_KPROBE, KfuncHook::kKprobe, KernelVersion::k6_12},
    {BPF_PROG_TYPE_SOCK_OPS, KfuncHook::kSockOps, KernelVersion::k6_18},
};

}  // namespace

KfuncHook KfuncHookOf(uint32_t prog_type) {
  for (const ProgTypeHook& e : kProgTypeHooks) {
    if (e.prog_type != prog_type) continue;
    return HasKfunc(TargetKernel(), e.since) ? e.hook : KfuncHook::kNone;
  }
  return KfuncHook::kNone;
}

std::span<const Kfunc> AllKfuncs() { return kKfuncs; }

void SetCurrentBtfMap(const BtfMapObject* obj) { current_btf_map = obj; }
const BtfMapObject* CurrentBtfMap() { return current_btf_map; }

void SetMapHandleElemCount(MapHandleElemCount fn) {
  handle_elem_count.store(fn, std::memory_order_release);
}

const Kfunc* FindKfunc(std::string_view name) {
  for (const Kfunc& k : kKfuncs) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

bool KfuncAllowed(const Kfunc& k, uint32_t prog_type, KernelVersion v) {
  if (!HasKfunc(v, k.since_min)) return false;
  if (static_cast<uint32_t>(v) > static_cast<uint32_t>(k.until)) return false;
  const uint32_t hooks =
      k.hooks_before != 0 &&
              static_cast<uint32_t>(v) < static_cast<uint32_t>(k.hooks_since)
          ? k.hooks_before
          : k.hooks;
  if ((hooks & HookBit(KfuncHook::kCommon)) && HasWideKfuncHooks(v)) {
    return true;
  }
  const KfuncHook hook = KfuncHookOf(prog_type);
  return hook != KfuncHook::kNone && (hooks & HookBit(hook)) != 0;
}

int ResolveKfuncCall(const KernelBtf* btf, const KfuncCall& call,
                     const Kfunc** out, std::string* log) {
  auto refuse = [log](int err, const std::string& line) {
    if (log != nullptr) absl::StrAppend(log, line, "\n");
    return err;
  };
  // add_kfunc_call(), on a program's first kfunc call.
  if (btf == nullptr) {
    return refuse(-kENOTSUPP,
                  "calling kernel function is not supported without "
                  "CONFIG_DEBUG_INFO_BTF");
  }
  if (!call.gpl_compatible) {
    return refuse(-EINVAL,
                  "cannot call kernel function from non-GPL compatible "
                  "program");
  }
  // find_kfunc_desc_btf(): off selects a module's BTF through fd_array.
  if (call.off < 0) {
    return refuse(-EINVAL,
                  "negative offset disallowed for kernel module function "
                  "call");
  }
  if (call.off > 0) {
    if (!call.has_fd_array) {
      return refuse(-EPROTO, "kfunc offset > 0 without fd_array is invalid");
    }
    // The emulated kernel has no modules: whatever fd_array holds, it is
    // not a module's BTF.
    return refuse(-EINVAL, "BTF fd for kfunc is not a module BTF");
  }
  // imm 0: the kernel waits for dead-code elimination and refuses the call
  // in fixup_kfunc_call if it is still there; bpfemu has no such pass.
  if (call.imm == 0) {
    return refuse(-EINVAL,
                  "invalid kernel function call not eliminated in verifier "
                  "pass");
  }
  const uint32_t id = static_cast<uint32_t>(call.imm);
  if (btf->Kind(id) != BTF_KIND_FUNC) {
    return refuse(-EINVAL,
                  absl::StrCat("kernel btf_id ", id, " is not a function"));
  }
  if (btf->Kind(btf->Type(id)->type) != BTF_KIND_FUNC_PROTO) {
    return refuse(-EINVAL, absl::StrCat("kernel function btf_id ", id,
                                        " does not have a valid func_proto"));
  }
  const std::string name(btf->Name(id));
  // add_kfunc_call() -> bpf_dev_bound_kfunc_check() (kfx48): the XDP
  // metadata kfuncs need a program bound to a device, for every program
  // type. bpfemu binds none (emu/prog.h ProgDevBoundInit answers
  // EOPNOTSUPP first), so every call is refused here, as the 6.18 host
  // refuses a program that is not bound (emu/xdp_meta_kfuncs.h).
  if (xdpmeta::IsDevBoundKfunc(name) &&
      TargetKernel() >= KernelVersion::k6_12) {
    return refuse(-EINVAL, "metadata kfuncs require device-bound program");
  }
  // add_kfunc_call() -> btf_distill_func_proto() (kernel/bpf/btf.c), before
  // check_kfunc_call asks the program type's sets: a FUNC with no call
  // model (more than MAX_BPF_FUNC_ARGS (12) parameters, variable arguments,
  // a struct return, a parameter of no register size or a struct of more
  // than 16 bytes by value, an empty struct) is EINVAL for every program
  // type (measured: bpf_log, bpf_verifier_log_write and bpf_trace_run12 in
  // the 6.1 and 6.12 guests; bpf_trace_run7..11 there,
  // bpf_modify_return_test2 on the 6.18 host reach "is not allowed";
  // kernel_compare/interp_compare_test KfuncCallModelsGetTheKernelsRefusal).
  BtfFuncModel model;
  if (int err = DistillFuncProto(*btf, btf->Type(id)->type, name, &model, log);
      err != 0) {
    return err;
  }
  // check_kfunc_call() -> fetch_kfunc_meta(): a FUNC the program type's
  // sets do not hold.
  const Kfunc* k = FindKfunc(name);
  if (k == nullptr || !KfuncAllowed(*k, call.prog_type, TargetKernel())) {
    return refuse(-EACCES, absl::StrCat("calling kernel function ", name,
                                        " is not allowed"));
  }
  // capable(CAP_SYS_BOOT): bpfemu's caller is root unless it opted out
  // (emu/version.h CallerPrivileged); 6.1 words the line in the plural.
  if ((k->flags & kKfDestructive) && !CallerPrivileged()) {
    return refuse(-EACCES, TargetKernel() == KernelVersion::k6_1
                               ? "destructive kfunc calls require "
                                 "CAP_SYS_BOOT capabilities"
                               : "destructive kfunc calls require "
                                 "CAP_SYS_BOOT capability");
  }
  // 6.1's check_kfunc_call checks the arguments (btf_check_kfunc_arg_match)
  // before the sleepable flag (that check came later in the function with
  // 6.2's rework), so a non-sleepable program's call with an argument that
  // does not fit gets the argument's EINVAL. Modelled for the one sleepable
  // kfunc 6.1 offers with arguments bpfemu can judge at load:
  // bpf_lookup_user_key(u32 serial, u64 flags), whose two scalars may be
  // neither the context nor a register nothing wrote ("R%d is not a
  // scalar", btf.c).
  if ((k->flags & kKfSleepable) && !call.sleepable &&
      TargetKernel() == KernelVersion::k6_1 && name == "bpf_lookup_user_key") {
    for (int r = 1; r <= 2; ++r) {
      if ((call.arg_regs >> (2 * (r - 1)) & 3) != 0) {
        return refuse(-EINVAL, absl::StrCat("R", r, " is not a scalar"));
      }
    }
  }
  if ((k->flags & kKfSleepable) && !call.sleepable) {
    return refuse(-EACCES,
                  absl::StrCat("program must be sleepable to call sleepable "
                               "kfunc ",
                               name));
  }
  // bpf_dynptr_slice_rdwr: the 6.18 host refuses every call at load
  // (measured in tests/examples/dynptr_compare_test.cc, in tc, socket
  // filter and XDP programs alike); 6.12's check_kfunc_call refuses it
  // where the program type may not write packet data.
  if (name == "bpf_dynptr_slice_rdwr") {
    if (TargetKernel() >= KernelVersion::k6_18) {
      return refuse(-EPERM, "bpf_dynptr_slice_rdwr() is not allowed");
    }
    if (!ProgMayWritePacket(call.prog_type)) {
      return refuse(-EINVAL, "the prog does not allow writes to packet data");
    }
  }
  if (const char* line = testk::RefusedAtLoad(name.c_str()); line != nullptr) {
    return refuse(-EINVAL, line);
  }
  *out = k;
  return 0;
}

bool KfuncCallableUnderLock(interp::HelperFn fn) {
  for (const Kfunc& k : kKfuncs) {
    if (k.fn == fn) return (k.flags & kKfGraphApi) != 0;
  }
  return false;
}

int LinkKfunc(int32_t imm, int16_t off, const interp::LoadAttr& attr,
              interp::HelperFn* fn, std::string* log) {
  KfuncCall call;
  call.imm = imm;
  call.off = off;
  call.prog_type = attr.prog_type;
  call.gpl_compatible = attr.gpl_compatible;
  call.sleepable = attr.sleepable;
  call.has_fd_array = attr.has_fd_array;
  call.arg_regs = attr.kfunc_arg_regs;
  const Kfunc* k = nullptr;
  if (int err = ResolveKfuncCall(KernelBtf::Get(), call, &k, log); err != 0) {
    return err;
  }
  *fn = k->fn;
  return 0;
}

int IterNumNew(void* it, int32_t start, int32_t end) {
  IterNum s;
  if (start > end) {
    s = {0, 0};
    std::memcpy(it, &s, sizeof(s));
    return -EINVAL;
  }
  // In 64 bits: INT_MIN .. INT_MAX must not overflow.
  if (int64_t{end} - int64_t{start} > kMaxLoops) {
    s = {0, 0};
    std::memcpy(it, &s, sizeof(s));
    return -E2BIG;
  }
  // _next() moves to `start` first; start - 1 may wrap (INT_MIN).
  s.cur = static_cast<int32_t>(static_cast<uint32_t>(start) - 1u);
  s.end = end;
  std::memcpy(it, &s, sizeof(s));
  return 0;
}

int32_t* IterNumNext(void* it) {
  IterNum s;
  std::memcpy(&s, it, sizeof(s));
  // cur + 1 in 32 bits, wrapping as the kernel's (it is built with
  // -fno-strict-overflow), then compared in 64: an iterator whose cur
  // wrapped to INT_MAX (start INT_MIN) still yields INT_MIN first.
  const int32_t next = static_cast<int32_t>(static_cast<uint32_t>(s.cur) + 1u);
  if (int64_t{next} >= int64_t{s.end}) {
    s = {0, 0};
    std::memcpy(it, &s, sizeof(s));
    return nullptr;
  }
  s.cur = next;
  std::memcpy(it, &s, sizeof(s));
  return &static_cast<IterNum*>(it)->cur;
}

void IterNumDestroy(void* it) {
  const IterNum s = {0, 0};
  std::memcpy(it, &s, sizeof(s));
}

int DynptrAdjust(void* p, uint32_t start, uint32_t end) {
  auto* d = static_cast<DynptrKern*>(p);
  if (d->data == nullptr || start > end) return -EINVAL;
  const uint32_t size = d->size & kDynptrSizeMask;
  if (start > size || end > size) return -ERANGE;
  d->offset += start;
  d->size = (d->size & ~kDynptrSizeMask) | (end - start);
  return 0;
}

bool DynptrIsNull(const void* p) {
  return static_cast<const DynptrKern*>(p)->data == nullptr;
}

bool DynptrIsRdonly(const void* p) {
  const auto* d = static_cast<const DynptrKern*>(p);
  return d->data != nullptr && (d->size & kDynptrRdonlyBit) != 0;
}

uint32_t DynptrSize(const void* p) {
  const auto* d = static_cast<const DynptrKern*>(p);
  if (d->data == nullptr) return static_cast<uint32_t>(-EINVAL);
  return d->size & kDynptrSizeMask;
}

int DynptrClone(const void* p, void* clone) {
  const auto* d = static_cast<const DynptrKern*>(p);
  auto* c = static_cast<DynptrKern*>(clone);
  if (d->data == nullptr) {
    *c = DynptrKern{};
    return -EINVAL;
  }
  *c = *d;
  return 0;
}

namespace {
std::atomic<const DynptrPacketOps*> packet_ops{nullptr};

// bpf_dynptr_init(): the memory, offset 0, the size and the type.
void DynptrInit(void* ptr, void* data, uint32_t size, uint32_t type) {
  *static_cast<DynptrKern*>(ptr) =
      DynptrKern{data, size | (type << kDynptrTypeShift), 0};
}

// bpf_dynptr_check_off_len(): [offset, offset + len) within the size.
bool DynptrRangeFits(const DynptrKern& d, uint32_t offset, uint32_t len) {
  const uint32_t size = d.size & kDynptrSizeMask;
  return len <= size && offset <= size - len;
}
}  // namespace

void SetDynptrPacketOps(const DynptrPacketOps* ops) {
  packet_ops.store(ops, std::memory_order_release);
}

bool ProgMayWritePacket(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_XDP:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_SK_SKB:
    case BPF_PROG_TYPE_SK_MSG:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
      return true;
    default:
      return false;
  }
}

int DynptrFromSkb(void* skb, uint64_t flags, void* ptr, uint32_t prog_type) {
  if (flags != 0) {
    *static_cast<DynptrKern*>(ptr) = DynptrKern{};
    return -EINVAL;
  }
  DynptrInit(ptr, skb, static_cast<const struct __sk_buff*>(skb)->len,
             kDynptrTypeSkb);
  // bpf_dynptr_from_skb_rdonly, which specialize_kfunc calls instead.
  if (!ProgMayWritePacket(prog_type)) {
    static_cast<DynptrKern*>(ptr)->size |= kDynptrRdonlyBit;
  }
  return 0;
}

int DynptrFromXdp(void* xdp, uint64_t flags, void* ptr) {
  const DynptrPacketOps* ops = packet_ops.load(std::memory_order_acquire);
  if (flags != 0 || ops == nullptr) {
    *static_cast<DynptrKern*>(ptr) = DynptrKern{};
    return -EINVAL;
  }
  DynptrInit(ptr, xdp, ops->xdp_buff_len(xdp), kDynptrTypeXdp);
  return 0;
}

void* DynptrSlice(const void* ptr, uint32_t offset, void* buffer,
                  uint32_t len) {
  const auto* d = static_cast<const DynptrKern*>(ptr);
  if (d->data == nullptr || !DynptrRangeFits(*d, offset, len)) return nullptr;
  const uint32_t type = (d->size & ~kDynptrRdonlyBit) >> kDynptrTypeShift;
  const DynptrPacketOps* ops = packet_ops.load(std::memory_order_acquire);
  // The packet offset is a u32 sum, as the kernel's.
  const uint32_t at = d->offset + offset;
  switch (type) {
    case kDynptrTypeLocal:
    case kDynptrTypeRingbuf:
      return static_cast<uint8_t*>(d->data) + at;
    case kDynptrTypeSkb:
      return ops != nullptr ? ops->skb_slice(d->data, at, buffer, len)
                            : nullptr;
    case kDynptrTypeXdp:
      return ops != nullptr ? ops->xdp_slice(d->data, at, buffer, len)
                            : nullptr;
    default:
      return nullptr;
  }
}

void* DynptrSliceRdwr(const void* ptr, uint32_t offset, void* buffer,
                      uint32_t len) {
  const auto* d = static_cast<const DynptrKern*>(ptr);
  if (d->data == nullptr || (d->size & kDynptrRdonlyBit) != 0) return nullptr;
  return DynptrSlice(ptr, offset, buffer, len);
}

namespace {
// The crypto kfuncs' __bpf_dynptr_data / _data_rw (emu/crypto_kfuncs.h).
void* CryptoDynptrData(const void* ptr, uint32_t len, bool rdwr) {
  return rdwr ? DynptrSliceRdwr(ptr, 0, nullptr, len)
              : DynptrSlice(ptr, 0, nullptr, len);
}
[[maybe_unused]] const bool kCryptoDataSet =
    (cryptok::SetDynptrData(&CryptoDynptrData), true);
}  // namespace

}  // namespace bpfemu
