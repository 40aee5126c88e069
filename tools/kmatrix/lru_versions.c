// SPDX-License-Identifier: Apache-2.0
// The LRU observations that differ between kernel versions (the probe's
// lru_fill, pinned to CPU 0 so the per-CPU lists in play are fixed): map
// sizes after each insert and the surviving keys. Built statically against
// libbpf for the kernels under QEMU, and against libbpfemu for the emulator
// with BPFEMU_KERNEL set to each version (tools/kmatrix/versions.sh).
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int count_keys(int fd, __u32 *keys, int max) {
  __u32 k, next;
  int n = 0;
  __u32 *prev = NULL;
  while (n < max && bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys[n++] = next;
    k = next;
    prev = &k;
  }
  return n;
}

static int cmp(const void *a, const void *b) {
  __u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
  return x < y ? -1 : x > y;
}

static void lru_fill(const char *label, __u32 flags, __u32 max, __u32 n,
                     int touch) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
  int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "lru", 4, 8, max, &opts);
  if (fd < 0) {
    printf("%-30s create %d\n", label, fd);
    return;
  }
  __u64 v = 1;
  __u32 keys[512];
  printf("%-30s sizes:", label);
  for (__u32 k = 0; k < n; k++) {
    if (touch && k > 0) {
      __u32 z = 0;
      bpf_map_lookup_elem(fd, &z, &v);
    }
    int r = bpf_map_update_elem(fd, &k, &v, BPF_ANY);
    if (r) printf(" [%u:%d]", k, r);
    printf(" %d", count_keys(fd, keys, 512));
  }
  int m = count_keys(fd, keys, 512);
  qsort(keys, m, sizeof(keys[0]), cmp);
  printf("\n%-30s final n=%d:", label, m);
  for (int i = 0; i < m; i++) printf(" %u", keys[i]);
  printf("\n");
  close(fd);
}

int main(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof(set), &set);
  lru_fill("lru(max=8,common)", 0, 8, 16, 0);
  lru_fill("lru(max=8,common,touch0)", 0, 8, 16, 1);
  lru_fill("lru(max=128,common)", 0, 128, 160, 0);
  lru_fill("lru(max=300,common)", 0, 300, 400, 0);
  lru_fill("lru(max=8,NO_COMMON_LRU)", BPF_F_NO_COMMON_LRU, 8, 16, 0);
  lru_fill("lru(max=7,NO_COMMON_LRU)", BPF_F_NO_COMMON_LRU, 7, 16, 0);
  return 0;
}
