/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C interface between a natively compiled BPF source and the bpfemu
 * runtime (//native:helpers, //native:registry): the helper entry points
 * the stand-in <bpf/bpf_helper_defs.h> forwards to, and the object tables that
 * loader/gen_native emits for each source (maps from its ".maps"
 * section, programs from its SEC() functions).
 *
 * A map definition (`struct { __uint(type, ...); ... } name SEC(".maps")`)
 * is, natively, a struct of unused pointers. Loading the object stores a
 * struct bpfemu_map_fast pointer in its first pointer, so a helper finds the
 * emulated map from `&name` in O(1).
 */
#ifndef BPFEMU_NATIVE_ABI_H_
#define BPFEMU_NATIVE_ABI_H_

#include <linux/types.h>
#include <stdarg.h>
#include <sys/rseq.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bpf_spin_lock;
struct bpf_dynptr;

/* What a struct bpf_dynptr (16 opaque bytes) holds natively, as the
 * kernel's struct bpf_dynptr_kern (include/linux/bpf.h): the memory, its
 * size in the low 24 bits of `size` (the type above them), and an offset. */
struct bpfemu_dynptr {
  void *data;
  __u32 size;
  __u32 offset;
};

struct bpfemu_map_def {
  const char *name;
  void *def; /* the map definition variable */
  __u32 type, key_size, value_size, max_entries, map_flags, numa_node;
  __u32 pinning;
  __s32 spin_lock_off; /* struct bpf_spin_lock in the value, or -1 */
  /* Map-in-map: the inner definition of `__array(values, ...)`, or zeros. */
  __u32 inner_type, inner_key_size, inner_value_size, inner_max_entries;
  __u32 inner_map_flags;
  __s32 timer_off; /* struct bpf_timer in the value, or -1 */
  /* The value's __kptr / __percpu_kptr members: how many, their offsets,
   * bit i set for a __percpu_kptr. */
  __u32 nkptrs;
  __s32 kptr_off[8];
  __u32 kptr_percpu;
  /* struct bpf_wq in the value + 1, or 0 (older generated rows). */
  __s32 wq_off_plus1;
  /* struct bpf_task_work in the value + 1, or 0 (older generated rows). */
  __s32 task_work_off_plus1;
};

struct bpfemu_prog_def {
  const char *name;
  const char *section; /* the SEC() name, e.g. "xdp", "tc", "raw_tp/x" */
  int (*func)(void *ctx);
};

/* An `extern ... __kconfig` variable: storage in the native object that
 * the loader fills for the target kernel at load (loader/kconfig.h), and
 * what the object's BTF says of it (libbpf's find_kcfg_type). */
struct bpfemu_kconfig_def {
  const char *name;
  void *addr;
  unsigned kind; /* loader/kconfig.h KconfigExtern::Kind */
  unsigned size, align;
  int is_signed, weak;
};

struct bpfemu_object_def {
  const char *name; /* the source's stem: "counter" for counter.bpf.c */
  const struct bpfemu_map_def *maps;
  unsigned nmaps;
  const struct bpfemu_prog_def *progs;
  unsigned nprogs;
  const char *license;
  const struct bpfemu_kconfig_def *kconfig;
  unsigned nkconfig;
};

/* What a loaded map definition's first pointer points to: enough for the
 * inline fast path of array and per-CPU array lookups (the kernel's
 * verifier inlines those too, array_map_gen_lookup and
 * percpu_array_map_gen_lookup), then the runtime's own handle. */
struct bpfemu_map_fast {
  void *array_values; /* BPF_MAP_TYPE_ARRAY: element 0's value; else NULL */
  __u32 array_slot;   /* bytes from one element's value to the next */
  __u32 max_entries;
  void *impl; /* the runtime's handle */
  /* BPF_MAP_TYPE_PERCPU_ARRAY: element 0's CPU 0 value, else NULL; the
   * element stride is array_slot, CPU n's copy is n * percpu_unit further. */
  void *percpu_values;
  __u32 percpu_unit;
  __u32 nr_cpus;
  /* BPF_MAP_TYPE_PROG_ARRAY: the slots' program ids and, per slot, the
   * program the id resolved to last (else NULL): for the inline tail call. */
  const __u32 *prog_ids;
  const struct bpfemu_prog_head *const *prog_cache;
};

/* The head of a loaded program (emu/prog.h struct Prog's first fields). */
struct bpfemu_prog_head {
  __u32 id;
  int (*func)(void *ctx); /* NULL for bytecode */
};

/* The current run (emu/prog.h TailRunHead): the invocation's tail calls so
 * far, whether readers need a full fence, and its hazard slot (NULL until
 * the run's first tail call through the runtime takes one). */
struct bpfemu_tail_run {
  __u32 tail_calls;
  __u32 full_fence;
  const void **hazard;
};
#ifdef __cplusplus
extern thread_local void *bpfemu_tail_run_current;
#else
extern __thread void *bpfemu_tail_run_current;
#endif
/* Ends the run with `ret` after a chain of inline tail calls. */
__attribute__((noreturn)) void bpfemu_tail_call_return(int ret);

/* The calling thread's emulated CPU, or -1 for its real CPU (emu/cpu.h). */
#ifdef __cplusplus
extern thread_local int bpfemu_cpu_override;
#else
extern __thread int bpfemu_cpu_override;
#endif

/* The CPU this thread runs on without a call (the kernel's this_cpu_ptr reads
 * a per-CPU register): the emulated CPU if set, else the cpu_id the kernel
 * keeps in the thread's rseq area (glibc 2.35 registers one per thread);
 * -1 when neither is known (the caller then takes the helper). */
static inline int bpfemu_fast_cpu(void) {
  int cpu = bpfemu_cpu_override;
  if (cpu < 0 && __rseq_size != 0) {
    cpu = (int)((const volatile struct rseq *)((const char *)
                                                   __builtin_thread_pointer() +
                                               __rseq_offset))
              ->cpu_id;
  }
  return cpu;
}

/* Called from each generated object's constructor. */
void bpfemu_register_object(const struct bpfemu_object_def *obj);

/* Helpers (kernel names without the bpf_ prefix). */
void *bpfemu_map_lookup_elem(void *map, const void *key);
long bpfemu_map_update_elem(void *map, const void *key, const void *value,
                            __u64 flags);
long bpfemu_map_delete_elem(void *map, const void *key);
long bpfemu_map_push_elem(void *map, const void *value, __u64 flags);
long bpfemu_map_pop_elem(void *map, void *value);
long bpfemu_map_peek_elem(void *map, void *value);
void *bpfemu_map_lookup_percpu_elem(void *map, const void *key, __u32 cpu);
long bpfemu_tail_call(void *ctx, void *prog_array, __u32 index);
long bpfemu_get_stackid(void *ctx, void *map, __u64 flags);
long bpfemu_get_stack(void *ctx, void *buf, __u32 size, __u64 flags);
void *bpfemu_ringbuf_reserve(void *ringbuf, __u64 size, __u64 flags);
void bpfemu_ringbuf_submit(void *data, __u64 flags);
void bpfemu_ringbuf_discard(void *data, __u64 flags);
long bpfemu_ringbuf_output(void *ringbuf, void *data, __u64 size, __u64 flags);
long bpfemu_perf_event_output(void *ctx, void *map, __u64 flags, void *data,
                              __u64 size);
__u64 bpfemu_perf_event_read(void *map, __u64 flags);
struct bpf_perf_event_value;
long bpfemu_perf_event_read_value(void *map, __u64 flags,
                                  struct bpf_perf_event_value *buf, __u32 size);
long bpfemu_perf_prog_read_value(void *ctx, void *buf, __u32 size);
long bpfemu_read_branch_records(void *ctx, void *buf, __u32 size, __u64 flags);
__u64 bpfemu_ringbuf_query(void *ringbuf, __u64 flags);
long bpfemu_spin_lock(struct bpf_spin_lock *lock);
long bpfemu_spin_unlock(struct bpf_spin_lock *lock);
__u64 bpfemu_get_current_pid_tgid(void);
__u64 bpfemu_get_current_uid_gid(void);
long bpfemu_current_task_under_cgroup(void *map, __u32 index);
__u64 bpfemu_get_current_cgroup_id(void);
__u64 bpfemu_get_current_ancestor_cgroup_id(int level);
long bpfemu_skb_under_cgroup(void *skb, void *map, __u32 index);
__u64 bpfemu_skb_cgroup_id(void *skb);
__u64 bpfemu_skb_ancestor_cgroup_id(void *skb, int level);
void *bpfemu_get_local_storage(void *map, __u64 flags);
/* The cgroup hooks (native/cgroup_hooks.cc). */
int bpfemu_get_retval(void);
int bpfemu_set_retval(int retval);
long bpfemu_sysctl_get_name(void *ctx, char *buf, unsigned long buf_len,
                            __u64 flags);
long bpfemu_sysctl_get_current_value(void *ctx, char *buf,
                                     unsigned long buf_len);
long bpfemu_sysctl_get_new_value(void *ctx, char *buf, unsigned long buf_len);
long bpfemu_sysctl_set_new_value(void *ctx, const char *buf,
                                 unsigned long buf_len);
long bpfemu_bind(void *ctx, void *addr, int addr_len);
long bpfemu_setsockopt(void *ctx, int level, int optname, void *optval,
                       int optlen);
long bpfemu_getsockopt(void *ctx, int level, int optname, void *optval,
                       int optlen);
long bpfemu_sk_select_reuseport(void *reuse, void *map, void *key, __u64 flags);
long bpfemu_get_current_comm(void *buf, __u32 size);
__u32 bpfemu_get_smp_processor_id(void);
__u64 bpfemu_ktime_get_ns(void);
__u32 bpfemu_get_prandom_u32(void);
/* misc24: strings, clocks, NUMA (kernel/bpf/helpers.c). */
long bpfemu_strncmp(const char *s1, __u32 s1_sz, const char *s2);
long bpfemu_strtol(const char *buf, __u64 buf_len, __u64 flags, long *res);
long bpfemu_strtoul(const char *buf, __u64 buf_len, __u64 flags,
                    unsigned long *res);
__u64 bpfemu_jiffies64(void);
__u64 bpfemu_ktime_get_boot_ns(void);
__u64 bpfemu_ktime_get_coarse_ns(void);
__u64 bpfemu_ktime_get_tai_ns(void);
long bpfemu_get_numa_node_id(void);
long bpfemu_trace_printk(const char *fmt, __u32 fmt_size, ...);
long bpfemu_probe_read(void *dst, __u32 size, const void *src);
long bpfemu_probe_read_kernel(void *dst, __u32 size, const void *src);
long bpfemu_probe_read_user(void *dst, __u32 size, const void *src);
long bpfemu_copy_from_user(void *dst, __u32 size, const void *user_ptr);
long bpfemu_probe_read_str(void *dst, __u32 size, const void *src);
long bpfemu_probe_read_kernel_str(void *dst, __u32 size, const void *src);
long bpfemu_probe_read_user_str(void *dst, __u32 size, const void *src);
long bpfemu_skb_load_bytes(const void *skb, __u32 offset, void *to, __u32 len);
long bpfemu_sk_redirect(void *map, const void *key, __u64 flags, int msg);
/* The SK_MSG message helpers (native/sk_msg.h): on the context of a run
 * that native::SkMsgSocket started. */
long bpfemu_msg_apply_bytes(void *msg, __u32 bytes);
long bpfemu_msg_cork_bytes(void *msg, __u32 bytes);
long bpfemu_msg_pull_data(void *msg, __u32 start, __u32 end, __u64 flags);
long bpfemu_msg_push_data(void *msg, __u32 start, __u32 len, __u64 flags);
long bpfemu_msg_pop_data(void *msg, __u32 start, __u32 len, __u64 flags);
/* The SOCK_OPS helpers (native/sock_ops.h): on the context of a callback
 * that native::RunSockOps runs. */
long bpfemu_sock_ops_cb_flags_set(void *ctx, int argval);
long bpfemu_sock_ops_setsockopt(void *ctx, int level, int optname, void *optval,
                                int optlen);
long bpfemu_sock_ops_getsockopt(void *ctx, int level, int optname, void *optval,
                                int optlen);
long bpfemu_sock_ops_map_update(void *ctx, void *map, const void *key,
                                __u64 flags);
long bpfemu_load_hdr_opt(void *ctx, void *search_res, __u32 len, __u64 flags);
long bpfemu_store_hdr_opt(void *ctx, const void *from, __u32 len, __u64 flags);
long bpfemu_reserve_hdr_opt(void *ctx, __u32 len, __u64 flags);
/* The LSM helpers (native/lsm_hooks.h): on the objects of the hook that
 * native::RunLsmHook runs. */
void *bpfemu_inode_storage_get(void *map, void *inode, void *value,
                               __u64 flags);
long bpfemu_inode_storage_delete(void *map, void *inode);
long bpfemu_d_path(void *path, char *buf, __u32 sz);
long bpfemu_bprm_opts_set(void *bprm, __u64 flags);
long bpfemu_ima_inode_hash(void *inode, void *dst, __u32 size);
long bpfemu_ima_file_hash(void *file, void *dst, __u32 size);
/* Socket lookups (net/core/filter.c) over the current netns's real sockets
 * (native/sk_lookup.h). */
struct bpf_sock;
struct bpf_sock *bpfemu_sk_lookup_tcp(void *ctx, void *tuple, __u32 len,
                                      __u64 netns, __u64 flags);
struct bpf_sock *bpfemu_sk_lookup_udp(void *ctx, void *tuple, __u32 len,
                                      __u64 netns, __u64 flags);
struct bpf_sock *bpfemu_skc_lookup_tcp(void *ctx, void *tuple, __u32 len,
                                       __u64 netns, __u64 flags);
long bpfemu_sk_release(void *sk);
struct bpf_sock *bpfemu_sk_fullsock(void *sk);
struct bpf_sock *bpfemu_get_listener_sock(void *sk);
/* Socket casts and accessors (native/sock_helpers.h); `cast` is
 * bpfemu::native::SkcCast. */
struct bpf_tcp_sock;
struct bpf_tcp_sock *bpfemu_tcp_sock(void *sk);
void *bpfemu_skc_to(void *sk, int cast);
__u64 bpfemu_sk_cgroup_id(void *sk);
__u64 bpfemu_sk_ancestor_cgroup_id(void *sk, int level);
__s64 bpfemu_tcp_gen_syncookie(void *sk, void *iph, __u32 iph_len, void *th,
                               __u32 th_len);
long bpfemu_tcp_check_syncookie(void *sk, void *iph, __u32 iph_len, void *th,
                                __u32 th_len);
/* bpf_fib_lookup over the emulated FIB (emu/fib.h); xdp as for
 * bpfemu_check_mtu. */
struct bpf_fib_lookup;
long bpfemu_fib_lookup(void *ctx, struct bpf_fib_lookup *params, int plen,
                       __u32 flags, int xdp);
/* Socket local storage (net/core/bpf_sk_storage.c): the socket is a test
 * run's skb->sk (native/helpers.h RunSocket). */
void *bpfemu_sk_storage_get(void *map, void *sk, void *value, __u64 flags);
long bpfemu_sk_storage_delete(void *map, void *sk);
/* Task local storage (kernel/bpf/bpf_task_storage.c). A task is the
 * calling thread as bpfemu_get_current_task_btf() returns it: its
 * task_struct view (native/task_model.h). */
void *bpfemu_get_current_task_btf(void);
__u64 bpfemu_get_current_task(void);
void *bpfemu_task_storage_get(void *map, void *task, void *value, __u64 flags);
long bpfemu_task_storage_delete(void *map, void *task);
/* Cgroup local storage (kernel/bpf/bpf_cgrp_storage.c): a cgroup is the
 * handle bpf_cgroup_from_id gives (emu/cgroup.h CgroupRefFromId). */
void *bpfemu_cgrp_storage_get(void *map, void *cgroup, void *value,
                              __u64 flags);
long bpfemu_cgrp_storage_delete(void *map, void *cgroup);
long bpfemu_redirect_map(void *map, __u64 key, __u64 flags);
/* xdp: 1 for the XDP flavour, 0 for tc, -1: XDP while an XDP test run is
 * in progress on this thread. */
long bpfemu_redirect(__u32 ifindex, __u64 flags, int xdp);
long bpfemu_redirect_peer(__u32 ifindex, __u64 flags);
long bpfemu_redirect_neigh(__u32 ifindex, const void *params, int plen,
                           __u64 flags);
long bpfemu_clone_redirect(void *skb, __u32 ifindex, __u64 flags);
/* xdp as for bpfemu_redirect. */
long bpfemu_check_mtu(void *ctx, __u32 ifindex, __u32 *mtu_len, __s32 len_diff,
                      __u64 flags, int xdp);
__s64 bpfemu_csum_update(void *skb, __wsum csum);
long bpfemu_csum_level(void *skb, __u64 level);
long bpfemu_skb_ecn_set_ce(void *skb);
long bpfemu_skb_set_tstamp(void *skb, __u64 tstamp, __u32 tstamp_type);
long bpfemu_skb_load_bytes_relative(const void *skb, __u32 offset, void *to,
                                    __u32 len, __u32 start_header);
__u64 bpfemu_get_socket_cookie(void *skb);
__u32 bpfemu_get_socket_uid(void *skb);
__u32 bpfemu_skb_cgroup_classid(void *skb);
__u32 bpfemu_get_cgroup_classid(void *skb);
__u32 bpfemu_get_route_realm(void *skb);
__u64 bpfemu_get_netns_cookie(void *ctx);
long bpfemu_skb_get_xfrm_state(void *skb, __u32 index, void *to, __u32 size,
                               __u64 flags);
long bpfemu_sk_assign(void *skb, void *sk, __u64 flags);
__s64 bpfemu_tcp_raw_gen_syncookie_ipv4(const void *iph, const void *th,
                                        __u32 th_len);
__s64 bpfemu_tcp_raw_gen_syncookie_ipv6(const void *iph, const void *th,
                                        __u32 th_len);
long bpfemu_tcp_raw_check_syncookie_ipv4(const void *iph, const void *th);
long bpfemu_tcp_raw_check_syncookie_ipv6(const void *iph, const void *th);
__u64 bpfemu_xdp_get_buff_len(void *xdp_md);
long bpfemu_loop(__u32 nr_loops, void *callback_fn, void *callback_ctx,
                 __u64 flags);
long bpfemu_for_each_map_elem(void *map, void *callback_fn, void *callback_ctx,
                              __u64 flags);
long bpfemu_user_ringbuf_drain(void *map, void *callback_fn, void *ctx,
                               __u64 flags);
long bpfemu_dynptr_read(void *dst, __u32 len, const struct bpf_dynptr *src,
                        __u32 offset, __u64 flags);
long bpfemu_dynptr_write(const struct bpf_dynptr *dst, __u32 offset, void *src,
                         __u32 len, __u64 flags);
void *bpfemu_dynptr_data(const struct bpf_dynptr *ptr, __u32 offset, __u32 len);
long bpfemu_dynptr_from_mem(void *data, __u32 size, __u64 flags,
                            struct bpf_dynptr *ptr);
long bpfemu_ringbuf_reserve_dynptr(void *ringbuf, __u32 size, __u64 flags,
                                   struct bpf_dynptr *ptr);
void bpfemu_ringbuf_submit_dynptr(struct bpf_dynptr *ptr, __u64 flags);
void bpfemu_ringbuf_discard_dynptr(struct bpf_dynptr *ptr, __u64 flags);
/* Packet rewriting (net/core/filter.c). */
long bpfemu_xdp_adjust_head(void *xdp_md, int offset);
long bpfemu_xdp_adjust_tail(void *xdp_md, int offset);
long bpfemu_xdp_adjust_meta(void *xdp_md, int offset);
long bpfemu_xdp_load_bytes(void *xdp_md, __u32 offset, void *buf, __u32 len);
long bpfemu_xdp_store_bytes(void *xdp_md, __u32 offset, void *buf, __u32 len);
__s64 bpfemu_csum_diff(const __be32 *from, __u32 from_size, const __be32 *to,
                       __u32 to_size, __wsum seed);
long bpfemu_skb_store_bytes(void *skb, __u32 offset, const void *from,
                            __u32 len, __u64 flags);
long bpfemu_l3_csum_replace(void *skb, __u32 offset, __u64 from, __u64 to,
                            __u64 flags);
long bpfemu_l4_csum_replace(void *skb, __u32 offset, __u64 from, __u64 to,
                            __u64 flags);
/* The socket buffer's shape (net/core/filter.c). */
long bpfemu_skb_change_tail(void *skb, __u32 new_len, __u64 flags);
long bpfemu_skb_change_head(void *skb, __u32 head_room, __u64 flags);
long bpfemu_skb_change_proto(void *skb, __be16 proto, __u64 flags);
long bpfemu_skb_adjust_room(void *skb, __s32 len_diff, __u32 mode, __u64 flags);
long bpfemu_skb_pull_data(void *skb, __u32 len);
long bpfemu_lwt_push_encap(void *skb, __u32 type, void *hdr, __u32 len);
/* bpf_override_return from a kprobe (native/kprobe_override.h). */
long bpfemu_override_return(void *regs, __u64 rc);
/* The rc core of a LIRC_MODE2 receiver (native/lirc_mode2.h). */
long bpfemu_rc_repeat(void *ctx);
long bpfemu_rc_keydown(void *ctx, __u32 protocol, __u64 scancode, __u32 toggle);
long bpfemu_rc_pointer_rel(void *ctx, __s32 rel_x, __s32 rel_y);
/* A BPF congestion control's ACK (native/tcp_ca.h, emu/tcp_ca.h). */
long bpfemu_tcp_send_ack(void *tp, __u32 rcv_nxt);
/* The segment routing header of LWT_SEG6LOCAL programs (native/seg6local.cc).
 */
long bpfemu_lwt_seg6_store_bytes(void *skb, __u32 offset, const void *from,
                                 __u32 len);
long bpfemu_lwt_seg6_adjust_srh(void *skb, __u32 offset, __s32 delta);
long bpfemu_lwt_seg6_action(void *skb, __u32 action, void *param,
                            __u32 param_len);
long bpfemu_skb_change_type(void *skb, __u32 type);
long bpfemu_set_hash(void *skb, __u32 hash);
long bpfemu_skb_set_tunnel_key(void *skb, const void *from, __u32 size,
                               __u64 flags);
long bpfemu_skb_get_tunnel_key(void *skb, void *to, __u32 size, __u64 flags);
long bpfemu_skb_set_tunnel_opt(void *skb, const void *from, __u32 size);
long bpfemu_skb_get_tunnel_opt(void *skb, void *to, __u32 size);
void bpfemu_set_hash_invalid(void *skb);
__u32 bpfemu_get_hash_recalc(void *skb);
long bpfemu_skb_vlan_push(void *skb, __be16 vlan_proto, __u16 vlan_tci);
long bpfemu_skb_vlan_pop(void *skb);
/* SYSCALL programs and bpf_snprintf (native/syscall_helpers.h). */
long bpfemu_snprintf(char *str, __u32 str_size, const char *fmt,
                     const __u64 *data, __u32 data_len);
long bpfemu_sys_bpf(__u32 cmd, void *attr, __u32 attr_size);
long bpfemu_sys_close(__u32 fd);
long bpfemu_btf_find_by_name_kind(const char *name, int name_sz, __u32 kind,
                                  int flags);
long bpfemu_kallsyms_lookup_name(const char *name, int name_sz, int flags,
                                 __u64 *res);
/* BPF iterator programs (native/seq_helpers.h). */
long bpfemu_seq_printf(void *m, const char *fmt, __u32 fmt_size,
                       const void *data, __u32 data_len);
long bpfemu_seq_write(void *m, const void *data, __u32 len);
struct btf_ptr;
long bpfemu_seq_printf_btf(void *m, struct btf_ptr *ptr, __u32 ptr_size,
                           __u64 flags);
/* fentry / fexit / fmod_ret programs and tracing (native/tracing_helpers.cc,
 * emu/trampoline.h). */
struct bpf_pidns_info;
long bpfemu_get_func_arg(void *ctx, __u32 n, __u64 *value);
long bpfemu_get_func_ret(void *ctx, __u64 *value);
long bpfemu_get_func_arg_cnt(void *ctx);
__u64 bpfemu_get_func_ip(void *ctx);
__u64 bpfemu_get_attach_cookie(void *ctx);
long bpfemu_get_ns_current_pid_tgid(__u64 dev, __u64 ino,
                                    struct bpf_pidns_info *nsdata, __u32 size);
long bpfemu_trace_vprintk(const char *fmt, __u32 fmt_size, const void *data,
                          __u32 data_len);
long bpfemu_trace_printk_va(const char *fmt, __u32 fmt_size, va_list ap);
/* The calling task's own memory and signals (native/tracing_helpers.cc). */
struct task_struct;
long bpfemu_probe_write_user(void *dst, const void *src, __u32 len);
long bpfemu_send_signal(__u32 sig);
long bpfemu_send_signal_thread(__u32 sig);
long bpfemu_get_branch_snapshot(void *entries, __u32 size, __u64 flags);
long bpfemu_task_pt_regs(struct task_struct *task);
struct btf_ptr;
long bpfemu_snprintf_btf(char *str, __u32 str_size, struct btf_ptr *ptr,
                         __u32 btf_ptr_size, __u64 flags);
void *bpfemu_sock_from_file(void *file);
long bpfemu_skb_output(void *skb, void *map, __u64 flags, void *meta,
                       __u64 meta_size);
long bpfemu_xdp_output(void *xdp, void *map, __u64 flags, void *meta,
                       __u64 meta_size);
long bpfemu_copy_from_user_task(void *dst, __u32 size, const void *user_ptr,
                                struct task_struct *tsk, __u64 flags);
long bpfemu_get_task_stack(struct task_struct *task, void *buf, __u32 size,
                           __u64 flags);
long bpfemu_find_vma(struct task_struct *task, __u64 addr, void *callback_fn,
                     void *callback_ctx, __u64 flags);
/* BPF timers (native/timers.cc, emu/timer.h). */
struct bpf_timer;
long bpfemu_timer_init(struct bpf_timer *timer, void *map, __u64 flags);
long bpfemu_timer_set_callback(struct bpf_timer *timer, void *callback_fn);
long bpfemu_timer_start(struct bpf_timer *timer, __u64 nsecs, __u64 flags);
long bpfemu_timer_cancel(struct bpf_timer *timer);

/* bpf_kptr_xchg (native/graph_kfuncs.cc, emu/graph_obj.h). */
void *bpfemu_kptr_xchg(void *dst, void *ptr);
/* bpf_per_cpu_ptr / bpf_this_cpu_ptr on a bpf_percpu_obj_new object. */
void *bpfemu_per_cpu_ptr(const void *ptr, __u32 cpu);
void *bpfemu_this_cpu_ptr(const void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* BPFEMU_NATIVE_ABI_H_ */
