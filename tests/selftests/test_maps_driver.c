// SPDX-License-Identifier: Apache-2.0
// Runs one subtest of the kernel's unchanged test_maps.c (and map_tests/*.c)
// per process: `test_maps_driver NAME`, or `--list`. test_maps.c's main runs
// everything in one process and exits on the first failed assert/CHECK, so it
// is compiled into this translation unit with its main renamed, which also
// gives access to its static test functions. Exit status 0 is a pass; the
// kernel's own "skips" counter turns a pass into a skip (exit 77).
#define main selftest_main
#include "test_maps.c"
#undef main

#include <fnmatch.h>

#define PREALLOC 0
#define NO_PREALLOC BPF_F_NO_PREALLOC

static void t_hashmap(void) { test_hashmap(0, NULL); }
static void t_hashmap_percpu(void) { test_hashmap_percpu(0, NULL); }
static void t_hashmap_walk(void) { test_hashmap_walk(0, NULL); }
static void t_arraymap(void) { test_arraymap(0, NULL); }
static void t_arraymap_percpu(void) { test_arraymap_percpu(0, NULL); }
static void t_devmap(void) { test_devmap(0, NULL); }
static void t_devmap_hash(void) { test_devmap_hash(0, NULL); }
static void t_sockmap(void) { test_sockmap(0, NULL); }
static void t_queuemap(void) { test_queuemap(0, NULL); }
static void t_stackmap(void) { test_stackmap(0, NULL); }

struct subtest {
  const char *name;
  void (*fn)(void);
  __u32 map_flags;
};

// run_all_tests(), in its order, once per map_opts.map_flags value that
// test_maps.c's main uses.
#define RUN_ALL(suffix, flags)                                             \
  {"hashmap" suffix, t_hashmap, flags},                                    \
      {"hashmap_percpu" suffix, t_hashmap_percpu, flags},                  \
      {"hashmap_walk" suffix, t_hashmap_walk, flags},                      \
      {"hashmap_zero_seed" suffix, test_hashmap_zero_seed, flags},         \
      {"arraymap" suffix, t_arraymap, flags},                              \
      {"arraymap_percpu" suffix, t_arraymap_percpu, flags},                \
      {"arraymap_percpu_many_keys" suffix, test_arraymap_percpu_many_keys, \
       flags},                                                             \
      {"devmap" suffix, t_devmap, flags},                                  \
      {"devmap_hash" suffix, t_devmap_hash, flags},                        \
      {"sockmap" suffix, t_sockmap, flags},                                \
      {"map_large" suffix, test_map_large, flags},                         \
      {"map_parallel" suffix, test_map_parallel, flags},                   \
      {"map_stress" suffix, test_map_stress, flags},                       \
      {"map_rdonly" suffix, test_map_rdonly, flags},                       \
      {"map_wronly" suffix, test_map_wronly, flags},                       \
      {"reuseport_array" suffix, test_reuseport_array, flags},             \
      {"queuemap" suffix, t_queuemap, flags},                              \
      {"stackmap" suffix, t_stackmap, flags}, {                            \
    "map_in_map" suffix, test_map_in_map, flags                            \
  }

static const struct subtest subtests[] = {
    RUN_ALL("", PREALLOC),
    RUN_ALL("/no_prealloc", NO_PREALLOC),
// map_tests/*.c, registered through the generated map_tests/tests.h as
// test_maps.c's main does (after both run_all_tests() passes).
#define DEFINE_TEST(name) {"map_tests/" #name, test_##name, 0},
#include <map_tests/tests.h>
#undef DEFINE_TEST
};

int main(int argc, char **argv) {
  size_t i;

  if (argc != 2) {
    fprintf(stderr, "usage: %s --list | --probe | SUBTEST\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[1], "--probe") == 0) {  // may bpf() create a map?
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);

    printf("%s\n", fd < 0 ? strerror(errno) : "ok");
    return fd < 0;
  }
  for (i = 0; i < ARRAY_SIZE(subtests); i++) {
    if (strcmp(argv[1], "--list") == 0) {
      printf("test_maps/%s\n", subtests[i].name);
      continue;
    }
    if (strcmp(argv[1], subtests[i].name) != 0) continue;
    srand(time(NULL));
    libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
    map_opts.map_flags = subtests[i].map_flags;
    setbuf(stdout, NULL);
    subtests[i].fn();
    printf("test_maps/%s: OK, %d SKIPPED\n", subtests[i].name, skips);
    return skips ? 77 : 0;
  }
  if (strcmp(argv[1], "--list") == 0) return 0;
  fprintf(stderr, "no subtest %s\n", argv[1]);
  return 2;
}
