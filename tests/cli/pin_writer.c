// SPDX-License-Identifier: Apache-2.0
// Writes a few maps and pins them under argv[1] (a directory on the BPF
// filesystem), then exits: the maps live on in their pins for another
// process (bpftool on the kernel, bpfemu on the emulator) to inspect.
// Built against libbpf and against libbpfemu.
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
  return pin(h, argv[1], "h") || pin(pc, argv[1], "pc") ||
         pin(big, argv[1], "big") || pin(lpm, argv[1], "lpm") ||
         pin(q, argv[1], "q") || pin(st, argv[1], "st") ||
         pin(bloom, argv[1], "bloom") || pin(stacks, argv[1], "stacks") ||
         pin(events, argv[1], "events") || pin(cmds, argv[1], "cmds");
}
