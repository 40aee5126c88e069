/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfemu's native stand-in for libbpf's generated <bpf/bpf_helper_defs.h>:
 * the helpers a BPF program calls, as static inline functions that forward
 * to the bpfemu runtime (bpfemu/native_abi.h). Being static, they never
 * clash with libbpf's userspace functions of the same names
 * (bpf_map_lookup_elem, ...) in one binary. Signatures follow
 * include/uapi/linux/bpf.h.
 */
#ifndef __BPF_HELPER_DEFS_H
#define __BPF_HELPER_DEFS_H

#include <linux/types.h>

#include "bpfemu/native_abi.h"

struct bpf_spin_lock;

static inline void *bpf_map_lookup_elem(void *map, const void *key) {
  const struct bpfemu_map_fast *f;
  __builtin_memcpy(&f, map, sizeof(f));
  if (f != 0 && f->array_values != 0) { /* ARRAY: inlined, as the kernel's */
    __u32 index;
    __builtin_memcpy(&index, key, sizeof(index));
    return index < f->max_entries
               ? (char *)f->array_values + (__u64)index * f->array_slot
               : 0;
  }
  if (f != 0 && f->percpu_values != 0) { /* PERCPU_ARRAY: inlined too */
    const int cpu = bpfemu_fast_cpu();
    if (cpu >= 0 && (__u32)cpu < f->nr_cpus) {
      __u32 index;
      __builtin_memcpy(&index, key, sizeof(index));
      return index < f->max_entries
                 ? (char *)f->percpu_values + (__u64)index * f->array_slot +
                       (__u64)cpu * f->percpu_unit
                 : 0;
    }
  }
  return bpfemu_map_lookup_elem(map, key);
}
static inline long bpf_map_update_elem(void *map, const void *key,
                                       const void *value, __u64 flags) {
  return bpfemu_map_update_elem(map, key, value, flags);
}
static inline long bpf_map_delete_elem(void *map, const void *key) {
  return bpfemu_map_delete_elem(map, key);
}
static inline long bpf_map_push_elem(void *map, const void *value,
                                     __u64 flags) {
  return bpfemu_map_push_elem(map, value, flags);
}
static inline long bpf_map_pop_elem(void *map, void *value) {
  return bpfemu_map_pop_elem(map, value);
}
static inline long bpf_map_peek_elem(void *map, void *value) {
  return bpfemu_map_peek_elem(map, value);
}
static inline void *bpf_map_lookup_percpu_elem(void *map, const void *key,
                                               __u32 cpu) {
  return bpfemu_map_lookup_percpu_elem(map, key, cpu);
}
/* Does not return when the call is taken. The kernel's JIT emits the tail
 * call inline (index, budget, slot, jump); so does this, for a native
 * target whose slot the run has cached: the checks of the runtime's path
 * (emu/prog.h TailCallCache), the target announced in the run's hazard slot
 * and re-checked (not announced again when the slot announces it already),
 * then the target called in place. It never returns to this
 * frame: its value ends the run (bpfemu_tail_call_return). Anything else
 * (first call of the run, a slot that changed, a bytecode target, outside a
 * run) takes the runtime's path, with the budget unit given back first. */
static inline long bpf_tail_call(void *ctx, void *prog_array_map, __u32 index) {
  const struct bpfemu_map_fast *f;
  struct bpfemu_tail_run *run =
      (struct bpfemu_tail_run *)bpfemu_tail_run_current;
  __builtin_memcpy(&f, prog_array_map, sizeof(f));
  if (f != 0 && f->prog_ids != 0 && run != 0 && run->hazard != 0) {
    if (index >= f->max_entries) return -7; /* -E2BIG */
    if (run->tail_calls >= 33) return -7;   /* MAX_TAIL_CALL_CNT: -E2BIG */
    run->tail_calls++;
    const __u32 id = __atomic_load_n(&f->prog_ids[index], __ATOMIC_ACQUIRE);
    if (id == 0) return -2; /* -ENOENT */
    const struct bpfemu_prog_head *p =
        __atomic_load_n(&f->prog_cache[index], __ATOMIC_ACQUIRE);
    /* Only this thread writes the run's hazard slot, and every value it
     * leaves there was confirmed by a re-read: when it announces p already
     * (the previous tail call went to p), p is protected as it is. */
    if (__atomic_load_n(run->hazard, __ATOMIC_RELAXED) != (const void *)p) {
      for (;;) {
        const struct bpfemu_prog_head *again;
        /* Release (a plain store on x86): the previous target's reads come
         * before its announcement is withdrawn. */
        __atomic_store_n(run->hazard, (const void *)p, __ATOMIC_RELEASE);
        if (run->full_fence)
          __atomic_thread_fence(__ATOMIC_SEQ_CST);
        else
          __atomic_signal_fence(__ATOMIC_SEQ_CST);
        again = __atomic_load_n(&f->prog_cache[index], __ATOMIC_ACQUIRE);
        if (again == p) break;
        p = again;
      }
    }
    if (p != 0 && p->id == id && p->func != 0) {
      bpfemu_tail_call_return(p->func(ctx));
    }
    run->tail_calls--;
  }
  return bpfemu_tail_call(ctx, prog_array_map, index);
}
static inline void *bpf_ringbuf_reserve(void *ringbuf, __u64 size,
                                        __u64 flags) {
  return bpfemu_ringbuf_reserve(ringbuf, size, flags);
}
static inline void bpf_ringbuf_submit(void *data, __u64 flags) {
  bpfemu_ringbuf_submit(data, flags);
}
static inline void bpf_ringbuf_discard(void *data, __u64 flags) {
  bpfemu_ringbuf_discard(data, flags);
}
static inline long bpf_ringbuf_output(void *ringbuf, void *data, __u64 size,
                                      __u64 flags) {
  return bpfemu_ringbuf_output(ringbuf, data, size, flags);
}
static inline long bpf_perf_event_output(void *ctx, void *map, __u64 flags,
                                         void *data, __u64 size) {
  return bpfemu_perf_event_output(ctx, map, flags, data, size);
}
static inline __u64 bpf_perf_event_read(void *map, __u64 flags) {
  return bpfemu_perf_event_read(map, flags);
}
static inline long bpf_perf_event_read_value(void *map, __u64 flags,
                                             struct bpf_perf_event_value *buf,
                                             __u32 buf_size) {
  return bpfemu_perf_event_read_value(map, flags, buf, buf_size);
}
/* A perf_event program's (native/perf_event_prog.h). */
struct bpf_perf_event_data;
static inline long bpf_perf_prog_read_value(struct bpf_perf_event_data *ctx,
                                            struct bpf_perf_event_value *buf,
                                            __u32 buf_size) {
  return bpfemu_perf_prog_read_value(ctx, buf, buf_size);
}
static inline long bpf_read_branch_records(struct bpf_perf_event_data *ctx,
                                           void *buf, __u32 size, __u64 flags) {
  return bpfemu_read_branch_records(ctx, buf, size, flags);
}
static inline __u64 bpf_ringbuf_query(void *ringbuf, __u64 flags) {
  return bpfemu_ringbuf_query(ringbuf, flags);
}
static inline long bpf_spin_lock(struct bpf_spin_lock *lock) {
  return bpfemu_spin_lock(lock);
}
static inline long bpf_spin_unlock(struct bpf_spin_lock *lock) {
  return bpfemu_spin_unlock(lock);
}
static inline __u64 bpf_get_current_pid_tgid(void) {
  return bpfemu_get_current_pid_tgid();
}
static inline __u64 bpf_get_current_uid_gid(void) {
  return bpfemu_get_current_uid_gid();
}
static inline long bpf_current_task_under_cgroup(void *map, __u32 index) {
  return bpfemu_current_task_under_cgroup(map, index);
}
static inline __u64 bpf_get_current_cgroup_id(void) {
  return bpfemu_get_current_cgroup_id();
}
static inline __u64 bpf_get_current_ancestor_cgroup_id(int ancestor_level) {
  return bpfemu_get_current_ancestor_cgroup_id(ancestor_level);
}
static inline long bpf_skb_under_cgroup(struct __sk_buff *skb, void *map,
                                        __u32 index) {
  return bpfemu_skb_under_cgroup(skb, map, index);
}
static inline __u64 bpf_skb_cgroup_id(struct __sk_buff *skb) {
  return bpfemu_skb_cgroup_id(skb);
}
static inline __u64 bpf_skb_ancestor_cgroup_id(struct __sk_buff *skb,
                                               int ancestor_level) {
  return bpfemu_skb_ancestor_cgroup_id(skb, ancestor_level);
}
static inline void *bpf_get_local_storage(void *map, __u64 flags) {
  return bpfemu_get_local_storage(map, flags);
}
/* The cgroup hooks' helpers (native/cgroup_hooks.h): the run context's
 * retval and a sysctl access. */
static inline int bpf_get_retval(void) { return bpfemu_get_retval(); }
static inline int bpf_set_retval(int retval) {
  return bpfemu_set_retval(retval);
}
struct bpf_sysctl;
static inline long bpf_sysctl_get_name(struct bpf_sysctl *ctx, char *buf,
                                       unsigned long buf_len, __u64 flags) {
  return bpfemu_sysctl_get_name(ctx, buf, buf_len, flags);
}
static inline long bpf_sysctl_get_current_value(struct bpf_sysctl *ctx,
                                                char *buf,
                                                unsigned long buf_len) {
  return bpfemu_sysctl_get_current_value(ctx, buf, buf_len);
}
static inline long bpf_sysctl_get_new_value(struct bpf_sysctl *ctx, char *buf,
                                            unsigned long buf_len) {
  return bpfemu_sysctl_get_new_value(ctx, buf, buf_len);
}
static inline long bpf_sysctl_set_new_value(struct bpf_sysctl *ctx,
                                            const char *buf,
                                            unsigned long buf_len) {
  return bpfemu_sysctl_set_new_value(ctx, buf, buf_len);
}
/* The socket address hooks' (native/cgroup_hooks.h): on the socket of the
 * hook being run; bpf_setsockopt / bpf_getsockopt from a sock_ops callback
 * go on to native/sock_ops.h. */
struct bpf_sock_addr;
struct sockaddr;
static inline long bpf_bind(struct bpf_sock_addr *ctx, struct sockaddr *addr,
                            int addr_len) {
  return bpfemu_bind(ctx, addr, addr_len);
}
static inline long bpf_setsockopt(void *bpf_socket, int level, int optname,
                                  void *optval, int optlen) {
  return bpfemu_setsockopt(bpf_socket, level, optname, optval, optlen);
}
static inline long bpf_getsockopt(void *bpf_socket, int level, int optname,
                                  void *optval, int optlen) {
  return bpfemu_getsockopt(bpf_socket, level, optname, optval, optlen);
}
/* The SO_REUSEPORT selection hook's (native/reuseport_hook.h). */
struct sk_reuseport_md;
static inline long bpf_sk_select_reuseport(struct sk_reuseport_md *reuse,
                                           void *map, void *key, __u64 flags) {
  return bpfemu_sk_select_reuseport(reuse, map, key, flags);
}
static inline long bpf_get_current_comm(void *buf, __u32 size_of_buf) {
  return bpfemu_get_current_comm(buf, size_of_buf);
}
static inline long bpf_get_stackid(void *ctx, void *map, __u64 flags) {
  return bpfemu_get_stackid(ctx, map, flags);
}
static inline long bpf_get_stack(void *ctx, void *buf, __u32 size,
                                 __u64 flags) {
  return bpfemu_get_stack(ctx, buf, size, flags);
}
static inline void *bpf_sk_storage_get(void *map, void *sk, void *value,
                                       __u64 flags) {
  return bpfemu_sk_storage_get(map, sk, value, flags);
}
static inline long bpf_sk_storage_delete(void *map, void *sk) {
  return bpfemu_sk_storage_delete(map, sk);
}
struct task_struct;
static inline __u64 bpf_get_current_task(void) {
  return bpfemu_get_current_task();
}
static inline struct task_struct *bpf_get_current_task_btf(void) {
  return (struct task_struct *)bpfemu_get_current_task_btf();
}
static inline void *bpf_task_storage_get(void *map, struct task_struct *task,
                                         void *value, __u64 flags) {
  return bpfemu_task_storage_get(map, task, value, flags);
}
static inline long bpf_task_storage_delete(void *map,
                                           struct task_struct *task) {
  return bpfemu_task_storage_delete(map, task);
}
struct cgroup;
static inline void *bpf_cgrp_storage_get(void *map, struct cgroup *cgroup,
                                         void *value, __u64 flags) {
  return bpfemu_cgrp_storage_get(map, cgroup, value, flags);
}
static inline long bpf_cgrp_storage_delete(void *map, struct cgroup *cgroup) {
  return bpfemu_cgrp_storage_delete(map, cgroup);
}
static inline __u32 bpf_get_smp_processor_id(void) {
  return bpfemu_get_smp_processor_id();
}
static inline __u64 bpf_ktime_get_ns(void) { return bpfemu_ktime_get_ns(); }
static inline __u32 bpf_get_prandom_u32(void) {
  return bpfemu_get_prandom_u32();
}
/* misc24: strings, clocks, NUMA (kernel/bpf/helpers.c). */
static inline long bpf_strncmp(const char *s1, __u32 s1_sz, const char *s2) {
  return bpfemu_strncmp(s1, s1_sz, s2);
}
static inline long bpf_strtol(const char *buf, __u64 buf_len, __u64 flags,
                              long *res) {
  return bpfemu_strtol(buf, buf_len, flags, res);
}
static inline long bpf_strtoul(const char *buf, __u64 buf_len, __u64 flags,
                               unsigned long *res) {
  return bpfemu_strtoul(buf, buf_len, flags, res);
}
static inline __u64 bpf_jiffies64(void) { return bpfemu_jiffies64(); }
static inline __u64 bpf_ktime_get_boot_ns(void) {
  return bpfemu_ktime_get_boot_ns();
}
static inline __u64 bpf_ktime_get_coarse_ns(void) {
  return bpfemu_ktime_get_coarse_ns();
}
static inline __u64 bpf_ktime_get_tai_ns(void) {
  return bpfemu_ktime_get_tai_ns();
}
static inline long bpf_get_numa_node_id(void) {
  return bpfemu_get_numa_node_id();
}
static inline long bpf_trace_printk(const char *fmt, __u32 fmt_size, ...) {
  va_list ap;
  va_start(ap, fmt_size);
  long ret = bpfemu_trace_printk_va(fmt, fmt_size, ap);
  va_end(ap);
  return ret;
}
static inline long bpf_probe_read_kernel(void *dst, __u32 size,
                                         const void *unsafe_ptr) {
  return bpfemu_probe_read_kernel(dst, size, unsafe_ptr);
}
static inline long bpf_probe_read_user(void *dst, __u32 size,
                                       const void *unsafe_ptr) {
  return bpfemu_probe_read_user(dst, size, unsafe_ptr);
}
static inline long bpf_copy_from_user(void *dst, __u32 size,
                                      const void *user_ptr) {
  return bpfemu_copy_from_user(dst, size, user_ptr);
}
static inline long bpf_probe_read(void *dst, __u32 size,
                                  const void *unsafe_ptr) {
  return bpfemu_probe_read(dst, size, unsafe_ptr);
}
static inline long bpf_probe_read_str(void *dst, __u32 size,
                                      const void *unsafe_ptr) {
  return bpfemu_probe_read_str(dst, size, unsafe_ptr);
}
static inline long bpf_probe_read_kernel_str(void *dst, __u32 size,
                                             const void *unsafe_ptr) {
  return bpfemu_probe_read_kernel_str(dst, size, unsafe_ptr);
}
static inline long bpf_probe_read_user_str(void *dst, __u32 size,
                                           const void *unsafe_ptr) {
  return bpfemu_probe_read_user_str(dst, size, unsafe_ptr);
}
static inline long bpf_skb_load_bytes(const void *skb, __u32 offset, void *to,
                                      __u32 len) {
  return bpfemu_skb_load_bytes(skb, offset, to, len);
}
struct bpf_sock_tuple;
static inline struct bpf_sock *bpf_sk_lookup_tcp(void *ctx,
                                                 struct bpf_sock_tuple *tuple,
                                                 __u32 len, __u64 netns,
                                                 __u64 flags) {
  return bpfemu_sk_lookup_tcp(ctx, tuple, len, netns, flags);
}
static inline struct bpf_sock *bpf_sk_lookup_udp(void *ctx,
                                                 struct bpf_sock_tuple *tuple,
                                                 __u32 len, __u64 netns,
                                                 __u64 flags) {
  return bpfemu_sk_lookup_udp(ctx, tuple, len, netns, flags);
}
static inline struct bpf_sock *bpf_skc_lookup_tcp(void *ctx,
                                                  struct bpf_sock_tuple *tuple,
                                                  __u32 len, __u64 netns,
                                                  __u64 flags) {
  return bpfemu_skc_lookup_tcp(ctx, tuple, len, netns, flags);
}
static inline long bpf_sk_release(void *sk) { return bpfemu_sk_release(sk); }
static inline struct bpf_sock *bpf_sk_fullsock(struct bpf_sock *sk) {
  return bpfemu_sk_fullsock(sk);
}
static inline struct bpf_sock *bpf_get_listener_sock(struct bpf_sock *sk) {
  return bpfemu_get_listener_sock(sk);
}
/* Socket casts: the kernel structs are opaque natively (docs/native.md). */
static inline struct bpf_tcp_sock *bpf_tcp_sock(struct bpf_sock *sk) {
  return bpfemu_tcp_sock(sk);
}
struct tcp6_sock;
struct tcp_sock;
struct tcp_timewait_sock;
struct tcp_request_sock;
struct udp6_sock;
struct unix_sock;
struct mptcp_sock;
static inline struct tcp6_sock *bpf_skc_to_tcp6_sock(void *sk) {
  return (struct tcp6_sock *)bpfemu_skc_to(sk, 0);
}
static inline struct tcp_sock *bpf_skc_to_tcp_sock(void *sk) {
  return (struct tcp_sock *)bpfemu_skc_to(sk, 1);
}
static inline struct tcp_timewait_sock *bpf_skc_to_tcp_timewait_sock(void *sk) {
  return (struct tcp_timewait_sock *)bpfemu_skc_to(sk, 2);
}
static inline struct tcp_request_sock *bpf_skc_to_tcp_request_sock(void *sk) {
  return (struct tcp_request_sock *)bpfemu_skc_to(sk, 3);
}
static inline struct udp6_sock *bpf_skc_to_udp6_sock(void *sk) {
  return (struct udp6_sock *)bpfemu_skc_to(sk, 4);
}
static inline struct unix_sock *bpf_skc_to_unix_sock(void *sk) {
  return (struct unix_sock *)bpfemu_skc_to(sk, 5);
}
static inline struct mptcp_sock *bpf_skc_to_mptcp_sock(void *sk) {
  return (struct mptcp_sock *)bpfemu_skc_to(sk, 6);
}
static inline __u64 bpf_sk_cgroup_id(void *sk) {
  return bpfemu_sk_cgroup_id(sk);
}
static inline __u64 bpf_sk_ancestor_cgroup_id(void *sk, int ancestor_level) {
  return bpfemu_sk_ancestor_cgroup_id(sk, ancestor_level);
}
struct tcphdr;
static inline __s64 bpf_tcp_gen_syncookie(void *sk, void *iph, __u32 iph_len,
                                          struct tcphdr *th, __u32 th_len) {
  return bpfemu_tcp_gen_syncookie(sk, iph, iph_len, th, th_len);
}
static inline long bpf_tcp_check_syncookie(void *sk, void *iph, __u32 iph_len,
                                           struct tcphdr *th, __u32 th_len) {
  return bpfemu_tcp_check_syncookie(sk, iph, iph_len, th, th_len);
}
struct __sk_buff;
struct sk_msg_md;
/* Socket redirects: SK_PASS or SK_DROP as the kernel decides; the chosen
 * socket is recorded (bpfemu::native::LastRedirect). */
static inline long bpf_sk_redirect_map(struct __sk_buff *skb, void *map,
                                       __u32 key, __u64 flags) {
  return bpfemu_sk_redirect(map, &key, flags, 0);
}
static inline long bpf_sk_redirect_hash(struct __sk_buff *skb, void *map,
                                        void *key, __u64 flags) {
  return bpfemu_sk_redirect(map, key, flags, 0);
}
static inline long bpf_msg_redirect_map(struct sk_msg_md *msg, void *map,
                                        __u32 key, __u64 flags) {
  return bpfemu_sk_redirect(map, &key, flags, 1);
}
static inline long bpf_msg_redirect_hash(struct sk_msg_md *msg, void *map,
                                         void *key, __u64 flags) {
  return bpfemu_sk_redirect(map, key, flags, 1);
}
/* The sock_ops helpers (native/sock_ops.h), on a callback's context. */
struct bpf_sock_ops;
static inline long bpf_sock_ops_cb_flags_set(struct bpf_sock_ops *bpf_sock,
                                             int argval) {
  return bpfemu_sock_ops_cb_flags_set(bpf_sock, argval);
}
/* bpf_setsockopt / bpf_getsockopt: above, with the sock_addr hooks'
 * (bpfemu_setsockopt serves both: native/cgroup_hooks.cc). */
static inline long bpf_sock_map_update(struct bpf_sock_ops *skops, void *map,
                                       void *key, __u64 flags) {
  return bpfemu_sock_ops_map_update(skops, map, key, flags);
}
static inline long bpf_sock_hash_update(struct bpf_sock_ops *skops, void *map,
                                        void *key, __u64 flags) {
  return bpfemu_sock_ops_map_update(skops, map, key, flags);
}
static inline long bpf_load_hdr_opt(struct bpf_sock_ops *skops,
                                    void *searchby_res, __u32 len,
                                    __u64 flags) {
  return bpfemu_load_hdr_opt(skops, searchby_res, len, flags);
}
static inline long bpf_store_hdr_opt(struct bpf_sock_ops *skops,
                                     const void *from, __u32 len, __u64 flags) {
  return bpfemu_store_hdr_opt(skops, from, len, flags);
}
static inline long bpf_reserve_hdr_opt(struct bpf_sock_ops *skops, __u32 len,
                                       __u64 flags) {
  return bpfemu_reserve_hdr_opt(skops, len, flags);
}
/* The LSM helpers (native/lsm_hooks.h), on a hook's objects. */
struct inode;
struct path;
struct file;
struct linux_binprm;
static inline void *bpf_inode_storage_get(void *map, void *inode, void *value,
                                          __u64 flags) {
  return bpfemu_inode_storage_get(map, inode, value, flags);
}
static inline long bpf_inode_storage_delete(void *map, void *inode) {
  return bpfemu_inode_storage_delete(map, inode);
}
static inline long bpf_d_path(struct path *path, char *buf, __u32 sz) {
  return bpfemu_d_path(path, buf, sz);
}
static inline long bpf_bprm_opts_set(struct linux_binprm *bprm, __u64 flags) {
  return bpfemu_bprm_opts_set(bprm, flags);
}
static inline long bpf_ima_inode_hash(struct inode *inode, void *dst,
                                      __u32 size) {
  return bpfemu_ima_inode_hash(inode, dst, size);
}
static inline long bpf_ima_file_hash(struct file *file, void *dst, __u32 size) {
  return bpfemu_ima_file_hash(file, dst, size);
}
/* The message's edits (native/sk_msg.h): the kernel's return values. */
static inline long bpf_msg_apply_bytes(struct sk_msg_md *msg, __u32 bytes) {
  return bpfemu_msg_apply_bytes(msg, bytes);
}
static inline long bpf_msg_cork_bytes(struct sk_msg_md *msg, __u32 bytes) {
  return bpfemu_msg_cork_bytes(msg, bytes);
}
static inline long bpf_msg_pull_data(struct sk_msg_md *msg, __u32 start,
                                     __u32 end, __u64 flags) {
  return bpfemu_msg_pull_data(msg, start, end, flags);
}
static inline long bpf_msg_push_data(struct sk_msg_md *msg, __u32 start,
                                     __u32 len, __u64 flags) {
  return bpfemu_msg_push_data(msg, start, len, flags);
}
static inline long bpf_msg_pop_data(struct sk_msg_md *msg, __u32 start,
                                    __u32 len, __u64 flags) {
  return bpfemu_msg_pop_data(msg, start, len, flags);
}
/* XDP redirects through DEVMAP, DEVMAP_HASH and CPUMAP: XDP_REDIRECT or the
 * fallback action in the flags' low bits; the target is recorded
 * (bpfemu::native::LastRedirect), nothing is transmitted. */
static inline long bpf_redirect_map(void *map, __u64 key, __u64 flags) {
  return bpfemu_redirect_map(map, key, flags);
}
/* Redirect to a device by ifindex: XDP_REDIRECT / TC_ACT_REDIRECT, recorded
 * like bpf_redirect_map (XDP inside an XDP run, tc otherwise). */
static inline long bpf_redirect(__u32 ifindex, __u64 flags) {
  return bpfemu_redirect(ifindex, flags, -1);
}
/* tc's redirects to a device's peer and through the neighbour subsystem:
 * TC_ACT_REDIRECT, recorded like bpf_redirect. */
static inline long bpf_redirect_peer(__u32 ifindex, __u64 flags) {
  return bpfemu_redirect_peer(ifindex, flags);
}
struct bpf_redir_neigh;
static inline long bpf_redirect_neigh(__u32 ifindex,
                                      struct bpf_redir_neigh *params, int plen,
                                      __u64 flags) {
  return bpfemu_redirect_neigh(ifindex, params, plen, flags);
}
/* A copy of the packet sent to a device now (bpfemu::native::ClonedPackets
 * records it). */
static inline long bpf_clone_redirect(struct __sk_buff *skb, __u32 ifindex,
                                      __u64 flags) {
  return bpfemu_clone_redirect(skb, ifindex, flags);
}
/* The skb or XDP flavour, by the run in progress on this thread. */
static inline long bpf_fib_lookup(void *ctx, struct bpf_fib_lookup *params,
                                  int plen, __u32 flags) {
  return bpfemu_fib_lookup(ctx, params, plen, flags, -1);
}
static inline long bpf_check_mtu(void *ctx, __u32 ifindex, __u32 *mtu_len,
                                 __s32 len_diff, __u64 flags) {
  return bpfemu_check_mtu(ctx, ifindex, mtu_len, len_diff, flags, -1);
}
/* The skb's checksum state, ECN mark, time stamp and socket (the test
 * run's skb and its socket, as native/helpers.cc describes them). */
static inline __s64 bpf_csum_update(struct __sk_buff *skb, __wsum csum) {
  return bpfemu_csum_update(skb, csum);
}
static inline long bpf_csum_level(struct __sk_buff *skb, __u64 level) {
  return bpfemu_csum_level(skb, level);
}
static inline long bpf_skb_ecn_set_ce(struct __sk_buff *skb) {
  return bpfemu_skb_ecn_set_ce(skb);
}
static inline long bpf_skb_set_tstamp(struct __sk_buff *skb, __u64 tstamp,
                                      __u32 tstamp_type) {
  return bpfemu_skb_set_tstamp(skb, tstamp, tstamp_type);
}
static inline long bpf_skb_load_bytes_relative(const void *skb, __u32 offset,
                                               void *to, __u32 len,
                                               __u32 start_header) {
  return bpfemu_skb_load_bytes_relative(skb, offset, to, len, start_header);
}
static inline __u64 bpf_get_socket_cookie(void *ctx) {
  return bpfemu_get_socket_cookie(ctx);
}
static inline __u32 bpf_get_socket_uid(struct __sk_buff *skb) {
  return bpfemu_get_socket_uid(skb);
}
static inline __u64 bpf_skb_cgroup_classid(struct __sk_buff *skb) {
  return bpfemu_skb_cgroup_classid(skb);
}
static inline __u32 bpf_get_cgroup_classid(struct __sk_buff *skb) {
  return bpfemu_get_cgroup_classid(skb);
}
static inline __u32 bpf_get_route_realm(struct __sk_buff *skb) {
  return bpfemu_get_route_realm(skb);
}
static inline __u64 bpf_get_netns_cookie(void *ctx) {
  return bpfemu_get_netns_cookie(ctx);
}
struct bpf_xfrm_state;
static inline long bpf_skb_get_xfrm_state(struct __sk_buff *skb, __u32 index,
                                          struct bpf_xfrm_state *xfrm_state,
                                          __u32 size, __u64 flags) {
  return bpfemu_skb_get_xfrm_state(skb, index, xfrm_state, size, flags);
}
static inline long bpf_sk_assign(void *ctx, void *sk, __u64 flags) {
  return bpfemu_sk_assign(ctx, sk, flags);
}
/* SYN cookies from raw headers (tc and XDP; keyed per process). */
struct iphdr;
struct ipv6hdr;
struct tcphdr;
static inline __s64 bpf_tcp_raw_gen_syncookie_ipv4(struct iphdr *iph,
                                                   struct tcphdr *th,
                                                   __u32 th_len) {
  return bpfemu_tcp_raw_gen_syncookie_ipv4(iph, th, th_len);
}
static inline __s64 bpf_tcp_raw_gen_syncookie_ipv6(struct ipv6hdr *iph,
                                                   struct tcphdr *th,
                                                   __u32 th_len) {
  return bpfemu_tcp_raw_gen_syncookie_ipv6(iph, th, th_len);
}
static inline long bpf_tcp_raw_check_syncookie_ipv4(struct iphdr *iph,
                                                    struct tcphdr *th) {
  return bpfemu_tcp_raw_check_syncookie_ipv4(iph, th);
}
static inline long bpf_tcp_raw_check_syncookie_ipv6(struct ipv6hdr *iph,
                                                    struct tcphdr *th) {
  return bpfemu_tcp_raw_check_syncookie_ipv6(iph, th);
}
static inline __u64 bpf_xdp_get_buff_len(struct xdp_md *xdp_md) {
  return bpfemu_xdp_get_buff_len(xdp_md);
}
static inline long bpf_loop(__u32 nr_loops, void *callback_fn,
                            void *callback_ctx, __u64 flags) {
  return bpfemu_loop(nr_loops, callback_fn, callback_ctx, flags);
}

/* bpf_for_each_map_elem(): callback_fn is
 * long (*)(struct bpf_map *map, const void *key, void *value, void *ctx),
 * returning 0 to go on and 1 to stop. */
static inline long bpf_for_each_map_elem(void *map, void *callback_fn,
                                         void *callback_ctx, __u64 flags) {
  return bpfemu_for_each_map_elem(map, callback_fn, callback_ctx, flags);
}

/* bpf_user_ringbuf_drain(): callback_fn is
 * long (*)(struct bpf_dynptr *dynptr, void *ctx). */
static inline long bpf_user_ringbuf_drain(void *map, void *callback_fn,
                                          void *ctx, __u64 flags) {
  return bpfemu_user_ringbuf_drain(map, callback_fn, ctx, flags);
}
static inline long bpf_dynptr_read(void *dst, __u32 len,
                                   const struct bpf_dynptr *src, __u32 offset,
                                   __u64 flags) {
  return bpfemu_dynptr_read(dst, len, src, offset, flags);
}
static inline long bpf_dynptr_write(const struct bpf_dynptr *dst, __u32 offset,
                                    void *src, __u32 len, __u64 flags) {
  return bpfemu_dynptr_write(dst, offset, src, len, flags);
}
static inline void *bpf_dynptr_data(const struct bpf_dynptr *ptr, __u32 offset,
                                    __u32 len) {
  return bpfemu_dynptr_data(ptr, offset, len);
}
static inline long bpf_dynptr_from_mem(void *data, __u32 size, __u64 flags,
                                       struct bpf_dynptr *ptr) {
  return bpfemu_dynptr_from_mem(data, size, flags, ptr);
}
static inline long bpf_ringbuf_reserve_dynptr(void *ringbuf, __u32 size,
                                              __u64 flags,
                                              struct bpf_dynptr *ptr) {
  return bpfemu_ringbuf_reserve_dynptr(ringbuf, size, flags, ptr);
}
static inline void bpf_ringbuf_submit_dynptr(struct bpf_dynptr *ptr,
                                             __u64 flags) {
  bpfemu_ringbuf_submit_dynptr(ptr, flags);
}
static inline void bpf_ringbuf_discard_dynptr(struct bpf_dynptr *ptr,
                                              __u64 flags) {
  bpfemu_ringbuf_discard_dynptr(ptr, flags);
}
/* Packet rewriting: XDP head / tail / metadata moves, checksums, skb
 * stores (net/core/filter.c). */
struct xdp_md;
static inline long bpf_xdp_adjust_head(struct xdp_md *xdp_md, int delta) {
  return bpfemu_xdp_adjust_head(xdp_md, delta);
}
static inline long bpf_xdp_adjust_tail(struct xdp_md *xdp_md, int delta) {
  return bpfemu_xdp_adjust_tail(xdp_md, delta);
}
static inline long bpf_xdp_adjust_meta(struct xdp_md *xdp_md, int delta) {
  return bpfemu_xdp_adjust_meta(xdp_md, delta);
}
static inline long bpf_xdp_load_bytes(struct xdp_md *xdp_md, __u32 offset,
                                      void *buf, __u32 len) {
  return bpfemu_xdp_load_bytes(xdp_md, offset, buf, len);
}
static inline long bpf_xdp_store_bytes(struct xdp_md *xdp_md, __u32 offset,
                                       void *buf, __u32 len) {
  return bpfemu_xdp_store_bytes(xdp_md, offset, buf, len);
}
static inline __s64 bpf_csum_diff(__be32 *from, __u32 from_size, __be32 *to,
                                  __u32 to_size, __wsum seed) {
  return bpfemu_csum_diff(from, from_size, to, to_size, seed);
}
static inline long bpf_skb_store_bytes(struct __sk_buff *skb, __u32 offset,
                                       const void *from, __u32 len,
                                       __u64 flags) {
  return bpfemu_skb_store_bytes(skb, offset, from, len, flags);
}
static inline long bpf_skb_change_tail(struct __sk_buff *skb, __u32 len,
                                       __u64 flags) {
  return bpfemu_skb_change_tail(skb, len, flags);
}
static inline long bpf_skb_change_head(struct __sk_buff *skb, __u32 len,
                                       __u64 flags) {
  return bpfemu_skb_change_head(skb, len, flags);
}
static inline long bpf_lwt_push_encap(struct __sk_buff *skb, __u32 type,
                                      void *hdr, __u32 len) {
  return bpfemu_lwt_push_encap(skb, type, hdr, len);
}
struct pt_regs;
static inline long bpf_override_return(struct pt_regs *regs, __u64 rc) {
  return bpfemu_override_return(regs, rc);
}
static inline long bpf_rc_repeat(void *ctx) { return bpfemu_rc_repeat(ctx); }
static inline long bpf_rc_keydown(void *ctx, __u32 protocol, __u64 scancode,
                                  __u32 toggle) {
  return bpfemu_rc_keydown(ctx, protocol, scancode, toggle);
}
static inline long bpf_rc_pointer_rel(void *ctx, __s32 rel_x, __s32 rel_y) {
  return bpfemu_rc_pointer_rel(ctx, rel_x, rel_y);
}
static inline long bpf_tcp_send_ack(void *tp, __u32 rcv_nxt) {
  return bpfemu_tcp_send_ack(tp, rcv_nxt);
}
static inline long bpf_lwt_seg6_store_bytes(struct __sk_buff *skb, __u32 offset,
                                            const void *from, __u32 len) {
  return bpfemu_lwt_seg6_store_bytes(skb, offset, from, len);
}
static inline long bpf_lwt_seg6_adjust_srh(struct __sk_buff *skb, __u32 offset,
                                           __s32 delta) {
  return bpfemu_lwt_seg6_adjust_srh(skb, offset, delta);
}
static inline long bpf_lwt_seg6_action(struct __sk_buff *skb, __u32 action,
                                       void *param, __u32 param_len) {
  return bpfemu_lwt_seg6_action(skb, action, param, param_len);
}
static inline long bpf_skb_change_proto(struct __sk_buff *skb, __be16 proto,
                                        __u64 flags) {
  return bpfemu_skb_change_proto(skb, proto, flags);
}
static inline long bpf_skb_adjust_room(struct __sk_buff *skb, __s32 len_diff,
                                       __u32 mode, __u64 flags) {
  return bpfemu_skb_adjust_room(skb, len_diff, mode, flags);
}
static inline long bpf_skb_pull_data(struct __sk_buff *skb, __u32 len) {
  return bpfemu_skb_pull_data(skb, len);
}
static inline long bpf_skb_change_type(struct __sk_buff *skb, __u32 type) {
  return bpfemu_skb_change_type(skb, type);
}
struct bpf_tunnel_key;
static inline long bpf_skb_set_tunnel_key(struct __sk_buff *skb,
                                          struct bpf_tunnel_key *key,
                                          __u32 size, __u64 flags) {
  return bpfemu_skb_set_tunnel_key(skb, key, size, flags);
}
static inline long bpf_skb_get_tunnel_key(struct __sk_buff *skb,
                                          struct bpf_tunnel_key *key,
                                          __u32 size, __u64 flags) {
  return bpfemu_skb_get_tunnel_key(skb, key, size, flags);
}
static inline long bpf_skb_set_tunnel_opt(struct __sk_buff *skb, void *opt,
                                          __u32 size) {
  return bpfemu_skb_set_tunnel_opt(skb, opt, size);
}
static inline long bpf_skb_get_tunnel_opt(struct __sk_buff *skb, void *opt,
                                          __u32 size) {
  return bpfemu_skb_get_tunnel_opt(skb, opt, size);
}
static inline long bpf_set_hash(struct __sk_buff *skb, __u32 hash) {
  return bpfemu_set_hash(skb, hash);
}
static inline void bpf_set_hash_invalid(struct __sk_buff *skb) {
  bpfemu_set_hash_invalid(skb);
}
static inline __u32 bpf_get_hash_recalc(struct __sk_buff *skb) {
  return bpfemu_get_hash_recalc(skb);
}
static inline long bpf_skb_vlan_push(struct __sk_buff *skb, __be16 vlan_proto,
                                     __u16 vlan_tci) {
  return bpfemu_skb_vlan_push(skb, vlan_proto, vlan_tci);
}
static inline long bpf_skb_vlan_pop(struct __sk_buff *skb) {
  return bpfemu_skb_vlan_pop(skb);
}
static inline long bpf_l3_csum_replace(struct __sk_buff *skb, __u32 offset,
                                       __u64 from, __u64 to, __u64 size) {
  return bpfemu_l3_csum_replace(skb, offset, from, to, size);
}
static inline long bpf_l4_csum_replace(struct __sk_buff *skb, __u32 offset,
                                       __u64 from, __u64 to, __u64 flags) {
  return bpfemu_l4_csum_replace(skb, offset, from, to, flags);
}

/* SYSCALL programs and bpf_snprintf (native/syscall_helpers.h). */
static inline long bpf_snprintf(char *str, __u32 str_size, const char *fmt,
                                __u64 *data, __u32 data_len) {
  return bpfemu_snprintf(str, str_size, fmt, data, data_len);
}
static inline long bpf_sys_bpf(__u32 cmd, void *attr, __u32 attr_size) {
  return bpfemu_sys_bpf(cmd, attr, attr_size);
}
static inline long bpf_sys_close(__u32 fd) { return bpfemu_sys_close(fd); }
static inline long bpf_btf_find_by_name_kind(char *name, int name_sz,
                                             __u32 kind, int flags) {
  return bpfemu_btf_find_by_name_kind(name, name_sz, kind, flags);
}
static inline long bpf_kallsyms_lookup_name(const char *name, int name_sz,
                                            int flags, __u64 *res) {
  return bpfemu_kallsyms_lookup_name(name, name_sz, flags, res);
}

/* BPF iterator programs (native/seq_helpers.h). */
struct seq_file;
static inline long bpf_seq_printf(struct seq_file *m, const char *fmt,
                                  __u32 fmt_size, const void *data,
                                  __u32 data_len) {
  return bpfemu_seq_printf(m, fmt, fmt_size, data, data_len);
}
static inline long bpf_seq_write(struct seq_file *m, const void *data,
                                 __u32 len) {
  return bpfemu_seq_write(m, data, len);
}
struct btf_ptr;
static inline long bpf_seq_printf_btf(struct seq_file *m, struct btf_ptr *ptr,
                                      __u32 ptr_size, __u64 flags) {
  return bpfemu_seq_printf_btf(m, ptr, ptr_size, flags);
}

/* BPF timers (native/timers.cc). callback_fn is
 * int (*)(void *map, void *key, void *value), its return value ignored. */
static inline long bpf_timer_init(struct bpf_timer *timer, void *map,
                                  __u64 flags) {
  return bpfemu_timer_init(timer, map, flags);
}
static inline long bpf_timer_set_callback(struct bpf_timer *timer,
                                          void *callback_fn) {
  return bpfemu_timer_set_callback(timer, callback_fn);
}
static inline long bpf_timer_start(struct bpf_timer *timer, __u64 nsecs,
                                   __u64 flags) {
  return bpfemu_timer_start(timer, nsecs, flags);
}
static inline long bpf_timer_cancel(struct bpf_timer *timer) {
  return bpfemu_timer_cancel(timer);
}

/* fentry / fexit / fmod_ret programs and tracing (native/tracing_helpers.cc):
 * the trampoline's frame (emu/trampoline.h). */
static inline long bpf_get_func_arg(void *ctx, __u32 n, __u64 *value) {
  return bpfemu_get_func_arg(ctx, n, value);
}
static inline long bpf_get_func_ret(void *ctx, __u64 *value) {
  return bpfemu_get_func_ret(ctx, value);
}
static inline long bpf_get_func_arg_cnt(void *ctx) {
  return bpfemu_get_func_arg_cnt(ctx);
}
static inline __u64 bpf_get_func_ip(void *ctx) {
  return bpfemu_get_func_ip(ctx);
}
static inline __u64 bpf_get_attach_cookie(void *ctx) {
  return bpfemu_get_attach_cookie(ctx);
}
static inline long bpf_get_ns_current_pid_tgid(__u64 dev, __u64 ino,
                                               struct bpf_pidns_info *nsdata,
                                               __u32 size) {
  return bpfemu_get_ns_current_pid_tgid(dev, ino, nsdata, size);
}
static inline long bpf_trace_vprintk(const char *fmt, __u32 fmt_size,
                                     const void *data, __u32 data_len) {
  return bpfemu_trace_vprintk(fmt, fmt_size, data, data_len);
}

/* The calling task's own memory and signals (native/tracing_helpers.cc): a
 * test run acts on the calling process, as the kernel's does. */
static inline long bpf_probe_write_user(void *dst, const void *src, __u32 len) {
  return bpfemu_probe_write_user(dst, src, len);
}
static inline long bpf_send_signal(__u32 sig) {
  return bpfemu_send_signal(sig);
}
static inline long bpf_send_signal_thread(__u32 sig) {
  return bpfemu_send_signal_thread(sig);
}
/* A value shown by its kernel BTF type (native/btf_show.h). */
static inline long bpf_snprintf_btf(char *str, __u32 str_size,
                                    struct btf_ptr *ptr, __u32 btf_ptr_size,
                                    __u64 flags) {
  return bpfemu_snprintf_btf(str, str_size, ptr, btf_ptr_size, flags);
}
/* Kernel objects of tracing and SYSCALL programs: a socket's file
 * (native/task_model.h), struct sk_buff and xdp_buff (none modelled). */
struct file;
struct socket;
static inline struct socket *bpf_sock_from_file(struct file *file) {
  return (struct socket *)bpfemu_sock_from_file(file);
}
static inline long bpf_skb_output(void *ctx, void *map, __u64 flags, void *data,
                                  __u64 size) {
  return bpfemu_skb_output(ctx, map, flags, data, size);
}
static inline long bpf_xdp_output(void *ctx, void *map, __u64 flags, void *data,
                                  __u64 size) {
  return bpfemu_xdp_output(ctx, map, flags, data, size);
}
/* The task's user registers as a struct pt_regs (native/task_model.h). */
static inline long bpf_task_pt_regs(struct task_struct *task) {
  return bpfemu_task_pt_regs(task);
}
static inline long bpf_get_branch_snapshot(void *entries, __u32 size,
                                           __u64 flags) {
  return bpfemu_get_branch_snapshot(entries, size, flags);
}
static inline long bpf_copy_from_user_task(void *dst, __u32 size,
                                           const void *user_ptr,
                                           struct task_struct *tsk,
                                           __u64 flags) {
  return bpfemu_copy_from_user_task(dst, size, user_ptr, tsk, flags);
}
/* A task's stack: the calling task's as bpf_get_stack's (native/helpers.cc
 * bpfemu_get_task_stack). */
static inline long bpf_get_task_stack(struct task_struct *task, void *buf,
                                      __u32 size, __u64 flags) {
  return bpfemu_get_task_stack(task, buf, size, flags);
}
/* callback_fn: long (*)(struct task_struct *, struct vm_area_struct *,
 * void *ctx); the vma is laid out by the kernel BTF (native/task_model.h
 * FindVma), so a natively built program can pass it on but not read its
 * fields at its own offsets. */
static inline long bpf_find_vma(struct task_struct *task, __u64 addr,
                                void *callback_fn, void *callback_ctx,
                                __u64 flags) {
  return bpfemu_find_vma(task, addr, callback_fn, callback_ctx, flags);
}
/* kptr fields (native/graph_kfuncs.cc): stores ptr at the kptr field dst
 * and returns what it held. */
static inline void *bpf_kptr_xchg(void *dst, void *ptr) {
  return bpfemu_kptr_xchg(dst, ptr);
}
/* A bpf_percpu_obj_new object's copy for `cpu` (NULL past the possible
 * CPUs), or for the current CPU. Per-CPU kernel variables are not
 * emulated: another pointer gives NULL. */
static inline void *bpf_per_cpu_ptr(const void *percpu_ptr, __u32 cpu) {
  return bpfemu_per_cpu_ptr(percpu_ptr, cpu);
}
static inline void *bpf_this_cpu_ptr(const void *percpu_ptr) {
  return bpfemu_this_cpu_ptr(percpu_ptr);
}

#endif /* __BPF_HELPER_DEFS_H */
