// SPDX-License-Identifier: Apache-2.0
// A plain libbpf program that knows nothing about bpfemu. It creates maps of
// every type bpfemu emulates, runs every map command with valid and invalid
// input, pins and reopens maps, reads map info, and loads and test-runs the
// tail-call example through bpf_object__open_file, and loads raw
// instruction programs with bpf_prog_load (as the kernel's LRU selftest
// does, to set reference bits). Its output names no fds,
// ids or pids, so a run against the kernel (linked with -lbpf, as root) and
// a run on bpfemu (linked with libbpfemu, unprivileged) print the same text.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *what, int ret) {
  if (ret < 0)
    printf("%-44s -> %d (errno %d)\n", what, ret, errno);
  else
    printf("%-44s -> ok\n", what);
}

static int create(const char *what, enum bpf_map_type type, __u32 key,
                  __u32 value, __u32 max, __u32 flags) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
  int fd = bpf_map_create(type, "dropin", key, value, max, &opts);
  report(what, fd);
  return fd;
}

static void info(const char *what, int fd) {
  struct bpf_map_info mi;
  __u32 len = sizeof(mi);
  memset(&mi, 0, sizeof(mi));
  int err = bpf_obj_get_info_by_fd(fd, &mi, &len);
  if (err) {
    report(what, err);
    return;
  }
  printf("%-44s -> type %u key %u value %u max %u flags %#x name %s len %u\n",
         what, mi.type, mi.key_size, mi.value_size, mi.max_entries,
         mi.map_flags, mi.name, len);
}

static void elements(void) {
  int fd = create("create HASH 4/8/4", BPF_MAP_TYPE_HASH, 4, 8, 4, 0);
  __u32 k = 1, next;
  __u64 v = 10, out = 0;
  report("update NOEXIST new", bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST));
  report("update NOEXIST existing",
         bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST));
  k = 2;
  report("update EXIST missing", bpf_map_update_elem(fd, &k, &v, BPF_EXIST));
  report("update bad flags", bpf_map_update_elem(fd, &k, &v, 42));
  report("update F_LOCK without lock",
         bpf_map_update_elem(fd, &k, &v, BPF_F_LOCK));
  for (k = 2; k <= 5; k++) {
    v = k * 10;
    char what[64];
    snprintf(what, sizeof(what), "update ANY key %u", k);
    report(what, bpf_map_update_elem(fd, &k, &v, BPF_ANY));
  }
  k = 1;
  report("lookup hit", bpf_map_lookup_elem(fd, &k, &out));
  printf("  value %llu\n", (unsigned long long)out);
  k = 99;
  report("lookup miss", bpf_map_lookup_elem(fd, &k, &out));
  report("lookup bad flags", bpf_map_lookup_elem_flags(fd, &k, &out, 1));
  int count = 0;
  __u32 *prev = NULL, cur;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    cur = next;
    prev = &cur;
    count++;
  }
  printf("  get_next_key walk: %d keys, ends with errno %d\n", count, errno);
  k = 3;
  report("lookup_and_delete hit", bpf_map_lookup_and_delete_elem(fd, &k, &out));
  printf("  value %llu\n", (unsigned long long)out);
  report("delete missing", bpf_map_delete_elem(fd, &k));
  report("delete NULL key", bpf_map_delete_elem(fd, NULL));
  __u32 keys[8], count_b = 8, batch;
  __u64 values[8];
  report("lookup_batch",
         bpf_map_lookup_batch(fd, NULL, &batch, keys, values, &count_b, NULL));
  printf("  batch count %u\n", count_b);
  report("lookup bad fd", bpf_map_lookup_elem(9999, &k, &out));
  report("lookup non-map fd", bpf_map_lookup_elem(1, &k, &out));
  info("info HASH", fd);
  close(fd);

  fd = create("create ARRAY 4/8/4", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);
  k = 4;
  report("array update out of range", bpf_map_update_elem(fd, &k, &v, BPF_ANY));
  k = 0;
  report("array update NOEXIST", bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST));
  report("array delete", bpf_map_delete_elem(fd, &k));
  report("array lookup_and_delete",
         bpf_map_lookup_and_delete_elem(fd, &k, &out));
  count_b = 8;
  report("array delete_batch", bpf_map_delete_batch(fd, keys, &count_b, NULL));
  info("info ARRAY", fd);
  close(fd);

  int ncpu = libbpf_num_possible_cpus();
  printf("possible cpus > 0: %d\n", ncpu > 0);
  fd = create("create PERCPU_HASH", BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4, 0);
  __u64 *pv = calloc(ncpu, 8);
  for (int c = 0; c < ncpu; c++) pv[c] = 100 + c;
  k = 7;
  report("percpu update", bpf_map_update_elem(fd, &k, pv, BPF_ANY));
  memset(pv, 0, ncpu * 8);
  report("percpu lookup", bpf_map_lookup_elem(fd, &k, pv));
  printf("  cpu0 %llu, last cpu's value is 100 + cpu: %d\n",
         (unsigned long long)pv[0], pv[ncpu - 1] == 100u + ncpu - 1);
  free(pv);
  close(fd);
  close(create("create PERCPU_ARRAY", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, 0));
  close(create("create LRU_HASH", BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, 0));
  close(create("create LRU_PERCPU_HASH", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 4,
               0));
  close(create("create LRU_HASH NO_COMMON_LRU", BPF_MAP_TYPE_LRU_HASH, 4, 8, 8,
               BPF_F_NO_COMMON_LRU));
  fd = create("create RINGBUF 4096", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
  info("info RINGBUF", fd);
  report("ringbuf lookup", bpf_map_lookup_elem(fd, NULL, &out));
  close(fd);
  close(create("create RINGBUF 1000", BPF_MAP_TYPE_RINGBUF, 0, 0, 1000, 0));
  fd = create("create PROG_ARRAY", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
  k = 0;
  int bad = 9999;
  report("prog_array update bad fd",
         bpf_map_update_elem(fd, &k, &bad, BPF_ANY));
  report("prog_array lookup empty", bpf_map_lookup_elem(fd, &k, &out));
  close(fd);
  close(
      create("create PROG_ARRAY value 8", BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0));
  close(create("create HASH key 0", BPF_MAP_TYPE_HASH, 0, 8, 4, 0));
  close(create("create HASH max 0", BPF_MAP_TYPE_HASH, 4, 8, 0, 0));
  close(create("create HASH bad flags", BPF_MAP_TYPE_HASH, 4, 8, 4, 1u << 30));
  close(create("create ARRAY value 0", BPF_MAP_TYPE_ARRAY, 4, 0, 4, 0));
  close(create("create ARRAY RDONLY|WRONLY", BPF_MAP_TYPE_ARRAY, 4, 8, 4,
               BPF_F_RDONLY | BPF_F_WRONLY));
  close(create("create unknown type", (enum bpf_map_type)9999, 4, 8, 4, 0));

  fd = create("create ARRAY RDONLY", BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY);
  k = 0;
  report("update through RDONLY fd", bpf_map_update_elem(fd, &k, &v, BPF_ANY));
  info("info ARRAY RDONLY", fd);
  close(fd);
}

static int create_outer(const char *what, enum bpf_map_type type, __u32 value,
                        int inner_fd, __u32 flags) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = inner_fd,
              .map_flags = flags);
  int fd = bpf_map_create(type, "outer", 4, value, 4, &opts);
  report(what, fd);
  return fd;
}

static void map_in_map(void) {
  int inner =
      create("create inner ARRAY 4/8/4", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);
  int inner_tmpl = create("create inner ARRAY BPF_F_INNER_MAP",
                          BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_INNER_MAP);
  int inner_hash =
      create("create inner HASH 4/8/4", BPF_MAP_TYPE_HASH, 4, 8, 4, 0);
  int other_max = create("create ARRAY 4/8/9", BPF_MAP_TYPE_ARRAY, 4, 8, 9, 0);
  int other_val =
      create("create ARRAY 4/16/4", BPF_MAP_TYPE_ARRAY, 4, 16, 4, 0);
  int progs =
      create("create PROG_ARRAY as inner", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
  int aom = create_outer("create ARRAY_OF_MAPS", BPF_MAP_TYPE_ARRAY_OF_MAPS, 4,
                         inner, 0);
  close(create_outer("create ARRAY_OF_MAPS value 8", BPF_MAP_TYPE_ARRAY_OF_MAPS,
                     8, inner, 0));
  close(create_outer("create ARRAY_OF_MAPS bad inner fd",
                     BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 9999, 0));
  close(create_outer("create ARRAY_OF_MAPS inner is stdout",
                     BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 1, 0));
  close(create_outer("create ARRAY_OF_MAPS inner PROG_ARRAY",
                     BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, progs, 0));
  close(create_outer("create ARRAY_OF_MAPS inner is map-in-map",
                     BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, aom, 0));
  close(create_outer("create ARRAY_OF_MAPS INNER_MAP flag",
                     BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, inner, BPF_F_INNER_MAP));
  __u32 k = 0, id = 0, bad = 9999, out_fd = 1;
  report("aom update inner", bpf_map_update_elem(aom, &k, &inner, BPF_ANY));
  report("aom lookup", bpf_map_lookup_elem(aom, &k, &id));
  struct bpf_map_info mi = {};
  __u32 len = sizeof(mi);
  bpf_obj_get_info_by_fd(inner, &mi, &len);
  printf("  id is the inner map's: %d\n", id == mi.id);
  report("aom update NOEXIST",
         bpf_map_update_elem(aom, &k, &inner, BPF_NOEXIST));
  k = 4;
  report("aom update out of range",
         bpf_map_update_elem(aom, &k, &inner, BPF_ANY));
  k = 1;
  report("aom update bad fd", bpf_map_update_elem(aom, &k, &bad, BPF_ANY));
  report("aom update stdout", bpf_map_update_elem(aom, &k, &out_fd, BPF_ANY));
  report("aom update other max_entries",
         bpf_map_update_elem(aom, &k, &other_max, BPF_ANY));
  report("aom update other value_size",
         bpf_map_update_elem(aom, &k, &other_val, BPF_ANY));
  report("aom update HASH", bpf_map_update_elem(aom, &k, &inner_hash, BPF_ANY));
  report("aom update INNER_MAP template",
         bpf_map_update_elem(aom, &k, &inner_tmpl, BPF_ANY));
  report("aom lookup empty", bpf_map_lookup_elem(aom, &(__u32){2}, &id));
  report("aom lookup_and_delete", bpf_map_lookup_and_delete_elem(aom, &k, &id));
  close(inner);
  k = 0;
  report("aom lookup after inner fd closed", bpf_map_lookup_elem(aom, &k, &id));
  int again = bpf_map_get_fd_by_id(id);
  report("get inner by id after its fd closed", again);
  close(again);
  report("aom delete", bpf_map_delete_elem(aom, &k));
  report("aom delete again", bpf_map_delete_elem(aom, &k));
  report("aom delete out of range", bpf_map_delete_elem(aom, &(__u32){4}));
  close(aom);

  int outer_tmpl =
      create("create ARRAY 4/8/4 for template", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);
  int inner_hash2 =
      create("create HASH 4/8/100", BPF_MAP_TYPE_HASH, 4, 8, 100, 0);
  int hom = create_outer("create HASH_OF_MAPS", BPF_MAP_TYPE_HASH_OF_MAPS, 4,
                         inner_hash, 0);
  close(create_outer("create HASH_OF_MAPS value 8", BPF_MAP_TYPE_HASH_OF_MAPS,
                     8, inner_hash, 0));
  k = 1;
  report("hom update", bpf_map_update_elem(hom, &k, &inner_hash, BPF_ANY));
  report("hom update NOEXIST",
         bpf_map_update_elem(hom, &k, &inner_hash, BPF_NOEXIST));
  report("hom update EXIST missing",
         bpf_map_update_elem(hom, &(__u32){2}, &inner_hash, BPF_EXIST));
  report("hom update other max_entries",
         bpf_map_update_elem(hom, &(__u32){2}, &inner_hash2, BPF_ANY));
  report("hom update ARRAY",
         bpf_map_update_elem(hom, &(__u32){2}, &outer_tmpl, BPF_ANY));
  report("hom update bad fd, NOEXIST",
         bpf_map_update_elem(hom, &k, &bad, BPF_NOEXIST));
  report("hom update bad flags",
         bpf_map_update_elem(hom, &(__u32){3}, &inner_hash, 7));
  report("hom lookup", bpf_map_lookup_elem(hom, &k, &id));
  {
    /* Iteration order after replacing a key: in place on 6.18, moved to its
     * bucket's head up to 6.12 (BPF_F_ZERO_SEED fixes the buckets). */
    LIBBPF_OPTS(bpf_map_create_opts, zs, .inner_map_fd = inner_hash,
                .map_flags = BPF_F_ZERO_SEED);
    int ordered =
        bpf_map_create(BPF_MAP_TYPE_HASH_OF_MAPS, "ordered", 4, 4, 2, &zs);
    for (__u32 key = 10; key < 12; key++)
      bpf_map_update_elem(ordered, &key, &inner_hash, BPF_ANY);
    __u32 first = 10;
    bpf_map_update_elem(ordered, &first, &inner_hash, BPF_ANY);
    printf("  order after replacing 10:");
    __u32 cur, nk, *prevp = NULL;
    while (bpf_map_get_next_key(ordered, prevp, &nk) == 0) {
      printf(" %u", nk);
      cur = nk;
      prevp = &cur;
    }
    printf("\n");
    close(ordered);
  }
  report("hom lookup_and_delete", bpf_map_lookup_and_delete_elem(hom, &k, &id));
  report("hom delete", bpf_map_delete_elem(hom, &k));
  report("hom delete again", bpf_map_delete_elem(hom, &k));
  close(hom);
  close(inner_tmpl);
  close(inner_hash);
  close(inner_hash2);
  close(other_max);
  close(other_val);
  close(progs);
  close(outer_tmpl);
}

static unsigned long long cookie_of(int fd) {
  unsigned long long c = 0;
  socklen_t len = sizeof(c);
  getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
  return c;
}

static void socket_maps(void) {
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  int udp_unbound = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(udp, (struct sockaddr *)&a, sizeof(a));
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  bind(listener, (struct sockaddr *)&a, sizeof(a));
  listen(listener, 1);
  int tcp_idle = socket(AF_INET, SOCK_STREAM, 0);
  int pair[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
  int unix_idle = socket(AF_UNIX, SOCK_STREAM, 0);
  int file = open("/proc/self/status", O_RDONLY);

  close(create("create SOCKMAP key 8", BPF_MAP_TYPE_SOCKMAP, 8, 4, 4, 0));
  close(create("create SOCKMAP value 2", BPF_MAP_TYPE_SOCKMAP, 4, 2, 4, 0));
  close(create("create SOCKMAP NO_PREALLOC", BPF_MAP_TYPE_SOCKMAP, 4, 4, 4,
               BPF_F_NO_PREALLOC));
  close(create("create SOCKHASH key 0", BPF_MAP_TYPE_SOCKHASH, 0, 8, 4, 0));
  close(create("create SOCKHASH key 600", BPF_MAP_TYPE_SOCKHASH, 600, 8, 4, 0));
  int sm = create("create SOCKMAP 4/8/4", BPF_MAP_TYPE_SOCKMAP, 4, 8, 4, 0);
  __u32 k = 0;
  __u64 v;
  unsigned long long c = 0;
#define SOCK_UPDATE(what, map, key, fd, flags) \
  (v = (__u64)(fd), report(what, bpf_map_update_elem(map, key, &v, flags)))
  SOCK_UPDATE("sockmap update bound UDP", sm, &k, udp, BPF_ANY);
  report("sockmap lookup", bpf_map_lookup_elem(sm, &k, &c));
  printf("  value is the socket cookie: %d\n", c == cookie_of(udp));
  SOCK_UPDATE("sockmap update NOEXIST used", sm, &k, udp, BPF_NOEXIST);
  k = 1;
  SOCK_UPDATE("sockmap update EXIST empty", sm, &k, udp, BPF_EXIST);
  SOCK_UPDATE("sockmap update unbound UDP", sm, &k, udp_unbound, BPF_ANY);
  SOCK_UPDATE("sockmap update TCP listener", sm, &k, listener, BPF_ANY);
  k = 2;
  SOCK_UPDATE("sockmap update idle TCP", sm, &k, tcp_idle, BPF_ANY);
  SOCK_UPDATE("sockmap update unix pair", sm, &k, pair[0], BPF_ANY);
  k = 3;
  SOCK_UPDATE("sockmap update idle unix stream", sm, &k, unix_idle, BPF_ANY);
  SOCK_UPDATE("sockmap update regular file", sm, &k, file, BPF_ANY);
  SOCK_UPDATE("sockmap update bad fd", sm, &k, 9999, BPF_ANY);
  SOCK_UPDATE("sockmap update fd above INT_MAX", sm, &k, 1ULL << 33, BPF_ANY);
  SOCK_UPDATE("sockmap update bad flags", sm, &k, udp, 4);
  k = 4;
  SOCK_UPDATE("sockmap update out of range", sm, &k, udp, BPF_ANY);
  report("sockmap delete out of range", bpf_map_delete_elem(sm, &k));
  k = 3;
  report("sockmap delete empty", bpf_map_delete_elem(sm, &k));
  report("sockmap lookup empty", bpf_map_lookup_elem(sm, &k, &c));
  k = 1;
  report("sockmap delete", bpf_map_delete_elem(sm, &k));
  __u32 next;
  report("sockmap get_next_key", bpf_map_get_next_key(sm, NULL, &next));
  report("sockmap lookup_and_delete",
         bpf_map_lookup_and_delete_elem(sm, &k, &c));
  __u32 keys[4], vals[8], count = 4, batch;
  report("sockmap lookup_batch",
         bpf_map_lookup_batch(sm, NULL, &batch, keys, vals, &count, NULL));
  close(sm);
  sm = create("create SOCKMAP 4/4/4", BPF_MAP_TYPE_SOCKMAP, 4, 4, 4, 0);
  k = 0;
  __u32 v32 = (__u32)udp;
  report("sockmap(4) update", bpf_map_update_elem(sm, &k, &v32, BPF_ANY));
  report("sockmap(4) lookup", bpf_map_lookup_elem(sm, &k, &c));
  close(sm);

  int sh = create("create SOCKHASH 12/8/2", BPF_MAP_TYPE_SOCKHASH, 12, 8, 2, 0);
  char hk[12] = "flow-a";
  SOCK_UPDATE("sockhash update", sh, hk, udp, BPF_ANY);
  report("sockhash lookup", bpf_map_lookup_elem(sh, hk, &c));
  printf("  value is the socket cookie: %d\n", c == cookie_of(udp));
  SOCK_UPDATE("sockhash update NOEXIST used", sh, hk, listener, BPF_NOEXIST);
  SOCK_UPDATE("sockhash update replace", sh, hk, listener, BPF_ANY);
  report("sockhash lookup replaced", bpf_map_lookup_elem(sh, hk, &c));
  printf("  value is the new cookie: %d\n", c == cookie_of(listener));
  char hk2[12] = "flow-b", hk3[12] = "flow-c";
  SOCK_UPDATE("sockhash update EXIST missing", sh, hk2, udp, BPF_EXIST);
  SOCK_UPDATE("sockhash update second", sh, hk2, pair[0], BPF_ANY);
  SOCK_UPDATE("sockhash update over capacity", sh, hk3, udp, BPF_ANY);
  report("sockhash delete missing", bpf_map_delete_elem(sh, hk3));
  report("sockhash delete", bpf_map_delete_elem(sh, hk2));
  report("sockhash lookup_and_delete",
         bpf_map_lookup_and_delete_elem(sh, hk, &c));
  count = 4;
  report("sockhash lookup_batch",
         bpf_map_lookup_batch(sh, NULL, &batch, keys, vals, &count, NULL));
  close(sh);
  close(udp);
  close(udp_unbound);
  close(listener);
  close(tcp_idle);
  close(pair[0]);
  close(pair[1]);
  close(unix_idle);
  close(file);
}

static void pinning(void) {
  char dir[64], path[96], missing[96];
  snprintf(dir, sizeof(dir), "/sys/fs/bpf/dropin_%d", (int)getpid());
  snprintf(path, sizeof(path), "%s/counts", dir);
  snprintf(missing, sizeof(missing), "%s/none/x", dir);
  report("mkdir in bpffs", mkdir(dir, 0700));
  int fd = create("create HASH for pinning", BPF_MAP_TYPE_HASH, 4, 8, 4, 0);
  __u32 k = 5;
  __u64 v = 55, out = 0;
  bpf_map_update_elem(fd, &k, &v, BPF_ANY);
  report("pin", bpf_obj_pin(fd, path));
  report("pin again", bpf_obj_pin(fd, path));
  report("pin missing dir", bpf_obj_pin(fd, missing));
  report("pin bpffs root", bpf_obj_pin(fd, "/sys/fs/bpf"));
  report("pin outside bpffs", bpf_obj_pin(fd, "/tmp/dropin_pin"));
  report("pin empty path", bpf_obj_pin(fd, ""));
  report("pin bad fd", bpf_obj_pin(9999, path));
  report("pin under a pinned file",
         bpf_obj_pin(fd, strcat(strcpy(missing, path), "/x")));
  close(fd);
  fd = bpf_obj_get(path);
  report("get after all fds closed", fd);
  report("lookup through pinned map", bpf_map_lookup_elem(fd, &k, &out));
  printf("  value %llu\n", (unsigned long long)out);
  info("info pinned", fd);
  LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
  int rofd = bpf_obj_get_opts(path, &ro);
  report("get RDONLY", rofd);
  report("update through RDONLY get",
         bpf_map_update_elem(rofd, &k, &v, BPF_ANY));
  LIBBPF_OPTS(bpf_obj_get_opts, both,
              .file_flags = BPF_F_RDONLY | BPF_F_WRONLY);
  report("get RDONLY|WRONLY", bpf_obj_get_opts(path, &both));
  close(rofd);
  report("get missing", bpf_obj_get(strcat(strcpy(missing, dir), "/nope")));
  report("get directory", bpf_obj_get(dir));
  report("get bpffs root", bpf_obj_get("/sys/fs/bpf"));
  report("get outside file", bpf_obj_get("/proc/self/exe"));
  report("get outside missing", bpf_obj_get("/tmp/dropin_no_such_file"));
  report("get empty path", bpf_obj_get(""));
  struct bpf_map_info mi = {};
  __u32 len = sizeof(mi);
  bpf_obj_get_info_by_fd(fd, &mi, &len);
  int byid = bpf_map_get_fd_by_id(mi.id);
  report("get fd by id", byid);
  report("lookup through fd by id", bpf_map_lookup_elem(byid, &k, &out));
  close(byid);
  report("get fd by unknown id", bpf_map_get_fd_by_id(0x7ffffff0));
  __u32 next;
  report("next id at INT_MAX", bpf_map_get_next_id(0x7fffffff, &next));
  char big[200] = {0};
  len = sizeof(big);
  report("info 200-byte buffer", bpf_obj_get_info_by_fd(fd, big, &len));
  big[199] = 1;
  len = sizeof(big);
  report("info nonzero tail", bpf_obj_get_info_by_fd(fd, big, &len));
  len = 8;
  report("info 8 bytes", bpf_obj_get_info_by_fd(fd, &mi, &len));
  printf("  len %u\n", len);
  report("freeze", bpf_map_freeze(fd));
  report("update after freeze", bpf_map_update_elem(fd, &k, &v, BPF_ANY));
  report("lookup after freeze", bpf_map_lookup_elem(fd, &k, &out));
  report("freeze again", bpf_map_freeze(fd));
  close(fd);
  len = sizeof(mi);
  report("info of a closed fd", bpf_obj_get_info_by_fd(fd, &mi, &len));
  report("unlink pin", unlink(path));
  report("get after unlink", bpf_obj_get(path));
  report("rmdir", rmdir(dir));
}

static void objects(const char *path) {
  struct bpf_object *obj = bpf_object__open_file(path, NULL);
  if (!obj) {
    printf("open %s failed: errno %d\n", path, errno);
    return;
  }
  errno = 0; /* bpf_map__fd() of an unloaded map sets no errno */
  report("find map before load",
         bpf_map__fd(bpf_object__find_map_by_name(obj, "jmp_table")));
  report("load object", bpf_object__load(obj));
  int table = bpf_object__find_map_fd_by_name(obj, "jmp_table");
  report("find jmp_table", table);
  report("find missing map", bpf_object__find_map_fd_by_name(obj, "nope"));
  const char *progs[] = {"drop_it", "bounce_it", "self_loop"};
  for (__u32 slot = 1; slot <= 3; slot++) {
    int pfd =
        bpf_program__fd(bpf_object__find_program_by_name(obj, progs[slot - 1]));
    report("jmp_table update",
           bpf_map_update_elem(table, &slot, &pfd, BPF_ANY));
  }
  int dispatch =
      bpf_program__fd(bpf_object__find_program_by_name(obj, "dispatch"));
  for (int index = 0; index < 5; index++) {
    unsigned char pkt[64] = {0};
    pkt[12] = 0x08;
    pkt[14] = index;
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt,
                .data_size_in = sizeof(pkt), .repeat = 1);
    int err = bpf_prog_test_run_opts(dispatch, &run);
    printf("%-44s -> err %d retval %u\n", "test_run dispatch", err, run.retval);
  }
  int hits = bpf_object__find_map_fd_by_name(obj, "hits");
  __u32 slot = 3;
  __u64 n = 0;
  bpf_map_lookup_elem(hits, &slot, &n);
  printf("  self_loop ran %llu times\n", (unsigned long long)n);
  bpf_object__close(obj);
}

/* Instruction builders (the kernel's BPF_* macros live in a kernel-only
 * header). */
static struct bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s16 off,
                            __s32 imm) {
  struct bpf_insn i = {code, dst, src, off, imm};
  return i;
}

/* test_lru_map.c's bpf_map_lookup_elem_with_ref_bit(): a program looks the
 * key up (which sets the element's reference bit; a syscall lookup does
 * not) and stores the value into an array. Returns the program fd. */
static int ref_bit_prog(int lru, int out, __u64 key) {
  struct bpf_insn p[] = {
      insn(BPF_LD | BPF_IMM | BPF_DW, BPF_REG_9, 0, 0, (__u32)key),
      insn(0, 0, 0, 0, (__u32)(key >> 32)),
      insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_9, -8, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
      insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8),
      insn(BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, lru),
      insn(0, 0, 0, 0, 0),
      insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
      insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 11, 0),
      insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_0, 0, 0),
      insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_1, -16, 0),
      insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -20, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
      insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -20),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0),
      insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -16),
      insn(BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, out),
      insn(0, 0, 0, 0, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, BPF_ANY),
      insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem),
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 42),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "ref_bit", "GPL", p,
                       sizeof(p) / sizeof(p[0]), NULL);
}

static void raw_programs(void) {
  /* One CPU, so that the LRU's per-CPU lists are the same on both sides. */
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof(one), &one);
  int lru =
      create("create LRU_HASH 8/8/256", BPF_MAP_TYPE_LRU_HASH, 8, 8, 256, 0);
  int out = create("create ARRAY 4/8/1", BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0);
  for (__u64 k = 1; k <= 256; k++)
    bpf_map_update_elem(lru, &k, &k, BPF_NOEXIST);
  int loads = 0, runs = 0, values = 0;
  for (__u64 k = 4; k <= 256; k += 4) {
    int fd = ref_bit_prog(lru, out, k);
    if (fd < 0) {
      report("bpf_prog_load ref-bit program", fd);
      continue;
    }
    loads++;
    unsigned char pkt[64] = {0};
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt,
                .data_size_in = sizeof(pkt), .repeat = 1);
    if (bpf_prog_test_run_opts(fd, &run) == 0 && run.retval == 42) runs++;
    __u32 zero = 0;
    __u64 v = 0;
    bpf_map_lookup_elem(out, &zero, &v);
    values += v == k;
    close(fd);
  }
  printf("ref-bit programs: %d loaded, %d ran, %d stored their value\n", loads,
         runs, values);
  for (__u64 k = 1001; k <= 1064; k++)
    bpf_map_update_elem(lru, &k, &k, BPF_NOEXIST);
  int referenced = 0, others = 0;
  __u64 checksum = 0;
  for (__u64 k = 1; k <= 256; k++) {
    __u64 v;
    if (bpf_map_lookup_elem(lru, &k, &v) != 0) continue;
    checksum = checksum * 31 + k;
    if (k % 4 == 0)
      referenced++;
    else
      others++;
  }
  printf(
      "after 64 inserts: %d/64 referenced and %d/192 other keys remain, "
      "checksum %llx\n",
      referenced, others, (unsigned long long)checksum);
  close(lru);
  close(out);
  /* The loader's checks. */
  struct bpf_insn bad_op[] = {insn(0xff, 0, 0, 0, 0),
                              insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
  report("bpf_prog_load unknown opcode",
         bpf_prog_load(BPF_PROG_TYPE_XDP, "bad", "GPL", bad_op, 2, NULL));
  struct bpf_insn r10[] = {
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_10, 0, 0, 0),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
  report("bpf_prog_load write to r10",
         bpf_prog_load(BPF_PROG_TYPE_XDP, "bad", "GPL", r10, 2, NULL));
  struct bpf_insn closed_map[] = {
      insn(BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, 999),
      insn(0, 0, 0, 0, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
  report("bpf_prog_load closed map fd",
         bpf_prog_load(BPF_PROG_TYPE_XDP, "bad", "GPL", closed_map, 4, NULL));
  report("bpf_prog_load no instructions",
         bpf_prog_load(BPF_PROG_TYPE_XDP, "bad", "GPL", closed_map, 0, NULL));
}

int main(int argc, char **argv) {
  char buf[64];
  for (int e = -1; e >= -2; e--) {
    libbpf_strerror(e == -1 ? -EEXIST : -LIBBPF_ERRNO__FORMAT, buf,
                    sizeof(buf));
    printf("strerror: %s\n", buf);
  }
  printf("strerror 4100 -> %d\n", libbpf_strerror(4100, buf, sizeof(buf)));
  elements();
  map_in_map();
  socket_maps();
  pinning();
  raw_programs();
  if (argc > 1) objects(argv[1]);
  return 0;
}
