// SPDX-License-Identifier: Apache-2.0
// Runs one subtest of the kernel's unchanged test_lru_map.c per process:
// `test_lru_map_driver NAME` or `--list`. NAME is lru_sanityN/TYPE[/FLAGS],
// the calls test_lru_map.c's main makes, one at a time (its main is
// compiled in, renamed, and not called).
#define main selftest_main
#include "test_lru_map.c"
#undef main

static const struct {
  const char *name;
  int type;
} types[] = {
    {"lru_hash", BPF_MAP_TYPE_LRU_HASH},
    {"lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH},
};
static const struct {
  const char *name;
  int flags;
} flags[] = {
    {"", 0},
    {"/no_common_lru", BPF_F_NO_COMMON_LRU},
};

static void run(int n, int type, int fl) {
  unsigned int tgt_free =
      (fl & BPF_F_NO_COMMON_LRU) ? PERCPU_FREE_TARGET : LOCAL_FREE_TARGET;

  switch (n) {
    case 0:
      test_lru_sanity0(type, fl);
      break;
    case 1:
      test_lru_sanity1(type, fl, tgt_free);
      break;
    case 2:
      test_lru_sanity2(type, fl, tgt_free);
      break;
    case 3:
      test_lru_sanity3(type, fl, tgt_free);
      break;
    case 4:
      test_lru_sanity4(type, fl, tgt_free);
      break;
    case 5:
      test_lru_sanity5(type, fl);
      break;
    case 6:
      test_lru_sanity6(type, fl, tgt_free);
      break;
    case 7:
      test_lru_sanity7(type, fl);
      break;
    case 8:
      test_lru_sanity8(type, fl);
      break;
  }
}

int main(int argc, char **argv) {
  char name[128];
  size_t f, t;
  int n;

  if (argc != 2) {
    fprintf(stderr, "usage: %s --list | SUBTEST\n", argv[0]);
    return 2;
  }
  // The order of test_lru_map.c's main.
  for (f = 0; f < ARRAY_SIZE(flags); f++)
    for (t = 0; t < ARRAY_SIZE(types); t++)
      for (n = 0; n <= 8; n++) {
        snprintf(name, sizeof(name), "lru_sanity%d/%s%s", n, types[t].name,
                 flags[f].name);
        if (strcmp(argv[1], "--list") == 0) {
          printf("test_lru_map/%s\n", name);
          continue;
        }
        if (strcmp(argv[1], name) != 0) continue;
        setbuf(stdout, NULL);
        nr_cpus = bpf_num_possible_cpus();
        assert(nr_cpus != -1);
        libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
        run(n, types[t].type, flags[f].flags);
        return 0;
      }
  if (strcmp(argv[1], "--list") == 0) return 0;
  fprintf(stderr, "no subtest %s\n", argv[1]);
  return 2;
}
