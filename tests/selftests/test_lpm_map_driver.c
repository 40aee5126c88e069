// SPDX-License-Identifier: Apache-2.0
// Runs one subtest of the kernel's unchanged test_lpm_map.c per process:
// `test_lpm_map_driver NAME` or `--list` (its main, renamed, is not called).
#define main selftest_main
#include "test_lpm_map.c"
#undef main

static void t_map(void) {
  int i;

  // As test_lpm_map.c's main: 8, 16, ... 128 bit prefixes.
  for (i = 1; i <= 16; ++i) test_lpm_map(i);
}

static const struct {
  const char *name;
  void (*fn)(void);
} subtests[] = {
    {"lpm_basic", test_lpm_basic},
    {"lpm_order", test_lpm_order},
    {"lpm_map", t_map},
    {"lpm_ipaddr", test_lpm_ipaddr},
    {"lpm_delete", test_lpm_delete},
    {"lpm_get_next_key", test_lpm_get_next_key},
    {"lpm_multi_thread", test_lpm_multi_thread},
};

int main(int argc, char **argv) {
  size_t i;

  if (argc != 2) {
    fprintf(stderr, "usage: %s --list | SUBTEST\n", argv[0]);
    return 2;
  }
  for (i = 0; i < ARRAY_SIZE(subtests); i++) {
    if (strcmp(argv[1], "--list") == 0) {
      printf("test_lpm_map/%s\n", subtests[i].name);
      continue;
    }
    if (strcmp(argv[1], subtests[i].name) != 0) continue;
    setbuf(stdout, NULL);
    srand(0xf00ba1);  // as test_lpm_map.c's main
    libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
    subtests[i].fn();
    return 0;
  }
  if (strcmp(argv[1], "--list") == 0) return 0;
  fprintf(stderr, "no subtest %s\n", argv[1]);
  return 2;
}
