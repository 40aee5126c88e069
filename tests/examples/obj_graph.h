/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocated objects, linked lists and rbtrees for BPF C (issue 24): the
 * types of include/uapi/linux/bpf.h (6.2+, absent from older uapi headers),
 * the kfuncs of kernel/bpf/helpers.c and the macros over them, in the
 * manner of the kernel selftests' bpf_experimental.h.
 *
 * For the BPF target bpf_obj_new passes the local BTF id of the type
 * (a CO-RE TYPE_ID_LOCAL relocation), which the verifier turns into the
 * size; natively (emu/graph_obj.h, native/graph_kfuncs.cc) it passes that
 * size itself.
 */
#ifndef BPFEMU_EXAMPLES_OBJ_GRAPH_H_
#define BPFEMU_EXAMPLES_OBJ_GRAPH_H_

#include <linux/types.h>
#include <stdbool.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

struct bpf_list_head {
  __u64 __opaque[2];
} __attribute__((aligned(8)));

struct bpf_list_node {
  __u64 __opaque[3];
} __attribute__((aligned(8)));

struct bpf_rb_root {
  __u64 __opaque[2];
} __attribute__((aligned(8)));

struct bpf_rb_node {
  __u64 __opaque[4];
} __attribute__((aligned(8)));

/* 6.4: an object's reference count (bpf_refcount_acquire). */
struct bpf_refcount {
  __u32 __opaque[1];
} __attribute__((aligned(4)));

/* A kptr field of a map value: the BTF type tag the kernel looks for
 * (kernel/bpf/btf.c btf_find_kptr); natively a plain pointer. */
#ifdef __bpf__
#ifndef __kptr
#define __kptr __attribute__((btf_type_tag("kptr")))
#endif
#define __percpu_kptr __attribute__((btf_type_tag("percpu_kptr")))
#else
#undef __kptr
#define __kptr
#define __percpu_kptr
#endif

#ifdef __bpf__
/* The graph's node type and field, as the verifier reads them from BTF. */
#define __contains(name, node) \
  __attribute__((btf_decl_tag("contains:" #name ":" #node)))
#define bpf_obj_new(type) \
  ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
#else
#define __contains(name, node)
#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(sizeof(type), NULL))
#endif

/* A global in its own data section, with the lock that guards it. */
#define private(name) SEC(".data." #name) __hidden __attribute__((aligned(8)))

#ifndef container_of
#define container_of(ptr, type, member) \
  ((type *)((void *)(ptr) - __builtin_offsetof(type, member)))
#endif

extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym;
extern int bpf_list_push_front_impl(struct bpf_list_head *head,
                                    struct bpf_list_node *node, void *meta,
                                    __u64 off) __ksym;
extern int bpf_list_push_back_impl(struct bpf_list_head *head,
                                   struct bpf_list_node *node, void *meta,
                                   __u64 off) __ksym;
extern struct bpf_list_node *bpf_list_pop_front(
    struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_pop_back(
    struct bpf_list_head *head) __ksym;
/* 6.18: the first and last node, left on the list. */
extern struct bpf_list_node *bpf_list_front(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_back(struct bpf_list_head *head) __ksym;
extern int bpf_rbtree_add_impl(struct bpf_rb_root *root,
                               struct bpf_rb_node *node,
                               bool (*less)(struct bpf_rb_node *a,
                                            const struct bpf_rb_node *b),
                               void *meta, __u64 off) __ksym;
extern struct bpf_rb_node *bpf_rbtree_first(struct bpf_rb_root *root) __ksym;
extern struct bpf_rb_node *bpf_rbtree_remove(struct bpf_rb_root *root,
                                             struct bpf_rb_node *node) __ksym;

#define bpf_obj_drop(kptr) bpf_obj_drop_impl(kptr, NULL)
#define bpf_list_push_front(head, node) \
  bpf_list_push_front_impl(head, node, NULL, 0)
#define bpf_list_push_back(head, node) \
  bpf_list_push_back_impl(head, node, NULL, 0)
#define bpf_rbtree_add(root, node, less) \
  bpf_rbtree_add_impl(root, node, less, NULL, 0)

/* 6.4: a new owning reference to an object with a struct bpf_refcount. */
extern void *bpf_refcount_acquire_impl(void *kptr, void *meta) __ksym;
/* 6.7: per-CPU objects, reached through bpf_per_cpu_ptr / bpf_this_cpu_ptr.
 */
extern void *bpf_percpu_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_percpu_obj_drop_impl(void *kptr, void *meta) __ksym;
#ifdef __bpf__
#define bpf_percpu_obj_new(type)                                               \
  ((type __percpu_kptr *)bpf_percpu_obj_new_impl(bpf_core_type_id_local(type), \
                                                 NULL))
#else
#define bpf_percpu_obj_new(type) \
  ((type *)bpf_percpu_obj_new_impl(sizeof(type), NULL))
#endif
#define bpf_percpu_obj_drop(kptr) bpf_percpu_obj_drop_impl(kptr, NULL)

#define bpf_refcount_acquire(kptr) \
  ((__typeof__(kptr))bpf_refcount_acquire_impl(kptr, NULL))

#endif /* BPFEMU_EXAMPLES_OBJ_GRAPH_H_ */
