// SPDX-License-Identifier: Apache-2.0
// Cgroup attachment and cgroup links through libbpf 1.1's API: built
// against the system libbpf (the kernel answers) and against libbpfemu
// (emu/cgroup_attach.h answers), the two transcripts must be identical
// (real_vs_emu_test.sh). bpf_prog_attach_opts / bpf_prog_detach2 /
// bpf_prog_query(_opts) with none, BPF_F_ALLOW_OVERRIDE and
// BPF_F_ALLOW_MULTI, BPF_F_REPLACE; bpf_link_create / bpf_link_update /
// bpf_link_detach and the close of a link; bpf_program__attach_cgroup
// with bpf_link__update_program, bpf_link__detach and bpf_link__destroy;
// a dup() of a link fd, a link made with stdin closed (ensure_good_fd), an
// egress program returning 2 at ingress (enforce_expected_attach_type),
// bpf_prog_detach2 of a flow dissector; the errnos of each. Program ids print
// by name (a b c d, o t for the object's two, x for an XDP program). Needs root
// and a writable cgroup2 hierarchy: prints "SKIPPED: ..." alone otherwise.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat/cgroup2_mount.h"

static __u32 ids[7];
static const char names[] = "abcdotx";

static const char* Name(__u32 id) {
  static char buf[4][4];
  static int which;
  which = (which + 1) % 4;
  buf[which][0] = '?';
  buf[which][1] = 0;
  for (int i = 0; i < 7; ++i) {
    if (ids[i] == id) buf[which][0] = names[i];
  }
  return buf[which];
}

// A call's answer: the value (or "fd" for a new descriptor) and errno.
static void Report(const char* what, long r, int is_fd) {
  if (r >= 0 && is_fd) {
    printf("%s = fd\n", what);
  } else if (r < 0) {
    printf("%s = %ld errno %d\n", what, r, errno);
  } else {
    printf("%s = %ld\n", what, r);
  }
}

static long Attach(int prog, int cg, enum bpf_attach_type type, __u32 flags,
                   int replace) {
  LIBBPF_OPTS(bpf_prog_attach_opts, o, .flags = flags,
              .replace_prog_fd = replace);
  errno = 0;
  return bpf_prog_attach_opts(prog, cg, type, &o);
}

static void Query(const char* what, int cg, enum bpf_attach_type type,
                  __u32 qflags, __u32 cnt, int with_flags) {
  __u32 got[8] = {0}, fl[8] = {0};
  LIBBPF_OPTS(bpf_prog_query_opts, o, .query_flags = qflags, .prog_ids = got,
              .prog_cnt = cnt);
  if (with_flags) o.prog_attach_flags = fl;
  errno = 0;
  const int r = bpf_prog_query_opts(cg, type, &o);
  printf("%s = %d errno %d attach_flags %u prog_cnt %u:", what, r,
         r < 0 ? errno : 0, o.attach_flags, o.prog_cnt);
  for (__u32 i = 0; i < cnt && i < o.prog_cnt && i < 8; ++i) {
    printf(" %s", Name(got[i]));
    if (with_flags) printf("/%u", fl[i]);
  }
  printf("\n");
}

static __u32 Id(int fd) {
  struct bpf_prog_info info;
  __u32 len = sizeof(info);
  memset(&info, 0, sizeof(info));
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

static int LoadRet(enum bpf_prog_type type, enum bpf_attach_type expected,
                   int ret) {
  const struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = ret},
      {.code = BPF_JMP | BPF_EXIT},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = expected);
  return bpf_prog_load(type, NULL, "GPL", insns, 2, &o);
}

static int Load(enum bpf_prog_type type, enum bpf_attach_type expected) {
  return LoadRet(type, expected, 1);
}

int main(int argc, char** argv) {
  const enum bpf_attach_type eg = BPF_CGROUP_INET_EGRESS;
  libbpf_set_print(NULL);
  if (geteuid() != 0) {
    printf("SKIPPED: needs root (bpf() and a cgroup of its own)\n");
    return 0;
  }
  char root[256], parent[300], child[320];
  Cgroup2Mount(root, sizeof(root));
  snprintf(parent, sizeof(parent), "%s/bpfemu_lcg_%d", root, getpid());
  snprintf(child, sizeof(child), "%s/child", parent);
  if (root[0] == 0 || mkdir(parent, 0755) != 0 || mkdir(child, 0755) != 0) {
    printf("SKIPPED: cannot make a cgroup (%s)\n", strerror(errno));
    rmdir(parent);
    return 0;
  }
  const int p = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int c = open(child, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int notcg = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd[7];
  for (int i = 0; i < 4; ++i) {
    fd[i] = Load(BPF_PROG_TYPE_CGROUP_SKB, eg);
    ids[i] = Id(fd[i]);
  }
  fd[6] = Load(BPF_PROG_TYPE_XDP, 0);
  ids[6] = Id(fd[6]);
  struct bpf_object* obj = argc > 1 ? bpf_object__open_file(argv[1], NULL) : 0;
  const int loaded = obj != NULL && bpf_object__load(obj) == 0;
  struct bpf_program* one =
      loaded ? bpf_object__find_program_by_name(obj, "pass_one") : NULL;
  struct bpf_program* two =
      loaded ? bpf_object__find_program_by_name(obj, "pass_two") : NULL;
  fd[4] = one != NULL ? bpf_program__fd(one) : -1;
  fd[5] = two != NULL ? bpf_program__fd(two) : -1;
  ids[4] = Id(fd[4]);
  ids[5] = Id(fd[5]);
  int ok = p >= 0 && c >= 0 && loaded;
  for (int i = 0; i < 7; ++i) ok = ok && ids[i] != 0;
  printf("setup = %d\n", ok);
  if (!ok) return 1;

  // bpf_prog_attach: the refusals, in the kernel's order.
  Report("attach to a non-cgroup", Attach(fd[0], notcg, eg, 0, 0), 0);
  Report("attach to a closed fd", Attach(fd[0], 999, eg, 0, 0), 0);
  Report("attach type 1000", Attach(fd[0], p, 1000, 0, 0), 0);
  Report("attach an XDP program", Attach(fd[6], p, eg, 0, 0), 0);
  Report("attach to another type's hook",
         Attach(fd[0], p, BPF_CGROUP_INET4_CONNECT, 0, 0), 0);
  Report("attach a closed program", Attach(999, p, eg, 0, 0), 0);
  Report("attach flag 0x100", Attach(fd[0], p, eg, 0x100, 0), 0);
  Report("attach override|multi",
         Attach(fd[0], p, eg, BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI, 0), 0);
  Report("attach replace without multi",
         Attach(fd[0], p, eg, BPF_F_REPLACE, fd[1]), 0);
  Query("query nothing", p, eg, 0, 4, 1);
  Query("query a non-cgroup", notcg, eg, 0, 4, 0);
  Query("query flag 2", p, eg, 2, 4, 0);
  // None: a second attach replaces the first.
  Report("attach a", bpf_prog_attach(fd[0], p, eg, 0), 0);
  Report("attach b", bpf_prog_attach(fd[1], p, eg, 0), 0);
  Query("query parent", p, eg, 0, 4, 1);
  Report("attach c multi over none",
         bpf_prog_attach(fd[2], p, eg, BPF_F_ALLOW_MULTI), 0);
  Report("attach c below none", bpf_prog_attach(fd[2], c, eg, 0), 0);
  Report("detach with no program", bpf_prog_detach(p, eg), 0);
  Report("detach again", bpf_prog_detach(p, eg), 0);
  // Override: the child's program stands for the parent's.
  Report("attach a override",
         bpf_prog_attach(fd[0], p, eg, BPF_F_ALLOW_OVERRIDE), 0);
  Report("attach b below it", bpf_prog_attach(fd[1], c, eg, 0), 0);
  Query("query child effective", c, eg, BPF_F_QUERY_EFFECTIVE, 4, 0);
  Query("query effective with flags", c, eg, BPF_F_QUERY_EFFECTIVE, 4, 1);
  Report("detach b", bpf_prog_detach2(fd[1], c, eg), 0);
  Report("detach a", bpf_prog_detach2(fd[0], p, eg), 0);
  // Multi, replace.
  Report("attach a multi", bpf_prog_attach(fd[0], p, eg, BPF_F_ALLOW_MULTI), 0);
  Report("attach a multi again",
         bpf_prog_attach(fd[0], p, eg, BPF_F_ALLOW_MULTI), 0);
  Report("attach b multi", bpf_prog_attach(fd[1], p, eg, BPF_F_ALLOW_MULTI), 0);
  Report("attach c override now",
         bpf_prog_attach(fd[2], p, eg, BPF_F_ALLOW_OVERRIDE), 0);
  Report("attach c multi in the child",
         bpf_prog_attach(fd[2], c, eg, BPF_F_ALLOW_MULTI), 0);
  Query("query parent", p, eg, 0, 4, 1);
  Query("query parent, room for 1", p, eg, 0, 1, 1);
  Query("query child effective", c, eg, BPF_F_QUERY_EFFECTIVE, 4, 0);
  Report("replace a by d",
         Attach(fd[3], p, eg, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, fd[0]), 0);
  Report("replace c (not here)",
         Attach(fd[0], p, eg, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, fd[2]), 0);
  Report("replace by an XDP program",
         Attach(fd[0], p, eg, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, fd[6]), 0);
  Report("replace d by itself",
         Attach(fd[3], p, eg, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, fd[3]), 0);
  Query("query parent", p, eg, 0, 4, 1);
  __u32 aflags = 9, cnt = 0;
  errno = 0;
  long r = bpf_prog_query(p, eg, 0, &aflags, NULL, &cnt);
  printf("legacy query count = %ld attach_flags %u prog_cnt %u\n", r, aflags,
         cnt);
  Report("detach multi without a program", bpf_prog_detach(p, eg), 0);
  Report("detach an XDP program", bpf_prog_detach2(fd[6], p, eg), 0);
  Report("detach c (not here)", bpf_prog_detach2(fd[2], p, eg), 0);
  Report("detach from a non-cgroup", bpf_prog_detach2(fd[0], notcg, eg), 0);
  Report("detach type 1000", bpf_prog_detach2(fd[0], p, 1000), 0);
  Report("detach d", bpf_prog_detach2(fd[3], p, eg), 0);
  Report("detach b", bpf_prog_detach2(fd[1], p, eg), 0);
  Report("detach c in the child", bpf_prog_detach2(fd[2], c, eg), 0);
  Query("query parent", p, eg, 0, 4, 1);

  // Links.
  Report("link to a non-cgroup", bpf_link_create(fd[0], notcg, eg, NULL), 1);
  Report("link a closed program", bpf_link_create(999, p, eg, NULL), 1);
  Report("link an XDP program", bpf_link_create(fd[6], p, eg, NULL), 1);
  Report("link to another type's hook",
         bpf_link_create(fd[0], p, BPF_CGROUP_INET4_CONNECT, NULL), 1);
  LIBBPF_OPTS(bpf_link_create_opts, multi, .flags = BPF_F_ALLOW_MULTI);
  Report("link flag multi", bpf_link_create(fd[0], p, eg, &multi), 1);
  LIBBPF_OPTS(bpf_link_create_opts, cookie, .tracing.cookie = 5);
  Report("link with a cookie", bpf_link_create(fd[0], p, eg, &cookie), 1);
  Report("attach a over nothing", bpf_prog_attach(fd[0], p, eg, 0), 0);
  Report("link b over a single program", bpf_link_create(fd[1], p, eg, NULL),
         1);
  Report("detach a", bpf_prog_detach(p, eg), 0);
  const int la = bpf_link_create(fd[0], p, eg, NULL);
  const int lb = bpf_link_create(fd[1], p, eg, NULL);
  Report("link a", la, 1);
  Report("link b", lb, 1);
  Query("query parent", p, eg, 0, 4, 1);
  Report("attach c without flags over links", bpf_prog_attach(fd[2], p, eg, 0),
         0);
  Report("attach a multi beside its link",
         bpf_prog_attach(fd[0], p, eg, BPF_F_ALLOW_MULTI), 0);
  Query("query parent", p, eg, 0, 4, 1);
  Report("detach b (a link's program)", bpf_prog_detach2(fd[1], p, eg), 0);
  Report("detach a (the program)", bpf_prog_detach2(fd[0], p, eg), 0);
  Report("replace a link's program",
         Attach(fd[2], p, eg, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, fd[1]), 0);
  // bpf_link_update.
  Report("update a -> d", bpf_link_update(la, fd[3], NULL), 0);
  Query("query parent", p, eg, 0, 4, 1);
  LIBBPF_OPTS(bpf_link_update_opts, old_a, .flags = BPF_F_REPLACE,
              .old_prog_fd = fd[0]);
  LIBBPF_OPTS(bpf_link_update_opts, old_d, .flags = BPF_F_REPLACE,
              .old_prog_fd = fd[3]);
  LIBBPF_OPTS(bpf_link_update_opts, no_flag, .old_prog_fd = fd[3]);
  LIBBPF_OPTS(bpf_link_update_opts, flag2, .flags = 2);
  Report("update replace old a (is d)", bpf_link_update(la, fd[0], &old_a), 0);
  Report("update replace old d", bpf_link_update(la, fd[0], &old_d), 0);
  Report("update old without replace", bpf_link_update(la, fd[1], &no_flag), 0);
  Report("update flag 2", bpf_link_update(la, fd[1], &flag2), 0);
  Report("update to an XDP program", bpf_link_update(la, fd[6], NULL), 0);
  Report("update to a closed fd", bpf_link_update(la, 999, NULL), 0);
  Report("update a program fd", bpf_link_update(fd[0], fd[1], NULL), 0);
  Report("update a closed link", bpf_link_update(999, fd[1], NULL), 0);
  Query("query parent", p, eg, 0, 4, 1);
  // bpf_link_detach: the link stays an fd.
  Report("detach link b", bpf_link_detach(lb), 0);
  Report("detach link b again", bpf_link_detach(lb), 0);
  Report("update detached link b", bpf_link_update(lb, fd[1], NULL), 0);
  Report("detach a program fd", bpf_link_detach(fd[0]), 0);
  Report("detach a closed link", bpf_link_detach(999), 0);
  Query("query parent", p, eg, 0, 4, 1);
  close(lb);
  close(la);
  Query("query parent after close", p, eg, 0, 4, 1);
  // A dup() of a link fd is the same link: it lives while either is open.
  const int lc = bpf_link_create(fd[2], p, eg, NULL);
  const int lc_dup = dup(lc);
  close(lc);
  Query("query parent after closing the original", p, eg, 0, 4, 1);
  Report("detach through the dup", bpf_link_detach(lc_dup), 0);
  Query("query parent after detach", p, eg, 0, 4, 1);
  close(lc_dup);
  const int ld = bpf_link_create(fd[3], p, eg, NULL);
  const int ld_dup = dup(ld);
  close(ld);
  close(ld_dup);
  Query("query parent after closing both", p, eg, 0, 4, 1);
  // With stdin closed, the link fd is still >= 3 (ensure_good_fd).
  const int saved_in = dup(0);
  close(0);
  const int lo = bpf_link_create(fd[2], p, eg, NULL);
  printf("link with stdin closed >= 3 = %d\n", lo >= 3);
  dup2(saved_in, 0);
  close(saved_in);
  Query("query parent with the moved link", p, eg, 0, 4, 1);
  close(lo);
  Query("query parent after its close", p, eg, 0, 4, 1);
  // An egress program returning 2 (congestion notification) attaches only
  // to egress (enforce_expected_attach_type); one returning 1 anywhere.
  const enum bpf_attach_type in = BPF_CGROUP_INET_INGRESS;
  const int ret2 = LoadRet(BPF_PROG_TYPE_CGROUP_SKB, eg, 2);
  printf("load ret 2 = %d\n", ret2 >= 0);
  Report("attach ret 2 to ingress", bpf_prog_attach(ret2, c, in, 0), 0);
  Report("link ret 2 to ingress", bpf_link_create(ret2, c, in, NULL), 1);
  Report("attach ret 1 to ingress", bpf_prog_attach(fd[0], c, in, 0), 0);
  Report("detach ret 1 from ingress", bpf_prog_detach2(fd[0], c, in), 0);
  Report("attach ret 2 to egress", bpf_prog_attach(ret2, c, eg, 0), 0);
  Report("detach ret 2 from egress", bpf_prog_detach2(ret2, c, eg), 0);
  close(ret2);
  // BPF_PROG_DETACH of a flow dissector takes the program by its type.
  Report("detach XDP from the flow dissector",
         bpf_prog_detach2(fd[6], 0, BPF_FLOW_DISSECTOR), 0);
  // bpf_program__attach_cgroup.
  struct bpf_link* l1 = bpf_program__attach_cgroup(one, p);
  printf("attach_cgroup one = %s\n", l1 != NULL ? "link" : "NULL");
  errno = 0;
  struct bpf_link* bad = bpf_program__attach_cgroup(one, notcg);
  printf("attach_cgroup to a non-cgroup = %s errno %d\n",
         bad != NULL ? "link" : "NULL", errno);
  struct bpf_link* l2 = bpf_program__attach_cgroup(two, c);
  printf("attach_cgroup two in the child = %s\n", l2 != NULL ? "link" : "NULL");
  Query("query child effective", c, eg, BPF_F_QUERY_EFFECTIVE, 4, 0);
  if (l1 != NULL) {
    printf("update_program one -> two = %d\n",
           bpf_link__update_program(l1, two));
    Query("query parent", p, eg, 0, 4, 1);
    printf("link__detach = %d\n", bpf_link__detach(l1));
    Query("query parent", p, eg, 0, 4, 1);
    printf("destroy = %d\n", bpf_link__destroy(l1));
  }
  if (l2 != NULL) printf("destroy two = %d\n", bpf_link__destroy(l2));
  Query("query child", c, eg, 0, 4, 1);
  bpf_object__close(obj);
  for (int i = 0; i < 4; ++i) close(fd[i]);
  close(fd[6]);
  close(p);
  close(c);
  close(notcg);
  if (rmdir(child) != 0 || rmdir(parent) != 0) {
    printf("rmdir: %s\n", strerror(errno));
  }
  return 0;
}
