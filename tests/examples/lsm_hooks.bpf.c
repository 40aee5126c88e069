// SPDX-License-Identifier: GPL-2.0
// Example: BPF LSM programs that call the LSM helpers and record, per
// hook call, what each returned; only the calls of the thread (or, for
// exec, the process) that `cfg` names are recorded and judged.
// - lsm.s/inode_create (a new file in a directory): inode storage on the
//   directory's inode (get without and with BPF_LOCAL_STORAGE_GET_F_CREATE,
//   unknown flags, a NULL inode, get again, delete twice when asked, delete
//   a NULL inode) and bpf_ima_inode_hash; the verdict cfg gives the call;
// - lsm/inode_getattr (stat): bpf_d_path of the path into buffers of the
//   sizes cfg gives (the name, -ENAMETOOLONG's partial name, 0); the
//   verdict cfg gives the call;
// - fentry/security_inode_getattr (a tracing program on a function of
//   btf_allowlist_d_path, where bpf_d_path is allowed): bpf_d_path of the
//   same path, before the hook;
// - lsm.s/file_open: bpf_ima_file_hash;
// - lsm/bprm_creds_for_exec: bpf_bprm_opts_set with an unknown flag and
//   with cfg's flags (BPF_F_BPRM_SECUREEXEC sets AT_SECURE for the new
//   program, 0 clears it); the verdict cfg gives.
// The hook arguments are passed to the helpers as they come (no field
// reads), so the program builds natively too.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NRECS 32
#define NCALLS 8
#define NPATHS 6
#define PATHLEN 64

#ifndef KERNEL_VERSION
#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + (c))
#endif

extern unsigned int LINUX_KERNEL_VERSION __kconfig;

struct inode;
struct path;
struct file;
struct linux_binprm;

struct cfg {
  __u64 pid_tgid;       // the test's thread
  __u64 exec_pid_tgid;  // the child that execs
  __s32 create_verdict[NCALLS];
  __s32 getattr_verdict[NCALLS];
  __u32 delete_on[NCALLS];  // inode_create calls that delete the storage
  __u32 sizes[NPATHS];      // bpf_d_path sizes (masked to 0..63)
  __u64 bprm_flags;
  __s32 exec_verdict;
  __u32 pad;
};

struct rec {
  __u32 hook;  // 1 inode_create, 2 inode_getattr, 3 file_open, 4 exec,
               // 5 fentry/security_inode_getattr
  __u32 n;     // the hook's own call count
  __s64 ret[12];
  __u64 val[4];
  char path[NPATHS + 1][PATHLEN];
};

struct sval {
  __u64 count;
  __u64 first;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cfg);
} cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 6);
  __type(key, __u32);
  __type(value, __u32);
} count SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NRECS);
  __type(key, __u32);
  __type(value, struct rec);
} recs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_INODE_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct sval);
} istore SEC(".maps");

// What a hook answers: within bpf_lsm_get_retval_range's -MAX_ERRNO..0,
// which the verifier checks at load, so as constants (a clamped value
// read from the map loses its bounds in clang's code): 0, -EPERM or
// -EACCES.
static __always_inline int Verdict(__s32 v) {
  if (v == -1) return -1;
  if (v == -13) return -13;
  return 0;
}

// The record of this call, and the hook's call number in *n; NULL when
// the call is not the test's.
static struct rec *Rec(struct cfg **c, __u32 hook, __u32 *n, int exec) {
  __u32 zero = 0;
  *c = bpf_map_lookup_elem(&cfg, &zero);
  if (!*c) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  if (exec ? (id >> 32) != ((*c)->exec_pid_tgid >> 32) : id != (*c)->pid_tgid) {
    return 0;
  }
  __u32 *total = bpf_map_lookup_elem(&count, &zero);
  __u32 *mine = bpf_map_lookup_elem(&count, &hook);
  if (!total || !mine) return 0;
  // One thread (or exec'ing process) at a time: plain increments.
  __u32 i = *total;
  *total = i + 1;
  *n = *mine;
  *mine = *n + 1;
  struct rec *r = bpf_map_lookup_elem(&recs, &i);
  if (!r) return 0;
  r->hook = hook;
  r->n = *n;
  return r;
}

SEC("lsm.s/inode_create")
int BPF_PROG(create, struct inode *dir) {
  struct cfg *c;
  __u32 n;
  struct rec *r = Rec(&c, 1, &n, 0);
  if (!r) return 0;
  r->ret[0] = bpf_inode_storage_get(&istore, dir, 0, 0) != 0;
  r->ret[1] = bpf_inode_storage_get(&istore, dir, 0, 2) != 0;
  // A NULL inode: 6.12's helpers take it (ARG_PTR_TO_BTF_ID_OR_NULL), 6.1's
  // verifier refuses it; the branch goes at load on 6.1.
  const int null_ok = LINUX_KERNEL_VERSION >= KERNEL_VERSION(6, 12, 0);
  if (null_ok) {
    r->ret[2] = bpf_inode_storage_get(&istore, 0, 0,
                                      BPF_LOCAL_STORAGE_GET_F_CREATE) != 0;
  }
  struct sval init = {100, n};
  struct sval *v = bpf_inode_storage_get(&istore, dir, &init,
                                         BPF_LOCAL_STORAGE_GET_F_CREATE);
  r->ret[3] = v != 0;
  if (v) {
    v->count++;
    r->val[0] = v->count;
    r->val[1] = v->first;
    struct sval *again = bpf_inode_storage_get(&istore, dir, 0, 0);
    r->ret[4] = again ? (again->count == v->count ? 1 : 2) : 0;
  }
  if (n < NCALLS && c->delete_on[n & (NCALLS - 1)]) {
    r->ret[5] = bpf_inode_storage_delete(&istore, dir);
    r->ret[6] = bpf_inode_storage_delete(&istore, dir);
    r->ret[7] = bpf_inode_storage_get(&istore, dir, 0, 0) != 0;
  }
  if (null_ok) r->ret[8] = bpf_inode_storage_delete(&istore, 0);
  char hash[32] = {};
  r->ret[9] = bpf_ima_inode_hash(dir, hash, sizeof(hash));
  r->val[2] = hash[0];
  return n < NCALLS ? Verdict(c->create_verdict[n & (NCALLS - 1)]) : 0;
}

SEC("lsm/inode_getattr")
int BPF_PROG(getattr, const struct path *path) {
  struct cfg *c;
  __u32 n;
  struct rec *r = Rec(&c, 2, &n, 0);
  if (!r) return 0;
  for (int i = 0; i < NPATHS; ++i) {
    r->ret[i] = bpf_d_path((struct path *)path, r->path[i],
                           c->sizes[i] & (PATHLEN - 1));
  }
  r->ret[NPATHS] = bpf_d_path((struct path *)path, r->path[NPATHS], PATHLEN);
  return n < NCALLS ? Verdict(c->getattr_verdict[n & (NCALLS - 1)]) : 0;
}

// A tracing program on a function of btf_allowlist_d_path: bpf_d_path of
// the same path, before the LSM hook it calls.
SEC("fentry/security_inode_getattr")
int BPF_PROG(fgetattr, const struct path *path) {
  struct cfg *c;
  __u32 n;
  struct rec *r = Rec(&c, 5, &n, 0);
  if (!r) return 0;
  r->ret[0] = bpf_d_path((struct path *)path, r->path[0], PATHLEN);
  r->ret[1] =
      bpf_d_path((struct path *)path, r->path[1], c->sizes[2] & (PATHLEN - 1));
  return 0;
}

SEC("lsm.s/file_open")
int BPF_PROG(open_file, struct file *file) {
  struct cfg *c;
  __u32 n;
  struct rec *r = Rec(&c, 3, &n, 0);
  if (!r) return 0;
  char hash[64] = {};
  r->ret[0] = bpf_ima_file_hash(file, hash, sizeof(hash));
  r->ret[1] = bpf_ima_file_hash(file, hash, 1);
  r->val[0] = hash[0];
  return 0;
}

SEC("lsm/bprm_creds_for_exec")
int BPF_PROG(exec, struct linux_binprm *bprm) {
  struct cfg *c;
  __u32 n;
  struct rec *r = Rec(&c, 4, &n, 1);
  if (!r) return 0;
  r->ret[0] = bpf_bprm_opts_set(bprm, 2);
  r->ret[1] = bpf_bprm_opts_set(bprm, BPF_F_BPRM_SECUREEXEC | 4);
  r->ret[2] = bpf_bprm_opts_set(bprm, c->bprm_flags);
  return Verdict(c->exec_verdict);
}

char _license[] SEC("license") = "GPL";
