// SPDX-License-Identifier: Apache-2.0
// A program that uses maps through raw syscall(SYS_bpf) only (no libbpf),
// for tests/exec: built static and dynamic, run under `bpfemu exec` and,
// as root, against the kernel. Prints one line per step, "name = result",
// where result is the return value or -errno, so both runs compare line by
// line. Ids differ between runs and are not printed.
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr* attr, unsigned size) {
  long r = syscall(SYS_bpf, cmd, attr, size);
  return r < 0 ? -errno : r;
}

static void report(const char* what, long r) { printf("%s = %ld\n", what, r); }

static int create(int type, int ks, int vs, int n, int flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = type;
  a.key_size = ks;
  a.value_size = vs;
  a.max_entries = n;
  a.map_flags = flags;
  return (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
}

static long elem(int cmd, int fd, const void* k, void* v, uint64_t flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  a.key = (uint64_t)(uintptr_t)k;
  a.value = (uint64_t)(uintptr_t)v;
  a.flags = flags;
  return sys_bpf(cmd, &a, sizeof(a));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int h = create(BPF_MAP_TYPE_HASH, 4, 8, 16, 0);
  report("hash create ok", h >= 0);
  if (h < 0) {
    report("hash create", h);
    return 1;
  }
  uint32_t k = 1;
  uint64_t v = 42, out = 0;
  report("update", elem(BPF_MAP_UPDATE_ELEM, h, &k, &v, BPF_ANY));
  report("update noexist", elem(BPF_MAP_UPDATE_ELEM, h, &k, &v, BPF_NOEXIST));
  report("lookup", elem(BPF_MAP_LOOKUP_ELEM, h, &k, &out, 0));
  report("lookup value", (long)out);
  uint32_t missing = 7;
  report("lookup missing", elem(BPF_MAP_LOOKUP_ELEM, h, &missing, &out, 0));
  report("lookup bad flags", elem(BPF_MAP_LOOKUP_ELEM, h, &k, &out, 99));
  report("lookup bad key ptr", elem(BPF_MAP_LOOKUP_ELEM, h, (void*)8, &out, 0));
  report("lookup bad value ptr", elem(BPF_MAP_LOOKUP_ELEM, h, &k, (void*)8, 0));
  report("update bad value ptr", elem(BPF_MAP_UPDATE_ELEM, h, &k, (void*)8, 0));
  report("lookup bad fd", elem(BPF_MAP_LOOKUP_ELEM, 999, &k, &out, 0));
  report("lookup non-map fd", elem(BPF_MAP_LOOKUP_ELEM, 1, &k, &out, 0));
  uint32_t next = 0;
  report("next first", elem(BPF_MAP_GET_NEXT_KEY, h, NULL, &next, 0));
  report("next first key", next);
  report("next last", elem(BPF_MAP_GET_NEXT_KEY, h, &k, &next, 0));
  // A dup and a forked child share the map.
  int d = dup(h);
  v = 43;
  report("update via dup", elem(BPF_MAP_UPDATE_ELEM, d, &k, &v, BPF_EXIST));
  close(d);
  pid_t pid = fork();
  if (pid == 0) {
    uint64_t c = 0;
    long r = elem(BPF_MAP_LOOKUP_ELEM, h, &k, &c, 0);
    _exit(r == 0 && c == 43 ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  report("child saw update", WIFEXITED(st) && WEXITSTATUS(st) == 0);
  report("delete", elem(BPF_MAP_DELETE_ELEM, h, &k, NULL, 0));
  report("delete again", elem(BPF_MAP_DELETE_ELEM, h, &k, NULL, 0));
  // attr size rules.
  {
    char big[200];
    memset(big, 0, sizeof(big));
    union bpf_attr* a = (union bpf_attr*)big;
    a->map_fd = h;
    a->key = (uint64_t)(uintptr_t)&k;
    a->value = (uint64_t)(uintptr_t)&out;
    report("lookup long zero attr", sys_bpf(BPF_MAP_LOOKUP_ELEM, a, 200));
    big[190] = 1;
    report("lookup long nonzero attr", sys_bpf(BPF_MAP_LOOKUP_ELEM, a, 200));
    report("attr over a page", sys_bpf(BPF_MAP_LOOKUP_ELEM, a, 8192));
    report("attr bad pointer",
           syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, 8, 32) < 0 ? -errno : 0);
    union bpf_attr c;
    memset(&c, 0, sizeof(c));
    c.map_fd = h;
    c.key = (uint64_t)(uintptr_t)&k;
    c.flags = 1;  // beyond DELETE's last field
    report("delete check_attr", sys_bpf(BPF_MAP_DELETE_ELEM, &c, sizeof(c)));
  }
  // Batch on an array.
  int arr = create(BPF_MAP_TYPE_ARRAY, 4, 4, 8, 0);
  report("array create ok", arr >= 0);
  {
    uint32_t keys[4] = {0, 1, 2, 3}, vals[4] = {10, 11, 12, 13};
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.batch.map_fd = arr;
    a.batch.keys = (uint64_t)(uintptr_t)keys;
    a.batch.values = (uint64_t)(uintptr_t)vals;
    a.batch.count = 4;
    report("update batch", sys_bpf(BPF_MAP_UPDATE_BATCH, &a, sizeof(a)));
    report("update batch count", a.batch.count);
    uint32_t ok[8], ov[8], outb = 0;
    memset(&a, 0, sizeof(a));
    a.batch.map_fd = arr;
    a.batch.keys = (uint64_t)(uintptr_t)ok;
    a.batch.values = (uint64_t)(uintptr_t)ov;
    a.batch.out_batch = (uint64_t)(uintptr_t)&outb;
    a.batch.count = 8;
    report("lookup batch", sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, sizeof(a)));
    report("lookup batch count", a.batch.count);
    report("lookup batch v3", ov[3]);
  }
  // Freeze, read-only fds, info.
  report("freeze", elem(BPF_MAP_FREEZE, arr, NULL, NULL, 0));
  {
    uint32_t k0 = 0, v0 = 1;
    report("update frozen", elem(BPF_MAP_UPDATE_ELEM, arr, &k0, &v0, 0));
    report("freeze again", elem(BPF_MAP_FREEZE, arr, NULL, NULL, 0));
    struct bpf_map_info info;
    memset(&info, 0, sizeof(info));
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = arr;
    a.info.info_len = sizeof(info);
    a.info.info = (uint64_t)(uintptr_t)&info;
    report("info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)));
    report("info type", info.type);
    report("info max_entries", info.max_entries);
    report("info len", a.info.info_len);
    a.info.bpf_fd = 999;
    report("info bad fd", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)));
  }
  int ro = create(BPF_MAP_TYPE_ARRAY, 4, 4, 2, BPF_F_RDONLY);
  {
    uint32_t k0 = 0, v0 = 1;
    report("update rdonly", elem(BPF_MAP_UPDATE_ELEM, ro, &k0, &v0, 0));
    report("lookup rdonly", elem(BPF_MAP_LOOKUP_ELEM, ro, &k0, &v0, 0));
  }
  // mmap of a BPF_F_MMAPABLE array by the process itself.
  int mm = create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE);
  report("mmapable create ok", mm >= 0);
  // Unknown and unprivileged commands.
  {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    report("unknown command", sys_bpf(1000, &a, sizeof(a)));
  }
  report("close", close(h));
  report("lookup closed", elem(BPF_MAP_LOOKUP_ELEM, h, &k, &out, 0));
  return 0;
}
