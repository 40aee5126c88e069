// SPDX-License-Identifier: Apache-2.0
// BPF_PROG_ATTACH / BPF_PROG_DETACH / BPF_PROG_QUERY of cgroup programs,
// the cgroup storages an attach links, and cgroup links (BPF_LINK_CREATE,
// _UPDATE, _DETACH, the close of a link fd), through raw bpf(2): the same
// binary prints the same transcript natively on the kernel (as root) and under
// `bpfemu exec` (expected_cgroup.txt, recorded on 6.18). Program ids are
// printed by name (a, b, c, d, s, x), so the transcript does not depend on
// the ids the kernel hands out. Needs a writable cgroup2 hierarchy (root):
// it makes a cgroup and a child below it, and removes both.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat/cgroup2_mount.h"
#include "tests/exec/raw_sys.h"

// Attach flags newer than this system's header (include/uapi/linux/bpf.h).
#define F_BEFORE (1u << 3)
#define F_AFTER (1u << 4)
#define F_ID (1u << 5)
#define F_PREORDER (1u << 6)
#define F_LINK (1u << 13)

// union bpf_attr as 6.18 lays out the attach and query commands.
typedef union {
  uint8_t bytes[168];
  struct {
    uint32_t target_fd, attach_bpf_fd, attach_type, attach_flags;
    uint32_t replace_bpf_fd, relative_fd;
    uint64_t expected_revision;
  } at;
  struct {
    uint32_t target_fd, attach_type, query_flags, attach_flags;
    uint64_t prog_ids;
    uint32_t prog_cnt, pad;
    uint64_t prog_attach_flags, link_ids, link_attach_flags, revision;
  } q;
  struct {
    uint32_t prog_fd, target_fd, attach_type, flags;
    uint32_t relative_fd, pad;
    uint64_t expected_revision;
  } lc;
  struct {
    uint32_t link_fd, new_prog_fd, flags, old_prog_fd;
  } lu;
} Attr;

static uint32_t ids[6];
static const char* names = "abcdsx";

static const char* Name(uint32_t id) {
  static char buf[2][16];
  static int which;
  which ^= 1;
  for (int i = 0; i < 6; ++i) {
    if (ids[i] == id) {
      snprintf(buf[which], sizeof(buf[which]), "%c", names[i]);
      return buf[which];
    }
  }
  snprintf(buf[which], sizeof(buf[which]), "?");
  return buf[which];
}

// BPF_PROG_ATTACH or BPF_PROG_DETACH (`cmd`) with their shared attr.
static long ProgCmd(int cmd, int cg, int prog, uint32_t type, uint32_t flags,
                    int replace, uint32_t relative, uint64_t revision) {
  Attr a;
  memset(&a, 0, sizeof(a));
  a.at.target_fd = cg;
  a.at.attach_bpf_fd = prog;
  a.at.attach_type = type;
  a.at.attach_flags = flags;
  a.at.replace_bpf_fd = replace;
  a.at.relative_fd = relative;
  a.at.expected_revision = revision;
  return sys_bpf(cmd, &a, sizeof(a));
}

static long Attach(int cg, int prog, uint32_t type, uint32_t flags, int replace,
                   uint32_t relative, uint64_t revision) {
  return ProgCmd(BPF_PROG_ATTACH, cg, prog, type, flags, replace, relative,
                 revision);
}

static long Detach(int cg, int prog, uint32_t type) {
  return ProgCmd(BPF_PROG_DETACH, cg, prog, type, 0, 0, 0, 0);
}

static long LinkCreate(int prog, int cg, uint32_t type, uint32_t flags,
                       uint32_t relative, uint64_t revision) {
  Attr a;
  memset(&a, 0, sizeof(a));
  a.lc.prog_fd = prog;
  a.lc.target_fd = cg;
  a.lc.attach_type = type;
  a.lc.flags = flags;
  a.lc.relative_fd = relative;
  a.lc.expected_revision = revision;
  return sys_bpf(BPF_LINK_CREATE, &a, sizeof(a));
}

static long LinkUpdate(int link, int prog, uint32_t flags, int old) {
  Attr a;
  memset(&a, 0, sizeof(a));
  a.lu.link_fd = link;
  a.lu.new_prog_fd = prog;
  a.lu.flags = flags;
  a.lu.old_prog_fd = old;
  return sys_bpf(BPF_LINK_UPDATE, &a, sizeof(a));
}

static long LinkDetach(int link) {
  Attr a;
  memset(&a, 0, sizeof(a));
  a.lu.link_fd = link;
  return sys_bpf(BPF_LINK_DETACH, &a, sizeof(a));
}

// A link fd printed as whether it is one.
static const char* Fd(long r) {
  static char buf[24];
  if (r >= 0) return "fd";
  snprintf(buf, sizeof(buf), "%ld", r);
  return buf;
}

// A query printed: its answer, attach_flags, prog_cnt, revision, the ids
// (by name) and their attach flags.
static void Query(const char* what, int cg, uint32_t type, uint32_t qflags,
                  uint32_t cnt, int with_flags) {
  uint32_t got[8] = {0}, fl[8] = {0};
  Attr a;
  memset(&a, 0, sizeof(a));
  a.q.target_fd = cg;
  a.q.attach_type = type;
  a.q.query_flags = qflags;
  a.q.prog_ids = (uint64_t)(uintptr_t)got;
  a.q.prog_cnt = cnt;
  if (with_flags) a.q.prog_attach_flags = (uint64_t)(uintptr_t)fl;
  long r = sys_bpf(BPF_PROG_QUERY, &a, sizeof(a));
  printf("%s = %ld flags %u cnt %u rev %llu:", what, r, a.q.attach_flags,
         a.q.prog_cnt, (unsigned long long)a.q.revision);
  for (uint32_t i = 0; i < cnt && i < a.q.prog_cnt; ++i) {
    printf(" %s", Name(got[i]));
    if (with_flags) printf("/%u", fl[i]);
  }
  printf("\n");
}

static uint32_t ProgId(int fd) {
  struct bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = fd;
  a.info.info_len = sizeof(info);
  a.info.info = (uint64_t)(uintptr_t)&info;
  return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) == 0 ? info.id : 0;
}

// A cgroup_skb program returning 1 (a socket filter with `type` 1); with
// a storage map, it asks for its storage first (bpf_get_local_storage,
// helper 81).
static int Load(int storage, int type) {
  struct insn p[8];
  int n = 0;
  if (storage >= 0) {
    p[n++] = (struct insn){0x18, 1 | 1 << 4, 0, storage};  // r1 = map
    p[n++] = (struct insn){0, 0, 0, 0};
    p[n++] = (struct insn){0xb7, 2, 0, 0};  // r2 = 0
    p[n++] = (struct insn){0x85, 0, 0, 81};
  }
  p[n++] = (struct insn){0xb7, 0, 0, 1};  // r0 = 1
  p[n++] = (struct insn){0x95, 0, 0, 0};  // exit
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = type ? BPF_PROG_TYPE_SOCKET_FILTER : BPF_PROG_TYPE_CGROUP_SKB;
  a.expected_attach_type = type ? 0 : BPF_CGROUP_INET_EGRESS;
  a.insn_cnt = n;
  a.insns = (uint64_t)(uintptr_t)p;
  a.license = (uint64_t)(uintptr_t) "GPL";
  return (int)sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

// Cgroup links (kernel/bpf/cgroup.c cgroup_bpf_link_attach and
// bpf_cgroup_link_lops): attached as BPF_F_ALLOW_MULTI, placed by link
// anchors, their program swapped, detached, released by the last close.
static void Links(int p, int c, int notcg, int st, const int* fd) {
  const uint32_t eg = BPF_CGROUP_INET_EGRESS;
  printf("link to a non-cgroup = %s\n",
         Fd(LinkCreate(fd[0], notcg, eg, 0, 0, 0)));
  printf("link a closed program = %s\n", Fd(LinkCreate(999, p, eg, 0, 0, 0)));
  printf("link a map = %s\n", Fd(LinkCreate(st, p, eg, 0, 0, 0)));
  printf("link to another program type's hook = %s\n",
         Fd(LinkCreate(fd[0], p, BPF_CGROUP_INET4_CONNECT, 0, 0, 0)));
  printf("link type 9999 = %s\n", Fd(LinkCreate(fd[0], p, 9999, 0, 0, 0)));
  printf("link a socket filter = %s\n", Fd(LinkCreate(fd[5], p, eg, 0, 0, 0)));
  printf("link flag override = %s\n",
         Fd(LinkCreate(fd[0], p, eg, BPF_F_ALLOW_OVERRIDE, 0, 0)));
  printf("link flag multi = %s\n",
         Fd(LinkCreate(fd[0], p, eg, BPF_F_ALLOW_MULTI, 0, 0)));
  printf("link before no link = %s\n",
         Fd(LinkCreate(fd[0], p, eg, F_LINK | F_BEFORE, 0, 0)));
  printf("link revision 7 = %s\n", Fd(LinkCreate(fd[0], p, eg, 0, 0, 7)));
  const int la = (int)LinkCreate(fd[0], p, eg, 0, 0, 0);
  const int lb = (int)LinkCreate(fd[1], p, eg, 0, 0, 0);
  printf("link a, b = %s %s\n", Fd(la), Fd(lb));
  Query("query parent", p, eg, 0, 4, 1);
  printf("attach a without flags over links = %ld\n",
         Attach(p, fd[0], eg, 0, 0, 0, 0));
  printf("attach a multi beside its link = %ld\n",
         Attach(p, fd[0], eg, BPF_F_ALLOW_MULTI, 0, 0, 0));
  printf("attach a multi again = %ld\n",
         Attach(p, fd[0], eg, BPF_F_ALLOW_MULTI, 0, 0, 0));
  const int twice = (int)LinkCreate(fd[0], p, eg, 0, 0, 0);
  printf("link a twice = %s\n", Fd(twice));
  Query("query parent", p, eg, 0, 8, 1);
  close(twice);
  Query("query parent", p, eg, 0, 8, 1);
  printf("detach a (the program) = %ld\n", Detach(p, fd[0], eg));
  printf("detach a again = %ld\n", Detach(p, fd[0], eg));
  printf("detach b (a link's) = %ld\n", Detach(p, fd[1], eg));
  Query("query parent", p, eg, 0, 8, 1);
  const int lc = (int)LinkCreate(fd[2], p, eg, F_LINK | F_BEFORE, lb, 0);
  printf("link c before link b = %s\n", Fd(lc));
  printf("link d after program a = %s\n",
         Fd(LinkCreate(fd[3], p, eg, F_AFTER, fd[0], 0)));
  printf("link d after a map = %s\n",
         Fd(LinkCreate(fd[3], p, eg, F_LINK | F_AFTER, st, 0)));
  printf("link d after a closed fd = %s\n",
         Fd(LinkCreate(fd[3], p, eg, F_LINK | F_AFTER, 999, 0)));
  printf("link d after link id 0 = %s\n",
         Fd(LinkCreate(fd[3], p, eg, F_LINK | F_ID | F_AFTER, 0, 0)));
  printf("link d before and after = %s\n",
         Fd(LinkCreate(fd[3], p, eg, F_LINK | F_BEFORE | F_AFTER, lb, 0)));
  Query("query parent", p, eg, 0, 8, 1);
  printf("attach d before link c = %ld\n",
         Attach(p, fd[3], eg, BPF_F_ALLOW_MULTI | F_LINK | F_BEFORE, 0, lc, 0));
  printf("attach d before program c = %ld\n",
         Attach(p, fd[3], eg, BPF_F_ALLOW_MULTI | F_BEFORE, 0, fd[2], 0));
  // Update: the link's program is swapped in place.
  printf("update a -> d = %ld\n", LinkUpdate(la, fd[3], 0, 0));
  Query("query parent", p, eg, 0, 8, 1);
  printf("update replace old a (is d) = %ld\n",
         LinkUpdate(la, fd[0], BPF_F_REPLACE, fd[0]));
  printf("update replace old d = %ld\n",
         LinkUpdate(la, fd[0], BPF_F_REPLACE, fd[3]));
  printf("update old without replace = %ld\n", LinkUpdate(la, fd[1], 0, fd[0]));
  printf("update flag 2 = %ld\n", LinkUpdate(la, fd[1], 2, 0));
  printf("update replace old closed = %ld\n",
         LinkUpdate(la, fd[1], BPF_F_REPLACE, 999));
  printf("update a program fd = %ld\n", LinkUpdate(fd[0], fd[1], 0, 0));
  printf("update a closed fd = %ld\n", LinkUpdate(999, fd[1], 0, 0));
  printf("update to a map = %ld\n", LinkUpdate(la, st, 0, 0));
  printf("update to a socket filter = %ld\n", LinkUpdate(la, fd[5], 0, 0));
  printf("update to other storages = %ld\n", LinkUpdate(la, fd[4], 0, 0));
  printf("update to the program another link has = %ld\n",
         LinkUpdate(la, fd[2], 0, 0));
  Query("query parent", p, eg, 0, 8, 1);
  printf("update back to a = %ld\n", LinkUpdate(la, fd[0], 0, 0));
  // The child: its own link, and the parent's links in its effective list.
  const int lcb = (int)LinkCreate(fd[1], c, eg, F_BEFORE, 0, 0);
  printf("link b in the child = %s\n", Fd(lcb));
  printf("attach d in the child without flags = %ld\n",
         Attach(c, fd[3], eg, 0, 0, 0, 0));
  Query("query child", c, eg, 0, 4, 1);
  Query("query child effective", c, eg, BPF_F_QUERY_EFFECTIVE, 8, 0);
  // Detach: the link stays an fd.
  printf("detach link b = %ld\n", LinkDetach(lb));
  printf("detach link b again = %ld\n", LinkDetach(lb));
  printf("update detached link b = %ld\n", LinkUpdate(lb, fd[1], 0, 0));
  printf("detach a program fd = %ld\n", LinkDetach(fd[0]));
  printf("detach a closed fd = %ld\n", LinkDetach(999));
  Query("query parent", p, eg, 0, 8, 1);
  // Close: the last fd of a link detaches it.
  const int la2 = dup(la);
  close(la);
  Query("query parent with a dup of link a", p, eg, 0, 8, 1);
  close(la2);
  Query("query parent after link a closed", p, eg, 0, 8, 1);
  close(lb);
  close(lc);
  Query("query parent after all closed", p, eg, 0, 8, 1);
  Query("query child effective", c, eg, BPF_F_QUERY_EFFECTIVE, 8, 0);
  close(lcb);
  Query("query child after its link closed", c, eg, 0, 8, 1);
}

static void OnAlarm(int sig) { (void)sig; }

// Whether read() of `fd` returns at once (the kernel's link file: -1
// EINVAL; bpfemu exec's: 0, docs/exec.md) and what poll() says.
static void ReadAndPoll(const char* what, int fd) {
  struct pollfd pf = {fd, POLLIN, 0};
  const int pr = poll(&pf, 1, 0);
  printf("%s poll = %d readable %d\n", what, pr, (pf.revents & POLLIN) != 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnAlarm;  // no SA_RESTART: a blocked read ends (EINTR)
  sigaction(SIGALRM, &sa, NULL);
  char ch;
  alarm(5);
  const long r = read(fd, &ch, 1);
  const int interrupted = r < 0 && errno == EINTR;
  alarm(0);
  printf("%s read returns at once = %d\n", what, r <= 0 && !interrupted);
}

// A link's read and poll never block; a pinned link outlives its fds until
// its pin goes (BPF_OBJ_PIN / BPF_OBJ_GET).
static void LinkFiles(int p, const int* fd) {
  const uint32_t eg = BPF_CGROUP_INET_EGRESS;
  const int l = (int)LinkCreate(fd[0], p, eg, 0, 0, 0);
  printf("link a = %s\n", Fd(l));
  ReadAndPoll("link", l);
  char path[96];
  snprintf(path, sizeof(path), "/sys/fs/bpf/bpfemu_cgl_%d", getpid());
  union bpf_attr o;
  memset(&o, 0, sizeof(o));
  o.pathname = (uint64_t)(uintptr_t)path;
  o.bpf_fd = (uint32_t)l;
  printf("pin link a = %ld\n", sys_bpf(BPF_OBJ_PIN, &o, sizeof(o)));
  close(l);
  Query("query parent with link a pinned", p, eg, 0, 8, 1);
  memset(&o, 0, sizeof(o));
  o.pathname = (uint64_t)(uintptr_t)path;
  const long g = sys_bpf(BPF_OBJ_GET, &o, sizeof(o));
  printf("get pinned link a = %s\n", Fd(g));
  printf("update the link got = %ld\n", LinkUpdate((int)g, fd[1], 0, 0));
  Query("query parent", p, eg, 0, 8, 1);
  close((int)g);
  printf("unlink the pin = %d\n", unlink(path));
  // The kernel puts the pin's link from a work item (bpf_link_put): wait.
  uint32_t cnt = 1;
  for (int i = 0; i < 200 && cnt != 0; ++i) {
    Attr q;
    memset(&q, 0, sizeof(q));
    q.q.target_fd = (uint32_t)p;
    q.q.attach_type = eg;
    if (sys_bpf(BPF_PROG_QUERY, &q, sizeof(q)) != 0) break;
    cnt = q.q.prog_cnt;
    if (cnt != 0) usleep(10000);
  }
  printf("released after the pin is gone = %d\n", cnt == 0);
}

int main(void) {
  const uint32_t eg = BPF_CGROUP_INET_EGRESS;
  char root[256], parent[300], child[320];
  Cgroup2Mount(root, sizeof(root));
  snprintf(parent, sizeof(parent), "%s/bpfemu_cg_%d", root, getpid());
  snprintf(child, sizeof(child), "%s/child", parent);
  if (mkdir(parent, 0755) != 0 || mkdir(child, 0755) != 0) {
    printf("SKIPPED: cannot make a cgroup (%s)\n", strerror(errno));
    rmdir(parent);
    return 0;
  }
  int p = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int c = open(child, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int notcg = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int st = map_create(BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
                      sizeof(struct bpf_cgroup_storage_key), 8, 0, 0, NULL);
  int fd[6];
  for (int i = 0; i < 6; ++i) {
    fd[i] = Load(i == 4 ? st : -1, i == 5);
    ids[i] = ProgId(fd[i]);
  }
  printf("setup = %d\n", p >= 0 && c >= 0 && st >= 0 && fd[0] >= 0 &&
                             fd[4] >= 0 && ids[4] != 0 && ids[5] != 0);
  // The refusals before any attachment, in the kernel's order.
  printf("attach to a non-cgroup directory = %ld\n",
         Attach(notcg, fd[0], eg, 0, 0, 0, 0));
  printf("attach to a closed fd = %ld\n", Attach(999, fd[0], eg, 0, 0, 0, 0));
  printf("attach type 9999 = %ld\n", Attach(p, fd[0], 9999, 0, 0, 0, 0));
  printf("attach to another program type's hook = %ld\n",
         Attach(p, fd[0], BPF_CGROUP_INET4_CONNECT, 0, 0, 0, 0));
  printf("attach a map fd = %ld\n", Attach(p, st, eg, 0, 0, 0, 0));
  printf("attach flag 1<<10 = %ld\n", Attach(p, fd[0], eg, 1u << 10, 0, 0, 0));
  printf(
      "attach override|multi = %ld\n",
      Attach(p, fd[0], eg, BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI, 0, 0, 0));
  printf("attach replace without multi = %ld\n",
         Attach(p, fd[0], eg, BPF_F_REPLACE, fd[1], 0, 0));
  printf("attach revision 7 = %ld\n", Attach(p, fd[0], eg, 0, 0, 0, 7));
  Query("query nothing", p, eg, 0, 4, 1);
  Query("query a non-cgroup", notcg, eg, 0, 4, 0);
  // One program, no flags: a second attach replaces it.
  printf("attach a = %ld\n", Attach(p, fd[0], eg, 0, 0, 0, 0));
  printf("attach b = %ld\n", Attach(p, fd[1], eg, 0, 0, 0, 0));
  Query("query parent", p, eg, 0, 4, 1);
  printf("attach c multi over none = %ld\n",
         Attach(p, fd[2], eg, BPF_F_ALLOW_MULTI, 0, 0, 0));
  printf("attach c below a single = %ld\n", Attach(c, fd[2], eg, 0, 0, 0, 0));
  Query("query child effective", c, eg, BPF_F_QUERY_EFFECTIVE, 4, 0);
  Query("query effective with flags", c, eg, BPF_F_QUERY_EFFECTIVE, 4, 1);
  printf("detach legacy = %ld\n", Detach(p, 0, eg));
  printf("detach legacy again = %ld\n", Detach(p, 0, eg));
  // Overridable: the child may attach its own, which replaces the parent's
  // in its effective list.
  printf("attach a override = %ld\n",
         Attach(p, fd[0], eg, BPF_F_ALLOW_OVERRIDE, 0, 0, 0));
  printf("attach b below it = %ld\n", Attach(c, fd[1], eg, 0, 0, 0, 0));
  Query("query child effective", c, eg, BPF_F_QUERY_EFFECTIVE, 4, 0);
  printf("detach b = %ld\n", Detach(c, fd[1], eg));
  printf("detach a = %ld\n", Detach(p, fd[0], eg));
  // Multi.
  printf("attach a multi = %ld\n",
         Attach(p, fd[0], eg, BPF_F_ALLOW_MULTI, 0, 0, 0));
  printf("attach a multi again = %ld\n",
         Attach(p, fd[0], eg, BPF_F_ALLOW_MULTI, 0, 0, 0));
  printf("attach b multi = %ld\n",
         Attach(p, fd[1], eg, BPF_F_ALLOW_MULTI, 0, 0, 0));
  printf("attach b override now = %ld\n",
         Attach(p, fd[2], eg, BPF_F_ALLOW_OVERRIDE, 0, 0, 0));
  printf("attach c multi in the child = %ld\n",
         Attach(c, fd[2], eg, BPF_F_ALLOW_MULTI, 0, 0, 0));
  Query("query parent", p, eg, 0, 4, 1);
  Query("query parent, room for 1", p, eg, 0, 1, 0);
  Query("query child effective", c, eg, BPF_F_QUERY_EFFECTIVE, 4, 0);
  printf("replace c (not attached here) = %ld\n",
         Attach(p, fd[3], eg, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, fd[2], 0, 0));
  printf("replace a by d = %ld\n",
         Attach(p, fd[3], eg, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, fd[0], 0, 0));
  printf("replace with before = %ld\n",
         Attach(p, fd[0], eg, BPF_F_ALLOW_MULTI | BPF_F_REPLACE | F_BEFORE,
                fd[3], 0, 0));
  printf("attach a before b = %ld\n",
         Attach(p, fd[0], eg, BPF_F_ALLOW_MULTI | F_BEFORE, 0, fd[1], 0));
  printf("attach a before a non-program = %ld\n",
         Attach(c, fd[0], eg, BPF_F_ALLOW_MULTI | F_BEFORE, 0, notcg, 0));
  printf("attach a preorder in the child = %ld\n",
         Attach(c, fd[0], eg, BPF_F_ALLOW_MULTI | F_PREORDER, 0, 0, 0));
  Query("query parent", p, eg, 0, 4, 1);
  Query("query child effective", c, eg, BPF_F_QUERY_EFFECTIVE, 8, 0);
  printf("detach multi without a program = %ld\n", Detach(p, 0, eg));
  printf("detach a bad fd = %ld\n", Detach(p, 999, eg));
  printf("detach c (not attached here) = %ld\n", Detach(p, fd[2], eg));
  printf("detach from a non-cgroup = %ld\n", Detach(notcg, fd[0], eg));
  printf("detach type 9999 = %ld\n", Detach(p, fd[0], 9999));
  printf("detach a b d = %ld %ld %ld\n", Detach(p, fd[0], eg),
         Detach(p, fd[1], eg), Detach(p, fd[3], eg));
  printf("detach a c in the child = %ld %ld\n", Detach(c, fd[0], eg),
         Detach(c, fd[2], eg));
  Query("query parent", p, eg, 0, 4, 1);
  // Storage: linked by the attach, kept after the detach.
  struct bpf_cgroup_storage_key key, next;
  struct stat sb;
  fstat(c, &sb);
  memset(&key, 0, sizeof(key));
  key.cgroup_inode_id = sb.st_ino;
  key.attach_type = eg;
  const int ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);
  uint64_t v[512] = {0}, out[512] = {0};
  for (int i = 0; i < ncpu && i < 512; ++i) v[i] = 100 + i;
  printf("storage update before attach = %ld\n",
         elem(BPF_MAP_UPDATE_ELEM, st, &key, v, BPF_ANY));
  printf("attach s = %ld\n", Attach(c, fd[4], eg, 0, 0, 0, 0));
  printf("storage update = %ld\n",
         elem(BPF_MAP_UPDATE_ELEM, st, &key, v, BPF_ANY));
  printf("storage update noexist = %ld\n",
         elem(BPF_MAP_UPDATE_ELEM, st, &key, v, BPF_NOEXIST));
  long r = elem(BPF_MAP_LOOKUP_ELEM, st, &key, out, 0);
  printf("storage lookup = %ld, values match %d\n", r,
         memcmp(v, out, sizeof(uint64_t) * ncpu) == 0);
  memset(&next, 0, sizeof(next));
  r = elem(BPF_MAP_GET_NEXT_KEY, st, NULL, &next, 0);
  printf("storage first key = %ld, ours %d\n", r,
         next.cgroup_inode_id == key.cgroup_inode_id &&
             next.attach_type == key.attach_type);
  printf("storage next key = %ld\n",
         elem(BPF_MAP_GET_NEXT_KEY, st, &key, &next, 0));
  printf("storage delete = %ld\n",
         elem(BPF_MAP_DELETE_ELEM, st, &key, NULL, 0));
  key.attach_type = BPF_CGROUP_INET_INGRESS;
  printf("storage lookup of ingress = %ld\n",
         elem(BPF_MAP_LOOKUP_ELEM, st, &key, out, 0));
  key.attach_type = eg;
  printf("detach s = %ld\n", Detach(c, fd[4], eg));
  printf("storage lookup after detach = %ld\n",
         elem(BPF_MAP_LOOKUP_ELEM, st, &key, out, 0));
  Links(p, c, notcg, st, fd);
  LinkFiles(p, fd);
  for (int i = 0; i < 6; ++i) close(fd[i]);
  close(st);
  close(p);
  close(c);
  close(notcg);
  if (rmdir(child) != 0 || rmdir(parent) != 0) {
    printf("rmdir: %s\n", strerror(errno));
  }
  return 0;
}
