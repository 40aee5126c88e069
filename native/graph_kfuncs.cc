// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c's allocated objects, lists and
// rbtrees (bpf_obj_new_impl, bpf_obj_drop_impl, bpf_list_push_*_impl,
// bpf_list_pop_*, bpf_list_front / _back, bpf_rbtree_add_impl,
// bpf_rbtree_first, bpf_rbtree_remove): a natively built program's
// `extern ... __ksym` declarations (weak) resolve to these definitions. The
// work is emu/graph_obj.h's, which the interpreter's bindings
// (emu/kfunc.cc) call too.
//
// Natively bpf_obj_new_impl's first argument is the object's size, as the
// kernel's verifier rewrites it (fixup_kfunc_call): the native stand-in of
// bpf_obj_new (tests/examples/obj_graph.h) passes sizeof(type). What the
// interpreter stops a run for (a push of a node that is no owned object's,
// a drop of something else) gives -EINVAL / does nothing here, and the
// bpf_spin_lock rule is not checked (docs/semantics.md).

#include <linux/types.h>

#include <cerrno>

#include "bpfemu/native_abi.h"
#include "emu/cgroup.h"
#include "emu/cpu.h"
#include "emu/graph_obj.h"

extern "C" {

void* bpf_obj_new_impl(__u64 size, void* meta) {
  (void)meta;
  return bpfemu::graph::ObjNew(size);
}

void bpf_obj_drop_impl(void* p, void* meta) {
  (void)meta;
  (void)bpfemu::graph::ObjDrop(p);
}

// What the verifier refuses (-EPERM from graph_obj.h) is -EINVAL here.
static int KernelErr(int err) { return err == -EPERM ? -EINVAL : err; }

int bpf_list_push_front_impl(void* head, void* node, void* meta, __u64 off) {
  (void)meta, (void)off;
  return KernelErr(bpfemu::graph::ListPush(head, node, false));
}

int bpf_list_push_back_impl(void* head, void* node, void* meta, __u64 off) {
  (void)meta, (void)off;
  return KernelErr(bpfemu::graph::ListPush(head, node, true));
}

// kernel/bpf/helpers.c bpf_refcount_acquire_impl.
void* bpf_refcount_acquire_impl(void* p, void* meta) {
  (void)meta;
  return bpfemu::graph::RefcountAcquire(p);
}

void* bpf_list_pop_front(void* head) {
  return bpfemu::graph::ListPop(head, false);
}

void* bpf_list_pop_back(void* head) {
  return bpfemu::graph::ListPop(head, true);
}

void* bpf_list_front(void* head) {
  return bpfemu::graph::ListPeek(head, false);
}

void* bpf_list_back(void* head) { return bpfemu::graph::ListPeek(head, true); }

int bpf_rbtree_add_impl(void* root, void* node,
                        bool (*less)(void* a, const void* b), void* meta,
                        __u64 off) {
  (void)meta, (void)off;
  const auto call = [](void* ctx, void* a, const void* b) {
    return reinterpret_cast<bool (*)(void*, const void*)>(ctx)(a, b);
  };
  return KernelErr(
      bpfemu::graph::RbAdd(root, node, call, reinterpret_cast<void*>(less)));
}

// kernel/bpf/helpers.c bpf_kptr_xchg: what the bytecode face stops the run
// for (a ptr the program does not own) leaves the field as it is and gives
// NULL.
void* bpfemu_kptr_xchg(void* dst, void* ptr) {
  void* old = nullptr;
  if (bpfemu::graph::KptrXchg(dst, ptr, &old) != 0) return nullptr;
  return old;
}

// kernel/bpf/helpers.c bpf_percpu_obj_new_impl / _drop_impl: natively the
// first argument is the type's size, as for bpf_obj_new_impl.
void* bpf_percpu_obj_new_impl(__u64 size, void* meta) {
  (void)meta;
  return bpfemu::graph::PercpuObjNew(
      size, static_cast<uint32_t>(bpfemu::NumPossibleCpus()));
}

void bpf_percpu_obj_drop_impl(void* p, void* meta) {
  (void)meta;
  (void)bpfemu::graph::PercpuObjDrop(p);
}

// bpf_per_cpu_ptr / bpf_this_cpu_ptr (helpers 153, 154) on those objects.
void* bpfemu_per_cpu_ptr(const void* ptr, __u32 cpu) {
  bool is_percpu = false;
  return bpfemu::graph::PerCpuPtr(const_cast<void*>(ptr), cpu, &is_percpu);
}

void* bpfemu_this_cpu_ptr(const void* ptr) {
  return bpfemu_per_cpu_ptr(ptr, bpfemu_get_smp_processor_id());
}

// kernel/bpf/helpers.c bpf_cgroup_from_id / _acquire / _release over
// emu/cgroup.h's handles; natively a release of something else does
// nothing.
void* bpf_cgroup_from_id(__u64 cgid) { return bpfemu::CgroupRefFromId(cgid); }

void* bpf_cgroup_acquire(void* cgrp) { return bpfemu::CgroupRefAcquire(cgrp); }

void bpf_cgroup_release(void* cgrp) { (void)bpfemu::CgroupRefRelease(cgrp); }

void* bpf_rbtree_first(void* root) { return bpfemu::graph::RbFirst(root); }

// bpf_rbtree_root / _left / _right (6.16).
void* bpf_rbtree_root(void* root) { return bpfemu::graph::RbRootNode(root); }

void* bpf_rbtree_left(void* root, void* node) {
  return bpfemu::graph::RbChild(root, node, false);
}

void* bpf_rbtree_right(void* root, void* node) {
  return bpfemu::graph::RbChild(root, node, true);
}

void* bpf_rbtree_remove(void* root, void* node) {
  return bpfemu::graph::RbRemove(root, node);
}

}  // extern "C"
