// SPDX-License-Identifier: Apache-2.0
// Writes a few maps and pins them under argv[1] (a directory on the BPF
// filesystem), then exits: the maps live on in their pins for another
// process (bpftool on the kernel, bpfemu on the emulator) to inspect.
// Built against libbpf and against libbpfemu.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

// Maps created with BTF, as libbpf creates every map of an object: their
// elements print through the BTF (bpftool's btf_dumper). One value struct
// with each kind the dumper formats: a string, signed and unsigned ints of
// several widths, a bool, enums (named and unnamed values), bitfields, a
// nested struct, arrays that are and are not strings, a pointer.
struct btf_maps {
  int rec, pcpu, sec;
};

static void put(unsigned char *v, int off, const void *p, int n) {
  memcpy(v + off, p, n);
}

static int btf_maps(struct btf_maps *m) {
  struct btf *btf = btf__new_empty();
  if (!btf) return -1;
  int u32 = btf__add_int(btf, "unsigned int", 4, 0);
  int s32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
  int u64 = btf__add_int(btf, "long long unsigned int", 8, 0);
  int u16 = btf__add_int(btf, "short unsigned int", 2, 0);
  int s8 = btf__add_int(btf, "signed char", 1, BTF_INT_SIGNED);
  int chr = btf__add_int(btf, "char", 1, BTF_INT_SIGNED);
  int u8 = btf__add_int(btf, "unsigned char", 1, 0);
  int boolean = btf__add_int(btf, "_Bool", 1, BTF_INT_BOOL);
  int key = btf__add_typedef(btf, "__u32", u32);
  int color = btf__add_enum(btf, "color", 4);
  btf__add_enum_value(btf, "RED", 1);
  btf__add_enum_value(btf, "GREEN", 2);
  int inner = btf__add_struct(btf, "inner", 4);
  btf__add_field(btf, "port", u16, 0, 0);
  btf__add_field(btf, "delta", s8, 16, 0);
  int name = btf__add_array(btf, u32, chr, 8);
  int raw = btf__add_array(btf, u32, u8, 2);
  int arr = btf__add_array(btf, u32, u32, 3);
  int notstr = btf__add_array(btf, u32, chr, 4);
  int ptr = btf__add_ptr(btf, 0);
  int rec = btf__add_struct(btf, "rec", 64);
  btf__add_field(btf, "name", name, 0, 0);
  btf__add_field(btf, "signed_v", s32, 64, 0);
  btf__add_field(btf, "c", color, 96, 0);
  btf__add_field(btf, "big", u64, 128, 0);
  btf__add_field(btf, "on", boolean, 192, 0);
  btf__add_field(btf, "in", inner, 208, 0);
  btf__add_field(btf, "raw", raw, 240, 0);
  btf__add_field(btf, "flags", u32, 256, 3);
  btf__add_field(btf, "mode", u32, 259, 5);
  btf__add_field(btf, "c2", color, 288, 0);
  btf__add_field(btf, "arr", arr, 320, 0);
  btf__add_field(btf, "notstr", notstr, 416, 0);
  btf__add_field(btf, "ptr", ptr, 448, 0);
  int tag = btf__add_array(btf, u32, chr, 4);
  int counter_var = btf__add_var(btf, "counter", BTF_VAR_GLOBAL_ALLOCATED, s32);
  int tag_var = btf__add_var(btf, "tag", BTF_VAR_GLOBAL_ALLOCATED, tag);
  int data = btf__add_datasec(btf, ".data", 8);
  btf__add_datasec_var_info(btf, counter_var, 0, 4);
  btf__add_datasec_var_info(btf, tag_var, 4, 4);
  if (rec < 0 || data < 0 || btf__load_into_kernel(btf)) {
    fprintf(stderr, "btf load failed\n");
    return -1;
  }
  LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = btf__fd(btf),
              .btf_key_type_id = key, .btf_value_type_id = rec,
              .map_flags = BPF_F_ZERO_SEED);
  m->rec = bpf_map_create(BPF_MAP_TYPE_HASH, "rec", 4, 64, 4, &opts);
  unsigned char v[64] = {0};
  int sv = -5, c = 2, c2 = 7;
  unsigned long long big = 1ULL << 40;
  unsigned short port = 8080;
  signed char delta = -3;
  unsigned bits = 5 | 17 << 3, arr3[3] = {1, 2, 3};
  void *p = (void *)0x1234;
  put(v, 0, "web", 4);
  put(v, 8, &sv, 4);
  put(v, 12, &c, 4);
  put(v, 16, &big, 8);
  v[24] = 1;
  put(v, 26, &port, 2);
  put(v, 28, &delta, 1);
  v[30] = 200;
  v[31] = 7;
  put(v, 32, &bits, 4);
  put(v, 36, &c2, 4);
  put(v, 40, arr3, 12);
  put(v, 52, "abcd", 4);
  put(v, 56, &p, 8);
  unsigned k = 1;
  bpf_map_update_elem(m->rec, &k, v, BPF_ANY);
  memset(v, 0, sizeof(v));
  put(v, 0, "a\"b", 4);
  k = 2;
  bpf_map_update_elem(m->rec, &k, v, BPF_ANY);
  opts.btf_key_type_id = s32;
  opts.btf_value_type_id = inner;
  m->pcpu =
      bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "pcpu_btf", 4, 4, 2, &opts);
  unsigned char pv[64 * 8] = {0};
  for (int i = 0; i < 64; i++) {
    unsigned short pp = 100 + i;
    memcpy(pv + i * 8, &pp, 2);
  }
  k = 3;
  bpf_map_update_elem(m->pcpu, &k, pv, BPF_ANY);
  opts.map_flags = 0;
  opts.btf_value_type_id = data;
  m->sec = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sec", 4, 8, 1, &opts);
  unsigned char d[8] = {42, 0, 0, 0, 'o', 'k', 0, 0};
  k = 0;
  bpf_map_update_elem(m->sec, &k, d, BPF_ANY);
  return m->rec < 0 || m->pcpu < 0 || m->sec < 0 ? -1 : 0;
}

static int pin(int fd, const char *dir, const char *name);

// Maps whose values are kernel objects (issue 25), as bpftool sees them
// from another process: redirect maps holding the loopback device (ifindex
// 1) and a CPU, an empty XSKMAP and cgroup array, and the local storages,
// which userspace reaches only by an object fd, so a dump cannot walk them.
// Nothing here depends on the machine's cgroup mounts (v1 or v2): the
// cgroup array and the storages stay empty.
// BPF_MAP_TYPE_CGRP_STORAGE (Linux 6.2) is past Debian 12's headers.
enum { kCgrpStorage = 32 };

static int obj_maps(const char *dir) {
  struct btf *btf = btf__new_empty();
  if (!btf) return -1;
  int s32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
  int u64 = btf__add_int(btf, "long long unsigned int", 8, 0);
  if (u64 < 0 || btf__load_into_kernel(btf)) {
    fprintf(stderr, "btf load failed\n");
    return -1;
  }
  unsigned k = 0, v = 1;  // lo's ifindex
  int dev = bpf_map_create(BPF_MAP_TYPE_DEVMAP, "ports", 4, 4, 4, NULL);
  bpf_map_update_elem(dev, &k, &v, BPF_ANY);
  int devh = bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, "ports_h", 4, 8, 4, NULL);
  unsigned dv[2] = {1, 0};  // struct bpf_devmap_val: ifindex, no program
  k = 7;
  bpf_map_update_elem(devh, &k, dv, BPF_ANY);
  int cpus = bpf_map_create(BPF_MAP_TYPE_CPUMAP, "cpus", 4, 4, 2, NULL);
  k = 0;
  v = 192;  // qsize
  bpf_map_update_elem(cpus, &k, &v, BPF_ANY);
  int xsks = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "xsks", 4, 4, 2, NULL);
  int cg = bpf_map_create(BPF_MAP_TYPE_CGROUP_ARRAY, "cgroups", 4, 4, 2, NULL);
  LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = btf__fd(btf),
              .btf_key_type_id = s32, .btf_value_type_id = u64,
              .map_flags = BPF_F_NO_PREALLOC);
  int sk = bpf_map_create(BPF_MAP_TYPE_SK_STORAGE, "sk_stg", 4, 8, 0, &opts);
  int task =
      bpf_map_create(BPF_MAP_TYPE_TASK_STORAGE, "task_stg", 4, 8, 0, &opts);
  int cgrp = bpf_map_create((enum bpf_map_type)kCgrpStorage, "cgrp_stg", 4, 8,
                            0, &opts);
  int cgs =
      bpf_map_create(BPF_MAP_TYPE_CGROUP_STORAGE, "cg_stg", 16, 8, 0, NULL);
  return pin(dev, dir, "dev") || pin(devh, dir, "devh") ||
         pin(cpus, dir, "cpus") || pin(xsks, dir, "xsks") ||
         pin(cg, dir, "cg") || pin(sk, dir, "sk_stg") ||
         pin(task, dir, "task_stg") || pin(cgrp, dir, "cgrp_stg") ||
         pin(cgs, dir, "cg_stg");
}

static int pin(int fd, const char *dir, const char *name) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int err = bpf_obj_pin(fd, path);
  if (err) fprintf(stderr, "pin %s: %d\n", path, err);
  return err;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  if (mkdir(argv[1], 0700)) {
    perror("mkdir");
    return 1;
  }
  // BPF_F_ZERO_SEED: the kernel's bucket order is then fixed, and bpfemu's
  // is the same.
  LIBBPF_OPTS(bpf_map_create_opts, zero_seed, .map_flags = BPF_F_ZERO_SEED);
  int h = bpf_map_create(BPF_MAP_TYPE_HASH, "counts", 4, 8, 16, &zero_seed);
  for (unsigned k = 1; k <= 2; k++) {
    unsigned long long v = k * 10;
    bpf_map_update_elem(h, &k, &v, BPF_ANY);
  }
  int pc = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "per_cpu", 4, 4, 2, NULL);
  unsigned k = 1, v[64];
  for (int i = 0; i < 64; i++) v[i * 2 % 64] = 7 + i;  // slots of 8 bytes
  bpf_map_update_elem(pc, &k, v, BPF_ANY);
  int big = bpf_map_create(BPF_MAP_TYPE_ARRAY, "big_values", 4, 20, 2, NULL);
  unsigned char b[20];
  for (int i = 0; i < 20; i++) b[i] = i;
  k = 0;
  bpf_map_update_elem(big, &k, b, BPF_ANY);
  // An LPM trie of IPv4 prefixes (prefixlen, then the address bytes),
  // dumped in the kernel's post-order.
  LIBBPF_OPTS(bpf_map_create_opts, no_prealloc, .map_flags = BPF_F_NO_PREALLOC);
  int lpm =
      bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "cidrs", 8, 8, 8, &no_prealloc);
  const unsigned char prefixes[][8] = {{16, 0, 0, 0, 192, 168, 0, 0},
                                       {24, 0, 0, 0, 192, 168, 1, 0},
                                       {24, 0, 0, 0, 192, 168, 128, 0},
                                       {8, 0, 0, 0, 10, 0, 0, 0}};
  for (int i = 0; i < 4; i++) {
    unsigned long long lv = 100 + i;
    bpf_map_update_elem(lpm, prefixes[i], &lv, BPF_NOEXIST);
  }
  // Keyless maps (bpftool's push/pop/peek): a queue holding 1 then 2, an
  // empty stack, a bloom filter holding one value.
  int q = bpf_map_create(BPF_MAP_TYPE_QUEUE, "work", 0, 4, 4, NULL);
  for (unsigned qv = 1; qv <= 2; qv++) bpf_map_update_elem(q, NULL, &qv, 0);
  int st = bpf_map_create(BPF_MAP_TYPE_STACK, "lifo", 0, 8, 2, NULL);
  int bloom =
      bpf_map_create(BPF_MAP_TYPE_BLOOM_FILTER, "seen", 0, 4, 16, &zero_seed);
  unsigned seen = 5;
  bpf_map_update_elem(bloom, NULL, &seen, 0);
  // Filled only by programs or perf events: an empty stack-trace map, a
  // perf event array with no events, a user ring buffer.
  int stacks =
      bpf_map_create(BPF_MAP_TYPE_STACK_TRACE, "stacks", 4, 16, 4, NULL);
  int events =
      bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "events", 4, 4, 2, NULL);
  int cmds =
      bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, "cmds", 0, 0, 4096, NULL);
  struct btf_maps bm;
  if (btf_maps(&bm)) return 1;
  return pin(bm.rec, argv[1], "rec") || pin(bm.pcpu, argv[1], "pcpu_btf") ||
         pin(bm.sec, argv[1], "sec") || pin(h, argv[1], "h") ||
         pin(pc, argv[1], "pc") || pin(big, argv[1], "big") ||
         pin(lpm, argv[1], "lpm") || pin(q, argv[1], "q") ||
         pin(st, argv[1], "st") || pin(bloom, argv[1], "bloom") ||
         pin(stacks, argv[1], "stacks") || pin(events, argv[1], "events") ||
         pin(cmds, argv[1], "cmds") || obj_maps(argv[1]);
}
