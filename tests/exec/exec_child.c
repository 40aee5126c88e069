// SPDX-License-Identifier: Apache-2.0
// The supervised side of tests/exec/exec_test.cc (bpfemu exec's library
// entry point), issuing raw bpf(2). Modes (argv[1]):
//   maps      creates a hash "inspect" holding 1 -> 42, and exits 0;
//   faults    bad pointers and bad fds, each checked against the kernel's
//             answer (also run natively on the kernel by raw_kernel_test);
//             exits 0 if all matched, else prints the first mismatch;
//   threads   4 threads and 2 forked children update one map concurrently;
//   killme    forks a worker that looks up in a loop until it is killed
//             (SIGKILL, by the test's supervisor hook) while this process
//             keeps calling; exits 0 if every own call succeeded and the
//             worker died of SIGKILL;
//   prog      loads an XDP program using an array map (with a verifier
//             log), test-runs it, reads its info and gets it by id;
//   mmap      prints the answers to mmap of a hash and an mmapable array;
//   closerace one thread dups and closes the map fd while another looks it
//             up: every answer is 0, EBADF or ENOENT;
//   cpu       pins itself to each CPU in turn and test-runs a program that
//             returns bpf_get_smp_processor_id(): each run must answer the
//             CPU it was made from;
//   perfpoll  a BPF output perf event (perf_event_open, served) mapped,
//             stored in a PERF_EVENT_ARRAY and watched by epoll; a forked
//             reader is SIGKILLed in epoll_wait; the parent keeps calling,
//             then lets go of everything and walks the map ids;
//   restart   every call that makes something (a map, program, BTF
//             object, pin, bpffs directory, fd by id or path, perf event,
//             fdinfo file, stats fd, epoll item) once, with a SIGUSR1
//             handler (SA_RESTART) installed: exec_test's hook interrupts
//             the first call of each kind before its answer, and the
//             restarted call must make exactly one of each (one more fd
//             each, no EEXIST, one id each in the walks). Prints the
//             signals taken; exits 0 when all held;
//   perfparanoid
//             perf_event_open of BPF output events by an unprivileged
//             caller (as root: a forked child that became nobody):
//             EACCES or an fd as /proc/sys/kernel/perf_event_paranoid
//             decides (perf_allow_kernel, perf_allow_cpu,
//             perf_paranoid_any, namespaces); also run natively by
//             raw_kernel_test;
//   eintr     the same without SA_RESTART: the hook interrupts the first
//             map create, BTF load, program load, update and pin, which
//             answer EINTR; the next call finds no trace of the objects
//             (no fd, no id) but the pin and the update, as the kernel's
//             finished call left them; an update with the same attr and
//             another key in its buffer is a new call, not a replay;
//   lostbyid  a map create interrupted (EINTR) after which another
//             thread opens the map by id: this thread's next call gives
//             the create up, and the map stays (one id, its fd works);
//   lostbyidmmap
//             the same with an mmapable array the other thread maps and
//             closes: the mapping alone holds the map, which stays;
//   lostdup   a delete of a key of map A interrupted (EINTR); the caller
//             dup2()s map B (without the key) onto A's fd number and
//             makes the same call again: a new call on B (ENOENT), not
//             the lost answer replayed (0).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/exec/raw_sys.h"
#include "tests/exec/test_progs.h"

static int failed;
#define EXPECT(what, got, want)                                           \
  do {                                                                    \
    long g_ = (got);                                                      \
    if (g_ != (want)) {                                                   \
      printf("MISMATCH %s: got %ld, want %ld\n", what, g_, (long)(want)); \
      failed = 1;                                                         \
    }                                                                     \
  } while (0)

static int Maps(void) {
  int fd = map_create(BPF_MAP_TYPE_HASH, 4, 8, 8, 0, "inspect");
  if (fd < 0) return 1;
  uint32_t k = 1;
  uint64_t v = 42;
  return elem(BPF_MAP_UPDATE_ELEM, fd, &k, &v, 0) == 0 ? 0 : 1;
}

static int Faults(void) {
  const long page = sysconf(_SC_PAGESIZE);
  // Two pages, the second inaccessible; a read-only page.
  char* two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect(two + page, page, PROT_NONE);
  char* ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int fd = map_create(BPF_MAP_TYPE_HASH, 4, 8, 8, 0, "faults");
  EXPECT("create", fd >= 0, 1);
  uint32_t k = 1;
  uint64_t v = 7;
  EXPECT("update", elem(BPF_MAP_UPDATE_ELEM, fd, &k, &v, 0), 0);
  // The attr itself: unmapped, straddling the end of the mapping.
  EXPECT("attr unmapped",
         syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, two + page, 32) < 0 ? -errno : 0,
         -EFAULT);
  EXPECT("attr straddles",
         syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, two + page - 16, 32) < 0 ? -errno
                                                                        : 0,
         -EFAULT);
  // A long attr whose tail is unmapped.
  {
    char* a = two + page - 200;
    memset(a, 0, 200);
    EXPECT("attr tail unmapped",
           syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, a, 400) < 0 ? -errno : 0,
           -EFAULT);
  }
  // Key straddling into the unmapped page; value into read-only memory.
  EXPECT("key straddles", elem(BPF_MAP_LOOKUP_ELEM, fd, two + page - 2, &v, 0),
         -EFAULT);
  EXPECT("value read-only", elem(BPF_MAP_LOOKUP_ELEM, fd, &k, ro, 0), -EFAULT);
  EXPECT("value unmapped", elem(BPF_MAP_UPDATE_ELEM, fd, &k, two + page, 0),
         -EFAULT);
  EXPECT("next key unmapped",
         elem(BPF_MAP_GET_NEXT_KEY, fd, NULL, two + page, 0), -EFAULT);
  // A missing key with an unwritable value: the lookup's error wins.
  {
    uint32_t missing = 9;
    EXPECT("missing key, bad value",
           elem(BPF_MAP_LOOKUP_ELEM, fd, &missing, ro, 0), -ENOENT);
  }
  // Bad fds: never opened, negative, not a map (a pipe, /dev/null, a
  // directory, a regular file).
  EXPECT("fd 12345", elem(BPF_MAP_LOOKUP_ELEM, 12345, &k, &v, 0), -EBADF);
  EXPECT("fd -1", elem(BPF_MAP_LOOKUP_ELEM, -1, &k, &v, 0), -EBADF);
  int p[2];
  if (pipe(p) != 0) return 1;
  EXPECT("pipe", elem(BPF_MAP_LOOKUP_ELEM, p[0], &k, &v, 0), -EINVAL);
  int dn = open("/dev/null", O_RDONLY);
  EXPECT("/dev/null", elem(BPF_MAP_LOOKUP_ELEM, dn, &k, &v, 0), -EINVAL);
  int dir = open("/", O_RDONLY | O_DIRECTORY);
  EXPECT("directory", elem(BPF_MAP_LOOKUP_ELEM, dir, &k, &v, 0), -EINVAL);
  char tmpl[] = "/tmp/bpfemu-exec-child-XXXXXX";
  int reg = mkstemp(tmpl);
  if (reg >= 0) {
    unlink(tmpl);
    char junk[8192];
    memset(junk, 0x5a, sizeof(junk));
    if (write(reg, junk, sizeof(junk)) != (ssize_t)sizeof(junk)) return 1;
    EXPECT("regular file", elem(BPF_MAP_LOOKUP_ELEM, reg, &k, &v, 0), -EINVAL);
    close(reg);
  }
  // Map-of-maps: the inner map template and the values are fds.
  {
    int inner = map_create(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, "inner");
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = BPF_MAP_TYPE_ARRAY_OF_MAPS;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 2;
    a.inner_map_fd = inner;
    int outer = (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
    EXPECT("outer create", outer >= 0, 1);
    uint32_t k0 = 0, in = (uint32_t)inner, id = 0;
    EXPECT("outer update", elem(BPF_MAP_UPDATE_ELEM, outer, &k0, &in, 0), 0);
    EXPECT("outer lookup", elem(BPF_MAP_LOOKUP_ELEM, outer, &k0, &id, 0), 0);
    EXPECT("outer lookup gives an id", id != 0, 1);
    in = 12345;
    EXPECT("outer update, fd not open",
           elem(BPF_MAP_UPDATE_ELEM, outer, &k0, &in, 0), -EBADF);
    in = (uint32_t)p[0];
    EXPECT("outer update, a pipe",
           elem(BPF_MAP_UPDATE_ELEM, outer, &k0, &in, 0), -EINVAL);
    a.inner_map_fd = (uint32_t)p[0];
    EXPECT("outer create, inner a pipe", sys_bpf(BPF_MAP_CREATE, &a, sizeof(a)),
           -EINVAL);
    close(outer);
    close(inner);
  }
  // Paths: unmapped, unterminated up to an unmapped page, too long.
  {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.pathname = (uint64_t)(uintptr_t)(two + page);
    a.bpf_fd = fd;
    EXPECT("pin unmapped path", sys_bpf(BPF_OBJ_PIN, &a, sizeof(a)), -EFAULT);
    memset(two + page - 100, 'a', 100);
    a.pathname = (uint64_t)(uintptr_t)(two + page - 100);
    EXPECT("pin unterminated path", sys_bpf(BPF_OBJ_PIN, &a, sizeof(a)),
           -EFAULT);
    char* longp = malloc(8192);
    memset(longp, 'b', 8191);
    longp[8191] = 0;
    a.pathname = (uint64_t)(uintptr_t)longp;
    EXPECT("pin long path", sys_bpf(BPF_OBJ_PIN, &a, sizeof(a)), -ENAMETOOLONG);
    memset(&a, 0, sizeof(a));
    a.pathname = (uint64_t)(uintptr_t)longp;
    EXPECT("get long path", sys_bpf(BPF_OBJ_GET, &a, sizeof(a)), -ENAMETOOLONG);
    free(longp);
  }
  // Batch: keys partly unmapped (count 2, the second key unmapped).
  {
    int arr = map_create(BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0, "fb");
    uint32_t* keys = (uint32_t*)(two + page - 4);
    keys[0] = 0;
    uint32_t vals[2] = {5, 6};
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.batch.map_fd = arr;
    a.batch.keys = (uint64_t)(uintptr_t)keys;
    a.batch.values = (uint64_t)(uintptr_t)vals;
    a.batch.count = 2;
    EXPECT("update batch, second key unmapped",
           sys_bpf(BPF_MAP_UPDATE_BATCH, &a, sizeof(a)), -EFAULT);
    EXPECT("update batch count", a.batch.count, 1);
    uint32_t k0 = 0, got = 0;
    EXPECT("first element written",
           elem(BPF_MAP_LOOKUP_ELEM, arr, &k0, &got, 0), 0);
    EXPECT("first element value", got, 5);
    // Lookup batch into an unmapped values buffer.
    uint32_t ok[4];
    memset(&a, 0, sizeof(a));
    a.batch.map_fd = arr;
    a.batch.keys = (uint64_t)(uintptr_t)ok;
    a.batch.values = (uint64_t)(uintptr_t)(two + page);
    a.batch.count = 4;
    EXPECT("lookup batch, values unmapped",
           sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, sizeof(a)), -EFAULT);
    close(arr);
  }
  // Info into read-only memory, and with an unmapped length tail.
  {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = fd;
    a.info.info_len = 40;
    a.info.info = (uint64_t)(uintptr_t)ro;
    EXPECT("info read-only", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)),
           -EFAULT);
    a.info.info_len = 8192;
    EXPECT("info over a page", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)),
           -E2BIG);
  }
  // Program load with unmapped instructions, license, log.
  {
    uint64_t insns[2] = {0xb7, 0x95};  // r0 = 0; exit
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insn_cnt = 2;
    a.insns = (uint64_t)(uintptr_t)(two + page);
    a.license = (uint64_t)(uintptr_t) "GPL";
    EXPECT("prog insns unmapped", sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)),
           -EFAULT);
    a.insns = (uint64_t)(uintptr_t)insns;
    a.license = (uint64_t)(uintptr_t)(two + page);
    EXPECT("prog license unmapped", sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)),
           -EFAULT);
    a.license = (uint64_t)(uintptr_t) "GPL";
    a.log_level = 0;
    a.log_size = 256;
    char log[256];
    a.log_buf = (uint64_t)(uintptr_t)log;
    EXPECT("prog log buffer without a level",
           sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)), -EINVAL);
    a.log_level = 0;
    a.log_size = 0;
    a.log_buf = 0;
    long pfd = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
    EXPECT("prog load", pfd >= 0, 1);
    // A program fd is not a map, a map fd is not a program.
    EXPECT("prog fd as map", elem(BPF_MAP_LOOKUP_ELEM, (int)pfd, &k, &v, 0),
           -EINVAL);
    memset(&a, 0, sizeof(a));
    a.test.prog_fd = fd;
    EXPECT("map fd as prog", sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)),
           -EINVAL);
    // Test run with unmapped data.
    memset(&a, 0, sizeof(a));
    a.test.prog_fd = (int)pfd;
    a.test.data_in = (uint64_t)(uintptr_t)(two + page);
    a.test.data_size_in = 64;
    EXPECT("test run data unmapped", sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)),
           -EFAULT);
    close((int)pfd);
  }
  // BPF_LINK_CREATE with fds of nothing.
  {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    long r = sys_bpf(BPF_LINK_CREATE, &a, sizeof(a));
    // link_create checks no capability (kernel/bpf/syscall.c): root and
    // an unprivileged process alike get the attach checks' answer (fd 0 is
    // no program: EINVAL, or EBADF with stdin closed), as exec gives (cgroup
    // links are served).
    if (r != -EBADF && r != -EINVAL) {
      printf("MISMATCH link create: %ld\n", r);
      failed = 1;
    }
  }
  return failed;
}

static int g_fd;
static void* Updater(void* arg) {
  uint32_t base = (uint32_t)(uintptr_t)arg;
  for (uint32_t i = 0; i < 200; ++i) {
    uint32_t k = base * 1000 + i;
    uint64_t v = k;
    if (elem(BPF_MAP_UPDATE_ELEM, g_fd, &k, &v, 0) != 0) return (void*)1;
  }
  return NULL;
}

static int Threads(void) {
  g_fd = map_create(BPF_MAP_TYPE_HASH, 4, 8, 4096, 0, "threads");
  if (g_fd < 0) return 1;
  pid_t kids[2];
  for (int i = 0; i < 2; ++i) {
    kids[i] = fork();
    if (kids[i] == 0) _exit(Updater((void*)(uintptr_t)(10 + i)) ? 1 : 0);
  }
  pthread_t t[4];
  for (int i = 0; i < 4; ++i) {
    pthread_create(&t[i], NULL, Updater, (void*)(uintptr_t)(i + 1));
  }
  int bad = 0;
  for (int i = 0; i < 4; ++i) {
    void* r;
    pthread_join(t[i], &r);
    bad |= r != NULL;
  }
  for (int i = 0; i < 2; ++i) {
    int st;
    waitpid(kids[i], &st, 0);
    bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  }
  // 6 writers x 200 keys.
  uint32_t key, next, n = 0;
  long r = elem(BPF_MAP_GET_NEXT_KEY, g_fd, NULL, &next, 0);
  while (r == 0) {
    ++n;
    key = next;
    r = elem(BPF_MAP_GET_NEXT_KEY, g_fd, &key, &next, 0);
  }
  if (n != 1200) printf("threads: %u keys\n", n);
  return bad || n != 1200;
}

static int KillMe(void) {
  int fd = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, "killme");
  if (fd < 0) return 1;
  pid_t w = fork();
  if (w == 0) {
    uint32_t k = 0;
    uint64_t v;
    for (;;) elem(BPF_MAP_LOOKUP_ELEM, fd, &k, &v, 0);
  }
  // Keep calling until the worker is gone (at most ~20 s).
  int st = 0, bad = 0;
  for (int i = 0; i < 200000; ++i) {
    uint32_t k = 1;
    uint64_t v = (uint64_t)i;
    if (elem(BPF_MAP_UPDATE_ELEM, fd, &k, &v, 0) != 0) bad = 1;
    if (waitpid(w, &st, WNOHANG) == w) break;
    if (i == 199999) {
      kill(w, SIGKILL);
      waitpid(w, &st, 0);
      printf("killme: the worker was never killed\n");
      return 1;
    }
    usleep(100);
  }
  // Calls after the kill still work.
  for (int i = 0; i < 100; ++i) {
    uint32_t k = 2;
    uint64_t v = 5;
    if (elem(BPF_MAP_UPDATE_ELEM, fd, &k, &v, 0) != 0) bad = 1;
  }
  return bad || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL;
}

// An XDP program that stores 7 in element 0 of an array map (found through
// a ld_imm64 of the map's fd) and returns XDP_PASS; loaded with a verifier
// log, run with BPF_PROG_TEST_RUN on 64 bytes.
static int Prog(void) {
  int arr = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, "progmap");
  if (arr < 0) return 1;
  struct insn p[] = {
      {0x18, 1 | 1 << 4, 0, arr},
      {0, 0, 0, 0},               // r1 = map
      {0x62, 10, -4, 0},          // *(u32 *)(r10 - 4) = 0
      {0xbf, 2 | 10 << 4, 0, 0},  // r2 = r10
      {0x07, 2, 0, -4},           // r2 += -4
      {0x85, 0, 0, 1},            // call map_lookup_elem
      {0x15, 0, 2, 0},            // if r0 == 0 goto +2
      {0xb7, 1, 0, 7},            // r1 = 7
      {0x7b, 0 | 1 << 4, 0, 0},   // *(u64 *)(r0 + 0) = r1
      {0xb7, 0, 0, 2},            // r0 = XDP_PASS
      {0x95, 0, 0, 0},            // exit
  };
  static char log[4096];
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.insn_cnt = sizeof(p) / sizeof(p[0]);
  a.insns = (uint64_t)(uintptr_t)p;
  a.license = (uint64_t)(uintptr_t) "GPL";
  a.log_level = 1;
  a.log_size = sizeof(log);
  a.log_buf = (uint64_t)(uintptr_t)log;
  strcpy(a.prog_name, "exec_xdp");
  long pfd = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
  EXPECT("prog load", pfd >= 0, 1);
  if (pfd < 0) {
    printf("%ld\n%s\n", pfd, log);
    return 1;
  }
  EXPECT("log written", log[0] != 0, 1);
  char data[64], out[64];
  memset(data, 0xab, sizeof(data));
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = (uint32_t)pfd;
  a.test.data_in = (uint64_t)(uintptr_t)data;
  a.test.data_size_in = sizeof(data);
  a.test.data_out = (uint64_t)(uintptr_t)out;
  a.test.data_size_out = sizeof(out);
  a.test.repeat = 3;
  EXPECT("test run", sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)), 0);
  EXPECT("retval", a.test.retval, 2);
  EXPECT("data_size_out", a.test.data_size_out, 64);
  EXPECT("data out", memcmp(out, data, sizeof(out)), 0);
  uint32_t k = 0;
  uint64_t v = 0;
  EXPECT("lookup", elem(BPF_MAP_LOOKUP_ELEM, arr, &k, &v, 0), 0);
  EXPECT("program stored 7", v, 7);
  // A short data_out buffer: ENOSPC, the full size reported.
  a.test.data_size_out = 10;
  a.test.repeat = 0;
  EXPECT("short data_out", sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)), -ENOSPC);
  EXPECT("short data_out size", a.test.data_size_out, 64);
  // Info and ids.
  struct bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = (uint32_t)pfd;
  a.info.info_len = sizeof(info);
  a.info.info = (uint64_t)(uintptr_t)&info;
  EXPECT("prog info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
  EXPECT("prog info type", info.type, BPF_PROG_TYPE_XDP);
  EXPECT("prog info name", strcmp(info.name, "exec_xdp"), 0);
  memset(&a, 0, sizeof(a));
  a.prog_id = info.id;
  long again = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
  EXPECT("prog by id", again >= 0, 1);
  // Map ids and instructions in the info (a program that only names its
  // map, as the kernel leaves it unrewritten); BPF_PROG_BIND_MAP.
  {
    struct insn q[] = {
        {0x18, 0 | 1 << 4, 0, arr},
        {0, 0, 0, 0},     // r0 = map
        {0xb7, 0, 0, 2},  // r0 = 2
        {0x95, 0, 0, 0},  // exit
    };
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_XDP;
    a.insn_cnt = sizeof(q) / sizeof(q[0]);
    a.insns = (uint64_t)(uintptr_t)q;
    a.license = (uint64_t)(uintptr_t) "MIT";
    long qfd = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
    EXPECT("prog naming a map", qfd >= 0, 1);
    int other = map_create(BPF_MAP_TYPE_HASH, 4, 4, 1, 0, "bound");
    struct bpf_map_info mi;
    uint32_t arr_id, other_id;
    memset(&mi, 0, sizeof(mi));
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = (uint32_t)arr;
    a.info.info_len = sizeof(mi);
    a.info.info = (uint64_t)(uintptr_t)&mi;
    EXPECT("map info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
    arr_id = mi.id;
    a.info.bpf_fd = (uint32_t)other;
    EXPECT("map info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
    other_id = mi.id;
    struct insn x[8];
    uint32_t ids[4] = {0};
    memset(&info, 0, sizeof(info));
    memset(x, 0xee, sizeof(x));
    info.nr_map_ids = 4;
    info.map_ids = (uint64_t)(uintptr_t)ids;
    info.xlated_prog_len = sizeof(x);
    info.xlated_prog_insns = (uint64_t)(uintptr_t)x;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = (uint32_t)qfd;
    a.info.info_len = sizeof(info);
    a.info.info = (uint64_t)(uintptr_t)&info;
    EXPECT("prog info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
    EXPECT("nr_map_ids", info.nr_map_ids, 1);
    EXPECT("map_ids[0]", ids[0], arr_id);
    EXPECT("map_ids pointer kept", info.map_ids == (uint64_t)(uintptr_t)ids, 1);
    EXPECT("gpl_compatible", info.gpl_compatible, 0);
    EXPECT("xlated_prog_len", info.xlated_prog_len, 32);
    EXPECT("xlated map ref", x[0].imm, (long)arr_id);
    EXPECT("xlated map ref src", x[0].regs >> 4, 1);
    EXPECT("xlated exit", x[3].code, 0x95);
    EXPECT("xlated untouched beyond", x[4].code, 0xee);
    EXPECT("func_info_rec_size", info.func_info_rec_size, 8);
    EXPECT("line_info_rec_size", info.line_info_rec_size, 16);
    memset(&a, 0, sizeof(a));
    a.prog_bind_map.prog_fd = (uint32_t)qfd;
    a.prog_bind_map.map_fd = (uint32_t)other;
    EXPECT("bind map", sys_bpf(BPF_PROG_BIND_MAP, &a, sizeof(a)), 0);
    EXPECT("bind map again", sys_bpf(BPF_PROG_BIND_MAP, &a, sizeof(a)), 0);
    a.prog_bind_map.flags = 1;
    EXPECT("bind map flags", sys_bpf(BPF_PROG_BIND_MAP, &a, sizeof(a)),
           -EINVAL);
    a.prog_bind_map.flags = 0;
    a.prog_bind_map.map_fd = 999;
    EXPECT("bind closed map", sys_bpf(BPF_PROG_BIND_MAP, &a, sizeof(a)),
           -EBADF);
    a.prog_bind_map.map_fd = (uint32_t)qfd;
    EXPECT("bind a program as map", sys_bpf(BPF_PROG_BIND_MAP, &a, sizeof(a)),
           -EINVAL);
    memset(&info, 0, sizeof(info));
    memset(ids, 0, sizeof(ids));
    info.nr_map_ids = 4;
    info.map_ids = (uint64_t)(uintptr_t)ids;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = (uint32_t)qfd;
    a.info.info_len = sizeof(info);
    a.info.info = (uint64_t)(uintptr_t)&info;
    EXPECT("prog info after bind",
           sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
    EXPECT("nr_map_ids after bind", info.nr_map_ids, 2);
    EXPECT("ids in use order", ids[0] == arr_id && ids[1] == other_id, 1);
  }
  // An fd of a map that is not open: the verifier's EBADF.
  p[0].imm = 777;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.insn_cnt = sizeof(p) / sizeof(p[0]);
  a.insns = (uint64_t)(uintptr_t)p;
  a.license = (uint64_t)(uintptr_t) "GPL";
  EXPECT("prog with a bad map fd", sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)),
         -EBADF);
  return failed;
}

// A ring buffer added to an epoll instance, then closed with the epoll fd;
// a map id walk (which lets the supervisor release what no process holds)
// follows. Exits 0 when the epoll answers were the kernel's.
static int RingPoll(void) {
  int rb = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, NULL);
  if (rb < 0) return 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, rb, &ev) != 0) return 2;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, rb, &ev) != -1 || errno != EEXIST) return 3;
  struct epoll_event out;
  if (epoll_wait(ep, &out, 1, 0) != 0) return 4;  // empty ring: not ready
  close(rb);
  close(ep);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.start_id = 0;
  long r = sys_bpf(BPF_MAP_GET_NEXT_ID, &a, sizeof(a));
  return r == -ENOENT ? 0 : 5;
}

// A perf event in an epoll instance and a PERF_EVENT_ARRAY, a reader killed
// while it waits, then everything closed and a map id walk (which lets the
// supervisor release what no process holds). Exits 0 when every answer was
// the kernel's.
static int PerfPoll(void) {
  int map = map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 1, 0, NULL);
  if (map < 0) return 1;
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_BPF_OUTPUT;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.wakeup_events = 1;
  int ev =
      (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  if (ev < 0) return 2;
  const long page = sysconf(_SC_PAGESIZE);
  void* m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, ev, 0);
  if (m == MAP_FAILED) return 3;
  uint32_t key = 0;
  if (elem(BPF_MAP_UPDATE_ELEM, map, &key, &ev, 0) != 0) return 4;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 7};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) != 0) return 5;
  pid_t pid = fork();
  if (pid == 0) {
    epoll_wait(ep, &e, 1, -1);
    _exit(0);
  }
  usleep(100 * 1000);
  kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) return 6;
  // Still served: the slot holds the event, an empty wait answers 0.
  if (elem(BPF_MAP_UPDATE_ELEM, map, &key, &ev, 0) != 0) return 7;
  if (epoll_wait(ep, &e, 1, 0) != 0) return 8;
  munmap(m, 2 * page);
  close(ev);
  if (elem(BPF_MAP_DELETE_ELEM, map, &key, NULL, 0) != 0) return 9;
  close(map);
  close(ep);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  long r = sys_bpf(BPF_MAP_GET_NEXT_ID, &a, sizeof(a));
  return r == -ENOENT ? 0 : 10;
}

static volatile sig_atomic_t g_signals;
static void OnUsr1(int sig) {
  (void)sig;
  ++g_signals;
}

// Open descriptors of this process (the directory's own not counted).
static int OpenFds(void) {
  int n = 0;
  char path[64];
  for (int fd = 0; fd < 1024; ++fd) {
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (access(path, F_OK) == 0) ++n;
  }
  return n;
}

// The ids a GET_NEXT_ID walk finds.
static int CountIds(int cmd) {
  union bpf_attr a;
  int n = 0;
  uint32_t id = 0;
  for (;;) {
    memset(&a, 0, sizeof(a));
    a.start_id = id;
    if (sys_bpf(cmd, &a, sizeof(a)) != 0) return n;
    id = a.next_id;
    ++n;
  }
}

// Each call: its answer checked, and exactly `fds` more descriptors.
#define MADE(what, call, want_ok, fds)                         \
  do {                                                         \
    const int before_ = OpenFds();                             \
    const long r_ = (call);                                    \
    if ((r_ >= 0) != (want_ok)) printf("%s: %ld\n", what, r_); \
    EXPECT(what, r_ >= 0, want_ok);                            \
    EXPECT(what " fds", OpenFds() - before_, (fds));           \
  } while (0)

// A SIGUSR1 handler (OnUsr1) with `flags` (SA_RESTART or 0).
static void CatchUsr1(int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnUsr1;
  sa.sa_flags = flags;
  sigaction(SIGUSR1, &sa, NULL);
}

// The object of `fd` opened again by its id (`cmd` is
// BPF_MAP_GET_FD_BY_ID, BPF_PROG_GET_FD_BY_ID or BPF_BTF_GET_FD_BY_ID):
// the new fd, or -errno. Every info struct has the id at the same place
// (struct bpf_map_info, bpf_prog_info: second u32; bpf_btf_info: fourth).
static long ById(int cmd, int fd) {
  uint32_t info[64];
  memset(info, 0, sizeof(info));
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = (uint32_t)fd;
  a.info.info_len = cmd == BPF_MAP_GET_FD_BY_ID ? sizeof(struct bpf_map_info)
                    : cmd == BPF_PROG_GET_FD_BY_ID
                        ? sizeof(struct bpf_prog_info)
                        : sizeof(struct bpf_btf_info);
  a.info.info = (uint64_t)(uintptr_t)info;
  const long r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
  EXPECT("info", r, 0);
  if (r != 0) return r;
  memset(&a, 0, sizeof(a));
  // map_id, prog_id and btf_id all open the union.
  a.map_id = cmd == BPF_BTF_GET_FD_BY_ID ? info[3] : info[1];
  return sys_bpf(cmd, &a, sizeof(a));
}

static int Restart(void) {
  CatchUsr1(SA_RESTART);
  union bpf_attr a;
  int map = -1, ring = -1, ep = -1;
  long prog = -1, b = -1;
  MADE("map create", map = map_create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "restart"),
       1, 1);
  memset(&a, 0, sizeof(a));
  a.btf = (uint64_t)(uintptr_t)&kDrainBtf;
  a.btf_size = sizeof(kDrainBtf);
  MADE("btf load", b = sys_bpf(BPF_BTF_LOAD, &a, sizeof(a)), 1, 1);
  struct insn p[] = {{0xb7, 0, 0, 0}, {0x95, 0, 0, 0}};  // r0 = 0; exit
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insn_cnt = 2;
  a.insns = (uint64_t)(uintptr_t)p;
  a.license = (uint64_t)(uintptr_t) "GPL";
  MADE("prog load", prog = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)), 1, 1);
  if (map < 0 || b < 0 || prog < 0) return 1;
  {
    // An element made and removed once: a restart that served them again
    // would answer EEXIST and ENOENT.
    uint32_t k = 3;
    uint64_t v = 9;
    EXPECT("update noexist",
           elem(BPF_MAP_UPDATE_ELEM, map, &k, &v, BPF_NOEXIST), 0);
    EXPECT("delete", elem(BPF_MAP_DELETE_ELEM, map, &k, NULL, 0), 0);
  }
  memset(&a, 0, sizeof(a));
  a.pathname = (uint64_t)(uintptr_t) "/sys/fs/bpf/restart_map";
  a.bpf_fd = (uint32_t)map;
  MADE("map pin", sys_bpf(BPF_OBJ_PIN, &a, sizeof(a)), 1, 0);
  a.pathname = (uint64_t)(uintptr_t) "/sys/fs/bpf/restart_prog";
  a.bpf_fd = (uint32_t)prog;
  MADE("prog pin", sys_bpf(BPF_OBJ_PIN, &a, sizeof(a)), 1, 0);
  MADE("bpffs mkdir", mkdir("/sys/fs/bpf/restart_dir", 0700) == 0 ? 0 : -errno,
       1, 0);
  memset(&a, 0, sizeof(a));
  a.pathname = (uint64_t)(uintptr_t) "/sys/fs/bpf/restart_map";
  MADE("map get", sys_bpf(BPF_OBJ_GET, &a, sizeof(a)), 1, 1);
  a.pathname = (uint64_t)(uintptr_t) "/sys/fs/bpf/restart_prog";
  MADE("prog get", sys_bpf(BPF_OBJ_GET, &a, sizeof(a)), 1, 1);
  MADE("map by id", ById(BPF_MAP_GET_FD_BY_ID, map), 1, 1);
  MADE("prog by id", ById(BPF_PROG_GET_FD_BY_ID, (int)prog), 1, 1);
  MADE("btf by id", ById(BPF_BTF_GET_FD_BY_ID, (int)b), 1, 1);
  struct perf_event_attr pa;
  memset(&pa, 0, sizeof(pa));
  pa.size = sizeof(pa);
  pa.type = PERF_TYPE_SOFTWARE;
  pa.config = PERF_COUNT_SW_BPF_OUTPUT;
  pa.sample_type = PERF_SAMPLE_RAW;
  MADE("perf event",
       syscall(SYS_perf_event_open, &pa, -1, 0, -1, PERF_FLAG_FD_CLOEXEC), 1,
       1);
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", map);
  MADE("fdinfo", open(path, O_RDONLY | O_CLOEXEC), 1, 1);
  MADE("ring create",
       ring = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, NULL), 1, 1);
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
  MADE("epoll add", epoll_ctl(ep, EPOLL_CTL_ADD, ring, &ev) == 0 ? 0 : -errno,
       1, 0);
  // Taken out and added again: a restarted DEL served again answers ENOENT.
  MADE("epoll del", epoll_ctl(ep, EPOLL_CTL_DEL, ring, NULL) == 0 ? 0 : -errno,
       1, 0);
  MADE("epoll add again",
       epoll_ctl(ep, EPOLL_CTL_ADD, ring, &ev) == 0 ? 0 : -errno, 1, 0);
  memset(&a, 0, sizeof(a));
  a.enable_stats.type = BPF_STATS_RUN_TIME;
  {
    const int before = OpenFds();
    const long r = sys_bpf(BPF_ENABLE_STATS, &a, sizeof(a));
    // Root gets a file, anyone else EPERM.
    EXPECT("enable stats", r >= 0 || r == -EPERM, 1);
    EXPECT("enable stats fds", OpenFds() - before, r >= 0 ? 1 : 0);
  }
  // One of each: the maps (hash, ring), the program, the BTF object.
  EXPECT("map ids", CountIds(BPF_MAP_GET_NEXT_ID), 2);
  EXPECT("prog ids", CountIds(BPF_PROG_GET_NEXT_ID), 1);
  EXPECT("btf ids", CountIds(BPF_BTF_GET_NEXT_ID), 1);
  printf("signals %d\n", (int)g_signals);
  return failed;
}

// bpf(2) from one instruction with all six argument registers set (the
// unused three 0), as Go's runtime makes it: two such calls with the same
// attr are the same system call to the supervisor but for what the attr
// points to. Returns -errno.
__attribute__((noinline)) static long BpfSixArgs(int cmd, void* attr,
                                                 unsigned size) {
  long ret;
  register long r10 __asm__("r10") = 0;
  register long r8 __asm__("r8") = 0;
  register long r9 __asm__("r9") = 0;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "0"((long)SYS_bpf), "D"((long)cmd), "S"(attr),
                     "d"((long)size), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

// The first map of the id walk, opened by its id: an fd, or -errno.
static long FirstMapById(void) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  long fd = sys_bpf(BPF_MAP_GET_NEXT_ID, &a, sizeof(a));
  if (fd == 0) {
    const uint32_t id = a.next_id;
    memset(&a, 0, sizeof(a));
    a.map_id = id;
    fd = sys_bpf(BPF_MAP_GET_FD_BY_ID, &a, sizeof(a));
  }
  return fd;
}

// Another thread (SIGUSR1 blocked) of LostById: when this thread's map
// create has been interrupted, opens the map by id (the first id of the
// walk) and hands the fd back.
static int g_to_thread[2], g_from_thread[2];
static int g_by_id_mmap;
static void* g_by_id_map;

static void* ByIdThread(void* out) {
  char c;
  if (read(g_to_thread[0], &c, 1) != 1) return NULL;
  long fd = FirstMapById();
  if (fd >= 0 && g_by_id_mmap) {
    // Held only through a mapping from here on (LostByIdMmap).
    g_by_id_map =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
    close((int)fd);
    fd = g_by_id_map == MAP_FAILED ? -1 : 0;
  }
  *(long*)out = fd;
  if (write(g_from_thread[1], "x", 1) != 1) return NULL;
  return NULL;
}

// Starts ByIdThread with `out` for its answer. The thread starts with
// SIGUSR1 blocked, so the signal is the caller's. 0, or 1 when it could
// not start.
static int StartByIdThread(pthread_t* t, long* out) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  if (pipe(g_to_thread) != 0 || pipe(g_from_thread) != 0 ||
      pthread_create(t, NULL, ByIdThread, out) != 0) {
    return 1;
  }
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  return 0;
}

// Once the caller's map create was interrupted: lets ByIdThread open the
// map by id and waits for it to end. 0, or 1 when the pipes failed.
static int JoinByIdThread(pthread_t t) {
  char c;
  if (write(g_to_thread[1], "x", 1) != 1 ||
      read(g_from_thread[0], &c, 1) != 1) {
    return 1;
  }
  pthread_join(t, NULL);
  return 0;
}

static int LostById(void) {
  CatchUsr1(0);
  long fd = -1;
  pthread_t t;
  if (StartByIdThread(&t, &fd) != 0) return 1;
  EXPECT("map create", map_create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "byid"),
         -EINTR);
  if (JoinByIdThread(t) != 0) return 1;
  EXPECT("by id in the other thread", fd >= 0, 1);
  // This thread's next call gives the lost create up: the map another
  // thread holds stays, in the walk and behind its fd.
  EXPECT("map ids", CountIds(BPF_MAP_GET_NEXT_ID), 1);
  uint32_t k = 1;
  uint64_t v = 5, got = 0;
  EXPECT("update through the fd by id",
         elem(BPF_MAP_UPDATE_ELEM, (int)fd, &k, &v, BPF_ANY), 0);
  EXPECT("lookup through the fd by id",
         elem(BPF_MAP_LOOKUP_ELEM, (int)fd, &k, &got, 0), 0);
  EXPECT("value", (long)got, 5);
  EXPECT("map ids after", CountIds(BPF_MAP_GET_NEXT_ID), 1);
  return failed;
}

// LostById with an mmapable array which the other thread maps and whose
// fd it closes: the mapping alone holds the map, and it stays.
static int LostByIdMmap(void) {
  CatchUsr1(0);
  g_by_id_mmap = 1;
  long r = -1;
  pthread_t t;
  if (StartByIdThread(&t, &r) != 0) return 1;
  EXPECT("map create",
         map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_MMAPABLE, "byidmm"),
         -EINTR);
  if (JoinByIdThread(t) != 0) return 1;
  EXPECT("mapped by id in the other thread", r, 0);
  if (r != 0) return 1;
  *(volatile uint64_t*)g_by_id_map = 11;
  // This thread's next call gives the lost create up: the mapping holds
  // the map, which stays in the walk and shows what was written.
  EXPECT("map ids", CountIds(BPF_MAP_GET_NEXT_ID), 1);
  const long fd = FirstMapById();
  EXPECT("by id again", fd >= 0, 1);
  uint32_t k = 0;
  uint64_t got = 0;
  EXPECT("lookup", elem(BPF_MAP_LOOKUP_ELEM, (int)fd, &k, &got, 0), 0);
  EXPECT("value written through the mapping", (long)got, 11);
  return failed;
}

static int LostDup(void) {
  CatchUsr1(0);
  const int a = map_create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "dup_a");
  const int b = map_create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "dup_b");
  EXPECT("maps", a >= 0 && b >= 0, 1);
  uint32_t key = 1;
  uint64_t val = 7;
  EXPECT("update of a", elem(BPF_MAP_UPDATE_ELEM, a, &key, &val, BPF_ANY), 0);
  union bpf_attr at;
  memset(&at, 0, sizeof(at));
  at.map_fd = (uint32_t)a;
  at.key = (uint64_t)(uintptr_t)&key;
  long del[2];
  for (int i = 0; i < 2; ++i) {
    // dup2 is no bpf() call: the lost delete stays kept until the next.
    if (i == 1) EXPECT("dup2", dup2(b, a), a);
    del[i] = BpfSixArgs(BPF_MAP_DELETE_ELEM, &at, sizeof(at));
  }
  EXPECT("delete", del[0], -EINTR);
  EXPECT("delete through the other map", del[1], -ENOENT);
  printf("signals %d\n", (int)g_signals);
  return failed;
}

static int Eintr(void) {
  CatchUsr1(0);
  const int fds = OpenFds();
  EXPECT("map create", map_create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "eintr"),
         -EINTR);
  EXPECT("map ids", CountIds(BPF_MAP_GET_NEXT_ID), 0);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.btf = (uint64_t)(uintptr_t)&kDrainBtf;
  a.btf_size = sizeof(kDrainBtf);
  EXPECT("btf load", sys_bpf(BPF_BTF_LOAD, &a, sizeof(a)), -EINTR);
  struct insn p[] = {{0xb7, 0, 0, 0}, {0x95, 0, 0, 0}};  // r0 = 0; exit
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insn_cnt = 2;
  a.insns = (uint64_t)(uintptr_t)p;
  a.license = (uint64_t)(uintptr_t) "GPL";
  EXPECT("prog load", sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)), -EINTR);
  EXPECT("prog ids", CountIds(BPF_PROG_GET_NEXT_ID), 0);
  EXPECT("btf ids", CountIds(BPF_BTF_GET_NEXT_ID), 0);
  EXPECT("fds", OpenFds() - fds, 0);
  const int map = map_create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "eintr");
  EXPECT("second map create", map >= 0, 1);
  // The same attr again after an interrupted update, with another key in
  // its buffer: a new call (served), not the lost one restarted.
  uint32_t key = 0;
  uint64_t val = 9, got = 0;
  memset(&a, 0, sizeof(a));
  a.map_fd = (uint32_t)map;
  a.key = (uint64_t)(uintptr_t)&key;
  a.value = (uint64_t)(uintptr_t)&val;
  a.flags = BPF_NOEXIST;
  long up[2];
  for (int i = 0; i < 2; ++i) {
    key = 1 + (uint32_t)i;
    up[i] = BpfSixArgs(BPF_MAP_UPDATE_ELEM, &a, sizeof(a));
  }
  EXPECT("update", up[0], -EINTR);
  EXPECT("update of another key", up[1], 0);
  key = 1;
  EXPECT("the first key", elem(BPF_MAP_LOOKUP_ELEM, map, &key, &got, 0), 0);
  key = 2;
  EXPECT("the second key", elem(BPF_MAP_LOOKUP_ELEM, map, &key, &got, 0), 0);
  memset(&a, 0, sizeof(a));
  a.pathname = (uint64_t)(uintptr_t) "/sys/fs/bpf/eintr_map";
  a.bpf_fd = (uint32_t)map;
  EXPECT("map pin", sys_bpf(BPF_OBJ_PIN, &a, sizeof(a)), -EINTR);
  memset(&a, 0, sizeof(a));
  a.pathname = (uint64_t)(uintptr_t) "/sys/fs/bpf/eintr_map";
  EXPECT("pinned map get", sys_bpf(BPF_OBJ_GET, &a, sizeof(a)) >= 0, 1);
  EXPECT("map ids after", CountIds(BPF_MAP_GET_NEXT_ID), 1);
  printf("signals %d\n", (int)g_signals);
  return failed;
}

static long PerfOpen(int exclude_kernel, int namespaces, int pid, int cpu) {
  struct perf_event_attr pa;
  memset(&pa, 0, sizeof(pa));
  pa.size = sizeof(pa);
  pa.type = PERF_TYPE_SOFTWARE;
  pa.config = PERF_COUNT_SW_BPF_OUTPUT;
  pa.sample_type = PERF_SAMPLE_RAW;
  pa.exclude_kernel = exclude_kernel;
  pa.namespaces = namespaces;
  long r =
      syscall(SYS_perf_event_open, &pa, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (r < 0) return -errno;
  close((int)r);
  return 0;
}

static int PerfParanoid(void) {
  int paranoid = 2;
  FILE* f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
  if (f != NULL) {
    if (fscanf(f, "%d", &paranoid) != 1) paranoid = 2;
    fclose(f);
  }
  if (geteuid() == 0) {
    pid_t child = fork();
    if (child == 0) {
      // 77: no such user here (a sandbox's user namespace maps none).
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(77);
      _exit(PerfParanoid());
    }
    int st = 0;
    waitpid(child, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
  }
  const long any = paranoid > 2 ? -EACCES : 0;
  EXPECT("counting in the kernel", PerfOpen(0, 0, 0, -1),
         paranoid > 1 ? -EACCES : 0);
  EXPECT("user only, own task", PerfOpen(1, 0, 0, -1), any);
  EXPECT("user only, a CPU", PerfOpen(1, 0, -1, 0), paranoid > 0 ? -EACCES : 0);
  EXPECT("namespaces", PerfOpen(1, 1, 0, -1), -EACCES);
  return failed;
}

// mmap of map fds: a hash (no mmap), a BPF_F_MMAPABLE array. Prints the
// answers (0 for a mapping made); exits 0.
static int Mmap(void) {
  int h = map_create(BPF_MAP_TYPE_HASH, 4, 4, 4, 0, "mh");
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = 4;
  a.map_flags = BPF_F_MMAPABLE;
  int arr = (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
  const int fds[2] = {h, arr};
  const char* names[2] = {"hash", "mmapable array"};
  for (int i = 0; i < 2; ++i) {
    void* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
    printf("mmap %s = %d\n", names[i], p == MAP_FAILED ? -errno : 0);
    if (p != MAP_FAILED) munmap(p, 4096);
  }
  void* p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, arr, 0);
  printf("mmap private = %d\n", p == MAP_FAILED ? -errno : 0);
  p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, arr, 4096 * 4);
  printf("mmap beyond = %d\n", p == MAP_FAILED ? -errno : 0);
  return 0;
}

static int g_stop;
static void* Closer(void* arg) {
  int fd = (int)(intptr_t)arg;
  while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
    int d = dup(fd);
    close(d);
  }
  return NULL;
}

static int CloseRace(void) {
  int fd = map_create(BPF_MAP_TYPE_HASH, 4, 4, 16, 0, "race");
  if (fd < 0) return 1;
  pthread_t t;
  pthread_create(&t, NULL, Closer, (void*)(intptr_t)fd);
  int bad = 0;
  for (int i = 0; i < 3000; ++i) {
    // The fd the closer may have just closed (fd + 1 is its dup).
    uint32_t k = 1, v = 2;
    long r = elem(BPF_MAP_UPDATE_ELEM, fd + 1, &k, &v, 0);
    if (r != 0 && r != -EBADF) {
      printf("closerace: %ld\n", r);
      bad = 1;
    }
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
  pthread_join(t, NULL);
  return bad;
}

static int Cpu(void) {
  struct insn p[] = {
      {0x85, 0, 0, BPF_FUNC_get_smp_processor_id},  // call
      {0x95, 0, 0, 0},                              // exit
  };
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.insn_cnt = sizeof(p) / sizeof(p[0]);
  a.insns = (uint64_t)(uintptr_t)p;
  a.license = (uint64_t)(uintptr_t) "GPL";
  long pfd = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
  EXPECT("prog load", pfd >= 0, 1);
  if (pfd < 0) return 1;
  const long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (int round = 0; round < 4; ++round) {
    for (int cpu = 0; cpu < ncpus && cpu < CPU_SETSIZE; ++cpu) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      if (sched_setaffinity(0, sizeof(set), &set) != 0) continue;
      char data[64];
      memset(data, 0, sizeof(data));
      memset(&a, 0, sizeof(a));
      a.test.prog_fd = (uint32_t)pfd;
      a.test.data_in = (uint64_t)(uintptr_t)data;
      a.test.data_size_in = sizeof(data);
      EXPECT("test run", sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)), 0);
      EXPECT("the caller's cpu", a.test.retval, cpu);
    }
  }
  return failed;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return 2;
  if (strcmp(argv[1], "maps") == 0) return Maps();
  if (strcmp(argv[1], "faults") == 0) return Faults();
  if (strcmp(argv[1], "threads") == 0) return Threads();
  if (strcmp(argv[1], "killme") == 0) return KillMe();
  if (strcmp(argv[1], "closerace") == 0) return CloseRace();
  if (strcmp(argv[1], "prog") == 0) return Prog();
  if (strcmp(argv[1], "mmap") == 0) return Mmap();
  if (strcmp(argv[1], "ringpoll") == 0) return RingPoll();
  if (strcmp(argv[1], "cpu") == 0) return Cpu();
  if (strcmp(argv[1], "perfpoll") == 0) return PerfPoll();
  if (strcmp(argv[1], "restart") == 0) return Restart();
  if (strcmp(argv[1], "eintr") == 0) return Eintr();
  if (strcmp(argv[1], "lostbyid") == 0) return LostById();
  if (strcmp(argv[1], "lostdup") == 0) return LostDup();
  if (strcmp(argv[1], "lostbyidmmap") == 0) return LostByIdMmap();
  if (strcmp(argv[1], "perfparanoid") == 0) return PerfParanoid();
  return 2;
}
