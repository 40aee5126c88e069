// SPDX-License-Identifier: GPL-2.0
// Example: fentry, fexit and fmod_ret programs on the functions a TRACING
// test run calls (net/bpf/test_run.c bpf_prog_test_run_tracing:
// bpf_fentry_test1..9 for fentry/fexit, bpf_modify_return_test and
// bpf_modify_return_test2 for fmod_ret). Each program records its
// arguments, its helpers' answers (bpf_get_func_arg, _ret, _arg_cnt,
// _ip, bpf_get_attach_cookie, bpf_get_ns_current_pid_tgid,
// bpf_trace_printk, bpf_trace_vprintk) and how often it ran into `out`;
// `never` is attached to a function no test run calls. `cfg` holds what
// fmod_ret returns and the pid namespace to ask about.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct cfg {
  __s64 fmod_ret;   // what `mod_ret` returns (0: the function runs)
  __u64 pidns_dev;  // st_dev and st_ino of /proc/self/ns/pid
  __u64 pidns_ino;
};

struct out {
  __u64 hits[8];  // test1, test2, test3, test6, fmod, fexit_mod, never, misc
  // fentry/bpf_fentry_test1(int a)
  __s64 t1_a, t1_cnt, t1_arg0_err, t1_arg0, t1_arg1_err, t1_arg1;
  __u64 t1_ip, t1_cookie;
  // fexit/bpf_fentry_test2(int a, u64 b) = a + b
  __s64 t2_a, t2_b, t2_ret, t2_cnt, t2_ret_err, t2_ret_val, t2_arg2_err;
  __u64 t2_ip, t2_cookie;
  // fentry/bpf_fentry_test3(char a, int b, u64 c)
  __s64 t3[4];
  // fexit/bpf_fentry_test6(u64, void *, short, int, void *, u64) and ret
  __s64 t6[8];
  // fmod_ret/bpf_modify_return_test(int a, int *b)
  __s64 mr_a, mr_prev, mr_cnt, mr_ret_err, mr_ret_val;
  // fexit/bpf_modify_return_test
  __s64 mx_a, mx_ret, mx_ret_err, mx_ret_val;
  // fentry/bpf_fentry_test1, the other helpers
  __s64 printk_ret, vprintk_ret, ns_ret, ns_bad_size, ns_bad_dev, ns_bad_ino;
  __u32 ns_pid, ns_tgid;
  __u64 pid_tgid;
  // The order test1 and misc (both on bpf_fentry_test1) ran in.
  __u64 seq, t1_seq, misc_seq;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cfg);
} cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct out);
} out SEC(".maps");

static struct out *Out(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&out, &zero);
}

SEC("fentry/bpf_fentry_test1")
int BPF_PROG(test1, int a) {
  struct out *o = Out();
  if (!o) return 0;
  __u64 v = 77;
  o->hits[0]++;
  o->t1_a = a;
  o->t1_cnt = bpf_get_func_arg_cnt(ctx);
  o->t1_arg0_err = bpf_get_func_arg(ctx, 0, &v);
  o->t1_arg0 = v;
  v = 77;
  o->t1_arg1_err = bpf_get_func_arg(ctx, 1, &v);
  o->t1_arg1 = v;
  o->t1_ip = bpf_get_func_ip(ctx);
  o->t1_cookie = bpf_get_attach_cookie(ctx);
  o->t1_seq = ++o->seq;
  return 0;
}

SEC("fexit/bpf_fentry_test2")
int BPF_PROG(test2, int a, __u64 b, int ret) {
  struct out *o = Out();
  if (!o) return 0;
  __u64 v = 77;
  o->hits[1]++;
  o->t2_a = a;
  o->t2_b = b;
  o->t2_ret = ret;
  o->t2_cnt = bpf_get_func_arg_cnt(ctx);
  o->t2_ret_err = bpf_get_func_ret(ctx, &v);
  o->t2_ret_val = v;
  v = 77;
  o->t2_arg2_err = bpf_get_func_arg(ctx, 2, &v);
  o->t2_ip = bpf_get_func_ip(ctx);
  o->t2_cookie = bpf_get_attach_cookie(ctx);
  return 0;
}

SEC("fentry/bpf_fentry_test3")
int BPF_PROG(test3, char a, int b, __u64 c) {
  struct out *o = Out();
  if (!o) return 0;
  o->hits[2]++;
  o->t3[0] = a;
  o->t3[1] = b;
  o->t3[2] = c;
  o->t3[3] = bpf_get_func_arg_cnt(ctx);
  return 0;
}

SEC("fexit/bpf_fentry_test6")
int BPF_PROG(test6, __u64 a, void *b, short c, int d, void *e, __u64 f,
             int ret) {
  struct out *o = Out();
  if (!o) return 0;
  o->hits[3]++;
  o->t6[0] = a;
  o->t6[1] = (long)b;
  o->t6[2] = c;
  o->t6[3] = d;
  o->t6[4] = (long)e;
  o->t6[5] = f;
  o->t6[6] = ret;
  o->t6[7] = bpf_get_func_arg_cnt(ctx);
  return 0;
}

SEC("fmod_ret/bpf_modify_return_test")
int BPF_PROG(mod_ret, int a, int *b, int ret) {
  struct out *o = Out();
  __u32 zero = 0;
  struct cfg *c = bpf_map_lookup_elem(&cfg, &zero);
  if (!o || !c) return 0;
  __u64 v = 77;
  o->hits[4]++;
  o->mr_a = a;
  o->mr_prev = ret;
  o->mr_cnt = bpf_get_func_arg_cnt(ctx);
  o->mr_ret_err = bpf_get_func_ret(ctx, &v);
  o->mr_ret_val = v;
  return c->fmod_ret;
}

SEC("fexit/bpf_modify_return_test")
int BPF_PROG(fexit_mod, int a, int *b, int ret) {
  struct out *o = Out();
  if (!o) return 0;
  __u64 v = 77;
  o->hits[5]++;
  o->mx_a = a;
  o->mx_ret = ret;
  o->mx_ret_err = bpf_get_func_ret(ctx, &v);
  o->mx_ret_val = v;
  return 0;
}

// Attached, never run by a test run.
SEC("fentry/bpf_fentry_shadow_test")
int BPF_PROG(never, int a) {
  struct out *o = Out();
  if (o) o->hits[6]++;
  return 0;
}

SEC("fentry/bpf_fentry_test1")
int BPF_PROG(misc, int a) {
  struct out *o = Out();
  __u32 zero = 0;
  struct cfg *c = bpf_map_lookup_elem(&cfg, &zero);
  if (!o || !c) return 0;
  struct bpf_pidns_info ns = {};
  o->hits[7]++;
  static const char fmt[] = "fentry %d\n";
  o->printk_ret = bpf_trace_printk(fmt, sizeof(fmt), a);
  __u64 data[4] = {a, 2, 3, 4};
  static const char vfmt[] = "vprintk %d %d %d %d\n";
  o->vprintk_ret = bpf_trace_vprintk(vfmt, sizeof(vfmt), data, sizeof(data));
  o->ns_ret =
      bpf_get_ns_current_pid_tgid(c->pidns_dev, c->pidns_ino, &ns, sizeof(ns));
  o->ns_pid = ns.pid;
  o->ns_tgid = ns.tgid;
  o->ns_bad_size = bpf_get_ns_current_pid_tgid(c->pidns_dev, c->pidns_ino, &ns,
                                               sizeof(ns) - 1);
  o->ns_bad_dev = bpf_get_ns_current_pid_tgid(c->pidns_dev + 1, c->pidns_ino,
                                              &ns, sizeof(ns));
  o->ns_bad_ino = bpf_get_ns_current_pid_tgid(c->pidns_dev, c->pidns_ino + 1,
                                              &ns, sizeof(ns));
  o->pid_tgid = bpf_get_current_pid_tgid();
  o->misc_seq = ++o->seq;
  return 0;
}

char _license[] SEC("license") = "GPL";
